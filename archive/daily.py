"""The archive, once a day, beside the scheduler (``CALLBACKS_ARCHIVE_DAILY=1``).

It runs in a thread of its own with its own database connections, so claiming and dispatching
never wait for it; several schedulers may run it, and the archive's advisory lock lets one work
at a time. A failed run is logged and tried again the next day (or by hand with
``callbacks archive``); nothing is lost either way.
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

import sqlalchemy as sa

from delivery.settings import Settings

from .export import ArchiveBusy, archive

log = logging.getLogger(__name__)

#: Between two daily runs.
EVERY_S = 24 * 3600.0
#: The first run, after the process started (so a restart loop does not archive in a loop,
#: and start-up is not slowed).
FIRST_AFTER_S = 300.0


def start(engine: sa.Engine, settings: Settings, stop: threading.Event, *,
          first_after_s: float = FIRST_AFTER_S, every_s: float = EVERY_S) -> threading.Thread:
    """Start the daily archive thread; it ends when ``stop`` is set."""
    thread = threading.Thread(target=_run, args=(engine, settings, stop, first_after_s, every_s),
                              name="archive", daemon=True)
    thread.start()
    return thread


def _run(engine, settings: Settings, stop: threading.Event, first_after_s: float,
         every_s: float) -> None:
    wait_s = first_after_s
    while not stop.wait(wait_s):
        wait_s = every_s
        try:
            report = archive(engine, older_than=timedelta(days=settings.retention_days),
                             folder=settings.archive_dir)
        except ArchiveBusy:
            log.info("the archive is running elsewhere; skipping today's run here")
            continue
        except Exception:
            log.exception("the daily archive failed; it runs again in %g h (or run "
                          "`callbacks archive` by hand); nothing was lost", every_s / 3600)
            continue
        for part in report.partitions:
            log.warning("archive: %s %s (%s) into %s", part.partition, part.action,
                        ", ".join(f"{n} {t}" for t, n in part.rows.items()), report.folder)
