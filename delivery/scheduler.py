"""Claims due group heads and hands them to workers; re-dispatches what lost its lease.

The scheduler holds no state that matters: PostgreSQL says what is due. Several schedulers may
run at once (claims use ``FOR UPDATE SKIP LOCKED``); a brand's in-flight cap bounds what is
claimed, so one dead endpoint cannot take every worker.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import dramatiq
import sqlalchemy as sa

from . import store
from .broker import send_batch
from .settings import Settings

log = logging.getLogger(__name__)

#: How often brand settings are re-read.
BRAND_REFRESH_S = 5.0
#: How often expired leases are swept.
SWEEP_EVERY_S = 1.0
#: How often attempt partitions are created ahead.
PARTITIONS_EVERY_S = 6 * 3600.0


def batches(claims: list, size: int) -> list[list]:
    """``claims`` cut into lists of at most ``size``."""
    return [claims[i:i + size] for i in range(0, len(claims), size)]


def room(max_in_flight: int, in_flight: int) -> int:
    """How many more of a brand's callbacks may be claimed now."""
    return max(0, max_in_flight - in_flight)


@dataclass
class TickReport:
    swept: int = 0
    dispatched: int = 0
    messages: int = 0


class Scheduler:
    def __init__(self, engine: sa.Engine, broker: dramatiq.Broker, settings: Settings):
        self.engine = engine
        self.broker = broker
        self.settings = settings
        self._brands: list[store.Brand] = []
        self._brands_at = self._swept_at = self._partitions_at = float("-inf")

    def tick(self) -> TickReport:
        """One round: sweep leases, claim due heads per brand, send messages."""
        now = time.monotonic()
        report = TickReport()
        if now - self._partitions_at >= PARTITIONS_EVERY_S:
            store.ensure_partitions(self.engine)
            self._partitions_at = now
        if now - self._swept_at >= SWEEP_EVERY_S:
            report.swept = len(store.sweep_expired_leases(self.engine))
            if report.swept:
                log.warning("%d callback lease(s) expired; sending them again", report.swept)
            self._swept_at = now
        if now - self._brands_at >= BRAND_REFRESH_S:
            self._brands = store.brands(self.engine)
            self._brands_at = now
        in_flight = store.in_flight_by_brand(self.engine)
        for brand in self._brands:
            limit = room(brand.max_in_flight, in_flight.get(brand.id, 0))
            claims = store.claim_due(self.engine, brand.id, limit,
                                     self.settings.dispatch_lease_s)
            for batch in batches(claims, self.settings.batch_size):
                send_batch(self.broker, self.settings.queue_name, batch)
                report.messages += 1
            report.dispatched += len(claims)
        return report

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set; database hiccups are logged and retried."""
        while not stop.is_set():
            try:
                report = self.tick()
            except sa.exc.OperationalError as exc:
                log.error("database unavailable (%s); retrying in 2 s", exc.orig)
                stop.wait(2.0)
                continue
            if not report.dispatched:
                stop.wait(self.settings.poll_interval_s)
