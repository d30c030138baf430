"""The heartbeat engine: interval and jitter on a fake clock, what stops a session's heartbeats,
what a heartbeat's attempt looks like — in-process rounds against a real HTTP server."""
from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from receiver import Receiver, Reply

import contract
from delivery import brands, heartbeats
from delivery.records import AttemptOutcome, Outcome

T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


def open_session(engine, brand_id: int, session_id: str, *, due_at: datetime = T0,
                 expires_at: datetime | None = None, params: dict | None = None) -> None:
    params = params or {"session_token": f"tok-{session_id}"}
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO player_sessions (brand_id, session_id, foreign_params, shown_params, "
            "state, next_beat_at, expires_at) VALUES (:b, :s, CAST(:p AS jsonb), '{}', 'live', "
            ":due, :exp)"), dict(b=brand_id, s=session_id, p=json.dumps(params), due=due_at,
                                 exp=expires_at))


def session(engine, session_id: str):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT * FROM player_sessions WHERE session_id = :s"),
                            {"s": session_id}).one()


def beat_attempts(engine, session_id: str) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT * FROM attempts WHERE group_id = :s AND destination = '/heartbeat' "
            "ORDER BY started_at"), {"s": session_id}).all()


def brand(engine, url: str, *, interval_s: int = 10, name: str = "hb", **settings):
    b = brands.add_brand(engine, name, url, **settings)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE brands SET heartbeat_interval_s = :i WHERE id = :id"),
                     {"i": interval_s, "id": b.id})
    return b


@pytest.fixture
def platform():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def client():
    with httpx.Client() as c:
        yield c


# --- decisions ---------------------------------------------------------------------------------

def test_the_next_heartbeat_is_one_interval_away_give_or_take_the_jitter():
    assert heartbeats.next_delay_s(60, 0.0) == pytest.approx(54)
    assert heartbeats.next_delay_s(60, 0.5) == pytest.approx(60)
    assert heartbeats.next_delay_s(60, 0.999999) == pytest.approx(66, abs=1e-3)


def test_a_new_sessions_first_heartbeat_falls_anywhere_in_its_first_interval():
    assert heartbeats.first_delay_s(60, 0.0) == 0
    assert heartbeats.first_delay_s(60, 0.5) == 30
    assert heartbeats.first_delay_s(60, 0.99) == pytest.approx(59.4)


def test_only_the_platform_forgetting_the_session_ends_it():
    unknown = contract.SESSION_UNKNOWN
    assert heartbeats.ends_session(Outcome(AttemptOutcome.REJECTED, None, "x", unknown))
    assert not heartbeats.ends_session(Outcome(AttemptOutcome.DELIVERED))
    assert not heartbeats.ends_session(Outcome(AttemptOutcome.FAILED, "http_status", "500"))
    assert not heartbeats.ends_session(
        Outcome(AttemptOutcome.FAILED, "unsupported_error", "400 ..."))


# --- rounds on a fake clock --------------------------------------------------------------------

def test_a_live_session_gets_one_heartbeat_per_interval_with_jitter(clean_db, platform,
                                                                    client):
    b = brand(clean_db, platform.url, interval_s=10, max_in_flight=100)
    for i in range(60):
        open_session(clean_db, b.id, f"s-{i}")

    first = heartbeats.beat_round(clean_db, client, now=T0)
    assert len(first) == 60 and len(platform.seen) == 60
    dues = [(session(clean_db, f"s-{i}").next_beat_at - T0).total_seconds() for i in range(60)]
    assert all(9.0 <= d <= 11.0 for d in dues), dues
    assert statistics.pstdev(dues) > 0.3  # spread out, not all at the same instant

    assert heartbeats.beat_round(clean_db, client, now=T0 + timedelta(seconds=8.9)) == []
    assert len(heartbeats.beat_round(clean_db, client, now=T0 + timedelta(seconds=11.01))) == 60
    assert all(session(clean_db, f"s-{i}").heartbeats_sent == 2 for i in range(60))


def test_a_heartbeat_is_an_empty_post_with_the_sessions_foreign_params(clean_db, platform,
                                                                       client):
    b = brand(clean_db, platform.url + "/ops")
    open_session(clean_db, b.id, "s-1", params={"some_token": "abc", "player": 7})
    [attempt] = heartbeats.beat_round(clean_db, client, now=T0)
    [seen] = platform.seen
    assert seen.path == "/ops/heartbeat"
    assert seen.raw == b""
    assert json.loads(seen.headers["foreign-params"]) == {"some_token": "abc", "player": 7}
    assert seen.headers["x-request-id"] == attempt.id

    [row] = beat_attempts(clean_db, "s-1")
    assert row.callback_id is None and row.brand_id == b.id
    assert (row.outcome, row.response_status, row.attempt_no) == ("delivered", 204, 1)
    assert row.scheduled_at == T0
    assert row.next_attempt_at == session(clean_db, "s-1").next_beat_at
    # The stored copy masks the session's values.
    stored = json.loads(row.request_headers["Foreign-Params"])
    assert "abc" not in json.dumps(stored)


def test_closing_expiry_and_the_platform_forgetting_the_session_stop_its_heartbeats(
        clean_db, platform, client):
    b = brand(clean_db, platform.url, interval_s=10)
    platform.behave = lambda seen: (
        Reply.json(400, contract.error_body(contract.SESSION_UNKNOWN))
        if json.loads(seen.headers["foreign-params"])["session_token"] == "tok-s-forgotten"
        else Reply())
    for sid in ("s-closed", "s-forgotten", "s-live"):
        open_session(clean_db, b.id, sid)
    open_session(clean_db, b.id, "s-expiring", expires_at=T0 + timedelta(seconds=5))

    assert len(heartbeats.beat_round(clean_db, client, now=T0)) == 4
    assert session(clean_db, "s-forgotten").state == "ended_by_platform"
    assert session(clean_db, "s-forgotten").next_beat_at is None
    with clean_db.begin() as conn:
        conn.execute(sa.text("UPDATE player_sessions SET state = 'closed', next_beat_at = NULL "
                             "WHERE session_id = 's-closed'"))

    later = heartbeats.beat_round(clean_db, client, now=T0 + timedelta(seconds=12))
    assert [a.callback.bet_id for a in later] == ["s-live"]
    assert session(clean_db, "s-expiring").state == "expired"
    assert session(clean_db, "s-expiring").ended_at == T0 + timedelta(seconds=5)
    [refusal] = beat_attempts(clean_db, "s-forgotten")
    assert (refusal.outcome, refusal.error_code) == ("rejected", contract.SESSION_UNKNOWN)
    assert refusal.next_attempt_at is None


def test_a_failed_heartbeat_is_not_retried_the_next_one_replaces_it(clean_db, platform, client):
    b = brand(clean_db, platform.url, interval_s=10)
    platform.behave = lambda seen: Reply(503)
    open_session(clean_db, b.id, "s-1")
    [failed] = heartbeats.beat_round(clean_db, client, now=T0)
    assert failed.outcome.kind == AttemptOutcome.FAILED
    row = session(clean_db, "s-1")
    assert (row.state, row.failures_in_row, row.last_status) == ("live", 1, 503)
    assert row.failing_since == failed.finished_at
    # Not sent again before its next interval...
    assert heartbeats.beat_round(clean_db, client, now=T0 + timedelta(seconds=5)) == []
    # ...and a success clears the failing streak.
    platform.behave = lambda seen: Reply()
    heartbeats.beat_round(clean_db, client, now=T0 + timedelta(seconds=11.01))
    row = session(clean_db, "s-1")
    assert (row.failures_in_row, row.failing_since, row.heartbeats_sent) == (0, None, 2)


def test_a_brand_has_at_most_max_in_flight_heartbeats_and_a_session_one(clean_db, platform):
    b = brand(clean_db, platform.url, max_in_flight=3)
    other = brand(clean_db, platform.url, name="other", max_in_flight=3)
    for i in range(10):
        open_session(clean_db, b.id, f"s-{i}")
    open_session(clean_db, other.id, "o-1")
    claims, due_in = heartbeats.claim_beats(clean_db, 60, now=T0)
    assert sorted(c[2] for c in claims) == [b.id] * 3 + [other.id]
    assert due_in is not None and due_in <= 0  # held back by the cap
    # While those are in flight nothing more of the brand is claimed, whatever the clock says.
    claims, _ = heartbeats.claim_beats(clean_db, 60, now=T0 + timedelta(seconds=30))
    assert [c[2] for c in claims] == []


def test_a_session_closed_after_its_claim_sends_nothing_and_frees_its_slot(clean_db, platform):
    b = brand(clean_db, platform.url, max_in_flight=1)
    open_session(clean_db, b.id, "s-1")
    open_session(clean_db, b.id, "s-2", due_at=T0 + timedelta(seconds=1))
    claims, _ = heartbeats.claim_beats(clean_db, 60, now=T0)
    with clean_db.begin() as conn:
        conn.execute(sa.text("UPDATE player_sessions SET state = 'closed', next_beat_at = NULL "
                             "WHERE session_id = 's-1'"))
    assert heartbeats.begin_beats(clean_db, [c[:2] for c in claims], 1.0) == []
    assert platform.seen == [] and beat_attempts(clean_db, "s-1") == []
    claims, _ = heartbeats.claim_beats(clean_db, 60, now=T0 + timedelta(seconds=2))
    assert len(claims) == 1  # the slot came back at once


def test_a_lost_heartbeat_is_closed_as_unknown_and_the_session_goes_on(clean_db, platform):
    b = brand(clean_db, platform.url, interval_s=10)
    open_session(clean_db, b.id, "s-1")
    claims, _ = heartbeats.claim_beats(clean_db, 60, now=T0)
    [(sending, beat)] = heartbeats.begin_beats(clean_db, [c[:2] for c in claims], 1.0)
    # The worker dies here: its lease runs out.
    with clean_db.begin() as conn:
        conn.execute(sa.text("UPDATE player_sessions SET lease_expires_at = now() - "
                             "interval '1 second'"))
    assert len(heartbeats.sweep_beat_leases(clean_db)) == 1
    [row] = beat_attempts(clean_db, "s-1")
    assert row.outcome == "unknown" and str(row.id) == sending.id
    after = session(clean_db, "s-1")
    assert (after.lease_token, after.heartbeats_sent, after.last_outcome) == (None, 1, "unknown")
    assert len(heartbeats.beat_round(clean_db, httpx.Client(),
                                     now=T0 + timedelta(seconds=12))) == 1


def test_the_scheduler_claims_heartbeats_when_due_in_batches_and_polls_for_new_sessions():
    from delivery.scheduler import BEAT_TICK_S, TickReport, beat_wait_s, sleep_s
    assert beat_wait_s(None, 1.0) == 1.0           # no live session: look again at the poll
    assert beat_wait_s(0.3, 1.0) == 0.3            # until the earliest is due
    assert beat_wait_s(-2.0, 1.0) == BEAT_TICK_S   # held back by a cap: not in a busy loop
    assert beat_wait_s(0.001, 1.0) == BEAT_TICK_S  # a batch per round under load
    assert beat_wait_s(30.0, 1.0) == 1.0           # a session opened meanwhile is seen
    # The scheduler sleeps until the earlier of a callback retry and a heartbeat.
    assert sleep_s(TickReport(beats_next_due_in_s=0.2), 0.7, 1.0) == 0.2
    assert sleep_s(TickReport(beats_next_due_in_s=0.9), 0.4, 1.0) == 0.4
    assert sleep_s(TickReport(beats_dispatched=heartbeats.CLAIM_LIMIT), 0.4, 1.0) == 0.0


def minutes(engine) -> dict:
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT coalesce(sum(delivered), 0), coalesce(sum(ended), 0), "
                                   "coalesce(sum(failed), 0) FROM heartbeat_minutes")).one()
    return dict(zip(("delivered", "ended", "failed"), row, strict=False))


def test_each_recorded_heartbeat_counts_in_its_brands_minute(clean_db, platform, client):
    b = brand(clean_db, platform.url)
    platform.behave = lambda seen: {
        "tok-ok": Reply(), "tok-gone": Reply.json(400, contract.error_body(
            contract.SESSION_UNKNOWN))}.get(
        json.loads(seen.headers["foreign-params"])["session_token"], Reply(502))
    for sid in ("ok", "gone", "down"):
        open_session(clean_db, b.id, sid, params={"session_token": f"tok-{sid}"})
    heartbeats.beat_round(clean_db, client, now=T0)
    assert minutes(clean_db) == {"delivered": 1, "ended": 1, "failed": 1}
    # A heartbeat lost with its worker counts as failed when the sweeper closes it.
    claims, _ = heartbeats.claim_beats(clean_db, 60, now=T0 + timedelta(seconds=12))
    heartbeats.begin_beats(clean_db, [c[:2] for c in claims], 1.0)
    with clean_db.begin() as conn:
        conn.execute(sa.text("UPDATE player_sessions SET lease_expires_at = now() - "
                             "interval '1 second' WHERE lease_token IS NOT NULL"))
    assert len(heartbeats.sweep_beat_leases(clean_db)) == 2
    assert minutes(clean_db) == {"delivered": 1, "ended": 1, "failed": 3}


def test_sessions_over_for_longer_than_the_history_is_kept_are_forgotten(clean_db):
    b = brand(clean_db, "http://127.0.0.1:9")
    for sid in ("old-closed", "recent-closed", "old-live"):
        open_session(clean_db, b.id, sid)
    with clean_db.begin() as conn:
        conn.execute(sa.text(
            "UPDATE player_sessions SET state = 'closed', next_beat_at = NULL, ended_at = "
            "CASE session_id WHEN 'old-closed' THEN now() - interval '91 days' "
            "ELSE now() - interval '89 days' END WHERE session_id LIKE '%-closed'"))
        conn.execute(sa.text("UPDATE player_sessions SET opened_at = now() - interval '200 days'"
                             " WHERE session_id = 'old-live'"))
    assert heartbeats.forget_old(clean_db, 90.0, batch=1) == 1
    with clean_db.connect() as conn:
        left = set(conn.execute(sa.text("SELECT session_id FROM player_sessions")).scalars())
    assert left == {"recent-closed", "old-live"}
