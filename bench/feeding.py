"""Producing callbacks at a steady rate, and reading back how long each one waited.

Producers use public interfaces only: ``store.enqueue`` (``python``) or the HTTP producer API
(``api``). Waits are read from the tables: a callback's ``created_at`` (when its enqueue
transaction began) and its attempts' ``started_at``/``finished_at``.
"""
from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from factories import item  # tests/factories.py: valid contract bodies

from delivery import store
from delivery.validation import parse_callback

from .servers import ROOT, start_server, worker_output

API_TOKEN = "bench-api-token"


def line(bet_id: str, destination: str = "/bet/settle") -> dict:
    """One enqueue line: a bet's callback with a valid body."""
    return item(bet_id, destination)


class PythonProducer:
    """``store.enqueue``, one callback per transaction."""

    name = "python"

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def send(self, brand: str, callback: dict) -> None:
        store.enqueue(self.engine, brand, [parse_callback(callback)])

    def close(self) -> None:
        pass


class ApiProducer:
    """``POST {api}/v1/brands/{brand}/callbacks``, one callback per request."""

    name = "api"

    def __init__(self, api_url: str, token: str = API_TOKEN):
        self.api_url = api_url
        self.client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10,
                                   limits=httpx.Limits(max_connections=32))

    def send(self, brand: str, callback: dict) -> None:
        response = self.client.post(f"{self.api_url}/v1/brands/{brand}/callbacks",
                                    json={"callbacks": [callback]})
        if response.status_code != 201:
            raise RuntimeError(f"API answered {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        self.client.close()


def require_api_command() -> None:
    """Stop with a clear message when this checkout has no ``callbacks api`` command."""
    probe = subprocess.run([sys.executable, "-m", "callbacks", "api", "--help"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        raise SystemExit("this checkout has no `callbacks api` command (the HTTP producer API); "
                         "run with --producer python to enqueue through store.enqueue instead")


def start_api(database_url: str):
    """``callbacks api`` on the database, accepting :data:`API_TOKEN`: ``(process, url)``."""
    return start_server(["-m", "callbacks", "api"], timeout_s=30,
                        env={"DATABASE_URL": database_url, "CALLBACKS_API_TOKENS": API_TOKEN})


@dataclass(frozen=True)
class Stream:
    """``rate`` callbacks per second to ``brand``, bet ids ``{prefix}{n}`` (one bet each),
    the first ``phase`` of a period after the feed starts (0 ≤ phase < 1)."""

    brand: str
    rate: float
    prefix: str
    phase: float = 0.0


@dataclass
class FeedReport:
    planned: int = 0
    sent: int = 0
    errors: list[str] = field(default_factory=list)
    #: The latest any callback left the producer after its due time.
    worst_lateness_s: float = 0.0
    seconds: float = 0.0


def feed(producer, streams: list[Stream], duration_s: float, threads: int = 8) -> FeedReport:
    """Send every stream's callbacks evenly spaced over ``duration_s``, concurrently enough
    that one slow enqueue does not hold back the next."""
    plan = sorted(((n + s.phase) / s.rate, s.brand, f"{s.prefix}{n}")
                  for s in streams for n in range(int(s.rate * duration_s)))
    report = FeedReport(planned=len(plan))
    lock = threading.Lock()
    started = time.monotonic()

    def send(due: float, brand: str, bet_id: str) -> None:
        lateness = time.monotonic() - started - due
        try:
            producer.send(brand, line(bet_id))
            error = None
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        with lock:
            report.worst_lateness_s = max(report.worst_lateness_s, lateness)
            if error:
                report.errors.append(error)
            else:
                report.sent += 1

    pool = ThreadPoolExecutor(threads, thread_name_prefix="feed")
    try:
        for due, brand, bet_id in plan:
            wait = started + due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            pool.submit(send, due, brand, bet_id)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    report.seconds = time.monotonic() - started
    return report


def describe_feed(report: FeedReport) -> str:
    text = (f"fed {report.sent}/{report.planned} in {report.seconds:.1f} s, "
            f"worst producer lateness {report.worst_lateness_s * 1000:.0f} ms")
    if report.errors:
        text += f"; {len(report.errors)} errors, first: {report.errors[0]}"
    return text


def wait_until(condition, timeout_s: float, interval_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return bool(condition())


def warm_up(producer, engine: sa.Engine, brand: str, worker, n: int = 10,
            timeout_s: float = 60.0) -> None:
    """Send ``n`` callbacks and wait for their delivery: the worker is up and connected."""
    for i in range(n):
        producer.send(brand, line(f"warm-{brand}-{i}"))
    if not wait_until(lambda: waits(engine, brand, f"warm-{brand}-").delivered_count >= n,
                      timeout_s):
        raise SystemExit(f"the worker did not deliver {n} warm-up callbacks to {brand} within "
                         f"{timeout_s:g} s; its output:\n{worker_output(worker)}")


@dataclass
class Waits:
    """Per callback, seconds from enqueue to its first attempt's start and to the finish of
    its delivered attempt; ``inf`` where that had not happened when read."""

    first_attempt: list[float]
    delivered: list[float]

    @property
    def count(self) -> int:
        return len(self.first_attempt)

    @property
    def delivered_count(self) -> int:
        return sum(1 for s in self.delivered if s != math.inf)

    @property
    def undelivered(self) -> int:
        return self.count - self.delivered_count


WAITS = sa.text("""
    SELECT extract(epoch FROM (SELECT min(a.started_at) FROM attempts a
                               WHERE a.callback_id = c.id) - c.created_at) AS first_s,
           extract(epoch FROM (SELECT min(a.finished_at) FROM attempts a
                               WHERE a.callback_id = c.id AND a.outcome = 'delivered')
                              - c.created_at) AS delivered_s
    FROM callbacks c JOIN brands b ON b.id = c.brand_id
    WHERE b.name = :brand AND c.bet_id LIKE :pattern
""")


def waits(engine: sa.Engine, brand: str, bet_prefix: str) -> Waits:
    with engine.connect() as conn:
        rows = conn.execute(WAITS, {"brand": brand, "pattern": bet_prefix + "%"}).all()
    seconds = lambda v: math.inf if v is None else float(v)  # noqa: E731
    return Waits([seconds(r.first_s) for r in rows], [seconds(r.delivered_s) for r in rows])


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; ``inf`` when it falls on something that never happened."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    return "never" if seconds == math.inf else f"{seconds * 1000:.0f} ms"


def ratio(a: float, b: float) -> str:
    if math.isnan(a) or math.isnan(b) or b in (0, math.inf):
        return "n/a"
    return "∞" if a == math.inf else f"{a / b:.2f}×"
