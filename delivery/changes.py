"""What a configuration change looks like in the audit trail — pure functions, no I/O.

A change is shaped from two plain mappings, the subject's settings before and after
(``None`` for a subject that did not exist, or no longer does): an update keeps only the keys
that differ; an addition or a removal keeps every key. Secrets never leave this module as they
were given: a key that names a secret (``password_hash``, ``signing_secret``, ``token`` ...)
becomes ``"***"`` (``None`` stays ``None``: "no secret" is worth knowing), a URL loses the
password of its user part and the values of its query string. A secret replaced by another is
shown as ``"***"`` → ``"*** (changed)"``.

Who may name someone else as the actor (``--as NAME``) is decided here too: an administrator's
shell — the root user, or an OS user listed in ``CALLBACKS_ADMINS``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

#: What a secret is shown as.
MASK = "***"
#: Keys whose values are secrets whatever they hold.
SECRET_KEYS = frozenset({"password", "password_hash", "signing_secret", "secret", "token",
                         "token_hash", "api_token", "cookie_secret", "client_secret"})
#: ...and keys ending with one of these.
SECRET_SUFFIXES = ("_password", "_secret", "_hash", "_token")
#: Shorter secrets are not looked for in a row about to be written (they would match by chance).
MIN_SECRET_CHECKED = 6
#: The environment variable naming the OS users who may use ``--as`` (comma-separated).
ADMINS_VARIABLE = "CALLBACKS_ADMINS"
#: Kinds the trail knows how to name (others are shown as they are).
LABELS = {
    "brand.add": "Brand added",
    "brand.set": "Brand settings",
    "brand.set_url": "Re-route",
    "brand.set_visible_keys": "Visible keys",
    "user.add": "User added",
    "user.passwd": "Password changed",
    "user.remove": "User removed",
    "user.sign_out": "User signed out everywhere",
    "test_url.add": "Test URL added",
    "test_url.remove": "Test URL removed",
    "alert_url.add": "Alert URL added",
    "alert_url.remove": "Alert URL removed",
    "alert_rule.set": "Alert rule set",
    "alert_rule.unset": "Alert rule unset",
    "api_token.create": "API token created",
    "api_token.revoke": "API token revoked",
    "queue.retry": "Retry",
    "queue.recover": "Recover",
    "queue.cancel": "Cancel",
}

_KIND = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")


def is_secret_key(key: str) -> bool:
    """Whether the values of ``key`` are secrets."""
    key = key.lower()
    return key in SECRET_KEYS or key.endswith(SECRET_SUFFIXES)


def is_url_key(key: str) -> bool:
    key = key.lower()
    return key == "url" or key.endswith("_url")


def check_kind(kind: str) -> str:
    """``kind`` if it reads like ``thing.verb`` (``brand.add``); ValueError otherwise (a
    programming error, never a person's)."""
    if not _KIND.match(kind or ""):
        raise ValueError(f"audit kind {kind!r} must look like 'thing.verb' (brand.add)")
    return kind


def redact_url(url: str | None) -> str | None:
    """``url`` with the password of its user part and the values of its query string shown as
    ``***`` (``https://ops:***@host/cb?key=***``); anything that is not an http(s) URL is
    returned as it is."""
    if not url or not isinstance(url, str):
        return url
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 — a bad port raises here, not later
    except ValueError:
        return MASK if "@" in url else url
    if parts.scheme.lower() not in ("http", "https"):
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
    query = "&".join(f"{quote(k, safe='')}={MASK}"
                     for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    if parts.query and not query:
        query = MASK
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment and MASK))


def webhook_url(url: str) -> str:
    """An alert URL as the trail shows it: the whole URL is a credential (a Slack incoming
    webhook), so only its scheme and host are kept (``https://hooks.slack.com/***``)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or "?"
    except ValueError:
        return MASK
    return f"{parts.scheme or 'http'}://{host}/{MASK}"


def _plain(value):
    """A JSON-ready copy: tuples as lists, Decimals and times as strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _shown(key: str, value):
    if value is None:
        return None
    if is_secret_key(key):
        return MASK
    if is_url_key(key):
        return redact_url(value) if isinstance(value, str) else [redact_url(v) for v in value]
    return value


def shape(before: Mapping | None, after: Mapping | None) -> tuple[dict | None, dict | None]:
    """``(before, after)`` as the trail keeps them: JSON-ready, secrets masked, and for an
    update only the keys whose values differ (a secret or URL that changed behind the same mask
    shows ``" (changed)"`` after it)."""
    raw_before = None if before is None else _plain(before)
    raw_after = None if after is None else _plain(after)
    if raw_before is None or raw_after is None:
        return ({k: _shown(k, v) for k, v in raw_before.items()} if raw_before is not None
                else None,
                {k: _shown(k, v) for k, v in raw_after.items()} if raw_after is not None
                else None)
    shown_before, shown_after = {}, {}
    for key in list(raw_before) + [k for k in raw_after if k not in raw_before]:
        old, new = raw_before.get(key), raw_after.get(key)
        if old == new:
            continue
        old_shown, new_shown = _shown(key, old), _shown(key, new)
        if old_shown == new_shown:
            new_shown = f"{new_shown} (changed)"
        shown_before[key], shown_after[key] = old_shown, new_shown
    return shown_before, shown_after


def redact_subject(subject: str) -> str:
    """The subject of a change (a brand, a user, a URL), a URL's secrets masked."""
    subject = (subject or "").strip()
    if subject.lower().startswith(("http://", "https://")):
        return redact_url(subject)
    return subject


def leaked(values, secrets: list[str]) -> list[str]:
    """The ``secrets`` (plain strings) found anywhere in ``values`` as JSON: what a test or a
    last check before writing looks for."""
    text = json.dumps(_plain(values), default=str)
    return [s for s in secrets if s and len(s) >= MIN_SECRET_CHECKED and s in text]


def summary(before: Mapping | None, after: Mapping | None) -> str:
    """A change in one line: ``timeout_s: 10 → 5; max_in_flight: 32 → 8``; an addition lists
    what was set, a removal what there was."""
    def show(value) -> str:
        if isinstance(value, list):
            return ",".join(map(str, value)) or "(none)"
        return "(none)" if value is None else str(value)

    if before is None and after is None:
        return ""
    if before is None:
        return "set " + "; ".join(f"{k}={show(v)}" for k, v in after.items())
    if after is None:
        return "removed " + "; ".join(f"{k}={show(v)}" for k, v in before.items())
    keys = list(before) + [k for k in after if k not in before]
    return "; ".join(f"{k}: {show(before.get(k))} → {show(after.get(k))}" for k in keys)


def label(kind: str) -> str:
    """A kind as people read it."""
    return LABELS.get(kind, kind)


def action_entry(row: Mapping) -> dict:
    """A queue action (a row of the ``actions`` trail: id, kind, actor, os_user, reason,
    source, bet_id, parameters, callbacks, bets, created_at, brand) as an entry of the audit
    listing, shaped like a configuration change."""
    parameters = dict(row.get("parameters") or {})
    before = after = None
    if row["kind"] == "set_url":
        kind, subject = "brand.set_url", row["brand"]
        before = {"base_url": redact_url(parameters.pop("old_url", None))}
        after = {"base_url": redact_url(parameters.pop("new_url", None))}
    else:
        kind = f"queue.{row['kind']}"
        subject = f"bet {row['bet_id']}" if row.get("bet_id") else row["brand"]
    details = dict(parameters, callbacks=row["callbacks"], bets=row["bets"])
    return dict(trail="action", id=row["id"], at=row["created_at"], kind=kind,
                label=label(kind), actor=row["actor"], os_user=row.get("os_user"),
                source=row["source"], brand=row["brand"], subject=subject, before=before,
                after=after, reason=row["reason"], details=details)


def change_entry(row: Mapping) -> dict:
    """A row of ``config_changes`` (with its brand's name) as an entry of the audit listing."""
    return dict(trail="change", id=row["id"], at=row["created_at"], kind=row["kind"],
                label=label(row["kind"]), actor=row["actor"], os_user=row["os_user"],
                source=row["source"], brand=row.get("brand"), subject=row["subject"],
                before=row["before"], after=row["after"], reason=row["reason"], details=None)


def newest_first(changes: list[dict], actions: list[dict], limit: int) -> list[dict]:
    """Both trails' entries in one list, newest first, at most ``limit``."""
    merged = sorted(changes + actions, key=lambda e: (e["at"], e["trail"], e["id"]),
                    reverse=True)
    return merged[:limit]


def describe(entry: Mapping) -> str:
    """What an entry of the listing changed, in one line."""
    if entry["before"] is not None or entry["after"] is not None:
        text = summary(entry["before"], entry["after"])
    else:
        text = ""
    details = entry.get("details")
    if details:
        counts = f"{details['callbacks']} callback(s) of {details['bets']} bet(s)"
        extra = " ".join(f"{k}={v}" for k, v in details.items()
                         if k not in ("callbacks", "bets", "queued", "in_flight")
                         and v not in (None, False))
        text = "; ".join(x for x in (text, counts, extra) if x)
    return text


# --- who acts -------------------------------------------------------------------------------

def admins(value: str | None) -> frozenset[str]:
    """The OS user names of ``CALLBACKS_ADMINS`` (comma-separated; spaces ignored)."""
    return frozenset(n.strip() for n in (value or "").split(",") if n.strip())


def admin_shell(os_user: str, uid: int, admin_names: frozenset[str]) -> bool:
    """Whether a shell of ``os_user`` (user id ``uid``) is an administrator's: root, or a user
    named in ``CALLBACKS_ADMINS``."""
    return uid == 0 or os_user in admin_names


def refusal_of_as(as_name: str, os_user: str, uid: int, admin_names: frozenset[str],
                  user_exists: bool) -> str | None:
    """Why ``--as as_name`` is refused in this shell, or None when it is accepted."""
    if not admin_shell(os_user, uid, admin_names):
        return (f"--as is accepted only from an administrator's shell (root, or an OS user "
                f"listed in {ADMINS_VARIABLE}); OS user {os_user!r} is neither. Leave --as out "
                f"to act as {os_user!r}")
    if not user_exists:
        return (f"--as {as_name!r} is not a back-office user; `callbacks user list` shows them "
                "(the change would be recorded under that name)")
    return None
