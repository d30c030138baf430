"""Deliveries per second with every attempt persisted, next to plain httpx loops, same run.

    .venv/bin/python bench/bench_delivery.py [--callbacks 5000] [--processes 2] [--threads 8]

Uses PostgreSQL on 127.0.0.1:5432 when it answers (else an embedded server) in a database of its
own, a receiver that answers 204 at once (uvicorn, its own process), and the real
`callbacks worker` with the PostgreSQL broker. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from bench.servers import start_server  # noqa: E402
from databases import scratch_database  # noqa: E402  (same server choice as the tests)
from delivery import database, store  # noqa: E402
from delivery.validation import parse_callback  # noqa: E402
from factories import item  # noqa: E402


def start_receiver():
    return start_server(["-m", "uvicorn", "bench.fast_receiver:app", "--log-level", "warning",
                         "--no-access-log"])


def plain_loop(url: str, n: int, concurrency: int) -> float:
    body = item("b", "/bet/settle")["payload"]
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


def delivered_per_s(url: str, engine: sa.Engine, database_url: str, n: int, processes: int,
                    threads: int) -> tuple[float, int]:
    store.add_brand(engine, "bench", url, max_in_flight=1000)
    callbacks = [parse_callback(item(f"bet-{i}", "/bet/settle")) for i in range(n)]
    for start in range(0, n, 1000):
        store.enqueue(engine, "bench", callbacks[start:start + 1000])
    env = dict(os.environ, DATABASE_URL=database_url, CALLBACKS_POLL_INTERVAL_S="0.05",
               CALLBACKS_BATCH_SIZE="50")
    env.pop("BROKER_URL", None)
    worker = subprocess.Popen([sys.executable, "-m", "callbacks", "worker", "--processes",
                               str(processes), "--threads", str(threads)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with engine.connect() as conn:
            while True:
                done = conn.execute(sa.text("SELECT count(*), min(started_at), max(finished_at) "
                                            "FROM attempts")).one()
                conn.commit()
                if done[0] >= n:
                    break
                time.sleep(0.2)
        seconds = (done[2] - done[1]).total_seconds()
        return n / seconds, done[0]
    finally:
        worker.terminate()
        worker.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    with scratch_database("callbacks_bench") as url:
        engine = database.make_engine(url)
        try:
            measure(engine, url, args)
        finally:
            engine.dispose()


def measure(engine: sa.Engine, url: str, args) -> None:
    receiver, receiver_url = start_receiver()
    try:
        sequential = plain_loop(receiver_url, 2000, 1)
        concurrent = plain_loop(receiver_url, 4000, 16)
        rate, attempts = delivered_per_s(receiver_url, engine, url, args.callbacks,
                                         args.processes, args.threads)
        print(f"receiver answering 204 at once, {os.cpu_count()} cores")
        print(f"plain httpx loop, sequential:          {sequential:8.0f} requests/s")
        print(f"plain httpx loop, 16 threads:          {concurrent:8.0f} requests/s")
        print(f"Callback Desk, {args.processes} process(es) × {args.threads} threads, "
              f"PostgreSQL broker, every attempt persisted:")
        print(f"                                       {rate:8.0f} deliveries/s "
              f"({attempts} attempts, first start to last finish)")
    finally:
        receiver.terminate()


if __name__ == "__main__":
    main()
