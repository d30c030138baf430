"""The preflight's decisions, with plain values: what a balance probe's answer means, which
endpoints are missing, when success other than 204 is worth a warning."""
import json
from decimal import Decimal

import contract
from battery import preflight
from battery.results import ERROR, WARNING, StepResult
from battery.suite import balance_probe_step
from battery.verdicts import Answer, judge

PARAMS = {"session_id": "very-secret-session"}


def _outcome(status, body=""):
    answer = Answer(status, body)
    return preflight.probe_outcome(answer, judge(balance_probe_step(), answer, None), PARAMS)


def _error(code, **data):
    return json.dumps({"error": {"code": code, "data": data}})


def test_a_probe_showing_enough_money_lets_the_run_go_on():
    assert _outcome(400, _error("not_enough_balance", actual_balance="100.00")) == \
           preflight.ProbeOutcome()


def test_an_unknown_session_cancels_naming_the_keys_but_never_the_values():
    outcome = _outcome(400, _error("auth_session_unknown"))
    assert outcome.reason.startswith('the platform answered auth_session_unknown for the run\'s '
                                     'Foreign-Params {"session_id": …}')
    assert "very-secret-session" not in outcome.reason and outcome.blocked is None


def test_too_little_money_cancels_with_what_to_do():
    outcome = _outcome(400, _error("not_enough_balance", actual_balance="5.00"))
    assert "has 5.00 available" in outcome.reason and "Top up" in outcome.reason


def test_an_accepted_probe_blocks_the_money_cases_with_one_error():
    outcome = _outcome(201)
    assert outcome.reason is None and outcome.blocked == "balance probes cannot work"
    [finding] = outcome.findings
    assert finding.level == ERROR and "answered 201 to a /bet/place of 1000000000000.00" in \
        finding.text and "declined again" in finding.text


def test_a_missing_place_endpoint_blocks_the_money_cases():
    assert _outcome(404, "Not Found").blocked == "endpoint missing: /bet/place"


def _check(destination, status, body=None):
    return StepResult(1, "check", destination, "b", "r", "", True, None,
                      {"url": f"http://p{destination}", "body": {}},
                      {"status": status, "body": body})


def test_missing_endpoints_and_a_refusing_heartbeat_are_errors():
    found = preflight.presence_findings([
        _check("/bet/settle", 404, "Not Found"), _check("/bet/unsettle", 405),
        _check("/bet/accept", 404, _error("bet_not_found")),  # the platform's own 404
        _check(contract.HEARTBEAT, 400, _error("auth_session_unknown")),
        _check("/bet/decline", 400, _error("bet_not_found"))])
    assert [(f.level, f.text) for f in found] == [
        (ERROR, "endpoint missing: /bet/settle (answered 404 at http://p/bet/settle)"),
        (ERROR, "endpoint missing: /bet/unsettle (answered 405 at http://p/bet/unsettle)"),
        (ERROR, "/heartbeat answered 400 auth_session_unknown for the run's Foreign-Params: a "
                "live session's heartbeat must be answered 204")]


def test_success_other_than_204_is_one_warning_per_status_naming_each_destination_once():
    found = preflight.success_warnings([
        _check("/bet/place", 201), _check("/bet/place", 201), _check("/bet/accept", 200),
        _check("/bet/settle", 204), _check("/bet/decline", 400), _check("/bet/unsettle", None)])
    assert [(f.level, f.text.split(":")[0]) for f in found] == [
        (WARNING, "success came back as 200, not 204, on /bet/accept"),
        (WARNING, "success came back as 201, not 204, on /bet/place")]
    assert preflight.success_warnings([_check("/bet/place", 204)]) == []


def test_presence_checks_move_no_money_and_cover_every_bet_destination_but_the_place():
    steps = preflight.presence_steps("player-1", first_position=2)
    assert [s.position for s in steps] == list(range(2, 2 + len(steps)))
    assert steps[0].destination == contract.HEARTBEAT and steps[0].payload == {}
    bet_paths = [p for p, d in contract.DESTINATIONS.items() if d.with_ids]
    assert [s.destination for s in steps[1:]] == [p for p in bet_paths if p != contract.PLACE]
    for step in steps[1:]:
        for key in ("bet_stake", "settle_amount", "unsettle_amount", "amount", "refund_amount"):
            assert Decimal(step.payload.get(key, "0")) == 0
    assert len({s.bet_id for s in steps[1:]}) == 1


def test_the_decline_of_an_accepted_probe_names_a_real_restriction():
    probe = balance_probe_step("player-1")
    body = preflight.probe_decline_body(probe)
    assert body["bet_id"] == probe.bet_id and body["bet_player_id"] == "player-1"
    assert body["restrictions"][0]["type"] == "max_bet"
