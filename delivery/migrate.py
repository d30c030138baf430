"""Applies ``sql/migrations`` in order, each once, under an advisory lock (safe to run twice,
and from two processes at once). Also creates the PostgreSQL broker's own tables."""
from __future__ import annotations

import sqlalchemy as sa

import sql

from .errors import DatabaseNotReady

#: Key of the advisory lock held while migrating.
MIGRATION_LOCK = 72_317_001


def upgrade(engine: sa.Engine, *, broker_tables: bool = True) -> list[str]:
    """Apply pending migrations; return the versions applied now."""
    applied_now = []
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        conn.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"))
        done = set(conn.execute(sa.text("SELECT version FROM schema_migrations")).scalars())
        for version, body in sql.migrations():
            if version in done:
                continue
            with conn.connection.dbapi_connection.cursor() as curs:
                curs.execute(body)  # no parameters: '%' in format() calls stays literal
            conn.execute(sa.text("INSERT INTO schema_migrations (version) VALUES (:v)"),
                         {"v": version})
            applied_now.append(version)
        if broker_tables:
            _create_broker_tables(conn)
    return applied_now


def _create_broker_tables(conn: sa.Connection) -> None:
    from dramatiq_postgres.schema import generate_init_sql, schema_exists

    raw = conn.connection.dbapi_connection
    with raw.cursor() as curs:
        if not schema_exists(curs):
            curs.execute(generate_init_sql())


def pending(engine: sa.Engine) -> list[str]:
    """Versions not yet applied."""
    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT to_regclass('schema_migrations')")).scalar() is None:
            return [v for v, _ in sql.migrations()]
        done = set(conn.execute(sa.text("SELECT version FROM schema_migrations")).scalars())
    return [v for v, _ in sql.migrations() if v not in done]


def require_current(engine: sa.Engine) -> None:
    """Raise :class:`DatabaseNotReady` unless every migration is applied."""
    missing = pending(engine)
    if missing:
        raise DatabaseNotReady(
            f"the database lacks migrations {', '.join(missing)}; run `callbacks db upgrade`")
