"""Deliveries per second with every attempt persisted, next to plain httpx loops and the
obvious Dramatiq design, same run.

    .venv/bin/python bench/bench_delivery.py [--callbacks 20000] [--processes 2] [--threads 8]
        [--max-in-flight 64]
        [--no-baseline] [--timeout-s 300]

Uses PostgreSQL on 127.0.0.1:5432 when it answers (else an embedded server) in a database of its
own, and a receiver that answers 204 at once (uvicorn, its own process). Measures, one after the
other against that receiver: a plain httpx loop (sequential, then 16 threads); the real
`callbacks worker` with the PostgreSQL broker, ``--callbacks`` enqueued beforehand, every attempt
persisted; and the baseline (bench/baseline_actor.py: one Dramatiq message per callback on the
same broker kind, Retries middleware, one INSERT per attempt, no ordering) with the same
processes and threads. Both delivery rates run from the first attempt's start to the last one's
finish. Prints figures and the ratios ours / sequential loop (goal ≥ 1.0) and ours / baseline
(goal ≥ 3.0); asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from databases import scratch_database  # noqa: E402  (same server choice as the tests)

from bench import baseline_actor  # noqa: E402
from bench.feeding import line, wait_until  # noqa: E402
from bench.servers import (  # noqa: E402
    Processes,
    process_tree,
    sigterm_exits,
    start_logged,
    start_receiver,
    start_worker,
    worker_output,
)
from delivery import brands, database, store  # noqa: E402
from delivery.validation import parse_callback  # noqa: E402


def plain_loop(url: str, n: int, concurrency: int, cpu: dict | None = None,
               receiver=None) -> float:
    """Requests per second; with ``cpu`` given, fills it with the CPU microseconds per request
    this process (the loop) and the receiver used."""
    body = line("b")["payload"]
    me = psutil.Process()
    before = (cpu_s([me]), cpu_s([receiver]) if receiver else 0.0)
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
        elapsed = time.perf_counter() - started
    if cpu is not None:
        cpu["loop"] = (cpu_s([me]) - before[0]) * 1e6 / n
        cpu["receiver"] = ((cpu_s([receiver]) - before[1]) * 1e6 / n) if receiver else 0.0
    return n / elapsed


def cpu_s(processes) -> float:
    """User + system CPU seconds the processes have used so far (gone ones count 0)."""
    total = 0.0
    for p in processes:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_by_pid(processes) -> dict[int, float]:
    """User + system CPU seconds each process has used so far (gone ones left out)."""
    found = {}
    for p in processes:
        try:
            times = p.cpu_times()
            found[p.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return found


def cpu_since(before: dict[int, float], processes) -> float:
    """CPU seconds the processes used since ``before`` (a process started since counts in
    full)."""
    return sum(s - before.get(pid, 0.0) for pid, s in cpu_by_pid(processes).items())


def database_backends(engine: sa.Engine) -> list[psutil.Process]:
    """The PostgreSQL server processes serving this database, other than our own."""
    with engine.connect() as conn:
        pids = conn.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).scalars().all()
    found = []
    for pid in pids:
        try:
            found.append(psutil.Process(pid))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def rate_when_done(engine: sa.Engine, query: str, n: int, proc, timeout_s: float,
                   cpu: dict | None = None, receiver=None) -> float:
    """Wait until ``query`` (count, first start, last finish) counts ``n``; n per second.

    With ``cpu`` given, fills it with the CPU microseconds per delivery that the worker's
    process tree, the receiver and this database's PostgreSQL backends used during the run.
    """
    def done():
        with engine.connect() as conn:
            return conn.execute(sa.text(query)).one()
    # CPU is counted from the first finished attempt on: starting the worker's processes
    # (imports, connections) is not a delivery's cost.
    if not wait_until(lambda: done()[0] >= 1, timeout_s, interval_s=0.01):
        raise SystemExit(f"no attempt after {timeout_s:g} s; output:\n{worker_output(proc)}")
    started_with = done()[0]
    receiver_before = cpu_s([receiver]) if receiver else 0.0
    workers_before = cpu_by_pid(process_tree(proc))
    postgres_before = cpu_by_pid(database_backends(engine))
    # The rate runs from the attempts' own times, so looking rarely changes nothing but the
    # load: counting tens of thousands of attempts takes the database milliseconds each time.
    if not wait_until(lambda: done()[0] >= n, timeout_s, interval_s=1.0):
        raise SystemExit(f"{done()[0]} of {n} attempts after {timeout_s:g} s; output:\n"
                         f"{worker_output(proc)}")
    if cpu is not None:
        per = 1e6 / max(1, n - started_with)
        cpu["workers"] = cpu_since(workers_before, process_tree(proc)) * per
        cpu["receiver"] = (cpu_s([receiver]) - receiver_before) * per if receiver else 0.0
        cpu["postgres"] = cpu_since(postgres_before, database_backends(engine)) * per
    count, first, last = done()
    return n / (last - first).total_seconds()


def ours_per_s(procs: Processes, url: str, engine: sa.Engine, receiver_url: str, args,
               cpu: dict, receiver) -> float:
    brands.add_brand(engine, "bench", receiver_url, max_in_flight=args.max_in_flight)
    callbacks = [parse_callback(line(f"bet-{i}")) for i in range(args.callbacks)]
    for start in range(0, args.callbacks, 1000):
        store.enqueue(engine, "bench", callbacks[start:start + 1000])
    worker = procs.add(start_worker(url, processes=args.processes, threads=args.threads, env={
        "CALLBACKS_POLL_INTERVAL_S": "0.05", "CALLBACKS_BATCH_SIZE": str(args.batch_size)}))
    try:
        return rate_when_done(engine, "SELECT count(*), min(started_at), max(finished_at) "
                              "FROM attempts WHERE finished_at IS NOT NULL", args.callbacks,
                              worker, args.timeout_s, cpu, receiver)
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
    # Enough for a steady state: in its first second or two the worker shares the brand out
    # between its processes (both first messages often go to one of them).
    parser.add_argument("--callbacks", type=int, default=20000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--max-in-flight", type=int, default=64,
                        help="the brand's cap: requests in flight at once (default 64)")
    parser.add_argument("--batch-size", type=int, default=50,
                        help="callbacks per broker message (CALLBACKS_BATCH_SIZE; default 50)")
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
            receiver = psutil.Process(procs.running[-1].pid)
            loop_cpu, ours_cpu = {}, {}
            sequential = plain_loop(receiver_url, 2000, 1, loop_cpu, receiver)
            concurrent = plain_loop(receiver_url, 4000, 16)
            ours = ours_per_s(procs, url, engine, receiver_url, args, ours_cpu, receiver)
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
        print("baseline, one Dramatiq actor per callback, same broker, processes and threads, "
              "one INSERT per attempt:")
        print(f"                                       {baseline:8.0f} deliveries/s")
    print(f"Callback Desk / sequential loop:       {ours / sequential:8.2f}   (goal ≥ 1.0)")
    print(f"CPU per request, sequential loop:      loop {loop_cpu['loop']:.0f} µs, "
          f"receiver {loop_cpu['receiver']:.0f} µs")
    print(f"CPU per delivery, Callback Desk:       worker processes {ours_cpu['workers']:.0f} µs, "
          f"receiver {ours_cpu['receiver']:.0f} µs, PostgreSQL {ours_cpu['postgres']:.0f} µs")
    if baseline is not None:
        print(f"Callback Desk / baseline:              {ours / baseline:8.2f}   (goal ≥ 3.0)")


if __name__ == "__main__":
    main()
