"""The integration battery (SPEC §6): its cases in order, planned with fresh ids.

Each case is a function of :mod:`battery.cases` written on a
:class:`~battery.script.Script`, which models the player's available balance by the money
model of SPEC §3, so every balance probe expects exactly what a correct platform shows.
``plan_battery()`` builds every case of :data:`CASES` with fresh bet and request ids, so runs
never collide on a platform. How many cases there are is ``len(CASES)``, nowhere written down.

A case marked ``needs_balance=False`` still means something on a platform whose balance probes
cannot work (one that keeps no balances): :func:`without_probes` keeps only its other steps.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import contract
from battery.cases import (
    cash_out_accepted,
    cash_out_refunded_manually,
    combo_cash_out_manual_refund,
    combo_partial_refund,
    combo_resettlement,
    held_funds_not_reusable,
    not_enough_balance,
    single_decline,
    single_half_loss,
    single_half_win,
    single_idempotency,
    single_loss,
    single_refund,
    single_resettlement,
    single_win,
    system_partial_loss,
    system_partial_refund,
    system_resettlement,
    unknown_session,
    unsettle_moves_hold,
)
from battery.script import Script, probe_body
from battery.steps import DEFAULT_PLAYER_ID, PROBE_BROKEN, Balance, CasePlan, Replay, Step

#: The least available balance the test player needs (the largest stake is 10.00, and the
#: not-enough-balance cases need something to refuse).
MIN_BALANCE = Decimal("20.00")


# --- the battery ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseSpec:
    """A case as SPEC §6 lists it, with the function that plans it."""

    number: int
    group: str
    name: str
    checks: str
    build: Callable[[Script], None]
    #: False when the case's verdict does not rest on balance probes (replays, refusals of an
    #: unknown session): it runs, without its probes, even when probes cannot work.
    needs_balance: bool = True


_TABLE = (
    ("single", "win", "place holds stake; settle type 1 credits stake × odds", single_win),
    ("single", "loss", "settle type 3 amount 0 credits nothing", single_loss),
    ("single", "half-win", "credits stake × (odds + 1) / 2", single_half_win),
    ("single", "half-loss", "credits stake / 2", single_half_loss),
    ("single", "refund", "settle type 2 returns the stake", single_refund),
    ("single", "decline", "decline releases the hold", single_decline),
    ("single", "idempotency", "place and settle each sent twice with the same request_id: "
     "identical answers, applied once", single_idempotency, False),
    ("single", "resettlement", "settle win → unsettle takes it back → settle loss",
     single_resettlement),
    ("combo", "resettlement", "express, three legs: settle loss → unsettle → settle win",
     combo_resettlement),
    ("combo", "partial refund", "one leg refunded counts ×1", combo_partial_refund),
    ("combo", "cash out → manual refund", "cash-out accepted, then declined, then settle refund",
     combo_cash_out_manual_refund),
    ("system", "resettlement", "system 2/3 settled, unsettled, settled differently",
     system_resettlement),
    ("system", "partial refund", "one leg refunded", system_partial_refund),
    ("system", "partial loss", "one leg lost; only winning combinations pay", system_partial_loss),
    ("cash out", "accepted", "credits refund_amount, hold gone; the settle that follows (type 3, "
     "0.00) is answered and moves nothing", cash_out_accepted),
    ("cash out", "refunded manually", "accepted, declined (reversed), then refund",
     cash_out_refunded_manually),
    ("held money", "held funds can't be reused", "stake = whole balance, then a second place gets "
     "not_enough_balance with balance 0", held_funds_not_reusable),
    ("held money", "unsettling moves the hold", "after unsettle the stake is held again and can't "
     "be spent; resettle releases it", unsettle_moves_hold),
    ("place errors", "not enough balance", "not_enough_balance with the right actual_balance; bet "
     "ends PLACE_ERROR", not_enough_balance),
    ("place errors", "unknown session", "a place whose Foreign-Params values name no session gets "
     "auth_session_unknown", unknown_session, False),
)

#: The cases of SPEC §6, in the order they run.
CASES: tuple[CaseSpec, ...] = tuple(CaseSpec(number, *row)
                                    for number, row in enumerate(_TABLE, start=1))


def plan_case(spec: CaseSpec, player_id: str = DEFAULT_PLAYER_ID) -> CasePlan:
    """One case planned with fresh ids."""
    script = Script(spec.number, player_id)
    spec.build(script)
    return CasePlan(spec.number, spec.group, spec.name, spec.checks, tuple(script.steps),
                    spec.needs_balance)


def plan_battery(player_id: str = DEFAULT_PLAYER_ID) -> list[CasePlan]:
    """Every case, in order, with fresh bet and request ids."""
    return [plan_case(spec, player_id) for spec in CASES]


def without_probes(plan: CasePlan) -> CasePlan:
    """``plan`` without its balance probes, renumbered (replays point at the new positions)."""
    kept = [step for step in plan.steps if not step.is_probe]
    moved = {step.position: index for index, step in enumerate(kept, start=1)}
    steps = tuple(dataclasses.replace(
        step, position=moved[step.position],
        expect=Replay(moved[step.expect.of_position]) if isinstance(step.expect, Replay)
        else step.expect) for step in kept)
    return dataclasses.replace(plan, steps=steps)


def balance_probe_step(player_id: str = DEFAULT_PLAYER_ID) -> Step:
    """The probe sent before case 1: is the token a session, is there money to test with, and do
    balance probes work at all?"""
    bet_id, body = probe_body(0, player_id)
    return Step(0, "preflight balance probe", contract.PLACE, bet_id, body, Balance(None),
                PROBE_BROKEN)
