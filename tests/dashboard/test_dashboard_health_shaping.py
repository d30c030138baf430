"""The Health page's tables and series (pure)."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd

from dashboard import health_shaping as hs
from health.figures import BrandNow
from health.money import MoneyAtRisk
from health.state import Recent

NOW = datetime(2026, 11, 29, 18, 25, tzinfo=UTC)


def brand(name, recent=None, money=None, **over) -> BrandNow:
    recent = recent or Recent()
    values = dict(brand_id=1, brand=name, backlog=0, groups=0, oldest_pending_age_s=None,
                  recent=recent, last_answer_at=None, rate_window_s=900, rate_finished=0,
                  rate_failed=0, exhausted_window_s=3600, window_exhausted=0,
                  money=money or MoneyAtRisk())
    values.update(over)
    return BrandNow(**values)


def test_periods_end_now_and_split_on_whole_buckets():
    day = hs.period("24h", NOW)
    assert (day.split, day.start, day.bucket) == (
        datetime(2026, 11, 28, 19, tzinfo=UTC),
        datetime(2026, 11, 27, 19, tzinfo=UTC), timedelta(hours=1))
    assert day.end == NOW + timedelta(minutes=1)
    week = hs.period("7d", NOW)
    assert week.bucket == timedelta(hours=6) and week.split - week.start == timedelta(days=7)
    assert hs.period("nonsense", NOW).key == "24h"


def test_brands_are_listed_worst_first_then_by_money():
    rich = MoneyAtRisk()
    rich.add("EUR", "owed", Decimal(500))
    brands = [brand("calm"), brand("rich", money=rich, recent=Recent(oldest_pending_age_s=1000)),
              brand("dead", recent=Recent(finished=5, failed=5)),
              brand("slow", recent=Recent(oldest_pending_age_s=1000))]
    table = hs.now_table(brands)
    assert list(table["Brand"]) == ["dead", "rich", "slow", "calm"]
    assert list(table["State"]) == ["🔴 down", "🟠 degraded", "🟠 degraded", "🟢 healthy"]
    assert table.set_index("Brand").loc["rich", "Money at risk"] == "EUR 500.00"
    assert table.set_index("Brand").loc["dead", "Failed (15 min)"] == "100% of 5"


def test_money_rows_per_currency_and_chart_bars_never_mix_them():
    money = MoneyAtRisk()
    money.add("EUR", "held", Decimal("10"))
    money.add("USD", "owed", Decimal("2.5"))
    table = hs.money_table([brand("acme", money=money)])
    assert table[["Currency", "Held", "Owed", "Total"]].values.tolist() == [
        ["EUR", "10.00", "0.00", "10.00"], ["USD", "0.00", "2.50", "2.50"]]
    bars = hs.money_chart_data(table)
    assert sorted(zip(bars["label"], bars["kind"], bars["amount"], strict=False)) == [
        ("acme · EUR", "stakes possibly held", 10.0), ("acme · USD", "owed to players", 2.5)]


def _frame(rows):
    frame = pd.DataFrame(rows, columns=["bucket", "brand", "outcome", "attempts",
                                        "first_attempts"])
    frame["time"] = pd.to_datetime(frame["bucket"], utc=True).dt.tz_localize(None)
    return frame


def test_this_period_against_the_previous_one():
    p = hs.period("24h", NOW)
    before, after = p.split - timedelta(hours=3), p.split + timedelta(hours=2)
    frame = _frame([
        (before, "acme", "delivered", 90, 90), (before, "acme", "failed", 10, 10),
        (after, "acme", "delivered", 60, 50), (after, "acme", "failed", 30, 30),
        (after, "acme", "exhausted", 10, 0), (after, "acme", "sending", 5, 5)])
    row = hs.compare(frame, p).set_index("Brand").loc["acme"]
    assert row["Attempts"] == 105
    assert row["Failure rate"] == 0.4 and row["Previous failure rate"] == 0.1
    assert abs(row["Change"] - 0.3) < 1e-9
    assert row["First-attempt success"] == 50 / 80
    assert (row["Exhausted"], row["Previous exhausted"]) == (10, 0)
    series = hs.rate_series(frame, p, UTC)
    previous = series[series["period"] == hs.PREVIOUS]
    # The previous period is laid over this one: shifted forward by one period.
    assert list(previous["time"]) == [(before + timedelta(hours=24)).replace(tzinfo=None)]
    assert hs.compare(_frame([]), p).empty


def test_alert_history_says_how_notifications_went():
    events = [{"at": NOW, "brand": "acme", "status": "firing", "kind": "failure_rate",
               "value": "40.0 %", "threshold": "25 %", "message": "m", "notifications": 2,
               "delivered": 1, "sending": 1, "failed": 0, "attempts": 4,
               "last_error": "HTTP 503: busy"},
              {"at": NOW, "brand": "acme", "status": "resolved", "kind": "exhausted",
               "value": "0", "threshold": "0", "message": "m", "notifications": 0,
               "delivered": 0, "sending": 0, "failed": 0, "attempts": 0, "last_error": None}]
    table = hs.events_table(events, UTC)
    assert list(table["Notifications"]) == [
        "1/2 delivered, 1 retrying (4 attempt(s)) — last error: HTTP 503: busy", "no alert URL"]
    assert list(table["Status"]) == ["🔔 firing", "✅ resolved"]



def test_a_flapping_rule_is_marked_and_its_unsent_notifications_say_why():
    event = {"at": NOW, "brand": "acme", "kind": "failure_rate", "value": "26.0 %",
             "threshold": "25 %", "message": "m", "notifications": 0, "delivered": 0,
             "sending": 0, "failed": 0, "attempts": 0, "last_error": None}
    events = [dict(event, status="firing", flapping=True, notified=False),
              dict(event, status="firing", flapping=True, notified=True, notifications=1,
                   delivered=1, attempts=1),
              dict(event, status="resolved", flapping=False, notified=True)]
    table = hs.events_table(events, UTC)
    assert list(table["Status"]) == ["🔔 firing · flapping", "🔔 firing · flapping",
                                     "✅ resolved"]
    assert list(table["Notifications"]) == ["not sent: flapping", "1/1 delivered (1 attempt(s))",
                                            "no alert URL"]


def _beats(rows) -> pd.DataFrame:
    """Heartbeat counts as the page reads them: (bucket, brand, delivered, ended, failed)."""
    return hs.beat_frame(pd.DataFrame(rows, columns=["bucket", "brand", "delivered", "ended",
                                                     "failed"]), UTC)


def test_sessions_per_brand_and_brands_without_sessions_left_out():
    p = hs.period("24h", NOW)
    early, late = p.split + timedelta(hours=1), p.split + timedelta(hours=2)
    beats = _beats([(early, "acme", 6, 0, 0), (late, "acme", 0, 1, 3),
                    (late, "bolt", 4, 0, 0)])
    figures = [{"brand": "acme", "live": 3, "failing": 1, "ended_by_platform": 1},
               {"brand": "quiet", "live": 0, "failing": 0, "ended_by_platform": 0}]
    table = hs.sessions_table(figures, beats)
    # an auth_session_unknown is an answer (the session ended), a failure is not
    assert table.to_dict("records") == [{
        "Brand": "acme", "Live now": 3, "Failing now": 1, "Heartbeats": 10,
        "Success rate": 7 / 10, "Ended by platform": 1}]
    totals = hs.session_totals(table, beats)  # bolt is not shown, so not counted
    assert totals == {"live": 3, "failing": 1, "heartbeats": 10, "success_rate": 0.7,
                      "ended": 1}
    series = hs.heartbeat_series(beats)
    assert series[["brand", "success_rate", "heartbeats", "ended"]].values.tolist() == [
        ["acme", 1.0, 6, 0], ["acme", 0.25, 4, 1], ["bolt", 1.0, 4, 0]]


def test_no_sessions_no_rows():
    assert hs.sessions_table([{"brand": "acme", "live": 0, "failing": 0,
                               "ended_by_platform": 0}], _beats([])).empty
    assert hs.heartbeat_series(_beats([])).empty
    assert hs.session_totals(pd.DataFrame(columns=hs.SESSION_COLUMNS),
                             _beats([]))["success_rate"] is None
