"""Brands with failing platforms, built through the real delivery path (enqueue, claim, send
to a real HTTP server on 127.0.0.1, record)."""
from __future__ import annotations

import httpx
from databases import deliver_round
from factories import item, place_payload
from receiver import Receiver, Reply

from delivery import store
from delivery.validation import parse_callback


def failing_receiver(failing_bets: set[str]) -> Receiver:
    """A platform that answers 500 to the bets in ``failing_bets`` (a set the test may change)
    and 204 to every other."""
    return Receiver(lambda seen: Reply(500, b"oops") if (seen.body or {}).get("bet_id")
                    in failing_bets else Reply(204))


def enqueue(engine, brand: str, bet_id: str, destination: str, **payload) -> None:
    body = item(bet_id, destination)
    if destination == "/bet/place":
        body["payload"] = place_payload(**payload)
    else:
        body["payload"].update(payload)
    store.enqueue(engine, brand, [parse_callback(body)])


def deliver(engine) -> int:
    """Deliver everything due now, round after round, until nothing is due."""
    total = 0
    with httpx.Client(timeout=5) as client:
        while made := deliver_round(engine, client):
            total += made
    return total
