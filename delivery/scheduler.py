"""Claims due group heads and heartbeats and hands them to workers; re-dispatches what lost
its lease.

The scheduler holds no state that matters: PostgreSQL says what is due. It wakes on
``NOTIFY callbacks_due`` (see :mod:`delivery.wakeups`), claims the due heads of every brand in
one statement, and sleeps until the next retry is due, with polling only as a backstop. Several
schedulers may run at once (claims use ``FOR UPDATE SKIP LOCKED``); a brand's in-flight cap
bounds what is claimed, so one dead endpoint cannot take every worker.

Heartbeats of live player sessions (:mod:`delivery.heartbeats`) are claimed the same way, by a
statement of their own, when the earliest is due — at most every :data:`BEAT_TICK_S`, so that
under load each round claims a batch — and at least every poll interval (a session opened
meanwhile is due within its first interval). Sessions whose end has come are expired, and
heartbeat leases that ran out given back, with the callbacks' sweep.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import dramatiq
import sqlalchemy as sa
from prometheus_client import Counter

from . import heartbeats, store
from .broker import send_batch, send_beats
from .database import connection_lost
from .settings import Settings
from .wakeups import DueSignal

log = logging.getLogger(__name__)

# Prometheus counters, served by whatever runs the scheduler (see delivery.metrics).
DISPATCHED = Counter(
    "callbacks_dispatched", "Claimed callbacks the scheduler handed to workers through the "
    "broker", registry=None)
PUBLISH_ERRORS = Counter(
    "callbacks_broker_publish_errors", "Broker messages the scheduler could not publish (their "
    "callbacks go out again when the lease runs out)", registry=None)
LEASES_EXPIRED = Counter(
    "callbacks_leases_expired", "Callbacks whose lease ran out and were made due again by the "
    "sweeper", registry=None)
BEATS_DISPATCHED = Counter(
    "callbacks_heartbeats_dispatched", "Claimed heartbeats the scheduler handed to workers "
    "through the broker", registry=None)
SESSIONS_EXPIRED = Counter(
    "callbacks_sessions_expired", "Player sessions whose end came (no more heartbeats)",
    registry=None)
#: What the scheduler counts.
METRICS = (DISPATCHED, PUBLISH_ERRORS, LEASES_EXPIRED, BEATS_DISPATCHED, SESSIONS_EXPIRED)

#: How often expired leases are swept.
SWEEP_EVERY_S = 1.0
#: How often attempt partitions are created ahead.
PARTITIONS_EVERY_S = 6 * 3600.0
#: Callbacks claimed by one statement at most; more are claimed at once by the next tick.
CLAIM_LIMIT = 1000
#: How often a waiting scheduler looks at its stop event.
STOP_CHECK_S = 0.25
#: How long the scheduler waits before trying a round again after it failed.
RETRY_AFTER_S = 2.0
#: How often the scheduler tries again while the database cannot be reached: a round costs one
#: refused connection then, and claims resume within this of the database coming back.
RECONNECT_EVERY_S = 0.25
#: After the database was unavailable, how long the sweeper leaves the leases that ran out
#: meanwhile: workers that held answers through the outage record them first (their writes try
#: again every second), instead of those callbacks being sent again.
SWEEP_GRACE_S = 2.0
#: Heartbeats are claimed at most this often: under load a round claims what fell due since
#: the last one (a heartbeat is at most this late for it), instead of one session at a time.
BEAT_TICK_S = 0.05
#: Heartbeats per broker message, at most: a round's claims spread over many brands, one or
#: two each, and a message per twenty of them kept the scheduler publishing (a transaction per
#: message on the PostgreSQL broker) while sessions fell due faster than it claimed them.
BEAT_BATCH = 250


def batches(claims: list, size: int, processes: int = 1) -> list[list]:
    """``(id, lease token, brand id)`` claims cut into messages of ``(id, lease token)`` of at
    most ``size``. A brand's claims go in pieces of at most a ``processes``-th, never two pieces
    in one message, so every worker process can get part of a busy brand; pieces of different
    brands share messages (few messages when many brands have a little due)."""
    by_brand: dict[int, list] = {}
    for claim in claims:
        by_brand.setdefault(claim[2], []).append((claim[0], claim[1]))
    messages: list[list] = []
    brands_in: list[set] = []
    for brand_id, brand_claims in by_brand.items():
        part = max(1, min(size, math.ceil(len(brand_claims) / max(1, processes))))
        for start in range(0, len(brand_claims), part):
            piece = brand_claims[start:start + part]
            for message, brands in zip(messages, brands_in, strict=False):
                if brand_id not in brands and len(message) + len(piece) <= size:
                    message += piece
                    brands.add(brand_id)
                    break
            else:
                messages.append(list(piece))
                brands_in.append({brand_id})
    return messages


def sleep_s(report: TickReport, next_due_in_s: float | None, backstop_s: float) -> float:
    """How long to wait for a notification before the next tick."""
    if report.dispatched >= CLAIM_LIMIT or report.beats_dispatched >= heartbeats.CLAIM_LIMIT:
        return 0.0
    wait_s = backstop_s
    if next_due_in_s is not None and next_due_in_s > 0:
        wait_s = min(next_due_in_s, backstop_s)
    # Otherwise nothing pending, or due heads held back by their brand's cap: a finished
    # attempt that frees a slot notifies.
    return min(wait_s, beat_wait_s(report.beats_next_due_in_s, backstop_s))


def beat_wait_s(next_due_in_s: float | None, backstop_s: float) -> float:
    """How long the heartbeats let the scheduler wait: until the earliest is due, but not less
    than :data:`BEAT_TICK_S` (one held back by its brand's cap waits for a slot as long) nor
    more than ``backstop_s``."""
    if next_due_in_s is None:
        return backstop_s
    return min(max(next_due_in_s, BEAT_TICK_S), backstop_s)


@dataclass
class TickReport:
    swept: int = 0
    dispatched: int = 0
    messages: int = 0
    #: Seconds until the earliest pending head is due after this round's claims (≤ 0: one is
    #: due now but held back by its brand's cap), None when none waits.
    next_due_in_s: float | None = None
    beats_dispatched: int = 0
    #: The same for heartbeats (None: no live session, or none claimed this round).
    beats_next_due_in_s: float | None = None
    sessions_expired: int = 0


class Scheduler:
    def __init__(self, engine: sa.Engine, broker: dramatiq.Broker, settings: Settings):
        self.engine = engine
        self.broker = broker
        self.settings = settings
        self._swept_at = self._partitions_at = float("-inf")
        #: No sweep before this (monotonic): see :data:`SWEEP_GRACE_S`.
        self._sweep_from = float("-inf")
        #: When heartbeats are next claimed (monotonic).
        self._beats_at = float("-inf")

    def tick(self) -> TickReport:
        """One round: sweep leases, claim every brand's due heads, send messages."""
        now = time.monotonic()
        report = TickReport()
        if now - self._partitions_at >= PARTITIONS_EVERY_S:
            store.ensure_partitions(self.engine)
            heartbeats.forget_old(self.engine, self.settings.retention_days)
            self._partitions_at = now
        if now - self._swept_at >= SWEEP_EVERY_S and now >= self._sweep_from:
            report.swept = len(store.sweep_expired_leases(self.engine))
            if report.swept:
                LEASES_EXPIRED.inc(report.swept)
                log.warning("%d callback lease(s) expired; sending them again", report.swept)
            beats_swept = len(heartbeats.sweep_beat_leases(self.engine))
            if beats_swept:
                log.warning("%d heartbeat lease(s) expired; those sessions' next heartbeats go "
                            "as planned", beats_swept)
            report.sessions_expired = len(heartbeats.expire_sessions(self.engine))
            SESSIONS_EXPIRED.inc(report.sessions_expired)
            self._swept_at = now
        claims, report.next_due_in_s = store.claim_round(
            self.engine, self.settings.dispatch_lease_s, limit=CLAIM_LIMIT)
        # Claims left unpublished stay leased; when the lease runs out the sweeper makes them
        # due again, so nothing is lost.
        report.dispatched, messages = self._publish(
            send_batch, batches(claims, self.settings.batch_size, self.settings.worker_processes),
            "claimed callback(s) go out again when their lease runs out")
        report.messages += messages
        DISPATCHED.inc(report.dispatched)
        if now >= self._beats_at:
            self._claim_beats(report)
            self._beats_at = now + beat_wait_s(report.beats_next_due_in_s,
                                               self.settings.poll_interval_s)
            if report.beats_dispatched >= heartbeats.CLAIM_LIMIT:
                self._beats_at = now
        else:
            report.beats_next_due_in_s = self._beats_at - now
        return report

    def _claim_beats(self, report: TickReport) -> None:
        claims, report.beats_next_due_in_s = heartbeats.claim_beats(
            self.engine, self.settings.dispatch_lease_s)
        # Sessions left unpublished stay leased until the sweeper gives them back; their next
        # heartbeats go as planned.
        report.beats_dispatched, messages = self._publish(
            send_beats, batches(claims, max(self.settings.batch_size, BEAT_BATCH),
                                self.settings.worker_processes),
            "claimed heartbeat(s) are not sent")
        report.messages += messages
        BEATS_DISPATCHED.inc(report.beats_dispatched)

    def _publish(self, send, messages: list[list], lost: str) -> tuple[int, int]:
        """Send the messages in order until the broker refuses one; ``(claims, messages)``
        sent. ``lost`` says what becomes of the claims left (in the log)."""
        sent = 0
        for done, batch in enumerate(messages):
            try:
                send(self.broker, self.settings.queue_name, batch)
            except Exception as exc:  # whatever the broker's client raises
                PUBLISH_ERRORS.inc()
                log.error("could not publish to the broker (%s: %s); %d %s", type(exc).__name__,
                          exc, sum(len(b) for b in messages[done:]), lost)
                return sent, done
            sent += len(batch)
        return sent, len(messages)

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set. Nothing stops it but ``stop``: a round that failed is
        logged and tried again after :data:`RETRY_AFTER_S` (a scheduler that died would leave
        every brand's callbacks unclaimed while the workers kept running). While the database
        cannot be reached, rounds are tried every :data:`RECONNECT_EVERY_S`, the outage is
        logged when it begins and when it ends, and leases are swept again
        :data:`SWEEP_GRACE_S` after it."""
        signal = DueSignal(self.engine)
        lost_since: float | None = None
        try:
            while not stop.is_set():
                try:
                    report = self.tick()
                    wait_s = sleep_s(report, report.next_due_in_s,
                                     self.settings.poll_interval_s)
                except Exception as exc:
                    if connection_lost(exc):
                        self._sweep_from = time.monotonic() + SWEEP_GRACE_S
                        if lost_since is None:
                            lost_since = time.monotonic()
                            log.error("database unavailable (%s); trying again every %g s",
                                      getattr(exc, "orig", None) or exc, RECONNECT_EVERY_S)
                        stop.wait(RECONNECT_EVERY_S)
                    else:
                        log.exception("a scheduler round failed; retrying in %g s",
                                      RETRY_AFTER_S)
                        stop.wait(RETRY_AFTER_S)
                    continue
                if lost_since is not None:
                    log.warning("database available again after %.1f s; scheduling resumed",
                                time.monotonic() - lost_since)
                    lost_since = None
                self._wait(signal, stop, min(wait_s, SWEEP_EVERY_S))
        finally:
            signal.close()

    @staticmethod
    def _wait(signal: DueSignal, stop: threading.Event, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or signal.wait(min(left, STOP_CHECK_S)):
                return
