"""Why the sportsbook restricts a bet: the 23 restriction types its sender uses, with the keys of
each one's ``context`` object (read off the sportsbook vendor's test tool).

Every context also carries ``max_bet`` and ``sport_event_id``. A place that was never answered
ends in a decline with ``{"type": "internal_error", "context": {"code":
"place_retry_limit_reached", ...}}``.
"""
from __future__ import annotations

#: Keys present in every restriction's context.
COMMON_CONTEXT_KEYS: tuple[str, ...] = ("max_bet", "sport_event_id")

#: Restriction type → the context keys it adds to the common ones.
RESTRICTION_TYPES: dict[str, tuple[str, ...]] = {
    "max_bet": (),
    "min_bet": ("min_bet",),
    "bet_type": ("bet_type",),
    "bet_interval": ("time_to_wait",),
    "selection_value": ("market_id", "odd_id", "value"),
    "sport_event_status": ("status",),
    "sport_event_existence": (),
    "sport_event_bet_stop": (),
    "market_status": ("market_id", "status"),
    "market_existence": ("market_id",),
    "market_defective": ("market_id",),
    "odd_status": ("market_id", "odd_id", "status", "is_active"),
    "odd_existence": ("market_id", "odd_id"),
    "player_limit": ("reason",),
    "freebet_not_applicable": ("reason",),
    "freebet_status": ("status",),
    "freebet_amount": ("freebet_amount", "freebet_currency", "bet_stake", "bet_currency"),
    "insurance_not_applicable": ("reason",),
    "insurance_status": ("status",),
    "insurance_value": ("given_version", "actual_version", "bet_currency",
                        "insurance_currency"),
    "internal_error": ("code",),
    "not_enough_balance": ("actual_balance",),
    "wl_defined": ("code",),
}


def restriction(kind: str, *, max_bet: str | None = None, sport_event_id: str | None = None,
                **context) -> dict:
    """A restriction as the sportsbook sends it: ``{"type": kind, "context": {...}}``.

    ``context`` must give exactly the keys of ``kind`` (ValueError otherwise), so a body built
    here is one the real sender could have sent.
    """
    if kind not in RESTRICTION_TYPES:
        raise ValueError(f"restriction type {kind!r} is not one of the sportsbook's "
                         f"{len(RESTRICTION_TYPES)}: {', '.join(RESTRICTION_TYPES)}")
    expected = set(RESTRICTION_TYPES[kind])
    if set(context) != expected:
        raise ValueError(f"restriction {kind!r} has context keys {sorted(expected)}, "
                         f"got {sorted(context)}")
    return {"type": kind, "context": {"max_bet": max_bet, "sport_event_id": sport_event_id,
                                      **context}}


#: The restriction of a bet whose /bet/place was never answered.
PLACE_RETRY_LIMIT_RESTRICTION = restriction("internal_error", code="place_retry_limit_reached")
