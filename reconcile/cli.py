"""``callbacks reconcile``: compare an operator's ledger with what we delivered to the brand.

Exit status 0 when every bet matches, 1 when any does not, 2 on bad input (one line on stderr
naming the column, line or value; nothing written).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from delivery import audit, brands, database, migrate, settings, times
from delivery.errors import InvalidInput

from .verdicts import MEANINGS, Verdict

#: Most non-matching bets printed (``--csv`` and ``--json`` have them all).
SHOWN = 50


def register(subparsers) -> None:
    """Add the ``reconcile`` subcommand."""
    cmd = subparsers.add_parser(
        "reconcile", help="compare an operator's ledger with what we delivered, bet by bet",
        description="Read the operator's ledger of player balance movements (CSV or Parquet: "
                    "bet_id, signed amount, and optionally request_id, player_id, at, "
                    "currency) and compare it, bet by bet, with the movements the brand's "
                    "callbacks asked for (archive included). Exit status 0 when every bet "
                    "matches, 1 when any does not, 2 on bad input.")
    cmd.add_argument("--brand", required=True, help="the brand whose ledger it is")
    cmd.add_argument("ledger", metavar="LEDGER", type=Path,
                     help="the ledger file (.csv or .parquet)")
    cmd.add_argument("--since", metavar="TIME",
                     help="only bets created at or after TIME (ISO 8601, UTC unless it says "
                          "otherwise, or an age such as 7d)")
    cmd.add_argument("--until", metavar="TIME", help="only bets created before TIME")
    cmd.add_argument("--exported-at", metavar="TIME",
                     help="when the ledger was exported: a callback delivered after it is not "
                          "expected in it (default: every delivered callback must be)")
    cmd.add_argument("--column", metavar="OURS=THEIRS", action="append", default=[],
                     help="read a ledger column under another name, e.g. amount=delta "
                          "(repeatable)")
    cmd.add_argument("--csv", metavar="OUT", type=Path,
                     help="write every bet's verdict to this CSV file")
    cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    cmd.add_argument("--no-record", dest="record", action="store_false",
                     help="do not keep this reconciliation in the brand's history (by default "
                          "it is kept, with the OS user who ran it; the ledger file never is)")
    cmd.set_defaults(func=cmd_reconcile)


def cmd_reconcile(args) -> int:
    from archive import reader

    from . import ledger, run, store

    columns = ledger.parse_columns(args.column)
    since = times.parse_time(args.since, "--since") if args.since else None
    until = times.parse_time(args.until, "--until") if args.until else None
    exported_at = (times.parse_time(args.exported_at, "--exported-at") if args.exported_at
                   else None)
    if since and until and until <= since:
        raise InvalidInput(f"--until {args.until!r} is not after --since {args.since!r}",
                           field="until", value=args.until)
    conf = settings.from_env()
    engine = database.make_engine(database.database_url(conf), pool_size=2,
                                  connect_timeout_s=database.CONNECT_TIMEOUT_S)
    try:
        migrate.require_current(engine)
        brand = brands.brand_named(engine, args.brand)
        scope = run.Scope(brand.id, brand.name, brands.currency_of(engine, brand.id))
        with engine.connect() as conn:
            held = reader.held_partitions(conn)
        archive = reader.open_archive(conf.archive_dir, held)
        report = run.reconcile(engine, scope, args.ledger, columns=columns, since=since,
                               until=until, exported_at=exported_at, archive=archive,
                               csv_out=args.csv)
        if args.record:
            store.save(engine, scope, report, audit.shell_actor(engine).name, source="cli")
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        _print(report, args)
    return 0 if report.all_match else 1


def _print(report, args) -> None:
    info = report.ledger
    print(f"brand {report.brand}: ledger {info.name} ({info.rows:,} rows) against "
          f"{report.callbacks:,} callbacks ({report.archived_callbacks:,} from the archive)")
    print(f"compared: {report.method()}")
    if report.test_rows:
        print(f"left out: {report.test_rows:,} ledger rows of Integration Test bets")
    print()
    rows = report.summary.rows()
    header = ("verdict", "currency", "bets", "expected", "booked", "difference")
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) if rows else len(h) for h in header]
    print("  ".join(h.ljust(w) if i < 2 else h.rjust(w)
                    for i, (h, w) in enumerate(zip(header, widths, strict=True))))
    for row in rows:
        print("  ".join(str(row[h]).ljust(w) if i < 2 else str(row[h]).rjust(w)
                        for i, (h, w) in enumerate(zip(header, widths, strict=True))))
    if not rows:
        print("(no bets: the ledger and our callbacks are both empty for this brand)")
    print()
    if report.all_match:
        print(f"every bet matches ({report.summary.bets:,} bets)")
    else:
        not_matching = report.summary.bets - report.summary.count(Verdict.MATCH)
        print(f"{not_matching:,} of {report.summary.bets:,} bets do not match:")
        for verdict in sorted({r.verdict for r in report.mismatches}):
            print(f"  {verdict}: {MEANINGS[verdict]}")
        print()
        for result in report.mismatches[:SHOWN]:
            row = report.bet_row(result)
            print(f"{row['bet_id']}  {row['verdict']}  {row['currency']} expected "
                  f"{row['expected']}, booked {row['booked']}, difference {row['difference']}")
            print(f"    {row['detail']}")
            if row["attempt_ids"] and result.verdict == Verdict.MISSING_ON_PLATFORM:
                print(f"    Request IDs: {row['attempt_ids']}")
        more = not_matching - min(SHOWN, len(report.mismatches))
        if more > 0:
            hint = "" if args.csv else " (--csv OUT writes every bet)"
            print(f"... and {more:,} more{hint}")
    if args.csv:
        print(f"wrote {report.summary.bets:,} bets to {args.csv}")
    sys.stdout.flush()
