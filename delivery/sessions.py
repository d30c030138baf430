"""Player sessions as producers declare them: open (or refresh), close, look up, list.

While a session is live, :mod:`delivery.heartbeats` sends its brand's platform a ``/heartbeat``
with the session's Foreign-Params once per the brand's ``heartbeat_interval_s``, until the
session is closed here, reaches its end (``ttl_s`` or ``expires_at`` when opened), or the
platform says it no longer knows it (``ended_by_platform``). A session opened with no end lives
until one of the other two.

Opening a session that is live refreshes it (new Foreign-Params and end; its heartbeats go on as
scheduled); opening one that is over makes it live again, as if new. A new session's first
heartbeat is due anywhere in its first interval (:func:`delivery.heartbeats.first_delay_s`).

A session as this module returns it is a dict: ``session_id, brand, state, heartbeats_sent,
last_status, last_outcome, last_at, last_error, opened_at, refreshed_at, expires_at,
next_beat_at, failing_since, failures_in_row, ended_at, foreign_params`` — the Foreign-Params
masked with the brand's mask (:meth:`delivery.brands.Brand.mask`), never the values sent.

The checks of a producer's input (:func:`check_session_id`, :func:`check_foreign_params`,
:func:`check_ttl_s`, :func:`parse_expires_at`, :func:`expiry`, :func:`check_state`) are pure;
the rest runs the statements of ``sql/player_sessions.sql``.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

import contract
from contract import checking

from . import brands, heartbeats, statements
from .errors import InvalidInput

_FILE = "player_sessions.sql"
#: Longest session id accepted.
MAX_SESSION_ID_CHARS = 200
#: Largest Foreign-Params of a session, serialised as compact JSON (UTF-8 bytes).
MAX_FOREIGN_PARAMS_BYTES = 4096
#: Longest lifetime ``ttl_s`` may give a session (30 days).
MAX_TTL_S = 30 * 24 * 3600
#: Sessions one listing returns at most.
MAX_LIST = 10_000
#: An RFC 3339 date-time: date, time, optional fraction, and an offset (``Z`` or ``±hh:mm``).
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


# --- checks (pure) --------------------------------------------------------------------------

def check_session_id(value: object) -> str:
    """A session id: 1 to 200 printable characters (no control characters, not all blank)."""
    if (not isinstance(value, str) or not value.strip()
            or len(value) > MAX_SESSION_ID_CHARS or not value.isprintable()):
        raise InvalidInput(
            f"session_id must be 1 to {MAX_SESSION_ID_CHARS} printable characters (no control "
            f"characters, not only spaces), such as the platform's session token id; got "
            f"{checking.show(value)}", field="session_id", value=value)
    return value


def check_foreign_params(value: object) -> dict:
    """Foreign-Params of a session: a JSON object with one key or more, at most
    :data:`MAX_FOREIGN_PARAMS_BYTES` as compact JSON. Messages never show a value (they are the
    player's session secrets)."""
    if not isinstance(value, dict):
        raise InvalidInput(f"foreign_params must be a JSON object such as "
                           f'{{"token": "..."}}: the values the platform knows the player\'s '
                           f"session by, got {checking.kind_of(value)}", field="foreign_params")
    if not value:
        raise InvalidInput('foreign_params is empty; send the values the platform knows the '
                           'player\'s session by, such as {"token": "..."}',
                           field="foreign_params")
    problem = checking.check_json_text(value, "foreign_params")
    if problem:
        raise InvalidInput(f"{problem.field} {problem.problem}; send plain JSON text and "
                           "numbers (value not shown: Foreign-Params hold session secrets)",
                           field=problem.field)
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_FOREIGN_PARAMS_BYTES:
        raise InvalidInput(f"foreign_params is {size:,} bytes as JSON; at most "
                           f"{MAX_FOREIGN_PARAMS_BYTES:,} are accepted: send only what the "
                           "platform needs to know the session by", field="foreign_params")
    return value


def check_ttl_s(value: object) -> int:
    """A session's lifetime in whole seconds: 1 to :data:`MAX_TTL_S`."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_TTL_S:
        raise InvalidInput(f"ttl_s must be a whole number of seconds from 1 to {MAX_TTL_S:,} "
                           f"(30 days), such as 3600; got {checking.show(value)}. Leave it out "
                           "for a session that lives until it is closed", field="ttl_s",
                           value=value)
    return value


def parse_expires_at(value: object) -> datetime:
    """An RFC 3339 time with its offset (``2026-12-05T18:00:00Z``,
    ``2026-12-05T19:00:00+01:00``) as an aware datetime."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise InvalidInput(f"expires_at must be an RFC 3339 time with its offset, such as "
                           f"2026-12-05T18:00:00Z or 2026-12-05T19:00:00+01:00; got "
                           f"{checking.show(value)}", field="expires_at", value=value)
    try:
        return datetime.fromisoformat(re.sub("[Zz]$", "+00:00", value))
    except ValueError:
        raise InvalidInput(f"expires_at {value!r} is no calendar time (check the month, day "
                           "and hours)", field="expires_at", value=value) from None


def expiry(ttl_s: object, expires_at: object, now: datetime) -> datetime | None:
    """When a session opened at ``now`` ends: ``now + ttl_s``, ``expires_at`` (an aware
    datetime, or RFC 3339 text), or None (it lives until closed or ended by the platform).
    Both given is an error, and so is an end that is not in the future."""
    if ttl_s is not None and expires_at is not None:
        raise InvalidInput("give ttl_s or expires_at, not both: ttl_s counts from now, "
                           "expires_at names the time", field="expires_at")
    if ttl_s is not None:
        return now + timedelta(seconds=check_ttl_s(ttl_s))
    if expires_at is None:
        return None
    if not isinstance(expires_at, datetime):
        expires_at = parse_expires_at(expires_at)
    if expires_at.tzinfo is None:
        raise InvalidInput("expires_at must be a time with its offset (UTC or another), such "
                           "as 2026-12-05T18:00:00Z", field="expires_at", value=expires_at)
    if expires_at <= now:
        raise InvalidInput(f"expires_at {expires_at.isoformat()} is not in the future (now is "
                           f"{now.astimezone(UTC).isoformat()}); give a later time, "
                           "or close the session", field="expires_at",
                           value=expires_at.isoformat())
    return expires_at


def check_state(value: object) -> str | None:
    """A state to list sessions by, or None for all."""
    if value is not None and value not in contract.SESSION_STATES:
        raise InvalidInput(f"state must be one of {', '.join(contract.SESSION_STATES)}; got "
                           f"{checking.show(value)}", field="state", value=value)
    return value


def is_live(state: str, expires_at: datetime | None, now: datetime) -> bool:
    """Whether a stored session is live at ``now``: one whose end has come is over, even
    before the engine marks it expired."""
    return state == "live" and (expires_at is None or expires_at > now)


# --- the statements -------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """A session after :func:`open`: ``created`` True when it is new or live again, False when
    a live session was refreshed."""

    session: dict
    created: bool


def open(engine: sa.Engine, brand_name: str, session_id: str, foreign_params: dict, *,
         ttl_s: int | None = None, expires_at: datetime | None = None,
         now: datetime | None = None) -> Opened:
    """Open the brand's player session, or refresh it when it is live (see the module).
    :class:`~delivery.errors.UnknownBrand` or :class:`~delivery.errors.InvalidInput` naming
    the field; then nothing is written. ``now`` is the clock (tests pass their own)."""
    now = now or datetime.now(UTC)
    session_id = check_session_id(session_id)
    foreign_params = check_foreign_params(foreign_params)
    ends = expiry(ttl_s, expires_at, now)
    brand = brands.brand_named(engine, brand_name)
    sent = json.dumps(foreign_params)
    shown = json.dumps(brand.mask(brands.fingerprint_key(engine)).params(foreign_params))
    first_beat = now + timedelta(seconds=heartbeats.first_delay_s(
        brand.heartbeat_interval_s, random.random()))
    with engine.begin() as conn:
        values = dict(brand_id=brand.id, session_id=session_id, foreign_params=sent,
                      shown_params=shown, expires_at=ends, now=now)
        created = statements.run(conn, "insert_session", dict(values, next_beat_at=first_beat),
                                 filename=_FILE).first()
        if created is None:
            row = statements.run(conn, "lock_session", dict(brand_id=brand.id,
                                                            session_id=session_id),
                                 filename=_FILE).one()
            created = not is_live(row.state, row.expires_at, now)
            if created:
                statements.run(conn, "reopen_session",
                               dict(values, id=row.id, next_beat_at=first_beat), filename=_FILE)
            else:
                statements.run(conn, "refresh_session", dict(values, id=row.id), filename=_FILE)
        session = _session(conn, brand.id, session_id)
    return Opened(session, bool(created))


def close(engine: sa.Engine, brand_name: str, session_id: str, *,
          now: datetime | None = None) -> dict | None:
    """Close the brand's live session (no more heartbeats; one in flight is still recorded);
    a session over already stays as it is. The session, or None when the brand has none of
    that id."""
    brand = brands.brand_named(engine, brand_name)
    with engine.begin() as conn:
        statements.run(conn, "close_session", dict(brand_id=brand.id, session_id=session_id,
                                                   now=now or datetime.now(UTC)),
                       filename=_FILE)
        return _session(conn, brand.id, session_id)


def get(engine: sa.Engine, brand_name: str, session_id: str) -> dict | None:
    """The brand's session of that id, or None."""
    brand = brands.brand_named(engine, brand_name)
    with engine.connect() as conn:
        return _session(conn, brand.id, session_id)


def list_sessions(engine: sa.Engine, brand_name: str, *, state: str | None = None,
                  limit: int = 1000) -> list[dict]:
    """The brand's sessions (only those in ``state`` when given), the latest opened first,
    at most ``limit``."""
    state = check_state(state)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be 1 to {MAX_LIST:,}, got {checking.show(limit)}",
                           field="limit", value=limit)
    brand = brands.brand_named(engine, brand_name)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in statements.run(conn, "sessions", dict(
            brand_id=brand.id, state=state, limit=limit), filename=_FILE)]


def _session(conn: sa.Connection, brand_id: int, session_id: str) -> dict | None:
    row = statements.run(conn, "session", dict(brand_id=brand_id, session_id=session_id),
                         filename=_FILE).first()
    return None if row is None else dict(row._mapping)
