"""Secrets of this installation, kept in PostgreSQL where only the owner can read them
(migration 016), and the HMAC that uses them.

:data:`SCOPE` signs the back-office's brand scopes, which the row-level security policies verify;
:data:`FINGERPRINT` keys the short fingerprints of masked values; :data:`SESSION_COOKIE` signs
back-office session cookies. ``hmac_sha256`` here and ``callbacks_hmac_sha256`` in SQL give the
same bytes, so a value signed by one is verified by the other.
"""
from __future__ import annotations

import functools
import hashlib
import hmac

import sqlalchemy as sa

#: Key names (rows of installation_keys).
SCOPE = "back_office_scope"
FINGERPRINT = "mask_fingerprint"
SESSION_COOKIE = "session_cookie"


def installation_key(conn: sa.Connection, name: str) -> bytes:
    """The key called ``name`` (made on first use). Needs the owner's connection."""
    return bytes(conn.execute(sa.text("SELECT installation_key(:name)"),
                              {"name": name}).scalar_one())


def hmac_sha256(key: bytes, message: str | bytes) -> bytes:
    """HMAC-SHA-256 of ``message`` (UTF-8 when text)."""
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(key, data, hashlib.sha256).digest()


@functools.lru_cache(maxsize=64)
def cached_key(engine: sa.Engine, name: str) -> bytes:
    """:func:`installation_key` read once per process and engine (keys never change)."""
    with engine.begin() as conn:
        return installation_key(conn, name)
