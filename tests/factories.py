"""Valid contract bodies to start tests from."""
from __future__ import annotations

import copy

from contract.restrictions import restriction


def odd(ratio: str = "2.50", status: int = 0, n: int = 1) -> dict:
    return {"odd_id": f"odd-{n}", "odd_ratio": ratio, "odd_status": status,
            "match_id": f"match-{n}", "match_status": 0, "market_id": f"market-{n}"}


def place_payload(player: str = "player-1", stake: str = "10.00", **over) -> dict:
    body = {"bet_player_id": player, "bet_type": 1, "bet_stake": stake, "bet_odds": [odd()],
            "bet_system_sizes": [1], "bet_created_at": "2026-11-23T12:00:00Z",
            "competitors": [{"id": "c-1", "type": 1}]}
    body.update(over)
    return body


PAYLOADS = {
    "/bet/place": place_payload(),
    "/bet/accept": place_payload(),
    "/bet/decline": {"bet_player_id": "player-1", "restrictions": [restriction(
        "selection_value", market_id="market-1", odd_id="odd-1", value="2.40")]},
    "/bet/settle": {"bet_player_id": "player-1", "settle_amount": "25.00", "settle_type": 1,
                    "restrictions": [], "bet_odds": [odd(status=1)]},
    "/bet/unsettle": {"bet_player_id": "player-1", "unsettle_amount": "25.00"},
    "/bet/cash-out-orders/accepted": {"cash_out_order_id": "co-1", "amount": "10.00",
                                      "refund_amount": "8.00"},
    "/bet/cash-out-orders/declined": {"cash_out_order_ids": ["co-1"]},
}


def item(bet_id: str, destination: str, payload: dict | None = None, **extra) -> dict:
    """A producer item for ``destination`` with a valid payload."""
    body = copy.deepcopy(PAYLOADS[destination] if payload is None else payload)
    return {"bet_id": bet_id, "destination": destination, "payload": body,
            "foreign_params": {"token": "session-token-123456"}, **extra}
