"""Real rows for the dashboard tests: callbacks queued through delivery.store and delivered over
real HTTP through delivery.dispatch to a test receiver — one bet per investigator verdict.

``alpha`` retries slowly (a failed attempt stays queued for an hour); ``bravo`` gives up after
its first failure.
"""
from __future__ import annotations

import httpx
import sqlalchemy as sa
from databases import deliver_round
from factories import item
from receiver import Receiver, Reply

from delivery import contract, store
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
}


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
    store.add_brand(engine, "alpha", receiver_url, retry_schedule_s=(0, 3600, 3600))
    store.add_brand(engine, "bravo", receiver_url, retry_schedule_s=(0,))

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
    queue("alpha", item("bet-queued", "/bet/place"))


def build_with_receiver(engine: sa.Engine) -> None:
    """:func:`build` against a receiver that lives only while the rows are made."""
    with Receiver(platform) as receiver:
        build(engine, receiver.url)
