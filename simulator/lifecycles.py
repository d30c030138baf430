"""Pure: a bet's lifecycle as a plan of callbacks, the money each one is meant to move, and how
a player's session goes.

A plan starts with ``/bet/place``; the steps after it are sent only once the place is delivered
(a place error ends the bet). Each step carries the movement of the player's ``available`` and
``held`` money that a correct platform makes when it applies the step (SPEC §3 money model).

Bodies are shaped like the sportsbook sender's real traffic: system sizes
``[1]`` for a single and ``[n]`` for an n-leg express, competitors as ``{id, type}``, odds with
``odd_updated_at`` and ``meta``, a cash-out's ``amount`` the stake it cashes out, settle types by
the payout against the stake, and after an accepted cash-out the settle of type 3 and 0.00 the
sportsbook still sends (it moves no money: the bet is paid out already).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from contract import bodies, payouts
from contract.restrictions import restriction

#: Lifecycles and how often each is chosen.
LIFECYCLES = {
    "settle": 60, "decline": 6, "decline_after_accept": 4, "resettle": 12,
    "cash_out": 10, "cash_out_annulled": 8,
}
#: Bet types (1 single, 2 express, 3 system) and how often each is chosen.
BET_TYPE_WEIGHTS = {1: 60, 2: 30, 3: 10}
#: Leg results drawn for settlement, by odd_status, with weights.
LEG_RESULTS = {1: 45, 2: 40, 3: 4, 4: 4, 5: 5, 6: 2}


@dataclass(frozen=True)
class Move:
    """A change of the player's money: ``available`` and ``held`` deltas."""

    available: Decimal = Decimal(0)
    held: Decimal = Decimal(0)


@dataclass(frozen=True)
class Step:
    destination: str
    payload: dict
    move: Move
    #: Seconds to wait after the previous step was queued (scaled by the simulator's pace).
    delay_s: float = 0.0


@dataclass
class BetPlan:
    bet_id: str
    lifecycle: str
    stake: Decimal
    steps: list[Step] = field(default_factory=list)


#: ``odd_updated_at`` of simulated legs, with nanoseconds as the real sender writes it.
ODDS_UPDATED_AT = "2026-11-23T11:59:00.123456789Z"


def _odd(n: int, ratio: Decimal, status: int = 0) -> dict:
    return bodies.odd(n, payouts.format_amount(ratio), status, updated_at=ODDS_UPDATED_AT,
                      meta={"provider": "simulator", "sport_id": "football",
                            "tournament_id": f"tournament-{n}", "market_type": 1},
                      match_status=0 if status == 0 else 3)


#: The system bets the simulator makes are 2/3.
SYSTEM_SIZES = (2,)


def _results(rng: random.Random, legs: int) -> list[int]:
    statuses, weights = zip(*LEG_RESULTS.items(), strict=False)
    return rng.choices(statuses, weights, k=legs)


def settle_step(bet_type: int, stake: Decimal, odds: list[Decimal], sizes: list[int],
                statuses: list[int], player_id: str, delay_s: float) -> Step:
    """The settle for these leg results, with the amount the payout rules give."""
    legs = [payouts.Leg(o, s) for o, s in zip(odds, statuses, strict=False)]
    result = payouts.settlement(bet_type, stake, legs, sizes)
    body = {"bet_player_id": player_id, **result.as_fields(),
            "bet_odds": [_odd(i, o, s)
                         for i, (o, s) in enumerate(zip(odds, statuses, strict=False))]}
    return Step("/bet/settle", body, Move(result.settle_amount, -stake), delay_s)


def cashed_out_settle_step(odds: list[Decimal], statuses: list[int], player_id: str,
                           delay_s: float) -> Step:
    """The settle the sportsbook sends once a cashed-out bet's events are resulted: type 3 and
    0.00 — answered, and no money moves (the cash-out paid the bet out already)."""
    body = {"bet_player_id": player_id,
            **payouts.Settlement(payouts.SETTLE_LOST, Decimal(0)).as_fields(),
            "bet_odds": [_odd(i, o, s)
                         for i, (o, s) in enumerate(zip(odds, statuses, strict=False))]}
    return Step("/bet/settle", body, Move(), delay_s)


def plan_bet(rng: random.Random, bet_id: str, player_id: str, created_at: str) -> BetPlan:
    """A random but realistic lifecycle for one bet."""
    bet_type = rng.choices(list(BET_TYPE_WEIGHTS), list(BET_TYPE_WEIGHTS.values()))[0]
    legs = {1: 1, 2: rng.randint(2, 4), 3: 3}[bet_type]
    sizes = bodies.system_sizes(bet_type, legs, SYSTEM_SIZES)
    odds = [Decimal(rng.randint(115, 400)) / 100 for _ in range(legs)]
    stake = Decimal(rng.choice([1, 2, 5, 10, 10, 20, 25, 50]))
    bet = {"bet_player_id": player_id, "bet_type": bet_type,
           "bet_stake": payouts.format_amount(stake),
           "bet_odds": [_odd(i, o) for i, o in enumerate(odds)], "bet_system_sizes": sizes,
           "bet_created_at": created_at,
           "competitors": [{"id": f"team-{rng.randint(1, 99)}", "type": 1}]}
    lifecycle = rng.choices(list(LIFECYCLES), list(LIFECYCLES.values()))[0]
    plan = BetPlan(bet_id, lifecycle, stake)
    plan.steps.append(Step("/bet/place", bet, Move(-stake, stake)))
    soon = lambda: rng.uniform(0.2, 1.0)  # noqa: E731 — a short pause between steps
    later = lambda: rng.uniform(1.0, 5.0)  # noqa: E731
    moved = restriction("selection_value", market_id=bet["bet_odds"][0]["market_id"],
                        odd_id=bet["bet_odds"][0]["odd_id"], value=bet["bet_odds"][0]["odd_ratio"])
    decline = Step("/bet/decline", {"bet_player_id": player_id, "restrictions": [moved]},
        Move(stake, -stake), soon())
    if lifecycle == "decline":
        plan.steps.append(decline)
        return plan
    plan.steps.append(Step("/bet/accept", bet, Move(), soon()))
    if lifecycle == "decline_after_accept":
        plan.steps.append(decline)
        return plan
    if lifecycle in ("cash_out", "cash_out_annulled"):
        refund = (stake * Decimal(rng.randint(40, 180)) / 100).quantize(Decimal("0.01"))
        order = f"co-{bet_id}"
        plan.steps.append(Step("/bet/cash-out-orders/accepted", {
            "cash_out_order_id": order, "amount": payouts.format_amount(stake),
            "refund_amount": payouts.format_amount(refund)}, Move(refund, -stake), later()))
        if lifecycle == "cash_out":
            plan.steps.append(cashed_out_settle_step(odds, _results(rng, legs), player_id,
                                                     later()))
            return plan
        plan.steps.append(Step("/bet/cash-out-orders/declined", {"cash_out_order_ids": [order]},
                               Move(-refund, stake), later()))
        plan.steps.append(settle_step(bet_type, stake, odds, sizes, [5] * legs, player_id,
                                      soon()))
        return plan
    first = settle_step(bet_type, stake, odds, sizes, _results(rng, legs), player_id, later())
    plan.steps.append(first)
    if lifecycle == "resettle":
        taken = first.move.available
        plan.steps.append(Step("/bet/unsettle", {
            "bet_player_id": player_id, "unsettle_amount": payouts.format_amount(taken)},
            Move(-taken, stake), later()))
        plan.steps.append(settle_step(bet_type, stake, odds, sizes, _results(rng, legs),
                                      player_id, soon()))
    return plan


def total_move(steps: list[Step]) -> Move:
    """The sum of the steps' movements."""
    return Move(sum((s.move.available for s in steps), Decimal(0)),
                sum((s.move.held for s in steps), Decimal(0)))



@dataclass(frozen=True)
class SessionHabits:
    """How the simulated players' sessions go (seconds of wall-clock time)."""

    #: Share of players who leave after a while: their session is closed.
    leaving_share: float = 0.35
    #: How long a leaving player stays after the first bet, at least and at most.
    stay_s: tuple[float, float] = (30.0, 150.0)
    #: Share of players whose session has a short lifetime and is never refreshed: it expires.
    lapsing_share: float = 0.1
    #: The lifetime of a lapsing player's session, at least and at most.
    short_ttl_s: tuple[int, int] = (20, 60)
    #: The lifetime of every other session, refreshed by the player's bets.
    ttl_s: int = 15 * 60


@dataclass(frozen=True)
class SessionPlan:
    """One player's session: its lifetime, and how it ends."""

    ttl_s: int
    #: Seconds after opening at which the player leaves (the session is closed); None: stays.
    leaves_after_s: float | None = None
    #: The lifetime is not refreshed by bets: the session expires (and the player is gone).
    lapses: bool = False


def plan_session(rng: random.Random, habits: SessionHabits = SessionHabits()) -> SessionPlan:
    """A random session: leaving, lapsing, or staying."""
    draw = rng.random()
    if draw < habits.leaving_share:
        return SessionPlan(habits.ttl_s, leaves_after_s=rng.uniform(*habits.stay_s))
    if draw < habits.leaving_share + habits.lapsing_share:
        return SessionPlan(rng.randint(*habits.short_ttl_s), lapses=True)
    return SessionPlan(habits.ttl_s)


def session_over(plan: SessionPlan, opened_s: float, now_s: float) -> str | None:
    """``"leaves"`` when the player leaves now, ``"lapsed"`` when the session has expired,
    else None (``opened_s``/``now_s`` on one clock)."""
    if plan.leaves_after_s is not None and now_s - opened_s >= plan.leaves_after_s:
        return "leaves"
    if plan.lapses and now_s - opened_s >= plan.ttl_s:
        return "lapsed"
    return None


def needs_refresh(plan: SessionPlan, refreshed_s: float, now_s: float) -> bool:
    """Whether a bet now refreshes the session: half its lifetime has gone since it was opened
    or last refreshed (a lapsing session never is)."""
    return not plan.lapses and now_s - refreshed_s >= plan.ttl_s / 2
