"""Signed brand scopes for tests that query as a back-office role outside the dashboard's
engines: the statement the dashboard would make (see dashboard.connection.scope_statement)."""
from __future__ import annotations

import time

import sqlalchemy as sa

from dashboard import connection
from delivery import keys


def statement(owner: sa.Engine, conn: sa.Connection, brands: str, *,
              now_s: float | None = None) -> str:
    """A scope of ``brands`` signed for ``conn``'s backend, valid from ``now_s`` (default now)."""
    pid = conn.connection.dbapi_connection.get_backend_pid()
    return connection.scope_statement(keys.cached_key(owner, keys.SCOPE), brands, pid,
                                      time.time() if now_s is None else now_s)


def set_scope(owner: sa.Engine, conn: sa.Connection, brands: str, *,
              local: bool = True) -> None:
    """Let ``conn`` see ``brands`` (``*``, ``3,7`` or empty) for its transaction, or for the
    session when ``local`` is false."""
    conn.exec_driver_sql("SELECT set_config(%s, %s, %s)",
                         (connection.SCOPE_SETTING, statement(owner, conn, brands), local))


def key_of(owner: sa.Engine):
    """The ``key`` argument of the dashboard's engines for the database ``owner`` owns."""
    return lambda: keys.cached_key(owner, keys.SCOPE)
