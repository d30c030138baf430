"""How fast the back-office's queries are over a big attempt history.

    .venv/bin/python bench/bench_dashboard.py [--attempts 1000000] [--days 30] [--keep|--reuse]
                                              [--database NAME]

Creates the database ``callbacks_bench_dashboard`` on PostgreSQL at 127.0.0.1:5432 (override
with BENCH_ADMIN_URL), fills it with ``callbacks seed-history``'s generator, then runs every query
the pages run — as the read-only role, with the parameters the pages build — and prints the
median and worst of several warm runs. Drops the database it created at the end unless --keep;
a database queried with --reuse is always kept. Prints figures; asserts nothing.

Callback history is timed as the page reads it: one keyset page, newest callback first, then
grouped by bet within the page (dashboard.shaping.group_by_bet).
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
logging.getLogger("streamlit").setLevel(logging.ERROR)  # no Streamlit runtime here, on purpose

from dashboard import auth, connection, queries  # noqa: E402
from dashboard.filters import EPOCH, HistoryFilter, parse_codes, parse_group_ids  # noqa: E402
from dashboard.shaping import chart_bucket  # noqa: E402
from dashboard.tables import HISTORY_EXPORT  # noqa: E402
from delivery import database, migrate  # noqa: E402
from demo import seeding  # noqa: E402

NAME = "callbacks_bench_dashboard"
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL",
                           "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
RUNS = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--keep", action="store_true",
                        help="keep the database afterwards (always, with --reuse)")
    parser.add_argument("--database", default=NAME,
                        help="name of the bench database (default: %(default)s)")
    parser.add_argument("--reuse", action="store_true",
                        help="query an existing bench database without seeding it again")
    args = parser.parse_args()

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    url = sa.make_url(ADMIN_URL).set(database=args.database).render_as_string(
        hide_password=False)
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{args.database}"'))
    owner = database.make_engine(url)
    try:
        if not args.reuse:
            migrate.upgrade(owner, broker_tables=False)
            print(f"seed-history --attempts {args.attempts:,} --days {args.days:g}", flush=True)
            report = seeding.seed_history(owner, args.attempts, days=args.days,
                                          progress=lambda t: print(t, flush=True))
            print(f"  wrote {report.attempts:,} attempts, {report.callbacks:,} callbacks, "
                  f"{report.bets:,} bets in {report.load_s:.1f} s "
                  f"({report.attempts_per_s:,.0f} attempts/s); rollups {report.rollup_s:.1f} s")
            began = time.perf_counter()
            with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
            print(f"  VACUUM ANALYZE {time.perf_counter() - began:.1f} s")
        _report_size(owner)
        os.environ["DATABASE_URL"] = url  # the owner: the key that signs the scope
        os.environ["DASHBOARD_DATABASE_URL"] = connection.reader_url(url)
        with auth.seeing(None):  # as an admin of every brand (row-level security applies)
            run_queries(owner)
    finally:
        owner.dispose()
        if not (args.keep or args.reuse):
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
        admin.dispose()
    return 0


def _report_size(owner: sa.Engine) -> None:
    with owner.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM attempts), (SELECT count(*) FROM callbacks), "
            "(SELECT count(*) FROM bets), pg_size_pretty(pg_database_size(current_database()))"
        )).one()
    print(f"database: {row[0]:,} attempts, {row[1]:,} callbacks, {row[2]:,} bets, {row[3]}")


def timed(label: str, run, runs: int = RUNS) -> None:
    """Cold first run, then the median and worst of ``runs`` warm ones."""
    began = time.perf_counter()
    result = run()
    cold_ms = (time.perf_counter() - began) * 1000
    warm = []
    for _ in range(runs):
        began = time.perf_counter()
        run()
        warm.append((time.perf_counter() - began) * 1000)
    rows = len(result) if hasattr(result, "__len__") else result
    print(f"  {label:<58} {cold_ms:8.1f} {statistics.median(warm):8.1f} {max(warm):8.1f}"
          f"   {rows!s:>7}")


def run_queries(owner: sa.Engine) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    end = now + timedelta(minutes=1)
    with owner.connect() as conn:
        brand_id, brand = conn.execute(sa.text("SELECT id, name FROM brands ORDER BY id")).first()
        bets = list(conn.execute(sa.text(
            "SELECT bet_id FROM bets WHERE created_at > now() - interval '7 days' "
            "ORDER BY md5(bet_id) LIMIT 200")).scalars())
        retried = list(conn.execute(sa.text(
            "SELECT group_id FROM attempts WHERE attempt_no > 3 AND started_at > now() - "
            "interval '3 days' LIMIT 5")).scalars())
        attempt_id = str(conn.execute(sa.text(
            "SELECT id FROM attempts WHERE started_at > now() - interval '1 day' LIMIT 1"))
            .scalar_one())
        player = conn.execute(sa.text("SELECT player_id FROM bets WHERE bet_id = :b"),
                              {"b": bets[0]}).scalar_one()
    rng = random.Random(1)

    def history(**kw):
        base = dict(created_from=now - timedelta(hours=24), created_to=end)
        base.update(kw)
        return HistoryFilter(**base)

    def page_20():
        filters, cursor = history(), None
        for _ in range(20):
            found = queries.fetch_history(filters, cursor)
            cursor = found.next_cursor
        return found.rows

    print(f"{'query (ms)':<60} {'cold':>8} {'median':>8} {'worst':>8}   {'rows':>7}")
    print("Callback history")
    first = lambda filters: queries.fetch_history(filters, None).rows  # noqa: E731
    timed("first page, last 24 h, all brands", lambda: first(history()))
    timed(f"first page, last 24 h, brand {brand}", lambda: first(history(brand_id=brand_id)))
    timed("20th page (keyset), last 24 h", page_20, runs=2)
    timed("first page, any time", lambda: first(history(created_from=EPOCH)))
    timed("5 pasted group ids, any time", lambda: first(history(
        created_from=EPOCH, group_ids=tuple(parse_group_ids(" ".join(retried or bets[:5]))))))
    timed("code 5xx, last 7 days", lambda: first(history(
        created_from=now - timedelta(days=7), codes=parse_codes("5xx"))))
    timed("outcome exhausted, last 30 days", lambda: first(history(
        created_from=now - timedelta(days=30), outcomes=("exhausted",))))
    timed("cash-out accepted + 4xx, last 30 days (rare)", lambda: first(history(
        created_from=now - timedelta(days=30), codes=parse_codes("4xx"),
        destinations=("/bet/cash-out-orders/accepted",))))
    timed("expanded attempt by Request ID",
          lambda: [queries.attempt.__wrapped__(attempt_id, None)])
    timed("CSV export, last hour (all rows)", lambda: queries.history_csv(
        history(created_from=now - timedelta(hours=1)), HISTORY_EXPORT, "UTC").count(b"\n"),
        runs=2)

    print("Bets")
    window = (now - timedelta(days=7), end)
    timed("first page, last 7 days",
          lambda: queries.fetch_bets(None, *window, (), None, (), None).rows)
    timed("status PLACE_ERROR, last 7 days",
          lambda: queries.fetch_bets(None, *window, (), None, ("PLACE_ERROR",), None).rows)
    timed("one player", lambda: queries.fetch_bets(None, *window, (), player, (), None).rows)
    timed("one bet id", lambda: queries.fetch_bets(None, *window, (rng.choice(bets),), None, (),
                                                   None).rows)

    print("Callback sender")
    timed("summary + groups, next due first (500)",
          lambda: queries.fetch_sender(None, ())[1])
    timed("summary + groups, 5 pasted ids", lambda: queries.fetch_sender(None, tuple(bets[:5]))[1])

    print("Investigate")
    timed("bet + callbacks + attempts", lambda: queries.fetch_investigation(
        rng.choice(retried or bets), None)["attempts"])

    print("Breakdowns (counts + latency)")
    origin = datetime(2000, 1, 1, tzinfo=UTC)
    for label, span in (("last hour (1 min bars, live rows)", timedelta(hours=1)),
                        ("last 24 h (hourly, rollup)", timedelta(hours=24)),
                        ("last 7 days (6 h bars, rollup)", timedelta(days=7)),
                        ("last 30 days (daily, rollup)", timedelta(days=30))):
        timed(label, lambda span=span: len(queries.fetch_breakdown(
            None, now - span, end, chart_bucket(span), origin, False)[0]))
    timed(f"last 30 days, brand {brand} (daily, rollup)", lambda: len(queries.fetch_breakdown(
        brand_id, now - timedelta(days=30), end, timedelta(days=1), origin, False)[0]))
    timed("last 30 days WITHOUT the rollup (plain query)", lambda: len(queries.fetch_breakdown(
        None, now - timedelta(days=30), end, timedelta(days=1), origin, False,
        use_rollup=False)[0]), runs=1)


if __name__ == "__main__":
    sys.exit(main())
