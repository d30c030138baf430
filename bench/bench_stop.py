"""What a stop of ``callbacks worker`` with requests in flight costs: unknowns, duplicates, stall.

    .venv/bin/python bench/bench_stop.py [--scenarios group,supervisor,long,outlive]

Each scenario queues N ``/bet/place`` callbacks (one bet each) for a brand whose platform (a
real HTTP server on 127.0.0.1) holds each request's first arrival until ``hold`` seconds after
the SIGTERM and answers any later one at once; a ``callbacks worker`` with the product's
default settings (lease margin 10 s, poll 1 s) sends them. Once all N are in flight, a second
worker starts (a rolling restart: it is there to take over), and SIGTERM goes either to every
process of the first at once (``group``: systemd, ``kill -- -PGID``) or to its ``callbacks
worker`` alone (``supervisor``: Ctrl-C, ``docker compose stop``).

    group       16 in flight, answered 2 s after the SIGTERM, which goes to every process
    supervisor  16 in flight, answered 2 s after the SIGTERM, to callbacks worker alone
    long        8 in flight, answered 20 s after it (timeout 30 s), to callbacks worker alone
    outlive     the same with CALLBACKS_STOP_GRACE_S=5, to every process

Prints per scenario: seconds from SIGTERM to exit; right after the exit, attempts ``unknown``
and ``sending`` and callbacks still leased; once the second worker delivered everything,
requests the platform saw twice, and seconds from the first worker's exit until the last
callback was delivered (the brand's stall; the held requests are let go at that exit). Runs
against whatever code is on PYTHONPATH, so two checkouts compare. Uses PostgreSQL on
127.0.0.1:5432 when it answers (else an embedded server), a database of its own per scenario.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from databases import scratch_database  # noqa: E402  (same server choice as the tests)
from factories import item  # noqa: E402
from receiver import Receiver, Reply  # noqa: E402
from workers import Worker, wait_for  # noqa: E402

from delivery import brands, database, store  # noqa: E402
from delivery.validation import parse_callback  # noqa: E402

#: The product's defaults, not the tests' fast settings (the stall depends on them).
DEFAULTS = {"CALLBACKS_LEASE_MARGIN_S": "10", "CALLBACKS_POLL_INTERVAL_S": "1",
            "CALLBACKS_DISPATCH_LEASE_S": "60"}
#: name: (callbacks, hold_s, brand timeout_s, SIGTERM to every process, extra environment)
SCENARIOS = {
    "group": (16, 2.0, 10, True, {}),
    "supervisor": (16, 2.0, 10, False, {}),
    "long": (8, 20.0, 30, False, {}),
    "outlive": (8, 20.0, 30, True, {"CALLBACKS_STOP_GRACE_S": "5"}),
}


def holding(hold_s: float, signalled: threading.Event, released: threading.Event):
    """First arrivals are answered ``hold_s`` after ``signalled`` (or once ``released``)."""
    first: set[str] = set()
    lock = threading.Lock()

    def behave(seen):
        with lock:
            again = seen.request_id in first
            first.add(seen.request_id)
        if not again:
            signalled.wait(120)
            released.wait(hold_s)
        return Reply()
    return behave


def tree_of(worker: Worker) -> list[psutil.Process]:
    top = psutil.Process(worker.proc.pid)
    return [top, *top.children(recursive=True)]


def counts(engine) -> dict:
    with engine.connect() as conn:
        outcomes = dict(conn.execute(sa.text(
            "SELECT outcome, count(*) FROM attempts GROUP BY 1")).all())
        leased = conn.execute(sa.text(
            "SELECT count(*) FROM callbacks WHERE lease_token IS NOT NULL")).scalar()
        delivered = conn.execute(sa.text(
            "SELECT count(*) FROM callbacks WHERE state = 'delivered'")).scalar()
    return {"unknown": outcomes.get("unknown", 0), "sending": outcomes.get("sending", 0),
            "leased": leased, "delivered": delivered}


def run(name: str) -> dict:
    n, hold_s, timeout_s, everyone, extra = SCENARIOS[name]
    released, sigterm_sent = threading.Event(), threading.Event()
    with scratch_database("callbacks_bench_stop") as url, \
            Receiver(holding(hold_s, sigterm_sent, released)) as platform:
        engine = database.make_engine(url, pool_size=2)
        try:
            brands.add_brand(engine, "b", platform.url, timeout_s=timeout_s, max_in_flight=n)
            store.enqueue(engine, "b", [parse_callback(item(f"bet-{i}", "/bet/place"))
                                        for i in range(n)])
            env = {**DEFAULTS, **extra}
            first = Worker(url, threads=4, env=env).start()
            second = Worker(url, threads=4, env=env)
            try:
                wait_for(lambda: len(platform.seen) >= n, 60, f"{n} requests in flight")
                second.start()
                wait_for(lambda: len(tree_of(second)) >= 3, 60, "the second worker")
                time.sleep(3)  # its Dramatiq process boots
                tree = tree_of(first)
                signalled = time.monotonic()
                for proc in tree if everyone else tree[:1]:
                    proc.send_signal(signal.SIGTERM)
                sigterm_sent.set()
                first.proc.wait(120)
                exited = time.monotonic()
                after_exit = counts(engine)
                released.set()  # requests the first worker abandoned end now
                wait_for(lambda: counts(engine)["delivered"] == n, 120, "every delivery",
                         interval_s=0.05)
                delivered = time.monotonic()
            finally:
                sigterm_sent.set()
                released.set()
                first.stop()
                if second.proc is not None:
                    second.stop()
            seen = platform.by_request_id()
        finally:
            engine.dispose()
    return {"stop_s": exited - signalled, **after_exit,
            "twice": sum(1 for r in seen.values() if len(r) > 1),
            "stall_s": delivered - exited, "n": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    print(f"{'scenario':<11} {'n':>3} {'stop s':>7} {'unknown':>8} {'sending':>8} "
          f"{'leased':>7} {'twice':>6} {'stall s':>8}")
    for name in args.scenarios.split(","):
        r = run(name)
        print(f"{name:<11} {r['n']:>3} {r['stop_s']:>7.1f} {r['unknown']:>8} {r['sending']:>8} "
              f"{r['leased']:>7} {r['twice']:>6} {r['stall_s']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
