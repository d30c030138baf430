"""What one worker process runs: one event loop that sends, and recorders.

A broker message names claimed callbacks. :meth:`DeliveryWorker.take` writes each attempt as
``sending`` (one transaction for the message), hands them to the process's :class:`SendLoop`
and returns at once, so the Dramatiq thread is free for the next message whatever the platforms
do. The loop sends every request of the process, each brand over kept-alive connections of its
own, each request with the brand's timeout as one overall deadline: a platform that hangs holds
only its own brand's connections until the deadline, and every other brand's requests go on.

Each finished request goes to the *recorder*, one thread that completes attempts in group
commits (one transaction for whatever finished meanwhile: alone at low rates, in batches under
load). The transaction also leases each finished head's successor, and fills any other slot it
freed with the brand's next due head; both go straight back to the loop, without a scheduler
round: a bet's next callback goes out as soon as its head is done, and a busy brand keeps its
max_in_flight requests going.
Database errors are retried with a bounded back-off instead of dropping results.

Heartbeats (:mod:`delivery.heartbeats`) go out on the same loop over connections of their own
and are recorded by a recorder of their own (:meth:`DeliveryWorker.take_beats`): a brand's
heartbeats never wait behind its bet callbacks' recording, nor these behind them.

When several worker processes share the queue, each keeps at most its *share* of a brand's
max_in_flight (:func:`share`) and leaves the slots it frees beyond that to the scheduler, whose
messages reach whichever process takes them: a busy brand is spread over the processes instead
of staying in the one that claimed it first (each process's interpreter runs one thread at a
time, so one process alone caps a brand's rate).
"""
from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
from typing import Awaitable, Callable, TypeVar

import sqlalchemy as sa

from . import heartbeats, metrics, store
from .database import connection_lost
from .dispatch import decide
from .sender import AsyncPool, Attempt, Sending, send_async

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Idle kept-alive connections one brand's pool keeps at most, whatever its max_in_flight says.
POOL_KEEP_MAX = 256
#: Finished attempts completed in one transaction at most.
RECORD_BATCH_MAX = 500
#: Waits between tries of a database write that failed on the connection (about 2 minutes).
WRITE_BACKOFF_S = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5, 5, 10, 10, 10, 10, 10, 10, 10, 10,
                   10, 10)


def share(max_in_flight: int, processes: int) -> int:
    """How many of a brand's callbacks one of ``processes`` worker processes keeps in flight
    (at least one, so every brand moves in every process)."""
    return max(1, math.ceil(max_in_flight / max(1, processes)))


def room_after(batch: list[Attempt], in_flight: dict[int, int], processes: int) -> dict[int, int]:
    """Per brand of ``batch``: how many callbacks recording it may put back in flight in this
    process — its share less what stays in flight once the batch's attempts are done."""
    finished: dict[int, int] = {}
    caps: dict[int, int] = {}
    for attempt in batch:
        cb = attempt.callback
        finished[cb.brand_id] = finished.get(cb.brand_id, 0) + 1
        caps[cb.brand_id] = share(cb.max_in_flight, processes)
    return {b: max(0, caps[b] - (in_flight.get(b, 0) - finished[b])) for b in finished}


def with_retries(write: Callable[[], T], what: str, backoff_s=WRITE_BACKOFF_S,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``write``; when the database connection fails, try again after each wait of
    ``backoff_s``. The last failure is raised."""
    for wait_s in (*backoff_s, None):
        try:
            return write()
        except sa.exc.DBAPIError as exc:
            if not connection_lost(exc) or wait_s is None:
                raise
            log.warning("%s failed (%s); trying again in %g s", what,
                        str(exc.orig).strip().splitlines()[0] if exc.orig else exc, wait_s)
            sleep(wait_s)
    raise AssertionError("unreachable")


def _batches_forever(finished: queue.SimpleQueue, record: Callable[[list], None]) -> None:
    """Hand whatever finished meanwhile to ``record``, a batch at a time (alone at low rates,
    up to :data:`RECORD_BATCH_MAX` under load), until a None arrives."""
    while True:
        first = finished.get()
        if first is None:
            return
        batch = [first]
        while len(batch) < RECORD_BATCH_MAX:
            try:
                more = finished.get_nowait()
            except queue.Empty:
                break
            if more is None:
                finished.put(None)
                break
            batch.append(more)
        record(batch)


class SendLoop:
    """Sends a worker process's requests — bet callbacks and heartbeats — on one event loop, in
    one thread.

    A busy process keeps hundreds of requests in flight over many brands: a thread each cost
    the interpreter more in switching than the requests themselves, and httpx's transport in a
    thread about twice the CPU of HTTP/1.1 spoken with h11 on the loop (``bench/bench_send_cpu.py``).
    Each brand has kept-alive connections of its own, one pool for its callbacks and one for its
    heartbeats, and the leases keep a brand under max_in_flight requests of each kind: a
    platform that hangs holds its own connections until the deadline, and nothing of any other
    brand waits for it.
    """

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self._pools: dict[tuple[str, int], AsyncPool] = {}
        self._tasks: set[asyncio.Task] = set()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sending",
                                        daemon=True)
        self._thread.start()

    def submit(self, send: Callable[[T], Awaitable[None]], items: list[T]) -> None:
        """Start ``send(item)`` on the loop for each item (from any thread)."""
        self.loop.call_soon_threadsafe(self._start, send, items)

    def _start(self, send, items) -> None:
        for item in items:
            task = self.loop.create_task(send(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def pool(self, kind: str, brand_id: int, keep: int) -> AsyncPool:
        """The brand's kept-alive connections for ``kind`` of request (in the loop's thread)."""
        pool = self._pools.get((kind, brand_id))
        if pool is None:
            pool = self._pools[kind, brand_id] = AsyncPool(keep)
        pool.keep = min(keep, POOL_KEEP_MAX)
        return pool

    def stop(self) -> None:
        """Cancel what is still in flight and close every connection."""
        async def close():
            for task in list(self._tasks):
                task.cancel()
            for pool in self._pools.values():
                pool.close()
            self.loop.stop()

        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(lambda: self.loop.create_task(close()))
            self._thread.join(timeout=5)


class DeliveryWorker:
    """Sends claimed callbacks and heartbeats on its :class:`SendLoop` and records them as they
    finish."""

    def __init__(self, engine: sa.Engine, *, lease_margin_s: float, backoff_s=WRITE_BACKOFF_S,
                 processes: int = 1):
        self.engine = engine
        #: Worker processes sharing the queue (see :func:`share`).
        self.processes = processes
        self.lease_margin_s = lease_margin_s
        self.backoff_s = backoff_s
        self.sender = SendLoop()
        self._finished: queue.SimpleQueue[Attempt | None] = queue.SimpleQueue()
        self._beats_finished: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()
        self._in_flight = 0
        self._brand_in_flight: dict[int, int] = {}
        self._idle = threading.Condition()
        self._stopping = False
        self._recorder = threading.Thread(
            target=_batches_forever, args=(self._finished, self._record), name="recorder",
            daemon=True)
        self._recorder.start()
        self._beat_recorder = threading.Thread(
            target=_batches_forever, args=(self._beats_finished, self._record_beats),
            name="beat-recorder", daemon=True)
        self._beat_recorder.start()

    # --- intake -------------------------------------------------------------------------------

    def take(self, claims: list[tuple[int, str]]) -> int:
        """Write the claimed callbacks' attempts as ``sending`` and start sending them; returns
        how many went to the lanes (claims whose lease was lost are left out)."""
        started = time.monotonic()
        sendings = with_retries(
            lambda: store.begin_attempts(self.engine, claims, self.lease_margin_s),
            "writing attempts before sending", self.backoff_s)
        sendings = self._still_leased(sendings, time.monotonic() - started)
        self._send_all(sendings)
        return len(sendings)

    def _still_leased(self, sendings: list[T], write_s: float,
                      keep: Callable[..., list[T]] = store.keep_leases) -> list[T]:
        """The attempts that may go out after a write that took ``write_s``.

        A lease covers the timeout plus the margin from when the write ran; a write slower
        than half the margin (a stalled database) may have left too little of it, and a lease
        that ran out was swept and handed to someone else. Such attempts are re-leased from now
        first (``keep(engine, sendings, margin_s)``: the callbacks' leases, or the heartbeats'),
        and the ones already swept are not sent: two requests of a bet or a session never
        overlap.
        """
        if write_s <= self.lease_margin_s / 2 or not sendings:
            return sendings
        try:
            kept = with_retries(
                lambda: keep(self.engine, sendings, self.lease_margin_s),
                "renewing leases after a slow write", self.backoff_s)
        except Exception:
            log.exception("could not renew %d lease(s) after a %.1f s write; not sending them "
                          "(the sweeper closes their attempts as unknown)", len(sendings),
                          write_s)
            kept = []
        if len(kept) < len(sendings):
            log.warning("a write took %.1f s: %d attempt(s) lost their lease meanwhile and are "
                        "not sent", write_s, len(sendings) - len(kept))
        return kept

    def _send_all(self, sendings: list[Sending]) -> None:
        with self._idle:
            self._in_flight += len(sendings)
            for sending in sendings:
                brand_id = sending.callback.brand_id
                self._brand_in_flight[brand_id] = self._brand_in_flight.get(brand_id, 0) + 1
        if sendings:
            self.sender.submit(self._send_one, sendings)

    async def _send_one(self, sending: Sending) -> None:
        cb = sending.callback
        try:
            attempt = decide(await send_async(
                sending, self.sender.pool("callbacks", cb.brand_id, cb.max_in_flight)))
        except BaseException:
            # send_async never raises for what a platform does; this is a bug or a shutdown.
            # The attempt stays 'sending' and the sweeper closes it as unknown.
            log.exception("sending %s failed", sending.id)
            self._done([cb.brand_id])
            raise
        self._finished.put(attempt)

    # --- heartbeats ----------------------------------------------------------------------------

    def take_beats(self, claims: list[tuple[int, str]]) -> int:
        """Write the claimed heartbeats' attempts as ``sending`` and start sending them on the
        heartbeat loop; returns how many went out (a lease lost, or a session over
        meanwhile, sends nothing)."""
        if self._stopping:
            return 0  # the leases run out and the sessions' next heartbeats go as planned
        started = time.monotonic()
        beats = with_retries(
            lambda: heartbeats.begin_beats(self.engine, claims, self.lease_margin_s),
            "writing heartbeats before sending", self.backoff_s)
        beats = self._still_leased(beats, time.monotonic() - started,
                                   heartbeats.keep_beat_leases)
        with self._idle:
            self._in_flight += len(beats)
        if beats:
            self.sender.submit(self._send_beat, beats)
        return len(beats)

    async def _send_beat(self, item: tuple[Sending, "heartbeats.Beat"]) -> None:
        sending, beat = item
        cb = sending.callback
        try:
            attempt = await send_async(sending,
                                       self.sender.pool("heartbeats", cb.brand_id,
                                                        cb.max_in_flight))
        except BaseException:
            # As for a callback: the attempt stays 'sending' and the sweeper closes it.
            log.exception("sending heartbeat %s failed", sending.id)
            self._beats_done(1)
            raise
        self._beats_finished.put((heartbeats.decide(attempt, beat), beat))

    def _record_beats(self, batch: list[tuple]) -> None:
        try:
            with_retries(lambda: heartbeats.finish_beats(self.engine, batch),
                         f"recording {len(batch)} heartbeat(s)", self.backoff_s)
            metrics.record_beats(self.engine, [a for a, _ in batch])
        except Exception:
            # The rows stay 'sending'; once the leases run out the sweeper closes them as
            # unknown. The sessions' next heartbeats go as planned.
            log.exception("could not record %d heartbeat(s); the sweeper will close them as "
                          "unknown", len(batch))
        finally:
            self._beats_done(len(batch))

    def _beats_done(self, count: int) -> None:
        with self._idle:
            self._in_flight -= count
            if self._in_flight <= 0:
                self._idle.notify_all()

    # --- recording ----------------------------------------------------------------------------

    def _record(self, batch: list[Attempt]) -> None:
        successors: list[Sending] = []
        try:
            started = time.monotonic()
            with self._idle:
                room = room_after(batch, self._brand_in_flight, self.processes)
            successors = with_retries(
                lambda: store.finish_attempts(self.engine, batch, self.lease_margin_s,
                                              take_more=not self._stopping, room=room),
                f"recording {len(batch)} attempt(s)", self.backoff_s)
            metrics.record_attempts(self.engine, batch)
            successors = self._still_leased(successors, time.monotonic() - started)
        except Exception:
            # The rows stay 'sending'; once the leases run out the sweeper closes them as
            # unknown and the callbacks go out again. Nothing is lost from the history.
            log.exception("could not record %d attempt(s); the sweeper will close them as "
                          "unknown", len(batch))
        finally:
            self._send_all(successors)
            self._done([a.callback.brand_id for a in batch])

    def _done(self, brand_ids: list[int]) -> None:
        with self._idle:
            self._in_flight -= len(brand_ids)
            for brand_id in brand_ids:
                left = self._brand_in_flight[brand_id] - 1
                if left:
                    self._brand_in_flight[brand_id] = left
                else:
                    del self._brand_in_flight[brand_id]
            if self._in_flight <= 0:
                self._idle.notify_all()

    # --- shutdown -----------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Attempts written as ``sending`` whose answer is not recorded yet."""
        return self._in_flight

    def drain(self, timeout_s: float) -> bool:
        """Wait until every attempt taken so far is recorded; False when time ran out."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight <= 0, timeout=timeout_s)

    def stop(self, timeout_s: float) -> bool:
        """Take nothing more, finish what is in flight (up to ``timeout_s``), then stop the
        threads."""
        self._stopping = True
        drained = self.drain(timeout_s)
        if not drained:
            log.warning("%d attempt(s) still in flight at shutdown; the sweeper closes them "
                        "as unknown", self._in_flight)
        self._finished.put(None)
        self._beats_finished.put(None)
        self._recorder.join(timeout=5)
        self._beat_recorder.join(timeout=5)
        self.sender.stop()
        return drained
