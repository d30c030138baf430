"""Proof that the battery judges correctly: against the sandbox platform over real HTTP, correct
and with every bug switch, and against endpoints that do not answer."""
import httpx
import pytest

from battery import reports
from battery.results import CANCELLED, FAILED, SUCCESS
from battery.steps import PROBE_BROKEN
from battery.verdicts import ERROR_SHAPE_BROKEN
from sandbox import bugs
from battery_testkit import (
    TOKEN, closed_port_url, failing, run_against, sandbox, silent_server,
)

ALL = set(range(1, 21))


def test_a_correct_platform_passes_all_twenty_and_is_left_holding_nothing():
    with sandbox() as platform:
        seen = []
        run = run_against(platform.url, on_progress=lambda r, case: seen.append(case))
        assert run.status == SUCCESS and run.reason is None
        assert [c.status for c in run.cases] == [SUCCESS] * 20
        # Progress came after the preflight, then once per case in order
        assert seen[0] is None and [c.number for c in seen[1:]] == list(range(1, 21))
        assert platform.platform.balance(TOKEN)[1] == 0


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
    that credits nothing on type 3 (``settle_by_type``) underpays it and must not pass."""
    run, _ = _run_with(bugs.SETTLE_BY_TYPE)
    assert run.status == FAILED and failing(run) == {4}


def test_ok_on_insufficient_fails_every_case_that_probes_the_balance():
    run, platform = _run_with(bugs.OK_ON_INSUFFICIENT)
    # Every case but the unknown-session one reads the balance with a probe
    assert failing(run) == ALL - {20}
    for case in run.cases[:19]:
        assert case.message.startswith(PROBE_BROKEN) and case.message.endswith("got 204")
    assert platform.platform.balance(TOKEN) == (100, 0)


def test_wrong_error_shape_fails_all_twenty_naming_the_error_body():
    run, _ = _run_with(bugs.WRONG_ERROR_SHAPE)
    assert failing(run) == ALL
    assert all(c.message.startswith(ERROR_SHAPE_BROKEN) for c in run.cases)
    assert '"message":"auth_session_unknown"' in run.cases[19].message


def test_slow_cancels_the_pipeline_at_the_first_request():
    with sandbox(bugs.SLOW, slow_s=1.0) as platform:
        run = run_against(platform.url, timeout_s=0.3)
    assert run.status == CANCELLED and failing(run) == set()
    assert [c.status for c in run.cases] == [CANCELLED] * 20
    assert "got no answer (timeout: ReadTimeout after 0.3 s)" in run.reason
    assert "does not answer within 0.3 s" in run.reason


def test_an_unreachable_endpoint_cancels_at_once_with_the_reason():
    url = closed_port_url()
    run = run_against(url)
    assert run.status == CANCELLED and run.passed == run.failed == 0
    assert f"{url}/bet/place got no answer (connect:" in run.reason
    assert "unreachable" in run.reason
    assert run.preflight.response["error_class"] == "connect"


def test_an_endpoint_that_never_answers_cancels_after_the_timeout():
    with silent_server() as url:
        run = run_against(url, timeout_s=0.3)
    assert run.status == CANCELLED and "timeout" in run.reason
    assert all(c.status == CANCELLED for c in run.cases)


def test_an_endpoint_lost_mid_run_fails_that_case_and_cancels_the_rest():
    with sandbox() as platform, httpx.Client() as real:
        sent = []

        def forward_then_vanish(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            if len(sent) > 12:
                raise httpx.ConnectError("Connection refused", request=request)
            answer = real.send(httpx.Request(request.method, request.url,
                                             headers=request.headers, content=request.content))
            return httpx.Response(answer.status_code, headers=answer.headers,
                                  content=answer.content)

        client = httpx.Client(transport=httpx.MockTransport(forward_then_vanish))
        run = run_against(platform.url, client=client)
    # The preflight and cases 1-2 use 12 requests; case 3 loses the endpoint on its first
    assert [c.status for c in run.cases[:3]] == [SUCCESS, SUCCESS, FAILED]
    assert all(c.status == CANCELLED for c in run.cases[3:])
    assert run.status == CANCELLED and "Connection refused" in run.reason
    assert "the endpoint did not answer" in run.cases[2].message


def test_an_unknown_token_cancels_with_what_to_do():
    with sandbox() as platform:
        run = run_against(platform.url, token="not-a-session")
    assert run.status == CANCELLED
    assert "auth_session_unknown" in run.reason and "copy a fresh token" in run.reason


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
        if case.status == FAILED:
            step = next(s for s in case.steps if s.position == case.failed_step)
            assert f"step {step.position} {step.label} ({step.destination}): expected " \
                   f"{step.expected}; got " in case.message
            assert step.passed is False
