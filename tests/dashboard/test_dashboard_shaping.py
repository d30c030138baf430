"""Pure rules of the back-office: what an analyst types → query parameters (filters), rows →
labels (shaping)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard import filters, shaping
from dashboard.filters import FilterError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("pasted, expected", [
    ("bet-1 bet-2", ["bet-1", "bet-2"]),
    ("bet-1,bet-2;bet-3", ["bet-1", "bet-2", "bet-3"]),
    ("  bet-1\n\nbet-2\r\n bet-1 ", ["bet-1", "bet-2"]),
    ('"bet-1", "bet-2"', ["bet-1", "bet-2"]),
    ("['bet-1', 'bet-2']", ["bet-1", "bet-2"]),
    ("", []),
    (None, []),
])
def test_group_ids_paste_is_split_on_spaces_commas_and_new_lines(pasted, expected):
    assert filters.parse_group_ids(pasted) == expected


def test_too_many_group_ids_say_how_to_narrow():
    with pytest.raises(FilterError, match="at most 500"):
        filters.parse_group_ids(" ".join(f"bet-{n}" for n in range(501)))


@pytest.mark.parametrize("typed, codes, classes, none", [
    ("5xx", (), (5,), False),
    ("404, 429 5XX", (404, 429), (5,), False),
    ("none", (), (), True),
    ("204\n-", (204,), (), True),
    ("", (), (), False),
])
def test_response_code_filter(typed, codes, classes, none):
    parsed = filters.parse_codes(typed)
    assert (parsed.codes, parsed.classes, parsed.no_response) == (codes, classes, none)
    assert parsed.active == bool(codes or classes or none)


@pytest.mark.parametrize("typed", ["600", "5x", "abc", "40"])
def test_unreadable_response_code_names_the_value(typed):
    with pytest.raises(FilterError, match=repr(typed.lower())):
        filters.parse_codes(typed)


def test_window_presets_end_just_after_now():
    start, end = filters.window_bounds("Last hour", NOW)
    assert (start, end) == (NOW - timedelta(hours=1), NOW + timedelta(minutes=1))
    start, _ = filters.window_bounds("Last 7 days", NOW)
    assert start == NOW - timedelta(days=7)


def test_any_time_and_unknown_presets():
    assert filters.window_bounds("Any time", NOW)[0] == filters.EPOCH
    assert filters.window_bounds("since forever", NOW)[0] == NOW - timedelta(hours=24)


def test_a_user_of_one_brand_is_offered_that_brand_alone():
    assert filters.brand_options(["bravo"]) == ["bravo"]
    assert filters.brand_options(["alpha", "bravo"]) == ["All brands", "alpha", "bravo"]
    assert filters.brand_options([]) == ["All brands"]


@pytest.mark.parametrize("asked, offered, note", [
    (None, ["All brands", "alpha"], None),
    ("alpha", ["All brands", "alpha"], None),
    ("All brands", ["bravo"], None),  # a link made by a user of several brands
    ("x", ["All brands", "alpha", "bravo"],
     "Brand 'x' is not one of your brands — showing all your brands."),
    ("alpha", ["bravo"], "Brand 'alpha' is not one of your brands — showing bravo."),
    ("y" * 100, ["bravo"], f"Brand '{'y' * 59}…' is not one of your brands — showing bravo."),
])
def test_a_linked_brand_that_is_not_the_users_is_said_so(asked, offered, note):
    assert filters.brand_param_note(asked, offered) == note


def test_a_linked_window_that_is_not_a_preset_is_said_so():
    presets = ("Last hour", "Last 24 h", "Custom")
    assert filters.window_param_note(None, presets, "Last 24 h") is None
    assert filters.window_param_note("Custom", presets, "Last 24 h") is None
    assert filters.window_param_note("3y", presets, "Last 24 h") == (
        "Window '3y' is not one of: Last hour, Last 24 h, Custom — showing Last 24 h.")


def test_a_linked_time_zone_that_is_not_one_is_said_so():
    zones = ("Browser", "UTC", "Europe/Malta")
    assert filters.zone_param_note(None, zones, "UTC") is None
    assert filters.zone_param_note("Europe/Malta", zones, "UTC") is None
    assert filters.zone_param_note("<b>x</b>", zones, "UTC") == (
        "Time zone '<b>x</b>' is not a time zone name such as Europe/Malta or UTC — showing "
        "UTC.")


def test_custom_window_is_converted_to_utc_and_checked():
    kyiv = ZoneInfo("Europe/Kyiv")
    start, end = filters.window_bounds("Custom", NOW, datetime(2026, 11, 1, 10, tzinfo=kyiv),
                                       datetime(2026, 11, 2, 10, tzinfo=kyiv))
    assert start == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert end.tzinfo == UTC
    with pytest.raises(FilterError, match="ends before it starts"):
        filters.window_bounds("Custom", NOW, NOW, NOW - timedelta(hours=1))


@pytest.mark.parametrize("span, bucket", [
    (timedelta(hours=1), timedelta(minutes=1)),
    (timedelta(hours=2), timedelta(minutes=1)),
    (timedelta(hours=6), timedelta(minutes=5)),
    (timedelta(hours=12), timedelta(minutes=5)),
    (timedelta(hours=24), timedelta(hours=1)),
    (timedelta(days=7), timedelta(hours=6)),
    (timedelta(days=30), timedelta(days=1)),
])
def test_chart_bucket_keeps_charts_readable(span, bucket):
    assert shaping.chart_bucket(span) == bucket


@pytest.mark.parametrize("span, offered", [
    (timedelta(hours=1), ["minute", "5 min", "15 min"]),
    (timedelta(hours=24, minutes=1), ["5 min", "15 min", "hour", "6 h"]),
    (timedelta(days=7), ["hour", "6 h", "day"]),
    (timedelta(days=30), ["6 h", "day"]),
    (timedelta(days=400), ["day"]),
])
def test_bar_widths_offered_fit_the_window(span, offered):
    widths = shaping.chart_buckets(span)
    assert [shaping.CHART_BUCKETS[b] for b in widths] == offered
    assert shaping.chart_bucket(span) in widths
    assert all(span / b <= shaping.MAX_BARS for b in widths if b != shaping.chart_bucket(span))


def test_bars_under_an_hour_only_for_windows_read_from_the_attempts():
    for span in (timedelta(hours=26), timedelta(days=3)):
        assert min(shaping.chart_buckets(span)) >= timedelta(hours=1)


def test_times_are_shown_in_the_viewers_zone():
    assert shaping.format_time(NOW, ZoneInfo("Europe/Kyiv")) == "2026-11-23 14:00:00"
    assert shaping.format_time(NOW.replace(tzinfo=None), UTC) == "2026-11-23 12:00:00"
    assert shaping.format_time(None, UTC) == ""


@pytest.mark.parametrize("delta, text", [
    (timedelta(minutes=4), "in 4 min"), (timedelta(seconds=-12), "12 s ago"),
    (timedelta(hours=-3), "3 h ago"), (timedelta(0), "now"),
])
def test_relative_times(delta, text):
    assert shaping.relative(NOW + delta, NOW) == text


@pytest.mark.parametrize("bet_type, legs, sizes, label", [
    (1, 1, [], "S"), (2, 3, [], "E3"), (3, 3, [2], "Sy2/3"), (3, 4, [2, 3], "Sy2,3/4"),
    (None, 1, None, ""),
])
def test_bet_type_labels(bet_type, legs, sizes, label):
    assert shaping.bet_type_label(bet_type, legs, sizes) == label


def test_odds_label_multiplies_an_express_and_lists_a_system():
    legs = [{"odd_ratio": "1.50"}, {"odd_ratio": "2.00"}]
    assert shaping.odds_label(1, legs[:1]) == "1.50"
    assert shaping.odds_label(2, legs) == "3.00"
    assert shaping.odds_label(3, legs) == "1.50 · 2.00"
    assert shaping.odds_label(1, None) == ""


@pytest.mark.parametrize("status, outcome, error_class, answer", [
    (204, "delivered", None, "2xx"), (302, "failed", "http_status", "3xx"),
    (400, "rejected", None, "4xx supported"), (400, "failed", "unsupported_error", "4xx other"),
    (404, "failed", "http_status", "4xx other"), (503, "failed", "http_status", "5xx"),
    (None, "failed", "timeout", "timeout"), (None, "exhausted", "connect", "no connection"),
    (None, "unknown", "unknown", "unknown"), (None, "sending", None, "sending"),
])
def test_answer_classes(status, outcome, error_class, answer):
    assert shaping.answer_class(status, outcome, error_class) == answer


def test_response_error_column():
    assert shaping.response_error(None, "not_enough_balance", "x", "rejected") == \
        "supported: not_enough_balance"
    assert shaping.response_error("timeout", None, "ReadTimeout after 10 s") == \
        "timeout: ReadTimeout after 10 s"
    assert shaping.response_error(None, None, None, "delivered") == ""


def test_response_error_of_an_attempt_in_progress_and_of_an_unknown_one():
    assert shaping.response_error(None, None, None, "sending") == \
        "sending… (no answer recorded yet)"
    detail = "the worker stopped before recording the answer; the platform may have " \
             "received request r-1"
    assert shaping.response_error("unknown", None, detail, "unknown") == \
        f"outcome unknown: {detail}"
    assert shaping.response_error("unknown", None, None, "unknown") == \
        "outcome unknown: the worker stopped before recording the answer"


@pytest.mark.parametrize("duration_ms, outcome, shown", [
    (12.5, "delivered", 12.5), (10_003.0, "failed", 10_003.0), (None, "sending", None),
    (41_000.0, "unknown", None), (None, "unknown", None), (None, "failed", None),
])
def test_only_measured_durations_are_shown(duration_ms, outcome, shown):
    assert shaping.measured_ms(duration_ms, outcome) == shown


@pytest.mark.parametrize("attempt_no, callback_attempts, label", [
    (2, 3, "2 of 3"), (1, None, "1 of 1"), (3, 2, "3 of 3"),  # still sending: not counted yet
])
def test_attempts_label(attempt_no, callback_attempts, label):
    assert shaping.attempts_label(attempt_no, callback_attempts) == label


def test_every_outcome_can_be_filtered_on():
    assert set(shaping.OUTCOMES) == {"delivered", "rejected", "failed", "exhausted", "sending",
                                     "unknown"}
    assert set(shaping.UNANSWERED) <= set(shaping.ANSWER_CLASSES)


def test_cursor_round_trip_and_mangled_cursor():
    token = shaping.encode_cursor([NOW, "bet-1"])
    assert shaping.decode_cursor(token, ("time", "text")) == [NOW.isoformat(), "bet-1"]
    assert shaping.decode_cursor(token, ("time", "text", "uuid")) is None
    assert shaping.decode_cursor("not a cursor!", ("time", "text")) is None
    assert shaping.decode_cursor(None, ("time", "text")) is None


@pytest.mark.parametrize("values", [
    ["yesterday", "bet-1"],                       # not a time: the query would fail on it
    [NOW.isoformat(), "bet\x00-1"],               # NUL: the database refuses it
])
def test_a_cursor_of_the_wrong_types_is_mangled(values):
    token = shaping.encode_cursor(values)
    assert shaping.decode_cursor(token, ("time", "text")) is None
    assert shaping.decode_cursor(shaping.encode_cursor([NOW, NOW, "x"]),
                                 ("time", "time", "uuid")) is None
    assert shaping.decode_cursor("A" * 5000, ("time", "text")) is None


def test_histogram_percentiles_interpolate_within_a_bucket():
    edges = [10.0, 20.0, 40.0]
    # 10 in [0,10), 10 in [10,20), none in [20,40), 0 beyond
    counts = {0: 10, 1: 10}
    assert shaping.histogram_percentile(counts, edges, 0.5) == pytest.approx(10.0)
    assert shaping.histogram_percentile(counts, edges, 0.75) == pytest.approx(15.0)
    assert shaping.histogram_percentile({3: 5}, edges, 0.99) == 40.0  # beyond the last edge
    assert shaping.histogram_percentile({}, edges, 0.5) is None


def test_clock_link_opens_the_whole_history_of_the_bet():
    assert shaping.history_params("bet-9") == {"group_ids": "bet-9", "window": "Any time"}
    assert filters.parse_group_ids(shaping.history_params("bet-9")["group_ids"]) == ["bet-9"]


@pytest.mark.parametrize("kw, problems_only", [
    ({}, False),
    ({"outcomes": ("failed", "exhausted")}, True),
    ({"outcomes": ("delivered", "failed")}, False),
    ({"outcomes": ("sending",)}, True),
    ({"outcomes": ("unknown",)}, True),
    ({"error_classes": ("unknown",)}, True),
    ({"error_classes": ("timeout",)}, True),
    ({"codes": filters.parse_codes("5xx, 404, none")}, True),
    ({"codes": filters.parse_codes("4xx, 2xx")}, False),
    ({"codes": filters.parse_codes("204")}, False),
])
def test_history_reads_only_failures_when_no_delivery_can_match(kw, problems_only):
    chosen = filters.HistoryFilter(NOW - timedelta(hours=1), NOW, **kw)
    assert chosen.problems_only is problems_only
    assert chosen.params()["problems_only"] is problems_only


@pytest.mark.parametrize("text, expected", [
    ('"a b","c,d"', ["a b", "c,d"]),
    ("'a b'; plain, \"x\"", ["a b", "plain", "x"]),
    ('["bet-1", "bet-2"]', ["bet-1", "bet-2"]),
    ("o'brien", ["o'brien"]),
])
def test_group_ids_in_quotes_may_hold_spaces_and_commas(text, expected):
    assert filters.parse_group_ids(text) == expected


def test_group_ids_are_quoted_so_they_read_back():
    ids = ["a b", "c,d", "plain", 'say "hi"', "[x]"]
    assert filters.parse_group_ids(filters.format_group_ids(ids)) == ids
    assert filters.parse_group_ids(shaping.history_params("a b, c")["group_ids"]) == ["a b, c"]


@pytest.mark.parametrize("text", ["bet\x00-1", "x" * 100_000])
def test_group_ids_no_id_can_hold_are_refused_with_a_reason(text):
    with pytest.raises(FilterError, match="control character|characters long"):
        filters.parse_group_ids(text)


@pytest.mark.parametrize("value", ["bet\x00", "b" * 1000])
def test_single_text_filters_refuse_what_no_id_can_be(value):
    with pytest.raises(FilterError):
        filters.clean_text(value, "Bet ID")


def test_codes_take_ascii_digits_only():
    with pytest.raises(FilterError):
        filters.parse_codes("5²²")
    with pytest.raises(FilterError):
        filters.parse_codes("٤٠٤")


def history_row(group: str, attempt_id: str, created: datetime, callback: int, no: int,
                started: datetime) -> dict:
    """An attempt as the ``history`` query returns it (the fields the grouping reads)."""
    return {"group_id": group, "attempt_id": attempt_id, "callback_created_at": created,
            "callback_order": callback, "attempt_no": no, "started_at": started}


def ids(rows: list[dict]) -> list[str]:
    return [r["attempt_id"] for r in rows]


def newest_callback_first(rows: list[dict]) -> list[dict]:
    """The ``history`` query's own order, which a page is read and paged in."""
    return sorted(rows, key=lambda r: (r["callback_created_at"], r["started_at"],
                                       r["attempt_id"]), reverse=True)


def test_a_page_shows_two_interleaved_bets_each_as_sent():
    t = NOW - timedelta(hours=1)
    # bet-a placed (callback 1), then bet-b placed (3), bet-a settled (2: answered 503, then
    # retried), bet-b settled (4) — the query reads them newest callback first, interleaved
    page = newest_callback_first([
        history_row("bet-a", "a-place", t, 1, 1, t),
        history_row("bet-b", "b-place", t + timedelta(minutes=1), 3, 1, t + timedelta(minutes=1)),
        history_row("bet-a", "a-settle-1", t + timedelta(minutes=2), 2, 1,
                    t + timedelta(minutes=2)),
        history_row("bet-a", "a-settle-2", t + timedelta(minutes=2), 2, 2,
                    t + timedelta(minutes=5)),
        history_row("bet-b", "b-settle", t + timedelta(minutes=3), 4, 1,
                    t + timedelta(minutes=3))])
    assert ids(page) == ["b-settle", "a-settle-2", "a-settle-1", "b-place", "a-place"]
    # Then the bet with the newest callback comes first, and each bet's requests read as sent
    assert ids(shaping.group_by_bet(page)) == [
        "b-place", "b-settle", "a-place", "a-settle-1", "a-settle-2"]


def test_callbacks_created_together_keep_their_queue_order():
    t = NOW - timedelta(minutes=10)
    page = [history_row("bet-1", "cashout", t, 8, 1, t + timedelta(seconds=2)),
            history_row("bet-1", "place", t, 7, 1, t + timedelta(seconds=1))]
    assert ids(shaping.group_by_bet(page)) == ["place", "cashout"]


def test_a_sessions_heartbeats_read_oldest_first():
    # a heartbeat has no callback (queue order 0); its "created at" is the session's opening
    opened = NOW - timedelta(minutes=30)
    beats = [history_row("session-9", f"hb-{n}", opened, 0, n, opened + timedelta(minutes=n))
             for n in (1, 2, 3)]
    bet = history_row("bet-1", "place", opened - timedelta(minutes=1), 5, 1, opened)
    page = newest_callback_first([*beats, bet])
    assert ids(page) == ["hb-3", "hb-2", "hb-1", "place"]
    assert ids(shaping.group_by_bet(page)) == ["hb-1", "hb-2", "hb-3", "place"]


def test_archived_rows_merged_into_the_page_are_grouped_with_their_bet():
    # bet-old's place is archived (last month), its settle still in PostgreSQL; the merged page
    # is newest callback first
    now, old = NOW, NOW - timedelta(days=40)
    stored = [history_row("bet-new", "new-place", now - timedelta(minutes=2), 90, 1,
                          now - timedelta(minutes=2)),
              history_row("bet-old", "old-settle", now - timedelta(minutes=1), 80, 1,
                          now - timedelta(minutes=1))]
    archived = [history_row("bet-old", "old-place", old, 3, 1, old),
                history_row("bet-gone", "gone-place", old - timedelta(days=1), 2, 1,
                            old - timedelta(days=1))]
    page = newest_callback_first(stored + archived)
    assert ids(shaping.group_by_bet(page)) == ["old-place", "old-settle", "new-place",
                                               "gone-place"]


def test_the_grouping_is_per_page_a_bet_across_two_pages_shows_its_part_on_each():
    t = NOW - timedelta(hours=2)
    rows = newest_callback_first([
        history_row("bet-a", "a-place", t, 1, 1, t),
        history_row("bet-b", "b-place", t + timedelta(minutes=1), 2, 1, t + timedelta(minutes=1)),
        history_row("bet-a", "a-settle", t + timedelta(minutes=2), 3, 1,
                    t + timedelta(minutes=2))])
    first, second = rows[:2], rows[2:]
    assert ids(shaping.group_by_bet(first)) == ["a-settle", "b-place"]
    assert ids(shaping.group_by_bet(second)) == ["a-place"]
    assert shaping.group_by_bet([]) == []
    assert ids(first) == ["a-settle", "b-place"]  # the page given is left as it was
