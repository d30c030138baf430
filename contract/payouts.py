"""Payout arithmetic: what a bet pays for a set of leg results, in :class:`~decimal.Decimal`.

Pure functions of values, used by the sandbox platform, the traffic simulator and the integration
battery, so that all of them agree to the last digit.

- A leg's *factor*: win → odds; half-win → (odds + 1) / 2; half-loss → 0.5; loss → 0;
  refunded, cancelled and refunded manually → 1. A not-resulted leg has no factor (an error).
- single = stake × factor of its one leg.
- express = stake × product of the leg factors.
- system = the stake split evenly across every combination of the chosen size(s)
  (``bet_system_sizes``, e.g. ``[2]`` for 2/3); each combination pays like an express on its
  share; the bet pays the sum.

Payouts are rounded half-up to :data:`PAYOUT_PLACES` decimals (a system bet is rounded once, on the
sum, so 10 on 2/3 at evens-doubled pays 40.000 and not 39.999). Money travels as decimal strings;
:func:`format_amount` writes them (``"12.50"``, ``"78.125"``) and :func:`to_decimal` reads them.

Bet types, leg statuses and settle types are read from :mod:`contract` by name.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import combinations

import contract
from contract.errors import ContractViolation


def _code(table: dict[int, str], name: str) -> int:
    return next(code for code, label in table.items() if label == name)


NOT_RESULTED = _code(contract.ODD_STATUSES, "not resulted")
WIN = _code(contract.ODD_STATUSES, "win")
LOSS = _code(contract.ODD_STATUSES, "loss")
HALF_WIN = _code(contract.ODD_STATUSES, "half-win")
HALF_LOSS = _code(contract.ODD_STATUSES, "half-loss")
REFUNDED = _code(contract.ODD_STATUSES, "refunded")
CANCELLED = _code(contract.ODD_STATUSES, "cancelled")
REFUNDED_MANUALLY = _code(contract.ODD_STATUSES, "refunded manually")
#: Leg statuses that give the stake back on that leg (factor 1).
REFUND_STATUSES = frozenset({REFUNDED, CANCELLED, REFUNDED_MANUALLY})

SINGLE = _code(contract.BET_TYPES, "single")
EXPRESS = _code(contract.BET_TYPES, "express")
SYSTEM = _code(contract.BET_TYPES, "system")

SETTLE_WIN = _code(contract.SETTLE_TYPES, "win")
SETTLE_REFUND = _code(contract.SETTLE_TYPES, "refund")
SETTLE_LOST = _code(contract.SETTLE_TYPES, "lost")

#: Payouts are rounded (half up) to this many decimal places.
PAYOUT_PLACES = 3
#: Amounts are written with at least this many decimal places ("12.50").
MIN_AMOUNT_PLACES = 2

_HALF = Decimal("0.5")
_ONE = Decimal(1)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Leg:
    """One leg of a bet: its decimal odds and its result (a contract ``odd_status``)."""

    odds: Decimal
    status: int


@dataclass(frozen=True)
class Settlement:
    """What a settle callback carries: ``settle_type`` (1 win, 2 refund, 3 lost) and the amount."""

    settle_type: int
    settle_amount: Decimal

    def as_fields(self) -> dict:
        """The two settle body fields, money as a decimal string."""
        return {"settle_type": self.settle_type,
                "settle_amount": format_amount(self.settle_amount)}


# --- reading and writing money --------------------------------------------------------------

def to_decimal(value: object, field: str = "amount") -> Decimal:
    """A finite Decimal from a decimal string, an int or a Decimal; a ContractViolation names
    ``field``."""
    if isinstance(value, bool):
        raise ContractViolation(
            f"{field} must be a decimal string such as \"12.50\", got {value!r}",
            field=field, value=value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, (int, str)):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
    else:
        number = None
    if number is None or not number.is_finite():
        raise ContractViolation(
            f"{field} must be a decimal string such as \"12.50\", got {value!r}",
            field=field, value=value)
    return number


def round_amount(amount: Decimal, places: int = PAYOUT_PLACES) -> Decimal:
    """``amount`` rounded half up to ``places`` decimals."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal | str | int) -> str:
    """A money string with at least two decimals and no digits lost: 12.5 → "12.50",
    78.125 → "78.125", 12.500 → "12.50", -3 → "-3.00"."""
    number = to_decimal(amount)
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    else:
        number = number.normalize()
    if -number.as_tuple().exponent < MIN_AMOUNT_PLACES:
        number = number.quantize(Decimal(1).scaleb(-MIN_AMOUNT_PLACES))
    return f"{number:f}"


# --- legs -----------------------------------------------------------------------------------

def legs_from_odds(bet_odds: Iterable[dict]) -> list[Leg]:
    """Legs from a contract ``bet_odds`` list (``odd_ratio`` and ``odd_status`` of each item)."""
    legs = []
    for index, item in enumerate(bet_odds):
        where = f"bet_odds[{index}]"
        if not isinstance(item, dict):
            raise ContractViolation(
                f"{where} must be an object, got {item!r}", field=where, value=item)
        status = item.get("odd_status")
        if status not in contract.ODD_STATUSES or isinstance(status, bool):
            raise ContractViolation(
                f"{where}.odd_status must be one of {sorted(contract.ODD_STATUSES)},"
                f" got {status!r}", field=f"{where}.odd_status", value=status)
        legs.append(Leg(to_decimal(item.get("odd_ratio"), f"{where}.odd_ratio"), status))
    return legs


def leg_factor(leg: Leg, index: int = 0) -> Decimal:
    """What one leg multiplies its share of the stake by; a not-resulted leg is an error."""
    if leg.status == WIN:
        return leg.odds
    if leg.status == HALF_WIN:
        return (leg.odds + 1) / 2
    if leg.status == HALF_LOSS:
        return _HALF
    if leg.status == LOSS:
        return _ZERO
    if leg.status in REFUND_STATUSES:
        return _ONE
    field = f"bet_odds[{index}].odd_status"
    if leg.status == NOT_RESULTED:
        raise ContractViolation(
            f"{field}: leg {index} is not resulted yet, so the bet cannot be paid",
            field=field, value=leg.status)
    raise ContractViolation(f"{field}: unknown leg status {leg.status!r}", field=field,
                            value=leg.status)


def _product(legs: Sequence[Leg], indexes: Iterable[int]) -> Decimal:
    result = _ONE
    for index in indexes:
        result *= leg_factor(legs[index], index)
    return result


# --- payouts --------------------------------------------------------------------------------

def single_payout(stake: Decimal | str, leg: Leg) -> Decimal:
    """stake × the leg's factor (stake × odds for a win), rounded."""
    return round_amount(to_decimal(stake, "bet_stake") * leg_factor(leg))


def express_payout(stake: Decimal | str, legs: Sequence[Leg]) -> Decimal:
    """stake × the product of the leg factors, rounded."""
    if not legs:
        raise ContractViolation(
            "an express bet needs at least one leg", field="bet_odds", value=[])
    return round_amount(to_decimal(stake, "bet_stake") * _product(legs, range(len(legs))))


def system_combinations(legs_count: int, sizes: Sequence[int]) -> list[tuple[int, ...]]:
    """Every combination (as leg indexes) of the chosen sizes, e.g. 3 legs, [2] → 3 pairs."""
    if not sizes:
        raise ContractViolation("a system bet needs bet_system_sizes, e.g. [2] for 2/3",
                                field="bet_system_sizes", value=list(sizes))
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= legs_count:
            raise ContractViolation(
                f"bet_system_sizes: size {size!r} does not fit {legs_count} legs",
                field="bet_system_sizes", value=list(sizes))
    return [combo for size in sorted(set(sizes))
            for combo in combinations(range(legs_count), size)]


def system_payout(stake: Decimal | str, legs: Sequence[Leg], sizes: Sequence[int]) -> Decimal:
    """The stake split evenly across the combinations; each pays like an express; summed, rounded
    once."""
    combos = system_combinations(len(legs), sizes)
    for index, leg in enumerate(legs):
        leg_factor(leg, index)  # a not-resulted leg is an error even if no combination needed it
    share = to_decimal(stake, "bet_stake") / len(combos)
    return round_amount(sum((share * _product(legs, combo) for combo in combos), _ZERO))


def payout(bet_type: int, stake: Decimal | str, legs: Sequence[Leg],
           system_sizes: Sequence[int] = ()) -> Decimal:
    """What a bet of ``bet_type`` pays for these leg results."""
    if bet_type == SINGLE:
        if len(legs) != 1:
            raise ContractViolation(f"a single bet has exactly one leg, got {len(legs)}",
                                    field="bet_odds", value=len(legs))
        return single_payout(stake, legs[0])
    if bet_type == EXPRESS:
        return express_payout(stake, legs)
    if bet_type == SYSTEM:
        return system_payout(stake, legs, system_sizes)
    raise ContractViolation(
        f"bet_type must be one of {sorted(contract.BET_TYPES)}, got {bet_type!r}",
        field="bet_type", value=bet_type)


def settle_type(amount: Decimal, stake: Decimal) -> int:
    """The sportsbook's rule: a payout above the stake is a win (1), equal a refund (2), below it
    lost (3) — so a half-loss is type 3 *with* money. The platform credits ``settle_amount``
    whatever the type says."""
    if amount > stake:
        return SETTLE_WIN
    if amount == stake:
        return SETTLE_REFUND
    return SETTLE_LOST


def settlement(bet_type: int, stake: Decimal | str, legs: Sequence[Leg],
               system_sizes: Sequence[int] = ()) -> Settlement:
    """The settle type and amount of a resulted bet, as the sportsbook sends them."""
    amount = payout(bet_type, stake, legs, system_sizes)
    return Settlement(settle_type(amount, round_amount(to_decimal(stake, "bet_stake"))), amount)
