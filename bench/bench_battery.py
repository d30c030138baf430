"""How long a full integration battery run takes against a local sandbox platform.

    .venv/bin/python bench/bench_battery.py [--runs 5] [--no-store]

Measures, each ``--runs`` times: the runner against a sandbox in its own process (as a platform
team's CI sees it), the same with every run, case, step, callback and attempt stored in
PostgreSQL (as the dashboard runs it; 127.0.0.1:5432 when it answers, else an embedded server, in
a database of its own), and the whole ``integration-test`` command including interpreter start.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from databases import scratch_database  # noqa: E402  (same server choice as the tests)

from battery.runner import Target, run_battery  # noqa: E402
from battery.store import RunRecorder  # noqa: E402
from bench.servers import start_server  # noqa: E402
from delivery import brands, database  # noqa: E402

TOKEN = "bench-token"
CLI = ("import argparse,sys; from battery.cli import register; "
       "p=argparse.ArgumentParser(); s=p.add_subparsers(); register(s); "
       "a=p.parse_args(sys.argv[1:]); raise SystemExit(a.func(a))")


def start_sandbox():
    return start_server(["-m", "sandbox", "--player", f"{TOKEN}:1000000.00"])


def figures(label: str, seconds: list[float], requests: int | None = None) -> None:
    per = f", {requests} requests per run" if requests else ""
    print(f"{label:<44} median {statistics.median(seconds):6.3f} s   "
          f"min {min(seconds):6.3f} s   max {max(seconds):6.3f} s{per}")


def bench_runner(url: str, runs: int, recorder=None) -> tuple[list[float], int]:
    seconds, requests = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        result = run_battery(Target(url, {"token": TOKEN},
                                    brand_id=recorder.brand.id if recorder else 0),
                             recorder=recorder, triggered_by="bench")
        seconds.append(time.perf_counter() - started)
        if result.status != "success":
            raise SystemExit(f"the run did not pass: {result.status} {result.reason}")
        requests = len(result.preflight) + sum(len(c.steps) for c in result.cases)
    return seconds, requests


def bench_cli(url: str, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CLI, "integration-test", "--url", url,
                               "--token", TOKEN], cwd=ROOT, capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"the command failed ({done.returncode}):\n{done.stdout}"
                             f"{done.stderr}")
    return seconds


def with_database(url: str, runs: int) -> list[float]:
    with scratch_database("callbacks_bench") as database_url:
        engine = database.make_engine(database_url)
        try:
            brand = brands.add_brand(engine, "bench", url)
            seconds, _ = bench_runner(url, runs, RunRecorder(engine, brand, "cli"))
        finally:
            engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-store", action="store_true", help="skip the PostgreSQL figures")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, {args.runs} runs each")
    process, url = start_sandbox()
    try:
        bench_runner(url, 1)  # warm up: imports, connections
        seconds, requests = bench_runner(url, args.runs)
        figures("runner, sandbox in its own process", seconds, requests)
        if not args.no_store:
            figures("runner + stored in PostgreSQL", with_database(url, args.runs))
        figures("`integration-test` command, end to end", bench_cli(url, args.runs))
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
