"""The scheduler's daily archive: a thread of its own that archives what is past retention."""
from __future__ import annotations

import threading
from pathlib import Path

from archive_scenarios import build, old_partition
from databases import empty
from workers import wait_for

from archive import daily
from archive.reader import held_partitions
from delivery import settings


def test_daily_archive_runs_in_its_own_thread(clean_db, tmp_path):
    build(clean_db)
    conf = settings.from_env({"CALLBACKS_ARCHIVE_DIR": str(tmp_path),
                              "CALLBACKS_RETENTION_DAYS": "90", "CALLBACKS_ARCHIVE_DAILY": "1"})
    assert conf.archive_daily and conf.archive_dir == Path(tmp_path)
    stop = threading.Event()
    thread = daily.start(clean_db, conf, stop, first_after_s=0.01)
    try:
        def archived():
            with clean_db.connect() as conn:
                return old_partition() not in held_partitions(conn)
        wait_for(archived, 60, "the daily archive to drop the old month")
        assert (tmp_path / "attempts" / f"{old_partition()}.parquet").exists()
    finally:
        stop.set()
        thread.join(timeout=30)
        empty(clean_db)
    assert not thread.is_alive()


def test_archive_settings_default_to_off_and_90_days():
    conf = settings.from_env({"CALLBACKS_HOME": "/srv/callbacks"})
    assert (conf.archive_daily, conf.retention_days) == (False, 90.0)
    assert conf.archive_dir == Path("/srv/callbacks/archive")
