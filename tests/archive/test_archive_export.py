"""callbacks archive: export to Parquet, check, drop — and a rerun after a crash in between
loses nothing and archives everything once."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import duckdb
import pytest
import sqlalchemy as sa
from archive_scenarios import OLD, bet_ids, build, old_partition
from cli import run_cli
from databases import empty

from archive import reader
from archive.export import ArchiveError, archive
from archive.layout import DROPPED, EXPORTED, Manifest
from archive.reader import held_partitions

NINETY_DAYS = timedelta(days=90)


@pytest.fixture
def history(clean_db):
    build(clean_db)
    yield clean_db
    empty(clean_db)


def count(engine, query: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(query), params).scalar_one()


def partitions(engine) -> list[str]:
    with engine.connect() as conn:
        return held_partitions(conn)


def parquet_rows(path) -> list[tuple]:
    with duckdb.connect() as db:
        return db.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()


def test_archive_exports_old_partition_checks_it_and_drops_it(history, tmp_path):
    # Given two years old bets of two brands, and new ones
    old_attempts = count(history, "SELECT count(*) FROM attempts WHERE group_id LIKE 'old-%'")
    assert old_attempts == 8
    assert old_partition() in partitions(history)

    # When the archive runs with a 90-day retention
    report = archive(history, older_than=NINETY_DAYS, folder=tmp_path)

    # Then the old month is in Parquet and gone from PostgreSQL, the new one stays
    [part] = [p for p in report.partitions if p.partition == old_partition()]
    assert part.action == "archived"
    assert part.rows == {"attempts": 8, "callbacks": 8, "bets": 4}
    assert old_partition() not in partitions(history)
    assert count(history, "SELECT count(*) FROM attempts WHERE group_id LIKE 'old-%'") == 0
    assert count(history, "SELECT count(*) FROM callbacks WHERE bet_id LIKE 'old-%'") == 0
    assert [b for b in bet_ids(history) if b.startswith("old-")] == []
    assert count(history, "SELECT count(*) FROM attempts WHERE group_id LIKE 'new-%'") == 2
    attempts_file = tmp_path / "attempts" / f"{old_partition()}.parquet"
    rows = parquet_rows(attempts_file)
    assert len(rows) == 8
    bets = {r[0] for r in parquet_rows(tmp_path / "bets" / f"{old_partition()}.parquet")}
    assert bets == {"old-north-1", "old-north-refused", "old-south-1", "old-south-refused"}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["exports"][old_partition()]["state"] == DROPPED
    assert not list(tmp_path.rglob("*.tmp"))
    with history.connect() as conn:
        recorded = conn.execute(sa.text("SELECT partition_name, attempts, callbacks, bets "
                                        "FROM archived_partitions WHERE attempts > 0")).all()
    assert [tuple(r) for r in recorded] == [(old_partition(), 8, 8, 4)]

    # And a second run has nothing left to do
    again = archive(history, older_than=NINETY_DAYS, folder=tmp_path)
    assert [p.partition for p in again.partitions if p.action == "archived"] == []


def test_dry_run_says_what_would_go_and_changes_nothing(history, tmp_path):
    report = archive(history, older_than=NINETY_DAYS, folder=tmp_path, dry_run=True)
    [part] = [p for p in report.partitions if p.partition == old_partition()]
    assert (part.action, part.rows) == ("would archive", {"attempts": 8, "callbacks": 8,
                                                          "bets": 4})
    assert old_partition() in partitions(history)
    assert not (tmp_path / "manifest.json").exists()


class Crash(Exception):
    pass


def crash_after(step: str):
    def on_step(name, entry):
        if name == step:
            raise Crash(step)
    return on_step


@pytest.mark.parametrize("step", ["exported", "pruned"])
def test_rerun_after_a_crash_between_export_and_drop_loses_nothing(history, tmp_path, step):
    # Given a run that dies after the export (or after deleting the callbacks and bets)
    with pytest.raises(Crash):
        archive(history, older_than=NINETY_DAYS, folder=tmp_path, on_step=crash_after(step))
    # Then the partition is still in PostgreSQL; the files are complete
    assert old_partition() in partitions(history)
    assert count(history, "SELECT count(*) FROM attempts WHERE group_id LIKE 'old-%'") == 8
    assert len(parquet_rows(tmp_path / "attempts" / f"{old_partition()}.parquet")) == 8
    # and readers never count an attempt twice meanwhile
    view = reader.open_archive(tmp_path, partitions(history))
    assert view.files["attempts"] == ()

    # When the archive runs again
    archive(history, older_than=NINETY_DAYS, folder=tmp_path)

    # Then everything is archived exactly once
    assert old_partition() not in partitions(history)
    assert len(parquet_rows(tmp_path / "attempts" / f"{old_partition()}.parquet")) == 8
    assert len(parquet_rows(tmp_path / "callbacks" / f"{old_partition()}.parquet")) == 8
    assert len(parquet_rows(tmp_path / "bets" / f"{old_partition()}.parquet")) == 4
    assert Manifest.load(tmp_path).entries[old_partition()].state == DROPPED


def test_a_killed_archive_process_is_finished_by_the_next_run(history, tmp_path, database_url):
    # Given an archive process killed outright (SIGKILL) right after it wrote its files
    script = (
        "import os, signal, sys\n"
        "from datetime import timedelta\n"
        "from pathlib import Path\n"
        "from delivery import database\n"
        "from archive.export import archive\n"
        "def die(step, entry):\n"
        "    if step == 'exported':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "engine = database.make_engine(sys.argv[1])\n"
        "archive(engine, older_than=timedelta(days=90), folder=Path(sys.argv[2]), on_step=die)\n")
    proc = subprocess.run([sys.executable, "-c", script, database_url, str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert Manifest.load(tmp_path).entries[old_partition()].state == EXPORTED
    assert count(history, "SELECT count(*) FROM callbacks WHERE bet_id LIKE 'old-%'") == 8

    # When the command runs again
    rerun = run_cli("archive", "--older-than", "90d", "--dir", str(tmp_path),
                    env={"DATABASE_URL": database_url})
    assert rerun.returncode == 0, rerun.stderr
    assert f"{old_partition()}: archived" in rerun.stdout

    # Then nothing was lost and nothing doubled
    assert old_partition() not in partitions(history)
    assert count(history, "SELECT count(*) FROM callbacks WHERE bet_id LIKE 'old-%'") == 0
    assert len(parquet_rows(tmp_path / "callbacks" / f"{old_partition()}.parquet")) == 8


def test_a_callback_retried_after_export_is_exported_again_before_anything_is_deleted(
        history, tmp_path):
    # Given an export, after which an archived bet gets one more callback (an unsettle)
    def late_unsettle(step, entry):
        if step == "exported" and not late_unsettle.done:
            late_unsettle.done = True
            with history.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO callbacks (request_id, brand_id, bet_id, destination, payload, "
                    "state) SELECT 'late-1', brand_id, bet_id, '/bet/unsettle', '{}', 'pending' "
                    "FROM bets WHERE bet_id = 'old-north-1'"))
    late_unsettle.done = False

    # When the run carries on
    archive(history, older_than=NINETY_DAYS, folder=tmp_path, on_step=late_unsettle)

    # Then the bet with an open callback stays in PostgreSQL, and the files agree with what
    # was deleted
    assert "old-north-1" in bet_ids(history)
    archived_bets = {r[0] for r in parquet_rows(tmp_path / "bets" / f"{old_partition()}.parquet")}
    assert "old-north-1" not in archived_bets
    assert len(archived_bets) == 3
    assert old_partition() not in partitions(history)


def test_too_short_a_retention_is_refused(history, tmp_path):
    with pytest.raises(ArchiveError, match="at least 1 day"):
        archive(history, older_than=timedelta(hours=2), folder=tmp_path)


def test_the_old_month_is_the_one_archived():
    assert old_partition() == f"attempts_{OLD.year}_{OLD.month:02d}"
