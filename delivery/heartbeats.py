"""The heartbeat engine: claims due player sessions, sends their ``/heartbeat``, records it.

While a player session is live (see :mod:`delivery.sessions`), its brand's platform gets
``POST {base_url}/heartbeat`` — an empty body, the session's Foreign-Params — once per the
brand's ``heartbeat_interval_s``, stretched or shrunk at random by up to
:data:`contract.HEARTBEAT_JITTER`. The session row is leased while its heartbeat is in flight,
so there is never a second one; the claim sets the next heartbeat's time at once, so one that
fails or hangs is not tried again: the next one replaces it. A platform answering
``400 auth_session_unknown`` ends the session (``ended_by_platform``).

Heartbeats have a budget of their own beside the bet callbacks': at most the brand's
``max_in_flight`` heartbeats in flight, sent over connections of their own by the worker
(:meth:`delivery.worker.DeliveryWorker.take_beats`), recorded by a recorder of their own. A
platform that hangs holds its own brand's heartbeat connections and nothing else.

Each heartbeat is an attempt in the history like any other (written as ``sending`` before the
request goes out): destination ``/heartbeat``, group the session id, no callback, attempt number
the heartbeat's number in the session, scheduled at the time it was due.

The decisions (:func:`first_delay_s`, :func:`next_delay_s`, :func:`ends_session`) are pure; the
rest runs the statements of ``sql/heartbeats.sql``.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx
import sqlalchemy as sa

import contract

from . import brands, masking, statements, store
from .records import Attempt, AttemptOutcome, Outcome, OutgoingCallback, Sending
from .requests import build_headers, redact_answer
from .sender import send

_FILE = "heartbeats.sql"
#: Sessions claimed by one statement at most.
CLAIM_LIMIT = 2000
#: Sessions expired by one statement at most.
EXPIRE_LIMIT = 5000
#: A claimed heartbeat's lease while its message waits for a worker, at most (a lost message
#: costs a session one heartbeat, never more than an interval).
DISPATCH_LEASE_MAX_S = 60.0


# --- decisions ------------------------------------------------------------------------------

def first_delay_s(interval_s: float, u: float) -> float:
    """When a new session's first heartbeat is due, after it opens: anywhere in its first
    interval (``u`` uniform in [0, 1)), so that sessions opened together — a restart, an import —
    are spread over the interval instead of beating together."""
    return interval_s * u


def next_delay_s(interval_s: float, u: float, jitter: float = contract.HEARTBEAT_JITTER) -> float:
    """When a session's next heartbeat is due after one goes out: the interval ±``jitter``
    (``u`` uniform in [0, 1)). ``sql/heartbeats.sql`` (claim_beats) computes the same."""
    return interval_s * (1 - jitter + 2 * jitter * u)


def ends_session(outcome: Outcome) -> bool:
    """Whether the platform's answer ends the session: it no longer knows it."""
    return (outcome.kind == AttemptOutcome.REJECTED
            and outcome.error_code == contract.SESSION_UNKNOWN)


def minute_counts(attempts) -> list[dict]:
    """Heartbeats counted per brand and minute of their end: delivered, ended (the platform no
    longer knew the session) and failed (anything else)."""
    counts: dict[tuple, dict] = {}
    for attempt in attempts:
        minute = attempt.finished_at.replace(second=0, microsecond=0)
        row = counts.setdefault((attempt.callback.brand_id, minute), dict(
            brand_id=attempt.callback.brand_id, minute=minute, delivered=0, ended=0, failed=0))
        kind = ("delivered" if attempt.outcome.kind == AttemptOutcome.DELIVERED
                else "ended" if ends_session(attempt.outcome) else "failed")
        row[kind] += 1
    return [counts[key] for key in sorted(counts)]


def forget_old(engine: sa.Engine, retention_days: float, *, batch: int = 10_000) -> int:
    """Forget heartbeat counts older than 35 days, and sessions over for longer than the
    history is kept (``retention_days``); how many sessions went."""
    with engine.begin() as conn:
        statements.run(conn, "drop_old_beat_minutes", filename=_FILE)
    dropped = 0
    while True:
        with engine.begin() as conn:
            gone = statements.run(conn, "drop_old_sessions",
                                  dict(days=retention_days, limit=batch),
                                  filename=_FILE).rowcount
        dropped += gone
        if gone < batch:
            return dropped


def dispatch_lease_s(lease_s: float) -> float:
    return min(lease_s, DISPATCH_LEASE_MAX_S)


# --- the statements -------------------------------------------------------------------------


def claim_beats(engine: sa.Engine, lease_s: float, *, limit: int = CLAIM_LIMIT,
                now: datetime | None = None, jitter: float = contract.HEARTBEAT_JITTER
                ) -> tuple[list[tuple[int, str, int]], float | None]:
    """Lease the due sessions of every brand (each under its heartbeat budget):
    ``([(session row id, lease token, brand id)], seconds until the earliest left is due)``.
    ``now`` is the clock (tests pass their own)."""
    with engine.begin() as conn:
        rows = statements.run(conn, "claim_beats", dict(
            now=now or datetime.now(UTC), lease_s=dispatch_lease_s(lease_s),
            limit=limit, jitter=jitter), filename=_FILE).all()
    claims = [(r.id, r.lease_token, r.brand_id) for r in rows if r.id is not None]
    due_in = next((r.next_due_in_s for r in rows if r.id is None), None)
    return claims, None if due_in is None else float(due_in)


@dataclass(frozen=True)
class Beat:
    """A heartbeat about to go out: what the recording needs beside the attempt."""

    session_row: int
    lease_token: str
    next_beat_at: datetime | None


def _outgoing(r, mask_key: bytes | None) -> OutgoingCallback:
    """The heartbeat as the sender sends it (a callback with no id and no body): the group is
    the session, the attempt number its heartbeat's, scheduled when it was due."""
    return OutgoingCallback(
        callback_id=None, request_id="", bet_id=r.session_id, brand_id=r.brand_id,
        destination=contract.HEARTBEAT, payload={}, foreign_params=r.foreign_params,
        attempt_no=r.heartbeats_sent + 1, base_url=r.base_url, timeout_s=float(r.timeout_s),
        retry_schedule_s=(0,), signing_secret=r.signing_secret, scheduled_at=r.beat_due_at,
        created_at=r.opened_at, origin="producer", lease_token=r.lease_token,
        max_in_flight=r.max_in_flight,
        mask=masking.for_brand(mask_key, tuple(r.visible_keys or ())),
        url_credentials=r.url_credentials)


def prepare_beat(callback: OutgoingCallback, attempt_id: str, started_at: datetime) -> Sending:
    """A heartbeat's request: an empty body, the headers of any attempt. A signing brand signs
    it with the Request ID as the message id (a heartbeat has no request_id)."""
    callback = replace(callback, request_id=attempt_id)
    return Sending(attempt_id, callback, started_at, b"",
                   build_headers(callback, attempt_id, b"", started_at))


def begin_beats(engine: sa.Engine, claims: list[tuple[int, str]], margin_s: float
                ) -> list[tuple[Sending, Beat]]:
    """Confirm the leases and write each heartbeat's attempt as ``sending``; the heartbeats to
    send. A lease lost meanwhile, or a session over meanwhile, sends nothing (the latter's
    lease is given back)."""
    if not claims:
        return []
    key = brands.fingerprint_key(engine)
    started_at = datetime.now(UTC)
    with engine.begin() as conn:
        rows = statements.run(conn, "start_beats", dict(
            ids=[c[0] for c in claims], tokens=[c[1] for c in claims],
            attempt_ids=[str(uuid.uuid4()) for _ in claims],
            started_ats=[started_at] * len(claims), margin_s=margin_s), filename=_FILE).all()
        beats = [(prepare_beat(_outgoing(r, key), r.attempt_id, r.started_at),
                  Beat(r.id, r.lease_token, r.next_beat_at)) for r in rows if r.state == "live"]
        if beats:
            store.insert_sendings(conn, [s for s, _ in beats])
    return beats


def keep_beat_leases(engine: sa.Engine, beats: list[tuple[Sending, Beat]], margin_s: float
                     ) -> list[tuple[Sending, Beat]]:
    """Stretch the leases of heartbeats about to go out from now (after a slow write); the ones
    swept meanwhile are left out."""
    if not beats:
        return []
    with engine.begin() as conn:
        held = set(statements.run(conn, "keep_beat_leases", dict(
            ids=[b.session_row for _, b in beats], tokens=[b.lease_token for _, b in beats],
            margin_s=margin_s), filename=_FILE).scalars())
    return [(s, b) for s, b in beats if b.session_row in held]


def decide(attempt: Attempt, beat: Beat) -> Attempt:
    """A heartbeat's attempt as the history records it: its outcome is final (a heartbeat is
    never tried again), the next attempt is the session's next heartbeat unless this one ended
    it."""
    attempt.final_state = attempt.outcome.kind
    attempt.next_attempt_at = None if ends_session(attempt.outcome) else beat.next_beat_at
    return attempt


def finish_beats(engine: sa.Engine, finished: list[tuple[Attempt, Beat]]) -> None:
    """Complete the heartbeats' attempts and move their sessions on, in one transaction."""
    if not finished:
        return
    completions = [store.completion_row(a) for a, _ in finished]
    rows = []
    for attempt, beat in finished:
        delivered = attempt.outcome.kind == AttemptOutcome.DELIVERED
        error = None if delivered else redact_answer(attempt)[1]
        rows.append(dict(id=beat.session_row, token=beat.lease_token,
                         outcome=attempt.outcome.kind, status=attempt.response_status,
                         error=error, ended=ends_session(attempt.outcome),
                         at=attempt.finished_at))
    with engine.begin() as conn:
        statements.run_many(conn, [
            ("complete_attempts", {
                "rows": store.json_rows(completions),
                "started_ats": sorted({c["started_at"] for c in completions}),
                "ids": [str(c["id"]) for c in completions]}),
            ("finish_beats", {"rows": store.json_rows(rows),
                              "ids": [r["id"] for r in rows]}, _FILE),
            ("count_beats", {"rows": store.json_rows(minute_counts(
                a for a, _ in finished))}, _FILE),
        ])


def sweep_beat_leases(engine: sa.Engine) -> list[int]:
    """Give back the leases of heartbeats whose worker stopped or whose message was lost,
    closing attempts written but never completed as ``unknown``; the sessions' row ids."""
    with engine.begin() as conn:
        return list(statements.run(conn, "sweep_beat_leases", filename=_FILE).scalars())


def expire_sessions(engine: sa.Engine, *, now: datetime | None = None,
                    limit: int = EXPIRE_LIMIT) -> list[int]:
    """End the live sessions whose end has come (``expired``); their row ids."""
    with engine.begin() as conn:
        return list(statements.run(conn, "expire_sessions", dict(
            now=now or datetime.now(UTC), limit=limit), filename=_FILE).scalars())


# --- in the calling thread --------------------------------------------------------------------

def beat_round(engine: sa.Engine, client: httpx.Client | httpx.BaseTransport, *,
               now: datetime | None = None, lease_s: float = 60.0,
               margin_s: float = 10.0) -> list[Attempt]:
    """One round in the calling thread, for tools and tests: expire what ended, claim what is
    due at ``now``, send each heartbeat one after the other and record it; the attempts."""
    expire_sessions(engine, now=now)
    claims, _ = claim_beats(engine, lease_s, now=now)
    beats = begin_beats(engine, [(c[0], c[1]) for c in claims], margin_s)
    finished = [(decide(send(s, client), b), b) for s, b in beats]
    finish_beats(engine, finished)
    return [a for a, _ in finished]
