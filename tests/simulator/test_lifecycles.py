import random
from decimal import Decimal

import pytest

from delivery.validation import parse_callback
from simulator.lifecycles import LIFECYCLES, plan_bet, total_move


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


def test_sessions_stay_leave_or_lapse_in_the_shares_asked():
    from simulator.lifecycles import SessionHabits, plan_session

    habits = SessionHabits(leaving_share=0.3, stay_s=(10, 20), lapsing_share=0.2,
                           short_ttl_s=(5, 8), ttl_s=600)
    rng = random.Random(5)
    plans = [plan_session(rng, habits) for _ in range(2000)]
    leaving = [p for p in plans if p.leaves_after_s is not None]
    lapsing = [p for p in plans if p.lapses]
    assert 0.26 < len(leaving) / 2000 < 0.34 and 0.17 < len(lapsing) / 2000 < 0.23
    assert all(10 <= p.leaves_after_s <= 20 and p.ttl_s == 600 for p in leaving)
    assert all(5 <= p.ttl_s <= 8 and p.leaves_after_s is None for p in lapsing)
    assert not [p for p in leaving if p.lapses]


def test_a_session_ends_when_the_player_leaves_or_its_lifetime_lapses():
    from simulator.lifecycles import SessionPlan, needs_refresh, session_over

    leaving, lapsing, staying = (SessionPlan(600, leaves_after_s=30), SessionPlan(20, lapses=True),
                                 SessionPlan(600))
    assert session_over(leaving, 100, 129) is None and session_over(leaving, 100, 130) == "leaves"
    assert session_over(lapsing, 100, 119) is None and session_over(lapsing, 100, 120) == "lapsed"
    assert session_over(staying, 100, 100_000) is None
    # a bet refreshes a session once half its lifetime has gone; a lapsing one never
    assert not needs_refresh(staying, 100, 399) and needs_refresh(staying, 100, 400)
    assert not needs_refresh(lapsing, 100, 10_000)
