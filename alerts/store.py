"""The only module of ``alerts`` that speaks SQL (``sql/alerts.sql``): rules, URLs, the firing
state, alert history and the notification outbox.

An evaluation is one transaction under an advisory lock, so several schedulers may run it and
only one evaluates at a time: it reads every brand's figures in one query, decides in
:func:`alerts.rules.evaluate` / :func:`~alerts.rules.decide`, and writes each new event
with one notification per URL (the outbox) before anything is sent — nothing is lost if the
process stops, and a rule that stays firing writes nothing more (nor does a flapping one).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

import sql
from delivery import audit, changes
from delivery import urls as delivery_urls
from delivery.errors import InvalidInput
from health import figures

from . import messages, rules

log = logging.getLogger(__name__)

#: Key of the advisory lock held while evaluating.
EVALUATION_LOCK = 72_317_011


# --- rules ----------------------------------------------------------------------------------

def rule_rows(conn: sa.Connection) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(sql.query("alerts.sql", "rules"))]


def set_rule(engine: sa.Engine, kind: str, threshold: Decimal, *, brand_id: int | None = None,
             window_s: int | None = None, enabled: bool = True,
             resolve_below: Decimal | None = None, quiet_s: int | None = None,
             min_attempts: int | None = None,
             actor: audit.Actor | None = None, reason: str | None = None) -> None:
    """Create or change a brand's rule (``brand_id`` None: the default for every brand);
    recorded as ``alert_rule.set`` with ``actor``. ``resolve_below``, ``quiet_s`` and
    ``min_attempts`` None: the built-in defaults (see :mod:`alerts.rules`)."""
    if kind not in rules.KINDS:
        raise InvalidInput(f"rule {kind!r} is not one of {', '.join(rules.KINDS)}",
                           field="kind", value=kind)
    if resolve_below is not None and resolve_below > threshold:
        raise InvalidInput(f"resolve_below {resolve_below} is above the threshold {threshold}: "
                           "a rule resolves at or below where it fires",
                           field="resolve_below", value=str(resolve_below))
    window_s = window_s if kind in rules.WINDOWED else None
    min_attempts = min_attempts if kind in rules.PERCENT else None
    with engine.begin() as conn:
        before = _own_rule(conn, brand_id, kind) if actor is not None else None
        conn.execute(sql.query("alerts.sql", "upsert_rule"), dict(
            brand_id=brand_id, kind=kind, threshold=threshold, window_s=window_s,
            enabled=enabled, resolve_below=resolve_below, quiet_s=quiet_s,
            min_attempts=min_attempts))
        if actor is not None:
            after = _without_none(threshold=threshold, window_s=window_s, enabled=enabled,
                                  resolve_below=resolve_below, quiet_s=quiet_s,
                                  min_attempts=min_attempts)
            audit.record(conn, actor=actor, kind="alert_rule.set", brand_id=brand_id,
                         subject=_rule_subject(conn, brand_id, kind), before=before,
                         after=after, reason=reason)


def unset_rule(engine: sa.Engine, kind: str, *, brand_id: int | None = None,
               actor: audit.Actor | None = None, reason: str | None = None) -> bool:
    """Remove a brand's own rule (or the default); True when one was removed (recorded as
    ``alert_rule.unset`` with ``actor``)."""
    with engine.begin() as conn:
        before = _own_rule(conn, brand_id, kind) if actor is not None else None
        removed = conn.execute(sql.query("alerts.sql", "delete_rule"), {"brand_id": brand_id,
                                                   "kind": kind}).rowcount > 0
        if removed and actor is not None:
            audit.record(conn, actor=actor, kind="alert_rule.unset", brand_id=brand_id,
                         subject=_rule_subject(conn, brand_id, kind), before=before,
                         reason=reason)
        return removed


def _own_rule(conn: sa.Connection, brand_id: int | None, kind: str) -> dict | None:
    row = conn.execute(sql.query("alerts.sql", "own_rule"),
                       {"brand_id": brand_id, "kind": kind}).first()
    return None if row is None else _without_none(
        threshold=row.threshold, window_s=row.window_s, enabled=row.enabled,
        resolve_below=row.resolve_below, quiet_s=row.quiet_s, min_attempts=row.min_attempts)


def _without_none(**values) -> dict:
    """The audit trail's view of a rule: unset options (defaults) left out, as before."""
    return {k: v for k, v in values.items() if v is not None or k == "window_s"}


def _rule_subject(conn: sa.Connection, brand_id: int | None, kind: str) -> str:
    if brand_id is None:
        return f"{kind} (default of every brand)"
    brand = conn.execute(sql.query("alerts.sql", "brand_name"), {"brand_id": brand_id}).scalar()
    return f"{kind} of {brand}"


def brand_rules(engine: sa.Engine) -> list[tuple[dict, dict[str, rules.Rule]]]:
    """Every brand with the rules it follows."""
    with engine.connect() as conn:
        rows = rule_rows(conn)
        brands = [dict(r._mapping) for r in conn.execute(sql.query("alerts.sql", "brand_ids"))]
    return [(b, rules.effective(rows, b["id"])) for b in brands]


def default_rules(engine: sa.Engine) -> dict[str, rules.Rule]:
    """The rules a brand without its own follows."""
    with engine.connect() as conn:
        return rules.effective(rule_rows(conn), -1)


# --- URLs -----------------------------------------------------------------------------------

def add_url(engine: sa.Engine, url: str, *, actor: audit.Actor | None = None,
            reason: str | None = None) -> bool:
    """Add a notification URL (it must pass the URL rule of :mod:`delivery.urls` and carry no
    credentials); False when it was there already. Recorded as ``alert_url.add`` with
    ``actor``: the URL is a credential, so the trail keeps its id and host only."""
    url = delivery_urls.parse_without_credentials(
        url, what="alert URL", instead="use a receiver URL whose path or query string holds "
        "its token, as Slack's incoming webhooks do")
    with engine.begin() as conn:
        added = conn.execute(sql.query("alerts.sql", "add_url"), {"url": url}).first()
        if added is not None and actor is not None:
            audit.record(conn, actor=actor, kind="alert_url.add", brand_id=None,
                         subject=_url_subject(added.id, url),
                         after={"url": changes.webhook_url(url)}, reason=reason, secrets=(url,))
        return added is not None


def _url_subject(url_id: int, url: str) -> str:
    return f"alert URL #{url_id} ({changes.webhook_url(url)})"


def urls(engine: sa.Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sql.query("alerts.sql", "urls"))]


def remove_url(engine: sa.Engine, url_or_id: str, *, actor: audit.Actor | None = None,
               reason: str | None = None) -> str:
    """Remove a notification URL (given as itself or its id); returns the URL removed.
    Recorded as ``alert_url.remove`` with ``actor`` (id and host only)."""
    with engine.begin() as conn:
        row = conn.execute(sql.query("alerts.sql", "remove_url"), {"url": url_or_id}).first()
        if row is not None and actor is not None:
            audit.record(conn, actor=actor, kind="alert_url.remove", brand_id=None,
                         subject=_url_subject(row.id, row.url),
                         before={"url": changes.webhook_url(row.url)}, reason=reason,
                         secrets=(row.url,))
    if row is None:
        known = ", ".join(f"{u['id']}" for u in urls(engine)) or "none"
        shown = delivery_urls.redact(url_or_id)
        raise InvalidInput(f"no alert URL {shown!r} (ids: {known}); see `callbacks alert "
                           "url list`", field="url", value=shown)
    return row.url


# --- evaluation -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    id: int
    brand: str
    kind: str
    status: str
    message: str
    notifications: int


def evaluate(engine: sa.Engine) -> list[Event] | None:
    """Evaluate every brand's rules once; the events written (None when another process was
    evaluating at that moment)."""
    events = []
    with engine.begin() as conn:
        if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"),
                            {"k": EVALUATION_LOCK}).scalar():
            return None
        at = conn.execute(sa.text("SELECT now()")).scalar_one()
        rows = rule_rows(conn)
        brands = {r.id: r.name for r in conn.execute(sql.query("alerts.sql", "brand_ids"))}
        by_brand = {b: rules.effective(rows, b) for b in brands}
        now = figures.read_now(conn, **rules.windows(by_brand))
        firing = {(r.brand_id, r.kind): r for r in conn.execute(sql.query("alerts.sql",
                                                                          "firing"))}
        flapping = {(r.brand_id, r.kind) for r in conn.execute(sql.query("alerts.sql",
                                                                         "flapping"))}
        fires = {(r.brand_id, r.kind): r.fires for r in conn.execute(
            sql.query("alerts.sql", "recent_fires"), {"window_s": rules.FLAPPING_WINDOW_S})}
        targets = [u.url for u in conn.execute(sql.query("alerts.sql", "urls"))]
        for brand in now:
            brand_rules = by_brand[brand.brand_id]
            for kind, reading in rules.evaluate(brand_rules, brand).items():
                key = (brand.brand_id, kind)
                was = firing.get(key)
                state = rules.State(was and was.since, was and was.clear_since,
                                    key in flapping, fires.get(key, 0))
                decision = rules.decide(brand_rules[kind], reading, state, at)
                event = _apply(conn, brand, reading, state, decision, targets)
                if event is not None:
                    events.append(event)
    for event in events:
        log.warning("alert %s: %s %s — %s", event.status, event.brand, event.kind, event.message)
    return events


def _apply(conn: sa.Connection, brand: figures.BrandNow, reading: rules.Reading,
           state: rules.State, decision: rules.Decision, targets: list[str]) -> Event | None:
    """Write what :func:`alerts.rules.decide` decided for one brand's rule."""
    key = dict(brand_id=brand.brand_id, kind=reading.kind)
    after = decision.state
    if after.flapping and not state.flapping:
        conn.execute(sql.query("alerts.sql", "start_flapping"), key)
    elif state.flapping and not after.flapping:
        conn.execute(sql.query("alerts.sql", "stop_flapping"), key)
    if decision.event is None:
        if after.firing_since is not None and after.clear_since != state.clear_since:
            conn.execute(sql.query("alerts.sql", "set_clear_since"),
                         dict(key, clear_since=after.clear_since))
        return None
    return _event(conn, brand, reading, decision, targets)


def _event(conn: sa.Connection, brand: figures.BrandNow, reading: rules.Reading,
           decision: rules.Decision, targets: list[str]) -> Event:
    status = decision.event
    if decision.settled:
        reading = replace(reading, message=f"settled after flapping; {reading.message}")
    elif decision.notify == rules.FLAPPING:
        reading = replace(reading, message=(
            f"flapping: fired {decision.state.recent_fires} times within "
            f"{rules.duration(rules.FLAPPING_WINDOW_S)}; no more notifications until it "
            f"settles; {reading.message}"))
    row = conn.execute(sql.query("alerts.sql", "insert_event"), dict(
        brand_id=brand.brand_id, kind=reading.kind, status=status, value=reading.value,
        threshold=reading.threshold, message=reading.message,
        details=json.dumps(reading.details, default=str), flapping=decision.flapping,
        notified=decision.notify is not None)).one()
    if status == messages.FIRING:
        conn.execute(sql.query("alerts.sql", "start_firing"),
                     dict(brand_id=brand.brand_id, kind=reading.kind, event_id=row.id,
                          at=row.at))
    elif not decision.settled:
        conn.execute(sql.query("alerts.sql", "stop_firing"),
                     dict(brand_id=brand.brand_id, kind=reading.kind))
    sent = targets if decision.notify is not None else []
    if sent:
        body = messages.body(event_id=row.id, status=decision.notify, brand=brand.brand,
                             reading=reading, at=row.at)
        for url in sent:
            conn.execute(sql.query("alerts.sql", "insert_notification"), dict(
                event_id=row.id, url=url, body=json.dumps(body, default=str)))
    return Event(row.id, brand.brand, reading.kind, status, reading.message, len(sent))


# --- the outbox -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Notification:
    id: int
    event_id: int
    url: str
    body: dict
    attempts: int


def claim_notifications(engine: sa.Engine, *, lease_s: float, limit: int = 20
                        ) -> list[Notification]:
    with engine.begin() as conn:
        return [Notification(r.id, r.event_id, r.url, r.body, r.attempts)
                for r in conn.execute(sql.query("alerts.sql", "claim_notifications"),
                                      {"lease_s": lease_s, "limit": limit})]


def record_attempt(engine: sa.Engine, notification: Notification, *, started_at: datetime,
                   duration_ms: float, response_status: int | None, error: str | None,
                   state: str, next_attempt_at: datetime | None) -> None:
    """One notification request, recorded, and the notification's next state."""
    attempt_no = notification.attempts + 1
    with engine.begin() as conn:
        conn.execute(sql.query("alerts.sql", "insert_notification_attempt"), dict(
            id=notification.id, attempt_no=attempt_no, started_at=started_at,
            duration_ms=duration_ms, response_status=response_status, error=error))
        conn.execute(sql.query("alerts.sql", "finish_notification"), dict(
            id=notification.id, state=state, attempt_no=attempt_no,
            response_status=response_status, error=error, next_attempt_at=next_attempt_at))


def next_due_in_s(engine: sa.Engine) -> float | None:
    with engine.connect() as conn:
        value = conn.execute(sql.query("alerts.sql", "next_notification_due_in_s")).scalar()
    return None if value is None else float(value)


# --- history --------------------------------------------------------------------------------

def firing_now(conn: sa.Connection, brand_id: int | None = None) -> list[dict]:
    """The rules firing now (of one brand, or of all), with the event that started each."""
    return [dict(r._mapping) for r in conn.execute(sql.query("alerts.sql", "firing_now"),
                                                   {"brand_id": brand_id})]


def history(conn: sa.Connection, *, brand_id: int | None = None, limit: int = 50) -> list[dict]:
    """Alert events newest first, with their notifications' progress."""
    return [dict(r._mapping) for r in conn.execute(sql.query("alerts.sql", "history"),
                                                   {"brand_id": brand_id, "limit": limit})]


def notification_attempts(conn: sa.Connection, event_id: int) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(sql.query("alerts.sql", "notification_attempts"),
                                                   {"event_id": event_id})]
