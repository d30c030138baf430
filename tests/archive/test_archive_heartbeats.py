"""Heartbeat attempts (no callback, destination /heartbeat, group the player session) are
archived with their month like every attempt, and read back from Parquet."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import httpx
import pytest
import sqlalchemy as sa
from archive_scenarios import OLD, build, old_partition
from databases import empty
from player_sessions import live_session
from receiver import Receiver, Reply

import contract
from archive import reader
from archive.export import SCHEMAS, archive
from archive.reader import held_partitions
from delivery import brands, heartbeats


def platform(seen) -> Reply:
    if '"gone"' in seen.headers.get("foreign-params", ""):
        return Reply.json(400, contract.error_body(contract.SESSION_UNKNOWN))
    return Reply(204)


@pytest.fixture
def month_with_heartbeats(clean_db):
    """The archive scenario's old month, plus three heartbeats of two sessions of brand north
    (the second session ended by the platform), moved back into that month."""
    build(clean_db)
    live_session(clean_db, "north", "session-1", foreign_params={"token": "alive"})
    live_session(clean_db, "north", "session-2", foreign_params={"token": "gone"})
    with Receiver(platform) as receiver, httpx.Client(timeout=5) as client:
        brands.add_brand(clean_db, "north", receiver.url)  # (an upsert: the URL only)
        heartbeats.beat_round(clean_db, client)
        later = datetime.now(UTC) + timedelta(seconds=120)
        heartbeats.beat_round(clean_db, client, now=later)
    with clean_db.begin() as conn:
        conn.execute(sa.text(
            "UPDATE attempts SET callback_created_at = callback_created_at - :d, "
            "scheduled_at = scheduled_at - :d, started_at = started_at - :d, "
            "finished_at = finished_at - :d, next_attempt_at = next_attempt_at - :d "
            "WHERE destination = :heartbeat"),
            {"d": datetime.now(UTC) - OLD, "heartbeat": contract.HEARTBEAT})
    yield clean_db
    empty(clean_db)


def test_heartbeat_attempts_are_archived_and_read_back(month_with_heartbeats, tmp_path):
    engine = month_with_heartbeats
    with engine.connect() as conn:
        beats = conn.execute(sa.text(
            "SELECT id::text, group_id, outcome, error_code FROM attempts "
            "WHERE callback_id IS NULL ORDER BY group_id, attempt_no")).all()
    assert [(b.group_id, b.outcome) for b in beats] == [
        ("session-1", "delivered"), ("session-1", "delivered"), ("session-2", "rejected")]

    # When the archive moves the old month to Parquet
    report = archive(engine, older_than=timedelta(days=90), folder=tmp_path)

    # Then the heartbeats went with it, their callback empty, and nothing is left behind
    [part] = [p for p in report.partitions if p.partition == old_partition()]
    assert part.action == "archived"
    assert part.rows == {"attempts": 8 + 3, "callbacks": 8, "bets": 4}
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT count(*) FROM attempts WHERE callback_id IS NULL")).scalar_one() == 0
        ids = {r.id: r.name for r in conn.execute(sa.text("SELECT id, name FROM brands"))}
        found = reader.open_archive(tmp_path, held_partitions(conn))
    path = tmp_path / "attempts" / f"{old_partition()}.parquet"
    with duckdb.connect() as db:
        kinds = dict(db.execute(f"SELECT name, type FROM parquet_schema('{path}')").fetchall())
        archived = db.execute(
            f"SELECT id, callback_id, destination FROM read_parquet('{path}') "
            "WHERE callback_id IS NULL ORDER BY group_id, attempt_no").fetchall()
    assert kinds["callback_id"] == "INT64" and SCHEMAS["attempts"].field("callback_id").nullable
    assert [(a[0], a[2]) for a in archived] == [(b.id, contract.HEARTBEAT) for b in beats]

    # And they are read back like any attempt: one by its Attempt ID, a session's by its group,
    # in the history list and in the Breakdowns counts
    ended = found.attempt(beats[2].id, ids)
    assert (ended["callback_id"], ended["callback_request_id"], ended["group_id"]) == (
        None, None, "session-2")
    assert (ended["response_status"], ended["error_code"]) == (400, contract.SESSION_UNKNOWN)
    assert ended["request_headers"]["Foreign-Params"] != '{"token": "gone"}'  # masked
    session = found.attempts_of("session-1", ids, limit=10)
    assert [(a["destination"], a["attempt_no"], a["outcome"]) for a in session] == [
        (contract.HEARTBEAT, 1, "delivered"), (contract.HEARTBEAT, 2, "delivered")]
    # a bet of the same id (Investigate) leaves them out
    assert found.attempts_of("session-1", ids, limit=10, left_out=[contract.HEARTBEAT]) == []
    listed = found.history(ids, dict(
        created_from=OLD - timedelta(days=1), created_to=OLD + timedelta(days=1),
        destinations=[contract.HEARTBEAT]), limit=10)
    assert sorted(r["attempt_id"] for r in listed) == sorted(b.id for b in beats)
    assert {r["callback_state"] for r in listed} == {None}
    counts, _ = found.breakdown(ids, OLD - timedelta(days=1), OLD + timedelta(days=1), 86400,
                                OLD - timedelta(days=1), False, [100.0])
    assert sum(c["attempts"] for c in counts if c["destination"] == contract.HEARTBEAT) == 3
