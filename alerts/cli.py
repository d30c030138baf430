"""``callbacks alert`` — rules per brand, notification URLs, alert history.

The main ``callbacks`` command calls :func:`register` with its subparsers.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

from delivery import audit, brands, database, migrate, settings
from delivery import urls as delivery_urls
from delivery.errors import InvalidInput

from . import rules, store

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def register(subparsers) -> None:
    """Add the ``alert`` subcommand."""
    alert = subparsers.add_parser(
        "alert", help="alert rules per brand, notification URLs, alert history",
        description="Rules are evaluated by the scheduler (`callbacks worker` or `callbacks "
                    "scheduler`) every 30 s; a rule that starts or stops firing posts JSON "
                    "(Slack-compatible \"text\" plus fields) to every alert URL, with retries. "
                    "A rule fires above its threshold and resolves only at or below its "
                    "resolve threshold after a quiet period; one that fires "
                    f"{rules.FLAPPING_FIRES} times within an hour is flapping: one "
                    "notification, then none until it settles.")
    sub = alert.add_subparsers(dest="alert_command", required=True, metavar="WHAT")

    rule = sub.add_parser("rule", help="set, unset or list rules")
    rule_sub = rule.add_subparsers(dest="rule_command", required=True, metavar="ACTION")
    kinds = "; ".join(f"{k}: {d}" for k, d in rules.DESCRIPTIONS.items())
    set_ = rule_sub.add_parser(
        "set", help="set a brand's rule, or the default of every brand (no --brand)",
        description=f"Kinds — {kinds}.")
    set_.add_argument("kind", choices=rules.KINDS)
    set_.add_argument("--threshold", required=True,
                      help="failure_rate and heartbeat_failure_rate: percent (25 or 25%%); "
                           "oldest_pending: a duration (900, 15m, 2h); exhausted: a count "
                           "(0 = any); money_at_risk: an amount in any one currency (1000)")
    set_.add_argument("--window", help="failure_rate, exhausted and heartbeat_failure_rate: "
                                       "how far back to look (10m, 1h, 600)")
    set_.add_argument("--resolve-below", metavar="VALUE",
                      help="a firing rule resolves only at or below this, in the threshold's "
                           f"unit (default {rules.RESOLVE_RATIO * 100:.0f} %% of the threshold)")
    set_.add_argument("--quiet", metavar="DURATION",
                      help="... once it has stayed there this long (0, 90s, 5m; default "
                           f"{rules.QUIET_S // 60}m, or what the rule has now)")
    set_.add_argument("--min-attempts", metavar="K",
                      help="failure_rate and heartbeat_failure_rate: judged over at least K "
                           f"finished attempts in the window (default {rules.MIN_ATTEMPTS}, or "
                           "what the rule has now)")
    set_.add_argument("--brand", help="the brand (default: the rule every brand follows "
                                      "unless it has its own)")
    onoff = set_.add_mutually_exclusive_group()
    onoff.add_argument("--off", action="store_true", help="keep the rule but never fire it")
    onoff.add_argument("--on", action="store_true", help="fire it again (the default)")
    audit.add_options(set_)
    set_.set_defaults(func=cmd_rule_set)
    unset = rule_sub.add_parser("unset", help="drop a brand's own rule (it follows the "
                                              "default again), or the default (built-in again)")
    unset.add_argument("kind", choices=rules.KINDS)
    unset.add_argument("--brand")
    audit.add_options(unset)
    unset.set_defaults(func=cmd_rule_unset)
    lst = rule_sub.add_parser("list", help="the rules each brand follows, and where each "
                                           "comes from (brand, default, built-in)")
    lst.add_argument("--brand")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_rule_list)

    url = sub.add_parser("url", help="where notifications go")
    url_sub = url.add_subparsers(dest="url_command", required=True, metavar="ACTION")
    add = url_sub.add_parser("add", help="post every alert to this URL (e.g. a Slack incoming "
                                         "webhook)")
    add.add_argument("url")
    audit.add_options(add)
    add.set_defaults(func=cmd_url_add)
    ulist = url_sub.add_parser("list", help="the alert URLs")
    ulist.add_argument("--json", action="store_true")
    ulist.set_defaults(func=cmd_url_list)
    remove = url_sub.add_parser("remove", help="stop posting to a URL (given as itself or its "
                                               "id)")
    remove.add_argument("url", metavar="URL_OR_ID")
    audit.add_options(remove)
    remove.set_defaults(func=cmd_url_remove)

    history = sub.add_parser("history", help="alerts that fired and resolved, newest first, "
                                             "with how their notifications went")
    history.add_argument("--brand")
    history.add_argument("--limit", type=int, default=50)
    history.add_argument("--json", action="store_true")
    history.set_defaults(func=cmd_history)

    evaluate = sub.add_parser("evaluate", help="evaluate every rule now, as the scheduler does "
                                               "(writes and queues what starts or stops firing)")
    evaluate.set_defaults(func=cmd_evaluate)


def _engine():
    engine = database.make_engine(database.database_url(settings.from_env()), pool_size=1)
    migrate.require_current(engine)
    return engine


def parse_duration_s(text: str, what: str, *, minimum_s: int = 1) -> int:
    """``15m`` → 900; a bare number is seconds."""
    found = _DURATION.match(text or "")
    if not found:
        raise InvalidInput(f"{what} {text!r} is not a duration; write 900, 900s, 15m, 2h or 1d",
                           field=what, value=text)
    seconds = float(found.group(1)) * _UNITS[(found.group(2) or "").lower() or None]
    if seconds < minimum_s:
        raise InvalidInput(f"{what} {text!r} must be at least one second", field=what,
                           value=text)
    return int(seconds)


def parse_threshold(kind: str, text: str, option: str = "--threshold") -> Decimal:
    """A rule's threshold (or resolve threshold) from what a person types, checked for its
    kind."""
    if kind == rules.OLDEST_PENDING:
        return Decimal(parse_duration_s(text, option,
                                        minimum_s=1 if option == "--threshold" else 0))
    raw = text.strip().removesuffix("%").strip() if kind in rules.PERCENT else text.strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise InvalidInput(f"{option} {text!r} must be a number of 0 or more for {kind}",
                           field=option.lstrip("-"), value=text)
    if kind in rules.PERCENT and value > 100:
        raise InvalidInput(f"{option} {text!r} is a percentage: 0 to 100", field=option.lstrip("-"),
                           value=text)
    if kind == rules.EXHAUSTED and value != value.to_integral_value():
        raise InvalidInput(f"{option} {text!r} counts callbacks: a whole number",
                           field=option.lstrip("-"), value=text)
    return value


def parse_min_attempts(kind: str, text: str) -> int:
    """``--min-attempts``: a whole number of 1 or more, for a failure-rate rule."""
    if kind not in rules.PERCENT:
        raise InvalidInput(f"--min-attempts applies to {', '.join(rules.PERCENT)} only; "
                           f"{kind} counts no attempts", field="min-attempts", value=text)
    if not text.strip().isdigit() or int(text) < 1:
        raise InvalidInput(f"--min-attempts {text!r} must be a whole number of 1 or more",
                           field="min-attempts", value=text)
    return int(text)


def _brand_id(engine, name: str | None) -> int | None:
    return None if name is None else brands.brand_named(engine, name).id


def cmd_rule_set(args) -> int:
    threshold = parse_threshold(args.kind, args.threshold)
    if args.window and args.kind not in rules.WINDOWED:
        raise InvalidInput(f"--window applies to {', '.join(rules.WINDOWED)} only; "
                           f"{args.kind} has no window", field="window", value=args.window)
    window_s = parse_duration_s(args.window, "--window") if args.window else None
    resolve_below = (parse_threshold(args.kind, args.resolve_below, "--resolve-below")
                     if args.resolve_below is not None else None)
    if resolve_below is not None and resolve_below > threshold:
        raise InvalidInput(f"--resolve-below {args.resolve_below!r} is above --threshold "
                           f"{args.threshold!r}: a rule resolves at or below where it fires "
                           "(leave it out for the default, "
                           f"{rules.RESOLVE_RATIO * 100:.0f} % of the threshold)",
                           field="resolve-below", value=args.resolve_below)
    quiet_s = (parse_duration_s(args.quiet, "--quiet", minimum_s=0)
               if args.quiet is not None else None)
    min_attempts = (parse_min_attempts(args.kind, args.min_attempts)
                    if args.min_attempts is not None else None)
    engine = _engine()
    actor = audit.shell_actor(engine, args.actor)
    brand_id = _brand_id(engine, args.brand)
    current = _current_rule(engine, brand_id, args.kind)
    if window_s is None and args.kind in rules.WINDOWED:
        window_s = current.window_s
    # Options not given keep what the rule has now if it set them itself.
    if quiet_s is None and current.quiet_s != rules.QUIET_S:
        quiet_s = current.quiet_s
    if (min_attempts is None and args.kind in rules.PERCENT
            and current.min_attempts != rules.MIN_ATTEMPTS):
        min_attempts = current.min_attempts
    store.set_rule(engine, args.kind, threshold, brand_id=brand_id, window_s=window_s,
                   enabled=not args.off, resolve_below=resolve_below, quiet_s=quiet_s,
                   min_attempts=min_attempts, actor=actor, reason=args.reason)
    rule = _current_rule(engine, brand_id, args.kind)
    print(f"{args.brand or 'every brand (default)'}: {rule.describe()}; resolves "
          f"{rule.resolves()}")
    return 0


def _current_rule(engine, brand_id: int | None, kind: str) -> rules.Rule:
    if brand_id is None:
        return store.default_rules(engine)[kind]
    for brand, brand_rules in store.brand_rules(engine):
        if brand["id"] == brand_id:
            return brand_rules[kind]
    return rules.BUILT_IN[kind]


def cmd_rule_unset(args) -> int:
    engine = _engine()
    actor = audit.shell_actor(engine, args.actor)
    brand_id = _brand_id(engine, args.brand)
    removed = store.unset_rule(engine, args.kind, brand_id=brand_id, actor=actor,
                               reason=args.reason)
    who = f"brand {args.brand}" if args.brand else "the default"
    if not removed:
        print(f"{who} had no {args.kind} rule of its own; nothing changed")
        return 0
    rule = _current_rule(engine, brand_id, args.kind)
    print(f"{who}: {args.kind} rule removed; now {rule.describe()} ({rule.source})")
    return 0


def cmd_rule_list(args) -> int:
    engine = _engine()
    listed = [("(default)", store.default_rules(engine))]
    listed += [(b["name"], r) for b, r in store.brand_rules(engine)]
    if args.brand:
        brands.brand_named(engine, args.brand)
        listed = [(n, r) for n, r in listed if n == args.brand]
    if args.json:
        print(json.dumps([{"brand": None if n == "(default)" else n,
                           "rules": [{"kind": r.kind, "threshold": str(r.threshold),
                                      "window_s": r.window_s, "enabled": r.enabled,
                                      "resolve_below": f"{r.resolve_threshold.normalize():f}",
                                      "quiet_s": r.quiet_s,
                                      "min_attempts": (r.min_attempts
                                                       if r.kind in rules.PERCENT else None),
                                      "source": r.source} for r in rs.values()]}
                          for n, rs in listed], indent=2))
        return 0
    for name, brand_rules in listed:
        print(name)
        for rule in brand_rules.values():
            print(f"  {rule.kind:<15} {rule.describe():<55} [{rule.source}]")
            print(f"  {'':<15} resolves {rule.resolves()}")
    return 0


def cmd_url_add(args) -> int:
    engine = _engine()
    added = store.add_url(engine, args.url, actor=audit.shell_actor(engine, args.actor),
                          reason=args.reason)
    url = delivery_urls.parse(args.url, what="alert URL").url
    print(f"alerts will be posted to {url}" if added else f"{url} is an alert URL already")
    return 0


def cmd_url_list(args) -> int:
    # Alert URLs added before the URL rule may carry credentials: never shown.
    found = [dict(u, url=delivery_urls.redact(u["url"])) for u in store.urls(_engine())]
    if args.json:
        print(json.dumps(found, indent=2, default=str))
        return 0
    if not found:
        print("no alert URLs; add one with `callbacks alert url add URL`")
    for u in found:
        print(f"{u['id']:>4}  {u['url']}  (added {u['created_at']:%Y-%m-%d %H:%M:%S %Z})")
    return 0


def cmd_url_remove(args) -> int:
    engine = _engine()
    removed = store.remove_url(engine, args.url, actor=audit.shell_actor(engine, args.actor),
                               reason=args.reason)
    print(f"no more alerts to {delivery_urls.redact(removed)}")
    return 0


def cmd_history(args) -> int:
    engine = _engine()
    brand_id = _brand_id(engine, args.brand)
    with engine.connect() as conn:
        events = store.history(conn, brand_id=brand_id, limit=max(1, args.limit))
    if args.json:
        print(json.dumps(events, indent=2, default=str))
        return 0
    if not events:
        print("no alerts yet")
    for e in events:
        sent = (f"{e['delivered']}/{e['notifications']} delivered" if e["notifications"]
                else "not sent: flapping" if not e["notified"] else "no alert URL")
        flapping = "FLAPPING " if e["flapping"] else ""
        print(f"{e['at']:%Y-%m-%d %H:%M:%S %Z}  {e['status']:<8} {e['brand']:<16} "
              f"{e['kind']:<15} {flapping}{e['message']}  [{sent}]")
    return 0


def cmd_evaluate(args) -> int:
    events = store.evaluate(_engine())
    if events is None:
        print("another process is evaluating right now; nothing done")
        return 0
    if not events:
        print("no rule started or stopped firing")
    for e in events:
        print(f"{e.status:<8} {e.brand:<16} {e.kind:<15} {e.message} "
              f"({e.notifications} notification(s) queued)")
    return 0
