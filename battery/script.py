"""The builder a case is written with: bets whose methods make contract bodies with fresh request
ids, and a :class:`Script` that numbers the steps and models the player's available balance by
the money model of SPEC §3 (settle amounts and types from :mod:`contract.payouts`)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import contract
from battery.steps import (
    CREATED_AT,
    DEFAULT_PLAYER_ID,
    PROBE_BROKEN,
    PROBE_ODDS,
    PROBE_STAKE,
    START,
    Accepted,
    Amount,
    Balance,
    Refused,
    Rel,
    Replay,
    Step,
    new_bet_id,
    new_request_id,
    odds_list,
    rel,
)
from contract import payouts
from contract.bodies import system_sizes
from contract.payouts import EXPRESS, SINGLE, SYSTEM, Leg
from contract.restrictions import restriction

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Callback:
    """A callback about to be added to a case: label, destination, bet and body."""

    label: str
    destination: str
    bet_id: str
    payload: dict
    stake: Amount | None = None
    #: For a cash-out decline: the refund the annulled order had credited.
    refund: str | None = None


def available_change(callback: Callback) -> Rel:
    """What a correctly applied callback does to the player's available balance (SPEC §3)."""
    body = callback.payload
    changes = {
        contract.PLACE: lambda: -rel(callback.stake),
        "/bet/accept": lambda: Rel(),
        contract.DECLINE: lambda: rel(callback.stake),
        "/bet/settle": lambda: rel(body["settle_amount"]),
        "/bet/unsettle": lambda: -rel(body["unsettle_amount"]),
        "/bet/cash-out-orders/accepted": lambda: rel(body["refund_amount"]),
        "/bet/cash-out-orders/declined": lambda: -rel(callback.refund),
    }
    return changes[callback.destination]()


@dataclass
class BetPlan:
    """A bet of a case; its methods build the bet's callbacks with fresh request ids."""

    bet_id: str
    bet_type: int
    stake: Amount
    ratios: tuple[str, ...]
    sizes: tuple[int, ...] = ()
    player_id: str = DEFAULT_PLAYER_ID
    last_settle_amount: Decimal = _ZERO
    cash_outs: list[tuple[str, str]] = field(default_factory=list)

    def _bet_body(self) -> dict:
        return {"request_id": new_request_id(), "bet_id": self.bet_id,
                "bet_player_id": self.player_id, "bet_type": self.bet_type,
                "bet_stake": self.stake if isinstance(self.stake, Rel)
                else payouts.format_amount(self.stake), "bet_odds": odds_list(self.ratios),
                "bet_system_sizes": system_sizes(self.bet_type, len(self.ratios), self.sizes),
                "bet_created_at": CREATED_AT}

    def place(self, label: str = "place") -> Callback:
        return Callback(label, contract.PLACE, self.bet_id, self._bet_body(), self.stake)

    def accept(self) -> Callback:
        return Callback("accept", "/bet/accept", self.bet_id, self._bet_body())

    def decline(self) -> Callback:
        body = {"request_id": new_request_id(), "bet_id": self.bet_id,
                "bet_player_id": self.player_id,
                "restrictions": [restriction("sport_event_bet_stop")]}
        return Callback("decline", contract.DECLINE, self.bet_id, body, self.stake)

    def settle(self, *statuses: int) -> Callback:
        """A settle with these leg results; type and amount from :func:`payouts.settlement`."""
        if isinstance(self.stake, Rel):
            raise ValueError("a bet staked relative to the balance can only be refunded")
        legs = [Leg(Decimal(r), s) for r, s in zip(self.ratios, statuses, strict=False)]
        result = payouts.settlement(self.bet_type, self.stake, legs, self.sizes)
        return self._settle(result.settle_type, result.settle_amount, statuses)

    def refund(self, status: int = payouts.REFUNDED) -> Callback:
        """A settle that gives the stake back: every leg ``status`` (refunded by default)."""
        statuses = (status,) * len(self.ratios)
        return self._settle(payouts.SETTLE_REFUND, self.stake, statuses)

    def _settle(self, settle_type: int, amount: Amount, statuses: tuple[int, ...]) -> Callback:
        if not isinstance(amount, Rel):
            self.last_settle_amount = amount
        shown = amount.describe() if isinstance(amount, Rel) else payouts.format_amount(amount)
        body = {"request_id": new_request_id(), "bet_id": self.bet_id,
                "bet_player_id": self.player_id, "settle_type": settle_type,
                "settle_amount": amount if isinstance(amount, Rel)
                else payouts.format_amount(amount),
                "bet_odds": odds_list(self.ratios, statuses)}
        kind = contract.SETTLE_TYPES[settle_type]
        return Callback(f"settle {kind} {shown}", "/bet/settle", self.bet_id, body)

    def settle_cashed_out(self) -> Callback:
        """The settle the sportsbook still sends after an accepted cash-out: type 3, amount 0 (the
        bet is paid out already, so it moves no money)."""
        statuses = (payouts.LOSS,) * len(self.ratios)
        return self._settle(payouts.SETTLE_LOST, _ZERO, statuses)

    def unsettle(self) -> Callback:
        """Take back what the last settle credited."""
        amount = payouts.format_amount(self.last_settle_amount)
        body = {"request_id": new_request_id(), "bet_id": self.bet_id,
                "bet_player_id": self.player_id, "unsettle_amount": amount}
        return Callback(f"unsettle {amount}", "/bet/unsettle", self.bet_id, body)

    def cash_out(self, refund_amount: str) -> Callback:
        """An accepted cash-out of the whole stake (``amount``) paying ``refund_amount``."""
        order_id = f"co-{uuid.uuid4().hex[:12]}"
        self.cash_outs.append((order_id, refund_amount))
        body = {"request_id": new_request_id(), "bet_id": self.bet_id,
                "cash_out_order_id": order_id, "amount": payouts.format_amount(self.stake),
                "refund_amount": refund_amount}
        return Callback(f"cash-out accepted {refund_amount}", "/bet/cash-out-orders/accepted",
                        self.bet_id, body)

    def cash_out_declined(self) -> Callback:
        """Annul the last accepted cash-out (its refund is taken back, the stake held again)."""
        order_id, refund = self.cash_outs[-1]
        body = {"request_id": new_request_id(), "bet_id": self.bet_id,
                "cash_out_order_ids": [order_id]}
        return Callback("cash-out declined", "/bet/cash-out-orders/declined", self.bet_id, body,
                        refund=refund)


class Script:
    """Plans one case: numbers its steps and keeps the modelled available balance."""

    def __init__(self, number: int, player_id: str = DEFAULT_PLAYER_ID):
        self.number = number
        self.player_id = player_id
        self.steps: list[Step] = []
        self.available: Rel = START
        self._started = False

    def bet(self, *ratios: str, stake: str | Rel = "10.00", sizes: tuple[int, ...] = ()) -> BetPlan:
        """A new bet of this case: single for one leg, express for more, system with sizes."""
        bet_type = SYSTEM if sizes else (SINGLE if len(ratios) == 1 else EXPRESS)
        return BetPlan(new_bet_id(self.number), bet_type,
                       stake if isinstance(stake, Rel) else Decimal(stake), ratios, sizes,
                       self.player_id)

    def _add(self, label: str, destination: str, bet_id: str, payload: dict, expect,
             broken: str, **extra) -> Step:
        step = Step(len(self.steps) + 1, label, destination, bet_id, payload, expect, broken,
                    **extra)
        self.steps.append(step)
        return step

    def probe(self, broken: str = PROBE_BROKEN) -> Step:
        """A balance probe: the first reads the starting balance, the others check the model."""
        expect = Balance(self.available if self._started else None)
        self._started = True
        return self._add("balance probe", contract.PLACE, *probe_body(self.number, self.player_id),
                         expect, broken)

    def send(self, callback: Callback, broken: str | None = None) -> Step:
        """A callback a correct platform accepts; its money effect joins the model."""
        if not self._started:
            raise ValueError(f"case {self.number}: probe the starting balance before sending")
        step = self._add(callback.label, callback.destination, callback.bet_id, callback.payload,
                         Accepted(), broken or f"a valid {callback.destination} was not accepted")
        self.available = self.available + available_change(callback)
        return step

    def replay(self, step: Step, broken: str) -> Step:
        """``step`` sent again with the same request_id: same answer, nothing applied twice."""
        return self._add(f"{step.label} again (same request_id)", step.destination, step.bet_id,
                         step.payload, Replay(step.position), broken)

    def refused(self, callback: Callback, code: str, broken: str, *,
                actual_balance: Rel | None = None, unknown_session: bool = False) -> Step:
        """A callback a correct platform refuses with ``code``; nothing moves. With
        ``unknown_session`` it goes out with the run's Foreign-Params values changed."""
        return self._add(callback.label, callback.destination, callback.bet_id, callback.payload,
                         Refused(code, actual_balance), broken, unknown_session=unknown_session)


def probe_body(case_number: int, player_id: str) -> tuple[str, dict]:
    """``(bet_id, body)`` of a balance probe: a single whose stake no player can cover."""
    bet_id = new_bet_id(case_number)
    return bet_id, {"request_id": new_request_id(), "bet_id": bet_id,
                    "bet_player_id": player_id, "bet_type": SINGLE,
                    "bet_stake": f"{PROBE_STAKE:f}", "bet_odds": odds_list((PROBE_ODDS,)),
                    "bet_system_sizes": system_sizes(SINGLE, 1), "bet_created_at": CREATED_AT}
