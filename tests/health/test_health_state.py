"""Healthy, degraded or down, from recent attempts and the queue (pure)."""
import pytest

from health.state import DEGRADED, DOWN, HEALTHY, Recent, classify, duration


@pytest.mark.parametrize("recent, state", [
    (Recent(), HEALTHY),                                              # no traffic
    (Recent(finished=100, failed=0), HEALTHY),
    (Recent(finished=100, failed=1), HEALTHY),                        # one failure is no trend
    (Recent(finished=100, failed=9), HEALTHY),                        # under 10 %
    (Recent(finished=100, failed=10), DEGRADED),
    (Recent(finished=2, failed=2), DEGRADED),                         # too few to call it down
    (Recent(finished=3, failed=3), DOWN),
    (Recent(finished=50, failed=49), DEGRADED),                       # something still answers
    (Recent(finished=10, oldest_pending_age_s=301), DEGRADED),
    (Recent(finished=10, oldest_pending_age_s=300), HEALTHY),
    (Recent(finished=10, exhausted=1), DEGRADED),
    (Recent(retrying=4), DEGRADED),                                   # waiting on back-off
])
def test_state_thresholds(recent, state):
    assert classify(recent).state == state


def test_the_verdict_says_why():
    verdict = classify(Recent(finished=20, failed=5, oldest_pending_age_s=900, exhausted=2))
    assert verdict.state == DEGRADED
    assert verdict.reason == ("5 of 20 attempts in 15 min failed (25%); oldest undelivered "
                              "callback waiting 15 min; 2 callback(s) exhausted in the last "
                              "60 min")
    assert classify(Recent(finished=4, failed=4)).reason == \
        "none of the last 4 attempts in 15 min was answered"
    assert classify(Recent()).reason == "answering normally"


def test_durations_read_like_people_write_them():
    assert [duration(s) for s in (None, 5, 90, 3600, 3900, 86400 * 2 + 3600 * 4)] == \
        ["—", "5 s", "1 min", "1 h", "1 h 5 min", "2 d 4 h"]
