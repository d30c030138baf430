"""Pure decisions: what an HTTP answer means, and when the next attempt is due.

``classify`` maps one response (or transport error) to an :class:`~delivery.records.Outcome`;
``plan_next`` turns a failed outcome into a :class:`~delivery.records.RetryDecision`;
``next_state`` gives the callback's :class:`~delivery.records.Decision`. None does I/O, so all
are tested with plain values.
"""
from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import contract

from .records import AttemptOutcome, CallbackState, Decision, Outcome, RetryDecision


def classify(destination: str, status: int | None, body: bytes | None = None, *,
             truncated: bool = False, transport_error: str | None = None,
             transport_detail: str | None = None) -> Outcome:
    """Classify an attempt by the contract of SPEC §4.

    ``transport_error`` (timeout, connect, tls, protocol) means no response arrived.
    """
    if transport_error is not None:
        return Outcome(AttemptOutcome.FAILED, transport_error,
                       transport_detail or transport_error)
    assert status is not None, "an attempt has either a status or a transport error"
    if 200 <= status < 300:
        return Outcome(AttemptOutcome.DELIVERED)
    if status == 400:
        code = None if truncated else _error_code(body)
        if code is None:
            detail = ("400 body was larger than the stored cap and could not be read"
                      if truncated else "400 without the contract's error body "
                      '{"error": {"code": ...}}')
            return Outcome(AttemptOutcome.FAILED, "unsupported_error", detail)
        if code in contract.supported_codes(destination):
            return Outcome(AttemptOutcome.REJECTED, None, f"supported error {code}", code)
        return Outcome(AttemptOutcome.FAILED, "unsupported_error",
                       f"error code {code!r} is not supported for {destination}", code)
    if 300 <= status < 400:
        return Outcome(AttemptOutcome.FAILED, "http_status",
                       f"HTTP {status}: redirects are not followed")
    return Outcome(AttemptOutcome.FAILED, "http_status", f"HTTP {status}")


def _error_code(body: bytes | None) -> str | None:
    if not body:
        return None
    try:
        return contract.error_code_of(json.loads(body))
    except (ValueError, UnicodeDecodeError):
        return None


def plan_next(attempt_no: int, schedule_s: tuple[int, ...] | list[int], now: datetime, *,
              rng: random.Random | None = None, jitter: float = contract.RETRY_JITTER,
              retry_after_s: float | None = None,
              max_retry_after_s: float = contract.MAX_RETRY_AFTER_S) -> RetryDecision:
    """When to try again after attempt number ``attempt_no`` (1-based) failed.

    ``schedule_s[i]`` is the wait before attempt ``i + 1``; there are ``len(schedule_s)``
    attempts in all. A ``Retry-After`` (from a 429) replaces the scheduled wait, bounded by
    ``max_retry_after_s``; otherwise the wait moves by up to ``jitter`` either way.
    """
    if attempt_no >= len(schedule_s):
        return RetryDecision(None)
    base_s = float(schedule_s[attempt_no])
    if retry_after_s is not None:
        delay_s = min(max(retry_after_s, 0.0), max_retry_after_s)
    else:
        spread = (rng or random).uniform(-jitter, jitter)
        delay_s = max(0.0, base_s * (1 + spread))
    return RetryDecision(now + timedelta(seconds=delay_s), delay_s)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_schedule(text: str) -> tuple[int, ...]:
    """``"0,5,30,120"`` → ``(0, 5, 30, 120)``; raises ValueError with a readable message."""
    try:
        values = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise ValueError(f"retry schedule {text!r} must be whole seconds separated by commas, "
                         "e.g. 0,5,30,120") from None
    if not values or any(v < 0 for v in values):
        raise ValueError(f"retry schedule {text!r} needs at least one value, none negative")
    if len(values) > 50:
        raise ValueError(f"retry schedule {text!r} has {len(values)} attempts; at most 50")
    return values


def next_state(outcome: Outcome, attempt_no: int, schedule_s: tuple[int, ...] | list[int],
               now: datetime, *, retry_after_s: float | None = None,
               rng: random.Random | None = None) -> Decision:
    """The callback's state after an attempt: ``(state, next_attempt_at)``.

    delivered and rejected are final; a failure is retried (``pending``) until the schedule runs
    out (``exhausted``).
    """
    if outcome.final:
        return Decision(CallbackState(outcome.kind), None)
    decision = plan_next(attempt_no, schedule_s, now, rng=rng, retry_after_s=retry_after_s)
    if decision.exhausted:
        return Decision(CallbackState.EXHAUSTED, None)
    return Decision(CallbackState.PENDING, decision.retry_at)
