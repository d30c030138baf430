"""A database outage under a running ``callbacks worker``, timed stage by stage.

Shared by the recovery test and ``bench/bench_recovery.py``: a platform receives callbacks
from a real worker on an embedded server the caller owns; the server is stopped (some requests
in flight), started again after ``outage_s``, and new callbacks are queued at once. The result
says when each stage of the first new delivery happened, counted from the moment the server
accepted connections again.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from databases import OwnServer
from factories import item
from receiver import Receiver, Reply
from workers import Worker, wait_for

from delivery import brands, database, store
from delivery.validation import parse_callback

#: Callbacks queued before, during (in flight at the stop) and after the outage.
BEFORE, DURING, AFTER = 10, 10, 10
#: How often the stages of the first delivery after the outage are looked at.
POLL_S = 0.01


@dataclass
class Recovery:
    outage_s: float
    #: Seconds from the server accepting connections again until the first callback queued
    #: after it was claimed by the scheduler, had its attempt written by a worker, and arrived.
    claimed_s: float | None = None
    begun_s: float | None = None
    arrived_s: float | None = None
    #: Seconds until the platform received anything at all (a request held over the outage).
    first_request_s: float | None = None
    #: Requests per bet (one callback each: ``before-N``, ``during-N``, ``after-N``), and the
    #: outcomes of its attempts.
    requests: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, list[str]] = field(default_factory=dict)
    states: set[str] = field(default_factory=set)
    worker_output: str = ""

    def summary(self) -> str:
        def s(value):
            return "-" if value is None else f"{value:.2f} s"
        return (f"outage {self.outage_s:g} s: claimed {s(self.claimed_s)}, attempt written "
                f"{s(self.begun_s)}, arrived {s(self.arrived_s)} after the server was back "
                f"(first request of any kind {s(self.first_request_s)})")


def _enqueue(engine: sa.Engine, prefix: str, count: int) -> list[str]:
    queued = store.enqueue(engine, "b", [parse_callback(item(f"{prefix}-{i}", "/bet/settle"))
                                         for i in range(count)])
    return [q.request_id for q in queued]


def _stages(engine: sa.Engine, since: float, stop: threading.Event,
            seen: dict[str, float]) -> None:
    """Poll the callbacks queued after the outage: when the first was claimed and when the
    first had its attempt written (into ``seen``, seconds since ``since``)."""
    query = sa.text("SELECT (SELECT count(*) FROM callbacks WHERE bet_id LIKE 'after-%' "
                    "AND state <> 'pending'), "
                    "(SELECT count(*) FROM attempts WHERE group_id LIKE 'after-%')")
    while not stop.is_set() and len(seen) < 2:
        try:
            with engine.connect() as conn:
                claimed, begun = conn.execute(query).one()
        except sa.exc.DBAPIError:
            claimed = begun = 0
        now = time.time() - since
        if claimed and "claimed" not in seen:
            seen["claimed"] = now
        if begun and "begun" not in seen:
            seen["begun"] = now
        time.sleep(POLL_S)


def run_outage(own: OwnServer, outage_s: float, settle_timeout_s: float = 60) -> Recovery:
    """Deliver callbacks through a real worker, stop ``own`` for ``outage_s``, start it, queue
    more, and time the first delivery after it; returns once every callback is delivered."""
    engine = database.make_engine(own.url)
    result = Recovery(outage_s)
    stop_polling = threading.Event()
    try:
        # Requests take a little while, so that some are in flight when the server stops.
        with Receiver(lambda seen: Reply(delay_s=0.2)) as platform:
            brands.add_brand(engine, "b", platform.url, retry_schedule_s=(0,) + (1,) * 19,
                             timeout_s=5)
            worker = Worker(own.url).start()
            try:
                # Given deliveries flowing
                _enqueue(engine, "before", BEFORE)
                wait_for(lambda: store.status(engine)["pending_callbacks"] == 0, 30,
                         "the callbacks queued before the outage to be delivered")
                _enqueue(engine, "during", DURING)
                wait_for(lambda: any(s.body["bet_id"].startswith("during")
                                     for s in list(platform.seen)), 10,
                         "a request to be in flight")
                # When the server stops for outage_s and starts again
                own.stop()
                time.sleep(outage_s)
                seen_before = len(platform.seen)
                own.start()
                back_at = time.time()
                # and callbacks are queued at once
                _enqueue(engine, "after", AFTER)
                stages: dict[str, float] = {}
                poller = threading.Thread(target=_stages, daemon=True,
                                          args=(engine, back_at, stop_polling, stages))
                poller.start()
                wait_for(lambda: any(s.body["bet_id"].startswith("after")
                                     for s in list(platform.seen)), settle_timeout_s,
                         "a callback queued after the outage to arrive")
                poller.join(timeout=5)
                seen = list(platform.seen)
                result.first_request_s = seen[seen_before].at - back_at
                result.arrived_s = min(s.at for s in seen
                                       if s.body["bet_id"].startswith("after")) - back_at
                result.claimed_s = stages.get("claimed")
                result.begun_s = stages.get("begun")
                wait_for(lambda: store.status(engine)["pending_callbacks"] == 0,
                         settle_timeout_s, "every callback to be delivered")
            finally:
                stop_polling.set()
                result.worker_output = worker.stop()
            for seen in platform.seen:
                bet_id = seen.body["bet_id"]
                result.requests[bet_id] = result.requests.get(bet_id, 0) + 1
        with engine.connect() as conn:
            for row in conn.execute(sa.text(
                    "SELECT group_id, outcome FROM attempts ORDER BY started_at")):
                result.outcomes.setdefault(row.group_id, []).append(row.outcome)
            result.states = set(conn.execute(
                sa.text("SELECT DISTINCT state FROM callbacks")).scalars())
    finally:
        engine.dispose()
    return result
