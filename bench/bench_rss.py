"""Resident memory of every worker process over many deliveries.

    .venv/bin/python bench/bench_rss.py [--callbacks 100000] [--processes N --threads N]
        [--timeout-s 1800]

Starts the real ``callbacks worker`` (no tuning flags unless given; CALLBACKS_* settings in the
environment pass through) on a database of its own, one brand at its defaults whose platform
answers 204 at once (bench/fast_receiver.py), and enqueues ``--callbacks`` ``/bet/settle``
callbacks, one bet each, through ``store.enqueue`` in chunks of 500 while the worker delivers.
Samples the RSS of the worker and of each process under it (the Dramatiq parent and each
Dramatiq worker process) with psutil twice a second until that many deliveries are recorded.
Prints each process's RSS at start, peak and end; asserts nothing. Goal: peak < 250 MB each.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from databases import scratch_database  # noqa: E402  (same server choice as the tests)

from bench.feeding import line  # noqa: E402
from bench.servers import (  # noqa: E402
    Processes,
    process_tree,
    sigterm_exits,
    start_receiver,
    start_worker,
    worker_output,
)
from delivery import brands, database, store  # noqa: E402
from delivery.validation import parse_callback  # noqa: E402

BRAND = "bench"
CHUNK = 500
MB = 1024 * 1024


def role(proc: psutil.Process, top_pid: int) -> str:
    if proc.pid == top_pid:
        return "callbacks worker (scheduler)"
    return "dramatiq parent" if proc.ppid() == top_pid else "dramatiq worker process"


def produce(engine: sa.Engine, n: int, stop: threading.Event, errors: list) -> None:
    try:
        for start in range(0, n, CHUNK):
            if stop.is_set():
                return
            store.enqueue(engine, BRAND, [parse_callback(line(f"bet-{i}"))
                                          for i in range(start, min(n, start + CHUNK))])
    except Exception as exc:
        errors.append(exc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--callbacks", type=int, default=100_000)
    parser.add_argument("--processes", type=int, help="worker --processes (default: none given)")
    parser.add_argument("--threads", type=int, help="worker --threads (default: none given)")
    parser.add_argument("--timeout-s", type=float, default=1800,
                        help="stop and print what was reached after this long")
    args = parser.parse_args()
    sigterm_exits()

    samples: dict[int, list[int]] = {}  # pid → RSS samples
    roles: dict[int, str] = {}
    stop = threading.Event()
    errors: list = []
    with scratch_database("callbacks_bench_rss") as url, Processes() as procs:
        engine = database.make_engine(url)
        producer = threading.Thread(target=produce, args=(engine, args.callbacks, stop, errors),
                                    daemon=True)
        try:
            brands.add_brand(engine, BRAND, procs.server(start_receiver()))
            worker = procs.add(start_worker(url, processes=args.processes, threads=args.threads))
            started = time.monotonic()
            producer.start()
            delivered = last_print = 0
            while delivered < args.callbacks and time.monotonic() - started < args.timeout_s:
                if worker.poll() is not None or errors:
                    raise SystemExit(f"stopped early: {errors or ''}\n{worker_output(worker)}")
                for proc in process_tree(worker):
                    try:
                        samples.setdefault(proc.pid, []).append(proc.memory_info().rss)
                        roles.setdefault(proc.pid, role(proc, worker.pid))
                    except psutil.NoSuchProcess:
                        pass
                with engine.connect() as conn:
                    delivered = conn.execute(sa.text(
                        "SELECT count(*) FROM attempts WHERE outcome = 'delivered'")).scalar()
                if time.monotonic() - last_print >= 30:
                    last_print = time.monotonic()
                    print(f"  {time.monotonic() - started:5.0f} s: {delivered} delivered",
                          flush=True)
                time.sleep(0.5)
            seconds = time.monotonic() - started
        finally:
            stop.set()
            if producer.is_alive():
                producer.join(timeout=60)
            engine.dispose()

    command = " ".join(["callbacks worker"] + [f"--{k} {getattr(args, k)}" for k in
                                                ("processes", "threads")
                                                if getattr(args, k) is not None])
    reached = "" if delivered >= args.callbacks else f" (timed out before {args.callbacks})"
    print(f"`{command}`, {delivered} deliveries{reached} in {seconds:.0f} s "
          f"({delivered / seconds:.0f}/s, enqueueing alongside); {os.cpu_count()} cores")
    print(f"{'process':<30} {'pid':>7} {'start':>9} {'peak':>9} {'end':>9}")
    for pid, rss in samples.items():
        print(f"{roles[pid]:<30} {pid:>7} {rss[0] / MB:7.0f} MB {max(rss) / MB:7.0f} MB "
              f"{rss[-1] / MB:7.0f} MB")
    print("goal: peak < 250 MB per process")


if __name__ == "__main__":
    main()
