"""The only module that speaks SQL to the queue: enqueue, claims, leases, outcomes, reads.

Brands are :mod:`delivery.brands`'s (``sql/brands.sql``); the producer API's idempotent enqueue
and tokens are :mod:`api.store`'s (``sql/api.sql``), which queues through :func:`enqueue_in`.
This module never speaks HTTP: requests are built by :mod:`delivery.requests` and sent by
:mod:`delivery.sender`.

Every function takes an engine and runs its statements (named blocks of ``sql/queries.sql``) in
one transaction. The bet row is the group's lock: enqueue and outcome recording take it first,
always in bet-id order, so they never deadlock and never break a group's order.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

import contract

from . import brands, lifecycle, masking, statements
from .brands import Brand
from .errors import InvalidInput
from .records import (
    FINAL_STATES,
    Attempt,
    AttemptOutcome,
    CallbackState,
    OutgoingCallback,
    Sending,
)
from .requests import prepare, redact_answer
from .validation import NewCallback

# --- enqueue --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Enqueued:
    """A callback as queuing left it: its id and its :class:`~delivery.records.CallbackState`
    (``pending``, ``waiting`` or ``skipped``)."""

    id: int
    request_id: str
    bet_id: str
    state: str


def enqueue(engine: sa.Engine, brand_name: str, callbacks: list[NewCallback], *,
            origin: str = "producer") -> list[Enqueued]:
    """Queue validated callbacks (bet rows created as needed) in one transaction.

    A callback becomes its group's head (``pending``, due now) when nothing else of the group is
    open, otherwise it waits behind the others. A bet whose place was rejected takes no more
    callbacks: they are stored as ``skipped`` with the reason.
    """
    with engine.begin() as conn:
        return enqueue_in(conn, brands.brand_named(conn, brand_name), callbacks, origin)


def enqueue_in(conn: sa.Connection, brand: Brand, callbacks: list[NewCallback],
               origin: str) -> list[Enqueued]:
    """:func:`enqueue` in the caller's transaction (the API's idempotent enqueue runs it after
    its own checks). Queue ``callbacks`` in two statements, whatever their number: the bets
    created or locked (in bet-id order), then the bets' new statuses and the callbacks (in input
    order). What each bet and callback becomes is decided in between, by :func:`plan_enqueue`,
    from the locked bets' statuses."""
    by_bet: dict[str, list[NewCallback]] = {}
    for cb in callbacks:
        by_bet.setdefault(cb.bet_id, []).append(cb)
    locked = {r.bet_id: r for r in statements.run(conn, "lock_bets_for_enqueue", {
        "rows": json.dumps([_bet_row(n, brand.id, bet_id, by_bet[bet_id])
                            for n, bet_id in enumerate(sorted(by_bet))])})}
    for bet_id in sorted(by_bet):
        if locked[bet_id].brand_id != brand.id:
            raise InvalidInput(f"bet {bet_id!r} belongs to another brand than {brand.name!r}",
                               field="bet_id", value=bet_id)
    plan = plan_enqueue(callbacks, {bet_id: (None if r.created else r.status)
                                    for bet_id, r in locked.items()})
    moved = [{"bet_id": bet_id, "status": status} for bet_id, status in plan.statuses.items()
             if status != locked[bet_id].status]
    rows = [{"n": n, "request_id": cb.request_id, "bet_id": cb.bet_id,
             "destination": cb.destination, "payload": cb.payload,
             "foreign_params": cb.foreign_params, "skip_reason": skip_reason,
             "first_of_bet": first}
            for n, (cb, skip_reason, first) in enumerate(zip(callbacks, plan.skip_reasons,
                                                             plan.firsts, strict=False))]
    written = statements.run(conn, "queue_callbacks", {
        "brand_id": brand.id, "origin": origin, "statuses": json.dumps(moved),
        "rows": _json_array(rows)})
    states = {r.request_id: r for r in written}
    return [Enqueued(states[cb.request_id].id, cb.request_id, cb.bet_id,
                     states[cb.request_id].state) for cb in callbacks]


#: Callbacks encoded per json.dumps call (see _json_array).
_JSON_PIECE = 100


def _json_array(items: list) -> str:
    """``items`` as one JSON array, encoded :data:`_JSON_PIECE` at a time: one json.dumps call
    holds the GIL throughout (6 ms for 1,000 callbacks), and in the API the event loop, which
    answers every other request, would wait that long for its turn."""
    return "[" + ",".join(json.dumps(items[i:i + _JSON_PIECE], separators=(",", ":"))[1:-1]
                          for i in range(0, len(items), _JSON_PIECE)) + "]"


@dataclass(frozen=True)
class EnqueuePlan:
    """What queuing a batch does, decided from its bets' statuses before it (pure)."""

    #: Each bet's status once the batch is queued.
    statuses: dict[str, str]
    #: Per callback, in input order: why it is stored as skipped, or None.
    skip_reasons: list[str | None]
    #: Per callback, in input order: whether it is the first of its bet in the batch.
    firsts: list[bool]


#: Why a callback of a bet whose place was rejected is stored as skipped.
PLACE_REJECTED_SKIP = "skipped: the bet's /bet/place was rejected"


def plan_enqueue(callbacks: list[NewCallback],
                 statuses: Mapping[str, str | None]) -> EnqueuePlan:
    """The bets' statuses after queuing ``callbacks`` in order (``statuses``: each bet's status
    before, None for a bet the batch creates), and per callback its skip reason and whether it
    opens its bet's part of the batch."""
    status = dict(statuses)
    skip_reasons: list[str | None] = []
    firsts: list[bool] = []
    seen: set[str] = set()
    for cb in callbacks:
        current = status[cb.bet_id]
        skip_reasons.append(PLACE_REJECTED_SKIP if current == lifecycle.PLACE_ERROR else None)
        status[cb.bet_id] = lifecycle.status_on_enqueue(current, cb.destination)
        firsts.append(cb.bet_id not in seen)
        seen.add(cb.bet_id)
    return EnqueuePlan(status, skip_reasons, firsts)


def _bet_row(n: int, brand_id: int, bet_id: str, callbacks: list[NewCallback]) -> dict:
    """The bet as the batch would create it: from its place when there is one, else its first
    callback; its status the first callback's."""
    source = next((c for c in callbacks if c.destination == contract.PLACE), callbacks[0])
    return dict(_bet_values(brand_id, bet_id, source.payload, callbacks[0].destination), n=n)


def lock_bet(conn: sa.Connection, brand_id: int, bet_id: str, payload: dict,
             first_destination: str):
    """Create the bet from a callback body (the place, when there is one) or lock the existing
    row: ``(brand_id, status, created)``."""
    return statements.run(conn, "lock_bet", _bet_values(brand_id, bet_id, payload,
                                                        first_destination)).one()


def _bet_values(brand_id: int, bet_id: str, payload: dict, first_destination: str) -> dict:
    """A new bet's columns from a callback body (its odds as JSON text)."""
    return dict(
        bet_id=bet_id, brand_id=brand_id, player_id=_str_or_none(payload.get("bet_player_id")),
        bet_type=payload.get("bet_type"), stake=payload.get("bet_stake"),
        odds=json.dumps(payload["bet_odds"]) if "bet_odds" in payload else None,
        system_sizes=payload.get("bet_system_sizes"),
        placed_at=payload.get("bet_created_at"),
        status=lifecycle.status_on_enqueue(None, first_destination))


def set_bet_status(conn: sa.Connection, bet_id: str, status: str,
                   restrictions: list | None = None) -> None:
    """Move the bet to ``status``, adding ``restrictions`` to those it has."""
    statements.run(conn, *_bet_status_write(bet_id, status, restrictions))


def _bet_status_write(bet_id: str, status: str,
                      restrictions: list | None = None) -> tuple[str, dict]:
    return "set_bet_status", dict(bet_id=bet_id, status=status,
                                  restrictions=json.dumps(restrictions or []))


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


# --- claims and leases ----------------------------------------------------------------------

def in_flight_by_brand(engine: sa.Engine) -> dict[int, int]:
    with engine.connect() as conn:
        return {r.brand_id: r.in_flight for r in statements.run(conn, "in_flight_by_brand")}


def claim_due(engine: sa.Engine, lease_s: float, *, limit: int = 1000,
              brand_id: int | None = None) -> list[tuple[int, str, int]]:
    """Lease due group heads of every brand (or one), each brand at most up to the room under
    its ``max_in_flight`` and ``limit``: ``[(callback_id, lease_token, brand_id)]``."""
    return claim_round(engine, lease_s, limit=limit, brand_id=brand_id)[0]


def claim_round(engine: sa.Engine, lease_s: float, *, limit: int = 1000,
                brand_id: int | None = None) -> tuple[list[tuple[int, str, int]], float | None]:
    """The scheduler's round in one statement: :func:`claim_due`, and the seconds until the
    earliest head left pending is due (≤ 0: due now but held back by its brand's cap; None when
    none waits)."""
    with engine.begin() as conn:
        rows = statements.run(conn, "claim_due", dict(brand_id=brand_id, limit=limit,
                                                      lease_s=lease_s)).all()
    claims = [(r.id, r.lease_token, r.brand_id) for r in rows if r.id is not None]
    due_in = next((r.next_due_in_s for r in rows if r.id is None), None)
    return claims, None if due_in is None else float(due_in)


def sweep_expired_leases(engine: sa.Engine) -> list[int]:
    """Make callbacks whose lease ran out due again, closing the attempts their worker never
    completed as ``unknown``; their ids."""
    with engine.begin() as conn:
        swept = list(statements.run(conn, "sweep_expired_leases").scalars())
        if swept:
            statements.run(conn, "notify_due")
    return swept


def _confirm(conn: sa.Connection, claims, margin_s: float) -> list[OutgoingCallback]:
    rows = statements.run(conn, "start_delivery", dict(
        ids=[c[0] for c in claims], tokens=[c[1] for c in claims], margin_s=margin_s)).all()
    return [_outgoing(r, conn) for r in rows]


def _outgoing(r, conn: sa.Connection) -> OutgoingCallback:
    return OutgoingCallback(
        callback_id=r.id, request_id=r.request_id, bet_id=r.bet_id, brand_id=r.brand_id,
        destination=r.destination, payload=r.payload, foreign_params=r.foreign_params,
        attempt_no=r.attempts + 1, base_url=r.base_url, timeout_s=float(r.timeout_s),
        retry_schedule_s=tuple(r.retry_schedule_s), signing_secret=r.signing_secret,
        scheduled_at=r.next_attempt_at, created_at=r.created_at, origin=r.origin,
        lease_token=r.lease_token, max_in_flight=r.max_in_flight,
        mask=masking.for_brand(brands.fingerprint_key(conn.engine), tuple(r.visible_keys or ())),
        action_id=r.manual_action_id, url_credentials=r.url_credentials)


def begin_attempts(engine: sa.Engine, claims: list[tuple[int, str]],
                   margin_s: float) -> list[Sending]:
    """Confirm the leases and write each attempt as ``sending`` before its request goes out.

    Returns the prepared attempts to send; claims whose lease was lost are left out.
    """
    if not claims:
        return []
    with engine.begin() as conn:
        return _write_sending(conn, _confirm(conn, claims, margin_s))


def _write_sending(conn: sa.Connection, callbacks: list[OutgoingCallback],
                   then: list[tuple[str, dict]] = ()) -> list[Sending]:
    """Write the callbacks' attempts as ``sending`` (and run the statements ``then``, in the
    same round trip)."""
    sendings = [prepare(cb) for cb in callbacks]
    writes = list(then)
    if sendings:
        writes.insert(0, ("insert_attempts", {"rows": json_rows(sending_row(s)
                                                                 for s in sendings)}))
    if writes:
        statements.run_many(conn, writes)
    return sendings


def insert_sendings(conn: sa.Connection, sendings: list[Sending]) -> None:
    """Write attempts about to be sent as ``sending`` rows, in one statement."""
    statements.run(conn, "insert_attempts", {"rows": json_rows(sending_row(s) for s in sendings)})


def keep_leases(engine: sa.Engine, sendings: list[Sending], margin_s: float) -> list[Sending]:
    """Stretch the leases of attempts about to be sent from now on (after a write that took
    long enough to eat into them); the ones whose lease ran out and was swept are left out."""
    if not sendings:
        return []
    with engine.begin() as conn:
        held = set(statements.run(conn, "keep_leases", dict(
            ids=[s.callback.callback_id for s in sendings],
            tokens=[s.callback.lease_token for s in sendings], margin_s=margin_s)).scalars())
    return [s for s in sendings if s.callback.callback_id in held]


# --- outcomes -------------------------------------------------------------------------------

def finish_attempts(engine: sa.Engine, attempts: list[Attempt], margin_s: float, *,
                    take_more: bool = True,
                    room: Mapping[int, int] | None = None) -> list[Sending]:
    """Complete a batch of attempts and move each callback and group on, in one transaction.

    ``attempt.final_state`` and ``attempt.next_attempt_at`` must be decided already. An attempt
    whose lease was lost meanwhile is still completed (it happened) but moves nothing. A group
    whose head is done passes its slot to its next callback, and any other freed slot goes to
    the brand's next due head; this transaction leases them and writes them as ``sending``: the
    caller sends the returned attempts at once (``take_more`` False, as when the worker is
    stopping: nothing more is taken, and the scheduler hands the work to another worker).
    ``room`` caps, per brand, how many callbacks this batch may put back in flight (successors
    and refills together; a successor always goes); a freed slot beyond it is left to the
    scheduler. The work is set-based — a few statements per batch, whatever its size, sent in
    a few round trips (the locks; the writes and the chaining; a refill per brand; the new
    attempts).
    """
    if not attempts:
        return []
    with engine.begin() as conn:
        locked = statements.run(conn, "lock_finished", {
            "bet_ids": sorted({a.callback.bet_id for a in attempts}),
            "ids": [a.callback.callback_id for a in attempts]}).all()
        bets = {r.bet_id: r.status for r in locked if r.kind == "bet"}
        held = {r.id: r for r in locked if r.kind == "callback"}
        completions = [completion_row(a) for a in attempts]
        # The writes that need no answer go in one round trip with the one that does.
        writes: list[tuple[str, dict]] = [("complete_attempts", {
            "rows": json_rows(completions),
            "started_ats": sorted({c["started_at"] for c in completions}),
            "ids": [str(c["id"]) for c in completions]})]
        owned = [a for a in attempts if _still_holds(held.get(a.callback.callback_id), a)]
        if not owned:
            statements.run_many(conn, writes)
            return []
        writes.append(("finish_callbacks", {"rows": json_rows(dict(
            id=a.callback.callback_id, state=a.final_state, last_status=a.response_status,
            last_error=None if a.outcome.kind == AttemptOutcome.DELIVERED else redact_answer(a)[1],
            next_attempt_at=a.next_attempt_at) for a in owned),
            "ids": [a.callback.callback_id for a in owned]}))
        finished = [a for a in owned if a.final_state in FINAL_STATES]
        chain = []
        statuses: list[dict] = []
        for attempt in finished:
            if _apply_group_effect(attempt, bets[attempt.callback.bet_id], statuses, writes):
                chain.append(attempt.callback.bet_id)
        if statuses:
            writes.append(("set_bet_statuses", {
                "rows": json_rows(statuses), "bet_ids": [s["bet_id"] for s in statuses]}))
        if chain and take_more:
            writes.append(("chain_next_in_groups", {"bet_ids": chain, "margin_s": margin_s}))
        elif chain:
            writes.append(("promote_next_in_groups", {"bet_ids": chain}))
        result = statements.run_many(conn, writes)
        successors: list[OutgoingCallback] = []
        refills: list[OutgoingCallback] = []
        left_to_scheduler = not take_more
        if take_more:
            if chain:
                successors = [_outgoing(r, conn) for r in result]
            refills, left_to_scheduler = _refill(conn, owned, successors, margin_s, room or {})
        # Freed slots this worker does not fill, a retry scheduled, or a decline queued: the
        # scheduler looks again. (A slot the refill found nothing due for needs no look: a new
        # callback's enqueue notifies by itself.)
        look_again = (left_to_scheduler or len(finished) < len(owned)
                      or len(chain) < len(finished))
        return _write_sending(conn, successors + refills,
                              [("notify_due", {})] if look_again else [])


def _refill(conn: sa.Connection, owned: list[Attempt], successors: list[OutgoingCallback],
            margin_s: float, room: Mapping[int, int]) -> tuple[list[OutgoingCallback], bool]:
    """Each slot under a brand's max_in_flight that a finished attempt freed and no successor
    took goes to the brand's next due head at once, without a scheduler round (no more than
    the brand's ``room`` allows). Returns the refills, and whether ``room`` left freed slots
    for the scheduler to fill."""
    free: dict[int, int] = {}
    for attempt in owned:
        free[attempt.callback.brand_id] = free.get(attempt.callback.brand_id, 0) + 1
    capped = set()
    for brand_id in free:
        if brand_id in room and room[brand_id] < free[brand_id]:
            free[brand_id] = room[brand_id]
            capped.add(brand_id)
    for successor in successors:
        free[successor.brand_id] -= 1
    refills = []
    left_to_scheduler = False
    for brand_id, count in sorted(free.items()):
        taken = []
        if count > 0:
            taken = [_outgoing(r, conn) for r in statements.run(conn, "refill_brand", dict(
                brand_id=brand_id, limit=count, margin_s=margin_s))]
            refills += taken
        # Capped, and as much was due as this worker took: more may be due for another.
        left_to_scheduler |= brand_id in capped and len(taken) == max(0, count)
    return refills, left_to_scheduler


def insert_attempts(conn: sa.Connection, attempts: list[Attempt]) -> None:
    """Append the attempts to the history in one statement."""
    if attempts:
        statements.run(conn, "insert_attempts",
                       {"rows": json_rows(attempt_row(a) for a in attempts)})


def _still_holds(row, attempt: Attempt) -> bool:
    return (row is not None and row.state == CallbackState.IN_FLIGHT
            and row.lease_token == attempt.callback.lease_token)


def _apply_group_effect(attempt: Attempt, bet_status: str, statuses: list[dict],
                        writes: list[tuple[str, dict]]) -> bool:
    """What a finished head does to its bet; True when the next callback should go.

    A new bet status is added to ``statuses`` (the caller sets a batch's in one statement; a
    bet has one callback in flight at a time, so it appears once); skipping the rest of the
    group or queueing a decline is added to ``writes``."""
    cb = attempt.callback
    effect = lifecycle.effect_of(cb.destination, attempt.final_state, bet_status,
                                 attempt.outcome.error_code)
    if effect.bet_status and effect.bet_status != bet_status:
        statuses.append({"bet_id": cb.bet_id, "status": effect.bet_status,
                         "restrictions": effect.restrictions or []})
    if effect.skip_reason:
        writes.append(("skip_waiting_in_group", {"bet_id": cb.bet_id,
                                                 "reason": effect.skip_reason}))
    if effect.queue_decline:
        payload = lifecycle.decline_payload(cb.payload, str(uuid.uuid4()))
        writes.append(("insert_callback", dict(
            request_id=payload["request_id"], brand_id=cb.brand_id, bet_id=cb.bet_id,
            destination=contract.DECLINE, payload=json.dumps(payload),
            foreign_params=json.dumps(cb.foreign_params), origin="system",
            state=CallbackState.PENDING,
            last_error=None)))
    return not effect.skip_reason and not effect.queue_decline


def json_rows(rows) -> str:
    """Rows as the JSON array the batch statements read (``jsonb_to_recordset``)."""
    return json.dumps(list(rows), default=_json_value)



def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in an attempt row")


def attempt_row(attempt: Attempt) -> dict:
    """The attempt as a row of the ``attempts`` table (JSON-ready but for datetimes)."""
    cb = attempt.callback
    outcome = (AttemptOutcome.EXHAUSTED if attempt.final_state == CallbackState.EXHAUSTED
               else attempt.outcome.kind)
    body, error_detail, error_code = redact_answer(attempt)
    return dict(
        id=attempt.id, callback_id=cb.callback_id, group_id=cb.bet_id, brand_id=cb.brand_id,
        destination=cb.destination, origin=cb.origin, attempt_no=cb.attempt_no,
        callback_created_at=cb.created_at or attempt.started_at, scheduled_at=cb.scheduled_at,
        started_at=attempt.started_at, finished_at=attempt.finished_at,
        duration_ms=attempt.duration_ms, request_headers=attempt.request_headers,
        response_status=attempt.response_status, response_headers=attempt.response_headers,
        response_body=(body or "").replace("\x00", "\ufffd") or None,
        response_truncated=attempt.response_truncated, outcome=outcome,
        error_class=attempt.outcome.error_class, error_detail=error_detail,
        error_code=error_code, next_attempt_at=attempt.next_attempt_at,
        action_id=cb.action_id)


def sending_row(sending: Sending) -> dict:
    """An attempt about to be sent, as a row of the ``attempts`` table."""
    cb = sending.callback
    return dict(
        id=sending.id, callback_id=cb.callback_id, group_id=cb.bet_id, brand_id=cb.brand_id,
        destination=cb.destination, origin=cb.origin, attempt_no=cb.attempt_no,
        callback_created_at=cb.created_at or sending.started_at, scheduled_at=cb.scheduled_at,
        started_at=sending.started_at, finished_at=None, duration_ms=None,
        request_headers=sending.stored_headers,
        response_status=None,
        response_headers=None, response_body=None, response_truncated=False,
        outcome=AttemptOutcome.SENDING, error_class=None, error_detail=None, error_code=None,
        next_attempt_at=None, action_id=cb.action_id)


def completion_row(attempt: Attempt) -> dict:
    """What :func:`finish_attempts` fills into an attempt's ``sending`` row."""
    row = attempt_row(attempt)
    return {k: row[k] for k in (
        "id", "started_at", "finished_at", "duration_ms", "response_status", "response_headers",
        "response_body", "response_truncated", "outcome", "error_class", "error_detail",
        "error_code", "next_attempt_at")}


# --- reading --------------------------------------------------------------------------------

def status(engine: sa.Engine) -> dict:
    """Queue figures: pending callbacks, groups waiting, in flight, due now, oldest age."""
    with engine.connect() as conn:
        row = statements.run(conn, "status").one()
    age = row.oldest_pending_age_s
    return dict(pending_callbacks=row.pending_callbacks, groups_waiting=row.groups_waiting,
                in_flight=row.in_flight, due_now=row.due_now,
                oldest_pending_age_s=round(float(age), 3) if age is not None else None)


def queue_by_brand(engine: sa.Engine) -> list[dict]:
    """Per brand: open callbacks, due now, in flight, and the oldest open one's age (s); live
    player sessions, and those whose latest heartbeat failed.

    JIT is off for the statement: its estimates over many brands' live sessions are high
    enough to compile it (some 200 ms) for a few milliseconds of index reads."""
    with engine.connect() as conn:
        conn.execute(sa.text("SET LOCAL jit = off"))
        return [dict(r._mapping) for r in statements.run(conn, "queue_by_brand")]


def wait_until_drained(engine: sa.Engine, timeout_s: float = 300.0) -> bool:
    """Wait until nothing is left to deliver; False when ``timeout_s`` ran out first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if status(engine)["pending_callbacks"] == 0:
            return True
        time.sleep(0.25)
    return False


def group_attempts(engine: sa.Engine, group_id: str) -> list[dict]:
    """Every attempt of one bet, oldest first, with all recorded fields."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in statements.run(conn, "group_attempts",
                                                         {"group_id": group_id})]


def group_callbacks(engine: sa.Engine, group_id: str) -> list[dict]:
    """The bet's callbacks in order, with their queue state."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in statements.run(conn, "group_callbacks",
                                                         {"group_id": group_id})]


def bet(engine: sa.Engine, bet_id: str) -> dict | None:
    with engine.connect() as conn:
        row = statements.run(conn, "bet", {"bet_id": bet_id}).first()
    return dict(row._mapping) if row else None


def bet_statuses(engine: sa.Engine, bet_ids: list[str]) -> dict[str, str]:
    """``{bet_id: status}`` for the bets that exist."""
    if not bet_ids:
        return {}
    with engine.connect() as conn:
        return {r.bet_id: r.status for r in statements.run(conn, "bet_statuses",
                                                           {"bet_ids": list(bet_ids)})}


def ensure_partitions(engine: sa.Engine, first_month: datetime | None = None,
                      months: int = 4) -> int:
    """Create monthly attempt partitions from the month before ``first_month`` on."""
    with engine.begin() as conn:
        return conn.execute(sa.text(
            "SELECT ensure_attempt_partitions("
            "(COALESCE(CAST(:first AS timestamptz), now()) - interval '1 month')::date, :n)"),
            {"first": first_month, "n": months}).scalar_one()


# --- Writes other features make to the queue ---

def apply_action_changes(conn: sa.Connection, action_id: int, rows: list[dict]) -> None:
    """Set the new states an integration manager's action (:mod:`actions.store`) decided, in
    its transaction: ``rows`` are ``{id, state, due_in_us, manual, note}``; a callback sent
    again by hand (``manual``) carries ``action_id`` until its next attempt is written."""
    statements.run(conn, "apply_action_changes", {"action_id": action_id, "rows": json.dumps(rows)})


def record_battery_callback(conn: sa.Connection, values: Mapping) -> sa.Row:
    """Write a callback of the Integration Test (:mod:`battery.store`) once its only attempt is
    decided, origin ``integration_test``; the same ``request_id`` again is one more attempt of
    that callback. ``values``: ``request_id, brand_id, bet_id, destination, payload,
    foreign_params`` (JSON text), ``state, last_status, last_error, created_at, finished_at``.
    The row's ``id, created_at, attempts``."""
    return statements.run(conn, "record_battery_callback", values).one()


def delete_archived(conn: sa.Connection, month_to: datetime) -> tuple[sa.Row, sa.Row]:
    """The archive's prune (:mod:`archive.export`), in the caller's transaction: delete the
    finished callbacks created before ``month_to`` whose every attempt is archived, then the
    bets created before it that no callback references. ``(callbacks, bets)``, each a row of
    ``n, digest`` (count and fingerprint of the deleted keys) for the caller to compare with
    what it exported, rolling back when they differ."""
    params = {"month_to": month_to}
    callbacks = statements.run(conn, "delete_archived_callbacks", params).one()
    bets = statements.run(conn, "delete_archived_bets", params).one()
    return callbacks, bets


#: How the monthly partitions of ``attempts`` are named (see :func:`ensure_partitions`).
_ATTEMPT_PARTITION = re.compile(r"attempts_\d{4}_\d{2}")


def drop_archived_month(conn: sa.Connection, partition: str, month_from: datetime,
                        month_to: datetime) -> None:
    """The archive's prune of one exported month (:mod:`archive.export`), in the caller's
    transaction: the month's hourly rollups (the Breakdowns page reads archived months from the
    archive) and the month's partition of ``attempts``."""
    if not _ATTEMPT_PARTITION.fullmatch(partition):
        raise ValueError(f"{partition!r} is not a monthly partition of attempts")
    statements.run(conn, "delete_archived_rollups", {"month_from": month_from,
                                                     "month_to": month_to})
    conn.execute(sa.text(f'DROP TABLE "{partition}"'))

