"""``callbacks archive``: move attempt history past the retention into the Parquet archive.

The main ``callbacks`` command calls :func:`register` with its subparsers.
"""
from __future__ import annotations

import json
from pathlib import Path

from delivery import database, migrate, settings

from .export import archive, parse_age


def register(subparsers) -> None:
    """Add the ``archive`` subcommand."""
    conf = settings.Settings()
    cmd = subparsers.add_parser(
        "archive", help="move whole months of history past the retention to Parquet files",
        description="Export every monthly attempt partition whose month ended before the "
                    "cutoff (with the finished callbacks and bets only it references) to "
                    "Parquet, check the files, then drop the partition. Safe to rerun after a "
                    "crash; the dashboard and `callbacks history` read the archive.")
    cmd.add_argument("--older-than", metavar="AGE",
                     help="how old history must be, e.g. 90d, 12w, 2160h (default: "
                          f"CALLBACKS_RETENTION_DAYS, {conf.retention_days:g} days)")
    cmd.add_argument("--dir", metavar="PATH", type=Path,
                     help="archive folder (default: CALLBACKS_ARCHIVE_DIR, "
                          "<CALLBACKS_HOME>/archive)")
    cmd.add_argument("--dry-run", action="store_true",
                     help="say what would be archived; write and delete nothing")
    cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    cmd.set_defaults(func=cmd_archive)


def cmd_archive(args) -> int:
    conf = settings.from_env()
    older_than = parse_age(args.older_than or f"{conf.retention_days:g}d")
    engine = database.make_engine(database.database_url(conf), pool_size=2,
                                  connect_timeout_s=database.CONNECT_TIMEOUT_S)
    try:
        migrate.require_current(engine)
        report = archive(engine, older_than=older_than, folder=args.dir or conf.archive_dir,
                         dry_run=args.dry_run)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
        return 0
    verb = "would archive" if args.dry_run else "archived"
    print(f"cutoff {report.cutoff:%Y-%m-%d %H:%M} UTC; archive {report.folder}")
    for part in report.partitions:
        counts = ", ".join(f"{n:,} {t}" for t, n in part.rows.items())
        print(f"  {part.partition}: {part.action}" + (f" ({counts})" if counts else "")
              + (f" — {part.note}" if part.note else ""))
    if not report.partitions:
        print("  nothing to archive: no month of attempts ended before the cutoff")
    if report.kept:
        print(f"  kept in PostgreSQL: {', '.join(report.kept)}")
    done = sum(1 for p in report.partitions if p.action in ("archived", "would archive"))
    print(f"{verb} {done} partition(s)")
    return 0
