"""The investigator's decision path on plain rows (the page tests run it on real ones)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard import markup, verdicts

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def cb(id_, destination, state, attempts=1, next_at=None):
    return {"id": id_, "request_id": f"req-{id_}", "destination": destination, "state": state,
            "attempts": attempts, "next_attempt_at": next_at, "last_error": None,
            "created_at": NOW}


def att(n, callback_id, destination, status, outcome, error_class=None, code=None, no=1):
    return {"attempt_id": f"att-{n}", "callback_id": callback_id, "destination": destination,
            "attempt_no": no, "started_at": NOW - timedelta(minutes=10 - n),
            "response_status": status, "outcome": outcome, "error_class": error_class,
            "error_code": code, "error_detail": None, "response_body": None}


def test_all_delivered_points_downstream_with_every_request_id():
    callbacks = [cb(1, "/bet/place", "delivered"), cb(2, "/bet/settle", "delivered", 2)]
    attempts = [att(1, 1, "/bet/place", 204, "delivered"),
                att(2, 2, "/bet/settle", 503, "failed", "http_status"),
                att(3, 2, "/bet/settle", 204, "delivered", no=2)]
    v = verdicts.investigate("b", {"status": "SETTLED"}, callbacks, attempts, NOW)
    assert v.key == verdicts.DELIVERED
    assert v.evidence == ("att-1", "att-3")
    assert "1 of them needed more than one attempt" in v.explanation


def test_supported_place_error_is_normal_and_explains_the_skips():
    callbacks = [cb(1, "/bet/place", "rejected"), cb(2, "/bet/accept", "skipped", 0)]
    attempts = [att(1, 1, "/bet/place", 400, "rejected", code="not_enough_balance")]
    v = verdicts.investigate("b", None, callbacks, attempts, NOW)
    assert v.key == verdicts.SUPPORTED_ERROR
    assert "not_enough_balance" in v.explanation and "1 later callback(s) were skipped" in \
        v.explanation
    assert v.evidence == ("att-1",)


@pytest.mark.parametrize("status, error_class, key", [
    (400, "unsupported_error", verdicts.HANDLER_BUG),
    (404, "http_status", verdicts.HANDLER_BUG),
    (500, "http_status", verdicts.PLATFORM_ERROR),
    (503, "http_status", verdicts.PLATFORM_ERROR),
    (429, "http_status", verdicts.RETRYING),
    (302, "http_status", verdicts.RETRYING),
    (None, "timeout", verdicts.RETRYING),
])
def test_a_callback_still_retrying_is_judged_by_its_last_answer(status, error_class, key):
    next_at = NOW + timedelta(minutes=4)
    callbacks = [cb(1, "/bet/place", "delivered"), cb(2, "/bet/settle", "pending", 1, next_at)]
    attempts = [att(1, 1, "/bet/place", 204, "delivered"),
                att(2, 2, "/bet/settle", status, "failed", error_class)]
    v = verdicts.investigate("b", None, callbacks, attempts, NOW, max_attempts=10)
    assert v.key == key
    assert v.evidence == ("att-2",)
    assert "in 4 min" in v.explanation and "1 of 10 attempts made" in v.explanation


def test_unsupported_code_names_what_the_destination_allows():
    callbacks = [cb(1, "/bet/place", "pending", 1, NOW)]
    attempts = [att(1, 1, "/bet/place", 400, "failed", "unsupported_error", "bet_not_found")]
    v = verdicts.investigate("b", None, callbacks, attempts, NOW)
    assert v.key == verdicts.HANDLER_BUG
    assert "`bet_not_found`" in v.explanation and "`not_enough_balance`" in v.explanation


def test_queued_and_waiting_callbacks_are_not_sent_yet():
    due = NOW + timedelta(seconds=30)
    v = verdicts.investigate("b", None, [cb(1, "/bet/place", "pending", 0, due)], [], NOW)
    assert v.key == verdicts.QUEUED and "in 30 s" in v.explanation
    v = verdicts.investigate("b", None, [cb(1, "/bet/place", "waiting", 0)], [], NOW)
    assert v.key == verdicts.QUEUED and "waiting behind" in v.explanation


def test_exhausted_place_gave_up_and_says_the_bet_was_declined():
    callbacks = [cb(1, "/bet/place", "exhausted", 2), cb(2, "/bet/accept", "skipped", 0),
                 cb(3, "/bet/decline", "delivered")]
    attempts = [att(1, 1, "/bet/place", None, "failed", "connect"),
                att(2, 1, "/bet/place", 500, "exhausted", "http_status", no=2),
                att(3, 3, "/bet/decline", 204, "delivered")]
    v = verdicts.investigate("b", None, callbacks, attempts, NOW)
    assert v.key == verdicts.GAVE_UP
    assert v.evidence == ("att-1", "att-2")
    assert "failed 2 time(s)" in v.explanation and "HTTP 500" in v.explanation
    assert "/bet/decline was queued" in v.explanation


def test_no_trace_escalates_and_other_brand_redirects():
    assert verdicts.investigate("b", None, [], [], NOW).key == verdicts.NO_TRACE
    v = verdicts.investigate("b", None, [], [], NOW, other_brand="bravo")
    assert v.key == verdicts.NO_TRACE and "Switch the brand selector to bravo" in v.next_step


def test_escalation_summary_carries_ids_times_and_codes():
    callbacks = [cb(1, "/bet/settle", "pending", 1, NOW)]
    attempts = [att(1, 1, "/bet/settle", 503, "failed", "http_status")]
    v = verdicts.investigate("bet-7", None, callbacks, attempts, NOW)
    text = verdicts.escalation_summary("bet-7", v, {"status": "ACCEPTED", "brand": "alpha"},
                                       callbacks, attempts, NOW)
    for needle in ("Bet ID: bet-7", "Brand: alpha", "Verdict: Platform error", "req-1",
                   "att-1", "503", "2026-11-23 11:51:00", "UTC"):
        assert needle in text
    assert "`" not in text


def test_every_verdict_has_a_title_and_a_tone():
    assert set(verdicts.STYLE) == set(verdicts.VERDICTS)
    assert {tone for _, tone in verdicts.STYLE.values()} <= {"success", "info", "warning",
                                                              "error"}


# --- attempts written before their request goes out: sending, and closed as unknown ---------

UNKNOWN_DETAIL = ("the worker stopped before recording the answer; the platform may have "
                  "received request ")


def lost(n, callback_id, destination, no=1):
    """An attempt the sweeper closed as unknown."""
    return {**att(n, callback_id, destination, None, "unknown", "unknown", no=no),
            "error_detail": UNKNOWN_DETAIL + f"att-{n}"}


def test_unknown_outcome_names_the_request_the_platform_may_have_received():
    next_at = NOW + timedelta(seconds=5)
    callbacks = [cb(1, "/bet/place", "delivered"), cb(2, "/bet/settle", "pending", 1, next_at)]
    attempts = [att(1, 1, "/bet/place", 204, "delivered"), lost(2, 2, "/bet/settle")]
    v = verdicts.investigate("b", None, callbacks, attempts, NOW, max_attempts=10)
    assert v.key == verdicts.OUTCOME_UNKNOWN and v.tone == "warning"
    assert v.title == "Outcome unknown"
    assert v.explanation.startswith(
        "Outcome unknown: the worker stopped before recording the answer; the platform may "
        "have received request `att-2` (`/bet/settle` attempt 1) at 2026-11-23 11:52:00 UTC "
        "(8 min ago).")
    assert "sent again with the same request_id `req-2`" in v.explanation
    assert "next try in 5 s" in v.explanation and "1 of 10 attempts made" in v.explanation
    assert "search their logs for Attempt ID att-2" in markup.plain(v.next_step)
    assert v.evidence == ("att-2",)


def test_unknown_after_a_5xx_is_judged_by_the_latest_attempt():
    callbacks = [cb(1, "/bet/settle", "in_flight", 2)]
    attempts = [att(1, 1, "/bet/settle", 503, "failed", "http_status"),
                lost(2, 1, "/bet/settle", no=2)]
    v = verdicts.investigate("b", None, callbacks, attempts, NOW)
    assert v.key == verdicts.OUTCOME_UNKNOWN
    assert "being sent again right now with the same request_id `req-1`" in v.explanation
    assert v.evidence == ("att-1", "att-2")


def test_a_request_in_flight_is_said_so():
    callbacks = [cb(1, "/bet/place", "in_flight", 0)]
    attempts = [att(9, 1, "/bet/place", None, "sending")]  # started a minute ago
    v = verdicts.investigate("b", None, callbacks, attempts, NOW, timeout_s=10)
    assert v.key == verdicts.IN_FLIGHT and v.tone == "info"
    assert v.title == "A request is in flight right now"
    assert v.explanation.startswith(
        "A request is in flight right now: `/bet/place` attempt 1 (Attempt ID `att-9`) started "
        "1 min ago (2026-11-23 11:59:00 UTC) and its answer is not recorded yet")
    assert "probably stopped" not in v.explanation
    assert "reload in a few seconds" in v.next_step
    assert v.evidence == ("att-9",)


def test_a_request_sending_long_past_the_timeout_probably_lost_its_worker():
    callbacks = [cb(1, "/bet/place", "in_flight", 0)]
    attempts = [att(1, 1, "/bet/place", None, "sending")]  # started 9 minutes ago
    v = verdicts.investigate("b", None, callbacks, attempts, NOW, timeout_s=10)
    assert v.key == verdicts.IN_FLIGHT
    assert "longer than the 10 s timeout: its worker probably stopped" in v.explanation
    assert "closed as outcome unknown" in v.explanation
    assert "integration manager" in v.next_step
    # with a long timeout the same attempt is still within its time
    v = verdicts.investigate("b", None, callbacks, attempts, NOW, timeout_s=600)
    assert "probably stopped" not in v.explanation


def test_a_callback_sent_again_after_an_unknown_outcome_is_in_flight():
    callbacks = [cb(1, "/bet/settle", "in_flight", 1)]
    attempts = [lost(1, 1, "/bet/settle"), att(2, 1, "/bet/settle", None, "sending", no=2)]
    v = verdicts.investigate("b", None, callbacks, attempts, NOW)
    assert v.key == verdicts.IN_FLIGHT
    assert "attempt 2 (Attempt ID `att-2`)" in v.explanation
    assert "after an attempt whose outcome is unknown (Attempt ID `att-1`)" in v.explanation
    assert "same request_id `req-1`" in v.explanation
    assert v.evidence == ("att-1", "att-2")


def test_delivered_after_an_unknown_outcome_keeps_that_request_in_the_evidence():
    callbacks = [cb(1, "/bet/place", "delivered", 2)]
    attempts = [lost(1, 1, "/bet/place"), att(2, 1, "/bet/place", 204, "delivered", no=2)]
    v = verdicts.investigate("b", None, callbacks, attempts, NOW)
    assert v.key == verdicts.DELIVERED
    assert "1 earlier attempt(s) ended with an unknown outcome (Attempt ID `att-1`)" in \
        v.explanation
    assert v.evidence == ("att-1", "att-2")


def test_gave_up_after_an_unknown_outcome_says_what_may_have_arrived():
    callbacks = [cb(1, "/bet/settle", "exhausted", 2)]
    attempts = [att(1, 1, "/bet/settle", 503, "failed", "http_status"),
                lost(2, 1, "/bet/settle", no=2)]
    v = verdicts.investigate("b", None, callbacks, attempts, NOW)
    assert v.key == verdicts.GAVE_UP
    assert "the last attempt got no recorded answer" in v.explanation
    assert "may have received request `att-2`" in v.explanation


def test_escalation_summary_names_the_requests_without_an_answer():
    callbacks = [cb(1, "/bet/settle", "in_flight", 1)]
    attempts = [lost(1, 1, "/bet/settle"), att(2, 1, "/bet/settle", None, "sending", no=2)]
    v = verdicts.investigate("bet-7", None, callbacks, attempts, NOW)
    text = verdicts.escalation_summary("bet-7", v, {"status": "ACCEPTED", "brand": "alpha"},
                                       callbacks, attempts, NOW)
    assert "Verdict: A request is in flight right now" in text
    assert "Attempt IDs behind the verdict (X-Request-ID): att-1, att-2" in text
    [first, second] = [line for line in text.splitlines() if "request att-" in line]
    assert "unknown" in first and "the platform may have received this request" in first
    assert "sending" in second and "in flight: no answer recorded yet" in second
    assert "`" not in text


def test_delivered_after_handler_errors_says_so_and_keeps_them_as_evidence():
    callbacks = [cb(1, "/bet/place", "delivered", 3)]
    attempts = [att(1, 1, "/bet/place", 400, "failed", "unsupported_error", "oops", no=1),
                att(2, 1, "/bet/place", 404, "failed", "http_status", no=2),
                att(3, 1, "/bet/place", 204, "delivered", no=3)]
    v = verdicts.investigate("b", {"status": "PLACED"}, callbacks, attempts, NOW)
    assert v.key == verdicts.DELIVERED
    assert v.title == "Delivered after 2 handler errors — look downstream"
    assert "HTTP 400 oops, HTTP 404" in markup.plain(v.explanation)
    assert v.evidence == ("att-1", "att-2", "att-3")


def test_delivered_after_a_5xx_or_a_supported_error_is_plainly_delivered():
    callbacks = [cb(1, "/bet/place", "delivered", 2)]
    attempts = [att(1, 1, "/bet/place", 503, "failed", "http_status"),
                att(2, 1, "/bet/place", 204, "delivered", no=2)]
    v = verdicts.investigate("b", {"status": "PLACED"}, callbacks, attempts, NOW)
    assert v.title == "Delivered — look downstream"


def test_data_in_a_verdict_stays_text():
    evil = "x`](javascript:alert(1)) ![i](https://evil.example/i.png) <b>"
    callbacks = [cb(1, "/bet/settle", "pending", 1, NOW)]
    attempts = [att(1, 1, "/bet/settle", 400, "failed", "unsupported_error", evil)]
    v = verdicts.investigate(evil, None, callbacks, attempts, NOW)
    assert v.key == verdicts.HANDLER_BUG
    # the code sits in a code span whose fence is longer than any backtick run in it
    assert f"``{evil}``" in v.explanation
    none = verdicts.investigate(evil, None, [], [], NOW, other_brand="[b](https://evil.example)")
    assert markup.text("[b](https://evil.example)") in none.explanation
