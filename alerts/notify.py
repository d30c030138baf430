"""Sends due alert notifications: one POST per notification, each attempt recorded, failures
retried on :data:`RETRY_SCHEDULE_S` until it is used up (then the notification is ``failed``).

Runs in its own thread (see :mod:`.monitor`), never in the scheduler's: a slow receiver must
not delay a single claim.
"""
from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from . import store

log = logging.getLogger(__name__)

#: Seconds before each retry of a notification that failed; after the last, it is failed.
RETRY_SCHEDULE_S: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)
#: Whole-request timeout of one notification.
TIMEOUT_S = 5.0
#: How long a claimed notification is ours (beyond it, another sender may take it over).
LEASE_S = 60.0
#: Notifications claimed per round.
BATCH = 20


def next_try(attempt_no: int, schedule: tuple[float, ...], now: datetime
             ) -> datetime | None:
    """When to try again after failed attempt ``attempt_no`` (1-based); None when the schedule
    is used up."""
    if attempt_no > len(schedule):
        return None
    return now + timedelta(seconds=schedule[attempt_no - 1])


class Notifier:
    def __init__(self, engine: sa.Engine, *, client: httpx.Client | None = None,
                 retry_schedule_s: tuple[float, ...] = RETRY_SCHEDULE_S,
                 timeout_s: float = TIMEOUT_S):
        self.engine = engine
        self.retry_schedule_s = retry_schedule_s
        self.client = client or httpx.Client(timeout=timeout_s, follow_redirects=False,
                                              headers={"User-Agent": "callback-desk-alerts"})

    def close(self) -> None:
        self.client.close()

    def send_due(self) -> int:
        """Send every notification due now; how many were tried."""
        tried = 0
        while True:
            claimed = store.claim_notifications(self.engine, lease_s=LEASE_S, limit=BATCH)
            for notification in claimed:
                self.send(notification)
            tried += len(claimed)
            if len(claimed) < BATCH:
                return tried

    def send(self, notification: store.Notification) -> bool:
        """Post one notification and record the attempt; True when it was delivered."""
        started = datetime.now(UTC)
        clock = time.monotonic()
        status, error = None, None
        try:
            response = self.client.post(notification.url, json=notification.body)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {str(exc).replace(notification.url, '<url>')}"[:300]
        duration_ms = (time.monotonic() - clock) * 1000
        delivered = error is None
        retry_at = None if delivered else next_try(notification.attempts + 1,
                                                   self.retry_schedule_s,
                                                   datetime.now(UTC))
        state = "delivered" if delivered else ("pending" if retry_at else "failed")
        store.record_attempt(self.engine, notification, started_at=started,
                             duration_ms=duration_ms, response_status=status, error=error,
                             state=state, next_attempt_at=retry_at)
        if not delivered:
            log.warning("alert notification %d (event %d) attempt %d failed: %s; %s",
                        notification.id, notification.event_id, notification.attempts + 1,
                        error, f"retrying at {retry_at:%H:%M:%S}" if retry_at else "giving up")
        return delivered
