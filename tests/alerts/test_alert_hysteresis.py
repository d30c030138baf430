"""Alerts that do not flap (pure): hysteresis, quiet period, minimum volume and flapping, by
playing readings through :func:`alerts.rules.decide` the way each evaluation does."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts import rules
from health.figures import BrandNow
from health.money import MoneyAtRisk
from health.state import Recent

T0 = datetime(2026, 11, 29, 12, tzinfo=UTC)
#: How often the scheduler evaluates.
EVERY = timedelta(seconds=30)
RULE = rules.BUILT_IN[rules.FAILURE_RATE]   # fires above 25 %, resolves at 20 % for 5 min


def reading(failed: int, finished: int = 100, rule: rules.Rule = RULE) -> rules.Reading:
    f = BrandNow(brand_id=1, brand="acme", backlog=0, groups=0, oldest_pending_age_s=None,
                 recent=Recent(), last_answer_at=None, rate_window_s=600,
                 rate_finished=finished, rate_failed=failed, exhausted_window_s=3600,
                 window_exhausted=0, money=MoneyAtRisk())
    return rules.evaluate({rules.FAILURE_RATE: rule}, f)[rules.FAILURE_RATE]


def play(readings, rule: rules.Rule = RULE, start: datetime = T0):
    """Evaluate ``readings`` one per :data:`EVERY`, remembering state and recent fires as the
    store does; ``[(at, decision)]``."""
    state, fired_at, played = rules.State(), [], []
    for n, r in enumerate(readings):
        at = start + n * EVERY
        recent = sum(1 for t in fired_at
                     if (at - t).total_seconds() < rules.FLAPPING_WINDOW_S)
        state = rules.State(state.firing_since, state.clear_since, state.flapping, recent)
        decision = rules.decide(rule, r, state, at)
        if decision.event == rules.FIRING:
            fired_at.append(at)
        state = decision.state
        played.append((at, decision))
    return played


def events(played) -> list[tuple[str, str | None]]:
    return [(d.event, d.notify) for _, d in played if d.event]


def test_a_brand_hovering_around_the_threshold_fires_once_and_does_not_resolve():
    # 24 % and 26 % in turn for 30 minutes: above the threshold every other minute, never
    # at or below the resolve threshold (20 %)
    hovering = [reading(26 if n % 2 else 24) for n in range(60)]
    assert events(play(hovering)) == [("firing", "firing")]


def test_it_resolves_only_after_staying_below_the_resolve_threshold_for_the_quiet_period():
    calm_minutes = [reading(30)] + [reading(10)] * 9 + [reading(24)] + [reading(10)] * 11
    played = play(calm_minutes)
    # 4.5 min below 20 %, then 24 %: the quiet period starts again; 10 more readings below
    [(fired_at, _), (resolved_at, resolved)] = [(t, d) for t, d in played if d.event]
    assert resolved.event == "resolved"
    assert resolved_at - (fired_at + 11 * EVERY) == timedelta(minutes=5)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 200)), max_size=80))
def test_fires_only_on_enough_attempts_and_resolves_only_after_a_quiet_period(seq):
    readings = [reading(min(failed, finished), finished) for failed, finished in seq]
    played = play(readings)
    firing = False
    for n, (_at, decision) in enumerate(played):
        failed, finished = min(seq[n][0], seq[n][1]), seq[n][1]
        if decision.event == rules.FIRING:
            # never on fewer attempts than the rule judges from, and only above the threshold
            assert finished >= RULE.min_attempts and failed * 100 > 25 * finished
            assert not firing
            firing = True
        elif decision.event == rules.RESOLVED and not decision.settled:
            assert firing
            # every reading of the last quiet_s was at or below the resolve threshold (or too
            # few attempts to judge)
            quiet = RULE.quiet_s // EVERY.seconds
            assert n >= quiet
            for f, k in ((min(a, b), b) for a, b in seq[n - quiet:n + 1]):
                assert k < RULE.min_attempts or f * 100 <= 20 * k
            firing = False


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 19), min_size=1, max_size=60), st.data())
def test_low_volume_never_fires(finished, data):
    readings = [reading(data.draw(st.integers(0, k)), k) for k in finished]
    assert events(play(readings)) == []


def test_a_flapping_rule_notifies_once_then_stays_quiet_until_it_settles():
    rule = rules.Rule(rules.FAILURE_RATE, Decimal(25), 600, quiet_s=60)
    # Broken for a minute, calm for three: it fires and resolves every four minutes
    cycle = [reading(50)] * 2 + [reading(0)] * 6
    played = play(cycle * 6 + [reading(0)] * 120, rule)
    said = events(played)
    assert said[:6] == [("firing", "firing"), ("resolved", "resolved"),
                        ("firing", "firing"), ("resolved", "resolved"),
                        ("firing", "flapping"), ("resolved", None)]
    # later fires and resolutions are history only, marked as flapping
    assert set(said[6:12]) == {("firing", None), ("resolved", None)}
    quiet = [d for _, d in played if d.event][4:12]
    assert all(d.flapping for d in quiet)
    # an hour after the third-last fire it has settled: one "resolved" tells the receivers
    assert said[12:] == [("resolved", "resolved")]
    settled = [d for _, d in played if d.event][-1]
    assert settled.settled and not settled.state.flapping


def test_a_rule_that_is_off_never_fires_and_a_firing_one_turned_off_resolves():
    off = rules.Rule(rules.FAILURE_RATE, Decimal(25), 600, enabled=False)
    assert events(play([reading(90, rule=off)] * 10, off)) == []
    played = play([reading(90)] + [reading(90, rule=off)] * 11)
    assert events(played) == [("firing", "firing"), ("resolved", "resolved")]
