"""The battery's plans as data: the cases of SPEC §6, contract-valid bodies shaped like the real
sender's, and expected balances worked out by hand from the money model (not by the code under
test)."""
from decimal import Decimal

import pytest

import contract
from battery import suite as battery
from battery.steps import START, Balance, Refused, Rel, Replay, resolve_payload
from delivery.validation import parse_callback

D = Decimal
SPEC_CASES = [
    ("single", "win"), ("single", "loss"), ("single", "half-win"), ("single", "half-loss"),
    ("single", "refund"), ("single", "decline"), ("single", "idempotency"),
    ("single", "resettlement"), ("combo", "resettlement"), ("combo", "partial refund"),
    ("combo", "cash out → manual refund"), ("system", "resettlement"),
    ("system", "partial refund"), ("system", "partial loss"), ("cash out", "accepted"),
    ("cash out", "refunded manually"), ("held money", "held funds can't be reused"),
    ("held money", "unsettling moves the hold"), ("place errors", "not enough balance"),
    ("place errors", "unknown session"),
]


def _plan(number):
    return battery.plan_case(battery.CASES[number - 1])


def _probes(plan):
    return [s.expect.available for s in plan.steps if isinstance(s.expect, Balance)]


def _settles(plan):
    return [(s.payload["settle_type"], s.payload["settle_amount"]) for s in plan.steps
            if s.destination == "/bet/settle"]


def test_the_battery_is_the_cases_of_the_spec_in_order():
    plans = battery.plan_battery()
    assert [(p.group, p.name) for p in plans] == SPEC_CASES
    assert [p.number for p in plans] == list(range(1, len(SPEC_CASES) + 1))
    # Only the replay and the unknown session mean something without balance probes
    assert [p.number for p in plans if not p.needs_balance] == [7, 20]


def test_every_body_sent_satisfies_the_contract():
    # Given every step of every case, with the start balance worked in
    for plan in battery.plan_battery() + [battery.plan_case(battery.CASES[0])]:
        for step in plan.steps:
            body = resolve_payload(step.payload, D("100.00"))
            # Then the producer-side validation accepts it unchanged
            parsed = parse_callback({"bet_id": step.bet_id, "destination": step.destination,
                                     "payload": body})
            assert parsed.payload == body


def test_two_plans_share_no_bet_or_request_id():
    first, second = battery.plan_battery(), battery.plan_battery()
    def ids(plans):
        return ({s.bet_id for p in plans for s in p.steps},
                {s.request_id for p in plans for s in p.steps})
    (bets_a, requests_a), (bets_b, requests_b) = ids(first), ids(second)
    assert not bets_a & bets_b and not requests_a & requests_b


@pytest.mark.parametrize("number, settles, final", [
    (1, [(1, "25.00")], Rel(1, D("15.00"))),                  # 10 × 2.50
    (2, [(3, "0.00")], Rel(1, D("-10.00"))),
    (3, [(1, "15.00")], Rel(1, D("5.00"))),                   # 10 × (2 + 1) / 2
    (4, [(3, "5.00")], Rel(1, D("-5.00"))),                   # 10 / 2: lost, with money
    (5, [(2, "10.00")], START),
    (8, [(1, "20.00"), (3, "0.00")], Rel(1, D("-10.00"))),
    (9, [(3, "0.00"), (1, "54.00")], Rel(1, D("44.00"))),     # 10 × 1.5 × 2 × 1.8
    (10, [(1, "60.00")], Rel(1, D("50.00"))),                 # 10 × 2 × 1 × 3
    (12, [(1, "48.00"), (1, "12.00")], Rel(1, D("3.00"))),    # 3×4 + 3×6 + 3×6; then 3×4
    (13, [(1, "33.00")], Rel(1, D("24.00"))),                 # 3×2 + 3×6 + 3×3
    (14, [(1, "15.00")], Rel(1, D("6.00"))),                  # 3 × 2 × 2.5
])
def test_settlements_and_final_balance_follow_the_money_model(number, settles, final):
    plan = _plan(number)
    assert _settles(plan) == settles
    assert _probes(plan)[-1] == final


def test_the_first_probe_reads_the_start_and_the_others_check_the_model():
    # Given the decline case
    probes = _probes(_plan(6))
    # Then it reads the start, sees the stake held, and sees it released
    assert probes == [None, Rel(1, D("-10.00")), START]


def test_cash_out_cases_credit_and_take_back_the_refund():
    assert _probes(_plan(11)) == [None, Rel(1, D("-2.00")), Rel(1, D("-10.00")), START]
    # The settle of type 3 and 0.00 that follows an accepted cash-out moves nothing
    assert _settles(_plan(15)) == [(3, "0.00")]
    assert _probes(_plan(15)) == [None, Rel(1, D("2.00")), Rel(1, D("2.00"))]
    assert _probes(_plan(16)) == [None, Rel(1, D("-3.00")), Rel(1, D("-10.00")), START]


def test_idempotency_repeats_place_and_settle_with_the_same_request_id():
    steps = _plan(7).steps
    replays = [s for s in steps if isinstance(s.expect, Replay)]
    assert [s.destination for s in replays] == ["/bet/place", "/bet/settle"]
    for again in replays:
        first = steps[again.expect.of_position - 1]
        assert first.request_id == again.request_id and first.payload == again.payload
    # And the probes expect each to be applied once
    assert _probes(_plan(7)) == [None, Rel(1, D("-10.00")), Rel(1, D("10.00"))]


def test_held_money_cases_stake_relative_to_the_start_balance():
    whole = _plan(17).steps
    assert resolve_payload(whole[1].payload, D("73.50"))["bet_stake"] == "73.50"
    assert whole[3].expect == Refused("not_enough_balance", Rel())
    unsettle = _plan(18).steps
    refused = next(s for s in unsettle if isinstance(s.expect, Refused))
    assert resolve_payload(refused.payload, D("80"))["bet_stake"] == "80.00"
    assert refused.expect.actual_balance.resolve(D("80")) == D("70.00")


def test_not_enough_balance_asks_one_more_than_the_balance_and_unknown_session_a_new_token():
    above = next(s for s in _plan(19).steps if isinstance(s.expect, Refused))
    assert resolve_payload(above.payload, D("42.10"))["bet_stake"] == "43.10"
    assert above.expect == Refused("not_enough_balance", START)
    [unknown] = _plan(20).steps
    assert unknown.expect == Refused("auth_session_unknown") and unknown.unknown_session


def test_probes_are_places_no_player_can_cover():
    step = battery.balance_probe_step()
    assert step.destination == contract.PLACE
    assert D(step.payload["bet_stake"]) >= D("1000000000000")


def test_relative_amounts_read_as_people_write_them():
    assert (START - D("10")).describe() == "start − 10.00"
    assert (START + D("1")).describe() == "start + 1.00"
    assert Rel(0, D("25")).describe() == "25.00"
    with pytest.raises(ValueError, match="before the case's first balance probe"):
        START.resolve(None)


def test_a_case_that_sends_before_reading_the_start_is_refused():
    script = battery.Script(99)
    with pytest.raises(ValueError, match="probe the starting balance"):
        script.send(script.bet("2.00").place())


# --- what goes out is shaped like the real sender's traffic -----------------------------------

def _sent(destination):
    return [s.payload for p in battery.plan_battery() for s in p.steps
            if s.destination == destination]


def test_system_sizes_are_one_for_singles_and_the_leg_count_for_an_express():
    places = {(p["bet_type"], len(p["bet_odds"])): p["bet_system_sizes"]
              for p in _sent(contract.PLACE)}
    assert places[(1, 1)] == [1]
    assert places[(2, 3)] == [3] and places[(2, 2)] == [2]
    assert places[(3, 3)] == [2]  # a system 2/3: the chosen size


def test_odds_carry_updated_at_and_meta_and_empty_competitors_are_omitted():
    for body in _sent(contract.PLACE) + _sent("/bet/settle"):
        assert "competitors" not in body and "restrictions" not in body
        for odd in body["bet_odds"]:
            assert odd["odd_updated_at"].endswith("Z") and isinstance(odd["meta"], dict)


def test_cash_out_amount_is_the_stake_and_refund_amount_what_is_paid():
    plan = _plan(15)
    placed = next(s.payload for s in plan.steps if s.destination == contract.PLACE
                  and not s.is_probe)
    [cash_out] = [s.payload for s in plan.steps
                  if s.destination == "/bet/cash-out-orders/accepted"]
    assert (cash_out["amount"], cash_out["refund_amount"]) == (placed["bet_stake"], "12.00")


def test_declines_carry_real_restriction_types_with_object_contexts():
    from contract.restrictions import RESTRICTION_TYPES

    for body in _sent(contract.DECLINE):
        for item in body["restrictions"]:
            assert item["type"] in RESTRICTION_TYPES and isinstance(item["context"], dict)


def test_every_settle_type_follows_the_payout_against_the_stake():
    from contract.payouts import settle_type

    for plan in battery.plan_battery():
        stakes = {s.bet_id: s.payload["bet_stake"] for s in plan.steps
                  if s.destination == contract.PLACE}
        for step in plan.steps:
            if step.destination == "/bet/settle":
                body = resolve_payload(step.payload, D("100.00"))
                stake = resolve_payload(stakes[step.bet_id], D("100.00"))
                assert body["settle_type"] == settle_type(D(body["settle_amount"]), D(stake))


def test_without_probes_keeps_the_other_steps_and_points_replays_at_them():
    plan = battery.without_probes(_plan(7))
    assert not [s for s in plan.steps if s.is_probe]
    assert [s.position for s in plan.steps] == list(range(1, len(plan.steps) + 1))
    for again in (s for s in plan.steps if isinstance(s.expect, Replay)):
        assert plan.steps[again.expect.of_position - 1].request_id == again.request_id
