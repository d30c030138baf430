"""Fault decisions as pure functions of a seeded random generator and the clock."""
import random
import statistics
from collections import Counter

import pytest

from delivery.errors import ConfigurationError
from sandbox import faults
from sandbox.faults import FaultProfile, Latency, Outage, decide, parse_latency, parse_outage

START_S = 1_000_000.0


def decisions(profile, count=10_000, seed=7, at_s=START_S):
    rng = random.Random(seed)
    return [decide(profile, rng, at_s, START_S) for _ in range(count)]


def test_no_faults_by_default():
    assert {d.action for d in decisions(FaultProfile(), 1000)} == {faults.PASS}
    assert all(d.apply and d.latency_ms == 0 for d in decisions(FaultProfile(), 100))


def test_shares_come_out_near_the_profile():
    # Given 10 % 5xx, 5 % timeouts and 20 % unsupported 400s
    profile = FaultProfile(error_rate=0.10, timeout_rate=0.05, unsupported_rate=0.20).check()
    # When 10,000 requests are decided
    counts = Counter(d.action for d in decisions(profile))
    # Then each share is within half a point or so of its setting
    assert counts[faults.ERROR] == pytest.approx(1000, abs=100)
    assert counts[faults.TIMEOUT] == pytest.approx(500, abs=70)
    assert counts[faults.UNSUPPORTED] == pytest.approx(2000, abs=130)


def test_the_same_seed_gives_the_same_decisions():
    profile = FaultProfile(error_rate=0.3, latency=Latency("uniform", 10, 50))
    assert decisions(profile, 200, seed=3) == decisions(profile, 200, seed=3)
    assert decisions(profile, 200, seed=3) != decisions(profile, 200, seed=4)


def test_5xx_are_not_applied_and_draw_from_the_statuses():
    profile = FaultProfile(error_rate=1.0, error_statuses=(502, 504))
    drawn = decisions(profile, 500)
    assert {d.status for d in drawn} == {502, 504}
    assert not any(d.apply for d in drawn)


def test_a_timeout_hangs_and_closes_and_applies_only_when_told():
    hang = decisions(FaultProfile(timeout_rate=1.0, timeout_s=2.5), 1)[0]
    assert (hang.action, hang.hang_s, hang.close_connection, hang.apply) == (
        faults.TIMEOUT, 2.5, True, False)
    applied = decisions(FaultProfile(timeout_rate=1.0, timeout_applies=True), 1)[0]
    assert applied.apply


def test_unsupported_400_uses_the_profile_code():
    decision = decisions(FaultProfile(unsupported_rate=1.0, unsupported_code="oops"), 1)[0]
    assert (decision.status, decision.code, decision.apply) == (400, "oops", False)


@pytest.mark.parametrize("elapsed_s, down", [(0, True), (9.9, True), (10, False), (59.9, False),
                                             (60, True), (135, False)])
def test_periodic_outage_is_down_at_the_start_of_every_period(elapsed_s, down):
    # Given "down 10 s every 60 s"
    profile = FaultProfile(outages=(parse_outage("10/60"),))
    # Then a request at elapsed_s meets an outage or not
    decision = decisions(profile, 1, at_s=START_S + elapsed_s)[0]
    assert (decision.action == faults.OUTAGE) is down


def test_relative_outage_window():
    profile = FaultProfile(outages=(parse_outage("60-90"),))
    assert decisions(profile, 1, at_s=START_S + 59)[0].action == faults.PASS
    assert decisions(profile, 1, at_s=START_S + 60)[0].action == faults.OUTAGE
    assert decisions(profile, 1, at_s=START_S + 90)[0].action == faults.PASS


def test_absolute_outage_window_from_iso_times():
    outage = parse_outage({"start": "2026-11-23T12:00:00Z", "end": "2026-11-23T12:05:00Z"})
    noon_s = outage.start_at_s
    assert outage.is_down(noon_s + 1, started_at_s=0)
    assert not outage.is_down(noon_s + 301, started_at_s=0)


def test_outage_answers_503_or_closes_the_connection():
    window = (Outage(from_s=0, to_s=10),)
    answered = decisions(FaultProfile(outages=window), 1)[0]
    closed = decisions(FaultProfile(outages=window, outage_mode="close"), 1)[0]
    assert (answered.status, answered.close_connection, answered.apply) == (503, False, False)
    assert (closed.status, closed.close_connection) == (None, True)


def test_outage_wins_over_the_shares():
    profile = FaultProfile(error_rate=1.0, outages=(Outage(from_s=0, to_s=10),))
    assert decisions(profile, 1)[0].action == faults.OUTAGE


def test_fixed_latency():
    assert {d.latency_ms for d in decisions(FaultProfile(latency=parse_latency("200")), 50)} == {
        200.0}


def test_uniform_latency_stays_in_its_range():
    drawn = [d.latency_ms for d in decisions(FaultProfile(latency=parse_latency("50-400")), 2000)]
    assert 50 <= min(drawn) < 60 and 390 < max(drawn) <= 400


def test_lognormal_latency_has_its_median():
    drawn = [d.latency_ms for d in
             decisions(FaultProfile(latency=parse_latency("lognormal:120:0.6")), 5000)]
    assert statistics.median(drawn) == pytest.approx(120, rel=0.05)
    assert max(drawn) > 300  # a long tail


@pytest.mark.parametrize("spec, expected", [
    ("200", Latency("fixed", 200)), (150, Latency("fixed", 150)),
    ("50-400", Latency("uniform", 50, 400)),
    ("lognormal:120:0.6", Latency("lognormal", 120, sigma=0.6)),
    ({"min": 5, "max": 9}, Latency("uniform", 5, 9)),
    ({"median": 80, "sigma": 0.3}, Latency("lognormal", 80, sigma=0.3)),
])
def test_latency_specs(spec, expected):
    assert parse_latency(spec) == expected


@pytest.mark.parametrize("spec", ["fast", "-5", "400-50", "lognormal:0:1", "lognormal:5", True])
def test_bad_latency_names_the_option_and_value(spec):
    with pytest.raises(ConfigurationError) as caught:
        parse_latency(spec, "--latency-ms")
    assert "--latency-ms" in str(caught.value) and repr(spec) in str(caught.value)


@pytest.mark.parametrize("spec", ["10", "20/10", "0/10", "90-60", "a/b", {"start": "x"}])
def test_bad_outage_names_the_option_and_value(spec):
    with pytest.raises(ConfigurationError) as caught:
        parse_outage(spec, "--outage")
    assert "--outage" in str(caught.value)


@pytest.mark.parametrize("profile, words", [
    (FaultProfile(error_rate=1.5), "error_rate"),
    (FaultProfile(error_rate=0.6, timeout_rate=0.6), "at most 1"),
    (FaultProfile(error_statuses=(404,)), "error_statuses"),
    (FaultProfile(unsupported_code="not_enough_balance"), "supported"),
    (FaultProfile(outage_mode="sometimes"), "outage_mode"),
    (FaultProfile(timeout_s=0), "timeout_s"),
])
def test_profiles_that_cannot_work_are_refused(profile, words):
    with pytest.raises(ConfigurationError) as caught:
        profile.check()
    assert words in str(caught.value)
