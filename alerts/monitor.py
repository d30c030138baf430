"""The alert thread: evaluates the rules and sends notifications.

``callbacks worker`` and ``callbacks scheduler`` start it beside their scheduler with
:meth:`AlertMonitor.start`. It evaluates every :data:`EVALUATE_EVERY_S` (:meth:`tick`: one
query and a short transaction) and sends notifications as they fall due, in a thread of its
own: neither the evaluation (tens of milliseconds over a big history) nor a slow alert receiver
ever delays a claim.
"""
from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa

from delivery.database import connection_lost

from . import store
from .notify import Notifier

log = logging.getLogger(__name__)

#: How often rules are evaluated.
EVALUATE_EVERY_S = 30.0
#: Longest the notification thread sleeps between looks at the outbox.
SEND_POLL_S = 1.0


class AlertMonitor:
    def __init__(self, engine: sa.Engine, *, evaluate_every_s: float = EVALUATE_EVERY_S,
                 notifier: Notifier | None = None):
        self.engine = engine
        self.evaluate_every_s = evaluate_every_s
        self.notifier = notifier or Notifier(engine)
        self._evaluated_at = float("-inf")
        self._wake = threading.Event()
        #: Whether the database was found unreachable (said once per outage, not every round).
        self._database_down = False

    def tick(self) -> None:
        """Evaluate when it is time. Never raises (a failed evaluation is logged and tried
        again at the next interval)."""
        now = time.monotonic()
        if now - self._evaluated_at < self.evaluate_every_s:
            return
        self._evaluated_at = now
        try:
            events = store.evaluate(self.engine)
        except Exception as exc:  # an alert problem must never stop deliveries
            self._failed(exc, f"alert evaluation failed; trying again in "
                              f"{self.evaluate_every_s:.0f} s")
            return
        self._database_back()
        if events:
            self._wake.set()

    def send_round(self) -> float | None:
        """Send the notifications that are due; seconds until the next one is (None: none
        waits). Never raises: a failure is logged and the round tried again in 5 s."""
        try:
            self.notifier.send_due()
            due_in_s = store.next_due_in_s(self.engine)
        except Exception as exc:
            self._failed(exc, "sending alert notifications failed; retrying in 5 s")
            return 5.0
        self._database_back()
        return due_in_s

    def _failed(self, exc: Exception, what: str) -> None:
        """Log a failed round: a database outage in one line when it starts (alerts wait for
        it like everything else), anything else with its traceback."""
        if not connection_lost(exc):
            log.exception(what)
        elif not self._database_down:
            self._database_down = True
            log.warning("database unavailable (%s); alerts wait until it is back",
                        str(getattr(exc, "orig", None) or exc).strip().splitlines()[0])

    def _database_back(self) -> None:
        if self._database_down:
            self._database_down = False
            log.info("database reachable again; alerts evaluated and sent as before")

    def run(self, stop: threading.Event) -> None:
        """Evaluate on time and send notifications as they fall due until ``stop`` is set."""
        while not stop.is_set():
            self.tick()
            due_in_s = self.send_round()
            wait_s = SEND_POLL_S if due_in_s is None else min(max(due_in_s, 0.05), SEND_POLL_S)
            if self._wake.wait(wait_s):
                self._wake.clear()
        self.notifier.close()

    def start(self, stop: threading.Event) -> threading.Thread:
        """The alert thread, started."""
        thread = threading.Thread(target=self.run, args=(stop,), name="alerts", daemon=True)
        thread.start()
        return thread
