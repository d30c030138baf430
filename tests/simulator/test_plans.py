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


# --- shaped like the sportsbook's real traffic ------------------------------------------------

def _bodies(destination):
    return [s.payload for p in _plans() for s in p.steps if s.destination == destination]


def test_system_sizes_are_one_for_singles_and_the_leg_count_for_an_express():
    for body in _bodies("/bet/place"):
        legs = len(body["bet_odds"])
        expected = {1: [1], 2: [legs], 3: [2]}[body["bet_type"]]
        assert body["bet_system_sizes"] == expected


def test_odds_carry_updated_at_and_meta_and_competitors_are_id_type_objects():
    for body in _bodies("/bet/place") + _bodies("/bet/settle"):
        for odd in body["bet_odds"]:
            assert odd["odd_updated_at"].endswith("Z") and isinstance(odd["meta"], dict)
    for body in _bodies("/bet/place"):
        assert all(set(c) == {"id", "type"} for c in body["competitors"])
    assert not [b for b in _bodies("/bet/settle") if "restrictions" in b]


def test_every_settle_type_follows_the_payout_against_the_stake():
    from contract.payouts import settle_type

    for plan in _plans():
        for step in plan.steps:
            if step.destination == "/bet/settle":
                amount = Decimal(step.payload["settle_amount"])
                assert step.payload["settle_type"] == settle_type(amount, plan.stake)


def test_a_cash_out_pays_refund_amount_for_the_stake_then_a_settle_of_nothing():
    plans = [p for p in _plans() if p.lifecycle == "cash_out"]
    assert plans
    for plan in plans:
        assert [s.destination for s in plan.steps] == [
            "/bet/place", "/bet/accept", "/bet/cash-out-orders/accepted", "/bet/settle"]
        cash_out, settle = plan.steps[2], plan.steps[3]
        assert Decimal(cash_out.payload["amount"]) == plan.stake
        refund = Decimal(cash_out.payload["refund_amount"])
        assert (settle.payload["settle_type"], settle.payload["settle_amount"]) == (3, "0.00")
        assert settle.move.available == settle.move.held == 0
        # The player ends with the refund for the stake, nothing held
        assert total_move(plan.steps).available == refund - plan.stake
        assert total_move(plan.steps).held == 0
