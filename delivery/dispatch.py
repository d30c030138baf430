"""Deciding what an attempt leads to, and delivering claimed callbacks in the calling thread.

Workers deliver through :class:`delivery.worker.DeliveryWorker` (one event loop sending,
group commits); :func:`deliver_batch` is the same path run synchronously, for tools and tests that
deliver in-process without a broker.
"""
from __future__ import annotations

import random

import httpx
import sqlalchemy as sa

from . import store
from .decisions import next_state
from .records import Attempt
from .sender import send


def decide(attempt: Attempt, rng: random.Random | None = None) -> Attempt:
    """Fill in the attempt's final state and next attempt time from the brand's schedule."""
    cb = attempt.callback
    state, next_at = next_state(attempt.outcome, cb.attempt_no, cb.retry_schedule_s,
                                attempt.finished_at, retry_after_s=attempt.retry_after_s,
                                rng=rng)
    attempt.final_state = state
    attempt.next_attempt_at = next_at
    return attempt


def deliver_batch(engine: sa.Engine, claims: list[tuple[int, str]], client: httpx.Client, *,
                  lease_margin_s: float) -> list[Attempt]:
    """Deliver the claimed callbacks, and each group's next callback as its head finishes, one
    request at a time; return the recorded attempts."""
    made: list[Attempt] = []
    sendings = store.begin_attempts(engine, claims, lease_margin_s)
    while sendings:
        attempts = [decide(send(s, client)) for s in sendings]
        made.extend(attempts)
        sendings = store.finish_attempts(engine, attempts, lease_margin_s)
    return made
