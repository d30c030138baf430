"""``seed-history`` writes history that looks like the dispatcher's own, and the Breakdowns
rollups agree with the attempts they summarise."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from databases import empty

import contract
from callbacks.dashboard import register
from dashboard import queries
from delivery.lifecycle import BET_STATUSES
from delivery.validation import parse_callback
from demo import seeding


@pytest.fixture(scope="module")
def seeded(engine):
    """About 6,000 synthetic attempts over three days, seeded once for the module."""
    empty(engine)
    report = seeding.seed_history(engine, 6000, days=3, seed=5)
    yield engine, report
    empty(engine)


def _scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def test_about_the_requested_number_of_rows_is_written(seeded):
    engine, report = seeded
    assert 5000 <= report.attempts <= 7000
    assert _scalar(engine, "SELECT count(*) FROM attempts") == report.attempts
    assert _scalar(engine, "SELECT count(*) FROM callbacks") == report.callbacks
    assert _scalar(engine, "SELECT count(*) FROM bets") == report.bets
    assert _scalar(engine, "SELECT count(*) FROM brands") == 3


def test_every_attempt_belongs_to_its_callback_and_numbers_follow_on(seeded):
    engine, _ = seeded
    assert _scalar(engine, """
        SELECT count(*) FROM attempts a LEFT JOIN callbacks c ON c.id = a.callback_id
        WHERE c.id IS NULL OR c.bet_id <> a.group_id OR c.destination <> a.destination
           OR c.created_at <> a.callback_created_at OR a.started_at < a.callback_created_at""") \
        == 0
    assert _scalar(engine, """
        SELECT count(*) FROM (SELECT c.id, c.attempts, count(a.id) AS n, max(a.attempt_no) AS m
                              FROM callbacks c LEFT JOIN attempts a ON a.callback_id = c.id
                              GROUP BY c.id, c.attempts) x
        WHERE x.n <> x.attempts OR coalesce(x.m, 0) <> x.attempts""") == 0


def test_groups_keep_the_queue_invariants(seeded):
    engine, _ = seeded
    # at most one head (pending or in flight) per bet, and nothing waits without a head
    assert _scalar(engine, """
        SELECT count(*) FROM (SELECT bet_id FROM callbacks WHERE state IN ('pending', 'in_flight')
                              GROUP BY bet_id HAVING count(*) > 1) x""") == 0
    assert _scalar(engine, """
        SELECT count(*) FROM callbacks w WHERE w.state = 'waiting' AND NOT EXISTS (
            SELECT 1 FROM callbacks h WHERE h.bet_id = w.bet_id AND h.state = 'pending'
              AND h.id < w.id)""") == 0
    assert _scalar(engine, "SELECT count(*) FROM callbacks WHERE state = 'pending' AND "
                           "next_attempt_at IS NULL") == 0


def test_rows_speak_the_contract(seeded):
    engine, _ = seeded
    with engine.connect() as conn:
        statuses = set(conn.execute(sa.text("SELECT DISTINCT status FROM bets")).scalars())
        callbacks = conn.execute(sa.text(
            "SELECT bet_id, destination, payload FROM callbacks ORDER BY random() LIMIT 200"))
        for row in callbacks:
            parse_callback({"bet_id": row.bet_id, "destination": row.destination,
                            "payload": row.payload, "foreign_params": {}})
        headers = conn.execute(sa.text(
            "SELECT request_headers FROM attempts LIMIT 1")).scalar_one()
        outcomes = set(conn.execute(sa.text("SELECT DISTINCT outcome FROM attempts")).scalars())
    assert statuses <= set(BET_STATUSES) and "SETTLED" in statuses
    assert json.loads(headers["Foreign-Params"])["token"].startswith("***")
    assert outcomes == {"delivered", "rejected", "failed", "exhausted"}


def test_rollups_and_live_rows_give_the_same_breakdown(seeded, reader_env):
    engine, _ = seeded
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - \
        timedelta(days=4)
    end = datetime.now(UTC) + timedelta(minutes=1)
    origin = datetime(2000, 1, 1, tzinfo=UTC)
    assert _scalar(engine, "SELECT rolled_up_to FROM attempt_rollup_state") > start
    rolled, rolled_latency = queries.breakdown(None, start, end, timedelta(hours=1), origin,
                                               False)
    live, live_latency = queries.breakdown(None, start, end, timedelta(minutes=10), origin,
                                           False)
    keys = ["destination", "response_status", "outcome", "error_code"]

    def totals(frame, by, measures):
        return frame.fillna({"response_status": -1, "error_code": ""}).groupby(by)[
            measures].sum().sort_index()

    measures = ["attempts", "first_attempts", "retries"]
    assert totals(rolled, keys, measures).equals(totals(live, keys, measures))
    assert totals(rolled_latency, ["destination", "latency_bucket"], ["attempts"]).equals(
        totals(live_latency, ["destination", "latency_bucket"], ["attempts"]))
    assert rolled["attempts"].sum() == _scalar(engine, "SELECT count(*) FROM attempts")


def test_seed_history_command(engine, database_url, monkeypatch, capsys):
    import argparse

    monkeypatch.setenv("DATABASE_URL", database_url)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["seed-history", "--attempts", "300", "--brand", "solo",
                              "--days", "1"])
    before = _scalar(engine, "SELECT count(*) FROM attempts")
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "wrote" in printed and "attempts/s" in printed
    assert _scalar(engine, "SELECT count(*) FROM attempts") > before
    assert _scalar(engine, "SELECT count(DISTINCT brand_id) FROM bets WHERE bet_id IN "
                           "(SELECT bet_id FROM bets b JOIN brands r ON r.id = b.brand_id "
                           "WHERE r.name = 'solo')") == 1


def test_dashboard_command_options():
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["dashboard", "--port", "0", "--host", "0.0.0.0"])
    assert (args.port, args.host, callable(args.func)) == (0, "0.0.0.0", True)
    with pytest.raises(SystemExit):
        parser.parse_args(["seed-history"])  # --attempts is required


def test_bad_seed_numbers_name_the_option(engine):
    with pytest.raises(ValueError, match="--attempts and --days"):
        seeding.seed_history(engine, 0)


def test_supported_codes_of_the_seed_are_the_contracts():
    from demo import synthetic

    assert set(synthetic._SUPPORTED_PLACE) <= contract.supported_codes(contract.PLACE)
    assert not set(synthetic._UNSUPPORTED) & contract.supported_codes("/bet/settle")
