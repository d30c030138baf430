"""What verifying the back-office's signed brand scope costs a page query (migration 022).

    .venv/bin/python bench/bench_scope.py --before DB --after DB [--runs 400]

Runs one small query over three row-level-secured tables (a bet, its callbacks, their attempts)
as callbacks_reader, alternating between two copies of one seeded history: ``--before``, a
database at a schema before migration 022 (its policies read ``callbacks.brands``), and
``--after``, one upgraded past it (they verify ``callbacks.scope``). Make them with
``bench_dashboard.py --keep`` run from the older code, ``CREATE DATABASE after TEMPLATE
before`` and ``callbacks db upgrade``. Prints medians and 90th percentiles; asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard import connection  # noqa: E402
from delivery import database, keys  # noqa: E402

SERVER = "postgresql+psycopg2://{user}@127.0.0.1:5432/{db}"
QUERY = sa.text(
    "SELECT b.bet_id, count(a.id) FROM bets b "
    "JOIN callbacks c ON c.bet_id = b.bet_id AND c.brand_id = b.brand_id "
    "LEFT JOIN attempts a ON a.callback_id = c.id WHERE b.bet_id = :b GROUP BY 1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="database before migration 022")
    parser.add_argument("--after", required=True, help="the same history past migration 022")
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    before = sa.create_engine(SERVER.format(user="callbacks_reader", db=args.before))
    after = sa.create_engine(SERVER.format(user="callbacks_reader", db=args.after))
    owner = database.make_engine(SERVER.format(user="postgres", db=args.after))
    key = keys.cached_key(owner, keys.SCOPE)
    with owner.connect() as conn:
        bet = conn.execute(sa.text("SELECT bet_id FROM bets LIMIT 1")).scalar_one()

    def claimed() -> float:
        with before.begin() as conn:
            conn.exec_driver_sql("SELECT set_config('callbacks.brands', '*', true)")
            return _timed(conn, bet)

    def signed() -> float:
        with after.begin() as conn:
            pid = conn.connection.dbapi_connection.get_backend_pid()
            conn.exec_driver_sql("SELECT set_config(%s, %s, true)", (
                connection.SCOPE_SETTING,
                connection.scope_statement(key, "*", pid, time.time())))
            return _timed(conn, bet)

    took = {"before (callbacks.brands)": [], "after (signed scope)": []}
    for i in range(args.runs):  # alternated, so both see the same machine
        pair = [("before (callbacks.brands)", claimed), ("after (signed scope)", signed)]
        for name, run in pair if i % 2 else pair[::-1]:
            took[name].append(run())
    for name, times in took.items():
        print(f"{name:<28} median {statistics.median(times) * 1000:.2f} ms   "
              f"p90 {statistics.quantiles(times, n=10)[-1] * 1000:.2f} ms")
    for engine in (before, after, owner):
        engine.dispose()
    return 0


def _timed(conn: sa.Connection, bet: str) -> float:
    began = time.perf_counter()
    if not conn.execute(QUERY, {"b": bet}).all():
        raise SystemExit("the query found nothing: are both databases the same seeded history?")
    return time.perf_counter() - began


if __name__ == "__main__":
    sys.exit(main())
