"""The integration manager's actions — retry, recover, cancel, re-route — and their audit trail.

This module owns the actions' SQL (named blocks of ``sql/actions.sql``); what an action changes
is decided by the pure functions of :mod:`actions.plans`; the callbacks' new states are written
by the queue's store (:func:`delivery.store.apply_action_changes`). Each action is one
transaction: it locks the bets concerned (``SELECT ... FOR UPDATE``, in bet-id order, as workers
do when they record outcomes) and their callbacks, decides, writes the changes and appends one
row to the ``actions`` audit table (with a row per callback changed in ``action_callbacks``).
A dry run takes the same locks and makes the same decisions, writes nothing and rolls back: it
prints exactly what would change, and changes nothing.

A callback sent again carries its action's id until its next attempt is written; that attempt
keeps it, so every history view says "manual retry by <who>: <reason>". The command line and
the back-office both come through here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

import sql
from delivery import brands, changes, store, urls
from delivery.errors import InvalidInput, UnknownBrand
from delivery.records import CallbackState as State

from . import plans
from .errors import ActionRefused, UnknownBet, WrongState
from .plans import Change, Queued

#: Times an action is tried again when PostgreSQL picked it as a deadlock's victim.
DEADLOCK_TRIES = 3
#: SQLSTATE of a deadlock.
_DEADLOCK = "40P01"
#: Where actions come from.
SOURCES = ("cli", "dashboard")


@dataclass(frozen=True)
class Actor:
    """Who acts and from where; every action needs a reason. ``os_user``: the OS account a
    command ran as (kept beside ``who`` when ``--as`` named someone else)."""

    who: str
    reason: str
    source: str = "cli"
    os_user: str | None = None

    def __post_init__(self):
        if not (self.who or "").strip():
            raise InvalidInput("who acts must be named (--as NAME)", field="as", value=self.who)
        if not (self.reason or "").strip():
            raise InvalidInput("a reason is required (--reason TEXT): it goes into the audit "
                               "trail and the callbacks' history", field="reason",
                               value=self.reason)
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")


@dataclass
class Result:
    """What an action changed (or, in a dry run, would change)."""

    kind: str
    brand: str
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    #: recover: ``[(bet_id, why)]`` of the bets it left as they are.
    left_alone: list[tuple[str, str]] = field(default_factory=list)
    #: cancel: the group's head is cancelled, and the callbacks behind it with it.
    whole_group: bool = False
    parameters: dict = field(default_factory=dict)
    action_id: int | None = None
    created_at: datetime | None = None

    @property
    def bets(self) -> list[str]:
        return sorted({c.callback.bet_id for c in self.changes})


def _run(engine: sa.Engine, dry_run: bool, work):
    """Run ``work(conn)`` in one transaction; roll it back for a dry run."""
    for attempt in range(DEADLOCK_TRIES):
        try:
            with engine.connect() as conn:
                transaction = conn.begin()
                try:
                    result = work(conn)
                except BaseException:
                    transaction.rollback()
                    raise
                if dry_run:
                    transaction.rollback()
                    result.action_id = result.created_at = None  # nothing was recorded
                else:
                    transaction.commit()
                return result
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "pgcode", None) != _DEADLOCK or attempt == DEADLOCK_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def _now(conn: sa.Connection) -> datetime:
    return conn.execute(sa.text("SELECT now()")).scalar_one()


def _lock_bet(conn: sa.Connection, bet_id: str, brand: str | None):
    row = conn.execute(sql.query("actions.sql", "lock_bet"), {"bet_id": bet_id}).first()
    if row is None or (brand is not None and row.brand != brand):
        where = f" in brand {brand!r}" if brand else ""
        raise UnknownBet(f"no bet {bet_id!r}{where}; check the Bet ID (Group ID) in the Bets "
                         "list or `callbacks history --group-id`")
    return row


def _groups(conn: sa.Connection, bet_ids: list[str]) -> dict[str, list[Queued]]:
    groups: dict[str, list[Queued]] = {}
    for r in conn.execute(sql.query("actions.sql", "lock_groups"), {"bet_ids": bet_ids}):
        groups.setdefault(r.bet_id, []).append(Queued(
            r.id, r.request_id, r.bet_id, r.destination, r.state, r.attempts,
            r.next_attempt_at, r.created_at, r.last_error, r.lease_expires_at, r.origin))
    return groups


def _record(conn: sa.Connection, result: Result, brand_id: int, actor: Actor,
            bet_id: str | None, *, counts: tuple[int, int] | None = None) -> None:
    """Append the action and apply its changes. ``counts`` (callbacks, bets) overrides the
    changed rows' count for an action that changes no callback row (a re-route). A dry run
    writes nothing (not even a row rolled back later: action numbers have no gaps)."""
    if result.dry_run:
        return
    callbacks, bets = counts or (len(result.changes), len(result.bets))
    row = conn.execute(sql.query("actions.sql", "insert_action"), dict(
        brand_id=brand_id, kind=result.kind, actor=actor.who.strip(),
        reason=actor.reason.strip(), source=actor.source, os_user=actor.os_user, bet_id=bet_id,
        parameters=json.dumps(result.parameters, default=str), callbacks=callbacks,
        bets=bets)).one()
    result.action_id, result.created_at = row.id, row.created_at
    if not result.changes:
        return
    due = sorted((c for c in result.changes if c.due_now),
                 key=lambda c: (c.callback.created_at, c.callback.id))
    # Oldest first: due a microsecond apart, all of them at most a few ms in the past.
    due_in_us = {c.callback.id: float(i - len(due)) for i, c in enumerate(due)}
    store.apply_action_changes(conn, result.action_id, [
        dict(id=c.callback.id, state=c.state, due_in_us=due_in_us.get(c.callback.id),
             manual=c.manual, note=c.note) for c in result.changes])
    conn.execute(sql.query("actions.sql", "insert_action_callbacks"), {
        "action_id": result.action_id, "rows": json.dumps([
            dict(callback_id=c.callback.id, bet_id=c.callback.bet_id,
                 state_before=c.callback.state, state_after=c.state)
            for c in result.changes])})
    if due:
        conn.execute(sql.query("actions.sql", "notify_due"))


def _check_expected(result: Result, expect: int | None) -> None:
    if expect is not None and len(result.changes) != expect:
        raise WrongState(f"the queue changed since the count was shown ({expect} callback(s) "
                         f"then, {len(result.changes)} now); nothing was changed — run the "
                         "command again to see the new count")


# --- actions --------------------------------------------------------------------------------

def retry(engine: sa.Engine, bet_id: str, actor: Actor, *, request_id: str | None = None,
          include_delivered: bool = False, include_integration_test: bool = False,
          dry_run: bool = False, brand: str | None = None,
          expect: int | None = None) -> Result:
    """Send the bet's exhausted callbacks (or its failed head) again now; see
    :func:`actions.plans.retry`. ``brand`` limits the bet to one brand (the back-office's
    scope); with ``expect``, refused unless exactly that many callbacks change (the dry run a
    person confirmed). An Integration Test bet is refused unless
    ``include_integration_test``."""
    def work(conn):
        bet = _lock_bet(conn, bet_id, brand)
        group = _groups(conn, [bet_id]).get(bet_id, [])
        if not group:
            raise WrongState(f"bet {bet_id!r} has no callbacks")
        result = Result("retry", bet.brand, dry_run, parameters=_without_none(
            request_id=request_id, include_delivered=include_delivered or None,
            include_integration_test=include_integration_test or None))
        result.changes = plans.retry(group, _now(conn), request_id=request_id,
                                     include_delivered=include_delivered,
                                     include_integration_test=include_integration_test)
        _check_expected(result, expect)
        _record(conn, result, bet.brand_id, actor, bet_id)
        return result
    return _run(engine, dry_run, work)


def recover(engine: sa.Engine, brand_name: str, since: datetime, actor: Actor, *,
            destination: str | None = None, outcome: str = "exhausted",
            include_delivered: bool = False, include_integration_test: bool = False,
            dry_run: bool = False, expect: int | None = None) -> Result:
    """Send every matching callback of the brand created since ``since`` again, oldest first,
    each bet's order kept. Bets that cannot be recovered as they stand (a callback being sent,
    a delivered one after a match without ``include_delivered``, or the Integration Test's
    bets without ``include_integration_test``) are left alone and listed.
    With ``expect``, the action is refused unless it changes exactly that many callbacks (the
    count a person confirmed)."""
    if outcome not in plans.OUTCOMES:
        raise InvalidInput(f"--outcome {outcome!r} is not one of {', '.join(plans.OUTCOMES)}",
                           field="outcome", value=outcome)

    def work(conn):
        brand = _brand(conn, brand_name)
        states = [State.EXHAUSTED]
        if "retrying" in plans.OUTCOMES[outcome]:
            states.append(State.PENDING)
        states += list(plans.ANSWERED) if include_delivered else []
        bet_ids = list(conn.execute(sql.query("actions.sql", "recover_bets"), dict(
            brand_id=brand.id, since=since, destination=destination, states=states)).scalars())
        result = Result("recover", brand.name, dry_run, parameters=_without_none(
            since=since.isoformat(), destination=destination, outcome=outcome,
            include_delivered=include_delivered or None,
            include_integration_test=include_integration_test or None))
        if bet_ids:
            conn.execute(sql.query("actions.sql", "lock_bets"), {"bet_ids": bet_ids}).all()
            now = _now(conn)
            for bet_id, group in sorted(_groups(conn, bet_ids).items()):
                chosen = {c.id for c in group if plans.matches(
                    c, since, now, outcome=outcome, destination=destination,
                    include_delivered=include_delivered)}
                try:
                    result.changes += plans.resend(
                        group, chosen, now, include_delivered=include_delivered,
                        include_integration_test=include_integration_test)
                except ActionRefused as exc:
                    result.left_alone.append((bet_id, str(exc)))
        _check_expected(result, expect)
        if not result.changes and not dry_run:
            raise WrongState(nothing_to_recover(brand.name, since, result))
        _record(conn, result, brand.id, actor, None)
        return result
    return _run(engine, dry_run, work)


def nothing_to_recover(brand: str, since: datetime, result: Result) -> str:
    alone = (f"; {len(result.left_alone)} bet(s) left alone: {result.left_alone[0][1]}"
             if result.left_alone else "")
    return f"nothing to recover for brand {brand!r} since {since.isoformat()}{alone}"


def cancel(engine: sa.Engine, bet_id: str, actor: Actor, *, request_id: str | None = None,
           dry_run: bool = False, expect: int | None = None,
           brand: str | None = None, include_integration_test: bool = False) -> Result:
    """Stop a queued callback of the bet (default: its head, and then the callbacks behind it
    too); each is marked skipped with "cancelled by <who>: <reason>". An Integration Test bet
    is refused unless ``include_integration_test``."""
    def work(conn):
        bet = _lock_bet(conn, bet_id, brand)
        group = _groups(conn, [bet_id]).get(bet_id, [])
        if not group:
            raise WrongState(f"bet {bet_id!r} has no callbacks")
        changes, whole_group = plans.cancel(
            group, who=actor.who.strip(), reason=actor.reason.strip(), request_id=request_id,
            include_integration_test=include_integration_test)
        result = Result("cancel", bet.brand, dry_run, changes=changes, whole_group=whole_group,
                        parameters=_without_none(
                            request_id=request_id,
                            include_integration_test=include_integration_test or None))
        _check_expected(result, expect)
        _record(conn, result, bet.brand_id, actor, bet_id)
        return result
    return _run(engine, dry_run, work)


def set_url(engine: sa.Engine, brand_name: str, base_url: str, actor: Actor, *,
            dry_run: bool = False) -> Result:
    """Re-route a brand: every callback sent from now on goes to ``base_url`` (the URL is read
    when a callback goes out, so everything queued follows; requests out now finish at the
    old URL).

    ``base_url`` passes the URL rule (:func:`delivery.urls.parse`). A new URL drops the brand's
    credentials (the database does so whoever changes it), so they never follow the brand to
    another host; as the owner (``callbacks brand set-url``), the credentials in ``base_url``
    are stored in their place, and the audit row says what became of them (``added``,
    ``replaced``, ``removed``, ``kept``) — never their value. A back-office role cannot read
    or write credentials: given a URL with credentials, it is refused."""
    target = urls.parse(base_url, what="URL")

    def work(conn):
        brand = _brand(conn, brand_name)
        owner = conn.execute(sql.query("actions.sql", "may_keep_url_credentials")).scalar()
        if target.credentials is not None and not owner:
            raise ActionRefused(
                f"URL {urls.redact(base_url.strip())!r} carries credentials, which only the "
                "owner may store; run `callbacks brand set-url` (the back-office cannot)")
        old = brands.url_credentials(conn, brand.id) if owner else None
        if brand.base_url == target.url and old == target.credentials:
            raise WrongState(f"brand {brand.name!r} is routed to {target.url} already"
                             + (" with these credentials" if old else ""))
        queue = conn.execute(sql.query("actions.sql", "brand_queue"),
                             {"brand_id": brand.id}).one()
        # The trail shows URLs without query values (changes.redact_url; credentials are
        # never in them) and says only what became of the credentials.
        parameters = dict(old_url=changes.redact_url(brand.base_url),
                          new_url=changes.redact_url(target.url), queued=queue.queued,
                          bets=queue.bets, in_flight=queue.in_flight)
        if old or target.credentials:
            parameters["credentials"] = _credentials_change(old, target.credentials)
        result = Result("set_url", brand.name, dry_run, parameters=parameters)
        if not dry_run:
            brands.set_base_url(conn, brand.id, target.url)
            if owner:
                brands.set_url_credentials(conn, brand.id, target.credentials)
        _record(conn, result, brand.id, actor, None, counts=(queue.queued, queue.bets))
        return result
    return _run(engine, dry_run, work)


def _credentials_change(old: str | None, new: str | None) -> str:
    """What a re-route does to the brand's URL credentials, in words (never the values)."""
    if old is None:
        return "added"
    if new is None:
        return "removed"
    return "kept" if old == new else "replaced"


def _brand(conn: sa.Connection, name: str):
    row = conn.execute(sql.query("actions.sql", "lock_brand"), {"name": name}).first()
    if row is None:
        raise UnknownBrand(f"no brand named {name!r}; `callbacks brand list` shows them",
                           field="brand", value=name)
    return row


def _without_none(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}


# --- reading --------------------------------------------------------------------------------

def for_bet(engine: sa.Engine, bet_id: str) -> list[dict]:
    """The actions taken on a bet, oldest first (``bet_callbacks``: how many of its callbacks
    each changed)."""
    with engine.connect() as conn:
        rows = conn.execute(sql.query("actions.sql", "bet_actions"), {"bet_id": bet_id})
        return [dict(r._mapping) for r in rows]


def recent(engine: sa.Engine, *, brand: str | None = None, bet_id: str | None = None,
           limit: int = 50) -> list[dict]:
    """The latest actions, newest first, of one brand or bet (or all)."""
    if bet_id is not None:
        return list(reversed(for_bet(engine, bet_id)))[:limit]
    with engine.connect() as conn:
        rows = conn.execute(sql.query("actions.sql", "recent_actions"),
                            {"brand": brand, "limit": limit})
        return [dict(r._mapping) for r in rows]


def changed_by(engine: sa.Engine, action_id: int) -> list[dict]:
    """The callbacks one action changed, with their state before and after."""
    with engine.connect() as conn:
        rows = conn.execute(sql.query("actions.sql", "action_callbacks"),
                            {"action_id": action_id})
        return [dict(r._mapping) for r in rows]


def utc(value: datetime) -> datetime:
    """A naive time is taken as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
