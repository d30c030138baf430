"""The only module of ``alerts`` that speaks SQL (``sql/alerts.sql``): rules, URLs, the firing
state, alert history and the notification outbox.

An evaluation is one transaction under an advisory lock, so several schedulers may run it and
only one evaluates at a time: it reads every brand's figures in one query, decides in
:func:`alerts.rules.evaluate` / :func:`~alerts.rules.transitions`, and writes each new event
with one notification per URL (the outbox) before anything is sent — nothing is lost if the
process stops, and a rule that stays firing writes nothing more.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

import sql
from delivery import urls as delivery_urls
from delivery.errors import InvalidInput
from health import figures

from . import messages, rules

log = logging.getLogger(__name__)

#: Key of the advisory lock held while evaluating.
EVALUATION_LOCK = 72_317_011


def _q(name: str) -> sa.TextClause:
    return sa.text(sql.queries("alerts.sql")[name])


# --- rules ----------------------------------------------------------------------------------

def rule_rows(conn: sa.Connection) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(_q("rules"))]


def set_rule(engine: sa.Engine, kind: str, threshold: Decimal, *, brand_id: int | None = None,
             window_s: int | None = None, enabled: bool = True) -> None:
    """Create or change a brand's rule (``brand_id`` None: the default for every brand)."""
    if kind not in rules.KINDS:
        raise InvalidInput(f"rule {kind!r} is not one of {', '.join(rules.KINDS)}",
                           field="kind", value=kind)
    with engine.begin() as conn:
        conn.execute(_q("upsert_rule"), dict(
            brand_id=brand_id, kind=kind, threshold=threshold,
            window_s=window_s if kind in rules.WINDOWED else None, enabled=enabled))


def unset_rule(engine: sa.Engine, kind: str, *, brand_id: int | None = None) -> bool:
    """Remove a brand's own rule (or the default); True when one was removed."""
    with engine.begin() as conn:
        return conn.execute(_q("delete_rule"), {"brand_id": brand_id, "kind": kind}).rowcount > 0


def brand_rules(engine: sa.Engine) -> list[tuple[dict, dict[str, rules.Rule]]]:
    """Every brand with the rules it follows."""
    with engine.connect() as conn:
        rows = rule_rows(conn)
        brands = [dict(r._mapping) for r in conn.execute(_q("brand_ids"))]
    return [(b, rules.effective(rows, b["id"])) for b in brands]


def default_rules(engine: sa.Engine) -> dict[str, rules.Rule]:
    """The rules a brand without its own follows."""
    with engine.connect() as conn:
        return rules.effective(rule_rows(conn), -1)


# --- URLs -----------------------------------------------------------------------------------

def add_url(engine: sa.Engine, url: str) -> bool:
    """Add a notification URL (it must pass the URL rule of :mod:`delivery.urls` and carry no
    credentials); False when it was there already."""
    url = delivery_urls.parse_without_credentials(
        url, what="alert URL", instead="use a receiver URL whose path or query string holds "
        "its token, as Slack's incoming webhooks do")
    with engine.begin() as conn:
        return conn.execute(_q("add_url"), {"url": url}).first() is not None


def urls(engine: sa.Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(_q("urls"))]


def remove_url(engine: sa.Engine, url_or_id: str) -> str:
    """Remove a notification URL (given as itself or its id); returns the URL removed."""
    with engine.begin() as conn:
        row = conn.execute(_q("remove_url"), {"url": url_or_id}).first()
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
        rows = rule_rows(conn)
        brands = {r.id: r.name for r in conn.execute(_q("brand_ids"))}
        by_brand = {b: rules.effective(rows, b) for b in brands}
        now = figures.read_now(conn, **rules.windows(by_brand))
        firing: dict[int, set[str]] = {}
        for r in conn.execute(_q("firing")):
            firing.setdefault(r.brand_id, set()).add(r.kind)
        targets = [u.url for u in conn.execute(_q("urls"))]
        for brand in now:
            readings = rules.evaluate(by_brand[brand.brand_id], brand)
            to_fire, to_resolve = rules.transitions(firing.get(brand.brand_id, ()), readings)
            for reading in to_fire:
                events.append(_event(conn, brand, reading, messages.FIRING, targets))
            for reading in to_resolve:
                events.append(_event(conn, brand, reading, messages.RESOLVED, targets))
    for event in events:
        log.warning("alert %s: %s %s — %s", event.status, event.brand, event.kind, event.message)
    return events


def _event(conn: sa.Connection, brand: figures.BrandNow, reading: rules.Reading, status: str,
           targets: list[str]) -> Event:
    row = conn.execute(_q("insert_event"), dict(
        brand_id=brand.brand_id, kind=reading.kind, status=status, value=reading.value,
        threshold=reading.threshold, message=reading.message,
        details=json.dumps(reading.details, default=str))).one()
    if status == messages.FIRING:
        conn.execute(_q("start_firing"), dict(brand_id=brand.brand_id, kind=reading.kind,
                                              event_id=row.id, at=row.at))
    else:
        conn.execute(_q("stop_firing"), dict(brand_id=brand.brand_id, kind=reading.kind))
    body = messages.body(event_id=row.id, status=status, brand=brand.brand, reading=reading,
                         at=row.at)
    for url in targets:
        conn.execute(_q("insert_notification"), dict(
            event_id=row.id, url=url, body=json.dumps(body, default=str)))
    return Event(row.id, brand.brand, reading.kind, status, reading.message, len(targets))


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
                for r in conn.execute(_q("claim_notifications"),
                                      {"lease_s": lease_s, "limit": limit})]


def record_attempt(engine: sa.Engine, notification: Notification, *, started_at: datetime,
                   duration_ms: float, response_status: int | None, error: str | None,
                   state: str, next_attempt_at: datetime | None) -> None:
    """One notification request, recorded, and the notification's next state."""
    attempt_no = notification.attempts + 1
    with engine.begin() as conn:
        conn.execute(_q("insert_notification_attempt"), dict(
            id=notification.id, attempt_no=attempt_no, started_at=started_at,
            duration_ms=duration_ms, response_status=response_status, error=error))
        conn.execute(_q("finish_notification"), dict(
            id=notification.id, state=state, attempt_no=attempt_no,
            response_status=response_status, error=error, next_attempt_at=next_attempt_at))


def next_due_in_s(engine: sa.Engine) -> float | None:
    with engine.connect() as conn:
        value = conn.execute(_q("next_notification_due_in_s")).scalar()
    return None if value is None else float(value)


# --- history --------------------------------------------------------------------------------

def history(conn: sa.Connection, *, brand_id: int | None = None, limit: int = 50) -> list[dict]:
    """Alert events newest first, with their notifications' progress."""
    return [dict(r._mapping) for r in conn.execute(_q("history"),
                                                   {"brand_id": brand_id, "limit": limit})]


def notification_attempts(conn: sa.Connection, event_id: int) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(_q("notification_attempts"),
                                                   {"event_id": event_id})]
