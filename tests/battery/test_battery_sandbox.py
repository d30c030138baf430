"""Proof that the battery judges correctly: against the sandbox platform over real HTTP, correct
and with every bug switch, behind servers that lack an endpoint or answer 201, and against
endpoints that do not answer."""
import json

import httpx
import pytest
from battery_testkit import (
    TOKEN,
    closed_port_url,
    cookie_sandbox,
    failing,
    run_against,
    sandbox,
    silent_server,
    unlike_sandbox,
)
from platforms import Trickling

from battery import reports
from battery.results import CANCELLED, FAILED, SUCCESS, WARNING
from battery.steps import PROBE_BROKEN
from battery.suite import CASES
from battery.verdicts import ERROR_SHAPE_BROKEN
from sandbox import bugs

ALL = set(range(1, len(CASES) + 1))
#: The cases that need no balance: they still run when balance probes cannot work.
WITHOUT_BALANCE = {7, 20}


def test_a_correct_platform_passes_every_case_and_is_left_holding_nothing():
    with sandbox() as platform:
        seen = []
        run = run_against(platform.url, on_progress=lambda r, case: seen.append(case))
        assert run.status == SUCCESS and run.reason is None and run.findings == []
        assert [c.status for c in run.cases] == [SUCCESS] * len(CASES)
        # Progress came after the preflight, then once per case in order
        assert seen[0] is None and [c.number for c in seen[1:]] == sorted(ALL)
        assert platform.platform.balance(TOKEN)[1] == 0
    # The preflight probed the balance, the heartbeat and every other destination
    assert [c.destination for c in run.preflight] == [
        "/bet/place", "/heartbeat", "/bet/accept", "/bet/decline", "/bet/settle",
        "/bet/unsettle", "/bet/cash-out-orders/accepted", "/bet/cash-out-orders/declined"]
    assert all(c.passed for c in run.preflight)
    assert run.preflight[1].response["status"] == 204 and run.preflight[1].request["body"] == {}


def _run_with(bug, **kwargs):
    with sandbox(bug) as platform:
        return run_against(platform.url, **kwargs), platform


def test_non_idempotent_fails_only_the_idempotency_case():
    run, _ = _run_with(bugs.NON_IDEMPOTENT)
    assert run.status == FAILED and failing(run) == {7}
    assert "a repeated /bet/place (same request_id) was applied again" in run.cases[6].message


def test_no_release_on_decline_fails_only_the_decline_case():
    run, _ = _run_with(bugs.NO_RELEASE_ON_DECLINE)
    assert failing(run) == {6}
    assert run.cases[5].message.startswith("the hold was not released on decline")


def test_ignores_unsettle_fails_the_resettlements_that_settled_a_win_first():
    """Case 9 (combo: loss → unsettle → win) passes: unsettling a loss takes back 0.00, and the
    only other effect of an unsettle — holding the stake again — is undone by the final settle,
    so a platform that ignores the unsettle ends with the very same available balance. Balance
    probes cannot see it there; cases 8, 12 and 18 settle a win first and catch it."""
    run, _ = _run_with(bugs.IGNORES_UNSETTLE)
    assert failing(run) == {8, 12, 18}
    for number in (8, 12):
        assert run.cases[number - 1].message.startswith(
            "unsettle did not take the winnings back and hold the stake again")
    assert run.cases[17].message.startswith("after unsettle the stake was not held again")


def test_half_win_as_win_fails_only_the_half_win_case():
    run, _ = _run_with(bugs.HALF_WIN_AS_WIN)
    assert failing(run) == {3}
    assert "a half-win was not credited stake × (odds + 1) / 2 (15.00)" in run.cases[2].message
    assert '"actual_balance": "' in run.cases[2].message


def test_a_platform_that_credits_nothing_on_a_lost_settle_fails_the_half_loss():
    """The sportsbook sends a half-loss as settle type 3 (lost) with half the stake; a platform
    that credits nothing on type 3 (``settle_by_type``) underpays it and must not pass. The
    settle of type 3 and 0.00 after a cash-out (case 15) is rightly credited nothing."""
    run, _ = _run_with(bugs.SETTLE_BY_TYPE)
    assert run.status == FAILED and failing(run) == {4}
    assert run.cases[3].message.startswith("a half-loss was not credited stake / 2 (5.00)")
    half_loss = next(s for s in run.cases[3].steps if s.destination == "/bet/settle")
    assert (half_loss.request["body"]["settle_type"],
            half_loss.request["body"]["settle_amount"]) == (3, "5.00")


def test_a_platform_that_keeps_no_balances_gets_one_diagnosis_and_the_rest_still_runs():
    """``ok_on_insufficient`` accepts a place no player can cover: balance probes cannot work."""
    run, platform = _run_with(bugs.OK_ON_INSUFFICIENT)
    # Then the money cases are not run, each pointing at the one diagnosis in the findings
    assert run.status == FAILED and failing(run) == ALL - WITHOUT_BALANCE
    for case in run.cases:
        if case.number not in WITHOUT_BALANCE:
            assert case.message == ("not run: balance probes cannot work — see the preflight "
                                    "findings") and case.steps == []
    [diagnosis] = run.errors
    assert diagnosis.text.startswith("balance probes cannot work: the platform answered 204 to a "
                                     "/bet/place of 1000000000000.00")
    # And the replay and the unknown session still ran, the replay without its probes
    idempotency, unknown = run.cases[6], run.cases[19]
    assert idempotency.status == unknown.status == SUCCESS
    assert [s.label for s in idempotency.steps] == [
        "place", "place again (same request_id)", "accept", "settle win 20.00",
        "settle win 20.00 again (same request_id)"]
    # And the accepted probe was declined again: nothing stays held
    probe, decline = run.preflight[0], run.preflight[1]
    assert probe.response["status"] == 204 and decline.cleanup
    assert decline.destination == "/bet/decline" and decline.bet_id == probe.bet_id
    assert decline.response["status"] == 204
    assert platform.platform.bet(probe.bet_id)["state"] == "declined"
    assert platform.platform.balance(TOKEN)[1] == 0


def test_wrong_error_shape_fails_every_case_naming_the_error_body():
    run, _ = _run_with(bugs.WRONG_ERROR_SHAPE)
    assert failing(run) == ALL
    assert all(c.message.startswith(ERROR_SHAPE_BROKEN) for c in run.cases)
    assert '"message":"auth_session_unknown"' in run.cases[19].message


def test_slow_cancels_the_pipeline_at_the_first_request():
    with sandbox(bugs.SLOW, slow_s=1.0) as platform:
        run = run_against(platform.url, timeout_s=0.3)
    assert run.status == CANCELLED and failing(run) == set()
    assert [c.status for c in run.cases] == [CANCELLED] * len(CASES)
    assert "got no answer (timeout: ReadTimeout after 0.3 s)" in run.reason
    assert "does not answer within 0.3 s" in run.reason


def test_an_unreachable_endpoint_cancels_at_once_with_the_reason():
    url = closed_port_url()
    run = run_against(url)
    assert run.status == CANCELLED and run.passed == run.failed == 0
    assert f"{url}/bet/place got no answer (connect:" in run.reason
    assert "unreachable" in run.reason
    assert [c.response["error_class"] for c in run.preflight] == ["connect"]


def test_an_endpoint_that_never_answers_cancels_after_the_timeout():
    with silent_server() as url:
        run = run_against(url, timeout_s=0.3)
    assert run.status == CANCELLED and "timeout" in run.reason
    assert all(c.status == CANCELLED for c in run.cases)


def test_a_platform_cookie_is_never_sent_back():
    # The battery sends as the worker does: a platform's Set-Cookie must not change what the
    # next callbacks carry (a sticky session could hide a bug of another node)
    with cookie_sandbox() as (url, cookies):
        run = run_against(url)
    assert run.status == SUCCESS
    assert len(cookies) > 20 and set(cookies) == {None}


def test_a_trickling_endpoint_cancels_at_the_timeout():
    # Headers that arrive a byte every 0.1 s never trip a timeout per read: the battery's
    # timeout is one deadline for the whole answer, as the worker's is
    with Trickling(interval_s=0.1) as platform:
        run = run_against(platform.url, timeout_s=0.5)
    assert run.status == CANCELLED and "timeout" in run.reason
    assert all(c.status == CANCELLED for c in run.cases)


def test_an_endpoint_lost_mid_run_fails_that_case_and_cancels_the_rest():
    with sandbox() as platform, httpx.Client() as real:
        sent = []

        def forward_then_vanish(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            if len(sent) > 19:
                raise httpx.ConnectError("Connection refused", request=request)
            answer = real.send(httpx.Request(request.method, request.url,
                                             headers=request.headers, content=request.content))
            return httpx.Response(answer.status_code, headers=answer.headers,
                                  content=answer.content)

        client = httpx.Client(transport=httpx.MockTransport(forward_then_vanish))
        run = run_against(platform.url, client=client)
    # The preflight (8 requests) and cases 1-2 (11) use 19; case 3 loses the endpoint on its first
    assert [c.status for c in run.cases[:3]] == [SUCCESS, SUCCESS, FAILED]
    assert all(c.status == CANCELLED for c in run.cases[3:])
    assert run.status == CANCELLED and "Connection refused" in run.reason
    assert "the endpoint did not answer" in run.cases[2].message


def test_an_unknown_token_cancels_with_what_to_do():
    with sandbox() as platform:
        run = run_against(platform.url, token="not-a-session")
    assert run.status == CANCELLED
    assert "auth_session_unknown" in run.reason and "copy fresh session values" in run.reason
    assert '{"token": …}' in run.reason and "not-a-session" not in run.reason


def test_a_player_without_enough_money_cancels_with_what_to_do():
    with sandbox(balance="5.00") as platform:
        run = run_against(platform.url)
    assert run.status == CANCELLED
    assert "has 5.00 available" in run.reason and "Top up" in run.reason


def test_a_failed_case_gives_back_what_it_left_held():
    # Given a platform that holds a repeated place twice
    run, platform = _run_with(bugs.NON_IDEMPOTENT)
    case = run.cases[6]
    # Then the failed idempotency case refunded its open bet, unjudged, and nothing stays held
    cleanup = [s for s in case.steps if s.cleanup]
    assert len(cleanup) == 1 and cleanup[0].passed is None
    assert cleanup[0].destination == "/bet/settle" and cleanup[0].response["status"] == 204
    assert cleanup[0].request["body"]["settle_type"] == 2
    assert platform.platform.balance(TOKEN)[1] == 0
    assert reports.ticks(case) == "✓✓✓✗····↺"


@pytest.mark.parametrize("bug", sorted(set(bugs.BUGS) - {bugs.SLOW}))
def test_every_failure_names_step_destination_expectation_and_answer(bug):
    run, _ = _run_with(bug)
    for case in run.cases:
        if case.status == FAILED and not case.steps:  # not run: the diagnosis is a finding
            assert case.message.startswith("not run: ") and run.errors
        elif case.status == FAILED:
            step = next(s for s in case.steps if s.position == case.failed_step)
            assert f"step {step.position} {step.label} ({step.destination}): expected " \
                   f"{step.expected}; got " in case.message
            assert step.passed is False


# --- Foreign-Params, missing endpoints, success other than 204 --------------------------------

def test_the_session_is_the_foreign_params_object_with_the_platforms_own_key():
    """A platform that reads ``session_id`` passes when given it, and the unknown-session case
    changes that key's value (not a ``token`` the platform never reads)."""
    with sandbox(session_key="session_id") as platform:
        run = run_against(platform.url, foreign_params={"session_id": TOKEN, "brand": "acme"})
        assert run.status == SUCCESS, [c.message for c in run.cases if c.message]
        sent = run.cases[0].steps[0].request["headers"]["Foreign-Params"]
        assert json.loads(sent) == {"session_id": "***", "brand": "***"}  # every value masked
        [unknown] = run.cases[19].steps
        assert unknown.response["status"] == 400
    # And given only a token, the same platform knows no session: the run cancels saying so
    with sandbox(session_key="session_id") as platform:
        run = run_against(platform.url)
    assert run.status == CANCELLED and "auth_session_unknown" in run.reason


def test_a_missing_endpoint_is_named_not_reported_as_a_balance_failure():
    with unlike_sandbox(without=("/bet/unsettle",)) as (url, platform):
        run = run_against(url)
    # Then the preflight names it, and the run fails
    assert run.status == FAILED
    assert [f.text.split(" (")[0] for f in run.errors] == ["endpoint missing: /bet/unsettle"]
    # And every case that unsettles fails with that diagnosis, the others pass
    assert failing(run) == {8, 9, 12, 18}
    for number in failing(run):
        assert run.cases[number - 1].message.startswith("endpoint missing: /bet/unsettle — step")
    assert platform.balance(TOKEN)[1] == 0


def test_a_missing_heartbeat_fails_the_run_even_when_every_case_passes():
    with unlike_sandbox(without=("/heartbeat",)) as (url, _):
        run = run_against(url)
    assert failing(run) == set() and run.status == FAILED
    [missing] = run.errors
    assert missing.text == f"endpoint missing: /heartbeat (answered 404 at {url}/heartbeat)"
    assert "ERROR    endpoint missing: /heartbeat" in reports.summary(run)


def test_a_missing_place_endpoint_is_one_diagnosis_for_the_money_cases():
    with unlike_sandbox(without=("/bet/place",)) as (url, _):
        run = run_against(url)
    assert run.status == FAILED
    assert [f.text.split(" (")[0] for f in run.errors] == ["endpoint missing: /bet/place"]
    for case in run.cases:
        assert case.status == FAILED
        assert case.message.startswith("not run: endpoint missing: /bet/place") \
            or case.message.startswith("endpoint missing: /bet/place — step 1")


def test_success_other_than_204_is_a_warning_that_does_not_fail_the_run():
    with unlike_sandbox(success_status=201) as (url, _):
        run = run_against(url)
    assert run.status == SUCCESS and failing(run) == set() and run.errors == []
    [warning] = run.warnings
    assert warning.level == WARNING
    assert warning.text.startswith("success came back as 201, not 204, on /heartbeat, "
                                   "/bet/place, /bet/accept")
    assert "accepts only 204" in warning.text
    assert "WARNING  success came back as 201" in reports.summary(run)


def test_a_probe_accepted_mid_run_is_declined_again_and_nothing_stays_held():
    """A platform that starts accepting impossible places after the preflight (the sandbox's
    ``ok_on_insufficient`` switched on once the preflight is done)."""
    with sandbox() as platform:
        def break_after_preflight(run, case):
            if case is None:
                platform.platform.bugs = frozenset({bugs.OK_ON_INSUFFICIENT})

        run = run_against(platform.url, on_progress=break_after_preflight)
        first = run.cases[0]
        probe, decline = first.steps[0], first.steps[1]
        # Then the case fails at its first probe, which is declined at once, unjudged
        assert first.status == FAILED and first.failed_step == 1
        assert first.message.startswith(PROBE_BROKEN) and first.message.endswith("got 204")
        assert decline.cleanup and decline.passed is None
        assert (decline.destination, decline.bet_id) == ("/bet/decline", probe.bet_id)
        assert decline.response["status"] == 204
        assert platform.platform.bet(probe.bet_id)["state"] == "declined"
        assert reports.ticks(first) == "✗·····↺"
        assert platform.platform.balance(TOKEN)[1] == 0
