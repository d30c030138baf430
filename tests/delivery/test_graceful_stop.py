"""A graceful stop: SIGTERM to the supervisor or to every process at once drains what is in
flight, hands back what arrives meanwhile, and closes what outlives the grace period as unknown
with its lease released at once. In-process pieces first, then a real ``callbacks worker``."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime

import psutil
import pytest
import sqlalchemy as sa
from factories import item
from receiver import Receiver, Reply
from test_heartbeats import beat_attempts, brand, open_session, session
from workers import Worker, wait_for

from callbacks.commands import worker_stop_s
from delivery import brands, heartbeats, settings, stopping, store
from delivery.validation import parse_callback
from delivery.worker import DeliveryWorker

pytestmark = pytest.mark.slow  # real worker process trees, stopped by signals


def _queue(engine, brand_name: str, bet_ids, destinations=("/bet/place",)) -> list[str]:
    """Queue each bet's callbacks; the request ids."""
    return [q.request_id for bet_id in bet_ids for q in store.enqueue(
        engine, brand_name, [parse_callback(item(bet_id, d)) for d in destinations])]


def _callbacks(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT id, bet_id, destination, state, lease_token, attempts, last_error, "
            "next_attempt_at <= now() AS due FROM callbacks ORDER BY id")).all()


def _outcomes(engine, destination_like: str = "/bet/%") -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT outcome, count(*) FROM attempts WHERE destination LIKE :d GROUP BY 1"),
            {"d": destination_like}).all())


def _delivery(engine) -> DeliveryWorker:
    return DeliveryWorker(engine, lease_margin_s=5)


# --- in-process ---------------------------------------------------------------------------------

def test_a_repeated_stop_signal_is_ignored_and_the_first_one_stops():
    # Given a handler like Dramatiq's worker process's, on SIGTERM and SIGHUP
    calls = []

    def dramatiqs(signum, frame):
        calls.append(signum)

    previous = {sig: signal.signal(sig, dramatiqs) for sig in stopping.STOP_SIGNALS}
    try:
        stopping.one_stop_signal()
        # When SIGTERM arrives three times (every process's own, then forwarded) and a SIGHUP
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGHUP, signal.SIGTERM):
            os.kill(os.getpid(), sig)
        wait_for(lambda: calls, 2, "the first signal's handler")
        time.sleep(0.1)
        # Then the handler ran for the first only
        assert calls == [signal.SIGTERM]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_claims_arriving_during_a_stop_are_handed_back_and_nothing_more_is_leased(clean_db):
    release = threading.Event()

    def behave(seen):
        release.wait(10)
        return Reply()

    with Receiver(behave) as platform:
        brands.add_brand(clean_db, "b", platform.url, max_in_flight=10, timeout_s=10)
        # bet-0 has a second callback waiting behind its head
        _queue(clean_db, "b", ["bet-0"], ("/bet/place", "/bet/accept"))
        delivery = _delivery(clean_db)
        assert delivery.take([c[:2] for c in store.claim_due(clean_db, lease_s=60)]) == 1
        wait_for(lambda: platform.seen, 10, "bet-0's head to reach the platform")
        # When a stop begins while it is in flight, and claims arrive meanwhile
        stopped = []
        stopper = threading.Thread(target=lambda: stopped.append(delivery.stop(10)))
        stopper.start()
        wait_for(lambda: delivery._stopping, 5, "the stop to begin")
        _queue(clean_db, "b", ["bet-1", "bet-2"])
        claims = store.claim_due(clean_db, lease_s=60)
        assert len(claims) == 2
        assert delivery.take([c[:2] for c in claims]) == 0
        # Then they are due again at once, unsent, while the stop still waits for bet-0
        handed_back = [c for c in _callbacks(clean_db) if c.bet_id in ("bet-1", "bet-2")]
        assert [(c.state, c.lease_token, c.attempts, c.due) for c in handed_back] == \
            [("pending", None, 0, True)] * 2
        assert stopper.is_alive()
        # and once bet-0's answer comes, it is recorded, and its successor is not leased
        release.set()
        stopper.join(15)
        assert stopped == [True]
    assert [s.body["bet_id"] for s in platform.seen] == ["bet-0"]
    assert _outcomes(clean_db) == {"delivered": 1}
    states = {(c.bet_id, c.destination): (c.state, c.lease_token) for c in _callbacks(clean_db)}
    assert states[("bet-0", "/bet/place")] == ("delivered", None)
    assert states[("bet-0", "/bet/accept")] == ("pending", None)
    # and another worker takes all three at once
    assert len(store.claim_due(clean_db, lease_s=60)) == 3


def test_heartbeat_claims_arriving_during_a_stop_give_their_sessions_back(clean_db):
    with Receiver() as platform:
        b = brand(clean_db, platform.url, interval_s=60)
        due = datetime.now(UTC).replace(microsecond=0)
        open_session(clean_db, b.id, "s-1", due_at=due)
        delivery = _delivery(clean_db)
        delivery.stop(1)
        claims, _ = heartbeats.claim_beats(clean_db, 60)
        assert delivery.take_beats([c[:2] for c in claims]) == 0
        after = session(clean_db, "s-1")
    assert platform.seen == [] and beat_attempts(clean_db, "s-1") == []
    # Its lease is given back and its heartbeat is due when it was: claimable at once.
    assert (after.lease_token, after.beat_due_at, after.next_beat_at) == (None, None, due)
    assert len(heartbeats.claim_beats(clean_db, 60)[0]) == 1


def test_what_outlives_the_grace_period_is_closed_unknown_once_and_due_again_at_once(
        clean_db, caplog):
    release = threading.Event()

    def behave(seen):
        release.wait(20)
        return Reply()

    with Receiver(behave) as platform:
        b = brand(clean_db, platform.url, name="b", interval_s=60, timeout_s=30,
                  max_in_flight=10)
        _queue(clean_db, "b", ["bet-1", "bet-2"])
        open_session(clean_db, b.id, "s-1", due_at=datetime.now(UTC))
        delivery = _delivery(clean_db)
        assert delivery.take([c[:2] for c in store.claim_due(clean_db, lease_s=60)]) == 2
        claims, _ = heartbeats.claim_beats(clean_db, 60)
        assert delivery.take_beats([c[:2] for c in claims]) == 1
        wait_for(lambda: len(platform.seen) == 3, 10, "two callbacks and a heartbeat to go out")
        # When the grace period ends before the platform answers
        with caplog.at_level(logging.WARNING, logger="delivery.worker"):
            assert delivery.stop(0.5) is False
        # Then each callback has one attempt, unknown, and is due again at once
        assert _outcomes(clean_db) == {"unknown": 2}
        assert [(c.state, c.lease_token, c.attempts, c.due) for c in _callbacks(clean_db)] == \
            [("pending", None, 1, True)] * 2
        assert all("0.5 s" in c.last_error and c.last_error.endswith("sent again")
                   for c in _callbacks(clean_db))
        # and the heartbeat is closed as the sweeper closes a lost one
        [beat] = beat_attempts(clean_db, "s-1")
        after = session(clean_db, "s-1")
        assert beat.outcome == "unknown"
        assert (after.lease_token, after.heartbeats_sent, after.last_outcome) == \
            (None, 1, "unknown")
        # and one line says so
        lines = [r.getMessage() for r in caplog.records if "grace period" in r.getMessage()]
        assert len(lines) == 1 and lines[0].startswith("2 request(s) and 1 heartbeat(s)")
        # When the answers come after all, they are dropped: nothing changes
        release.set()
        wait_for(lambda: all(s.status == 204 for s in platform.seen[:2]), 10, "the answers")
        time.sleep(0.3)
    assert _outcomes(clean_db) == {"unknown": 2}
    assert _outcomes(clean_db, "/heartbeat") == {"unknown": 1}
    assert len(store.claim_due(clean_db, lease_s=60)) == 2


def test_the_supervisor_waits_longer_than_the_grace_period():
    grace = settings.from_env({"CALLBACKS_STOP_GRACE_S": "45"})
    assert grace.stop_grace_s == 45
    assert worker_stop_s(grace) > 45
    assert settings.from_env({}).stop_grace_s > 10  # the default brand timeout fits inside


# --- a real `callbacks worker` ------------------------------------------------------------------

def _tree(worker: Worker) -> list[psutil.Process]:
    parent = psutil.Process(worker.proc.pid)
    return [parent] + parent.children(recursive=True)


def _sigterm(processes: list[psutil.Process]) -> None:
    for proc in processes:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass


@pytest.mark.parametrize("to", ["every process", "the supervisor"])
def test_sigterm_drains_every_request_in_flight(clean_db, database_url, to):
    # Given 16 requests in flight on a platform that answers after 2 s
    with Receiver(lambda seen: Reply(delay_s=2)) as platform:
        brands.add_brand(clean_db, "b", platform.url, max_in_flight=16, timeout_s=10)
        request_ids = _queue(clean_db, "b", [f"bet-{i}" for i in range(16)])
        worker = Worker(database_url, threads=4).start()
        try:
            wait_for(lambda: len(platform.seen) == 16, 30, "16 requests in flight")
            processes = _tree(worker)
            assert len(processes) >= 3  # supervisor, Dramatiq master, worker process
            # When SIGTERM reaches every process at once (systemd, kill -- -PGID), or only
            # `callbacks worker` (docker compose stop)
            _sigterm(processes if to == "every process" else processes[:1])
            worker.proc.wait(timeout=30)
        finally:
            printed = worker.stop()
        seen = platform.by_request_id()
    # Then every request was answered and recorded once: nothing unknown, nothing sent twice
    assert worker.proc.returncode == 0, printed[-3000:]
    assert _outcomes(clean_db) == {"delivered": 16}, printed[-3000:]
    assert sorted(seen) == sorted(request_ids)
    assert all(len(requests) == 1 for requests in seen.values())
    assert {(c.state, c.attempts) for c in _callbacks(clean_db)} == {("delivered", 1)}
    assert "Killing worker process" not in printed


def test_a_request_outliving_the_grace_period_is_unknown_once_and_its_lease_released(
        clean_db, database_url):
    release = threading.Event()
    first = []

    def behave(seen):
        if not first:
            first.append(seen)
            release.wait(8)  # longer than the grace period, within the brand's timeout
        return Reply()

    with Receiver(behave) as platform:
        brands.add_brand(clean_db, "b", platform.url, timeout_s=10)
        [request_id] = _queue(clean_db, "b", ["bet-1"])
        worker = Worker(database_url, env={"CALLBACKS_STOP_GRACE_S": "1.5"}).start()
        try:
            wait_for(lambda: platform.seen, 30, "the request to reach the platform")
            # When the worker is stopped while the platform holds it
            _sigterm(_tree(worker)[:1])
            worker.proc.wait(timeout=30)
            # Then right away its attempt is unknown and the callback due again, unleased
            [callback] = _callbacks(clean_db)
            assert (callback.state, callback.lease_token, callback.attempts, callback.due) == \
                ("pending", None, 1, True)
            assert _outcomes(clean_db) == {"unknown": 1}
        finally:
            release.set()
            printed = worker.stop()
        assert worker.proc.returncode == 0, printed[-3000:]
        assert "1 request(s) and 0 heartbeat(s) still in flight after the 1.5 s stop grace " \
            "period" in printed
        # and another worker delivers it
        with Worker(database_url):
            wait_for(lambda: _callbacks(clean_db)[0].state == "delivered", 30,
                     "another worker to deliver it")
    assert [s.request_id for s in platform.seen] == [request_id] * 2
    assert _outcomes(clean_db) == {"unknown": 1, "delivered": 1}
    [callback] = _callbacks(clean_db)
    assert callback.attempts == 2
