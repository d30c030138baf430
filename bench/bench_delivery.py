"""Deliveries per second with every attempt persisted, next to plain httpx loops and the
obvious Dramatiq design, same run.

    .venv/bin/python bench/bench_delivery.py [--callbacks 5000] [--processes 2] [--threads 8]
        [--max-in-flight 64]
        [--no-baseline] [--timeout-s 300]

Uses PostgreSQL on 127.0.0.1:5432 when it answers (else an embedded server) in a database of its
own, and a receiver that answers 204 at once (uvicorn, its own process). Measures, one after the
other against that receiver: a plain httpx loop (sequential, then 16 threads); the real
`callbacks worker` with the PostgreSQL broker, ``--callbacks`` enqueued beforehand, every attempt
persisted; and the baseline (bench/baseline_actor.py: one Dramatiq message per callback on the
same broker kind, Retries middleware, one INSERT per attempt, no ordering) with the same
processes and threads. Both delivery rates run from the first attempt's start to the last one's
finish. Prints figures and the ratio ours / sequential loop (goal ≥ 0.8); asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from bench import baseline_actor  # noqa: E402
from bench.feeding import line, wait_until  # noqa: E402
from bench.servers import (Processes, sigterm_exits, start_logged,  # noqa: E402
                           start_receiver, start_worker, worker_output)
from databases import scratch_database  # noqa: E402  (same server choice as the tests)
from delivery import database, store  # noqa: E402
from delivery.validation import parse_callback  # noqa: E402


def plain_loop(url: str, n: int, concurrency: int) -> float:
    body = line("b")["payload"]
    with httpx.Client(limits=httpx.Limits(max_connections=concurrency)) as client:
        def post(_):
            client.post(url + "/bet/settle", json=body, headers={"Foreign-Params": "{}"})
        started = time.perf_counter()
        if concurrency == 1:
            for i in range(n):
                post(i)
        else:
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(post, range(n)))
        return n / (time.perf_counter() - started)


def rate_when_done(engine: sa.Engine, query: str, n: int, proc, timeout_s: float) -> float:
    """Wait until ``query`` (count, first start, last finish) counts ``n``; n per second."""
    def done():
        with engine.connect() as conn:
            return conn.execute(sa.text(query)).one()
    if not wait_until(lambda: done()[0] >= n, timeout_s):
        raise SystemExit(f"{done()[0]} of {n} attempts after {timeout_s:g} s; output:\n"
                         f"{worker_output(proc)}")
    count, first, last = done()
    return n / (last - first).total_seconds()


def ours_per_s(procs: Processes, url: str, engine: sa.Engine, receiver_url: str, args) -> float:
    store.add_brand(engine, "bench", receiver_url, max_in_flight=args.max_in_flight)
    callbacks = [parse_callback(line(f"bet-{i}")) for i in range(args.callbacks)]
    for start in range(0, args.callbacks, 1000):
        store.enqueue(engine, "bench", callbacks[start:start + 1000])
    worker = procs.add(start_worker(url, processes=args.processes, threads=args.threads, env={
        "CALLBACKS_POLL_INTERVAL_S": "0.05", "CALLBACKS_BATCH_SIZE": "50"}))
    try:
        return rate_when_done(engine, "SELECT count(*), min(started_at), max(finished_at) "
                              "FROM attempts WHERE finished_at IS NOT NULL", args.callbacks,
                              worker, args.timeout_s)
    finally:
        procs.stop(worker, grace_s=30)


def baseline_per_s(procs: Processes, url: str, engine: sa.Engine, receiver_url: str,
                   args) -> float:
    baseline_actor.create_table(engine)
    broker = baseline_actor.PostgresBroker(url=baseline_actor.libpq(url), results=False)
    try:
        for i in range(args.callbacks):
            item = line(f"baseline-{i}")
            broker.enqueue(baseline_actor.message(i, item["destination"], item["payload"],
                                                  item["foreign_params"]))
    finally:
        broker.close()
    worker = procs.add(start_logged(
        ["-m", "dramatiq", "bench.baseline_actor", "--queues", baseline_actor.QUEUE,
         "--processes", str(args.processes), "--threads", str(args.threads)],
        {"DATABASE_URL": url, "BASELINE_URL": receiver_url}))
    try:
        return rate_when_done(engine, "SELECT count(*), min(started_at), max(finished_at) "
                              f"FROM {baseline_actor.TABLE}", args.callbacks, worker,
                              args.timeout_s)
    finally:
        procs.stop(worker, grace_s=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--callbacks", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--max-in-flight", type=int, default=64,
                        help="the brand's cap: requests in flight at once (default 64)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the one-actor-per-callback baseline")
    parser.add_argument("--timeout-s", type=float, default=300,
                        help="give up on a delivery run after this long")
    args = parser.parse_args()
    sigterm_exits()

    with scratch_database("callbacks_bench") as url, Processes() as procs:
        engine = database.make_engine(url)
        try:
            receiver_url = procs.server(start_receiver())
            sequential = plain_loop(receiver_url, 2000, 1)
            concurrent = plain_loop(receiver_url, 4000, 16)
            ours = ours_per_s(procs, url, engine, receiver_url, args)
            baseline = (None if args.no_baseline
                        else baseline_per_s(procs, url, engine, receiver_url, args))
        finally:
            engine.dispose()

    print(f"receiver answering 204 at once, {os.cpu_count()} cores; "
          f"{args.callbacks} callbacks per delivery run")
    print(f"plain httpx loop, sequential:          {sequential:8.0f} requests/s")
    print(f"plain httpx loop, 16 threads:          {concurrent:8.0f} requests/s")
    print(f"Callback Desk, {args.processes} process(es) × {args.threads} threads, "
          f"PostgreSQL broker, every attempt persisted:")
    print(f"                                       {ours:8.0f} deliveries/s")
    if baseline is not None:
        print(f"baseline, one Dramatiq actor per callback, same broker, processes and threads, "
              f"one INSERT per attempt:")
        print(f"                                       {baseline:8.0f} deliveries/s")
    print(f"Callback Desk / sequential loop:       {ours / sequential:8.2f}   (goal ≥ 0.8)")
    if baseline is not None:
        print(f"Callback Desk / baseline:              {ours / baseline:8.2f}")


if __name__ == "__main__":
    main()
