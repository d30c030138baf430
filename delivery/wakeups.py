"""Wake-ups for the scheduler: PostgreSQL ``LISTEN callbacks_due``.

Enqueueing a due callback, a finished head that freed a slot, and a sweep each
``NOTIFY callbacks_due`` in their transaction (``notify_due`` in ``sql/queries.sql``), so the
scheduler claims new work within milliseconds of its commit instead of polling for it. Polling
stays only as the backstop for what no one announces (a retry whose time came).
"""
from __future__ import annotations

import logging
import select
import time

import sqlalchemy as sa

log = logging.getLogger(__name__)

#: The channel ``notify_due`` notifies.
CHANNEL = "callbacks_due"


class DueSignal:
    """A connection of its own that listens on :data:`CHANNEL`; reconnects after errors."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._conn = None

    def _listening(self):
        if self._conn is None:
            raw = self.engine.raw_connection()
            conn = raw.driver_connection
            raw.detach()  # a LISTEN connection never goes back to the pool
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
            self._conn = conn
        return self._conn

    def wait(self, timeout_s: float) -> bool:
        """Block until a notification arrives (True) or ``timeout_s`` passes (False).

        When the database cannot be reached this sleeps ``timeout_s`` and returns True, so the
        caller looks for work the ordinary way (and reports the error there).
        """
        try:
            conn = self._listening()
            if not conn.notifies:
                readable, _, _ = select.select([conn], [], [], max(0.0, timeout_s))
                if readable:
                    conn.poll()
            woke = bool(conn.notifies)
            conn.notifies.clear()
            return woke
        except Exception as exc:  # psycopg2 errors of a lost connection, OSError from select
            log.warning("listening for due callbacks failed (%s); polling until it works",
                        exc)
            self.close()
            time.sleep(timeout_s)
            return True

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None
