"""The investigator's decision path on plain rows (the page tests run it on real ones)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dashboard import verdicts

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def cb(id_, destination, state, attempts=1, next_at=None):
    return {"id": id_, "request_id": f"req-{id_}", "destination": destination, "state": state,
            "attempts": attempts, "next_attempt_at": next_at, "last_error": None,
            "created_at": NOW}


def att(n, callback_id, destination, status, outcome, error_class=None, code=None, no=1):
    return {"request_id": f"att-{n}", "callback_id": callback_id, "destination": destination,
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
