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


#: A player's session as an operator might shape it: secrets under every kind of key name,
#: nested in objects and lists, of every JSON type; ``lang`` and ``currency`` are what a brand
#: declares visible.
SECRET_SESSION = {
    "pwd": "hunter2-pwd-value", "otp": "731904", "pin": "9371", "signature": "sig-9f8e7d6c5b4a",
    "X-Session": "xs-5a4b3c2d1e", "lang": "en", "currency": "EUR",
    "player": {"account": {"iban": "DE44500105175407324931"}, "pin": 590277},
    "devices": [{"serial": "dev-31337-serial"}, "list-secret-77a1", 8602139],
    "flags": {"vip": True, "limit": None, "ratio": 0.8125},
}
#: The secrets of SECRET_SESSION long enough to search for in any text: none may show anywhere
#: stored, shown, exported or returned (the four-digit pin is checked value by value).
SECRET_TEXTS = ("hunter2-pwd-value", "731904", "sig-9f8e7d6c5b4a", "xs-5a4b3c2d1e",
                "DE44500105175407324931", "590277", "dev-31337-serial", "list-secret-77a1",
                "8602139", "0.8125")
