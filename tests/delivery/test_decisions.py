import json
import random
from datetime import UTC, datetime, timedelta

import pytest

import contract
from delivery.decisions import classify, next_state, parse_retry_after, parse_schedule, plan_next

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _err(code):
    return json.dumps(contract.error_body(code)).encode()


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_delivered(status):
    assert classify("/bet/settle", status).kind == "delivered"


def test_supported_code_is_rejected_for_its_destination_only():
    place = classify("/bet/place", 400, _err("not_enough_balance"))
    assert (place.kind, place.error_code) == ("rejected", "not_enough_balance")
    unsettle = classify("/bet/unsettle", 400, _err("not_enough_balance"))
    assert (unsettle.kind, unsettle.error_class) == ("failed", "unsupported_error")
    assert "not supported for /bet/unsettle" in unsettle.error_detail


@pytest.mark.parametrize("body", [b"", b"oops", b'{"message": "bad"}', b'{"error": "x"}'])
def test_400_without_contract_body_is_unsupported(body):
    outcome = classify("/bet/place", 400, body)
    assert (outcome.kind, outcome.error_class) == ("failed", "unsupported_error")


def test_truncated_400_cannot_be_read():
    outcome = classify("/bet/place", 400, _err("not_enough_balance"), truncated=True)
    assert outcome.error_class == "unsupported_error"


@pytest.mark.parametrize("status", [301, 302, 401, 404, 409, 429, 500, 502, 503])
def test_other_statuses_fail(status):
    outcome = classify("/bet/place", status, b"")
    assert (outcome.kind, outcome.error_class) == ("failed", "http_status")


def test_transport_errors_fail_with_their_class():
    outcome = classify("/bet/place", None, transport_error="timeout", transport_detail="slow")
    assert (outcome.kind, outcome.error_class, outcome.error_detail) == ("failed", "timeout",
                                                                         "slow")


def test_default_schedule_is_ten_attempts_over_about_a_day():
    waits = contract.DEFAULT_RETRY_SCHEDULE_S
    assert len(waits) == 10 and waits[:4] == (0, 5, 30, 120)
    assert 22 * 3600 < sum(waits) < 24 * 3600


def test_plan_next_follows_the_schedule_within_jitter():
    rng = random.Random(7)
    for attempt_no, wait in enumerate(contract.DEFAULT_RETRY_SCHEDULE_S[1:], start=1):
        decision = plan_next(attempt_no, contract.DEFAULT_RETRY_SCHEDULE_S, NOW, rng=rng)
        assert wait * 0.8 <= decision.delay_s <= wait * 1.2
        assert decision.retry_at == NOW + timedelta(seconds=decision.delay_s)


def test_jitter_spreads_retries():
    delays = {plan_next(1, (0, 100), NOW, rng=random.Random(i)).delay_s for i in range(20)}
    assert len(delays) > 10 and min(delays) >= 80 and max(delays) <= 120


def test_last_attempt_exhausts():
    assert plan_next(10, contract.DEFAULT_RETRY_SCHEDULE_S, NOW).exhausted
    assert plan_next(3, (0, 5, 30), NOW).exhausted


def test_retry_after_replaces_the_wait_within_a_bound():
    assert plan_next(1, (0, 5, 30), NOW, retry_after_s=42).delay_s == 42
    assert plan_next(1, (0, 5, 30), NOW, retry_after_s=10**6).delay_s == contract.MAX_RETRY_AFTER_S


def test_retry_after_header_forms():
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Mon, 23 Nov 2026 12:01:00 GMT", NOW) == 60
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None


def test_next_state():
    assert next_state(classify("/bet/place", 204), 1, (0, 5), NOW) == ("delivered", None)
    failed = classify("/bet/place", 500)
    state, at = next_state(failed, 1, (0, 5), NOW, rng=random.Random(1))
    assert state == "pending" and at > NOW
    assert next_state(failed, 2, (0, 5), NOW) == ("exhausted", None)


@pytest.mark.parametrize("text", ["", "a,b", "5,-1", ",".join(["1"] * 51)])
def test_bad_schedules_are_explained(text):
    with pytest.raises(ValueError, match="retry schedule"):
        parse_schedule(text)
    assert parse_schedule("0, 5,30") == (0, 5, 30)


# --- every boundary of classify, with the whole outcome ---------------------------------------

DELIVERED = ("delivered", None)
HTTP_STATUS = ("failed", "http_status")
REDIRECT = "redirects are not followed"


@pytest.mark.parametrize("status, expected, detail", [
    (199, HTTP_STATUS, "HTTP 199"),
    (200, DELIVERED, None),
    (299, DELIVERED, None),
    (300, HTTP_STATUS, "HTTP 300: " + REDIRECT),
    (399, HTTP_STATUS, "HTTP 399: " + REDIRECT),
    (401, HTTP_STATUS, "HTTP 401"),
    (422, HTTP_STATUS, "HTTP 422"),
    (429, HTTP_STATUS, "HTTP 429"),
    (499, HTTP_STATUS, "HTTP 499"),
    (500, HTTP_STATUS, "HTTP 500"),
    (599, HTTP_STATUS, "HTTP 599"),
])
def test_status_boundaries(status, expected, detail):
    # Even with a supported error code in the body, only a 400 can be a business answer
    outcome = classify("/bet/place", status, _err("not_enough_balance"))
    assert (outcome.kind, outcome.error_class) == expected
    assert outcome.error_detail == detail
    assert outcome.error_code is None
    assert outcome.final == (expected == DELIVERED)


@pytest.mark.parametrize("destination", list(contract.DESTINATIONS))
def test_400_is_rejected_only_with_a_code_of_its_own_destination(destination):
    spec = contract.DESTINATIONS[destination]
    for code in sorted({e.code for d in contract.DESTINATIONS.values()
                        for e in d.supported_errors} | {"internal_error"}):
        outcome = classify(destination, 400, _err(code))
        if code in spec.supported_codes:
            assert (outcome.kind, outcome.error_class, outcome.error_code) == (
                "rejected", None, code)
            assert outcome.final
        else:
            assert (outcome.kind, outcome.error_class, outcome.error_code) == (
                "failed", "unsupported_error", code)
            assert f"not supported for {destination}" in outcome.error_detail


def test_the_heartbeats_unknown_session_is_a_business_answer():
    outcome = classify(contract.HEARTBEAT, 400, _err("auth_session_unknown"))
    assert (outcome.kind, outcome.error_code) == ("rejected", "auth_session_unknown")
