"""How long ``callbacks reconcile`` takes, and how much memory, at a million callbacks.

    .venv/bin/python bench/bench_reconcile.py [--callbacks 1000000] [--ledger-rows M]
        [--damage 1000] [--no-request-id] [--parquet] [--quick] [--profile] [--timeout-s 900]

Makes a throw-away database (the tests' choice of server: PostgreSQL on 127.0.0.1:5432 when it
answers, else an embedded one), one brand with wallets in EUR, and seeds ``--callbacks``
delivered callbacks straight into ``bets`` and ``callbacks`` with ``INSERT ... SELECT
generate_series`` (not measured): half as many bets, each a delivered ``/bet/place`` followed by
a delivered ``/bet/settle`` (a third of them lost, settle_amount 0) or, one bet in ten, a
delivered ``/bet/decline``. Then writes the operator's ledger from them with ``COPY``: one row
per money movement (place −stake, settle +settle_amount, decline +stake) with the callback's
``request_id``, player, time and currency. ``--damage K`` spoils K bets, a third each: the
place row dropped (missing_on_platform), booked twice (booked_twice), booked 1.00 short
(amount_differs). ``--ledger-rows M`` above the callbacks adds one-row bets we never sent
(unknown_to_us); below, drops the place row of the last bets (missing_on_platform).
``--no-request-id`` leaves the column out (net amounts compared); ``--parquet`` writes Parquet.

The reconciliation runs in a child process, as ``callbacks reconcile --brand B LEDGER --csv
OUT`` does (the same calls, plus the progress callback to time its phases); psutil samples the
child's resident memory ten times a second. Prints the wall time, the CPU time, the peak RSS,
the load average, each phase's seconds and the verdict counts, and checks that exactly the
damaged bets were found (from the per-bet CSV). Prints figures; asserts nothing. Goal:
1,000,000 rows against 1,000,000 callbacks in under 30 s and 1 GiB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

BRAND = "bench"
CURRENCY = "EUR"
MB = 1024 * 1024
#: Kinds of damage, in turn: (what is done to the bet's place row, the verdict it earns).
DAMAGES = (("dropped", "missing_on_platform"), ("booked twice", "booked_twice"),
           ("booked 1.00 off", "amount_differs"))

# The bets: stakes 5.00–204.99, a third of the settled ones lost (settle_amount 0).
_SEED = """
INSERT INTO bets (bet_id, brand_id, player_id, bet_type, stake, status, placed_at, created_at,
                  updated_at)
SELECT 'bet-' || lpad(CAST(i AS text), 8, '0'), :brand_id, 'player-' || (i % 20000), 1,
       CAST((500 + (i * 37) % 20000) / 100.0 AS numeric(12, 2)),
       CASE WHEN i % 10 = 0 THEN 'DECLINED' ELSE 'SETTLED' END,
       now() - interval '1 day', now() - interval '1 day', now()
FROM generate_series(1, :bets) AS i;

INSERT INTO callbacks (id, request_id, brand_id, bet_id, destination, payload, origin, state,
                       attempts, last_status, created_at, finished_at)
SELECT 2 * i - 1 + k, 'req-' || (2 * i - 1 + k), :brand_id, 'bet-' || lpad(CAST(i AS text), 8, '0'),
       CASE WHEN k = 0 THEN '/bet/place' WHEN i % 10 = 0 THEN '/bet/decline'
            ELSE '/bet/settle' END,
       CASE WHEN k = 0 THEN jsonb_build_object('bet_stake', CAST(stake AS text))
            WHEN i % 10 = 0 THEN jsonb_build_object('reason', 'odds changed')
            ELSE jsonb_build_object('settle_amount', CAST(CASE WHEN i % 3 = 0 THEN 0.00
                 ELSE round(stake * (1 + (i % 7) * 0.25), 2) END AS text),
                 'settle_type', 1) END,
       'producer', 'delivered', 1, 204,
       now() - interval '1 day' + (k + 1) * interval '1 second',
       now() - interval '1 day' + (k + 1) * interval '1 second'
FROM generate_series(1, :bets) AS i,
     LATERAL (SELECT CAST((500 + (i * 37) % 20000) / 100.0 AS numeric(12, 2)) AS stake) s,
     (VALUES (0), (1)) AS kk(k);

SELECT setval('callbacks_id_seq', 2 * :bets);
"""

# The ledger: one row per money movement; damaged bets (:step apart, :damaged of them) have
# their place row dropped, doubled or short by turns; bets past :complete lack their place row;
# :unknown one-row bets of no callback of ours follow.
_LEDGER = """
WITH moves AS (
    SELECT c.bet_id, c.request_id, b.player_id, c.created_at AS at, c.id,
           CASE c.destination WHEN '/bet/place' THEN -b.stake WHEN '/bet/decline' THEN b.stake
                ELSE CAST(c.payload ->> 'settle_amount' AS numeric) END AS amount,
           c.destination = '/bet/place' AS place,
           CAST(substr(c.bet_id, 5) AS integer) AS n
    FROM callbacks c JOIN bets b ON b.bet_id = c.bet_id
), judged AS (
    SELECT *, CASE WHEN place AND n %% %(step)s = 0 AND n / %(step)s <= %(damaged)s
                   THEN (n / %(step)s) %% 3 END AS damage
    FROM moves
)
SELECT bet_id, amount, request_id, player_id, at, currency FROM (
    SELECT bet_id, CASE WHEN damage = 2 THEN amount + 1 ELSE amount END AS amount, request_id,
           player_id, at, 'EUR' AS currency, id
    FROM judged, generate_series(1, CASE WHEN damage = 1 THEN 2 ELSE 1 END)
    WHERE damage IS DISTINCT FROM 0 AND NOT (place AND n > %(complete)s)
    UNION ALL
    SELECT 'stranger-' || j, -10.00, 'theirs-' || j, 'player-x', now(), 'EUR', 1e12 + j
    FROM generate_series(1, %(unknown)s) AS j
) rows
ORDER BY id
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--callbacks", type=int, default=1_000_000,
                        help="delivered callbacks seeded (rounded down to even)")
    parser.add_argument("--ledger-rows", type=int,
                        help="ledger rows before damage (default: one per callback)")
    parser.add_argument("--damage", type=int, default=1_000, help="bets damaged in the ledger")
    parser.add_argument("--no-request-id", action="store_true",
                        help="a ledger without request_id (net amounts compared)")
    parser.add_argument("--parquet", action="store_true", help="write the ledger as Parquet")
    parser.add_argument("--quick", action="store_true", help="100,000 callbacks, 100 damaged")
    parser.add_argument("--profile", metavar="OUT",
                        help="run the child under cProfile and write its stats to OUT")
    parser.add_argument("--timeout-s", type=float, default=900,
                        help="kill the reconciliation after this long")
    parser.add_argument("--child", nargs=3, metavar=("LEDGER", "CSV", "PROFILE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    if args.quick:
        args.callbacks, args.damage = 100_000, 100
    from bench.servers import sigterm_exits
    sigterm_exits()
    bets = args.callbacks // 2
    callbacks = 2 * bets
    rows = callbacks if args.ledger_rows is None else args.ledger_rows
    unknown, short = max(0, rows - callbacks), max(0, callbacks - rows)
    damaged = min(args.damage, (bets - short) // 2)
    if short > bets // 2 or bets < 2:
        parser.error("--ledger-rows may be at most a quarter below --callbacks")
    step = max(1, (bets - short) // max(1, damaged))
    return bench(args, bets, damaged, step, unknown, short)


def bench(args, bets: int, damaged: int, step: int, unknown: int, short: int) -> int:
    from databases import scratch_database

    from delivery import brands, database

    with scratch_database("callbacks_bench_reconcile") as url, \
            tempfile.TemporaryDirectory(prefix="bench-reconcile-") as folder:
        engine = database.make_engine(url)
        try:
            brands.add_brand(engine, BRAND, "http://127.0.0.1:9")
            brands.set_brand_currency(engine, BRAND, CURRENCY)
            brand_id = brands.brand_named(engine, BRAND).id
            began = time.perf_counter()
            with engine.begin() as conn:
                for statement in _SEED.split(";"):
                    if statement.strip():
                        conn.execute(sa.text(statement), dict(brand_id=brand_id, bets=bets))
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE bets, callbacks"))
            print(f"seeded {bets:,} bets, {2 * bets:,} delivered callbacks in "
                  f"{time.perf_counter() - began:.1f} s", flush=True)
            began = time.perf_counter()
            ledger = write_ledger(engine, Path(folder), step=step, damaged=damaged,
                                  complete=bets - short, unknown=unknown,
                                  request_id=not args.no_request_id, parquet=args.parquet)
        finally:
            engine.dispose()
        ledger_rows = 2 * bets - short + unknown + sum(
            1 if j % 3 == 1 else -1 if j % 3 == 0 else 0 for j in range(1, damaged + 1))
        print(f"wrote the ledger {ledger.name}: {ledger_rows:,} rows, "
              f"{ledger.stat().st_size / MB:,.0f} MiB, in {time.perf_counter() - began:.1f} s "
              f"({'no request_id' if args.no_request_id else 'with request_id'}; "
              f"{damaged:,} bets damaged, {short:,} place rows left out, {unknown:,} rows of "
              f"bets we never sent)", flush=True)
        expected = expected_verdicts(bets, damaged, step, short, unknown)
        out = Path(folder) / "report.csv"
        measured = run_child(url, ledger, out, args.profile, args.timeout_s)
        if measured is None:
            return 1
        print_figures(measured, bets, ledger_rows, expected, out)
    return 0


def write_ledger(engine: sa.Engine, folder: Path, *, step: int, damaged: int, complete: int,
                 unknown: int, request_id: bool, parquet: bool) -> Path:
    """The ledger CSV (or Parquet) written by PostgreSQL's COPY."""
    select = _LEDGER % dict(step=step, damaged=damaged, complete=complete, unknown=unknown)
    if not request_id:
        select = f"SELECT bet_id, amount, player_id, at, currency FROM ({select}) l"
    target = folder / "ledger.csv"
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, target.open("wb") as out:
            cursor.copy_expert(f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)", out)
    finally:
        raw.close()
    if not parquet:
        return target
    import duckdb
    parquet_file = folder / "ledger.parquet"
    with duckdb.connect() as db:
        db.execute(f"COPY (SELECT * FROM read_csv('{target}', all_varchar = true)) "
                   f"TO '{parquet_file}' (FORMAT parquet)")
    target.unlink()
    return parquet_file


def expected_verdicts(bets: int, damaged: int, step: int, short: int,
                      unknown: int) -> dict[str, str]:
    """The verdict every bet that should not match earns."""
    found = {}
    for j in range(1, damaged + 1):
        found[f"bet-{j * step:08d}"] = DAMAGES[j % 3][1]
    for n in range(bets - short + 1, bets + 1):
        found[f"bet-{n:08d}"] = "missing_on_platform"
    for j in range(1, unknown + 1):
        found[f"stranger-{j}"] = "unknown_to_us"
    return found


def run_child(url: str, ledger: Path, out: Path, profile: str | None,
              timeout_s: float) -> dict | None:
    """Run the reconciliation in a child; its figures, with wall time and peak RSS."""
    from bench.servers import process_tree, stop

    load_before = os.getloadavg()
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(ledger), str(out),
               profile or ""]
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(ROOT))
    began, launched = time.perf_counter(), time.time()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss = 0
            for p in process_tree(proc):
                try:
                    rss += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            peak[0] = max(peak[0], rss)
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        stop(proc)
        print(f"the reconciliation did not end within {timeout_s:g} s")
        return None
    finally:
        done.set()
        sampler.join()
    wall = time.perf_counter() - began
    if proc.returncode not in (0, 1):
        print(f"the reconciliation failed (exit {proc.returncode}):\n{output}")
        return None
    figures = json.loads(output.strip().splitlines()[-1])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures.update(wall=wall, started=figures["began"] - launched, peak_rss=peak[0],
                   maxrss=usage.ru_maxrss * 1024, cpu=usage.ru_utime + usage.ru_stime,
                   load=(load_before, os.getloadavg()), exit=proc.returncode)
    return figures


def print_figures(f: dict, bets: int, ledger_rows: int, expected: dict[str, str],
                  out: Path) -> None:
    import duckdb

    (l1, l5, _), (e1, e5, _) = f["load"]
    print(f"\nreconcile: {ledger_rows:,} ledger rows against {f['callbacks']:,} callbacks "
          f"({f['bets']:,} bets)")
    print(f"  wall {f['wall']:.1f} s (the reconciliation itself {f['seconds']:.1f} s, starting "
          f"Python, imports and the brand {f['started']:.1f} s); exit {f['exit']}")
    print(f"  CPU {f['cpu']:.1f} s (user + system, DuckDB's threads included)")
    print(f"  peak RSS {f['peak_rss'] / MB:,.0f} MiB (sampled), {f['maxrss'] / MB:,.0f} MiB "
          f"(ru_maxrss)")
    print(f"  load average {l1:.2f} / {l5:.2f} before, {e1:.2f} / {e5:.2f} after (1 / 5 min)")
    print("  phases:")
    for text, seconds in f["phases"]:
        print(f"    {seconds:7.2f} s  {text}")
    print("  verdicts: " + ", ".join(f"{v} {n:,}" for v, n in f["verdicts"].items()))
    with duckdb.connect() as db:
        total, = db.execute(f"SELECT count(*) FROM read_csv('{out}', all_varchar = true)"
                            ).fetchone()
        found = dict(db.execute(f"SELECT bet_id, verdict FROM read_csv('{out}', all_varchar = "
                                "true) WHERE verdict <> 'match'").fetchall())
    wrong = {b for b in expected.keys() | found.keys() if expected.get(b) != found.get(b)}
    want = Counter(expected.values())
    print(f"  per-bet CSV: {total:,} bets; expected {len(expected):,} not to match "
          f"({', '.join(f'{v} {n:,}' for v, n in sorted(want.items()))}); "
          + ("exactly those found" if not wrong else
             f"{len(wrong):,} differ, e.g. " + ", ".join(
                 f"{b}: expected {expected.get(b, 'match')}, found {found.get(b, 'match')}"
                 for b in sorted(wrong)[:5])))


def child(ledger: str, out: str, profile: str) -> int:
    """What ``callbacks reconcile --brand B LEDGER --csv OUT`` does, its phases timed; one
    JSON line of figures on stdout."""
    from archive import reader
    from delivery import brands, database, migrate, settings
    from reconcile import run

    phases: list[tuple[str, float]] = []
    last = [time.perf_counter(), "starting"]

    def progress(fraction: float, text: str) -> None:
        """Each step's seconds, under the words that announced it."""
        now = time.perf_counter()
        if not text.startswith("compared "):
            phases.append((last[1], now - last[0]))
            last[:] = [now, text]

    conf = settings.from_env()
    engine = database.make_engine(database.database_url(conf), pool_size=2)
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
    try:
        migrate.require_current(engine)
        brand = brands.brand_named(engine, BRAND)
        scope = run.Scope(brand.id, brand.name, brands.currency_of(engine, brand.id))
        with engine.connect() as conn:
            held = reader.held_partitions(conn)
        archive = reader.open_archive(conf.archive_dir, held)
        began = time.time()
        last[0] = time.perf_counter()
        if profiler:
            profiler.enable()
        report = run.reconcile(engine, scope, ledger, archive=archive, csv_out=out,
                               progress=progress)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
    finally:
        engine.dispose()
    verdicts = {r["verdict"]: r["bets"] for r in report.summary.rows()}
    print(json.dumps(dict(seconds=report.seconds, began=began, phases=phases[1:],
                          callbacks=report.callbacks, bets=report.summary.bets,
                          verdicts=verdicts)))
    return 0 if report.all_match else 1


if __name__ == "__main__":
    sys.exit(main())
