"""The journal of balance movements (called directly, no HTTP) and its ledger CSV form."""
import csv
import io
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

from contract.errors import ConfigurationError
from contract.payouts import HALF_WIN, SETTLE_LOST, SETTLE_WIN
from sandbox import bugs, ledger_csv
from sandbox.ledger import Movement
from sandbox.platform import Platform

D = Decimal
START = D("100.00")
#: 2026-11-23T12:00:00Z, the platform clock of these tests.
NOON = 1795435200.0


def platform_with(*bug_names):
    platform = Platform(bugs=frozenset(bug_names), clock=lambda: NOON)
    platform.add_player("tok", START, player_id="p-1")
    return platform


@pytest.fixture
def platform():
    return platform_with()


def send(platform, destination, body, token="tok"):
    answer = platform.handle(destination, body, foreign_params(token))
    return answer.status


def placed(platform, stake="10.00", token="tok"):
    bet_id = new_id("bet")
    assert send(platform, "/bet/place", place(bet_id, stake), token) == 204
    return bet_id


def moves(platform, player_id=None):
    """``(destination, amount)`` of each movement, oldest first."""
    return [(m["destination"], D(m["amount"])) for m in platform.movements(player_id)]


def assert_journal_sums_to_the_balance_change(platform, token="tok", player_id="p-1"):
    available, _ = platform.balance(token)
    assert sum(amount for _, amount in moves(platform, player_id)) == available - START


# --- one movement per callback that moves available -----------------------------------------

def test_place_accept_settle_journals_the_stake_and_the_credit(platform):
    # Given a bet placed, accepted and won
    bet_id = placed(platform, "10.00")
    assert send(platform, "/bet/accept", place(bet_id, "10.00")) == 204
    assert send(platform, "/bet/settle", settle(bet_id, "25.00", SETTLE_WIN)) == 204
    # Then the place and the settle are journaled, the accept is not
    assert moves(platform) == [("/bet/place", D("-10.00")), ("/bet/settle", D("25.00"))]
    assert_journal_sums_to_the_balance_change(platform)


def test_a_movement_carries_the_callback_ids_the_player_and_the_clock(platform):
    body = place(new_id("bet"), "10.00")
    send(platform, "/bet/place", body)
    assert platform.movements() == [{
        "at": "2026-11-23T12:00:00.000+00:00", "bet_id": body["bet_id"], "player_id": "p-1",
        "request_id": body["request_id"], "amount": "-10.00", "destination": "/bet/place"}]


def test_decline_journals_the_released_hold(platform):
    bet_id = placed(platform, "10.00")
    assert send(platform, "/bet/decline", decline(bet_id)) == 204
    assert moves(platform) == [("/bet/place", D("-10.00")), ("/bet/decline", D("10.00"))]
    assert_journal_sums_to_the_balance_change(platform)


def test_unsettle_and_resettle_journal_each_change(platform):
    # Given a win, unsettled and settled again as a half-win
    bet_id = placed(platform, "10.00")
    send(platform, "/bet/settle", settle(bet_id, "25.00", SETTLE_WIN))
    assert send(platform, "/bet/unsettle", unsettle(bet_id, "25.00")) == 204
    send(platform, "/bet/settle", settle(bet_id, "12.50", SETTLE_WIN))
    # Then the unsettle takes the winnings back and the re-settle credits the new amount
    assert moves(platform) == [("/bet/place", D("-10.00")), ("/bet/settle", D("25.00")),
                               ("/bet/unsettle", D("-25.00")), ("/bet/settle", D("12.50"))]
    assert_journal_sums_to_the_balance_change(platform)


def test_cash_out_journals_the_refund_and_the_settle_after_it_nothing(platform):
    bet_id = placed(platform, "10.00")
    send(platform, "/bet/cash-out-orders/accepted", cash_out_accepted(bet_id, "co-1", "8.00"))
    # The sportsbook still settles the cashed-out bet: type 3, amount 0
    assert send(platform, "/bet/settle", settle(bet_id, "0.00", SETTLE_LOST)) == 204
    assert moves(platform) == [("/bet/place", D("-10.00")),
                               ("/bet/cash-out-orders/accepted", D("8.00"))]
    assert_journal_sums_to_the_balance_change(platform)


def test_cash_out_declined_journals_the_refund_taken_back(platform):
    bet_id = placed(platform, "10.00")
    send(platform, "/bet/cash-out-orders/accepted", cash_out_accepted(bet_id, "co-1", "8.00"))
    assert send(platform, "/bet/cash-out-orders/declined", cash_out_declined(bet_id, ["co-1"])
                ) == 204
    assert moves(platform)[1:] == [("/bet/cash-out-orders/accepted", D("8.00")),
                                   ("/bet/cash-out-orders/declined", D("-8.00"))]
    assert_journal_sums_to_the_balance_change(platform)


def test_unsettle_of_a_cashed_out_bet_journals_the_refund_taken_back(platform):
    bet_id = placed(platform, "10.00")
    send(platform, "/bet/cash-out-orders/accepted", cash_out_accepted(bet_id, "co-1", "8.00"))
    send(platform, "/bet/settle", settle(bet_id, "0.00", SETTLE_LOST))
    assert send(platform, "/bet/unsettle", unsettle(bet_id, "0.00")) == 204
    assert moves(platform)[-1] == ("/bet/unsettle", D("-8.00"))
    assert len(moves(platform)) == 3
    assert_journal_sums_to_the_balance_change(platform)


def test_refusals_and_replays_journal_nothing(platform):
    # Given a place, then the same request again (a replay), a refused place, a refused settle
    body = place(new_id("bet"), "10.00")
    send(platform, "/bet/place", body)
    assert send(platform, "/bet/place", body) == 204
    assert send(platform, "/bet/place", place(new_id("bet"), "500.00")) == 400
    assert send(platform, "/bet/settle", settle("no-such-bet", "5.00", SETTLE_WIN)) == 400
    assert send(platform, "/bet/place", place(new_id("bet"), "1.00"), token="nobody") == 400
    # Then only the first place is journaled
    assert moves(platform) == [("/bet/place", D("-10.00"))]


def test_every_digit_of_an_amount_is_kept(platform):
    bet_id = placed(platform, "10.00")
    send(platform, "/bet/settle", settle(bet_id, "78.125", SETTLE_WIN))
    assert platform.movements()[-1]["amount"] == "78.125"


def test_each_player_has_their_own_movements(platform):
    platform.add_player("tok-2", "50.00", player_id="p-2")
    placed(platform, "10.00")
    bet_id = placed(platform, "4.00", token="tok-2")
    send(platform, "/bet/settle", settle(bet_id, "9.00", SETTLE_WIN))
    assert moves(platform, "p-2") == [("/bet/place", D("-4.00")), ("/bet/settle", D("9.00"))]
    assert [m["player_id"] for m in platform.movements()] == ["p-1", "p-2", "p-2"]
    assert platform.state()["movements_count"] == 3


def test_the_journal_read_keeps_to_the_movements_there_when_it_was_read(platform):
    placed(platform)
    journal = platform.journal()
    placed(platform)
    assert len(list(journal)) == 1 and len(platform.movements()) == 2


# --- bug switches journal what they really moved ---------------------------------------------

def test_non_idempotent_journals_a_repeated_request_id_twice():
    platform = platform_with(bugs.NON_IDEMPOTENT)
    body = place(new_id("bet"), "10.00")
    won = settle(body["bet_id"], "25.00", SETTLE_WIN)
    for destination, callback in (("/bet/place", body), ("/bet/place", body),
                                  ("/bet/settle", won), ("/bet/settle", won)):
        assert send(platform, destination, callback) == 204
    journal = platform.movements()
    assert [(m["request_id"], m["amount"]) for m in journal] == [
        (body["request_id"], "-10.00"), (body["request_id"], "-10.00"),
        (won["request_id"], "25.00"), (won["request_id"], "25.00")]
    assert_journal_sums_to_the_balance_change(platform)


def test_settle_by_type_journals_no_credit_for_a_type_3_settle():
    platform = platform_with(bugs.SETTLE_BY_TYPE)
    bet_id = placed(platform, "10.00")
    assert send(platform, "/bet/settle", settle(bet_id, "5.00", SETTLE_LOST)) == 204
    assert moves(platform) == [("/bet/place", D("-10.00"))]
    assert_journal_sums_to_the_balance_change(platform)


def test_half_win_as_win_journals_the_recomputed_credit():
    platform = platform_with(bugs.HALF_WIN_AS_WIN)
    bet_id = placed(platform, "10.00")
    send(platform, "/bet/settle", settle(bet_id, "20.00", SETTLE_WIN, odds(("3.0", HALF_WIN))))
    assert moves(platform)[-1] == ("/bet/settle", D("30.00"))


def test_ignores_unsettle_journals_no_unsettle_and_the_resettle_again():
    platform = platform_with(bugs.IGNORES_UNSETTLE)
    bet_id = placed(platform, "10.00")
    send(platform, "/bet/settle", settle(bet_id, "25.00", SETTLE_WIN))
    assert send(platform, "/bet/unsettle", unsettle(bet_id, "25.00")) == 204
    send(platform, "/bet/settle", settle(bet_id, "25.00", SETTLE_WIN))
    assert moves(platform) == [("/bet/place", D("-10.00")), ("/bet/settle", D("25.00")),
                               ("/bet/settle", D("25.00"))]
    assert_journal_sums_to_the_balance_change(platform)


def test_no_release_on_decline_journals_no_decline():
    platform = platform_with(bugs.NO_RELEASE_ON_DECLINE)
    bet_id = placed(platform, "10.00")
    assert send(platform, "/bet/decline", decline(bet_id)) == 204
    assert moves(platform) == [("/bet/place", D("-10.00"))]


def test_ok_on_insufficient_journals_no_hold_and_the_full_credit():
    platform = platform_with(bugs.OK_ON_INSUFFICIENT)
    bet_id = placed(platform, "500.00")
    send(platform, "/bet/settle", settle(bet_id, "1250.00", SETTLE_WIN))
    assert moves(platform) == [("/bet/settle", D("1250.00"))]
    assert_journal_sums_to_the_balance_change(platform)


# --- the ledger CSV ----------------------------------------------------------------------------

def movement(amount, bet_id="b-1", player_id="p-1"):
    return Movement("2026-11-23T12:00:00.000+00:00", bet_id, player_id, f"r-{bet_id}", D(amount),
                    "/bet/settle")


def test_the_csv_has_the_header_and_one_row_per_movement():
    text = "".join(ledger_csv.csv_chunks([movement("-10"), movement("78.125", "b,2")], "EUR"))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        list(ledger_csv.COLUMNS),
        ["b-1", "-10.00", "r-b-1", "p-1", "2026-11-23T12:00:00.000+00:00", "EUR", "/bet/settle"],
        ["b,2", "78.125", "r-b,2", "p-1", "2026-11-23T12:00:00.000+00:00", "EUR", "/bet/settle"],
    ]
    assert text.startswith("bet_id,amount,request_id,player_id,at,currency,destination\n")


def test_the_csv_comes_in_chunks_of_rows():
    chunks = list(ledger_csv.csv_chunks([movement("1")] * 5, "EUR", chunk_rows=2))
    assert [chunk.count("\n") for chunk in chunks] == [3, 2, 1]


@pytest.mark.parametrize("code", ["EUR", "USDT", "BTC2"])
def test_a_currency_code_is_taken(code):
    assert ledger_csv.parse_currency(code) == code


@pytest.mark.parametrize("code", ["eur", "E", "EU R", "", "EURO-1", 978, "ABCDEFGHIJK"])
def test_a_bad_currency_code_is_refused_naming_it(code):
    with pytest.raises(ConfigurationError) as caught:
        ledger_csv.parse_currency(code)
    assert "--currency" in str(caught.value) and repr(code) in str(caught.value)
