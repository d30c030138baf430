"""Migrations cannot drift: each applied one's checksum is kept, `callbacks db upgrade` refuses a
changed or missing file (exit 2, naming it), and a migrated database has exactly the schema of
sql/schema.sql."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

import sql
from callbacks.main import main
from delivery import database, migrate, schema_dump
from delivery.errors import DatabaseNotReady, MigrationChanged
from tests.databases import scratch_database

MIGRATIONS = Path(sql.__file__).with_name("migrations")


@pytest.fixture(scope="module")
def migrated():
    """``(url, engine)`` of one database migrated by this module only."""
    with scratch_database("callbacks_migrate") as url:
        engine = database.make_engine(url)
        yield url, engine
        engine.dispose()


@pytest.fixture
def cli_on(migrated, monkeypatch):
    """The `callbacks` command pointed at the module's database."""
    monkeypatch.setenv("DATABASE_URL", migrated[0])
    return migrated[1]


def _checksums(engine: sa.Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT version, checksum FROM schema_migrations")).all())


def _edited(monkeypatch, version: str, change) -> None:
    """Make ``sql.migrations()`` return ``change(files)`` (``version`` must be one of them)."""
    files = sql.migrations()
    assert version in dict(files)
    monkeypatch.setattr(sql, "migrations", lambda: change(files))


def test_each_applied_migration_keeps_the_checksum_of_its_file(migrated):
    stored = _checksums(migrated[1])
    files = sorted(MIGRATIONS.glob("*.sql"))
    assert stored == {f.stem: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def test_an_edited_migration_is_refused_and_nothing_is_applied(cli_on, monkeypatch, capsys):
    new = ("999_after_the_edit", "CREATE TABLE must_not_exist (id int);")
    _edited(monkeypatch, "009_actions", lambda files: [
        (v, body + "\n-- edited after landing\n" if v == "009_actions" else body)
        for v, body in files] + [new])
    before = _checksums(cli_on)

    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "sql/migrations/009_actions.sql was changed after it was applied" in err
    assert f"applied checksum {before['009_actions'][:12]}" in err
    assert "restore the file and add a new migration instead" in err
    assert "001_queue_and_history" not in err
    assert _checksums(cli_on) == before
    with cli_on.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('must_not_exist')")).scalar() is None

    # The API, worker and dashboard refuse to start on it, as every other command does.
    with pytest.raises(MigrationChanged, match="009_actions.sql was changed") as refused:
        migrate.require_current(cli_on)
    assert isinstance(refused.value, DatabaseNotReady)
    assert main(["status"]) == 2
    assert "009_actions.sql was changed" in capsys.readouterr().err


def test_a_removed_migration_is_named(cli_on, monkeypatch, capsys):
    _edited(monkeypatch, "015_in_flight_count",
            lambda files: [(v, body) for v, body in files if v != "015_in_flight_count"])
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "sql/migrations/015_in_flight_count.sql was applied to this database but no longer " \
           "exists" in err
    with pytest.raises(MigrationChanged, match="015_in_flight_count.sql"):
        migrate.require_current(cli_on)


def test_migrations_applied_before_checksums_get_theirs_once(cli_on, capsys):
    expected = _checksums(cli_on)
    with cli_on.begin() as conn:
        conn.execute(sa.text("UPDATE schema_migrations SET checksum = NULL "
                             "WHERE version IN ('007_back_office_accounts', '009_actions')"))
    migrate.require_current(cli_on)  # not verifiable yet, so not refused

    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "recorded the checksums of 007_back_office_accounts, 009_actions" in out
    assert _checksums(cli_on) == expected
    assert main(["db", "upgrade"]) == 0
    assert "recorded" not in capsys.readouterr().out


def test_a_migrated_database_has_exactly_the_committed_schema(migrated):
    generated = schema_dump.dump(migrated[1])
    committed = schema_dump.SCHEMA_FILE.read_text()
    assert generated == committed, (
        "sql/schema.sql is not the schema the migrations give; after adding a migration refresh "
        f"it with `{schema_dump.REFRESH_COMMAND}` (never edit it by hand)")


def test_the_schema_command_prints_what_sql_schema_sql_holds(cli_on, capsys):
    assert main(["db", "schema"]) == 0
    assert capsys.readouterr().out == schema_dump.SCHEMA_FILE.read_text()
