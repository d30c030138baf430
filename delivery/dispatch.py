"""What a worker does with one message: confirm its leases, send the batch concurrently, decide
each callback's next state, record everything in one transaction."""
from __future__ import annotations

import random
from concurrent.futures import Executor

import httpx
import sqlalchemy as sa

from . import store
from .schedule import next_state
from .sender import Attempt, OutgoingCallback, deliver_once


def decide(attempt: Attempt, rng: random.Random | None = None) -> Attempt:
    """Fill in the attempt's final state and next attempt time from the brand's schedule."""
    cb = attempt.callback
    state, next_at = next_state(attempt.outcome, cb.attempt_no, cb.retry_schedule_s,
                                attempt.finished_at, retry_after_s=attempt.retry_after_s,
                                rng=rng)
    attempt.final_state = state
    attempt.next_attempt_at = next_at
    return attempt


def send_all(callbacks: list[OutgoingCallback], client: httpx.Client,
             executor: Executor | None) -> list[Attempt]:
    """One attempt at each callback, concurrently when an executor is given."""
    if executor is None or len(callbacks) <= 1:
        return [deliver_once(cb, client) for cb in callbacks]
    return list(executor.map(lambda cb: deliver_once(cb, client), callbacks))


def deliver_batch(engine: sa.Engine, claims: list[tuple[int, str]], client: httpx.Client, *,
                  lease_margin_s: float, executor: Executor | None = None) -> list[Attempt]:
    """Deliver the callbacks a message names; return the recorded attempts."""
    callbacks = store.start_delivery(engine, claims, lease_margin_s)
    attempts = [decide(a) for a in send_all(callbacks, client, executor)]
    if attempts:
        store.record_attempts(engine, attempts)
    return attempts
