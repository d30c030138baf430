"""Pure rules for a bet's status and for what a finished callback does to its group.

A bet's status follows the sportsbook's events as they are queued, except the place: a bet is
``NEW`` until its ``/bet/place`` is answered (``PLACED``, ``PLACE_ERROR``, or ``DECLINED`` when
the platform never answered).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import contract

from .records import CallbackState

NEW = "NEW"
PLACED = "PLACED"
PLACE_ERROR = "PLACE_ERROR"
ACCEPTED = "ACCEPTED"
DECLINED = "DECLINED"
SETTLED = "SETTLED"
UNSETTLED = "UNSETTLED"
CASHED_OUT = "CASHED_OUT"

BET_STATUSES = (NEW, PLACED, PLACE_ERROR, ACCEPTED, DECLINED, SETTLED, UNSETTLED, CASHED_OUT)

_STATUS_ON_ENQUEUE = {
    "/bet/place": NEW,
    "/bet/accept": ACCEPTED,
    "/bet/decline": DECLINED,
    "/bet/settle": SETTLED,
    "/bet/unsettle": UNSETTLED,
    "/bet/cash-out-orders/accepted": CASHED_OUT,
    "/bet/cash-out-orders/declined": ACCEPTED,
}
# Every destination producers can queue moves a bet; the heartbeat is about a session, is never
# queued, and so has no bet status.
_MISSING = {p for p in contract.DESTINATIONS if contract.queueable(p)} ^ set(_STATUS_ON_ENQUEUE)
if _MISSING:  # the contract changed: say what the new destination does to a bet
    raise ImportError(f"delivery.lifecycle does not match the contract: {sorted(_MISSING)}")


def status_on_enqueue(current: str | None, destination: str) -> str:
    """The bet's status once a callback to ``destination`` is queued."""
    new = _STATUS_ON_ENQUEUE[destination]
    if current is None:
        return new
    if current == PLACE_ERROR or destination == contract.PLACE:
        return current
    return new


@dataclass(frozen=True)
class GroupEffect:
    """What a finished head does to its bet and group."""

    bet_status: str | None = None
    restrictions: list = field(default_factory=list)
    skip_reason: str | None = None
    queue_decline: bool = False


def effect_of(destination: str, final_state: str, current_status: str,
              error_code: str | None = None) -> GroupEffect:
    """The effect of a callback that ended ``delivered``, ``rejected`` or ``exhausted``."""
    if destination != contract.PLACE:
        return GroupEffect()
    if final_state == CallbackState.DELIVERED:
        return GroupEffect(bet_status=PLACED if current_status == NEW else None)
    if final_state == CallbackState.REJECTED:
        return GroupEffect(bet_status=PLACE_ERROR,
                           skip_reason=f"skipped: /bet/place was rejected ({error_code})")
    if final_state == CallbackState.EXHAUSTED:
        return GroupEffect(
            bet_status=DECLINED, restrictions=[contract.PLACE_RETRY_LIMIT_RESTRICTION],
            skip_reason="skipped: /bet/place was never answered; the bet was declined",
            queue_decline=True)
    raise ValueError(f"{final_state!r} is not a final state")


def decline_payload(place_payload: dict, request_id: str) -> dict:
    """The ``/bet/decline`` body sent when a place exhausted its retries."""
    return {
        "request_id": request_id,
        "bet_id": place_payload["bet_id"],
        "bet_player_id": place_payload["bet_player_id"],
        "restrictions": [contract.PLACE_RETRY_LIMIT_RESTRICTION],
    }
