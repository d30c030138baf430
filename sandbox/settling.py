"""Pure decisions of the platform about a bet: does a placed bet make sense, and what does a settle
credit (the amount as sent, unless a bug switch says otherwise)."""
from __future__ import annotations

from decimal import Decimal

from contract import payouts
from contract.errors import ContractViolation
from contract.payouts import HALF_WIN, SETTLE_LOST, SINGLE, SYSTEM, WIN, Leg
from sandbox import bugs as bug_names
from sandbox.ledger import Bet


def bet_shape_problem(body: dict) -> tuple[str, str] | None:
    """``(field, problem)`` when the legs sent do not fit the bet type, else None: a single has
    one leg, every bet has at least one, a system's sizes fit its legs. A tolerant reader checks
    only what was sent: without ``bet_odds`` there is nothing to compare."""
    legs = body.get("bet_odds")
    if not isinstance(legs, list):
        return None
    legs_count = len(legs)
    if legs_count == 0:
        return "bet_odds", "must have at least one leg"
    if body.get("bet_type") == SINGLE and legs_count != 1:
        return "bet_odds", f"a single bet has exactly one leg, got {legs_count}"
    sizes = body.get("bet_system_sizes")
    if body.get("bet_type") == SYSTEM and isinstance(sizes, list):
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in sizes):
            return "bet_system_sizes", "must be a list of integers"
        try:
            payouts.system_combinations(legs_count, sizes)
        except ContractViolation as exc:
            return "bet_system_sizes", str(exc)
    return None


def settle_credit(bet: Bet, body: dict, settle_amount: Decimal, bugs: frozenset[str]) -> Decimal:
    """What a settle adds to ``available``: ``settle_amount``, whatever ``settle_type`` says —
    unless ``half_win_as_win`` (recompute with half-win legs as wins) or ``settle_by_type``
    (type 3 credits nothing) is switched on."""
    credit = settle_amount
    if bug_names.HALF_WIN_AS_WIN in bugs and isinstance(body.get("bet_odds"), list):
        credit = _half_wins_as_wins(bet, body["bet_odds"], credit)
    if bug_names.SETTLE_BY_TYPE in bugs and body.get("settle_type") == SETTLE_LOST:
        credit = Decimal(0)
    return credit


def _half_wins_as_wins(bet: Bet, bet_odds: list[dict], fallback: Decimal) -> Decimal:
    try:
        legs = payouts.legs_from_odds(bet_odds)
    except (ContractViolation, KeyError, TypeError, AttributeError):
        # Legs a tolerant reader did not check deeply: the bug has nothing to recompute.
        return fallback
    if not any(leg.status == HALF_WIN for leg in legs):
        return fallback
    as_wins = [Leg(leg.odds, WIN) if leg.status == HALF_WIN else leg for leg in legs]
    try:
        return payouts.payout(bet.bet_type, bet.stake, as_wins, bet.system_sizes)
    except ContractViolation:
        return fallback
