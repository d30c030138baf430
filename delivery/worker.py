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
from collections.abc import Awaitable, Callable
from typing import TypeVar

import sqlalchemy as sa

from . import heartbeats, metrics, stopping, store
from .database import connection_lost
from .dispatch import decide
from .records import Attempt, Sending
from .sender import AsyncPool, send_async

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Idle kept-alive connections one brand's pool keeps at most, whatever its max_in_flight says.
POOL_KEEP_MAX = 256
#: Finished attempts completed in one transaction at most.
RECORD_BATCH_MAX = 500
#: Waits between tries of a database write that failed on the connection (about 2 minutes).
#: They stop growing at 1 s: a write waiting when the database comes back goes through within
#: a second of it, whatever the outage's length (against a server that is down, a try costs
#: one refused connection).
WRITE_BACKOFF_S = (0.05, 0.1, 0.2, 0.4, 0.8) + (1.0,) * 115
#: Waits between tries of the writes of a stop (handing leases back, closing what is left): a
#: stopping process has seconds, not minutes.
STOP_BACKOFF_S = (0.1, 0.2, 0.4, 0.8, 1.6)
#: How long a stop waits for a recorder to finish the batch it is writing.
RECORDER_JOIN_S = 5.0


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
    ``backoff_s``. The last failure is raised. Failures are logged at the 1st, 2nd, 4th, 8th…
    try (a write may try a hundred times through an outage)."""
    for tries, wait_s in enumerate((*backoff_s, None), 1):
        try:
            return write()
        except sa.exc.DBAPIError as exc:
            if not connection_lost(exc) or wait_s is None:
                raise
            if tries & (tries - 1) == 0:
                log.warning("%s failed (%s); trying again in %g s (try %d)", what,
                            str(exc.orig).strip().splitlines()[0] if exc.orig else exc, wait_s,
                            tries)
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
    thread about twice the CPU of HTTP/1.1 spoken with h11 on the loop
    (``bench/bench_send_cpu.py``).
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
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            if tasks:  # let them unwind (close their connections) while the loop still runs
                await asyncio.wait(tasks, timeout=1)
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
        #: Attempts in flight, by attempt id (bet callbacks), and by session row (heartbeats):
        #: what a stop closes when its grace period ends.
        self._sending: dict[str, Sending] = {}
        self._beats_sending: dict[int, heartbeats.Beat] = {}
        #: take() and take_beats() calls under way whose attempts are not in flight yet.
        self._intake = 0
        #: Set when a stop begins: claims are handed back, nothing more is leased.
        self._stopping = False
        #: Set when the stop's grace period is over: nothing more goes out or is recorded.
        self._closed = False
        self._grace_s = 0.0
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
        how many went out (claims whose lease was lost are left out). Once a stop has
        begun, nothing is sent: the claims' leases are handed back at once."""
        if not self._intake_opens():
            self._hand_back(stopping.hand_back_claims, claims, "callback")
            return 0
        try:
            started = time.monotonic()
            sendings = with_retries(
                lambda: store.begin_attempts(self.engine, claims, self.lease_margin_s),
                "writing attempts before sending", self.backoff_s)
            sendings = self._still_leased(sendings, time.monotonic() - started)
            self._send_all(sendings)
            return len(sendings)
        finally:
            self._intake_closes()

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
            late = self._closed
            if not late:
                self._in_flight += len(sendings)
                for sending in sendings:
                    self._sending[sending.id] = sending
                    brand_id = sending.callback.brand_id
                    self._brand_in_flight[brand_id] = self._brand_in_flight.get(brand_id, 0) + 1
        if late:
            self._too_late(sendings)
            return
        if sendings:
            self.sender.submit(self._send_one, sendings)

    async def _send_one(self, sending: Sending) -> None:
        cb = sending.callback
        try:
            attempt = decide(await send_async(
                sending, self.sender.pool("callbacks", cb.brand_id, cb.max_in_flight)))
        except asyncio.CancelledError:
            # A stop: what was still in flight at its end is closed already.
            self._done([sending])
            raise
        except BaseException:
            # send_async never raises for what a platform does; this is a bug. The attempt
            # stays 'sending' and the sweeper closes it as unknown.
            log.exception("sending %s failed", sending.id)
            self._done([sending])
            raise
        self._finished.put(attempt)

    # --- heartbeats ----------------------------------------------------------------------------

    def take_beats(self, claims: list[tuple[int, str]]) -> int:
        """Write the claimed heartbeats' attempts as ``sending`` and start sending them on the
        sending loop; returns how many went out (a lease lost, or a session over
        meanwhile, sends nothing). Once a stop has begun, nothing is sent: the sessions' leases
        are handed back at once."""
        if not self._intake_opens():
            self._hand_back(stopping.hand_back_beats, claims, "heartbeat")
            return 0
        try:
            started = time.monotonic()
            beats = with_retries(
                lambda: heartbeats.begin_beats(self.engine, claims, self.lease_margin_s),
                "writing heartbeats before sending", self.backoff_s)
            beats = self._still_leased(beats, time.monotonic() - started,
                                       heartbeats.keep_beat_leases)
            with self._idle:
                late = self._closed
                if not late:
                    self._in_flight += len(beats)
                    self._beats_sending.update((b.session_row, b) for _, b in beats)
            if late:
                self._too_late([], [b for _, b in beats])
                return 0
            if beats:
                self.sender.submit(self._send_beat, beats)
            return len(beats)
        finally:
            self._intake_closes()

    async def _send_beat(self, item: tuple[Sending, heartbeats.Beat]) -> None:
        sending, beat = item
        cb = sending.callback
        try:
            attempt = await send_async(sending,
                                       self.sender.pool("heartbeats", cb.brand_id,
                                                        cb.max_in_flight))
        except asyncio.CancelledError:
            self._beats_done([(None, beat)])  # a stop: closed already, as for a callback
            raise
        except BaseException:
            # As for a callback: the attempt stays 'sending' and the sweeper closes it.
            log.exception("sending heartbeat %s failed", sending.id)
            self._beats_done([(None, beat)])
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
            self._beats_done(batch)

    def _beats_done(self, finished: list[tuple]) -> None:
        with self._idle:
            self._in_flight -= len(finished)
            for _, beat in finished:
                self._beats_sending.pop(beat.session_row, None)
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
            self._done(batch)

    def _done(self, finished: list[Attempt | Sending]) -> None:
        with self._idle:
            self._in_flight -= len(finished)
            for item in finished:
                self._sending.pop(item.id, None)
                brand_id = item.callback.brand_id
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
        """Wait until every attempt taken so far is recorded, and every take under way has
        sent its attempts; False when time ran out. Each request ends by its own deadline (the
        brand's timeout), so the wait is at most the longest timeout in flight and the writes."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight <= 0 and self._intake == 0,
                                       timeout=timeout_s)

    def stop(self, grace_s: float) -> bool:
        """Stop gracefully within ``grace_s``; True when nothing was left in flight.

        From now on claims are handed back instead of sent, and nothing more is leased. The
        requests in flight are waited for and their answers recorded, for up to ``grace_s``;
        then the recorders stop, and what is still in flight is closed as ``unknown`` with its
        callback due again at once (an answer that comes later is dropped: the process is
        exiting).
        """
        with self._idle:
            self._stopping = True
            self._grace_s = grace_s
        drained = self.drain(grace_s)
        self._finished.put(None)
        self._beats_finished.put(None)
        self._recorder.join(timeout=RECORDER_JOIN_S)
        self._beat_recorder.join(timeout=RECORDER_JOIN_S)
        with self._idle:
            self._closed = True
            left = list(self._sending.values())
            left_beats = list(self._beats_sending.values())
        if left or left_beats:
            self._close_unfinished(left, left_beats, grace_s)
        self.sender.stop()
        return drained and not (left or left_beats)

    def _intake_opens(self) -> bool:
        """Count a take under way (a stop waits for it), unless a stop has begun."""
        with self._idle:
            if self._stopping:
                return False
            self._intake += 1
            return True

    def _intake_closes(self) -> None:
        with self._idle:
            self._intake -= 1
            if self._intake == 0:
                self._idle.notify_all()

    def _hand_back(self, give_back: Callable[[sa.Engine, list], list], claims: list,
                   what: str) -> None:
        """Give claims that arrived during a stop back to the queue at once."""
        try:
            with_retries(lambda: give_back(self.engine, claims),
                         f"handing back {len(claims)} {what} claim(s)", STOP_BACKOFF_S)
        except Exception:
            log.exception("could not hand back %d %s claim(s) taken while stopping; they go "
                          "out again when their leases run out", len(claims), what)

    def _close_unfinished(self, sendings: list[Sending], beats: list[heartbeats.Beat],
                          grace_s: float) -> None:
        """Close what is still in flight at the end of a stop's grace period, in one statement
        per kind, and say so in one line."""
        if not sendings and not beats:
            return
        try:
            with_retries(lambda: stopping.close_unfinished(self.engine, sendings, grace_s),
                         "closing unfinished attempts", STOP_BACKOFF_S)
            with_retries(lambda: stopping.close_unfinished_beats(
                self.engine, [(b.session_row, b.lease_token) for b in beats], grace_s),
                "closing unfinished heartbeats", STOP_BACKOFF_S)
        except Exception:
            log.exception("could not close %d request(s) and %d heartbeat(s) still in flight; "
                          "the sweeper closes them as unknown when their leases run out",
                          len(sendings), len(beats))
            return
        log.warning("%d request(s) and %d heartbeat(s) still in flight after the %g s stop "
                    "grace period: closed as unknown, their callbacks due again now (set "
                    "CALLBACKS_STOP_GRACE_S above the brands' timeouts to wait for them)",
                    len(sendings), len(beats), grace_s)

    def _too_late(self, sendings: list[Sending], beats: list[heartbeats.Beat] = ()) -> None:
        """Attempts written while the grace period ran out (a write that outlasted it): not
        sent, closed like the rest."""
        self._close_unfinished(list(sendings), list(beats), self._grace_s)
