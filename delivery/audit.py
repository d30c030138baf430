"""The audit trail of configuration changes: the one module that writes it, and the listing
that reads it with the queue actions' trail (:mod:`actions.store`) beside it.

Every command that changes configuration — brands, back-office users, test URLs, alert URLs and
rules, API tokens — records its change with one call, in the transaction that makes it::

    audit.record(conn, actor=actor, kind="brand.set", brand_id=brand.id, subject=brand.name,
                 before={"timeout_s": 10}, after={"timeout_s": 5}, reason="platform is slow")

``before`` and ``after`` are the subject's settings as plain values (``None``: it did not
exist, or no longer does); :func:`delivery.changes.shape` keeps what differs and masks secrets
(named keys, URL passwords and query values) before anything is written, and a value that still
holds one of the ``secrets`` given is refused. Who acts comes from :func:`shell_actor`: the OS
user, or with ``--as NAME`` a back-office user named from an administrator's shell.
"""
from __future__ import annotations

import json
import os
import pwd
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

import sql

from . import changes
from .errors import ActorRefused, InvalidInput

_FILE = "audit.sql"

#: Where changes come from.
SOURCES = ("cli", "dashboard")


@dataclass(frozen=True)
class Actor:
    """Who makes a change: ``name`` (the back-office user named with ``--as``, or the OS user),
    ``os_user`` (the OS account the command ran as; None from the back-office) and where from.
    """

    name: str
    os_user: str | None
    source: str = "cli"

    def __post_init__(self):
        if not (self.name or "").strip():
            raise InvalidInput("who acts must be named (--as NAME)", field="as", value=self.name)
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")


def os_identity() -> tuple[str, int]:
    """``(name, uid)`` of the OS account this process runs as — from its effective user id,
    not from ``$USER`` (which anyone can set)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name, uid
    except KeyError:  # a container's user without a passwd entry
        return f"uid:{uid}", uid


def shell_actor(engine: sa.Engine | sa.Connection, as_name: str | None = None, *,
                env: dict | None = None) -> Actor:
    """Who a command acts as: the OS user, or ``as_name`` when this is an administrator's shell
    (root, or an OS user in ``CALLBACKS_ADMINS``) and ``as_name`` is a back-office user;
    :class:`ActorRefused` otherwise. The OS user is kept either way."""
    os_user, uid = os_identity()
    if as_name is None:
        return Actor(os_user, os_user)
    env = os.environ if env is None else env
    admin_names = changes.admins(env.get(changes.ADMINS_VARIABLE))
    exists = False
    if changes.admin_shell(os_user, uid, admin_names):
        exists = _user_exists(engine, as_name.strip())
    refusal = changes.refusal_of_as(as_name, os_user, uid, admin_names, exists)
    if refusal:
        raise ActorRefused(refusal)
    return Actor(as_name.strip(), os_user)


def _user_exists(engine: sa.Engine | sa.Connection, name: str) -> bool:
    if isinstance(engine, sa.Engine):
        with engine.connect() as conn:
            return _user_exists(conn, name)
    return bool(engine.execute(sql.query(_FILE, "back_office_user"), {"name": name}).scalar())


def record(conn: sa.Connection, *, actor: Actor, kind: str, brand_id: int | None,
           subject: str, before: dict | None = None, after: dict | None = None,
           reason: str | None = None, secrets: tuple[str, ...] = ()) -> int:
    """Append one change to the trail in ``conn``'s transaction; its id. ``before``/``after``
    are shaped by :func:`delivery.changes.shape` (only what differs, secrets masked); a
    ``secrets`` value (a password, a token just made) found in what would be written is a
    programming error (ValueError) and nothing is written."""
    shown_before, shown_after = changes.shape(before, after)
    subject = changes.redact_subject(subject)
    reason = (reason or "").strip() or None
    found = changes.leaked([subject, shown_before, shown_after, reason], list(secrets))
    if found:
        raise ValueError(f"an audit row of {kind} would hold a secret; nothing was written")
    return conn.execute(sql.query(_FILE, "insert_change"), dict(
        kind=changes.check_kind(kind), actor=actor.name.strip(),
        os_user=actor.os_user or os_identity()[0],
        source=actor.source, brand_id=brand_id, subject=subject,
        before=None if shown_before is None else json.dumps(shown_before),
        after=None if shown_after is None else json.dumps(shown_after),
        reason=reason)).one().id


def recent(engine: sa.Engine, *, since: datetime | None = None, brand_id: int | None = None,
           limit: int = 50) -> list[dict]:
    """The latest entries of both trails — configuration changes and queue actions — newest
    first (of one brand: its changes and actions, not those of no one brand)."""
    params = {"since": since, "brand_id": brand_id, "limit": limit}
    with engine.connect() as conn:
        changed = [changes.change_entry(r._mapping)
                   for r in conn.execute(sql.query(_FILE, "recent_changes"), params)]
        acted = [changes.action_entry(r._mapping)
                 for r in conn.execute(sql.query(_FILE, "recent_actions"), params)]
    return changes.newest_first(changed, acted, limit)


#: Help of ``--as`` on every command that records a change.
AS_HELP = ("record the change as this back-office user (only from an administrator's shell: "
           "root, or an OS user listed in CALLBACKS_ADMINS); the OS user is recorded too "
           "(default: the OS user)")


def add_options(parser, *, reason_required: bool = False) -> None:
    """``--reason`` and ``--as NAME`` on an argparse parser of a command that records a
    change (``args.reason``, ``args.actor``)."""
    parser.add_argument("--reason", required=reason_required,
                        help="why (kept in the audit trail, `callbacks audit`)")
    parser.add_argument("--as", dest="actor", metavar="NAME", help=AS_HELP)
