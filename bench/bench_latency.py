"""Enqueue → first attempt at a steady rate to one busy brand, with idle brands registered.

    .venv/bin/python bench/bench_latency.py [--brands 1,50,500] [--rate 100] [--duration 30]
        [--producer api|python] [--processes N --threads N]

For each brand count: a database of its own, that many brands registered (one busy, the rest
idle, all at their defaults, every one pointing at a receiver that answers 204 at once), the
real ``callbacks worker`` (no tuning flags unless given; CALLBACKS_* settings in the environment
pass through), a short warm-up, then ``--rate`` ``/bet/settle`` callbacks a second, one bet each,
for ``--duration`` seconds. ``--producer api`` (the default) posts each callback to
``callbacks api`` (``POST /v1/brands/{brand}/callbacks``); ``--producer python`` calls
``store.enqueue``. Waits are read from the tables (attempts.started_at − callbacks.created_at),
after at most ``--drain`` seconds for the last ones. Prints one line per brand count; asserts
nothing. Goals: p50 < 30 ms, p99 < 100 ms.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from databases import scratch_database  # noqa: E402  (same server choice as the tests)

from bench.feeding import (  # noqa: E402
    ApiProducer,
    PythonProducer,
    Stream,
    describe_feed,
    feed,
    ms,
    percentile,
    require_api_command,
    start_api,
    wait_until,
    waits,
    warm_up,
)
from bench.servers import Processes, sigterm_exits, start_receiver, start_worker  # noqa: E402
from delivery import brands, database  # noqa: E402

BUSY = "busy"


def measure(brand_count: int, receiver_url: str, args):
    """The busy brand's waits with ``brand_count`` brands registered, and the feed report."""
    with scratch_database("callbacks_bench_latency") as url, Processes() as procs:
        engine = database.make_engine(url, pool_size=8)
        try:
            brands.add_brand(engine, BUSY, receiver_url)
            for n in range(1, brand_count):
                brands.add_brand(engine, f"idle-{n}", receiver_url)
            if args.producer == "api":
                producer = ApiProducer(procs.server(start_api(url)))
            else:
                producer = PythonProducer(engine)
            try:
                worker = procs.add(start_worker(url, processes=args.processes,
                                                threads=args.threads))
                warm_up(producer, engine, BUSY, worker)
                report = feed(producer, [Stream(BUSY, args.rate, "run-")], args.duration)
            finally:
                producer.close()
            wait_until(lambda: waits(engine, BUSY, "run-").first_attempt.count(float("inf"))
                       == 0, args.drain, interval_s=0.5)
            return waits(engine, BUSY, "run-"), report
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brands", default="1,50,500",
                        help="brand counts to measure, comma-separated (one busy, rest idle)")
    parser.add_argument("--rate", type=float, default=100, help="callbacks per second")
    parser.add_argument("--duration", type=float, default=30, help="seconds of feeding")
    parser.add_argument("--producer", choices=("api", "python"), default="api")
    parser.add_argument("--processes", type=int, help="worker --processes (default: none given)")
    parser.add_argument("--threads", type=int, help="worker --threads (default: none given)")
    parser.add_argument("--drain", type=float, default=15,
                        help="seconds to wait after the feed for the last first attempts")
    args = parser.parse_args()
    counts = [int(n) for n in args.brands.split(",")]
    if args.producer == "api":
        require_api_command()
    sigterm_exits()

    command = " ".join(["callbacks worker"] + [f"--{k} {getattr(args, k)}" for k in
                                                ("processes", "threads")
                                                if getattr(args, k) is not None])
    print(f"{args.rate:g} callbacks/s for {args.duration:g} s to one brand, producer "
          f"{args.producer}, `{command}`; {os.cpu_count()} cores")
    print(f"{'brands':>7}  {'first attempt p50':>17} {'p95':>8} {'p99':>8}   "
          f"{'delivered p50':>13} {'p99':>8}   feed")
    with Processes() as procs:
        receiver_url = procs.server(start_receiver())
        for count in counts:
            w, report = measure(count, receiver_url, args)
            print(f"{count:>7}  {ms(percentile(w.first_attempt, 50)):>17} "
                  f"{ms(percentile(w.first_attempt, 95)):>8} "
                  f"{ms(percentile(w.first_attempt, 99)):>8}   "
                  f"{ms(percentile(w.delivered, 50)):>13} {ms(percentile(w.delivered, 99)):>8}   "
                  f"{describe_feed(report)}", flush=True)
    print("goals: first attempt p50 < 30 ms, p99 < 100 ms")


if __name__ == "__main__":
    main()
