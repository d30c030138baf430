"""Simulated traffic through the real worker into a healthy sandbox platform, with the
players' sessions and their heartbeats."""
import json
import time

import httpx
import pytest
import sqlalchemy as sa
from cli import run_cli
from workers import Worker

from delivery import brands, heartbeats, store
from sandbox.server import serve_in_thread
from simulator.lifecycles import SessionHabits
from simulator.producer import Simulator

pytestmark = pytest.mark.slow  # simulated traffic through a real worker

#: Sessions that end within the test's thirty seconds: players leave after 5 to 15 s, and a
#: quarter let their session lapse after 3 to 8 s.
QUICK = SessionHabits(leaving_share=0.35, stay_s=(5, 15), lapsing_share=0.25,
                      short_ttl_s=(3, 8), ttl_s=600)


def test_thirty_seconds_of_traffic_arrive_in_order_and_balance(clean_db, database_url,
                                                               tmp_path):
    with serve_in_thread() as sandbox:
        brands.add_brand(clean_db, "healthy", sandbox.url, timeout_s=5, max_in_flight=64,
                         heartbeat_interval_s=1)
        sim = Simulator(clean_db, brands.all_brands(clean_db), rate_per_s=3, players_per_brand=12,
                        pace=0.3, seed=11, habits=QUICK)
        sim.open_players()
        with Worker(database_url, threads=8):
            counters = sim.run(30, drain_timeout_s=90)
            assert store.wait_until_drained(clean_db, 90)
        expected, actual = sim.expected_balances(), sim.platform_balances()
        ledger = tmp_path / "ledger.csv"
        ledger.write_text(httpx.get(f"{sandbox.url}/ledger.csv", timeout=10).text)
        sim.close()
        sessions = _heartbeats_until_the_platform_ended_one(clean_db)

    assert counters.bets >= 80 and not sim.active
    assert counters.place_errors > 0, "poor players were meant to run short"
    assert set(counters.by_lifecycle) >= {"settle", "resettle", "cash_out", "decline"}
    # every player's wallet holds exactly what the simulator meant to move
    assert actual == expected
    with clean_db.connect() as conn:
        outcomes = dict(conn.execute(sa.text(
            "SELECT outcome, count(*) FROM attempts WHERE callback_id IS NOT NULL "
            "GROUP BY outcome")).all())
        # a healthy platform answers everything first time; out-of-order callbacks would fail
        assert set(outcomes) <= {"delivered", "rejected"}
        assert outcomes["rejected"] == counters.place_errors
        # and each bet's attempts follow its callbacks' creation order
        disorder = conn.execute(sa.text("""
            SELECT count(*) FROM (
              SELECT callback_id, lag(callback_id) OVER (PARTITION BY group_id
                                                         ORDER BY started_at) AS previous
              FROM attempts WHERE callback_id IS NOT NULL) t
            WHERE previous > callback_id""")).scalar()
    assert disorder == 0
    # and the platform's own ledger reconciles with what was delivered, bet by bet
    reconciled = run_cli("reconcile", "--brand", "healthy", str(ledger), "--json",
                         env={"DATABASE_URL": database_url})
    report = json.loads(reconciled.stdout)
    assert {r["verdict"]: r["bets"] for r in report["summary"]} == {
        "match": counters.bets - counters.place_errors,
        "rejected_by_platform": counters.place_errors}, reconciled.stdout
    assert all(r["difference"] == "0.00" for r in report["summary"])
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

    # Each player who bet had a session, opened before its first bet, with the Foreign-Params
    # its bets carry; those who left closed it, the lapsed ones expired, the others are live
    assert counters.sessions_opened == len(sessions) - 1
    assert counters.sessions_closed > 0 and counters.sessions_lapsed > 0
    states = [s.state for s in sessions]
    assert states.count("closed") == counters.sessions_closed
    assert states.count("expired") >= counters.sessions_lapsed
    assert states.count("live") + states.count("expired") == (
        counters.sessions_opened - counters.sessions_closed)
    with clean_db.connect() as conn:
        unsessioned = conn.execute(sa.text("""
            SELECT count(*) FROM bets b
            WHERE NOT EXISTS (
                SELECT 1 FROM player_sessions s
                WHERE s.session_id = b.player_id
                  AND s.foreign_params = jsonb_build_object('token', b.player_id)
                  AND s.opened_at <= (SELECT min(c.created_at) FROM callbacks c
                                      WHERE c.bet_id = b.bet_id))""")).scalar()
    assert unsessioned == 0
    # the platform answered the live sessions' heartbeats, and ended the one it did not know
    [ended] = [s for s in sessions if s.state == "ended_by_platform"]
    assert ended.session_id.endswith("-logged-out-0") and ended.last_status == 400
    assert all(s.heartbeats_sent > 0 and s.last_outcome == "delivered"
               for s in sessions if s.state == "live")


def _heartbeats_until_the_platform_ended_one(engine) -> list:
    """Send the due heartbeats (and expire what lapsed) until the logged-out player's session
    is ended and every live one had a heartbeat; the sessions then."""
    deadline = time.monotonic() + 30
    with httpx.Client(timeout=5) as client:
        while True:
            heartbeats.beat_round(engine, client)
            with engine.connect() as conn:
                sessions = conn.execute(sa.text(
                    "SELECT session_id, state, heartbeats_sent, last_status, last_outcome "
                    "FROM player_sessions ORDER BY session_id")).all()
            if ((any(s.state == "ended_by_platform" for s in sessions)
                 and all(s.heartbeats_sent for s in sessions if s.state == "live"))
                    or time.monotonic() > deadline):
                return sessions
            time.sleep(0.5)
