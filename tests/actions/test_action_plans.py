"""What an action would change, decided from plain values (actions/plans.py)."""
from datetime import UTC, datetime, timedelta

import pytest

from actions import plans
from actions.errors import GroupBusy, WrongState
from actions.plans import Queued

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def group(*states, bet_id="bet-1"):
    """A bet's callbacks in order; a state 'retrying' is a pending head due in a minute."""
    rows = []
    for n, state in enumerate(states, start=1):
        retrying = state == "retrying"
        rows.append(Queued(
            id=n, request_id=f"r{n}", bet_id=bet_id, destination=f"/d{n}",
            state="pending" if retrying else state,
            attempts=2 if retrying or state == "exhausted" else 0,
            next_attempt_at=NOW + timedelta(minutes=1) if retrying else
            NOW if state == "pending" else None,
            created_at=NOW - timedelta(hours=1, minutes=-n)))
    return rows


def summary(changes):
    return [(c.callback.id, c.state, c.due_now, c.manual) for c in changes]


def test_retry_sends_the_exhausted_callbacks_again_and_the_queue_waits_behind_them():
    # Given accept exhausted, settle exhausted, and an unsettle being retried
    changes = plans.retry(group("delivered", "exhausted", "exhausted", "retrying"), NOW)
    # Then the first exhausted one is the head, due now; the rest wait behind it in order
    assert summary(changes) == [(2, "pending", True, True), (3, "waiting", False, True),
                                (4, "waiting", False, False)]


def test_retry_brings_a_failed_head_forward():
    changes = plans.retry(group("delivered", "retrying", "waiting"), NOW)
    assert summary(changes) == [(2, "pending", True, True)]


@pytest.mark.parametrize("states, message", [
    (("delivered", "delivered"), "nothing to retry: its 2 callback\\(s\\) are 2 delivered; add "
                                 "--include-delivered"),
    (("delivered", "pending"), "nothing to retry"),
    (("skipped",), "nothing to retry"),
])
def test_retry_refuses_what_has_nothing_to_retry(states, message):
    with pytest.raises(WrongState, match=message):
        plans.retry(group(*states), NOW)


def test_nothing_is_touched_while_a_callback_of_the_bet_is_in_flight():
    rows = group("exhausted", "in_flight")
    with pytest.raises(GroupBusy, match="being sent right now"):
        plans.retry(rows, NOW)
    with pytest.raises(GroupBusy):
        plans.cancel(rows, who="ann", reason="x")
    with pytest.raises(GroupBusy):
        plans.resend(rows, {1}, NOW)


def test_a_delivered_callback_after_the_exhausted_one_needs_include_delivered():
    rows = group("exhausted", "delivered")
    with pytest.raises(WrongState, match="out of order.*--include-delivered"):
        plans.retry(rows, NOW)
    changes = plans.retry(rows, NOW, include_delivered=True)
    assert summary(changes) == [(1, "pending", True, True), (2, "waiting", False, True)]


def test_include_delivered_replays_a_delivered_bet_from_its_first_callback():
    changes = plans.retry(group("delivered", "rejected", "skipped"), NOW,
                          include_delivered=True)
    assert summary(changes) == [(1, "pending", True, True), (2, "waiting", False, True)]


@pytest.mark.parametrize("state, message", [
    ("waiting", "waits behind /d1"), ("skipped", "a skipped callback is not sent again"),
    ("delivered", "add --include-delivered"),
])
def test_retry_of_one_request_id_explains_its_state(state, message):
    with pytest.raises(WrongState, match=message):
        plans.retry(group("retrying", state), NOW, request_id="r2")


def test_retry_of_an_unknown_request_id():
    with pytest.raises(WrongState, match="no callback with request_id 'nope'"):
        plans.retry(group("exhausted"), NOW, request_id="nope")


def test_recover_matches_by_time_destination_and_outcome():
    exhausted, retrying, delivered = group("exhausted", "retrying", "delivered")
    since = NOW - timedelta(hours=2)
    assert plans.matches(exhausted, since, NOW)
    assert not plans.matches(exhausted, NOW, NOW)
    assert not plans.matches(exhausted, since, NOW, destination="/d2")
    assert not plans.matches(retrying, since, NOW)
    assert plans.matches(retrying, since, NOW, outcome="failed")
    assert not plans.matches(delivered, since, NOW)
    assert plans.matches(delivered, since, NOW, include_delivered=True)


def test_cancel_of_the_head_takes_the_callbacks_behind_it():
    changes, whole = plans.cancel(group("delivered", "retrying", "waiting", "waiting"),
                                  who="ann", reason="platform asked")
    assert whole and [c.callback.id for c in changes] == [2, 3, 4]
    assert {c.state for c in changes} == {"skipped"}
    assert changes[0].note == "cancelled by ann: platform asked"


def test_cancel_of_one_waiting_callback_takes_only_it():
    changes, whole = plans.cancel(group("retrying", "waiting", "waiting"), who="ann",
                                  reason="dup", request_id="r2")
    assert not whole and [c.callback.id for c in changes] == [2]


@pytest.mark.parametrize("states, request_id, message", [
    (("delivered",), None, "nothing queued to cancel"),
    (("delivered", "pending"), "r1", "is delivered, not queued"),
    (("pending",), "nope", "no callback with request_id 'nope'"),
])
def test_cancel_refuses_what_is_not_queued(states, request_id, message):
    with pytest.raises(WrongState, match=message):
        plans.cancel(group(*states), who="ann", reason="x", request_id=request_id)


# --- the Integration Test's bets ------------------------------------------------------------

def integration_test(rows):
    """The same callbacks, sent by the Integration Test (such as its balance probe)."""
    from dataclasses import replace

    return [replace(c, bet_id="it00-balance", origin=plans.INTEGRATION_TEST) for c in rows]


def test_actions_leave_an_integration_test_bet_alone_unless_asked():
    from actions.errors import IntegrationTestBet

    rows = integration_test(group("exhausted", "pending"))
    for act in (lambda **kw: plans.retry(rows, NOW, **kw),
                lambda **kw: plans.resend(rows, {1}, NOW, **kw),
                lambda **kw: plans.cancel(rows, who="ann", reason="x", **kw)):
        with pytest.raises(IntegrationTestBet,
                           match="'it00-balance' is Integration Test traffic.*"
                                 "--include-integration-test"):
            act()
        assert act(include_integration_test=True)
