"""The cases of the integration battery (SPEC §6), each a plain function that writes its steps
on a :class:`~battery.script.Script` in the order they are sent. Every balance probe's
expectation follows from the steps before it; every amount from :mod:`contract.payouts`."""
from __future__ import annotations

from decimal import Decimal

from battery.script import Script
from battery.steps import START, Rel
from contract.payouts import HALF_LOSS, HALF_WIN, LOSS, REFUNDED, REFUNDED_MANUALLY, WIN

# --- single ---------------------------------------------------------------------------------

def single_win(s: Script) -> None:
    bet = s.bet("2.50")
    s.probe()
    s.send(bet.place())
    s.probe("place did not hold the stake (10.00)")
    s.send(bet.accept())
    s.send(bet.settle(WIN))
    s.probe("a win was not credited stake × odds (25.00)")


def single_loss(s: Script) -> None:
    bet = s.bet("1.80")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(LOSS))
    s.probe("a lost settle (settle_type 3, amount 0.00) changed the available balance")


def single_half_win(s: Script) -> None:
    bet = s.bet("2.00")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(HALF_WIN))
    s.probe("a half-win was not credited stake × (odds + 1) / 2 (15.00)")


def single_half_loss(s: Script) -> None:
    bet = s.bet("2.00")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(HALF_LOSS))
    s.probe("a half-loss was not credited stake / 2 (5.00)")


def single_refund(s: Script) -> None:
    bet = s.bet("2.00")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(REFUNDED))
    s.probe("a refund settle (settle_type 2) did not return the stake")


def single_decline(s: Script) -> None:
    bet = s.bet("2.00")
    s.probe()
    s.send(bet.place())
    s.probe("place did not hold the stake (10.00)")
    s.send(bet.decline())
    s.probe("the hold was not released on decline")


def single_idempotency(s: Script) -> None:
    bet = s.bet("2.00")
    s.probe()
    place = s.send(bet.place())
    s.replay(place, "a repeated request_id was not answered like the first time")
    s.probe("a repeated /bet/place (same request_id) was applied again")
    s.send(bet.accept())
    settle = s.send(bet.settle(WIN))
    s.replay(settle, "a repeated request_id was not answered like the first time")
    s.probe("a repeated /bet/settle (same request_id) was credited again")


def single_resettlement(s: Script) -> None:
    bet = s.bet("2.00")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(WIN))
    s.probe("a win was not credited stake × odds (20.00)")
    s.send(bet.unsettle())
    s.probe("unsettle did not take the winnings back and hold the stake again")
    s.send(bet.settle(LOSS))
    s.probe("the re-settle as a loss changed the available balance")


# --- combo (express) ------------------------------------------------------------------------

def combo_resettlement(s: Script) -> None:
    bet = s.bet("1.50", "2.00", "1.80")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(WIN, LOSS, WIN))
    s.probe("a lost express changed the available balance")
    s.send(bet.unsettle())
    s.probe("unsettling a lost express changed the available balance")
    s.send(bet.settle(WIN, WIN, WIN))
    s.probe("the re-settle as a win was not credited stake × product of odds (54.00)")


def combo_partial_refund(s: Script) -> None:
    bet = s.bet("2.00", "1.50", "3.00")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(WIN, REFUNDED, WIN))
    s.probe("a refunded leg of an express was not counted as ×1 (60.00)")


def combo_cash_out_manual_refund(s: Script) -> None:
    bet = s.bet("2.00", "1.50")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.cash_out("8.00"))
    s.probe("a cash-out did not credit refund_amount (8.00) and release the hold")
    s.send(bet.cash_out_declined())
    s.probe("an annulled cash-out did not take the refund back and hold the stake again")
    s.send(bet.refund(REFUNDED_MANUALLY))
    s.probe("the manual refund after an annulled cash-out did not return the stake")


# --- system ---------------------------------------------------------------------------------

def system_resettlement(s: Script) -> None:
    bet = s.bet("2.00", "2.00", "3.00", stake="9.00", sizes=(2,))
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(WIN, WIN, WIN))
    s.probe("a system 2/3 was not credited the sum of its combinations (48.00)")
    s.send(bet.unsettle())
    s.probe("unsettle did not take the winnings back and hold the stake again")
    s.send(bet.settle(WIN, WIN, LOSS))
    s.probe("the re-settle was not credited only the winning combination (12.00)")


def system_partial_refund(s: Script) -> None:
    bet = s.bet("2.00", "2.50", "3.00", stake="9.00", sizes=(2,))
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(WIN, REFUNDED, WIN))
    s.probe("a refunded leg of a system was not counted as ×1 (33.00)")


def system_partial_loss(s: Script) -> None:
    bet = s.bet("2.00", "2.50", "3.00", stake="9.00", sizes=(2,))
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(WIN, WIN, LOSS))
    s.probe("a system with a lost leg was not credited only its winning combination (15.00)")


# --- cash out -------------------------------------------------------------------------------

def cash_out_accepted(s: Script) -> None:
    bet = s.bet("2.50")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.cash_out("12.00"))
    s.probe("a cash-out did not credit refund_amount (12.00) and release the hold")
    s.send(bet.settle_cashed_out(), "the settle that follows an accepted cash-out (settle_type 3, "
           "amount 0.00) was not accepted")
    s.probe("the settle after a cash-out (amount 0.00) changed the available balance")


def cash_out_refunded_manually(s: Script) -> None:
    bet = s.bet("2.50")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.cash_out("7.00"))
    s.probe("a cash-out did not credit refund_amount (7.00) and release the hold")
    s.send(bet.cash_out_declined())
    s.probe("an annulled cash-out did not take the refund back and hold the stake again")
    s.send(bet.refund(REFUNDED_MANUALLY))
    s.probe("the manual refund after an annulled cash-out did not return the stake")


# --- held money -----------------------------------------------------------------------------

def held_funds_not_reusable(s: Script) -> None:
    whole = s.bet("2.00", stake=START)
    s.probe()
    s.send(whole.place("place of the whole balance"))
    s.probe("a place of the whole balance did not hold it")
    s.refused(s.bet("2.00", stake="1.00").place("second place (1.00)"), "not_enough_balance",
              "held funds were spent again: a place above the available balance (0.00) was not "
              "refused with not_enough_balance", actual_balance=Rel())
    s.send(whole.refund())
    s.probe("the refund of the whole-balance bet did not release the hold")


def unsettle_moves_hold(s: Script) -> None:
    bet = s.bet("3.00")
    s.probe()
    s.send(bet.place())
    s.send(bet.accept())
    s.send(bet.settle(WIN))
    s.probe("a win was not credited stake × odds (30.00)")
    s.send(bet.unsettle())
    s.probe("after unsettle the stake was not held again")
    s.refused(s.bet("2.00", stake=START).place("place of the start balance"),
              "not_enough_balance",
              "the stake held again by the unsettle could be spent: a place above the available "
              "balance was not refused with not_enough_balance",
              actual_balance=START - Decimal("10.00"))
    s.send(bet.refund())
    s.probe("the re-settle did not release the hold")


# --- place errors ---------------------------------------------------------------------------

def not_enough_balance(s: Script) -> None:
    s.probe()
    s.refused(s.bet("2.00", stake=START + Decimal("1.00")).place("place above the balance"),
              "not_enough_balance",
              "a place above the balance was not refused with not_enough_balance and the "
              "player's actual balance (the bet must end PLACE_ERROR)", actual_balance=START)
    s.probe("a refused place changed the available balance")


def unknown_session(s: Script) -> None:
    s.refused(s.bet("2.00").place("place with an unknown session"),
              "auth_session_unknown",
              "a place whose Foreign-Params name an unknown session was not refused with "
              "auth_session_unknown", unknown_session=True)
