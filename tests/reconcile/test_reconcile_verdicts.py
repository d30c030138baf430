"""The verdict on one bet (``reconcile.verdicts``), without a database: the money model against
the sandbox platform's own journal, and each verdict from a ledger changed on purpose."""
import json
import random
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery.decisions import classify
from delivery.records import AttemptOutcome
from reconcile.verdicts import Booked, Ours, Verdict, judge, movements
from sandbox.platform import Platform
from simulator.lifecycles import plan_bet

D = Decimal
PLACE, ACCEPT, DECLINE = "/bet/place", "/bet/accept", "/bet/decline"
SETTLE, UNSETTLE = "/bet/settle", "/bet/unsettle"
CO_ACCEPTED, CO_DECLINED = "/bet/cash-out-orders/accepted", "/bet/cash-out-orders/declined"


def cb(n, destination, amount=None, state="delivered", orders=(), stake="10", code=None):
    return Ours(n, f"r{n}", destination, state, None if amount is None else D(amount),
                tuple(orders), D(stake), code)


def booked(*pairs, currency=None):
    return [Booked(D(amount), request_id, currency) for request_id, amount in pairs]


# --- the money model -----------------------------------------------------------------------

def test_each_destination_moves_what_the_contract_says():
    bet = [cb(1, PLACE, "10"), cb(2, ACCEPT), cb(3, SETTLE, "25"), cb(4, UNSETTLE, "25"),
           cb(5, SETTLE, "0"), cb(6, DECLINE)]
    assert movements(bet) == [D(-10), 0, D(25), D(-25), 0, D(10)]


def test_cash_out_declined_takes_back_the_refund_its_order_paid():
    bet = [cb(1, PLACE, "10"), cb(2, CO_ACCEPTED, "8", orders=["co-1"]),
           cb(3, CO_DECLINED, orders=["co-1", "co-unknown"]), cb(4, SETTLE, "20")]
    assert movements(bet) == [D(-10), D(8), D(-8), D(20)]


def test_unsettle_of_a_cashed_out_bet_takes_back_the_cash_out_payout():
    bet = [cb(1, PLACE, "10"), cb(2, CO_ACCEPTED, "8", orders=["co-1"]), cb(3, SETTLE, "0"),
           cb(4, UNSETTLE, "0"), cb(5, SETTLE, "25")]
    assert movements(bet) == [D(-10), D(8), 0, D(-8), D(25)]


def test_rejected_and_skipped_callbacks_move_nothing():
    bet = [cb(1, PLACE, "10", state="rejected"), cb(2, ACCEPT, state="skipped"),
           cb(3, SETTLE, "25", state="skipped")]
    assert movements(bet) == [0, 0, 0]


# --- verdicts, one finding at a time --------------------------------------------------------

BET = [cb(1, PLACE, "10"), cb(2, ACCEPT), cb(3, SETTLE, "25")]


@pytest.mark.parametrize("by_request", [True, False])
def test_a_faithful_ledger_matches(by_request):
    result = judge("b", BET, booked(("r1", "-10"), ("r3", "25")), by_request=by_request)
    assert (result.verdict, result.expected, result.booked, result.difference) == (
        Verdict.MATCH, D(15), D(15), 0)


@pytest.mark.parametrize("by_request", [True, False])
def test_a_delivered_settle_the_ledger_lacks_is_missing(by_request):
    result = judge("b", BET, booked(("r1", "-10")), by_request=by_request)
    assert result.verdict == Verdict.MISSING_ON_PLATFORM
    assert result.difference == D(-25)
    assert [c.request_id for c in result.named] == ["r3"]


@pytest.mark.parametrize("by_request", [True, False])
def test_a_movement_booked_again_is_booked_twice(by_request):
    result = judge("b", BET, booked(("r1", "-10"), ("r3", "25"), ("r3", "25")),
                   by_request=by_request)
    assert result.verdict == Verdict.BOOKED_TWICE
    assert result.difference == D(25)


@pytest.mark.parametrize("by_request", [True, False])
def test_another_amount_differs(by_request):
    result = judge("b", BET, booked(("r1", "-10"), ("r3", "12.5")), by_request=by_request)
    assert result.verdict == Verdict.AMOUNT_DIFFERS
    assert result.difference == D("-12.5")


def test_a_booking_under_a_request_id_we_never_sent_differs():
    result = judge("b", BET, booked(("r1", "-10"), ("r3", "25"), ("elsewhere", "5")),
                   by_request=True)
    assert result.verdict == Verdict.AMOUNT_DIFFERS
    assert "never sent" in result.detail


def test_a_ledger_bet_without_callbacks_is_unknown():
    result = judge("b", [], booked(("r9", "-10")), by_request=True, currency="EUR")
    assert (result.verdict, result.currency, result.difference) == (
        Verdict.UNKNOWN_TO_US, "EUR", D(-10))


@pytest.mark.parametrize("by_request", [True, False])
def test_a_queued_callback_is_not_delivered_yet_unless_booked_already(by_request):
    queued = [cb(1, PLACE, "10"), cb(2, ACCEPT), cb(3, SETTLE, "25", state="pending")]
    waiting = judge("b", queued, booked(("r1", "-10")), by_request=by_request)
    assert (waiting.verdict, waiting.difference) == (Verdict.NOT_DELIVERED_YET, 0)
    # the platform applied it and we have not heard its answer yet: the money agrees
    ahead = judge("b", queued, booked(("r1", "-10"), ("r3", "25")), by_request=by_request)
    assert (ahead.verdict, ahead.difference) == (Verdict.MATCH, 0)


def test_a_rejected_place_with_nothing_booked_is_rejected_by_platform():
    bet = [cb(1, PLACE, "50", state="rejected", code="supported error not_enough_balance"),
           cb(2, ACCEPT, state="skipped")]
    result = judge("b", bet, [], by_request=True)
    assert (result.verdict, result.difference) == (Verdict.REJECTED_BY_PLATFORM, 0)
    assert "not_enough_balance" in result.detail
    # booking money for it anyway is a difference
    took = judge("b", bet, booked(("r1", "-50")), by_request=True)
    assert (took.verdict, took.difference) == (Verdict.AMOUNT_DIFFERS, D(-50))


def test_an_exhausted_place_answered_by_a_rejected_decline_expects_nothing():
    bet = [cb(1, PLACE, "10", state="exhausted"),
           cb(2, DECLINE, state="rejected", code="supported error bet_not_found")]
    assert judge("b", bet, [], by_request=True).verdict == Verdict.REJECTED_BY_PLATFORM


def test_an_exhausted_settle_not_booked_waits_for_a_retry():
    bet = [cb(1, PLACE, "10"), cb(2, SETTLE, "25", state="exhausted")]
    result = judge("b", bet, booked(("r1", "-10")), by_request=True)
    assert result.verdict == Verdict.NOT_DELIVERED_YET
    assert "callbacks retry" in result.detail


def test_another_currency_than_the_brands_differs():
    result = judge("b", BET, booked(("r1", "-10"), ("r3", "25"), currency="USD"),
                   by_request=True, currency="EUR")
    assert result.verdict == Verdict.AMOUNT_DIFFERS
    assert "USD" in result.detail and "EUR" in result.detail


def test_the_most_telling_finding_names_the_bet_and_the_detail_lists_all():
    result = judge("b", BET, booked(("r1", "-10"), ("r1", "-10")), by_request=True)
    assert result.verdict == Verdict.BOOKED_TWICE
    assert "booked 2 times" in result.detail and "not booked" in result.detail


# --- the property: an undamaged ledger of any generated traffic matches ----------------------

def _play(seed: int, bets: int, poor_every: int) -> tuple[dict, dict]:
    """Simulated bets applied to a sandbox platform in process, as the sender would: a bet's
    callbacks in order, those after a rejected place skipped. Returns our callbacks per bet and
    the platform's journal rows per bet."""
    rng = random.Random(seed)
    platform = Platform()
    ours: dict[str, list[Ours]] = {}
    for n in range(bets):
        token = f"t{n}"
        platform.add_player(token, "1.00" if poor_every and n % poor_every == 0 else "5000")
        plan = plan_bet(rng, f"bet-{n}", token, "2026-12-01T10:00:00Z")
        rejected = False
        callbacks = []
        for i, step in enumerate(plan.steps):
            body = {"request_id": str(uuid.uuid4()), "bet_id": plan.bet_id, **step.payload}
            state = "skipped"
            if not rejected:
                answer = platform.handle(step.destination, json.dumps(body),
                                         json.dumps({"token": token}))
                outcome = classify(step.destination, answer.status,
                                   json.dumps(answer.body).encode() if answer.body else None)
                assert outcome.kind != AttemptOutcome.FAILED, (step, answer)
                state = ("delivered" if outcome.kind == AttemptOutcome.DELIVERED else "rejected")
                rejected = state == "rejected"
            callbacks.append(_ours(i, body, step.destination, state, plan.stake))
        ours[plan.bet_id] = callbacks
    ledger: dict[str, list[Booked]] = {}
    for row in platform.movements():
        ledger.setdefault(row["bet_id"], []).append(
            Booked(D(row["amount"]), row["request_id"], None))
    return ours, ledger


def _ours(index: int, body: dict, destination: str, state: str, stake: Decimal) -> Ours:
    fields = {PLACE: "bet_stake", SETTLE: "settle_amount", UNSETTLE: "unsettle_amount",
              CO_ACCEPTED: "refund_amount"}
    orders = body.get("cash_out_order_ids") or (
        [body["cash_out_order_id"]] if "cash_out_order_id" in body else [])
    amount = body.get(fields.get(destination, ""))
    return Ours(index, body["request_id"], destination, state,
                None if amount is None else D(amount), tuple(orders), stake)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), bets=st.integers(1, 25), poor_every=st.integers(0, 4),
       by_request=st.booleans())
def test_an_undamaged_ledger_of_any_generated_traffic_matches(seed, bets, poor_every,
                                                              by_request):
    ours, ledger = _play(seed, bets, poor_every)
    for bet_id, callbacks in ours.items():
        rows = ledger.get(bet_id, [])
        if not by_request:
            rows = [Booked(r.amount) for r in rows]
        result = judge(bet_id, callbacks, rows, by_request=by_request)
        place_rejected = callbacks[0].state == "rejected"
        assert result.verdict == (Verdict.REJECTED_BY_PLATFORM if place_rejected
                                  else Verdict.MATCH), (result, callbacks, rows)
        assert result.difference == 0
    assert set(ledger) <= set(ours)


def test_a_callback_delivered_after_the_ledger_was_exported_is_not_missing():
    late = [cb(1, PLACE, "10"), Ours(2, "r2", SETTLE, "delivered", D(25), (), D(10), None,
                                     late=True)]
    waiting = judge("b", late, booked(("r1", "-10")), by_request=True)
    assert waiting.verdict == Verdict.NOT_DELIVERED_YET
    assert "after the ledger was exported" in waiting.detail
    assert judge("b", late, booked(("r1", "-10"), ("r2", "25")),
                 by_request=True).verdict == Verdict.MATCH
    nothing = [cb(1, PLACE, "10"), Ours(2, "r2", ACCEPT, "delivered", late=True)]
    assert judge("b", nothing, booked(("r1", "-10")), by_request=False).verdict == Verdict.MATCH
