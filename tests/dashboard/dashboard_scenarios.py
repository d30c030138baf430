"""Real rows for the dashboard tests: callbacks queued through delivery.store and delivered over
real HTTP through delivery.dispatch to a test receiver — one bet per investigator verdict.

``alpha`` retries slowly (a failed attempt stays queued for an hour); ``bravo`` gives up after
its first failure.

Two bets show what a worker leaves when it writes each attempt before its request goes out:
``bet-in-flight``'s place is out now (outcome ``sending``), and ``bet-outcome-unknown``'s settle
was closed as ``unknown`` by the sweeper (its worker stopped before recording the answer) and
waits to be sent again. Those rows are written here the way the delivery engine writes them.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from databases import deliver_round
from factories import item
from receiver import Receiver, Reply

import contract
from delivery import brands, store
from delivery.validation import parse_callback

#: Bet id → the verdict the investigator must reach for it.
VERDICT_BETS = {
    "bet-delivered": "delivered",
    "bet-supported": "supported_error",
    "bet-handler": "handler_bug",
    "bet-5xx": "platform_error",
    "bet-retrying": "retrying",
    "bet-queued": "queued",
    "bet-gaveup": "gave_up",
    "bet-unknown": "no_trace",
    "bet-in-flight": "in_flight",
    "bet-outcome-unknown": "outcome_unknown",
}
#: What the sweeper writes on an attempt it closes as unknown (followed by the Attempt ID).
UNKNOWN_DETAIL = ("the worker stopped before recording the answer; the platform may have "
                  "received request ")
#: How long the unknown attempt stayed open before the sweeper closed it.
UNKNOWN_OPEN_S = 40


def platform(seen) -> Reply:
    """How the test platform answers, by bet and destination."""
    bet = (seen.body or {}).get("bet_id", "")
    if bet == "bet-supported" and seen.path == "/bet/place":
        return Reply.json(400, contract.error_body("not_enough_balance",
                                                   {"actual_balance": "3.00"}))
    if bet == "bet-handler" and seen.path == "/bet/settle":
        return Reply.json(400, contract.error_body("bet_not_found"))
    if bet == "bet-5xx" and seen.path == "/bet/settle":
        return Reply(503, b"Service Unavailable")
    if bet == "bet-retrying":
        return Reply(429, b"", {"Retry-After": "3000"})
    if bet == "bet-gaveup" and seen.path == "/bet/place":
        return Reply(500, b'{"message": "boom"}', {"Content-Type": "application/json"})
    return Reply(204)


def deliver_due(engine: sa.Engine, rounds: int = 20) -> int:
    """Claim and deliver whatever is due now, until nothing is; the attempts made."""
    made = 0
    with httpx.Client() as client:
        for _ in range(rounds):
            attempts = deliver_round(engine, client)
            if not attempts:
                return made
            made += attempts
    return made


def build(engine: sa.Engine, receiver_url: str) -> None:
    """Two brands and one bet per verdict (``bet-queued`` is queued last, never sent)."""
    brands.add_brand(engine, "alpha", receiver_url, retry_schedule_s=(0, 3600, 3600))
    brands.add_brand(engine, "bravo", receiver_url, retry_schedule_s=(0,))

    def queue(brand, *items):
        store.enqueue(engine, brand, [parse_callback(i) for i in items])

    queue("alpha", item("bet-delivered", "/bet/place"), item("bet-delivered", "/bet/accept"),
          item("bet-delivered", "/bet/settle"))
    queue("alpha", item("bet-supported", "/bet/place"), item("bet-supported", "/bet/accept"))
    queue("alpha", item("bet-handler", "/bet/place"), item("bet-handler", "/bet/settle"))
    queue("alpha", item("bet-5xx", "/bet/place"), item("bet-5xx", "/bet/settle"),
          item("bet-5xx", "/bet/unsettle"))
    queue("alpha", item("bet-retrying", "/bet/settle"))
    queue("bravo", item("bet-gaveup", "/bet/place"), item("bet-gaveup", "/bet/accept"))
    deliver_due(engine)
    queue("alpha", item("bet-in-flight", "/bet/place"))
    queue("alpha", item("bet-outcome-unknown", "/bet/settle"))
    alpha = brands.brand_named(engine, "alpha").id
    claimed = {cb: token for cb, token, _ in store.claim_due(engine, lease_s=600, limit=10,
                                                             brand_id=alpha)}
    for bet_id in ("bet-in-flight", "bet-outcome-unknown"):
        [head] = [c for c in store.group_callbacks(engine, bet_id) if c["state"] == "in_flight"]
        assert head["id"] in claimed
        request = start_sending(engine, head["id"])
        if bet_id == "bet-outcome-unknown":
            close_as_unknown(engine, request)
    queue("alpha", item("bet-queued", "/bet/place"))


def start_sending(engine: sa.Engine, callback_id: int) -> str:
    """The attempt row a worker writes before the request goes out; its Attempt ID."""
    with engine.begin() as conn:
        return str(conn.execute(sa.text(
            "INSERT INTO attempts (id, callback_id, group_id, brand_id, destination, origin,"
            "   attempt_no, callback_created_at, scheduled_at, started_at, request_headers,"
            "   outcome)"
            " SELECT r.id, c.id, c.bet_id, c.brand_id, c.destination, c.origin, c.attempts + 1,"
            "   c.created_at, c.next_attempt_at, now(),"
            "   jsonb_build_object('Content-Type', 'application/json',"
            "                      'X-Request-ID', r.id::text), 'sending'"
            " FROM callbacks c, (SELECT gen_random_uuid() AS id) r WHERE c.id = :id"
            " RETURNING id"), {"id": callback_id}).scalar_one())


def close_as_unknown(engine: sa.Engine, request_id: str) -> None:
    """What the sweeper does once the stopped worker's lease ran out: the attempt is closed as
    unknown and the callback waits to be sent again with the same request_id (here in an hour,
    so the tests see it waiting). The story is moved back so the attempt stayed open
    UNKNOWN_OPEN_S seconds, until now."""
    detail = UNKNOWN_DETAIL + request_id
    shift = {"id": request_id, "back_s": UNKNOWN_OPEN_S + 1}
    with engine.begin() as conn:
        callback_id = conn.execute(sa.text(
            "UPDATE attempts SET callback_created_at = now() - make_interval(secs => :back_s),"
            " started_at = now() - make_interval(secs => :back_s - 1)"
            " WHERE id = CAST(:id AS uuid) RETURNING callback_id"), shift).scalar_one()
        conn.execute(sa.text(
            "UPDATE callbacks SET created_at = now() - make_interval(secs => :back_s)"
            " WHERE id = :callback_id"), {**shift, "callback_id": callback_id})
        conn.execute(sa.text(
            "UPDATE attempts SET outcome = 'unknown', error_class = 'unknown',"
            " error_detail = :detail, finished_at = now(),"
            " duration_ms = extract(epoch FROM now() - started_at) * 1000"
            " WHERE id = CAST(:id AS uuid)"), {"id": request_id, "detail": detail})
        conn.execute(sa.text(
            "UPDATE callbacks SET state = 'pending', attempts = attempts + 1,"
            " lease_token = NULL, lease_expires_at = NULL,"
            " next_attempt_at = now() + interval '1 hour', last_error = :detail"
            " WHERE id = :id"), {"id": callback_id, "detail": detail})


def move_back(engine: sa.Engine, bets: list[str], to: datetime) -> None:
    """Shift every row of these bets so that the first happened at ``to``."""
    store.ensure_partitions(engine, to + timedelta(days=31), months=2)
    with engine.begin() as conn:
        first = conn.execute(sa.text("SELECT min(created_at) FROM bets WHERE bet_id = ANY(:b)"),
                             {"b": bets}).scalar_one()
        shift = {"b": bets, "d": first - to}
        conn.execute(sa.text(
            "UPDATE bets SET created_at = created_at - :d, updated_at = updated_at - :d "
            "WHERE bet_id = ANY(:b)"), shift)
        conn.execute(sa.text(
            "UPDATE callbacks SET created_at = created_at - :d, finished_at = finished_at - :d "
            "WHERE bet_id = ANY(:b)"), shift)
        conn.execute(sa.text(
            "UPDATE attempts SET callback_created_at = callback_created_at - :d, "
            "scheduled_at = scheduled_at - :d, started_at = started_at - :d, "
            "finished_at = finished_at - :d WHERE group_id = ANY(:b)"), shift)


def build_with_receiver(engine: sa.Engine) -> None:
    """:func:`build` against a receiver that lives only while the rows are made."""
    with Receiver(platform) as receiver:
        build(engine, receiver.url)
