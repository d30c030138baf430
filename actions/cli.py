"""``callbacks retry|recover|cancel|actions`` and ``callbacks brand set-url``: the integration
manager's actions on the command line (the work is :mod:`actions.store`).

Every action needs ``--reason``; who acts is the OS user unless ``--as NAME`` (a back-office
user, from an administrator's shell only: :func:`delivery.audit.shell_actor`) says otherwise.
``--dry-run`` prints exactly the callbacks that would change and changes nothing. ``recover``,
and ``cancel`` of a bet's head with callbacks behind it, print the count first and ask before
doing it (``--yes`` answers for you).
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

import sqlalchemy as sa

import contract
from delivery import audit, database, migrate, settings, times

from . import plans, store
from .errors import ActionRefused


def _engine() -> sa.Engine:
    engine = database.make_engine(database.database_url(settings.from_env()))
    migrate.require_current(engine)
    return engine


def _actor(args, engine: sa.Engine) -> store.Actor:
    """The OS user, or the back-office user of ``--as`` from an administrator's shell (the OS
    user kept beside it)."""
    who = audit.shell_actor(engine, args.actor)
    return store.Actor(who.name, args.reason, "cli", os_user=who.os_user)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``--since``: an ISO 8601 time (UTC unless it says otherwise) or an age such as ``2h``,
    ``30m``, ``1d``; not in the future."""
    return times.parse_time(text, "--since", now, future=False)


# --- output ---------------------------------------------------------------------------------

def _describe(result: store.Result) -> str:
    changes = result.changes
    bets = len(result.bets)
    what = {"retry": "send again", "recover": "send again", "cancel": "cancel",
            "set_url": "re-route"}[result.kind]
    if result.dry_run:
        return (f"dry run — nothing was changed. {result.kind} would change "
                f"{len(changes)} callback(s) of {bets} bet(s) on brand {result.brand} "
                f"({what}):")
    return (f"{result.kind} #{result.action_id} recorded: changed {len(changes)} callback(s) of "
            f"{bets} bet(s) on brand {result.brand}:")


def _print_changes(result: store.Result, limit: int | None = None) -> None:
    shown = result.changes if limit is None else result.changes[:limit]
    for change in shown:
        cb = change.callback
        print(f"  {cb.bet_id:<24} {cb.destination:<31} {cb.request_id:<38} "
              f"{change.description}" + ("  [manual]" if change.manual else ""))
    if len(shown) < len(result.changes):
        print(f"  ... and {len(result.changes) - len(shown)} more (--dry-run lists them all)")


def _print_left_alone(result: store.Result) -> None:
    if result.left_alone:
        print(f"left alone: {len(result.left_alone)} bet(s)")
        for bet_id, why in result.left_alone:
            print(f"  {bet_id}: {why}")


def _as_json(result: store.Result) -> dict:
    return dict(
        kind=result.kind, brand=result.brand, dry_run=result.dry_run,
        action_id=result.action_id, parameters=result.parameters,
        callbacks=len(result.changes), bets=result.bets, whole_group=result.whole_group,
        changes=[dict(bet_id=c.callback.bet_id, request_id=c.callback.request_id,
                      destination=c.callback.destination, state_before=c.callback.state,
                      state_after=c.state, due_now=c.due_now, manual=c.manual)
                 for c in result.changes],
        left_alone=[dict(bet_id=b, reason=r) for b, r in result.left_alone])


def _report(args, result: store.Result, *, limit: int | None = None) -> int:
    if getattr(args, "json", False):
        print(json.dumps(_as_json(result), indent=2, default=str))
        return 0
    print(_describe(result))
    _print_changes(result, None if result.dry_run else limit)
    _print_left_alone(result)
    return 0


def _confirm(question: str, args, out=None) -> bool:
    """Ask on the terminal; ``--yes`` answers yes. No answer (end of input) is no."""
    if args.yes:
        return True
    print(question + " [y/N] ", end="", flush=True, file=out or sys.stdout)
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        answer = ""
    return answer.strip().lower() in ("y", "yes")


# --- commands -------------------------------------------------------------------------------

def cmd_retry(args) -> int:
    engine = _engine()
    result = store.retry(engine, args.group_id, _actor(args, engine),
                           request_id=args.request_id,
                           include_delivered=args.include_delivered,
                           include_integration_test=args.include_integration_test,
                           dry_run=args.dry_run)
    return _report(args, result)


def cmd_recover(args) -> int:
    engine = _engine()
    actor = _actor(args, engine)
    since = parse_since(args.since)
    options = dict(destination=args.destination, outcome=args.outcome,
                   include_delivered=args.include_delivered,
                   include_integration_test=args.include_integration_test)
    preview = store.recover(engine, args.brand, since, actor, dry_run=True, **options)
    if args.dry_run:
        return _report(args, preview)
    if not preview.changes:
        raise ActionRefused(store.nothing_to_recover(args.brand, since, preview))
    count = len(preview.changes)
    out = sys.stderr if args.json else sys.stdout
    print(f"recover would send {count} callback(s) of {len(preview.bets)} bet(s) on brand "
              f"{args.brand} again (oldest first, each bet in order)"
              + (f"; {len(preview.left_alone)} bet(s) left alone" if preview.left_alone
                 else ""), file=out)
    if not _confirm(f"Send {count} callback(s) again?", args, out):
        print("nothing was changed", file=out)
        return 1
    result = store.recover(engine, args.brand, since, actor, expect=count, **options)
    return _report(args, result, limit=20)


def cmd_cancel(args) -> int:
    engine = _engine()
    actor = _actor(args, engine)
    preview = store.cancel(engine, args.group_id, actor, request_id=args.request_id,
                             include_integration_test=args.include_integration_test,
                             dry_run=True)
    if args.dry_run:
        return _report(args, preview)
    if preview.whole_group and len(preview.changes) > 1 and not args.yes:
        head = preview.changes[0].callback
        print(f"{head.destination} (request_id {head.request_id}) is the head of bet "
              f"{args.group_id}: cancelling it cancels the {len(preview.changes) - 1} "
              "callback(s) queued behind it too:")
        _print_changes(preview)
        if not _confirm(f"Cancel these {len(preview.changes)} callback(s)?", args):
            print("nothing was changed")
            return 1
    result = store.cancel(engine, args.group_id, actor, request_id=args.request_id,
                            include_integration_test=args.include_integration_test,
                            expect=len(preview.changes))
    return _report(args, result)


def cmd_set_url(args) -> int:
    engine = _engine()
    result = store.set_url(engine, args.name, args.url, _actor(args, engine),
                             dry_run=args.dry_run)
    if args.json:
        print(json.dumps(_as_json(result), indent=2, default=str))
        return 0
    p = result.parameters
    head = ("dry run — nothing was changed. set-url would re-route" if result.dry_run
            else f"set_url #{result.action_id} recorded: re-routed")
    print(f"{head} brand {result.brand}: {_target(p)}")
    print(f"  {p['queued']} queued callback(s) of {p['bets']} bet(s) "
          f"{'would go' if result.dry_run else 'go'} to the new URL"
          + (f"; {p['in_flight']} being sent now finish at the old URL" if p["in_flight"]
             else ""))
    return 0


def cmd_actions(args) -> int:
    rows = store.recent(_engine(), brand=args.brand, bet_id=args.group_id, limit=args.limit)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print("no actions recorded" + (f" for bet {args.group_id}" if args.group_id else "")
              + (f" on brand {args.brand}" if args.brand else ""))
        return 0
    for r in rows:
        target = r.get("bet_id") or _target(r["parameters"])
        print(f"{r['created_at']:%Y-%m-%d %H:%M:%S}  #{r['id']:<5} {r['kind']:<8} "
              f"{r['brand']:<14} {r['actor']:<14} {r['callbacks']:>5} callback(s)  "
              f"{target}  — {r['reason']}")
    return 0


def print_bet_actions(engine: sa.Engine, bet_id: str) -> None:
    """The actions taken on a bet, under its history."""
    for r in store.for_bet(engine, bet_id):
        at = f"{r['created_at']:%Y-%m-%d %H:%M:%S %Z}"
        print(f"action #{r['id']} {r['kind']} by {r['actor']} at {at} ({r['source']}): "
              f"{r['reason']} — {r['bet_callbacks']} callback(s) of this bet")


def _target(parameters: dict) -> str:
    if "new_url" in parameters:
        credentials = parameters.get("credentials")
        return (f"{parameters['old_url']} → {parameters['new_url']}"
                + (f" (Basic credentials {credentials})" if credentials else ""))
    return " ".join(f"{k}={v}" for k, v in parameters.items())


# --- parsers --------------------------------------------------------------------------------

def _common(parser: argparse.ArgumentParser, *, confirm: bool = False) -> None:
    parser.add_argument("--reason", required=True,
                        help="why (kept in the audit trail and the callbacks' history)")
    parser.add_argument("--as", dest="actor", metavar="NAME", help=audit.AS_HELP)
    parser.add_argument("--dry-run", action="store_true",
                        help="print exactly what would change, change nothing")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    if confirm:
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _include_integration_test(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--include-integration-test", action="store_true",
                        help="also act on the Integration Test's bets (origin "
                             "integration_test, e.g. its balance probe); left alone otherwise")


def register(sub) -> None:
    """Add ``retry``, ``recover``, ``cancel`` and ``actions`` to the root parser."""
    retry = sub.add_parser(
        "retry", help="send a bet's exhausted callbacks (or its failed head) again now",
        description="The bet's exhausted callbacks — or its head waiting for its next try — go "
                    "out now with the same request_id; the bet's order is kept and the "
                    "callbacks behind follow. An exhausted callback sent again gets one "
                    "attempt.")
    retry.add_argument("--group-id", required=True, metavar="BET", help="the Bet ID")
    retry.add_argument("--request-id", metavar="R", help="this callback (and what follows it)")
    retry.add_argument("--include-delivered", action="store_true",
                       help="also send delivered/rejected callbacks again (same request_id)")
    _include_integration_test(retry)
    _common(retry)
    retry.set_defaults(func=cmd_retry)

    recover = sub.add_parser(
        "recover", help="send a brand's failed callbacks since a time again",
        description="Every matching callback of the brand created since TIME is sent again, "
                    "oldest first, each bet in order. Prints the count and asks first.")
    recover.add_argument("--brand", required=True, metavar="NAME")
    recover.add_argument("--since", required=True, metavar="TIME",
                         help="ISO 8601 (UTC unless an offset is given) or an age: 30m, 2h, 1d")
    recover.add_argument("--destination", choices=[d for d in contract.DESTINATIONS
                                                   if contract.queueable(d)], metavar="D",
                         help="only callbacks to this destination, e.g. /bet/settle")
    recover.add_argument("--outcome", choices=list(plans.OUTCOMES), default="exhausted",
                         help="exhausted (default), or failed: also heads waiting for a retry")
    recover.add_argument("--include-delivered", action="store_true",
                         help="also send delivered/rejected callbacks again (same request_id)")
    _include_integration_test(recover)
    _common(recover, confirm=True)
    recover.set_defaults(func=cmd_recover)

    cancel = sub.add_parser(
        "cancel", help="stop a queued callback of a bet from being sent",
        description="The bet's head (default) or the callback with --request-id stops being "
                    "sent and is marked skipped, cancelled by you, with your reason. Cancelling "
                    "the head cancels the callbacks behind it too, after confirmation.")
    cancel.add_argument("--group-id", required=True, metavar="BET", help="the Bet ID")
    cancel.add_argument("--request-id", metavar="R", help="a queued callback of the bet")
    _include_integration_test(cancel)
    _common(cancel, confirm=True)
    cancel.set_defaults(func=cmd_cancel)

    listing = sub.add_parser("actions", help="the audit trail of actions taken")
    listing.add_argument("--brand", metavar="NAME")
    listing.add_argument("--group-id", metavar="BET", help="actions that changed this bet")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_actions)


def register_brand(brand_sub) -> None:
    """Add ``brand set-url``."""
    set_url = brand_sub.add_parser(
        "set-url", help="re-route a brand to a new platform URL (recorded)",
        description="Queued callbacks of the brand go to the new base URL (the URL is read "
                    "when a callback goes out); requests out now finish at the old one.")
    set_url.add_argument("name", metavar="NAME")
    set_url.add_argument("url", metavar="URL", help="the new base URL, e.g. https://ops.example")
    _common(set_url)
    set_url.set_defaults(func=cmd_set_url)
