"""Applies ``sql/migrations`` in order, each once, under an advisory lock (safe to run twice,
and from two processes at once). Also creates the PostgreSQL broker's own tables.

A landed migration is never edited (a new one changes the schema instead), and this module keeps
it so: ``schema_migrations`` holds the SHA-256 of each file as it was applied, and a database
whose applied migration differs from its file now (or whose file is gone) is refused with
:class:`MigrationChanged` before anything is applied. Rows written before checksums were kept
get the file's checksum at the next upgrade (trusted on first sight).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import sqlalchemy as sa

import sql

from .errors import DatabaseNotReady, MigrationChanged

log = logging.getLogger(__name__)

#: Key of the advisory lock held while migrating.
MIGRATION_LOCK = 72_317_001
#: Where the migration files are, as a person names them in a message.
MIGRATIONS_FOLDER = "sql/migrations"


@dataclass(frozen=True)
class Upgrade:
    """What :func:`apply` did."""

    #: Versions applied now, in order.
    applied: tuple[str, ...] = ()
    #: Versions applied before checksums were kept, whose file's checksum was recorded now.
    trusted: tuple[str, ...] = ()


def checksum(body: str) -> str:
    """The SHA-256 (hex) of a migration file's bytes (its text as UTF-8)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def upgrade(engine: sa.Engine, *, broker_tables: bool = True) -> list[str]:
    """Apply pending migrations; return the versions applied now."""
    return list(apply(engine, broker_tables=broker_tables).applied)


def apply(engine: sa.Engine, *, broker_tables: bool = True) -> Upgrade:
    """Apply pending migrations after checking that no applied one has changed.

    Raises :class:`MigrationChanged` (nothing applied) when an applied migration's file differs
    from what was applied, or is gone.
    """
    applied, trusted = [], []
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        conn.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"))
        conn.execute(sa.text(
            "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text"))
        done = dict(conn.execute(sa.text(
            "SELECT version, checksum FROM schema_migrations")).all())
        files = sql.migrations()
        _refuse_changed(done, files)
        for version, body in files:
            if version not in done:
                with conn.connection.dbapi_connection.cursor() as curs:
                    curs.execute(body)  # no parameters: '%' in format() calls stays literal
                conn.execute(sa.text(
                    "INSERT INTO schema_migrations (version, checksum) VALUES (:v, :c)"),
                    {"v": version, "c": checksum(body)})
                applied.append(version)
            elif done[version] is None:
                conn.execute(sa.text(
                    "UPDATE schema_migrations SET checksum = :c WHERE version = :v"),
                    {"v": version, "c": checksum(body)})
                trusted.append(version)
        if trusted:
            log.info("recorded the checksums of %s, applied before checksums were kept "
                     "(trusted as the files are now)", ", ".join(trusted))
        if broker_tables:
            _create_broker_tables(conn)
    return Upgrade(tuple(applied), tuple(trusted))


def _refuse_changed(done: dict[str, str | None], files: list[tuple[str, str]]) -> None:
    """Raise :class:`MigrationChanged` naming every applied migration whose file differs from
    what was applied (a NULL checksum is not compared) or no longer exists."""
    now = {version: checksum(body) for version, body in files}
    problems = []
    for version in sorted(done):
        path = f"{MIGRATIONS_FOLDER}/{version}.sql"
        if version not in now:
            problems.append(
                f"{path} was applied to this database but no longer exists; migrations are "
                "never removed once landed: restore the file")
        elif done[version] is not None and done[version] != now[version]:
            problems.append(
                f"{path} was changed after it was applied to this database (applied checksum "
                f"{done[version][:12]}…, file now {now[version][:12]}…); migrations are never "
                "edited once landed: restore the file and add a new migration instead")
    if problems:
        raise MigrationChanged("\n".join(problems))


def _create_broker_tables(conn: sa.Connection) -> None:
    from dramatiq_postgres.schema import generate_init_sql, schema_exists

    raw = conn.connection.dbapi_connection
    with raw.cursor() as curs:
        if not schema_exists(curs):
            curs.execute(generate_init_sql())


def _applied(conn: sa.Connection) -> dict[str, str | None]:
    """``{version: checksum or None}`` of the applied migrations (none without the table)."""
    if conn.execute(sa.text("SELECT to_regclass('schema_migrations')")).scalar() is None:
        return {}
    has_checksums = conn.execute(sa.text(
        "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'schema_migrations'::regclass"
        " AND attname = 'checksum' AND NOT attisdropped)")).scalar()
    column = "checksum" if has_checksums else "NULL"
    return dict(conn.execute(sa.text(
        f"SELECT version, {column} FROM schema_migrations")).all())


def pending(engine: sa.Engine) -> list[str]:
    """Versions not yet applied."""
    with engine.connect() as conn:
        done = _applied(conn)
    return [v for v, _ in sql.migrations() if v not in done]


def require_current(engine: sa.Engine) -> None:
    """Raise :class:`DatabaseNotReady` unless every migration is applied, and
    :class:`MigrationChanged` when an applied one's file has changed since."""
    with engine.connect() as conn:
        done = _applied(conn)
    files = sql.migrations()
    _refuse_changed(done, files)
    missing = [v for v, _ in files if v not in done]
    if missing:
        raise DatabaseNotReady(
            f"the database lacks migrations {', '.join(missing)}; run `callbacks db upgrade`")
