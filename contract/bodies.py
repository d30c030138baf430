"""Body builders: the pieces of a callback body shaped exactly as the sportsbook's sender writes
them. The battery and the simulator build what they send from here, so what Callback Desk sends
follows the contract from one place."""
from __future__ import annotations

from contract.destinations import BET_TYPES

_SINGLE, _EXPRESS = (next(code for code, name in BET_TYPES.items() if name == kind)
                     for kind in ("single", "express"))


def system_sizes(bet_type: int, legs: int, chosen: tuple[int, ...] | list[int] = ()) -> list[int]:
    """``bet_system_sizes``: ``[1]`` for a single, ``[n]`` for an n-leg express, the chosen
    combination sizes for a system (``[2]`` for 2/3)."""
    if bet_type == _SINGLE:
        return [1]
    if bet_type == _EXPRESS:
        return [legs]
    return list(chosen)


def odd(n: int, ratio: str, status: int = 0, *, updated_at: str, meta: dict,
        match_status: int = 0) -> dict:
    """Leg ``n`` of ``bet_odds``, with the ``odd_updated_at`` and ``meta`` the sender adds."""
    return {"odd_id": f"odd-{n}", "odd_ratio": ratio, "odd_status": status,
            "match_id": f"match-{n}", "match_status": match_status, "market_id": f"market-{n}",
            "odd_updated_at": updated_at, "meta": dict(meta)}
