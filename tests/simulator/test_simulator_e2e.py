"""Simulated traffic through the real worker into a healthy sandbox platform."""

import sqlalchemy as sa

from delivery import store
from sandbox.server import serve_in_thread
from simulator.producer import Simulator
from workers import Worker


def test_thirty_seconds_of_traffic_arrive_in_order_and_balance(clean_db, database_url):
    with serve_in_thread() as sandbox:
        store.add_brand(clean_db, "healthy", sandbox.url, timeout_s=5, max_in_flight=64)
        sim = Simulator(clean_db, store.brands(clean_db), rate_per_s=3, players_per_brand=12,
                        pace=0.3, seed=11)
        sim.open_players()
        with Worker(database_url, threads=8):
            counters = sim.run(30, drain_timeout_s=90)
            assert store.wait_until_drained(clean_db, 90)
        expected, actual = sim.expected_balances(), sim.platform_balances()
        sim.close()

    assert counters.bets >= 80 and not sim.active
    assert counters.place_errors > 0, "poor players were meant to run short"
    assert set(counters.by_lifecycle) >= {"settle", "resettle", "cash_out", "decline"}
    # every player's wallet holds exactly what the simulator meant to move
    assert actual == expected
    with clean_db.connect() as conn:
        outcomes = dict(conn.execute(sa.text(
            "SELECT outcome, count(*) FROM attempts GROUP BY outcome")).all())
        # a healthy platform answers everything first time; out-of-order callbacks would fail
        assert set(outcomes) <= {"delivered", "rejected"}
        assert outcomes["rejected"] == counters.place_errors
        # and each bet's attempts follow its callbacks' creation order
        disorder = conn.execute(sa.text("""
            SELECT count(*) FROM (
              SELECT callback_id, lag(callback_id) OVER (PARTITION BY group_id
                                                         ORDER BY started_at) AS previous
              FROM attempts) t
            WHERE previous > callback_id""")).scalar()
    assert disorder == 0
    # and the settle the sportsbook sends after an accepted cash-out (type 3, 0.00) was answered
    # as a delivery that moved no money (the wallets above match)
    with clean_db.connect() as conn:
        after_cash_out = dict(conn.execute(sa.text("""
            SELECT s.state, count(*) FROM callbacks s
            JOIN callbacks c ON c.bet_id = s.bet_id
                            AND c.destination = '/bet/cash-out-orders/accepted' AND c.id < s.id
            WHERE s.destination = '/bet/settle' AND s.payload->>'settle_amount' = '0.00'
              AND (s.payload->>'settle_type')::int = 3
              AND NOT EXISTS (SELECT 1 FROM callbacks d WHERE d.bet_id = s.bet_id
                              AND d.destination = '/bet/cash-out-orders/declined')
            GROUP BY s.state""")).all())
    assert after_cash_out and set(after_cash_out) == {"delivered"}
