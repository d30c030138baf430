"""Prometheus metrics (``prometheus-client``) of the API server, the scheduler and the workers.

What the database knows — open callbacks, due now, in flight and the oldest open callback's age,
per brand — is read by :class:`QueueCollector` when the endpoint is scraped (one query per
scrape, nothing per attempt). What only a process knows is counted where it happens, with a
counter increment and nothing else:

- workers: attempts recorded, by brand, destination and outcome, and their duration;
  heartbeats sent, by brand and outcome, and the sessions they ended (bet callbacks only in
  ``callbacks_deliveries``: a brand's heartbeats never blur its delivery figures);
- the scheduler: claimed callbacks handed to the broker, broker publish errors, leases that ran
  out (defined in :mod:`delivery.scheduler`, which worker processes never import, so their
  multiprocess files never hold a second copy).

``callbacks worker`` runs its Dramatiq processes in prometheus-client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, a folder of its own that it removes when it stops): each process
writes its counters to a memory-mapped file, and the parent serves their sum next to its own
scheduler counters and the queue figures, on one port.
"""
from __future__ import annotations

import collections
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

import contract

from . import brands, store
from .heartbeats import ends_session
from .records import AttemptOutcome, CallbackState

log = logging.getLogger(__name__)

#: Request duration buckets, seconds (the edges the Breakdowns page uses, in seconds).
DURATION_BUCKETS_S = (0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
                      1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0)

# Created outside any registry: each process registers the ones it serves (a worker process's
# values are collected from its multiprocess file instead).
DELIVERIES = Counter(
    "callbacks_deliveries", "HTTP delivery attempts recorded by the workers, by outcome "
    "(delivered, rejected, failed, exhausted)", ["brand", "destination", "outcome"],
    registry=None)
ATTEMPT_DURATION = Histogram(
    "callbacks_attempt_duration_seconds", "How long platforms took to answer (or to fail), "
    "per attempt", ["brand", "destination"], buckets=DURATION_BUCKETS_S, registry=None)
HEARTBEATS = Counter(
    "callbacks_heartbeats", "Heartbeats of player sessions recorded by the workers, by outcome "
    "(delivered, rejected, failed)", ["brand", "outcome"], registry=None)
SESSIONS_ENDED_BY_PLATFORM = Counter(
    "callbacks_sessions_ended_by_platform", "Player sessions the platform ended by answering "
    "a heartbeat with auth_session_unknown", ["brand"], registry=None)


class BrandNames:
    """Brand id → name for metric labels; asks the database only for an id it has not seen."""

    def __init__(self):
        self._names: dict[int, str] = {}
        self._lock = threading.Lock()

    def __call__(self, engine: sa.Engine, brand_id: int) -> str:
        name = self._names.get(brand_id)
        if name is None:
            with self._lock:
                try:
                    self._names.update({b.id: b.name for b in brands.all_brands(engine)})
                except sa.exc.SQLAlchemyError:
                    pass
                name = self._names.get(brand_id, str(brand_id))
        return name


_brand_name = BrandNames()


def record_attempts(engine: sa.Engine, attempts) -> None:
    """Count recorded attempts (no SQL but for a brand never seen). A batch's attempts of one
    brand, destination and outcome are one increment: in a worker process each increment
    writes a memory-mapped file under a lock."""
    counts: collections.Counter = collections.Counter()
    durations: dict[tuple, object] = {}
    for attempt in attempts:
        cb = attempt.callback
        brand = _brand_name(engine, cb.brand_id)
        outcome = (AttemptOutcome.EXHAUSTED if attempt.final_state == CallbackState.EXHAUSTED
                   else attempt.outcome.kind)
        counts[brand, cb.destination, outcome] += 1
        if attempt.duration_ms is not None:
            key = (brand, cb.destination)
            histogram = durations.get(key)
            if histogram is None:
                histogram = durations[key] = ATTEMPT_DURATION.labels(*key)
            histogram.observe(attempt.duration_ms / 1000)
    for labels, count in counts.items():
        DELIVERIES.labels(*labels).inc(count)


def record_beats(engine: sa.Engine, attempts) -> None:
    """Count recorded heartbeats (a batch's of one brand and outcome are one increment), and
    their durations beside the bet callbacks' (destination ``/heartbeat``)."""
    counts: collections.Counter = collections.Counter()
    ended: collections.Counter = collections.Counter()
    durations: dict[str, list[float]] = {}
    for attempt in attempts:
        brand = _brand_name(engine, attempt.callback.brand_id)
        counts[brand, attempt.outcome.kind] += 1
        if ends_session(attempt.outcome):
            ended[brand] += 1
        if attempt.duration_ms is not None:
            durations.setdefault(brand, []).append(attempt.duration_ms / 1000)
    for labels, count in counts.items():
        HEARTBEATS.labels(*labels).inc(count)
    for brand, count in ended.items():
        SESSIONS_ENDED_BY_PLATFORM.labels(brand).inc(count)
    for brand, seconds in durations.items():
        histogram = ATTEMPT_DURATION.labels(brand, contract.HEARTBEAT)
        for value in seconds:
            histogram.observe(value)


class QueueCollector:
    """Queue figures per brand, read from PostgreSQL at each scrape."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def collect(self):
        up = GaugeMetricFamily("callbacks_database_up",
                               "1 when the last scrape could read the queue from PostgreSQL")
        try:
            rows = store.queue_by_brand(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: cannot read the queue (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        families = {
            "open": GaugeMetricFamily(
                "callbacks_queue_depth", "Callbacks not finished yet (waiting behind their "
                "bet's head, pending, or in flight)", labels=["brand"]),
            "due_now": GaugeMetricFamily(
                "callbacks_due_now", "Group heads due now and not yet claimed", labels=["brand"]),
            "in_flight": GaugeMetricFamily(
                "callbacks_in_flight", "Callbacks claimed or being sent (at most the brand's "
                "max_in_flight)", labels=["brand"]),
            "oldest_open_age_s": GaugeMetricFamily(
                "callbacks_oldest_pending_age_seconds", "Age of the oldest callback not "
                "finished yet (0 when none is)", labels=["brand"]),
        }
        sessions = GaugeMetricFamily(
            "callbacks_player_sessions", "Player sessions whose heartbeats are kept going, by "
            "state (live; sessions that are over are not counted)", labels=["brand", "state"])
        failing = GaugeMetricFamily(
            "callbacks_player_sessions_failing", "Live player sessions whose latest heartbeat "
            "did not get through (failed, no answer, or refused)", labels=["brand"])
        for row in rows:
            for column, family in families.items():
                family.add_metric([row["brand"]], float(row[column]))
            sessions.add_metric([row["brand"], "live"], float(row["sessions_live"]))
            failing.add_metric([row["brand"]], float(row["sessions_failing"]))
        yield from families.values()
        yield sessions
        yield failing


def registry_for(engine: sa.Engine, *collectors) -> CollectorRegistry:
    """A registry with the queue figures and ``collectors``."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(QueueCollector(engine))
    for collector in collectors:
        registry.register(collector)
    return registry


def worker_registry(engine: sa.Engine, multiprocess_dir: str) -> CollectorRegistry:
    """What ``callbacks worker`` serves: its Dramatiq processes' counters (summed from
    ``multiprocess_dir``), its scheduler's counters and the queue figures."""
    from prometheus_client.multiprocess import MultiProcessCollector

    from .scheduler import METRICS

    registry = registry_for(engine, *METRICS)
    MultiProcessCollector(registry, path=multiprocess_dir)
    return registry


def serve(registry: CollectorRegistry, host: str, port: int):
    """Serve ``/metrics`` on ``host:port`` (0: a free port) in a thread; the server (its
    ``server_port`` is the port taken)."""
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


#: Prefix of a ``callbacks worker``'s folder of counts, followed by the worker's pid and a dash.
COUNTS_DIR_PREFIX = "callbacks-metrics-"
_COUNTS_DIR = re.compile(re.escape(COUNTS_DIR_PREFIX) + r"(\d+)-\w+")


def counts_dir_prefix(pid: int) -> str:
    """The prefix of the counts folder of the ``callbacks worker`` with this pid."""
    return f"{COUNTS_DIR_PREFIX}{pid}-"


def stale_counts_dirs(names: Iterable[str], running: Callable[[int], bool]) -> list[str]:
    """The counts folders among ``names`` whose worker no longer runs (a worker killed
    outright cannot remove its own). Folders named otherwise are left alone."""
    stale = []
    for name in names:
        found = _COUNTS_DIR.fullmatch(name)
        if found and not running(int(found.group(1))):
            stale.append(name)
    return stale


def remove_stale_counts_dirs(folder: Path) -> list[str]:
    """Remove, from ``folder``, the counts folders of workers that no longer run; their names."""
    try:
        names = [p.name for p in folder.iterdir() if p.is_dir()]
    except OSError:
        return []
    stale = stale_counts_dirs(names, _running)
    for name in stale:
        shutil.rmtree(folder / name, ignore_errors=True)
    return stale


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def multiprocess_env(folder: str) -> dict[str, str]:
    """Environment of worker processes that count into ``folder``."""
    return {"PROMETHEUS_MULTIPROC_DIR": folder}
