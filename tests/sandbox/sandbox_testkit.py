"""Callback bodies for the sandbox tests, built from the contract's field names."""
from __future__ import annotations

import itertools
import json

import contract
from contract.payouts import EXPRESS, NOT_RESULTED, SINGLE, SYSTEM, WIN

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    """A fresh id, unique within the test run."""
    return f"{prefix}-{next(_ids)}"


def foreign_params(token: str) -> str:
    """The Foreign-Params header value that carries a session token."""
    return json.dumps({"token": token})


def odds(*ratios_and_statuses) -> list[dict]:
    """``bet_odds`` from ``("2.50", status)`` pairs or plain ratios (not resulted)."""
    legs = []
    for index, item in enumerate(ratios_and_statuses):
        ratio, status = item if isinstance(item, tuple) else (item, NOT_RESULTED)
        legs.append({"odd_id": f"odd-{index}", "odd_ratio": ratio, "odd_status": status,
                     "match_id": f"match-{index}", "match_status": 0,
                     "market_id": f"market-{index}"})
    return legs


def place(bet_id: str, stake: str = "10.00", legs: list[dict] | None = None, *,
          bet_type: int | None = None, sizes: list[int] | None = None,
          request_id: str | None = None, player: str = "player") -> dict:
    """A /bet/place (or /bet/accept) body: a single at 2.50 unless told otherwise."""
    legs = legs or odds("2.50")
    if bet_type is None:
        bet_type = SYSTEM if sizes else (SINGLE if len(legs) == 1 else EXPRESS)
    return {"request_id": request_id or new_id("req"), "bet_id": bet_id,
            "bet_player_id": player, "bet_type": bet_type, "bet_stake": stake,
            "bet_odds": legs, "bet_system_sizes": sizes or [],
            "bet_created_at": "2026-11-23T12:00:00Z", "competitors": []}


def settle(bet_id: str, amount: str, settle_type: int, legs: list[dict] | None = None, *,
           request_id: str | None = None, player: str = "player") -> dict:
    return {"request_id": request_id or new_id("req"), "bet_id": bet_id,
            "bet_player_id": player, "settle_amount": amount, "settle_type": settle_type,
            "restrictions": [], "bet_odds": legs or odds(("2.50", WIN))}


def unsettle(bet_id: str, amount: str, *, request_id: str | None = None,
             player: str = "player") -> dict:
    return {"request_id": request_id or new_id("req"), "bet_id": bet_id,
            "bet_player_id": player, "unsettle_amount": amount}


def decline(bet_id: str, *, request_id: str | None = None, player: str = "player") -> dict:
    return {"request_id": request_id or new_id("req"), "bet_id": bet_id,
            "bet_player_id": player,
            "restrictions": [contract.PLACE_RETRY_LIMIT_RESTRICTION]}


def cash_out_accepted(bet_id: str, order_id: str, refund_amount: str, *,
                      request_id: str | None = None) -> dict:
    return {"request_id": request_id or new_id("req"), "bet_id": bet_id,
            "cash_out_order_id": order_id, "amount": refund_amount,
            "refund_amount": refund_amount}


def cash_out_declined(bet_id: str, order_ids: list[str], *,
                      request_id: str | None = None) -> dict:
    return {"request_id": request_id or new_id("req"), "bet_id": bet_id,
            "cash_out_order_ids": order_ids}
