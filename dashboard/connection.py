"""Where the dashboard reads from: the same database as everything else, as a read-only role.

``DASHBOARD_DATABASE_URL`` wins when set. Otherwise the owner URL comes from the usual settings
(``DATABASE_URL``, or the embedded server) and the dashboard logs in to the same host and
database as ``callbacks_reader``, the SELECT-only role that migration 002 creates.

Every transaction of a dashboard engine starts with a signed statement of the brands the
signed-in user may see (``callbacks.scope``, see :func:`scope_statement`). PostgreSQL's row-level
security verifies it (migration 022) and shows only those brands' rows, whatever a page asks
for; a back-office role cannot make such a statement itself, since the key is the owner's. No
one signed in: nothing is visible. Password hashes and the key are read through the owner's
connection (:func:`owner_engine`), never through the pages' roles.
"""
from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable

import sqlalchemy as sa

from delivery import database, keys, settings
from delivery.errors import CallbackDeskError

#: The PostgreSQL role the pages query as (created by sql/migrations/002_dashboard.sql).
READER_ROLE = "callbacks_reader"
#: The role the Integration Test page records runs as: it may insert a run of the brand in
#: hand, with its cases, steps and test traffic, and nothing else (migration 014).
BATTERY_ROLE = "callbacks_battery"
#: The role the Reconcile page records reconciliations as: it may add a reconciliation (and its
#: bets) of a brand in its verified scope, and nothing else (migration 026).
RECONCILER_ROLE = "callbacks_reconciler"
#: A page query that runs longer than this is cancelled rather than left to pile up.
STATEMENT_TIMEOUT_MS = 20_000
#: The dashboard's server gives up on a database that sends nothing for this long: a server that
#: answers at all has cancelled a page query by then (see :mod:`delivery.stalls`; set up in
#: ``dashboard/asgi.py``).
QUIET_LIMIT_S = STATEMENT_TIMEOUT_MS / 1000 + 5
#: The setting the row-level security policies verify: a signed statement of the brands this
#: connection may see (see :func:`scope_statement`).
SCOPE_SETTING = "callbacks.scope"
#: Seconds a signed scope stays valid; every transaction gets a new one.
SCOPE_TTL_S = 600


class DashboardUnavailable(CallbackDeskError):
    """The dashboard cannot read the database; the message says what to run or set."""


def reader_url(owner_url: str, role: str = READER_ROLE) -> str:
    """The owner's URL with the user swapped for the read-only role (or ``role``; no password:
    the role logs in by the server's trust or peer rules; set DASHBOARD_DATABASE_URL,
    DASHBOARD_BATTERY_DATABASE_URL or DASHBOARD_RECONCILER_DATABASE_URL otherwise)."""
    url = sa.make_url(database.sqlalchemy_url(owner_url))
    reader = sa.engine.URL.create(url.drivername, username=role, host=url.host,
                                  port=url.port, database=url.database, query=url.query)
    return reader.render_as_string(hide_password=False)


def dashboard_url(env: dict | None = None) -> str:
    """The URL page queries use: DASHBOARD_DATABASE_URL, else the reader form of the owner URL."""
    env = os.environ if env is None else env
    explicit = env.get("DASHBOARD_DATABASE_URL")
    if explicit:
        return database.sqlalchemy_url(explicit)
    return reader_url(database.database_url(settings.from_env(env)))


def owner_url(env: dict | None = None) -> str:
    """The owner's URL, ``DATABASE_URL`` (``callbacks dashboard`` passes it on, the embedded
    server's included). The dashboard uses it only for what no back-office role may read:
    accounts' password hashes and installation keys."""
    env = os.environ if env is None else env
    url = settings.from_env(env).database_url
    if not url:
        raise DashboardUnavailable(
            "DATABASE_URL is not set: the dashboard reads accounts and the key that signs "
            "brand scopes through the owner's connection. Start it with `callbacks dashboard` "
            "(which passes it on) or set DATABASE_URL.")
    return database.sqlalchemy_url(url)


def owner_engine(url: str | None = None) -> sa.Engine:
    """A tiny pool on the owner's URL (default: :func:`owner_url`), one per URL and process."""
    return _owner_engine(url or owner_url())


@functools.cache
def _owner_engine(url: str) -> sa.Engine:
    return database.make_engine(url, pool_size=2, connect_timeout_s=database.CONNECT_TIMEOUT_S)


def scope_key() -> bytes:
    """The key that signs brand scopes (read once per process through the owner)."""
    return keys.cached_key(owner_engine(), keys.SCOPE)


def scope_statement(key: bytes, brands: str, backend_pid: int, now_s: float) -> str:
    """The value of ``callbacks.scope`` that lets the connection with this backend pid see
    ``brands`` (``*``, ``3,7`` or empty: none) for :data:`SCOPE_TTL_S` from ``now_s``. The
    row-level security policies grant exactly that once ``back_office_scope()`` (migration
    022) has verified the signature; a back-office role cannot make one."""
    signed = f"v1;{int(backend_pid)};{int(now_s) + SCOPE_TTL_S};{brands}"
    return f"{signed};{keys.hmac_sha256(key, signed).hex()}"


def limit_to_brands(engine: sa.Engine, brands: Callable[[], str],
                    key: Callable[[], bytes] | None = None) -> None:
    """Start every transaction of ``engine`` with a scope of ``brands()`` signed with
    ``key()`` (default: :func:`scope_key`, read through the owner's URL)."""
    signing_key = key or scope_key

    @sa.event.listens_for(engine, "begin")
    def _sign_scope(conn: sa.Connection) -> None:
        pid = conn.connection.dbapi_connection.get_backend_pid()
        statement = scope_statement(signing_key(), brands(), pid, time.time())
        conn.exec_driver_sql("SELECT set_config(%s, %s, true)", (SCOPE_SETTING, statement))


def _role_url(env: dict | None, variable: str, role: str) -> str:
    """``variable`` when set, else the owner's URL with the user swapped for ``role``."""
    env = os.environ if env is None else env
    explicit = env.get(variable)
    if explicit:
        return database.sqlalchemy_url(explicit)
    return reader_url(database.database_url(settings.from_env(env)), role)


def _one_brand_engine(url: str, brand_id: int, name: str,
                      key: Callable[[], bytes] | None) -> sa.Engine:
    """A one-connection engine whose transactions see (and may write) one brand only; not
    read-only, unlike :func:`make_engine`. ``name`` shows in ``pg_stat_activity``."""
    engine = sa.create_engine(
        database.sqlalchemy_url(url), pool_pre_ping=True, pool_size=1, max_overflow=1,
        connect_args={"application_name": f"callbacks-dashboard-{name}",
                      "connect_timeout": database.CONNECT_TIMEOUT_S,
                      "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"})
    setting = brands_setting([brand_id])
    limit_to_brands(engine, lambda: setting, key)
    return engine


def battery_url(env: dict | None = None) -> str:
    """The URL the Integration Test page records runs through: DASHBOARD_BATTERY_DATABASE_URL,
    else the owner URL with the user swapped for callbacks_battery."""
    return _role_url(env, "DASHBOARD_BATTERY_DATABASE_URL", BATTERY_ROLE)


def battery_engine(url: str, brand_id: int,
                   key: Callable[[], bytes] | None = None) -> sa.Engine:
    """A one-connection engine that records runs of one brand: its transactions see (and may
    write) that brand only."""
    return _one_brand_engine(url, brand_id, "battery", key)


def reconciler_url(env: dict | None = None) -> str:
    """The URL the Reconcile page records reconciliations through:
    DASHBOARD_RECONCILER_DATABASE_URL, else the owner URL with the user swapped for
    callbacks_reconciler."""
    return _role_url(env, "DASHBOARD_RECONCILER_DATABASE_URL", RECONCILER_ROLE)


def reconciler_engine(url: str, brand_id: int,
                      key: Callable[[], bytes] | None = None) -> sa.Engine:
    """A one-connection engine that records reconciliations of one brand: its transactions see
    (and may add to) that brand only."""
    return _one_brand_engine(url, brand_id, "reconciler", key)


#: The PostgreSQL role the back-office acts as (retry, cancel; created by migration 009).
OPERATOR_ROLE = "callbacks_operator"


def operator_url(env: dict | None = None) -> str:
    """The URL the integration manager's actions use: DASHBOARD_OPERATOR_DATABASE_URL, else
    the owner's URL with the user swapped for ``callbacks_operator``."""
    return _role_url(env, "DASHBOARD_OPERATOR_DATABASE_URL", OPERATOR_ROLE)


def make_operator_engine(url: str, brands: Callable[[], str] | None = None,
                         key: Callable[[], bytes] | None = None) -> sa.Engine:
    """A tiny pool for actions: they write, briefly, and time out rather than wait long. Like
    the pages' engine, each transaction sees (and may change) only the brands ``brands()``
    names (default: the signed-in user's)."""
    engine = sa.create_engine(
        database.sqlalchemy_url(url), pool_pre_ping=True, pool_size=1, max_overflow=2,
        connect_args={"application_name": "callbacks-dashboard-actions",
                      "connect_timeout": database.CONNECT_TIMEOUT_S,
                      "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"})
    limit_to_brands(engine, brands or _signed_in_brands, key)
    return engine


def brands_setting(brand_ids) -> str:
    """The brands part of a scope for these brand ids (None: every brand)."""
    if brand_ids is None:
        return "*"
    return ",".join(str(int(i)) for i in sorted(brand_ids))


def _signed_in_brands() -> str:
    # Imported here: auth reads accounts through this module's engines.
    from dashboard.auth import brands_setting_now

    return brands_setting_now()


def make_engine(url: str, brands: Callable[[], str] | None = None,
                key: Callable[[], bytes] | None = None) -> sa.Engine:
    """A small pool whose sessions are read-only and time out instead of piling up, and whose
    transactions see the brands ``brands()`` names (default: the signed-in user's).

    JIT is off: page queries return tens of rows, and compiling them cost more than running
    them (1.6 s of JIT for 0.1 s of work on a rare history filter at 10 million attempts).
    """
    engine = sa.create_engine(
        database.sqlalchemy_url(url), pool_pre_ping=True, pool_size=4, max_overflow=4,
        connect_args={
            "application_name": "callbacks-dashboard",
            "connect_timeout": database.CONNECT_TIMEOUT_S,
            "options": f"-c default_transaction_read_only=on -c jit=off "
                       f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        })
    limit_to_brands(engine, brands or _signed_in_brands, key)
    return engine


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database is unavailable, in one line, when ``exc`` says it is — it could not be
    reached, the connection broke, a statement was cut off, or every connection of the pool is
    busy (worth trying again shortly) — else None (a wrong statement, a refused change)."""
    if isinstance(exc, sa.exc.TimeoutError):
        return "every database connection is busy"
    if isinstance(exc, sa.exc.DBAPIError) and database.connection_lost(exc):
        text = str(exc.orig if exc.orig is not None else exc).strip()
        return text.splitlines()[0].strip() if text else type(exc.orig).__name__
    return None


def check(engine: sa.Engine) -> None:
    """Raise :class:`DashboardUnavailable` with a fix when the database cannot be read."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1 FROM brands LIMIT 1"))
    except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
        reason = unavailable_reason(exc)
        if reason is not None:
            raise DashboardUnavailable(
                f"database unavailable: cannot connect to "
                f"{database.redact_url(engine.url.render_as_string())} as "
                f"{engine.url.username!r}: {reason}. Run `callbacks db upgrade` (it creates the "
                f"{READER_ROLE} role), give the role a password and put it in "
                "DASHBOARD_DATABASE_URL, or point DASHBOARD_DATABASE_URL at another read-only "
                "role.") from None
        if isinstance(exc, sa.exc.ProgrammingError):
            raise DashboardUnavailable(
                f"the database answered but cannot be read as {engine.url.username!r}: "
                f"{str(exc.orig).strip()}. Run `callbacks db upgrade` to create the schema and "
                "grant the reader role.") from None
        raise
