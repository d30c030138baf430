"""Rules, their defaults and their evaluation (pure)."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from alerts import messages, rules
from health.figures import BrandNow
from health.money import MoneyAtRisk
from health.state import Recent

T0 = datetime(2026, 11, 29, 12, tzinfo=UTC)


def figures(**over) -> BrandNow:
    values = dict(brand_id=1, brand="acme", backlog=0, groups=0, oldest_pending_age_s=None,
                  recent=Recent(), last_answer_at=None, rate_window_s=600, rate_finished=0,
                  rate_failed=0, exhausted_window_s=3600, window_exhausted=0,
                  money=MoneyAtRisk())
    values.update(over)
    return BrandNow(**values)


def broken(rules_, f) -> set[str]:
    return {k for k, r in rules.evaluate(rules_, f).items() if r.broken}


def test_brand_rule_beats_default_beats_built_in():
    rows = [{"brand_id": None, "kind": "failure_rate", "threshold": Decimal(40),
             "window_s": 300, "enabled": True},
            {"brand_id": 7, "kind": "failure_rate", "threshold": Decimal(5), "window_s": None,
             "enabled": True},
            {"brand_id": 8, "kind": "money_at_risk", "threshold": Decimal(50), "window_s": 60,
             "enabled": False}]
    seven, eight, other = (rules.effective(rows, b) for b in (7, 8, 9))
    assert seven["failure_rate"] == rules.Rule("failure_rate", Decimal(5), 600, True, "brand")
    assert other["failure_rate"] == rules.Rule("failure_rate", Decimal(40), 300, True,
                                               "default")
    assert eight["money_at_risk"] == rules.Rule("money_at_risk", Decimal(50), None, False,
                                                "brand")
    assert other["oldest_pending"] == rules.BUILT_IN["oldest_pending"]


def test_failure_rate_fires_above_the_threshold_with_enough_attempts():
    built_in = dict(rules.BUILT_IN)
    assert broken(built_in, figures(rate_finished=20, rate_failed=6)) == {"failure_rate"}
    assert broken(built_in, figures(rate_finished=20, rate_failed=5)) == set()  # 25 % is not above
    assert broken(built_in, figures(rate_finished=4, rate_failed=4)) == set()   # too few
    reading = rules.evaluate(built_in, figures(rate_finished=20, rate_failed=6))["failure_rate"]
    assert reading.value == "30.0 %" and reading.threshold == "25 %"
    assert reading.message == ("failure rate 30.0 % over the last 10 min: 6 of 20 attempts "
                               "failed (threshold 25 %)")


def test_oldest_pending_exhausted_and_money_rules():
    built_in = dict(rules.BUILT_IN)
    assert broken(built_in, figures(oldest_pending_age_s=901, backlog=3)) == {"oldest_pending"}
    assert broken(built_in, figures(oldest_pending_age_s=900)) == set()
    assert broken(built_in, figures(window_exhausted=1)) == {"exhausted"}
    money = MoneyAtRisk()
    money.add("EUR", "held", Decimal("600"))
    money.add("EUR", "owed", Decimal("400.01"))
    money.add("USD", "owed", Decimal("999"))
    reading = rules.evaluate(built_in, figures(money=money))["money_at_risk"]
    assert reading.broken and reading.value == "EUR 1,000.01"
    assert "USD" not in reading.message.split(":")[0]   # only currencies over the threshold
    under = MoneyAtRisk()
    under.add("EUR", "owed", Decimal("999"))
    under.add("USD", "owed", Decimal("999"))  # 1,998 across currencies is never added up
    assert broken(built_in, figures(money=under)) == set()


def test_a_rule_that_is_off_never_fires():
    off = dict(rules.BUILT_IN, exhausted=rules.Rule("exhausted", Decimal(0), 3600, False))
    assert broken(off, figures(window_exhausted=10)) == set()


def test_a_rule_fires_once_and_resolves_once_after_its_quiet_period():
    rule = rules.BUILT_IN["exhausted"]
    broken_ = rules.evaluate(dict(rules.BUILT_IN), figures(window_exhausted=2))["exhausted"]
    calm = rules.evaluate(dict(rules.BUILT_IN), figures())["exhausted"]
    fired = rules.decide(rule, broken_, rules.State(), T0)
    assert (fired.event, fired.notify) == ("firing", "firing")
    still = rules.decide(rule, broken_, fired.state, T0 + timedelta(seconds=30))
    assert still.event is None                                     # still firing: quiet
    waiting = rules.decide(rule, calm, still.state, T0 + timedelta(minutes=1))
    assert waiting.event is None and waiting.state.clear_since == T0 + timedelta(minutes=1)
    done = rules.decide(rule, calm, waiting.state, T0 + timedelta(minutes=6))
    assert (done.event, done.notify) == ("resolved", "resolved")
    assert done.state.firing_since is None


def test_notification_body_is_slack_compatible_with_fields():
    from datetime import datetime
    reading = rules.evaluate(dict(rules.BUILT_IN), figures(window_exhausted=2))["exhausted"]
    body = messages.body(event_id=3, status="firing", brand="acme", reading=reading,
                         at=datetime(2026, 11, 29, 12, tzinfo=UTC))
    assert body["text"] == ("[FIRING] Callback Desk · brand acme · exhausted callbacks: "
                            "2 callback(s) ran out of retries in the last 1 h")
    assert {k: body[k] for k in ("status", "brand", "rule", "value", "event_id")} == {
        "status": "firing", "brand": "acme", "rule": "exhausted", "value": "2", "event_id": 3}


def test_heartbeat_failure_rate_is_judged_over_enough_heartbeats_of_its_own_window():
    rules_ = {"heartbeat_failure_rate": rules.BUILT_IN["heartbeat_failure_rate"]}
    few = figures(heartbeat_window_s=600, heartbeats_finished=4, heartbeats_failed=4)
    many = figures(heartbeat_window_s=600, heartbeats_finished=20, heartbeats_failed=6)
    fine = figures(heartbeat_window_s=600, heartbeats_finished=20, heartbeats_failed=5,
                   rate_finished=20, rate_failed=20)
    assert broken(rules_, few) == set()
    assert rules.evaluate(rules_, few)["heartbeat_failure_rate"].message == (
        "4 heartbeat(s) finished in the last 10 min (a rate is judged from 20)")
    assert broken(rules_, many) == {"heartbeat_failure_rate"}
    reading = rules.evaluate(rules_, many)["heartbeat_failure_rate"]
    assert (reading.value, reading.threshold) == ("30.0 %", "25 %")
    # 25 % is not above 25 %; the bet callbacks' failures are another rule's
    assert broken(rules_, fine) == set()
    assert rules.BUILT_IN["heartbeat_failure_rate"].describe() == (
        "heartbeat failure rate above 25 % over 10 min")
    assert rules.windows({7: rules.effective([], 7)})["heartbeat_windows_s"] == {7: 600}
