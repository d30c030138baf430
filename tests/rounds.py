"""Delivery rounds run in the test's own process, for tests whose subject is not the worker.

A round is what a worker does with one scheduler message, on the product's own path
(:func:`databases.deliver_round`: ``store.claim_due`` → ``dispatch.deliver_batch``, which writes
each attempt as ``sending``, sends it with the brand's timeout, records it and leases the bet's
next callback). No worker processes, no broker: a round costs a few milliseconds where a
``callbacks worker`` costs seconds to start and stop. :func:`delivering` runs rounds in a
thread, through the worker's own :class:`~delivery.worker.DeliveryWorker`, for tests that act
while callbacks are in flight. The real process keeps its own tests
(``tests/delivery/test_worker_e2e.py`` and its neighbours).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import httpx
import sqlalchemy as sa
from databases import deliver_round

from delivery import store
from delivery.worker import DeliveryWorker

T = TypeVar("T")

#: How long an idle loop waits before claiming again (a retry that is due later).
IDLE_S = 0.02


def deliver_until(engine: sa.Engine, condition: Callable[[], T], timeout_s: float, what: str,
                  interval_s: float = IDLE_S) -> T:
    """Run delivery rounds until ``condition()`` is truthy and return its value; fail with
    ``what`` after ``timeout_s``. Rounds run back to back while anything is due; when nothing
    is, the loop waits ``interval_s`` for a retry that falls due later."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client() as client:
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            if not deliver_round(engine, client):
                time.sleep(interval_s)


@contextmanager
def delivering(engine: sa.Engine, *, lease_s: float = 10.0, lease_margin_s: float = 1.0,
               interval_s: float = IDLE_S, stop_grace_s: float = 1.0) -> Iterator[None]:
    """A worker in this process for as long as the block runs, for tests that act while
    callbacks are being sent: a thread claims as the scheduler does (``store.claim_round``) and
    hands the claims to a :class:`~delivery.worker.DeliveryWorker`, which sends them on its
    event loop and records them as they finish, leasing each bet's next callback. On exit the
    worker stops as a stopping process does (``stop_grace_s``); a round that failed fails the
    test."""
    delivery = DeliveryWorker(engine, lease_margin_s=lease_margin_s)
    stop = threading.Event()
    failed: list[BaseException] = []

    def rounds() -> None:
        try:
            while not stop.is_set():
                claims, _ = store.claim_round(engine, lease_s)
                if claims:
                    delivery.take([c[:2] for c in claims])
                else:
                    stop.wait(interval_s)
        except BaseException as exc:  # handed to the test's thread below
            failed.append(exc)

    thread = threading.Thread(target=rounds, name="delivery-rounds", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
        delivery.stop(stop_grace_s)
    if thread.is_alive():
        raise AssertionError("the delivery rounds did not stop within 30 s")
    if failed:
        raise failed[0]
