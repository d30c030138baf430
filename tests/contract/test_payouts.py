"""Payout arithmetic, with the worked examples of the contract."""
from decimal import Decimal

import pytest

from contract import payouts
from contract.errors import ContractViolation
from contract.payouts import (
    CANCELLED,
    EXPRESS,
    HALF_LOSS,
    HALF_WIN,
    LOSS,
    NOT_RESULTED,
    REFUNDED,
    REFUNDED_MANUALLY,
    SETTLE_LOST,
    SETTLE_REFUND,
    SETTLE_WIN,
    SINGLE,
    SYSTEM,
    WIN,
    Leg,
)

D = Decimal


def legs(*pairs):
    return [Leg(D(odds), status) for odds, status in pairs]


def test_single_win_pays_stake_times_odds():
    # Given a single of 5 at 2.5 that won
    # When it is paid
    amount = payouts.payout(SINGLE, "5", legs(("2.5", WIN)))
    # Then it pays 12.5
    assert amount == D("12.5")
    assert payouts.format_amount(amount) == "12.50"


def test_express_multiplies_the_leg_odds():
    # Given an express of 5 on three winning legs at 2.5
    amount = payouts.payout(EXPRESS, D("5"), legs(("2.5", WIN), ("2.5", WIN), ("2.5", WIN)))
    # Then it pays 5 × 2.5³
    assert amount == D("78.125")
    assert payouts.format_amount(amount) == "78.125"


@pytest.mark.parametrize("status", [REFUNDED, CANCELLED, REFUNDED_MANUALLY])
def test_a_refunded_leg_counts_one(status):
    # Given an express of 10 with one leg refunded/cancelled/refunded manually
    amount = payouts.payout(EXPRESS, "10", legs(("2.0", WIN), ("3.0", status)))
    # Then only the other leg's odds count
    assert amount == D("20")


def test_half_win_leg_pays_half_at_odds_half_at_stake():
    # Given a single of 10 at 3.0 resulted half-win
    amount = payouts.payout(SINGLE, "10", legs(("3.0", HALF_WIN)))
    # Then it pays 10 × (3 + 1) / 2
    assert amount == D("20")


def test_half_loss_leg_returns_half_the_stake():
    # Given an express of 10: a win at 2.0 and a half-loss
    amount = payouts.payout(EXPRESS, "10", legs(("2.0", WIN), ("1.9", HALF_LOSS)))
    # Then the half-loss leg counts 0.5
    assert amount == D("10")


def test_a_lost_leg_loses_the_express():
    amount = payouts.payout(EXPRESS, "10", legs(("2.0", WIN), ("1.9", LOSS)))
    assert amount == 0


def test_express_rounds_to_three_decimals_half_up():
    # Given 1 × 1.2345 (a result with four decimals ending in 5)
    amount = payouts.payout(EXPRESS, "1", legs(("1.2345", WIN)))
    # Then it is rounded half up to three decimals
    assert amount == D("1.235")


def test_system_two_of_three_with_one_leg_lost_pays_only_the_winning_combination():
    # Given a system 2/3 of 9 at 2, 3, 4 where the third leg lost
    amount = payouts.payout(SYSTEM, "9", legs(("2", WIN), ("3", WIN), ("4", LOSS)), [2])
    # Then only the pair (1, 2) pays: 9 / 3 × 2 × 3
    assert amount == D("18")


def test_system_partial_refund():
    # Given a system 2/3 of 9 at 2, 2, 2 where the third leg was refunded
    amount = payouts.payout(SYSTEM, "9", legs(("2", WIN), ("2", WIN), ("2", REFUNDED)), [2])
    # Then (1,2) pays 3×4, (1,3) and (2,3) pay 3×2 each
    assert amount == D("24")


def test_system_rounds_the_sum_once():
    # Given 10 on 2/3 at 2, 2, 2, all winning (each pair gets 3.333…)
    amount = payouts.payout(SYSTEM, "10", legs(("2", WIN), ("2", WIN), ("2", WIN)), [2])
    # Then the sum is exactly 40, not 39.999
    assert amount == D("40")


def test_system_with_several_sizes_splits_across_all_combinations():
    # Given 2/3 + 3/3 (four combinations) of 8 at 2, 2, 2, all winning
    amount = payouts.payout(SYSTEM, "8", legs(("2", WIN), ("2", WIN), ("2", WIN)), [2, 3])
    # Then three pairs pay 2×4 and the treble pays 2×8
    assert amount == D("40")


def test_not_resulted_leg_is_an_error_naming_the_leg():
    with pytest.raises(ContractViolation) as caught:
        payouts.payout(EXPRESS, "10", legs(("2", WIN), ("2", NOT_RESULTED)))
    assert caught.value.field == "bet_odds[1].odd_status"
    assert "not resulted" in str(caught.value)


def test_not_resulted_leg_is_an_error_in_a_system_even_when_unused():
    with pytest.raises(ContractViolation):
        payouts.payout(SYSTEM, "9", legs(("2", LOSS), ("2", LOSS), ("2", NOT_RESULTED)), [3])


@pytest.mark.parametrize("sizes", [[], [4], [0]])
def test_system_sizes_must_fit_the_legs(sizes):
    with pytest.raises(ContractViolation) as caught:
        payouts.payout(SYSTEM, "9", legs(("2", WIN), ("2", WIN), ("2", WIN)), sizes)
    assert caught.value.field == "bet_system_sizes"


def test_single_needs_exactly_one_leg():
    with pytest.raises(ContractViolation):
        payouts.payout(SINGLE, "9", legs(("2", WIN), ("2", WIN)))


def test_settlement_win():
    result = payouts.settlement(SINGLE, "5", legs(("2.5", WIN)))
    assert result.settle_type == SETTLE_WIN
    assert result.as_fields() == {"settle_type": SETTLE_WIN, "settle_amount": "12.50"}


def test_settlement_all_legs_refunded_is_a_refund_of_the_stake():
    result = payouts.settlement(EXPRESS, "7.5", legs(("2", REFUNDED), ("3", CANCELLED)))
    assert (result.settle_type, result.settle_amount) == (SETTLE_REFUND, D("7.5"))


def test_settlement_paying_nothing_is_lost():
    result = payouts.settlement(EXPRESS, "7.5", legs(("2", WIN), ("3", LOSS)))
    assert result.as_fields() == {"settle_type": SETTLE_LOST, "settle_amount": "0.00"}


def test_settlement_partial_refund_is_a_win():
    result = payouts.settlement(EXPRESS, "10", legs(("2", WIN), ("3", REFUNDED)))
    assert (result.settle_type, result.settle_amount) == (SETTLE_WIN, D("20"))


def test_legs_from_contract_odds():
    odds = [{"odd_id": "o1", "odd_ratio": "2.50", "odd_status": WIN, "match_id": "m",
             "match_status": 0, "market_id": "k"}]
    assert payouts.legs_from_odds(odds) == [Leg(D("2.50"), WIN)]


def test_legs_from_contract_odds_names_a_bad_ratio():
    with pytest.raises(ContractViolation) as caught:
        payouts.legs_from_odds([{"odd_ratio": "abc", "odd_status": WIN}])
    assert caught.value.field == "bet_odds[0].odd_ratio"


@pytest.mark.parametrize("amount, text", [
    (D("12.5"), "12.50"), (D("78.125"), "78.125"), (D("12.500"), "12.50"), (D("0"), "0.00"),
    (D("-3"), "-3.00"), (D("1E+2"), "100.00"), ("7", "7.00"), (D("1.23456"), "1.23456"),
])
def test_format_amount(amount, text):
    assert payouts.format_amount(amount) == text


@pytest.mark.parametrize("value", ["", "abc", "NaN", "Infinity", None, True, 1.5, [1]])
def test_to_decimal_rejects_what_is_not_a_decimal(value):
    with pytest.raises(ContractViolation) as caught:
        payouts.to_decimal(value, "bet_stake")
    assert caught.value.field == "bet_stake"
