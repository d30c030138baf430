"""The decisions of a reconciliation, without I/O: what each of our callbacks should have done to
the player's available balance, and the verdict on one bet given those movements and the
operator's ledger rows for it.

The money model is the platform's (SPEC §3, what the sandbox implements and the integration
battery checks): place −stake, decline +stake (the hold comes back), settle +``settle_amount``,
unsettle −``unsettle_amount``, cash-out accepted +``refund_amount``, cash-out declined −the
refund that order paid; accept moves nothing. An unsettle of a cashed-out bet takes back the
cash-out payout (its ``unsettle_amount`` is the 0 of the settle that followed the cash-out).

Verdicts, one per bet, mutually exclusive; when a bet has several findings the first of
:data:`PRECEDENCE` names it and the detail lists them all:

- ``match`` — every callback we delivered is booked once with its amount, nothing else is;
- ``booked_twice`` — one ``request_id`` is booked more than once;
- ``missing_on_platform`` — we delivered a movement the ledger lacks;
- ``amount_differs`` — a movement booked with another amount, in another currency, under a
  ``request_id`` we never sent for the bet, or for a callback the platform rejected or we never
  sent;
- ``not_delivered_yet`` — a callback of the bet is still queued (or exhausted, waiting for a
  retry, or delivered after the ledger was exported) and is not booked: not the platform's
  fault;
- ``rejected_by_platform`` — the platform answered a supported 400, and nothing is booked for it
  (nothing should be);
- ``unknown_to_us`` — the ledger has a bet we never sent a callback for (or one of another
  brand).

Without ``request_id`` in the ledger a bet's movements are compared as net amounts; the verdict
is then named from the amounts that do not pair up.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import contract
from contract.payouts import format_amount
from delivery.records import CallbackState

SETTLE = "/bet/settle"
UNSETTLE = "/bet/unsettle"
CASH_OUT_ACCEPTED = "/bet/cash-out-orders/accepted"
CASH_OUT_DECLINED = "/bet/cash-out-orders/declined"

#: The body member whose amount a callback moves (its sign is in :data:`SIGNS`). A decline
#: moves the bet's stake; a cash-out declined moves the refunds of its orders.
AMOUNT_FIELDS = {contract.PLACE: "bet_stake", SETTLE: "settle_amount",
                 UNSETTLE: "unsettle_amount", CASH_OUT_ACCEPTED: "refund_amount"}
SIGNS = {contract.PLACE: -1, SETTLE: 1, UNSETTLE: -1, CASH_OUT_ACCEPTED: 1}
#: The body member naming the cash-out order(s) a callback is about.
ORDER_FIELDS = {CASH_OUT_ACCEPTED: "cash_out_order_id", CASH_OUT_DECLINED: "cash_out_order_ids"}

_ZERO = Decimal(0)
#: Callback states in which the platform has not had its final say yet.
UNDELIVERED = frozenset({CallbackState.WAITING, CallbackState.PENDING, CallbackState.IN_FLIGHT,
                         CallbackState.EXHAUSTED})
#: States in which nothing should be booked.
NOT_SENT = frozenset({CallbackState.SKIPPED})


class Verdict(StrEnum):
    MATCH = "match"
    BOOKED_TWICE = "booked_twice"
    MISSING_ON_PLATFORM = "missing_on_platform"
    AMOUNT_DIFFERS = "amount_differs"
    NOT_DELIVERED_YET = "not_delivered_yet"
    REJECTED_BY_PLATFORM = "rejected_by_platform"
    UNKNOWN_TO_US = "unknown_to_us"


#: Which finding names a bet that has several (most telling first).
PRECEDENCE = (Verdict.UNKNOWN_TO_US, Verdict.BOOKED_TWICE, Verdict.MISSING_ON_PLATFORM,
              Verdict.AMOUNT_DIFFERS, Verdict.NOT_DELIVERED_YET, Verdict.REJECTED_BY_PLATFORM)
#: What each verdict means, for reports and the page.
MEANINGS = {
    Verdict.MATCH: "every delivered movement booked once, with its amount",
    Verdict.BOOKED_TWICE: "the same request_id booked more than once",
    Verdict.MISSING_ON_PLATFORM: "we delivered a movement the ledger lacks",
    Verdict.AMOUNT_DIFFERS: "booked with another amount (or booked what should not be)",
    Verdict.NOT_DELIVERED_YET: "our callback is still queued — not the platform's fault",
    Verdict.REJECTED_BY_PLATFORM: "the platform answered a supported 400; nothing booked",
    Verdict.UNKNOWN_TO_US: "a ledger bet we never sent (or of another brand)",
}
#: How many findings a bet's detail spells out.
DETAIL_FINDINGS = 3


@dataclass(frozen=True, slots=True)
class Ours:
    """One of our callbacks of the bet, as the reconciliation reads it."""

    callback_id: int
    request_id: str
    destination: str
    state: str
    #: The value of the destination's amount field (:data:`AMOUNT_FIELDS`), None without one.
    amount: Decimal | None = None
    #: The cash-out order id(s) the callback names.
    orders: tuple[str, ...] = ()
    #: The bet's stake (what a decline releases).
    stake: Decimal = _ZERO
    #: The error code of a rejected callback, for the detail.
    code: str | None = None
    #: Delivered after the ledger was exported: it may not be in it.
    late: bool = False

    @property
    def settled(self) -> bool:
        """Delivered before the ledger was exported: the ledger must have it."""
        return self.state == CallbackState.DELIVERED and not self.late

    @property
    def open(self) -> bool:
        """Not yet answered for good, or delivered too late for this ledger: it may or may
        not be booked."""
        return self.state in UNDELIVERED or self.late


@dataclass(frozen=True, slots=True)
class Booked:
    """One row of the operator's ledger for the bet."""

    amount: Decimal
    request_id: str | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    verdict: Verdict
    text: str
    #: The callback it is about (None: a ledger row of no callback of ours).
    callback: Ours | None = None


@dataclass(frozen=True)
class BetResult:
    """The verdict on one bet, with the money on each side (in ``currency``)."""

    bet_id: str
    verdict: Verdict
    currency: str
    expected: Decimal
    booked: Decimal
    findings: tuple[Finding, ...] = ()
    callbacks: int = 0
    ledger_rows: int = 0

    @property
    def difference(self) -> Decimal:
        """Booked minus expected: what the player has too much (positive) or too little."""
        return self.booked - self.expected

    @property
    def detail(self) -> str:
        """The findings in words (the first few, and how many more)."""
        texts = [f.text for f in self.findings]
        shown = "; ".join(texts[:DETAIL_FINDINGS])
        more = len(texts) - DETAIL_FINDINGS
        return f"{shown}; and {more} more" if more > 0 else shown

    @property
    def named(self) -> tuple[Ours, ...]:
        """The callbacks the findings are about, each once, in order."""
        seen: dict[int, Ours] = {}
        for finding in self.findings:
            if finding.callback is not None:
                seen.setdefault(finding.callback.callback_id, finding.callback)
        return tuple(seen.values())


# --- what we expected -----------------------------------------------------------------------

def movements(callbacks: Sequence[Ours]) -> list[Decimal]:
    """The movement each callback (in creation order) asks of the player's available balance,
    as if the platform applied it. A rejected or skipped callback moves nothing and changes
    nothing that follows."""
    outstanding: dict[str, Decimal] = {}   # accepted cash-out orders → refund paid
    moved = []
    for cb in callbacks:
        if cb.state in (CallbackState.REJECTED, CallbackState.SKIPPED):
            moved.append(_ZERO)
            continue
        amount = cb.amount if cb.amount is not None else _ZERO
        if cb.destination == contract.DECLINE:
            move = cb.stake
        elif cb.destination == CASH_OUT_ACCEPTED:
            move = amount
            for order in cb.orders:
                outstanding[order] = amount
        elif cb.destination == CASH_OUT_DECLINED:
            move = -sum((outstanding.pop(o) for o in cb.orders if o in outstanding), _ZERO)
        elif cb.destination == UNSETTLE and outstanding:
            move = -sum(outstanding.values(), _ZERO)
            outstanding.clear()
        elif cb.destination in SIGNS:
            move = SIGNS[cb.destination] * amount
        else:
            move = _ZERO
        moved.append(move)
    return moved


def _nothing_held(callbacks: Sequence[Ours], index: int) -> bool:
    """Whether an exhausted place was answered, in effect, by the platform: the decline that
    followed it was rejected (``bet_not_found``: nothing was held)."""
    cb = callbacks[index]
    if cb.destination != contract.PLACE or cb.state != CallbackState.EXHAUSTED:
        return False
    return any(later.destination == contract.DECLINE and later.state == CallbackState.REJECTED
               for later in callbacks[index + 1:])


# --- the verdict ----------------------------------------------------------------------------

def judge(bet_id: str, ours: Sequence[Ours], booked: Sequence[Booked], *, by_request: bool,
          currency: str | None = None) -> BetResult:
    """The verdict on one bet: ``ours`` in creation order, ``booked`` its ledger rows.
    ``by_request``: the ledger carries ``request_id`` (rows are paired with callbacks by it);
    else net amounts are compared. ``currency`` is the brand's, when it has one."""
    booked_total = sum((b.amount for b in booked), _ZERO)
    found = [b.currency for b in booked if b.currency]
    shown_currency = found[0] if found else (currency or "")
    if not ours:
        return BetResult(bet_id, Verdict.UNKNOWN_TO_US, shown_currency, _ZERO, booked_total,
                         (Finding(Verdict.UNKNOWN_TO_US, "no callback of ours for this bet"),),
                         0, len(booked))
    moved = movements(ours)
    if by_request:
        expected, findings = _by_request(ours, moved, booked)
    else:
        expected, findings = _by_net(ours, moved, booked)
    if currency and any(c and c != currency for c in found):
        other = sorted({c for c in found if c != currency})
        findings.insert(0, Finding(Verdict.AMOUNT_DIFFERS,
                                   f"booked in {', '.join(other)}; the brand's wallets are in "
                                   f"{currency}"))
    if not findings:   # most bets: nothing to name or order
        return BetResult(bet_id, Verdict.MATCH, shown_currency, expected, booked_total, (),
                         len(ours), len(booked))
    verdict = next((v for v in PRECEDENCE if any(f.verdict == v for f in findings)),
                   Verdict.MATCH)
    ordered = sorted(findings, key=lambda f: PRECEDENCE.index(f.verdict))
    return BetResult(bet_id, verdict, shown_currency, expected, booked_total, tuple(ordered),
                     len(ours), len(booked))


def _by_request(ours: Sequence[Ours], moved: list[Decimal],
                booked: Sequence[Booked]) -> tuple[Decimal, list[Finding]]:
    rows: dict[str, list[Decimal]] = {}
    for b in booked:
        rows.setdefault(b.request_id or "", []).append(b.amount)
    expected = _ZERO
    findings: list[Finding] = []
    ours_ids = set()
    for index, (cb, move) in enumerate(zip(ours, moved, strict=True)):
        ours_ids.add(cb.request_id)
        got = rows.get(cb.request_id, ())
        total = sum(got, _ZERO)
        name = f"{_short(cb.destination)} {cb.request_id}"
        if len(got) > 1:
            expected += move
            findings.append(Finding(Verdict.BOOKED_TWICE, f"{name} booked {len(got)} times "
                                    f"({_amounts(got)}; expected {_money(move)})", cb))
        elif cb.settled or (got and cb.open and not _nothing_held(ours, index)):
            # (an open callback that is booked: the platform applied it before we heard back)
            expected += move
            if got and total != move:
                findings.append(Finding(Verdict.AMOUNT_DIFFERS,
                                        f"{name} booked {_money(total)}, expected "
                                        f"{_money(move)}", cb))
            elif not got and move != 0:
                findings.append(Finding(Verdict.MISSING_ON_PLATFORM,
                                        f"{name} {_money(move)} delivered, not booked", cb))
        elif cb.open and not _nothing_held(ours, index):
            if not (cb.late and move == 0):   # delivered, moving nothing: nothing to wait for
                findings.append(Finding(Verdict.NOT_DELIVERED_YET, _undelivered(name, cb), cb))
        elif got and total != 0:
            findings.append(Finding(Verdict.AMOUNT_DIFFERS,
                                    f"{name} booked {_money(total)} though "
                                    f"{_never_applied(cb)}", cb))
        elif cb.state == CallbackState.REJECTED:
            findings.append(Finding(Verdict.REJECTED_BY_PLATFORM, _rejected(name, cb), cb))
    for request_id, got in rows.items():
        if request_id not in ours_ids:
            what = (f"under request_id {request_id}, which we never sent for this bet"
                    if request_id else "without a request_id")
            findings.append(Finding(
                Verdict.BOOKED_TWICE if len(got) > 1 and request_id else Verdict.AMOUNT_DIFFERS,
                f"{_amounts(got)} booked {what}"))
    return expected, findings


def _by_net(ours: Sequence[Ours], moved: list[Decimal],
            booked: Sequence[Booked]) -> tuple[Decimal, list[Finding]]:
    pairs = list(zip(ours, moved, strict=True))
    delivered = [(cb, m) for cb, m in pairs if cb.settled]
    waiting = [(cb, m) for i, (cb, m) in enumerate(pairs)
               if cb.open and not _nothing_held(ours, i) and not (cb.late and m == 0)]
    expected = sum((m for _, m in delivered), _ZERO)
    got = sum((b.amount for b in booked), _ZERO)
    ahead = sum((m for _, m in waiting), _ZERO)
    findings: list[Finding] = []
    if got != expected and waiting and got == expected + ahead:
        return expected + ahead, findings   # the platform applied them before we heard back
    if got != expected:
        findings.append(_name_net_difference(delivered, booked, expected, got))
    for cb, _ in waiting:
        findings.append(Finding(Verdict.NOT_DELIVERED_YET,
                                _undelivered(f"{_short(cb.destination)} {cb.request_id}", cb),
                                cb))
    for cb in ours:
        if cb.state == CallbackState.REJECTED:
            findings.append(Finding(Verdict.REJECTED_BY_PLATFORM,
                                    _rejected(f"{_short(cb.destination)} {cb.request_id}", cb),
                                    cb))
    return expected, findings


def _name_net_difference(delivered: list[tuple[Ours, Decimal]], booked: Sequence[Booked],
                         expected: Decimal, got: Decimal) -> Finding:
    """Which verdict a net difference is: the ledger's amounts paired with ours, one to one."""
    want = Counter(m for _, m in delivered if m != 0)
    have = Counter(b.amount for b in booked if b.amount != 0)
    lacking, extra = want - have, have - want
    summary = f"booked {_money(got)} in all, expected {_money(expected)} (net amounts)"
    if lacking and not extra:
        cb = next(cb for cb, m in delivered if m in lacking)
        return Finding(Verdict.MISSING_ON_PLATFORM,
                       f"{_amounts(lacking.elements())} not booked; {summary}", cb)
    if extra and not lacking and all(a in want for a in extra):
        cb = next(cb for cb, m in delivered if m in extra)
        return Finding(Verdict.BOOKED_TWICE,
                       f"{_amounts(extra.elements())} booked again; {summary}", cb)
    return Finding(Verdict.AMOUNT_DIFFERS, summary)


# --- words ----------------------------------------------------------------------------------

def _short(destination: str) -> str:
    return destination.removeprefix("/bet/").replace("cash-out-orders/", "cash-out ")


def _money(amount: Decimal) -> str:
    text = format_amount(amount)
    return text if amount < 0 else f"+{text}"


def _amounts(values: Iterable[Decimal]) -> str:
    return ", ".join(_money(v) for v in values)


def _undelivered(name: str, cb: Ours) -> str:
    if cb.late:
        return f"{name} delivered after the ledger was exported, not in it"
    if cb.state == CallbackState.EXHAUSTED:
        return f"{name} exhausted every attempt, not booked (send it again: callbacks retry)"
    return f"{name} still {cb.state.replace('_', ' ')}, not booked yet"


def _rejected(name: str, cb: Ours) -> str:
    return f"{name} rejected by the platform ({cb.code or 'a supported 400'})"


def _never_applied(cb: Ours) -> str:
    if cb.state == CallbackState.REJECTED:
        return f"the platform rejected it ({cb.code or 'a supported 400'})"
    if cb.state in UNDELIVERED:
        return "the bet's decline was answered bet_not_found (nothing held)"
    return "we never sent it (skipped)"


@dataclass
class Tally:
    """Bets and money of one verdict in one currency."""

    bets: int = 0
    expected: Decimal = _ZERO
    booked: Decimal = _ZERO

    @property
    def difference(self) -> Decimal:
        return self.booked - self.expected


@dataclass
class Summary:
    """Counts and money per verdict and currency."""

    tallies: dict[tuple[Verdict, str], Tally] = field(default_factory=dict)

    def add(self, result: BetResult) -> None:
        tally = self.tallies.setdefault((result.verdict, result.currency), Tally())
        tally.bets += 1
        tally.expected += result.expected
        tally.booked += result.booked

    @property
    def bets(self) -> int:
        return sum(t.bets for t in self.tallies.values())

    def count(self, verdict: Verdict) -> int:
        return sum(t.bets for (v, _), t in self.tallies.items() if v == verdict)

    @property
    def all_match(self) -> bool:
        return all(v == Verdict.MATCH for v, _ in self.tallies)

    def rows(self) -> list[dict]:
        """One row per verdict and currency, verdicts in report order."""
        order = [Verdict.MATCH, *PRECEDENCE]
        return [dict(verdict=str(v), currency=c, bets=t.bets, expected=format_amount(t.expected),
                     booked=format_amount(t.booked), difference=format_amount(t.difference))
                for (v, c), t in sorted(self.tallies.items(),
                                        key=lambda kv: (order.index(kv[0][0]), kv[0][1]))]
