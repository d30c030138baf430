import random
from decimal import Decimal

import pytest

from delivery.validation import parse_callback
from simulator.plans import LIFECYCLES, plan_bet, total_move


def _plans(n=400):
    rng = random.Random(3)
    return [plan_bet(rng, f"bet-{i}", "player-1", "2026-11-23T12:00:00Z") for i in range(n)]


def test_every_planned_callback_satisfies_the_contract():
    for plan in _plans():
        for step in plan.steps:
            parse_callback({"bet_id": plan.bet_id, "destination": step.destination,
                            "payload": step.payload})


def test_every_lifecycle_starts_with_place_and_is_chosen():
    plans = _plans()
    assert {p.steps[0].destination for p in plans} == {"/bet/place"}
    assert {p.lifecycle for p in plans} == set(LIFECYCLES)


def test_no_money_stays_held_at_the_end_of_a_lifecycle():
    for plan in _plans():
        assert total_move(plan.steps).held == 0, plan.lifecycle


@pytest.mark.parametrize("lifecycle, expected", [
    ("decline", lambda p: Decimal(0)),
    ("decline_after_accept", lambda p: Decimal(0)),
    ("cash_out_annulled", lambda p: Decimal(0)),  # refunded manually: the stake comes back
])
def test_lifecycles_that_return_the_stake(lifecycle, expected):
    plans = [p for p in _plans() if p.lifecycle == lifecycle]
    assert plans
    for plan in plans:
        assert total_move(plan.steps).available == expected(plan)


def test_resettle_pays_only_the_last_settlement():
    for plan in (p for p in _plans() if p.lifecycle == "resettle"):
        destinations = [s.destination for s in plan.steps]
        assert destinations == ["/bet/place", "/bet/accept", "/bet/settle", "/bet/unsettle",
                                "/bet/settle"]
        last = Decimal(plan.steps[-1].payload["settle_amount"])
        assert total_move(plan.steps).available == last - plan.stake
