"""Signed-in back-office sessions: the cookie a browser keeps, and the rows that say it is live.

A session is a random id. The browser holds it in an ``HttpOnly``, ``SameSite=Lax`` cookie::

    v1.<session id>.<expiry, Unix seconds>.<HMAC-SHA-256 of the three, base64url>

signed with the installation key ``session_cookie`` (:mod:`delivery.keys`, readable by the
database owner only). The database keeps the SHA-256 of the id in ``back_office_sessions``
(migration 021). A cookie is accepted when its signature is right, its expiry is ahead and its
row still exists: sign-out deletes the row, a new password or the user's removal deletes every
row of the user, so a cookie copied before any of these is refused even though it verifies.

The format and its checks are pure functions of values (:func:`sign`, :func:`read`); the rest
is the store, run as the owner (:func:`start`, :func:`user_name`, :func:`end`, :func:`end_all`).
No Streamlit here: :mod:`dashboard.gate` sets the cookie, :mod:`dashboard.auth` reads it in page
runs.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

import sql
from delivery import audit, keys

from .store import UnknownUser

#: The cookie's name.
COOKIE_NAME = "callbacks_desk_session"
#: How long a sign-in lasts, whatever is done meanwhile: a working day, so a forgotten tab is
#: signed out overnight (``DASHBOARD_SESSION_HOURS`` changes it).
SESSION_TTL_S = 12 * 3600
#: Longest session ``DASHBOARD_SESSION_HOURS`` may ask for: a week.
MAX_SESSION_TTL_S = 7 * 24 * 3600
#: Bytes of randomness in a session id (256 bits, from the operating system's CSPRNG).
SESSION_ID_BYTES = 32

_VERSION = "v1"
#: Signed before the cookie's fields, so this key's HMAC of anything else never passes for one.
_PURPOSE = "callbacks-desk back-office session|"


@dataclass(frozen=True)
class Ticket:
    """What a verified cookie says: the session id and when it expires (Unix seconds)."""

    session_id: str
    expires_at: int


def new_session_id() -> str:
    """A fresh random session id (base64url, no dots)."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def id_hash(session_id: str) -> bytes:
    """What the database keeps of a session id."""
    return hashlib.sha256(session_id.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signature(key: bytes, payload: str) -> str:
    return _b64(keys.hmac_sha256(key, _PURPOSE + payload))


def sign(key: bytes, ticket: Ticket) -> str:
    """The cookie value for ``ticket``."""
    payload = f"{_VERSION}.{ticket.session_id}.{ticket.expires_at}"
    return f"{payload}.{_signature(key, payload)}"


def read(key: bytes, value: str | None, now_s: float) -> Ticket | None:
    """The ticket in a cookie value, or None when it is missing, malformed, signed with another
    key or expired at ``now_s``. Says nothing of the session's row: see :func:`user_name`."""
    if not value or len(value) > 256:
        return None
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != _VERSION:
        return None
    version, session_id, expires, signature = parts
    if not expires.isdigit() or not session_id:
        return None
    expected = _signature(key, f"{version}.{session_id}.{expires}")
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    if int(expires) <= now_s:
        return None
    return Ticket(session_id, int(expires))


def ttl_s(env) -> int:
    """The session lifetime: ``DASHBOARD_SESSION_HOURS`` (0.25 to 168) or :data:`SESSION_TTL_S`.
    A value that is not a number is an error, not a silent default."""
    raw = (env.get("DASHBOARD_SESSION_HOURS") or "").strip()
    if not raw:
        return SESSION_TTL_S
    try:
        hours = float(raw)
    except ValueError:
        raise ValueError(f"DASHBOARD_SESSION_HOURS={raw!r} is not a number of hours") from None
    seconds = int(hours * 3600)
    if not 900 <= seconds <= MAX_SESSION_TTL_S:
        raise ValueError(f"DASHBOARD_SESSION_HOURS={raw!r} must be between 0.25 and "
                         f"{MAX_SESSION_TTL_S // 3600}")
    return seconds


def set_cookie_header(value: str, *, max_age_s: int, secure: bool) -> str:
    """The ``Set-Cookie`` value that stores a session cookie for the whole site."""
    return (f"{COOKIE_NAME}={value}; Path=/; Max-Age={max_age_s}; HttpOnly; SameSite=Lax"
            + ("; Secure" if secure else ""))


def clear_cookie_header(*, secure: bool) -> str:
    """The ``Set-Cookie`` value that makes the browser drop the session cookie."""
    return (f"{COOKIE_NAME}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
            "HttpOnly; SameSite=Lax" + ("; Secure" if secure else ""))


# --- the store (the owner's connection) ----------------------------------------------------

def _key(engine: sa.Engine) -> bytes:
    return keys.cached_key(engine, keys.SESSION_COOKIE)


def start(engine: sa.Engine, name: str, *, address: str | None = None,
          lifetime_s: int = SESSION_TTL_S, now_s: float | None = None) -> str | None:
    """Open a session for the user called ``name``; the cookie value, or None when there is
    no such user. Sessions already expired are deleted on the way."""
    now_s = time.time() if now_s is None else now_s
    ticket = Ticket(new_session_id(), int(now_s) + lifetime_s)
    with engine.begin() as conn:
        conn.execute(sql.query("sessions.sql", "forget_expired"))
        row = conn.execute(sql.query("sessions.sql", "start"),
                           {"id_hash": id_hash(ticket.session_id),
                                         "name": name, "address": address,
                                         "expires_at": ticket.expires_at}).first()
    return None if row is None else sign(_key(engine), ticket)


def user_name(engine: sa.Engine, cookie: str | None, *,
              now_s: float | None = None) -> str | None:
    """The name of the user whose live session ``cookie`` names, or None (no cookie, a forged
    or expired one, or a session ended by sign-out, a new password or the user's removal)."""
    ticket = read(_key(engine), cookie, time.time() if now_s is None else now_s)
    if ticket is None:
        return None
    with engine.connect() as conn:
        return conn.execute(sql.query("sessions.sql", "user_name"),
                            {"id_hash": id_hash(ticket.session_id)}).scalar()


def end(engine: sa.Engine, cookie: str | None) -> None:
    """End the session ``cookie`` names (sign-out); a cookie that does not verify ends nothing."""
    ticket = read(_key(engine), cookie, time.time())
    if ticket is not None:
        with engine.begin() as conn:
            conn.execute(sql.query("sessions.sql", "end"), {"id_hash": id_hash(ticket.session_id)})


def end_all(engine: sa.Engine, name: str, *, actor: audit.Actor | None = None,
            reason: str | None = None) -> int:
    """End every session of the user called ``name`` (``callbacks user sign-out``); how many
    there were. :class:`accounts.UnknownUser` when there is no such user. Recorded as
    ``user.sign_out`` with ``actor``."""
    with engine.begin() as conn:
        if conn.execute(sql.query("sessions.sql", "user_exists"), {"name": name}).first() is None:
            raise UnknownUser(f"no back-office user called {name!r}; `callbacks user list` "
                              "shows them")
        ended = conn.execute(sql.query("sessions.sql", "end_all"), {"name": name}).rowcount
        if actor is not None:
            audit.record(conn, actor=actor, kind="user.sign_out", brand_id=None, subject=name,
                         after={"sessions_ended": ended}, reason=reason)
        return ended


def live_count(engine: sa.Engine, name: str) -> int:
    """How many unexpired sessions the user called ``name`` has."""
    with engine.connect() as conn:
        return int(conn.execute(sql.query("sessions.sql", "count_of_user"),
                                {"name": name}).scalar_one())
