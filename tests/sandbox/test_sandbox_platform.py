"""The sandbox platform's money model, called directly (no HTTP)."""
from decimal import Decimal

import pytest
from sandbox_testkit import (
    cash_out_accepted,
    cash_out_declined,
    decline,
    foreign_params,
    new_id,
    odds,
    place,
    settle,
    unsettle,
)

import contract
from contract import payouts
from contract.errors import ContractViolation
from contract.payouts import (
    HALF_LOSS,
    HALF_WIN,
    LOSS,
    REFUNDED,
    SETTLE_LOST,
    SETTLE_REFUND,
    SETTLE_WIN,
    WIN,
)
from sandbox.platform import Platform, PlayerExists
from sandbox.validation import INVALID_BODY_CODE

D = Decimal


@pytest.fixture
def platform():
    platform = Platform()
    platform.add_player("tok", "100.00")
    return platform


def send(platform, destination, body, token="tok"):
    return platform.handle(destination, body, foreign_params(token))


def code(answer):
    return contract.error_code_of(answer.body)


def placed(platform, stake="10.00", legs=None, **kwargs):
    bet_id = new_id("bet")
    answer = send(platform, "/bet/place", place(bet_id, stake, legs, **kwargs))
    assert answer.status == 204, answer
    return bet_id


# --- place ----------------------------------------------------------------------------------

def test_place_holds_the_stake(platform):
    placed(platform, "10.00")
    assert platform.balance("tok") == (D("90.00"), D("10.00"))


def test_place_of_the_whole_balance_then_another_gets_not_enough_balance_zero(platform):
    # Given a stake of the whole balance is held
    placed(platform, "100.00")
    # When a second bet is placed
    answer = send(platform, "/bet/place", place(new_id("bet"), "1.00"))
    # Then it is refused with balance 0
    assert answer.status == 400
    assert answer.body == contract.error_body("not_enough_balance", {"actual_balance": "0.00"})


def test_place_above_available_is_refused_with_actual_balance(platform):
    answer = send(platform, "/bet/place", place(new_id("bet"), "100.01"))
    assert (answer.status, code(answer)) == (400, "not_enough_balance")
    assert answer.body["error"]["data"]["actual_balance"] == "100.00"
    assert platform.balance("tok") == (D("100.00"), D("0"))


def test_place_with_an_unknown_token_is_auth_session_unknown(platform):
    answer = send(platform, "/bet/place", place(new_id("bet")), token="nobody")
    assert (answer.status, code(answer)) == (400, "auth_session_unknown")


def test_place_without_foreign_params_is_auth_session_unknown(platform):
    answer = platform.handle("/bet/place", place(new_id("bet")), None)
    assert code(answer) == "auth_session_unknown"


def test_place_for_an_expired_session_is_auth_credentials_expired(platform):
    platform.add_player("old", "10", expired=True)
    answer = send(platform, "/bet/place", place(new_id("bet"), "1.00"), token="old")
    assert code(answer) == "auth_credentials_expired"


def test_place_twice_for_one_bet_with_new_request_id_is_refused_and_holds_once(platform):
    body = place(new_id("bet"), "10.00")
    send(platform, "/bet/place", body)
    answer = send(platform, "/bet/place", {**body, "request_id": new_id("req")})
    assert (answer.status, code(answer)) == (400, "bet_already_exists")
    assert code(answer) not in contract.supported_codes("/bet/place")
    assert platform.balance("tok") == (D("90.00"), D("10.00"))


# --- idempotency ----------------------------------------------------------------------------

def test_a_repeated_request_id_replays_the_first_answer_and_applies_once(platform):
    body = place(new_id("bet"), "10.00")
    first = send(platform, "/bet/place", body)
    again = send(platform, "/bet/place", body)
    assert again == first
    assert platform.balance("tok") == (D("90.00"), D("10.00"))


def test_a_repeated_rejected_request_id_replays_the_rejection(platform):
    body = place(new_id("bet"), "500.00")
    first = send(platform, "/bet/place", body)
    again = send(platform, "/bet/place", body)
    assert again == first and code(again) == "not_enough_balance"


def test_a_repeated_settle_credits_once(platform):
    bet_id = placed(platform, "10.00")
    body = settle(bet_id, "25.00", SETTLE_WIN)
    assert send(platform, "/bet/settle", body).status == 204
    assert send(platform, "/bet/settle", body).status == 204
    assert platform.balance("tok") == (D("115.00"), D("0"))


# --- decline, settle, unsettle --------------------------------------------------------------

def test_decline_releases_the_hold(platform):
    bet_id = placed(platform, "10.00")
    assert send(platform, "/bet/decline", decline(bet_id)).status == 204
    assert platform.balance("tok") == (D("100.00"), D("0"))


def test_decline_with_nothing_held_is_bet_not_found(platform):
    answer = send(platform, "/bet/decline", decline("never-placed"))
    assert (answer.status, code(answer)) == (400, "bet_not_found")
    assert "bet_not_found" in contract.supported_codes("/bet/decline")


def test_decline_after_settle_is_bet_not_found(platform):
    bet_id = placed(platform)
    send(platform, "/bet/settle", settle(bet_id, "0", SETTLE_LOST))
    assert code(send(platform, "/bet/decline", decline(bet_id))) == "bet_not_found"


def test_accept_moves_nothing(platform):
    body = place(new_id("bet"), "10.00")
    send(platform, "/bet/place", body)
    assert send(platform, "/bet/accept", {**body, "request_id": new_id("req")}).status == 204
    assert platform.balance("tok") == (D("90.00"), D("10.00"))


def test_accept_of_an_unknown_bet_is_an_unsupported_400(platform):
    answer = send(platform, "/bet/accept", place("ghost"))
    assert answer.status == 400 and code(answer) not in contract.supported_codes("/bet/accept")


@pytest.mark.parametrize("settle_type, amount, available", [
    (SETTLE_WIN, "25.00", "115.00"),
    (SETTLE_LOST, "0.00", "90.00"),
    (SETTLE_REFUND, "10.00", "100.00"),
    (SETTLE_LOST, "5.00", "95.00"),   # whatever settle_type says, settle_amount is credited
])
def test_settle_releases_the_hold_and_credits_settle_amount(platform, settle_type, amount,
                                                            available):
    bet_id = placed(platform, "10.00")
    assert send(platform, "/bet/settle", settle(bet_id, amount, settle_type)).status == 204
    assert platform.balance("tok") == (D(available), D("0"))


def test_settle_of_an_unknown_bet_is_an_unsupported_400(platform):
    answer = send(platform, "/bet/settle", settle("ghost", "1.00", SETTLE_WIN))
    assert (answer.status, code(answer)) == (400, "bet_not_found")
    assert code(answer) not in contract.supported_codes("/bet/settle")


def test_settle_twice_without_unsettle_is_refused(platform):
    bet_id = placed(platform)
    send(platform, "/bet/settle", settle(bet_id, "25.00", SETTLE_WIN))
    answer = send(platform, "/bet/settle", settle(bet_id, "25.00", SETTLE_WIN))
    assert (answer.status, code(answer)) == (400, "bet_already_settled")
    assert platform.balance("tok") == (D("115.00"), D("0"))


def test_resettlement_win_unsettle_loss(platform):
    # Given a single of 10 @ 2.5 settled as a win
    bet_id = placed(platform, "10.00")
    send(platform, "/bet/settle", settle(bet_id, "25.00", SETTLE_WIN))
    # When it is unsettled, the winnings are taken back and the stake is held again
    assert send(platform, "/bet/unsettle", unsettle(bet_id, "25.00")).status == 204
    assert platform.balance("tok") == (D("90.00"), D("10.00"))
    # Then a re-settle as lost releases the hold and credits nothing
    assert send(platform, "/bet/settle", settle(bet_id, "0.00", SETTLE_LOST)).status == 204
    assert platform.balance("tok") == (D("90.00"), D("0"))


def test_unsettle_may_take_available_below_zero(platform):
    bet_id = placed(platform, "100.00")
    send(platform, "/bet/settle", settle(bet_id, "250.00", SETTLE_WIN))
    send(platform, "/bet/place", place(new_id("bet"), "250.00"))
    send(platform, "/bet/unsettle", unsettle(bet_id, "250.00"))
    assert platform.balance("tok") == (D("-250.00"), D("350.00"))


def test_unsettle_of_an_open_bet_is_refused(platform):
    bet_id = placed(platform)
    answer = send(platform, "/bet/unsettle", unsettle(bet_id, "1.00"))
    assert (answer.status, code(answer)) == (400, "bet_not_settled")


# --- bet types: the platform credits what the payout arithmetic says --------------------------

@pytest.mark.parametrize("legs, sizes, expected", [
    ([("2.50", WIN)], None, "107.50"),                                        # single win
    ([("3.0", HALF_WIN)], None, "105.00"),                                    # single half-win
    ([("3.0", HALF_LOSS)], None, "97.50"),                                     # single half-loss
    ([("2.5", WIN), ("2.5", WIN), ("2.5", WIN)], None, "173.125"),            # express
    ([("2.0", WIN), ("3.0", REFUNDED)], None, "105.00"),                      # partial refund
    ([("2", WIN), ("3", WIN), ("4", LOSS)], [2], "109.00"),                  # system 2/3
    ([("2", WIN), ("2", WIN), ("2", REFUNDED)], [2], "115.00"),              # system refund
])
def test_settle_credits_each_bet_type(platform, legs, sizes, expected):
    # Given a bet of 5 (9 for systems) placed and resulted
    stake = "9.00" if sizes else "5.00"
    bet_id = placed(platform, stake, odds(*(ratio for ratio, _ in legs)), sizes=sizes)
    bet = platform.bet(bet_id)
    result = payouts.settlement(bet["bet_type"], stake,
                                [payouts.Leg(D(r), s) for r, s in legs], sizes or [])
    # When it is settled with the computed settlement
    body = {**settle(bet_id, "0", SETTLE_WIN, odds(*legs)), **result.as_fields()}
    assert send(platform, "/bet/settle", body).status == 204
    # Then the player holds nothing and has the payout
    assert platform.balance("tok") == (D(expected), D("0"))


def test_place_of_a_single_with_two_legs_is_a_bad_request(platform):
    answer = send(platform, "/bet/place",
                  place(new_id("bet"), legs=odds("2", "2"), bet_type=payouts.SINGLE))
    assert code(answer) == INVALID_BODY_CODE
    assert answer.body["error"]["data"]["field"] == "bet_odds"


def test_place_of_a_system_without_sizes_is_a_bad_request(platform):
    answer = send(platform, "/bet/place",
                  place(new_id("bet"), legs=odds("2", "2", "2"), bet_type=payouts.SYSTEM))
    assert answer.body["error"]["data"]["field"] == "bet_system_sizes"


# --- cash-out -------------------------------------------------------------------------------

def test_cash_out_accepted_releases_the_hold_and_credits_refund_amount(platform):
    bet_id = placed(platform, "10.00")
    assert send(platform, "/bet/cash-out-orders/accepted",
                cash_out_accepted(bet_id, "co-1", "8.00")).status == 204
    assert platform.balance("tok") == (D("98.00"), D("0"))


def test_cash_out_declined_reverses_then_a_refund_settles(platform):
    # Given a cash-out accepted and then declined
    bet_id = placed(platform, "10.00")
    send(platform, "/bet/cash-out-orders/accepted", cash_out_accepted(bet_id, "co-2", "8.00"))
    assert send(platform, "/bet/cash-out-orders/declined",
                cash_out_declined(bet_id, ["co-2"])).status == 204
    # Then the stake is held again and the cash-out credit is gone
    assert platform.balance("tok") == (D("90.00"), D("10.00"))
    # When the bet is refunded manually
    send(platform, "/bet/settle", settle(bet_id, "10.00", SETTLE_REFUND))
    # Then the player is back where they started
    assert platform.balance("tok") == (D("100.00"), D("0"))


def test_cash_out_declined_for_an_unknown_order_is_refused(platform):
    bet_id = placed(platform)
    answer = send(platform, "/bet/cash-out-orders/declined", cash_out_declined(bet_id, ["nope"]))
    assert (answer.status, code(answer)) == (400, "cash_out_not_found")


# --- bodies that break the contract ---------------------------------------------------------

@pytest.mark.parametrize("mutate, field", [
    (lambda b: b.pop("bet_stake"), "bet_stake"),
    (lambda b: b.update(bet_stake=10), "bet_stake"),
    (lambda b: b.update(bet_stake="ten"), "bet_stake"),
    (lambda b: b.update(bet_type="single"), "bet_type"),
    (lambda b: b.update(bet_player_id=" "), "bet_player_id"),
    (lambda b: b.update(bet_odds={"odd": 1}), "bet_odds"),
    (lambda b: b.pop("request_id"), "request_id"),
    (lambda b: b.update(bet_stake="-1"), "bet_stake"),
    (lambda b: b.update(bet_stake="0"), "bet_stake"),
])
def test_a_body_that_breaks_the_contract_is_a_bad_request_naming_the_field(platform, mutate,
                                                                           field):
    body = place(new_id("bet"))
    mutate(body)
    answer = send(platform, "/bet/place", body)
    assert (answer.status, code(answer)) == (400, INVALID_BODY_CODE)
    assert answer.body["error"]["data"]["field"] == field
    assert platform.balance("tok") == (D("100.00"), D("0"))


@pytest.mark.parametrize("mutate", [
    lambda b: b.update(bet_type=9),
    lambda b: b.update(bet_created_at="yesterday"),
    lambda b: b["bet_odds"][0].pop("odd_ratio"),
    lambda b: b.pop("bet_player_id"),
    lambda b: b.update(surprise={"new": "member"}),
])
def test_what_money_does_not_need_is_not_required(platform, mutate):
    # A tolerant platform: enum values, times and legs are not its business when placing
    body = place(new_id("bet"))
    mutate(body)
    assert send(platform, "/bet/place", body).status == 204
    assert platform.balance("tok") == (D("90.00"), D("10.00"))


def test_the_bad_request_code_is_supported_nowhere():
    assert all(INVALID_BODY_CODE not in d.supported_codes for d in contract.DESTINATIONS.values())


def test_a_body_that_is_not_json_is_a_bad_request(platform):
    answer = platform.handle("/bet/place", b"{not json", foreign_params("tok"))
    assert (answer.status, code(answer)) == (400, INVALID_BODY_CODE)


def test_foreign_params_that_are_not_json_are_a_bad_request(platform):
    answer = platform.handle("/bet/place", place(new_id("bet")), "token=tok")
    assert (answer.status, code(answer)) == (400, INVALID_BODY_CODE)
    assert answer.body["error"]["data"]["field"] == "Foreign-Params"


# --- players --------------------------------------------------------------------------------

def test_player_id_defaults_to_the_token_and_can_be_given(platform):
    platform.add_player("tok-2", "5", player_id="p-2")
    assert platform.player("tok")["player_id"] == "tok"
    assert platform.player("tok-2") == {"player_id": "p-2", "token": "tok-2",
                                        "available": "5.00", "held": "0.00", "expired": False}


def test_adding_a_taken_token_is_refused(platform):
    with pytest.raises(PlayerExists):
        platform.add_player("tok", "5")


@pytest.mark.parametrize("balance", ["-1", "abc", None])
def test_adding_a_player_with_a_bad_balance_names_it(platform, balance):
    with pytest.raises(ContractViolation) as caught:
        platform.add_player("new", balance)
    assert caught.value.field == "balance"
