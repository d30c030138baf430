"""``callbacks brand test-url add|list|remove`` — URLs besides a brand's own that the dashboard's
Integration Test page may run the brand's battery against (a staging platform, say). The page
offers these and the brand's URL in a list; nobody types a URL there."""
from __future__ import annotations

import json

from battery import store as battery_store
from delivery import audit, database, migrate, settings, urls


def register(brand_actions) -> None:
    """Add ``test-url`` to the actions of ``callbacks brand``."""
    test_url = brand_actions.add_parser(
        "test-url", help="URLs the Integration Test page may test a brand's battery against",
        description="The dashboard's Integration Test runs only against the brand's URL or "
                    "the URLs registered here; it never takes a typed one.")
    sub = test_url.add_subparsers(dest="test_url_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="offer URL on the brand's Integration Test page")
    add.add_argument("brand")
    add.add_argument("url", help="e.g. https://staging.platform.example/callbacks (no "
                     "user:password@: the brand's credentials go with its own URL only)")
    audit.add_options(add)
    add.set_defaults(func=cmd_add)
    lst = sub.add_parser("list", help="registered test URLs (of one brand)")
    lst.add_argument("brand", nargs="?")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)
    remove = sub.add_parser("remove", help="stop offering URL")
    remove.add_argument("brand")
    remove.add_argument("url")
    audit.add_options(remove)
    remove.set_defaults(func=cmd_remove)


def _engine():
    engine = database.make_engine(database.database_url(settings.from_env()), pool_size=1)
    migrate.require_current(engine)
    return engine


def cmd_add(args) -> int:
    engine = _engine()
    try:
        added = battery_store.add_test_url(
            engine, args.brand, args.url, actor=audit.shell_actor(engine, args.actor),
            reason=args.reason)
    finally:
        engine.dispose()
    print(f"brand {args.brand}: {urls.parse(args.url).url} "
          + ("can be tested from the Integration Test page" if added
             else "was registered already"))
    return 0


def cmd_list(args) -> int:
    engine = _engine()
    try:
        rows = battery_store.all_test_urls(engine, args.brand)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print("no test URLs registered; the Integration Test page offers each brand's own URL")
    for row in rows:
        print(f"{row['brand']:<20} {row['url']}  (added {row['added_at']:%Y-%m-%d %H:%M} UTC)")
    return 0


def cmd_remove(args) -> int:
    engine = _engine()
    try:
        battery_store.remove_test_url(
            engine, args.brand, args.url, actor=audit.shell_actor(engine, args.actor),
            reason=args.reason)
    finally:
        engine.dispose()
    print(f"brand {args.brand}: {urls.redact(args.url.strip())} is no longer offered for "
          "testing")
    return 0
