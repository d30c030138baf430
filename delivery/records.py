"""The plain records of delivery: a callback as it is sent, an attempt and what came of it, and
the states both go through. No I/O.

Each state machine is one :class:`~enum.StrEnum`, so a member is its own SQL and JSON text
(``CallbackState.DELIVERED == "delivered"``) and rows read back compare equal to it.

- :class:`CallbackState`: a queued callback's ``callbacks.state``.
- :class:`AttemptOutcome`: an attempt's ``attempts.outcome`` (and :attr:`Outcome.kind`).
- :class:`Outcome`: what :func:`delivery.decisions.classify` makes of one answer.
- :class:`RetryDecision`: when :func:`delivery.decisions.plan_next` tries again, if at all.
- :class:`Decision`: the callback's state after an attempt (:func:`delivery.decisions.next_state`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import NamedTuple

import contract

from . import masking, urls


class CallbackState(StrEnum):
    """Where a queued callback stands (the ``callbacks.state`` column)."""

    #: Queued behind an open callback of its bet.
    WAITING = "waiting"
    #: Its bet's head, due at ``next_attempt_at``.
    PENDING = "pending"
    #: Leased by a worker, an attempt under way.
    IN_FLIGHT = "in_flight"
    #: The platform accepted it (2xx).
    DELIVERED = "delivered"
    #: The platform answered with an error code the contract supports (final).
    REJECTED = "rejected"
    #: Every attempt of the retry schedule failed.
    EXHAUSTED = "exhausted"
    #: Never sent (its bet's place was rejected, or an action skipped it).
    SKIPPED = "skipped"


#: States a callback can still leave.
OPEN_STATES = (CallbackState.WAITING, CallbackState.PENDING, CallbackState.IN_FLIGHT)
#: States a callback never leaves.
FINAL_STATES = (CallbackState.DELIVERED, CallbackState.REJECTED, CallbackState.EXHAUSTED,
                CallbackState.SKIPPED)


class AttemptOutcome(StrEnum):
    """What one attempt came to (the ``attempts.outcome`` column)."""

    #: Recorded before the request went out; no answer yet.
    SENDING = "sending"
    #: Answered 2xx.
    DELIVERED = "delivered"
    #: Answered with a supported error code.
    REJECTED = "rejected"
    #: No usable answer (transport error, another status, an unsupported error); retried.
    FAILED = "failed"
    #: Failed, and it was the last attempt of the schedule.
    EXHAUSTED = "exhausted"
    #: Its worker stopped before recording the answer (closed by the lease sweep).
    UNKNOWN = "unknown"


#: Error classes recorded on failed attempts.
ERROR_CLASSES = ("timeout", "connect", "tls", "protocol", "unsupported_error", "http_status")


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. ``kind`` is delivered, rejected or failed."""

    kind: AttemptOutcome
    error_class: str | None = None
    error_detail: str | None = None
    error_code: str | None = None

    @property
    def final(self) -> bool:
        return self.kind in (AttemptOutcome.DELIVERED, AttemptOutcome.REJECTED)


@dataclass(frozen=True)
class RetryDecision:
    """After a failed attempt: retry at ``retry_at``, or give up (``retry_at`` is None)."""

    retry_at: datetime | None
    delay_s: float | None = None

    @property
    def exhausted(self) -> bool:
        return self.retry_at is None


class Decision(NamedTuple):
    """The callback's state after an attempt, and when the next one is due (None unless
    it is retried). A tuple, so ``state, next_attempt_at = next_state(...)`` reads it."""

    state: CallbackState
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class OutgoingCallback:
    """A callback as a worker sends it: the row plus its brand's settings."""

    callback_id: int
    request_id: str
    bet_id: str
    brand_id: int
    destination: str
    payload: dict
    foreign_params: dict
    attempt_no: int
    base_url: str
    timeout_s: float
    retry_schedule_s: tuple[int, ...] = contract.DEFAULT_RETRY_SCHEDULE_S
    signing_secret: str | None = None
    scheduled_at: datetime | None = None
    created_at: datetime | None = None
    origin: str = "producer"
    lease_token: str | None = None
    max_in_flight: int = contract.DEFAULT_MAX_IN_FLIGHT
    #: How the brand's stored copies are masked (its visible keys, the fingerprint key).
    mask: masking.Mask = masking.KEYLESS
    #: The action (``callbacks retry`` or ``recover``) that sent this callback again, if any.
    action_id: int | None = None
    #: ``user:password`` from the brand's URL, sent as ``Authorization: Basic`` (never stored:
    #: the stored headers mask Authorization).
    url_credentials: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Where the request goes: the destination path after the base URL's path, before its
        query string (see :func:`delivery.urls.join`)."""
        return urls.join(self.base_url, self.destination)


@dataclass
class Attempt:
    """One HTTP request and what came of it — a row of the attempt history."""

    id: str
    callback: OutgoingCallback
    started_at: datetime
    finished_at: datetime
    duration_ms: float
    request_headers: dict
    outcome: Outcome
    response_status: int | None = None
    response_headers: dict | None = None
    response_body: str | None = None
    response_truncated: bool = False
    retry_after_s: float | None = None
    #: Set by the caller once the retry decision is made (:class:`Decision`).
    next_attempt_at: datetime | None = None
    #: The callback's :class:`CallbackState` after it (a heartbeat's: its outcome's kind).
    final_state: str | None = field(default=None)


@dataclass(frozen=True)
class Sending:
    """An attempt whose request is about to go out: recorded first, then sent."""

    id: str
    callback: OutgoingCallback
    started_at: datetime
    body: bytes
    headers: dict[str, str]

    @cached_property
    def stored_headers(self) -> dict[str, str]:
        """The headers as the history keeps them (masked once, for the row written before
        the request and for the attempt after it)."""
        return self.callback.mask.headers(self.headers)
