"""Where the dashboard reads from: the same database as everything else, as a read-only role.

``DASHBOARD_DATABASE_URL`` wins when set. Otherwise the owner URL comes from the usual settings
(``DATABASE_URL``, or the embedded server) and the dashboard logs in to the same host and
database as ``callbacks_reader``, the SELECT-only role that migration 002 creates.

Every transaction of a dashboard engine starts by naming the brands the signed-in user may see
(``set_config('callbacks.brands', ..., true)``): PostgreSQL's row-level security (migration 007)
then shows only their rows, whatever a page asks for. No one signed in: nothing is visible.
"""
from __future__ import annotations

import functools
import os
from typing import Callable

import sqlalchemy as sa

from delivery import database, settings
from delivery.errors import CallbackDeskError

#: The PostgreSQL role the pages query as (created by sql/migrations/002_dashboard.sql).
READER_ROLE = "callbacks_reader"
#: The role the Integration Test page records runs as: it may insert a run of the brand in
#: hand, with its cases, steps and test traffic, and nothing else (migration 014).
BATTERY_ROLE = "callbacks_battery"
#: A page query that runs longer than this is cancelled rather than left to pile up.
STATEMENT_TIMEOUT_MS = 20_000
#: The setting the row-level security policies read: brand ids joined by commas, ``*`` for
#: every brand, empty for none.
BRANDS_SETTING = "callbacks.brands"


class DashboardUnavailable(CallbackDeskError):
    """The dashboard cannot read the database; the message says what to run or set."""


def reader_url(owner_url: str, role: str = READER_ROLE) -> str:
    """The owner's URL with the user swapped for the read-only role (or ``role``; no password:
    the role logs in by the server's trust or peer rules; set DASHBOARD_DATABASE_URL or
    DASHBOARD_BATTERY_DATABASE_URL otherwise)."""
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
    """The owner's URL (``DATABASE_URL``, or the embedded server's). The dashboard uses it only
    for what no back-office role may read: accounts' password hashes and installation keys."""
    env = os.environ if env is None else env
    return database.sqlalchemy_url(database.database_url(settings.from_env(env)))


@functools.cache
def owner_engine(url: str | None = None) -> sa.Engine:
    """A tiny pool on the owner's URL (default: :func:`owner_url`), one per process."""
    return database.make_engine(url or owner_url(), pool_size=2)


def battery_url(env: dict | None = None) -> str:
    """The URL the Integration Test page records runs through: DASHBOARD_BATTERY_DATABASE_URL,
    else the owner URL with the user swapped for callbacks_battery."""
    env = os.environ if env is None else env
    explicit = env.get("DASHBOARD_BATTERY_DATABASE_URL")
    if explicit:
        return database.sqlalchemy_url(explicit)
    return reader_url(database.database_url(settings.from_env(env)), BATTERY_ROLE)


def battery_engine(url: str, brand_id: int) -> sa.Engine:
    """A one-connection engine that records runs of one brand: its transactions see (and may
    write) that brand only. Not read-only, unlike :func:`make_engine`."""
    engine = sa.create_engine(
        database.sqlalchemy_url(url), pool_pre_ping=True, pool_size=1, max_overflow=1,
        connect_args={"application_name": "callbacks-dashboard-battery",
                      "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"})
    setting = brands_setting([brand_id])

    @sa.event.listens_for(engine, "begin")
    def _limit_to_brand(conn: sa.Connection) -> None:
        conn.exec_driver_sql("SELECT set_config(%s, %s, true)", (BRANDS_SETTING, setting))

    return engine


#: The PostgreSQL role the back-office acts as (retry, cancel; created by migration 009).
OPERATOR_ROLE = "callbacks_operator"


def operator_url(env: dict | None = None) -> str:
    """The URL the integration manager's actions use: DASHBOARD_OPERATOR_DATABASE_URL, else
    the owner's URL with the user swapped for ``callbacks_operator``."""
    env = os.environ if env is None else env
    explicit = env.get("DASHBOARD_OPERATOR_DATABASE_URL")
    if explicit:
        return database.sqlalchemy_url(explicit)
    return reader_url(database.database_url(settings.from_env(env)), OPERATOR_ROLE)


def make_operator_engine(url: str, brands: Callable[[], str] | None = None) -> sa.Engine:
    """A tiny pool for actions: they write, briefly, and time out rather than wait long. Like
    the pages' engine, each transaction sees (and may change) only the brands ``brands()``
    names (default: the signed-in user's)."""
    engine = sa.create_engine(
        database.sqlalchemy_url(url), pool_pre_ping=True, pool_size=1, max_overflow=2,
        connect_args={"application_name": "callbacks-dashboard-actions",
                      "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"})
    scope = brands or _signed_in_brands

    @sa.event.listens_for(engine, "begin")
    def _limit_to_brands(conn: sa.Connection) -> None:
        conn.exec_driver_sql("SELECT set_config(%s, %s, true)", (BRANDS_SETTING, scope()))

    return engine


def brands_setting(brand_ids) -> str:
    """The value of ``callbacks.brands`` for these brand ids (None: every brand)."""
    if brand_ids is None:
        return "*"
    return ",".join(str(int(i)) for i in sorted(brand_ids))


def _signed_in_brands() -> str:
    # Imported here: auth reads accounts through this module's engines.
    from dashboard.auth import brands_setting_now

    return brands_setting_now()


def make_engine(url: str, brands: Callable[[], str] | None = None) -> sa.Engine:
    """A small pool whose sessions are read-only and time out instead of piling up, and whose
    transactions see the brands ``brands()`` names (default: the signed-in user's).

    JIT is off: page queries return tens of rows, and compiling them cost more than running
    them (1.6 s of JIT for 0.1 s of work on a rare history filter at 10 million attempts).
    """
    engine = sa.create_engine(
        database.sqlalchemy_url(url), pool_pre_ping=True, pool_size=4, max_overflow=4,
        connect_args={
            "application_name": "callbacks-dashboard",
            "options": f"-c default_transaction_read_only=on -c jit=off "
                       f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        })
    scope = brands or _signed_in_brands

    @sa.event.listens_for(engine, "begin")
    def _limit_to_brands(conn: sa.Connection) -> None:
        conn.exec_driver_sql("SELECT set_config(%s, %s, true)", (BRANDS_SETTING, scope()))

    return engine


def check(engine: sa.Engine) -> None:
    """Raise :class:`DashboardUnavailable` with a fix when the database cannot be read."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1 FROM brands LIMIT 1"))
    except sa.exc.OperationalError as exc:
        user = engine.url.username
        raise DashboardUnavailable(
            f"cannot connect to {database.redact_url(engine.url.render_as_string())} as "
            f"{user!r}: {str(exc.orig).strip()}. Run `callbacks db upgrade` (it creates the "
            f"{READER_ROLE} role), give the role a password and put it in "
            "DASHBOARD_DATABASE_URL, or point DASHBOARD_DATABASE_URL at another read-only "
            "role.") from None
    except sa.exc.ProgrammingError as exc:
        raise DashboardUnavailable(
            f"the database answered but cannot be read as {engine.url.username!r}: "
            f"{str(exc.orig).strip()}. Run `callbacks db upgrade` to create the schema and "
            "grant the reader role.") from None
