"""Money at risk (pure): what players are owed, or may have held, because a platform is not
answering.

Two kinds, each added up per currency and never across currencies:

``held``
    Stakes a platform may be holding for places it never answered: a ``/bet/place`` that was
    sent and failed (the platform may have held the stake and then crashed before answering),
    and a ``/bet/decline`` not yet delivered (the release of a held stake — also the decline
    queued after a place ran out of retries).
``owed``
    What players are owed now: the ``settle_amount`` of settles and the ``refund_amount`` of
    accepted cash-outs not yet delivered.

A callback counts while it is undelivered in a bet whose callbacks have met a failure (its own
or its group head's tries failed, or one of the bet's callbacks was exhausted), and for good
once it is exhausted (until someone sends it again). An exhausted ``/bet/place`` counts through
the ``/bet/decline`` queued after it, never twice. Take-backs (``/bet/unsettle``, declined
cash-outs) are money a platform would recover, not money players miss, and are left out.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import contract
from contract.payouts import format_amount

HELD = "held"
OWED = "owed"
KINDS = (HELD, OWED)

#: The bet's own stake (``bets.stake``), for destinations whose body carries no amount.
BET_STAKE = ""


@dataclass(frozen=True)
class RiskSource:
    """Which destination puts money at risk, of what kind, read from which body field."""

    destination: str
    kind: str
    amount_field: str


def _decimal_money_field(path: str, preferred: str | None = None) -> str:
    """The destination's money field that holds an amount (a decimal), from the contract."""
    found = contract.destination(path)
    decimals = [f.name for f in found.fields
                if f.name in found.money_fields and f.kind == "decimal"]
    if preferred is not None:
        if preferred not in decimals:
            raise LookupError(f"{path} has no decimal money field {preferred!r}")
        return preferred
    if len(decimals) != 1:
        raise LookupError(f"{path} has money fields {decimals}; name the one at risk")
    return decimals[0]


#: Every destination that puts money at risk, read from the contract's money fields.
RISK_SOURCES: tuple[RiskSource, ...] = (
    RiskSource(contract.PLACE, HELD, _decimal_money_field(contract.PLACE)),
    RiskSource(contract.DECLINE, HELD, BET_STAKE),
    RiskSource("/bet/settle", OWED, _decimal_money_field("/bet/settle")),
    RiskSource("/bet/cash-out-orders/accepted", OWED,
               _decimal_money_field("/bet/cash-out-orders/accepted", "refund_amount")),
)

#: Shown for amounts whose callbacks name no currency and whose brand has none set.
NO_CURRENCY = ""


def source_of(destination: str) -> RiskSource | None:
    return next((s for s in RISK_SOURCES if s.destination == destination), None)


def parse_amount(value: object) -> Decimal | None:
    """A non-negative decimal from a body's money value, or None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def currency_of(*candidates: object) -> str:
    """The first currency given (a callback's own, its place's, its brand's) as a code: upper
    case, letters and digits only, at most 12 (as ``brand_now`` reads it)."""
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return "".join(c for c in candidate.upper() if c.isascii() and c.isalnum())[:12]
    return NO_CURRENCY


@dataclass(frozen=True)
class RiskItem:
    """One callback's money at risk (``amount`` None: its body carried no readable amount)."""

    currency: str
    kind: str
    amount: Decimal | None
    exhausted: bool = False


def callback_risk(destination: str, payload: Mapping, *, bet_stake: object = None,
                  currency: str = NO_CURRENCY, exhausted: bool = False) -> RiskItem | None:
    """What one undelivered (or exhausted) callback puts at risk, or None when it moves no
    money a player misses. An exhausted place puts nothing at risk itself: the decline queued
    after it carries the stake."""
    source = source_of(destination)
    if source is None or (exhausted and destination == contract.PLACE):
        return None
    raw = bet_stake if source.amount_field == BET_STAKE else payload.get(source.amount_field)
    return RiskItem(currency, source.kind, parse_amount(raw), exhausted)


@dataclass
class CurrencyRisk:
    """Money at risk in one currency."""

    currency: str
    held: Decimal = Decimal(0)
    owed: Decimal = Decimal(0)
    exhausted: Decimal = Decimal(0)  # part of held + owed whose callbacks were exhausted
    callbacks: int = 0
    unreadable: int = 0  # callbacks counted whose amount could not be read

    @property
    def total(self) -> Decimal:
        return self.held + self.owed

    def add(self, kind: str, amount: Decimal | None, callbacks: int = 1,
            exhausted: bool = False) -> None:
        if kind not in KINDS:
            raise ValueError(f"money at risk kind must be one of {KINDS}, got {kind!r}")
        self.callbacks += callbacks
        if amount is None:
            self.unreadable += callbacks
            return
        if kind == HELD:
            self.held += amount
        else:
            self.owed += amount
        if exhausted:
            self.exhausted += amount


@dataclass
class MoneyAtRisk:
    """Money at risk of one brand, by currency (never added across currencies)."""

    by_currency: dict[str, CurrencyRisk] = field(default_factory=dict)

    def add(self, currency: str, kind: str, amount: Decimal | None, callbacks: int = 1,
            exhausted: bool = False) -> None:
        risk = self.by_currency.setdefault(currency, CurrencyRisk(currency))
        risk.add(kind, amount, callbacks, exhausted)

    @property
    def empty(self) -> bool:
        return not any(r.callbacks for r in self.by_currency.values())

    def currencies(self) -> list[CurrencyRisk]:
        """Largest total first, then by currency code."""
        return sorted(self.by_currency.values(), key=lambda r: (-r.total, r.currency))

    def largest(self) -> CurrencyRisk | None:
        found = self.currencies()
        return found[0] if found else None

    def label(self) -> str:
        """``EUR 1,250.00 · USD 40.00`` — or ``none``."""
        if self.empty:
            return "none"
        return " · ".join(format_money(r.total, r.currency) for r in self.currencies())


def combined(moneys: Iterable[MoneyAtRisk]) -> MoneyAtRisk:
    """Several brands' money at risk added up, still per currency."""
    total = MoneyAtRisk()
    for money in moneys:
        for r in money.by_currency.values():
            mine = total.by_currency.setdefault(r.currency, CurrencyRisk(r.currency))
            mine.held += r.held
            mine.owed += r.owed
            mine.exhausted += r.exhausted
            mine.callbacks += r.callbacks
            mine.unreadable += r.unreadable
    return total


def summarize(items: Iterable[RiskItem]) -> MoneyAtRisk:
    """Callbacks' risk items added up per currency."""
    money = MoneyAtRisk()
    for item in items:
        money.add(item.currency, item.kind, item.amount, 1, item.exhausted)
    return money


def from_rows(rows: Iterable[Mapping]) -> MoneyAtRisk:
    """Money at risk from the query's groups: ``currency``, ``kind``, ``exhausted``,
    ``callbacks``, ``amount`` (the sum of readable amounts, a decimal string or None) and
    ``unreadable`` (callbacks whose amount could not be read)."""
    money = MoneyAtRisk()
    for row in rows:
        currency = row.get("currency") or NO_CURRENCY
        count = int(row.get("callbacks") or 0)
        unreadable = int(row.get("unreadable") or 0)
        exhausted = bool(row.get("exhausted"))
        if count - unreadable:
            money.add(currency, row["kind"], parse_amount(row.get("amount")) or Decimal(0),
                      count - unreadable, exhausted)
        if unreadable:
            money.add(currency, row["kind"], None, unreadable, exhausted)
    return money


#: ISO 4217 minor units of the currencies that do not use two decimals; every other currency,
#: and an amount with no currency, is shown with two.
MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "ISK": 0, "JPY": 0, "KRW": 0, "PYG": 0, "UGX": 0, "VND": 0,
    "XAF": 0, "XOF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3}
#: Minor units of a currency not in :data:`MINOR_UNITS` (and of no currency).
DEFAULT_MINOR_UNITS = 2


def minor_units(currency: str | None) -> int:
    """Decimals a currency is written with (ISO 4217): ``JPY`` 0, ``KWD`` 3, most 2."""
    return MINOR_UNITS.get((currency or "").strip().upper(), DEFAULT_MINOR_UNITS)


def shown_amount(amount: Decimal, currency: str | None) -> str:
    """``1,250.00`` (EUR), ``1,250`` (JPY), ``1,250.000`` (KWD): grouped thousands, rounded
    half to even to the currency's minor units. For display only: amounts are stored, added and
    compared exactly (see :func:`plain_amount`)."""
    places = minor_units(currency)
    rounded = Decimal(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if rounded.is_zero():
        rounded = rounded.copy_abs()  # never "-0.00"
    return f"{rounded:,.{places}f}"


def plain_amount(amount: Decimal) -> str:
    """``1,250.00``: grouped thousands, at least two decimals, no digits lost (for exports)."""
    whole, _, fraction = format_amount(amount).partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "")


def format_money(amount: Decimal, currency: str) -> str:
    """``EUR 1,250.00``, ``JPY 1,250`` (in the currency's minor units); an amount without a
    currency is written ``1,250.00 (no currency)``."""
    grouped = shown_amount(amount, currency)
    return f"{currency} {grouped}" if currency else f"{grouped} (no currency)"
