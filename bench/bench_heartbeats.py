"""Heartbeats of many live player sessions: sessions due vs heartbeats sent per second, how
late they go out, and what each costs PostgreSQL.

    .venv/bin/python bench/bench_heartbeats.py [--sessions 100000] [--brands 100]
        [--interval-s 60] [--seconds 60] [--warm-up-s 15] [--processes 2] [--threads 8]

Uses PostgreSQL on 127.0.0.1:5432 when it answers (else an embedded server) in a database of its
own, brands whose platform is a receiver answering 204 at once (uvicorn, its own process), and
``--sessions`` live sessions spread evenly over the brands, their first heartbeats spread over
the first interval as opening a session spreads them. Runs the real ``callbacks worker``
(scheduler and Dramatiq processes, PostgreSQL broker), lets it warm up, then measures for
``--seconds``: heartbeats due per second (sessions / interval), heartbeats sent per second,
their spread over the window's seconds (min / max per second: bursts show), lateness (start
minus due time) p50 / p99, and CPU per heartbeat of PostgreSQL's processes and of the worker's.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from pathlib import Path

import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from databases import scratch_database  # noqa: E402  (same server choice as the tests)

from bench.bench_delivery import cpu_s  # noqa: E402
from bench.feeding import percentile  # noqa: E402
from bench.servers import (  # noqa: E402
    Processes,
    process_tree,
    sigterm_exits,
    start_receiver,
    start_worker,
    worker_output,
)
from delivery import brands as delivery_brands  # noqa: E402
from delivery import database  # noqa: E402


def seed(engine: sa.Engine, url: str, brands: int, sessions: int, interval_s: int,
         max_in_flight: int) -> None:
    """The brands, and their live sessions with first heartbeats spread over one interval."""
    for i in range(brands):
        delivery_brands.add_brand(engine, f"brand-{i:03d}", url, max_in_flight=max_in_flight)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE brands SET heartbeat_interval_s = :i"), {"i": interval_s})
        conn.execute(sa.text(
            "INSERT INTO player_sessions (brand_id, session_id, foreign_params, shown_params, "
            "state, next_beat_at) "
            "SELECT b.id, 'session-' || n, jsonb_build_object('session_id', 'session-' || n), "
            "jsonb_build_object('session_id', '***'), 'live', "
            "now() + make_interval(secs => :interval * random()) "
            "FROM generate_series(1, :sessions) AS n "
            "JOIN brands b ON b.name = 'brand-' || lpad(((n - 1) % :brands)::text, 3, '0')"),
            dict(interval=interval_s, sessions=sessions, brands=brands))
        conn.execute(sa.text("ANALYZE player_sessions"))


def postgres_processes() -> list[psutil.Process]:
    """The PostgreSQL server's processes on this machine (backends, walwriter, autovacuum...)."""
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            if p.info["name"] == "postgres" or (p.info["cmdline"] or [""])[0].endswith(
                    "postgres"):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def measure(engine: sa.Engine, window_from, window_to) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT extract(epoch FROM started_at - scheduled_at) AS late_s, "
            "floor(extract(epoch FROM started_at - :f)) AS second, outcome, "
            "left(error_detail, 80) AS error "
            "FROM attempts WHERE destination = '/heartbeat' "
            "AND started_at >= :f AND started_at < :t"), dict(f=window_from, t=window_to)).all()
    per_second: dict[int, int] = {}
    for r in rows:
        per_second[int(r.second)] = per_second.get(int(r.second), 0) + 1
    seconds = int((window_to - window_from).total_seconds())
    counts = [per_second.get(s, 0) for s in range(seconds)]
    late = sorted(float(r.late_s) for r in rows)
    return dict(
        sent=len(rows), counts=counts,
        outcomes={o: sum(1 for r in rows if r.outcome == o) for o in {r.outcome for r in rows}},
        errors=collections.Counter(r.error for r in rows if r.outcome != "delivered"),
        late_p50=percentile(late, 50) if late else None,
        late_p99=percentile(late, 99) if late else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--brands", type=int, default=100)
    parser.add_argument("--interval-s", type=int, default=60)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warm-up-s", type=float, default=15.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--max-in-flight", type=int, default=32)
    args = parser.parse_args()
    sigterm_exits()
    due_per_s = args.sessions / args.interval_s
    with scratch_database() as url, Processes() as procs:
        engine = database.make_engine(url)
        receiver = procs.server(start_receiver())
        started = time.perf_counter()
        seed(engine, receiver, args.brands, args.sessions, args.interval_s, args.max_in_flight)
        print(f"seeded {args.sessions:,} live sessions over {args.brands} brands "
              f"(interval {args.interval_s} s, ±10 % jitter) in "
              f"{time.perf_counter() - started:.1f} s; due {due_per_s:,.0f} heartbeats/s")
        worker = procs.add(start_worker(url, processes=args.processes, threads=args.threads))
        time.sleep(args.warm_up_s)
        if worker.poll() is not None:
            print(worker_output(worker))
            return 1
        with engine.connect() as conn:
            window_from = conn.execute(sa.text("SELECT now()")).scalar_one()
        pg, ours = postgres_processes(), process_tree(worker)
        cpu_before = cpu_s(pg), cpu_s(ours)
        time.sleep(args.seconds)
        cpu_after = cpu_s(pg), cpu_s(ours)
        with engine.connect() as conn:
            window_to = conn.execute(sa.text("SELECT now()")).scalar_one()
        procs.stop(worker, grace_s=20)
        figures = measure(engine, window_from, window_to)
        seconds = (window_to - window_from).total_seconds()
        sent_per_s = figures["sent"] / seconds
        counts = figures["counts"][1:-1] or figures["counts"]
        print(f"window {seconds:.0f} s: due {due_per_s:,.0f}/s, sent {sent_per_s:,.0f}/s "
              f"(ratio sent/due {sent_per_s / due_per_s:.2f}); outcomes {figures['outcomes']}")
        for error, count in figures["errors"].most_common(3):
            print(f"  {count} × {error}")
        if counts:
            print(f"per second: min {min(counts)}, median {statistics.median(counts):.0f}, "
                  f"max {max(counts)} (coefficient of variation "
                  f"{statistics.pstdev(counts) / max(1e-9, statistics.mean(counts)):.2f})")
        if figures["late_p50"] is not None:
            print(f"lateness (started - due): p50 {figures['late_p50'] * 1000:.0f} ms, "
                  f"p99 {figures['late_p99'] * 1000:.0f} ms")
        if figures["sent"]:
            pg_us = (cpu_after[0] - cpu_before[0]) * 1e6 / figures['sent']
            print(f"CPU per heartbeat: PostgreSQL {pg_us:.0f} µs, "
                  f"worker {(cpu_after[1] - cpu_before[1]) * 1e6 / figures['sent']:.0f} µs "
                  f"(machine has {psutil.cpu_count()} cores: "
                  f"{(cpu_after[0] - cpu_before[0] + cpu_after[1] - cpu_before[1]) / seconds:.2f} "
                  f"cores busy)")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
