"""Judging one answer against one step, with plain values."""
import json
from decimal import Decimal

from battery.steps import (
    PROBE_BROKEN,
    START,
    Accepted,
    Balance,
    Present,
    Refused,
    Rel,
    Replay,
    Step,
)
from battery.verdicts import ERROR_SHAPE_BROKEN, Answer, judge

D = Decimal


def _step(expect, broken="the thing is broken", position=3, destination="/bet/place"):
    return Step(position, "balance probe", destination, "bet-1", {"request_id": "r-1"}, expect,
                broken)


def _error(code, status=400, **data):
    return Answer(status, json.dumps({"error": {"code": code, "data": data}}))


def test_a_2xx_meets_accepted_and_a_500_names_the_broken_behaviour():
    step = _step(Accepted(), "a valid /bet/settle was not accepted", destination="/bet/settle")
    assert judge(step, Answer(204), None).passed
    verdict = judge(step, Answer(500, "boom"), None)
    assert not verdict.passed
    assert verdict.message(step) == ("a valid /bet/settle was not accepted — step 3 balance probe "
                                     "(/bet/settle): expected a 2xx answer; got 500 boom")


def test_the_first_probe_reads_the_start_balance():
    verdict = judge(_step(Balance()), _error("not_enough_balance", actual_balance="73.25"), None)
    assert verdict.passed and verdict.balance == D("73.25")


def test_a_probe_showing_another_balance_names_the_cases_broken_behaviour_and_both_amounts():
    step = _step(Balance(START), "the hold was not released on decline")
    verdict = judge(step, _error("not_enough_balance", actual_balance="90.00"), D("100.00"))
    assert not verdict.passed
    message = verdict.message(step)
    assert message.startswith("the hold was not released on decline — step 3")
    assert "actual_balance 100.00 (start)" in message and '"90.00"' in message


def test_a_probe_answered_204_means_probes_do_not_work():
    verdict = judge(_step(Balance(START - D("10"))), Answer(204), D("100"))
    assert not verdict.passed and verdict.broken == PROBE_BROKEN and verdict.got == "204"


def test_a_probe_without_actual_balance_means_probes_do_not_work():
    verdict = judge(_step(Balance()), _error("not_enough_balance"), None)
    assert not verdict.passed and verdict.broken == PROBE_BROKEN


def test_a_400_without_the_error_object_names_the_error_shape():
    body = json.dumps({"message": "not_enough_balance", "data": {"actual_balance": "1.00"}})
    verdict = judge(_step(Balance()), Answer(400, body), None)
    assert not verdict.passed and verdict.broken == ERROR_SHAPE_BROKEN
    assert '"message"' in verdict.got


def test_a_refusal_needs_the_right_code_and_balance():
    step = _step(Refused("not_enough_balance", Rel()), "held funds were spent again")
    assert judge(step, _error("not_enough_balance", actual_balance="0.00"), D("50")).passed
    assert not judge(step, _error("not_enough_balance", actual_balance="5.00"), D("50")).passed
    wrong_code = judge(step, _error("player_limit_crossed"), D("50"))
    assert wrong_code.broken == "held funds were spent again"
    assert wrong_code.got.startswith("400 player_limit_crossed")
    accepted = judge(step, Answer(204), D("50"))
    assert not accepted.passed and accepted.got == "204"


def test_a_refusal_with_a_relative_balance_shows_the_worked_amount():
    step = _step(Refused("not_enough_balance", START - D("10")))
    verdict = judge(step, _error("not_enough_balance", actual_balance="1.00"), D("80"))
    assert "actual_balance 70.00 (start − 10.00)" in verdict.expected


def test_a_replay_must_repeat_the_first_status_and_body():
    first = Answer(400, '{"error": {"code": "bet_not_found", "data": {}}}')
    same_json = Answer(400, '{"error":{"code":"bet_not_found","data":{}}}')
    step = _step(Replay(2), "a repeated request_id was not answered like the first time")
    assert judge(step, same_json, None, {2: first}).passed
    assert judge(step, Answer(204), None, {2: Answer(204)}).passed
    differs = judge(step, Answer(204), None, {2: first})
    assert not differs.passed and "first time: 400 bet_not_found" in differs.got


def test_no_answer_at_all_cancels_instead_of_judging():
    verdict = judge(_step(Accepted()), Answer(None, None, "connect", "Connection refused"), None)
    assert verdict.cancel and not verdict.passed
    assert verdict.got == "no answer (connect: Connection refused)"


def test_a_bare_404_or_405_is_a_missing_endpoint_not_the_expected_behaviour():
    step = _step(Balance(START), "the hold was not released on decline")
    for status in (404, 405):
        verdict = judge(step, Answer(status, "Not Found"), D("100.00"))
        assert not verdict.passed and verdict.broken == "endpoint missing: /bet/place"
        assert verdict.message(step).startswith("endpoint missing: /bet/place — step 3")


def test_a_404_with_the_contracts_error_body_is_the_platforms_own_answer():
    step = _step(Present(), destination="/bet/settle")
    assert judge(step, _error("bet_not_found", status=404), None).passed
    assert not judge(step, Answer(404, "Not Found"), None).passed
    # Any other answer shows the endpoint is there
    assert judge(step, _error("bet_not_found"), None).passed
    assert judge(step, Answer(500, "boom"), None).passed
