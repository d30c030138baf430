"""``callbacks audit`` — every recorded change, newest first: configuration changes (brands,
users, test URLs, alert URLs and rules, API tokens) and the integration manager's queue actions
(retry, recover, cancel, re-route), one listing."""
from __future__ import annotations

import json

from actions.cli import parse_since
from delivery import audit, brands, changes, database, migrate, settings
from delivery.errors import InvalidInput

#: Entries listed unless --limit says otherwise.
DEFAULT_LIMIT = 50
#: Most entries one listing prints.
MAX_LIMIT = 10_000


def register(subparsers) -> None:
    """Add ``audit`` to the root parser."""
    listing = subparsers.add_parser(
        "audit", help="the audit trail: configuration changes and queue actions, newest first",
        description="Who changed what and when: brands, back-office users, test URLs, alert "
                    "URLs and rules, API tokens, and the queue actions (retry, recover, cancel, "
                    "set-url). Secrets are never recorded: signing secrets, passwords and URL "
                    "passwords show as ***.")
    listing.add_argument("--since", metavar="WHEN",
                         help="only changes since WHEN: ISO 8601 (2026-11-29 or "
                              "2026-11-29T08:00, UTC unless an offset is given) or an age "
                              "(30m, 24h, 7d)")
    listing.add_argument("--brand", metavar="NAME", help="only this brand's changes and actions")
    listing.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                         help=f"at most N entries (default: {DEFAULT_LIMIT})")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_audit)


def cmd_audit(args) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise InvalidInput(f"--limit must be 1 to {MAX_LIMIT}", field="limit", value=args.limit)
    since = parse_since(args.since) if args.since is not None else None
    engine = database.make_engine(database.database_url(settings.from_env()), pool_size=1)
    try:
        migrate.require_current(engine)
        brand_id = brands.brand_named(engine, args.brand).id if args.brand else None
        entries = audit.recent(engine, since=since, brand_id=brand_id, limit=args.limit)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(entries, indent=2, default=str))
        return 0
    if not entries:
        print("nothing recorded" + (f" since {since:%Y-%m-%d %H:%M:%S %Z}" if since else "")
              + (f" for brand {args.brand}" if args.brand else ""))
        return 0
    for e in entries:
        who = e["actor"] + (f" ({e['os_user']})" if e["os_user"] and e["os_user"] != e["actor"]
                            else "")
        line = (f"{e['at']:%Y-%m-%d %H:%M:%S}  {e['kind']:<17} {e['brand'] or '-':<14} "
                f"{who:<22} {e['subject']}: {changes.describe(e)}")
        print(line + (f"  — {e['reason']}" if e["reason"] else ""))
    return 0
