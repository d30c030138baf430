"""The only module that speaks SQL to the queue: brands, enqueue, claims, leases, outcomes.

(The integration manager's actions — retry, recover, cancel, set-url — and their audit trail
are an exception: :mod:`delivery.actions` owns that SQL, ``sql/actions.sql``; so are brand
changes people make and the audit trail of configuration changes: :mod:`delivery.brands` and
:mod:`delivery.audit`, ``sql/brands.sql`` and ``sql/audit.sql``.)

Every function takes an engine and runs its statements (named blocks of ``sql/queries.sql``) in
one transaction. The bet row is the group's lock: enqueue and outcome recording take it first,
always in bet-id order, so they never deadlock and never break a group's order.
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

import contract

from . import audit, keys, lifecycle, masking, statements, urls, validation
from .errors import InvalidInput, UnknownBrand
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


def _run(conn: sa.Connection, name: str, params: Mapping | None = None) -> sa.CursorResult:
    """Run a named query of ``sql/queries.sql`` (prepared once per connection)."""
    return statements.run(conn, name, params)


def _run_many(conn: sa.Connection, calls: list[tuple[str, Mapping]]) -> sa.CursorResult:
    """Run named queries of ``sql/queries.sql`` in one round trip; the last one's result."""
    return statements.run_many(conn, calls)


@dataclass(frozen=True)
class Brand:
    id: int
    name: str
    base_url: str
    retry_schedule_s: tuple[int, ...]
    timeout_s: float
    max_in_flight: int
    signing_secret: str | None = None
    #: Foreign-Params keys shown in the stored history; every other value is masked.
    visible_keys: tuple[str, ...] = ()
    #: Seconds between the heartbeats of each of its live player sessions (±10 % jitter).
    heartbeat_interval_s: int = contract.DEFAULT_HEARTBEAT_INTERVAL_S

    @classmethod
    def from_row(cls, row) -> Brand:
        return cls(row.id, row.name, row.base_url, tuple(row.retry_schedule_s),
                   float(row.timeout_s), row.max_in_flight, row.signing_secret,
                   tuple(row.visible_keys or ()), row.heartbeat_interval_s)

    def mask(self, key: bytes | None) -> masking.Mask:
        """How this brand's stored copies are masked, with the installation's fingerprint
        ``key`` (:func:`fingerprint_key`)."""
        return masking.for_brand(key, self.visible_keys)


# --- brands ---------------------------------------------------------------------------------

def add_brand(engine: sa.Engine, name: str, base_url: str, *,
              retry_schedule_s: tuple[int, ...] = contract.DEFAULT_RETRY_SCHEDULE_S,
              timeout_s: float = contract.DEFAULT_TIMEOUT_S,
              max_in_flight: int = contract.DEFAULT_MAX_IN_FLIGHT,
              signing_secret: str | None = None,
              heartbeat_interval_s: int = contract.DEFAULT_HEARTBEAT_INTERVAL_S) -> Brand:
    """Create the brand, or update its settings when it exists (its visible keys are kept).
    For tests, benchmarks and seeding: it records nothing; people's changes go through
    :mod:`delivery.brands`.

    ``base_url`` passes the URL rule (:func:`delivery.urls.parse`); credentials in it are
    stored apart (owner only) and sent as ``Authorization: Basic``; a URL without credentials
    removes the brand's (they must never follow it to another host)."""
    target = urls.parse(base_url, what="brand URL")
    heartbeat_interval_s = validation.heartbeat_interval(heartbeat_interval_s)
    with engine.begin() as conn:
        row = _run(conn, "upsert_brand", dict(
            name=name, base_url=target.url, retry_schedule_s=list(retry_schedule_s),
            timeout_s=timeout_s, max_in_flight=max_in_flight,
            signing_secret=signing_secret, heartbeat_interval_s=heartbeat_interval_s)).one()
        set_url_credentials(conn, row.id, target.credentials)
    return Brand.from_row(row)


def set_url_credentials(conn: sa.Connection, brand_id: int, credentials: str | None) -> None:
    """Store (or, with None, remove) the ``user:password`` split off the brand's URL. Owner
    only: no back-office role may read or write them."""
    if credentials is None:
        _run(conn, "drop_url_credentials", {"brand_id": brand_id})
        return
    username, _, password = credentials.partition(":")
    _run(conn, "set_url_credentials", {"brand_id": brand_id, "username": username,
                                        "password": password})


def url_credentials(conn: sa.Connection | sa.Engine, brand_id: int) -> str | None:
    """The brand's ``user:password`` for ``Authorization: Basic``, or None (owner only)."""
    if isinstance(conn, sa.Engine):
        with conn.connect() as c:
            return url_credentials(c, brand_id)
    return _run(conn, "url_credentials", {"brand_id": brand_id}).scalar()


def brands_with_url_credentials(engine: sa.Engine) -> set[int]:
    """Ids of the brands whose URL has credentials (owner only)."""
    with engine.connect() as conn:
        return set(_run(conn, "brands_with_url_credentials").scalars())


def set_visible_keys(engine: sa.Engine, name: str, keys: tuple[str, ...]) -> Brand:
    """Declare the brand's Foreign-Params keys whose values are not secret (exact names, any
    case); every other value is masked when stored. No keys clears the list. The history
    stored before keeps its masks: a value masked once is never shown again."""
    try:
        visible = masking.visible_keys(keys)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="visible_keys") from None
    with engine.begin() as conn:
        row = _run(conn, "set_visible_keys", {"name": name, "keys": list(visible)}).first()
        if row is None:
            _brand_named(conn, name)
    return Brand.from_row(row)


def fingerprint_key(engine: sa.Engine) -> bytes:
    """The installation's key behind masked values' fingerprints, read once per process and
    engine. Needs the owner's engine."""
    return keys.cached_key(engine, keys.FINGERPRINT)


def set_brand_currency(engine: sa.Engine, name: str, currency: str | None) -> None:
    """The currency the brand's platform keeps wallets in (money at risk is added up per
    currency); None clears it."""
    with engine.begin() as conn:
        if _run(conn, "set_brand_currency", {"name": name, "currency": currency}).rowcount == 0:
            _brand_named(conn, name)


def brands(engine: sa.Engine) -> list[Brand]:
    with engine.connect() as conn:
        return [Brand.from_row(r) for r in _run(conn, "brands")]


def brand_named(engine: sa.Engine, name: str) -> Brand:
    """The brand called ``name``, or :class:`UnknownBrand` listing the known ones."""
    with engine.connect() as conn:
        return _brand_named(conn, name)


def _brand_named(conn: sa.Connection, name: str) -> Brand:
    row = _run(conn, "brand_named", {"name": name}).first()
    if row is not None:
        return Brand.from_row(row)
    names = ", ".join(r.name for r in _run(conn, "brands")) or "none yet"
    raise UnknownBrand(f"no brand named {name!r} (known brands: {names}); add it with "
                       f"`callbacks brand add {name} --url BASE_URL`", field="brand", value=name)


# --- enqueue --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Enqueued:
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
        return _enqueue(conn, _brand_named(conn, brand_name), callbacks, origin)


def _enqueue(conn: sa.Connection, brand: Brand, callbacks: list[NewCallback],
             origin: str) -> list[Enqueued]:
    """Queue ``callbacks`` in two statements, whatever their number: the bets created or
    locked (in bet-id order), then the bets' new statuses and the callbacks (in input order).
    What each bet and callback becomes is decided in between, by :func:`plan_enqueue`, from
    the locked bets' statuses."""
    by_bet: dict[str, list[NewCallback]] = {}
    for cb in callbacks:
        by_bet.setdefault(cb.bet_id, []).append(cb)
    locked = {r.bet_id: r for r in _run(conn, "lock_bets_for_enqueue", {
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
    written = _run(conn, "queue_callbacks", {
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
    return _run(conn, "lock_bet", _bet_values(brand_id, bet_id, payload,
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
    _run(conn, *_bet_status_write(bet_id, status, restrictions))


def _bet_status_write(bet_id: str, status: str,
                      restrictions: list | None = None) -> tuple[str, dict]:
    return "set_bet_status", dict(bet_id=bet_id, status=status,
                                  restrictions=json.dumps(restrictions or []))


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


# --- claims and leases ----------------------------------------------------------------------

def in_flight_by_brand(engine: sa.Engine) -> dict[int, int]:
    with engine.connect() as conn:
        return {r.brand_id: r.in_flight for r in _run(conn, "in_flight_by_brand")}


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
        rows = _run(conn, "claim_due", dict(brand_id=brand_id, limit=limit,
                                                  lease_s=lease_s)).all()
    claims = [(r.id, r.lease_token, r.brand_id) for r in rows if r.id is not None]
    due_in = next((r.next_due_in_s for r in rows if r.id is None), None)
    return claims, None if due_in is None else float(due_in)


def sweep_expired_leases(engine: sa.Engine) -> list[int]:
    """Make callbacks whose lease ran out due again, closing the attempts their worker never
    completed as ``unknown``; their ids."""
    with engine.begin() as conn:
        swept = list(_run(conn, "sweep_expired_leases").scalars())
        if swept:
            _run(conn, "notify_due")
    return swept


def _confirm(conn: sa.Connection, claims, margin_s: float) -> list[OutgoingCallback]:
    rows = _run(conn, "start_delivery", dict(
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
        mask=masking.for_brand(fingerprint_key(conn.engine), tuple(r.visible_keys or ())),
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
        _run_many(conn, writes)
    return sendings


def insert_sendings(conn: sa.Connection, sendings: list[Sending]) -> None:
    """Write attempts about to be sent as ``sending`` rows, in one statement."""
    _run(conn, "insert_attempts", {"rows": json_rows(sending_row(s) for s in sendings)})


def keep_leases(engine: sa.Engine, sendings: list[Sending], margin_s: float) -> list[Sending]:
    """Stretch the leases of attempts about to be sent from now on (after a write that took
    long enough to eat into them); the ones whose lease ran out and was swept are left out."""
    if not sendings:
        return []
    with engine.begin() as conn:
        held = set(_run(conn, "keep_leases", dict(
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
        locked = _run(conn, "lock_finished", {
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
            _run_many(conn, writes)
            return []
        writes.append(("finish_callbacks", {"rows": json_rows(dict(
            id=a.callback.callback_id, state=a.final_state, last_status=a.response_status,
            last_error=None if a.outcome.kind == "delivered" else redact_answer(a)[1],
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
        result = _run_many(conn, writes)
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
            taken = [_outgoing(r, conn) for r in _run(conn, "refill_brand", dict(
                brand_id=brand_id, limit=count, margin_s=margin_s))]
            refills += taken
        # Capped, and as much was due as this worker took: more may be due for another.
        left_to_scheduler |= brand_id in capped and len(taken) == max(0, count)
    return refills, left_to_scheduler


def insert_attempts(conn: sa.Connection, attempts: list[Attempt]) -> None:
    """Append the attempts to the history in one statement."""
    if attempts:
        _run(conn, "insert_attempts", {"rows": json_rows(attempt_row(a)
                                                               for a in attempts)})


def _still_holds(row, attempt: Attempt) -> bool:
    return (row is not None and row.state == "in_flight"
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
            foreign_params=json.dumps(cb.foreign_params), origin="system", state="pending",
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
        outcome="sending", error_class=None, error_detail=None, error_code=None,
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
        row = _run(conn, "status").one()
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
        return [dict(r._mapping) for r in _run(conn, "queue_by_brand")]


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
        return [dict(r._mapping) for r in _run(conn, "group_attempts",
                                                        {"group_id": group_id})]


def group_callbacks(engine: sa.Engine, group_id: str) -> list[dict]:
    """The bet's callbacks in order, with their queue state."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in _run(conn, "group_callbacks",
                                                        {"group_id": group_id})]


def bet(engine: sa.Engine, bet_id: str) -> dict | None:
    with engine.connect() as conn:
        row = _run(conn, "bet", {"bet_id": bet_id}).first()
    return dict(row._mapping) if row else None


def bet_statuses(engine: sa.Engine, bet_ids: list[str]) -> dict[str, str]:
    """``{bet_id: status}`` for the bets that exist."""
    if not bet_ids:
        return {}
    with engine.connect() as conn:
        return {r.bet_id: r.status for r in _run(conn, "bet_statuses",
                                                         {"bet_ids": list(bet_ids)})}


def ensure_partitions(engine: sa.Engine, first_month: datetime | None = None,
                      months: int = 4) -> int:
    """Create monthly attempt partitions from the month before ``first_month`` on."""
    with engine.begin() as conn:
        return conn.execute(sa.text(
            "SELECT ensure_attempt_partitions("
            "(COALESCE(CAST(:first AS timestamptz), now()) - interval '1 month')::date, :n)"),
            {"first": first_month, "n": months}).scalar_one()


# === producer HTTP API (api/) ================================================================
# Idempotent enqueue by request_id, a bet's callbacks with their attempts, and the API's bearer
# tokens. Named blocks of sql/api.sql.

#: The unique constraint that makes a request_id queue at most one callback.
_REQUEST_ID_KEY = "callbacks_request_id_key"
#: SQLSTATE of a unique violation.
_UNIQUE_VIOLATION = "23505"


def _api_run(conn: sa.Connection, name: str, params: Mapping | None = None) -> sa.CursorResult:
    """Run a named query of ``sql/api.sql`` (prepared once per connection)."""
    return statements.run(conn, name, params, filename="api.sql")


@dataclass(frozen=True)
class QueuedOnce:
    """One producer callback after :func:`enqueue_once`: queued now or found queued already."""

    queued: Enqueued
    created: bool


def enqueue_once(engine: sa.Engine, brand_name: str, callbacks: list[NewCallback], *,
                 origin: str = "producer", brand_id: int | None = None) -> list[QueuedOnce]:
    """Queue the callbacks whose ``request_id`` is new; repeats are answered, not written again.

    The result follows the input order. A callback whose ``request_id`` is queued already with
    the same brand, bet, destination, payload and Foreign-Params is a repeat (``created``
    False); with anything different, :class:`RequestIdConflict` is raised and nothing is
    written. The new callbacks go through :func:`enqueue` in one transaction (all or nothing).
    When another producer queues one of the request_ids meanwhile, the unique key stops the
    transaction and the comparison runs again, so concurrent repeats never fail.

    ``brand_id``, when given, is the id the caller resolved ``brand_name`` to (and authorised):
    when the name stands for another brand by now, :class:`UnknownBrand` is raised and nothing
    is written.
    """
    from .errors import RequestIdConflict  # imported here to keep this section self-contained

    unique: dict[str, NewCallback] = {}
    for cb in callbacks:
        first = unique.setdefault(cb.request_id, cb)
        if first is not cb and first != cb:
            raise InvalidInput(f"request_id {cb.request_id!r} is given to two different "
                               "callbacks of one request", field="payload.request_id",
                               value=cb.request_id)
    # Every clash means another transaction committed one more of these request_ids, so this
    # ends after at most one round per request_id.
    for _ in range(len(unique) + 1):
        try:
            with engine.begin() as conn:
                brand = _brand_named(conn, brand_name)
                if brand_id is not None and brand.id != brand_id:
                    raise UnknownBrand(f"brand {brand_name!r} was replaced by another brand of "
                                       "that name while the request was read; send it again",
                                       field="brand", value=brand_name)
                found = _queued_by_request_id(conn, list(unique))
                conflicts = [(rid, fields) for rid, cb in unique.items() if rid in found
                             and (fields := _differing_fields(found[rid], brand.id, cb))]
                if conflicts:
                    raise RequestIdConflict(conflicts)
                new = [cb for rid, cb in unique.items() if rid not in found]
                written = _enqueue(conn, brand, new, origin) if new else []
        except sa.exc.IntegrityError as exc:
            if _is_request_id_clash(exc):
                continue
            raise
        results = {e.request_id: QueuedOnce(e, True) for e in written}
        results.update({rid: QueuedOnce(Enqueued(row.id, rid, row.bet_id, row.state), False)
                        for rid, row in found.items()})
        return [results[cb.request_id] for cb in callbacks]
    raise RuntimeError("request_ids kept clashing with concurrent producers; try again")


def queued_by_request_id(engine: sa.Engine, request_ids: list[str]) -> dict:
    """``{request_id: row}`` of the queued callbacks carrying these request_ids (row fields:
    id, request_id, brand_id, bet_id, destination, payload, foreign_params, state)."""
    with engine.connect() as conn:
        return _queued_by_request_id(conn, request_ids)


def _queued_by_request_id(conn: sa.Connection, request_ids: list[str]) -> dict:
    if not request_ids:
        return {}
    return {r.request_id: r for r in _api_run(conn, "callbacks_by_request_id",
                                               {"request_ids": request_ids})}


def _differing_fields(row, brand_id: int, cb: NewCallback) -> list[str]:
    """What makes the queued row another callback than ``cb``: field names, never values."""
    fields = []
    if row.brand_id != brand_id:
        fields.append("brand")
    if row.bet_id != cb.bet_id:
        fields.append("bet_id")
    if row.destination != cb.destination:
        fields.append("destination")
    if _canonical(row.payload) != _canonical(cb.payload):
        fields.append("payload")
    if _canonical(row.foreign_params) != _canonical(cb.foreign_params):
        fields.append("foreign_params")
    return fields


def _canonical(value) -> str:
    # Both sides went through json once; sorted keys make equal documents equal text, and
    # true stays different from 1 (which == would not).
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _is_request_id_clash(exc: sa.exc.IntegrityError) -> bool:
    orig = exc.orig
    return (getattr(orig, "pgcode", None) == _UNIQUE_VIOLATION
            and getattr(getattr(orig, "diag", None), "constraint_name", None) == _REQUEST_ID_KEY)


def bet_callbacks(engine: sa.Engine, bet_id: str,
                  readable: Callable[[int, str], bool] | None = None) -> dict | None:
    """The bet (with its brand's ``brand_id`` and name ``brand``) and its callbacks in queue
    order, each with its ``attempt_log`` (oldest first); None when there is no such bet, or
    none whose brand ``readable(brand_id, brand_name)`` allows. Only rows of the bet's brand
    are shown; Foreign-Params are left out. One consistent snapshot."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        bet_row = next((r for r in _api_run(conn, "bet_with_brand", {"bet_id": bet_id})
                        if readable is None or readable(r.brand_id, r.brand)), None)
        if bet_row is None:
            return None
        of_bet = {"bet_id": bet_id, "brand_id": bet_row.brand_id}
        callbacks = [dict(r._mapping) for r in _api_run(conn, "bet_callbacks", of_bet)]
        attempts = [dict(r._mapping) for r in _api_run(conn, "bet_attempts", of_bet)]
    by_callback: dict[int, list[dict]] = {}
    for attempt in attempts:
        by_callback.setdefault(attempt.pop("callback_id"), []).append(attempt)
    for callback in callbacks:
        callback["attempt_log"] = by_callback.get(callback["id"], [])
    return dict(bet_row._mapping, callbacks=callbacks)


def add_api_token(engine: sa.Engine, name: str, token_sha256: str, *,
                  brands: Iterable[str] = (), all_brands: bool = False,
                  read_only: bool = False, actor: audit.Actor | None = None,
                  reason: str | None = None, secrets: tuple[str, ...] = ()) -> dict:
    """Store a new API token's hash under ``name``, scoped to ``brands`` (names) or to all
    brands: the token as :func:`api_tokens` lists it. InvalidInput when the name is malformed
    or a live token has it already, when the scope is neither some brands nor all of them, or
    when a brand does not exist (:class:`UnknownBrand`); then nothing is written. With
    ``actor`` it is recorded as ``api_token.create`` (``secrets``: the token itself, which the
    trail must never hold)."""
    brands = sorted(set(brands))
    if all_brands == bool(brands):
        raise InvalidInput("give one --brand or more, or --all-brands (one of the two)",
                           field="brand")
    with engine.begin() as conn:
        brand_ids = _api_brand_ids(conn, brands)
        try:
            row = _api_run(conn, "insert_api_token", {
                "name": name, "token_sha256": token_sha256, "all_brands": all_brands,
                "read_only": read_only}).one()
        except sa.exc.IntegrityError as exc:
            if getattr(exc.orig, "pgcode", None) == _UNIQUE_VIOLATION:
                raise InvalidInput(f"a live API token is named {name!r} already; revoke it "
                                   f"with `callbacks api-token revoke {name}` or pick another "
                                   "name", field="name", value=name) from None
            raise InvalidInput(f"token name {name!r} must be letters, digits, '_', '.' or '-' "
                               "(at most 63)", field="name", value=name) from None
        if brand_ids:
            _api_run(conn, "insert_api_token_brands",
                     {"token_id": row.id, "brand_ids": brand_ids})
        token = {"name": row.name, "all_brands": row.all_brands, "brands": brands,
                 "read_only": row.read_only, "created_at": row.created_at, "revoked_at": None}
        if actor is not None:
            _record_token(conn, actor, "api_token.create", token, brand_ids, reason, secrets,
                          after=True)
    return token


def _record_token(conn: sa.Connection, actor: audit.Actor, kind: str, token: dict,
                  brand_ids: list[int], reason: str | None, secrets: tuple[str, ...], *,
                  after: bool) -> None:
    """A token's change in the audit trail: its scope, never its value. A token of one brand
    is that brand's to see; any other only administrators of every brand see."""
    scope = {"all_brands": token["all_brands"], "brands": list(token["brands"]),
             "read_only": token["read_only"]}
    audit.record(conn, actor=actor, kind=kind,
                 brand_id=brand_ids[0] if len(brand_ids) == 1 else None,
                 subject=token["name"], before=None if after else scope,
                 after=scope if after else None, reason=reason, secrets=secrets)


def _api_brand_ids(conn: sa.Connection, names: list[str]) -> list[int]:
    """The ids of the brands called ``names``; UnknownBrand naming the first missing one."""
    found = {r.name: r.id for r in _api_run(conn, "brands_by_name", {"names": names})}
    missing = [n for n in names if n not in found]
    if missing:
        known = ", ".join(r.name for r in _run(conn, "brands")) or "none yet"
        raise UnknownBrand(f"no brand named {missing[0]!r} (known brands: {known}); nothing "
                           "was written", field="brand", value=missing[0])
    return [found[n] for n in names]


def live_api_tokens(engine: sa.Engine) -> list:
    """The tokens not revoked: rows of ``name, token_sha256, all_brands, read_only, brand_ids``
    (the ids of the token's brands; none when it is scoped to all brands)."""
    with engine.connect() as conn:
        return list(_api_run(conn, "live_api_tokens"))


def api_tokens(engine: sa.Engine, *, include_revoked: bool = False) -> list[dict]:
    """Names, scopes and dates of the API tokens, never their hashes: ``name, all_brands,
    brands`` (names of the brands that still exist; none when all_brands), ``read_only,
    created_at, revoked_at``."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in _api_run(conn, "api_tokens",
                                                   {"include_revoked": include_revoked})]


def revoke_api_token(engine: sa.Engine, name: str, *, actor: audit.Actor | None = None,
                     reason: str | None = None) -> dict | None:
    """Revoke the live token called ``name``: the token as :func:`api_tokens` lists it now,
    or None when there is none. With ``actor`` it is recorded as ``api_token.revoke``."""
    with engine.begin() as conn:
        row = _api_run(conn, "revoke_api_token", {"name": name}).first()
        if row is None:
            return None
        token = dict(row._mapping)
        if actor is not None:
            brand_ids = _api_brand_ids(conn, list(token["brands"] or ()))
            _record_token(conn, actor, "api_token.revoke", token, brand_ids, reason, (),
                          after=False)
    return token
