"""Heartbeats through the worker: a platform that hangs on them neither piles them up nor delays
any bet callback; a real worker killed mid-heartbeat leaves no session stuck."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from factories import place_payload
from receiver import Receiver, Reply
from test_heartbeats import beat_attempts, brand, open_session, session
from workers import Worker, wait_for

from delivery import heartbeats, store
from delivery.validation import parse_callback
from delivery.worker import DeliveryWorker


def _queue_places(engine, brand_name: str, bet_ids: list[str]) -> None:
    store.enqueue(engine, brand_name, [parse_callback({
        "bet_id": bet_id, "destination": "/bet/place",
        "payload": place_payload(request_id=f"rq-{bet_id}", bet_id=bet_id),
        "foreign_params": {"session_token": "t"}}) for bet_id in bet_ids])


def test_a_platform_hanging_on_heartbeats_delays_no_bet_callback_and_piles_nothing_up(
        clean_db):
    release = threading.Event()
    concurrent = {"now": 0, "most": 0}
    lock = threading.Lock()

    def behave(seen):
        if seen.path.endswith("/heartbeat"):
            with lock:
                concurrent["now"] += 1
                concurrent["most"] = max(concurrent["most"], concurrent["now"])
            release.wait(20)
            with lock:
                concurrent["now"] -= 1
        return Reply()

    with Receiver(behave) as hanging, Receiver() as healthy:
        slow = brand(clean_db, hanging.url, name="slow", interval_s=1, max_in_flight=4,
                     timeout_s=30)
        brand(clean_db, healthy.url, name="fast", interval_s=1)
        for i in range(20):
            open_session(clean_db, slow.id, f"s-{i}", due_at=datetime.now(UTC))
        delivery = DeliveryWorker(clean_db, lease_margin_s=30)
        try:
            # Rounds of the scheduler's heartbeat claims while the platform hangs, each once
            # what it sent has reached the platform.
            sent = 0
            for _ in range(5):
                claims, _ = heartbeats.claim_beats(clean_db, 60)
                sent += delivery.take_beats([c[:2] for c in claims])
                wait_for(lambda sent=sent: concurrent["now"] == sent, 10,
                         f"{sent} heartbeat(s) hanging at the platform", interval_s=0.01)
            # the brand's cap, never more, never a second per session
            assert concurrent["most"] == 4
            # Bet callbacks of that brand and of another go out at once meanwhile.
            started = time.monotonic()
            _queue_places(clean_db, "slow", ["bet-slow-1", "bet-slow-2"])
            _queue_places(clean_db, "fast", ["bet-fast-1"])
            claims = store.claim_due(clean_db, lease_s=60)
            assert delivery.take([c[:2] for c in claims]) == 3
            wait_for(lambda: {store.bet(clean_db, b)["status"] for b in (
                "bet-slow-1", "bet-slow-2", "bet-fast-1")} == {"PLACED"}, 10,
                "bet callbacks delivered while heartbeats hang")
            assert time.monotonic() - started < 5
            assert len([s for s in hanging.seen if s.path.endswith("/heartbeat")]) == 4
        finally:
            release.set()
            delivery.stop(10)
        with clean_db.connect() as conn:
            outcomes = conn.execute(sa.text(
                "SELECT outcome, count(*) FROM attempts WHERE destination = '/heartbeat' "
                "GROUP BY outcome")).all()
        assert dict(outcomes) == {"delivered": 4}


def test_a_worker_killed_mid_heartbeat_leaves_no_session_stuck(clean_db, database_url):
    hang = threading.Event()

    def behave(seen):
        if hang.is_set() and seen.path.endswith("/heartbeat"):
            time.sleep(30)
        return Reply()

    with Receiver(behave) as platform:
        b = brand(clean_db, platform.url, interval_s=1, timeout_s=2)
        for i in range(3):
            open_session(clean_db, b.id, f"s-{i}", due_at=datetime.now(UTC))
        ids = [f"s-{i}" for i in range(3)]
        with Worker(database_url) as worker:
            wait_for(lambda: all(session(clean_db, s).heartbeats_sent >= 2 for s in ids), 30,
                     "two heartbeats of each session from a real worker")
            hang.set()
            wait_for(lambda: any(a.outcome == "sending" for s in ids
                                 for a in beat_attempts(clean_db, s)), 10,
                     "a heartbeat in flight")
            worker.kill_all()
        killed_at = datetime.now(UTC)
        hang.clear()
        with Worker(database_url):
            wait_for(lambda: all(
                any(a.outcome == "delivered" and a.started_at > killed_at
                    for a in beat_attempts(clean_db, s)) for s in ids), 30,
                "every session's heartbeats going again after the kill")
        stuck = [a for s in ids for a in beat_attempts(clean_db, s) if a.outcome == "sending"]
        assert stuck == []
        assert any(a.outcome == "unknown" for s in ids for a in beat_attempts(clean_db, s))
        assert all(session(clean_db, s).state == "live" for s in ids)
        # One at a time per session, always: no two of a session's attempts overlap.
        for s in ids:
            rows = beat_attempts(clean_db, s)
            for earlier, later in zip(rows, rows[1:], strict=False):
                assert later.started_at >= earlier.finished_at - timedelta(milliseconds=5) \
                    or earlier.outcome == "unknown"
