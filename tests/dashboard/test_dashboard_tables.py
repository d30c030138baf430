"""Rows → what the pages and charts show, and the synthetic history's COPY text, without a
database or Streamlit."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from dashboard import charts, tables
from demo import synthetic

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def attempt_row(**over):
    row = {"group_id": "bet-1", "attempt_id": "r-1", "destination": "/bet/settle",
           "callback_created_at": NOW, "started_at": NOW, "attempt_no": 2,
           "callback_attempts": 3, "response_data": '{"error":\n {"code": "x"}}',
           "response_status": 400, "error_class": "unsupported_error", "error_code": "x",
           "error_detail": "error code 'x' is not supported for /bet/settle",
           "outcome": "failed", "duration_ms": 12.6, "brand": "alpha"}
    row.update(over)
    return row


def row_code(frame: pd.DataFrame) -> str:
    return frame["Response code"].iloc[0]


def test_history_table_has_the_seed_columns_first():
    frame = tables.history_table([attempt_row()], UTC)
    assert list(frame.columns[:8]) == ["Group ID", "Attempt ID", "Destination", "Created at",
                                       "Attempts", "Response data", "Response code",
                                       "Response error"]
    assert row_code(frame) == "400"
    row = frame.iloc[0]
    assert (row["Attempts"], row["ms"]) == ("2 of 3", 13)
    assert row["Response data"] == '{"error": {"code": "x"}}'  # one line in the table
    assert row["Response error"].startswith("unsupported_error: error code 'x'")


def test_history_table_shows_an_attempt_in_progress_and_an_unknown_one():
    sending = attempt_row(attempt_id="r-2", attempt_no=3, callback_attempts=2, response_data=None,
                          response_status=None, error_class=None, error_code=None,
                          error_detail=None, outcome="sending", duration_ms=None)
    unknown = attempt_row(attempt_id="r-1", response_data=None, response_status=None,
                          error_class="unknown", error_code=None,
                          error_detail="the worker stopped before recording the answer; the "
                                       "platform may have received request r-1",
                          outcome="unknown", duration_ms=41_000.0)
    frame = tables.history_table([sending, unknown], UTC)
    assert list(frame["Outcome"]) == ["sending", "unknown"]
    assert list(frame["Response error"]) == [
        "sending… (no answer recorded yet)",
        "outcome unknown: the worker stopped before recording the answer; the platform may "
        "have received request r-1"]
    assert list(frame["Attempts"]) == ["3 of 3", "2 of 3"]
    assert frame["ms"].isna().all()
    assert frame["Sent at"].iloc[0] == "2026-11-23 12:00:00"


@pytest.mark.parametrize("error_class, shown", [
    ("timeout", "— (timeout)"),
    ("connect", "— (connection error)"),
    ("tls", "— (TLS error)"),
])
def test_history_table_says_why_an_attempt_has_no_response_code(error_class, shown):
    row = attempt_row(response_data=None, response_status=None, error_class=error_class,
                      error_code=None, error_detail="no answer within 5 s", duration_ms=5000.0)
    frame = tables.history_table([row, attempt_row(response_data=None, response_status=204,
                                                   error_class=None, outcome="delivered")], UTC)
    assert list(frame["Response code"]) == [shown, "204"]
    # an empty body is the seed's "null"; no answer at all has no body to show
    assert list(frame["Response data"]) == ["", "null"]
    assert "null" not in set(frame.iloc[0].astype(str))


def test_history_table_keeps_the_order_it_is_given():
    # the page's order (grouped by bet, see shaping.group_by_bet) is decided before the table
    rows = [attempt_row(group_id="bet-b", attempt_id="b1"),
            attempt_row(group_id="bet-a", attempt_id="a1"),
            attempt_row(group_id="bet-a", attempt_id="a2", callback_created_at=NOW
                        - timedelta(minutes=1))]
    frame = tables.history_table(rows, UTC)
    assert list(frame["Attempt ID"]) == ["b1", "a1", "a2"]


def test_history_export_leaves_what_was_not_measured_empty():
    rows = [attempt_row(outcome="sending", duration_ms=None, finished_at=None,
                        next_attempt_at=None),
            attempt_row(outcome="unknown", duration_ms=41_000.0,
                        finished_at=NOW + timedelta(seconds=41), next_attempt_at=None),
            attempt_row(outcome="failed", duration_ms=12.6,
                        finished_at=NOW + timedelta(milliseconds=13),
                        next_attempt_at=NOW + timedelta(hours=1))]
    frame = tables.history_export(rows, tables.HISTORY_EXPORT, "Asia/Tokyo")
    assert list(frame.columns) == list(tables.HISTORY_EXPORT.values())
    assert frame["Duration ms"].tolist()[2] == 12.6
    assert frame["Duration ms"].iloc[:2].isna().all()
    assert pd.isna(frame["Finished at"].iloc[0])
    assert str(frame["Finished at"].iloc[1]) == "2026-11-23 21:00:41+09:00"
    [sending, unknown, _] = csv.DictReader(io.StringIO(frame.to_csv(index=False)))
    assert (sending["Finished at"], sending["Duration ms"]) == ("", "")  # not None or nan
    assert unknown["Duration ms"] == "" and unknown["Finished at"]


def test_evidence_table_classes_attempts_without_an_answer():
    rows = [{"started_at": NOW, "destination": "/bet/place", "attempt_no": n,
             "response_status": None, "outcome": outcome, "error_class": error_class,
             "error_code": None, "error_detail": None, "response_body": None,
             "attempt_id": f"r-{n}"}
            for n, outcome, error_class in ((1, "unknown", "unknown"), (2, "sending", None),
                                            (3, "failed", "timeout"))]
    frame = tables.evidence_table(rows, UTC)
    assert list(frame["Answer"])[:2] == ["unknown", "sending"]
    assert list(frame["Response error"])[:2] == [
        "outcome unknown: the worker stopped before recording the answer",
        "sending… (no answer recorded yet)"]
    # the investigator writes why there is no code, as Callback history does
    assert list(frame["Response code"]) == ["— (not recorded)", "— (sending)", "— (timeout)"]


def test_bets_table_labels():
    bet = {"status": "PLACE_ERROR", "bet_id": "bet-1", "player_id": None, "placed_at": None,
           "created_at": NOW, "bet_type": 3, "odds": [{"odd_ratio": "2"}] * 3,
           "system_sizes": [2], "stake": "5", "brand": "alpha"}
    row = tables.bets_table([bet], UTC).iloc[0]
    assert (row["history"], row["Status"], row["Type"], row["Stake"], row["Player"]) == \
        ("🕒", "🔴 PLACE_ERROR", "Sy2/3", "5.00", "")


def counts_frame() -> pd.DataFrame:
    rows = [
        (NOW, "alpha", "/bet/place", 204, "delivered", None, None, 90, 80, 10),
        (NOW, "alpha", "/bet/place", 400, "rejected", None, "not_enough_balance", 5, 5, 0),
        (NOW, "alpha", "/bet/settle", 400, "failed", "unsupported_error", "bet_gone", 4, 2, 2),
        (NOW, "beta", "/bet/settle", 503, "failed", "http_status", None, 3, 3, 0),
        (NOW + timedelta(hours=1), "beta", "/bet/settle", None, "exhausted", "timeout", None,
         1, 0, 1),
    ]
    return pd.DataFrame(rows, columns=["bucket", "brand", "destination", "response_status",
                                       "outcome", "error_class", "error_code", "attempts",
                                       "first_attempts", "retries"]).assign(duration_ms_sum=0.0)


def test_breakdown_summary_and_answer_classes():
    frame = charts.prepare(counts_frame(), UTC)
    assert list(frame["answer"]) == ["2xx", "4xx supported", "4xx other", "5xx", "timeout"]
    assert list(frame["code"]) == ["204", "400", "400", "503", "none"]
    figures = charts.summary(frame)
    assert figures == {"attempts": 103, "first_attempt_success": 80 / 90, "retries": 13,
                       "exhausted": 1, "unknown": 0, "sending": 0}


def unanswered_frame() -> pd.DataFrame:
    """counts_frame plus 4 first attempts still sending and 2 closed as unknown (one a retry)."""
    extra = pd.DataFrame([
        (NOW, "alpha", "/bet/place", None, "sending", None, None, 4, 4, 0),
        (NOW, "alpha", "/bet/settle", None, "unknown", "unknown", None, 2, 1, 1),
    ], columns=["bucket", "brand", "destination", "response_status", "outcome", "error_class",
                "error_code", "attempts", "first_attempts", "retries"]).assign(duration_ms_sum=0.0)
    return pd.concat([counts_frame(), extra], ignore_index=True)


def test_unknown_and_sending_are_classes_of_their_own_and_sending_is_no_failure():
    frame = charts.prepare(unanswered_frame(), UTC)
    assert list(frame["answer"])[-2:] == ["sending", "unknown"]
    assert list(frame["code"])[-2:] == ["sending", "unknown"]
    figures = charts.summary(frame)
    # 4 first attempts in flight are left out; the unknown first attempt did not succeed
    assert figures == {"attempts": 109, "first_attempt_success": 80 / 91, "retries": 14,
                       "exhausted": 1, "unknown": 2, "sending": 4}


def test_codes_over_time_show_unknown_and_leave_attempts_in_flight_out():
    frame = charts.prepare(unanswered_frame(), UTC)
    spec = charts.codes_over_time(frame, "hour").to_dict()
    [data] = spec["datasets"].values()
    codes = {row["code"]: row["attempts"] for row in data}
    assert codes["unknown"] == 2 and "sending" not in codes and "204" not in codes


def test_first_attempt_success_chart_leaves_attempts_in_flight_out():
    frame = charts.prepare(unanswered_frame(), UTC)
    [data] = charts.first_attempt_success(frame).to_dict()["datasets"].values()
    assert data[0]["rate"] == pytest.approx(80 / 91)  # the 4 in flight are not counted


def test_latency_ignores_attempts_without_a_measured_duration():
    latency = pd.DataFrame({"bucket": [NOW, NOW, NOW], "destination": ["/bet/place"] * 3,
                            "latency_bucket": [0, 1, None], "attempts": [50, 50, 900]})
    data = charts.latency_percentiles(latency, [10.0, 20.0], UTC)
    assert dict(zip(data["percentile"], data["ms"], strict=False)) == {"p50": 10.0, "p90": 18.0,
                                                         "p99": 19.8}
    assert charts.latency_counts(latency) == {0: 50, 1: 50}
    assert charts.latency_counts(latency.iloc[2:]) == {}


def test_top_unsupported_answers_name_code_and_destination():
    frame = charts.prepare(counts_frame(), UTC)
    top = charts.unsupported_codes(frame)
    assert top.to_dict("records") == [{"error": "bet_gone", "destination": "/bet/settle",
                                       "attempts": 4}]


def test_every_chart_builds_to_a_vega_lite_spec():
    frame = charts.prepare(counts_frame(), UTC)
    latency = pd.DataFrame({"bucket": [NOW, NOW], "destination": ["/bet/place"] * 2,
                            "latency_bucket": [2, 5], "attempts": [9, 1]})
    specs = [charts.answers_over_time(frame, "hour"), charts.codes_over_time(frame, "hour"),
             charts.answers_by(frame, "destination", "By destination"),
             charts.first_attempt_success(frame), charts.retries_and_exhaustions(frame, "hour"),
             charts.unsupported_chart(charts.unsupported_codes(frame)),
             charts.latency_chart(charts.latency_percentiles(latency, [10, 20, 40, 80, 160],
                                                             UTC))]
    for chart in specs:
        assert chart.to_dict()["$schema"].startswith("https://vega.github.io/schema/vega-lite")


def test_latency_percentiles_per_bucket():
    latency = pd.DataFrame({"bucket": [NOW, NOW], "destination": ["/bet/place"] * 2,
                            "latency_bucket": [0, 1], "attempts": [50, 50]})
    data = charts.latency_percentiles(latency, [10.0, 20.0], UTC)
    assert dict(zip(data["percentile"], data["ms"], strict=False)) == {"p50": 10.0, "p90": 18.0,
                                                         "p99": 19.8}


def test_synthetic_copy_text_has_a_field_per_column():
    profiles = synthetic.default_profiles([(1, "a"), (2, "b"), (3, "c")])
    start = NOW.timestamp() - 86400
    writer = synthetic.HistoryWriter(profiles, start=start, now=NOW.timestamp(),
                                     first_callback_id=100, salt=7, seed=3)
    [chunk] = list(writer.chunks(writer.bet_times(300), size=300))
    widths = {"bets": 12, "callbacks": 15, "attempts": 22}
    for table, width in widths.items():
        lines = getattr(chunk, table).splitlines()
        assert lines and {len(line.split("\t")) for line in lines} == {width}, table
    assert chunk.n_bets == 300 and chunk.n_attempts >= chunk.n_callbacks - 50
    ids = [line.split("\t")[0] for line in chunk.attempts.splitlines()]
    assert len(ids) == len(set(ids))


def test_synthetic_history_is_repeatable_from_its_seed():
    def text(seed):
        profiles = synthetic.default_profiles([(1, "a")])
        writer = synthetic.HistoryWriter(profiles, start=NOW.timestamp() - 3600,
                                         now=NOW.timestamp(), first_callback_id=1, salt=1,
                                         seed=seed)
        return next(iter(writer.chunks(writer.bet_times(50)))).attempts
    assert text(4) == text(4) != text(5)


def test_a_429_is_not_an_unsupported_answer():
    rows = counts_frame().iloc[:1].assign(response_status=429, outcome="failed",
                                          error_class="http_status")
    assert charts.unsupported_codes(charts.prepare(rows, UTC)).empty


def test_history_export_writes_whole_codes_and_no_formulas():
    rows = [attempt_row(response_status=204, error_class=None, error_code=None,
                        error_detail=None, outcome="delivered"),
            attempt_row(response_status=None, error_code="=HYPERLINK(\"https://x\")",
                        error_detail="+1 -2", group_id="@bet", response_data="\tcmd"),
            attempt_row(response_status=400, group_id="-bet", error_code="\rx")]
    frame = tables.history_export(rows, tables.HISTORY_EXPORT, "UTC")
    text = tables.to_csv(frame).decode()
    [ok, bad, minus] = csv.DictReader(io.StringIO(text, newline=""))
    assert (ok["Response code"], bad["Response code"], minus["Response code"]) == \
        ("204", "", "400")
    assert ok["Attempt"] == "2" and ok["Attempts"] == "3"
    assert bad["Error code"] == "'=HYPERLINK(\"https://x\")"
    assert (bad["Response error"], bad["Group ID"], bad["Response data"]) == \
        ("'+1 -2", "'@bet", "'\tcmd")
    assert (minus["Group ID"], minus["Error code"]) == ("'-bet", "'\rx")


def test_breakdown_export_writes_whole_codes():
    counts = pd.DataFrame([
        {"bucket": NOW, "brand": "=cmd", "destination": "/bet/place", "response_status": 204.0,
         "outcome": "delivered", "error_class": None, "error_code": None, "attempts": 3,
         "first_attempts": 3, "retries": 0, "duration_ms_sum": 1.0},
        {"bucket": NOW, "brand": "a", "destination": "/bet/place", "response_status": None,
         "outcome": "failed", "error_class": "timeout", "error_code": None, "attempts": 1,
         "first_attempts": 0, "retries": 1, "duration_ms_sum": 1.0}])
    frame = charts.prepare(counts, UTC)
    [one, two] = csv.DictReader(io.StringIO(
        tables.to_csv(tables.breakdown_export(frame, "UTC")).decode(), newline=""))
    assert (one["response_status"], two["response_status"]) == ("204", "")
    assert one["brand"] == "'=cmd" and "time (UTC)" in one


@pytest.mark.parametrize("row, shown", [
    (dict(callbacks=0, troubled=0, last_state=None, last_status=None), "—"),
    (dict(callbacks=1, troubled=0, last_state=None, last_status=None), "queued"),
    (dict(callbacks=3, troubled=0, last_state="delivered", last_status=204), "✓ delivered"),
    (dict(callbacks=3, troubled=1, last_state="delivered", last_status=204),
     "⚠ delivered after retries"),
    (dict(callbacks=2, troubled=1, last_state="pending", last_status=503),
     "⚠ retrying · HTTP 503"),
    (dict(callbacks=2, troubled=0, last_state="pending", last_status=None),
     "⚠ retrying · no response"),
    (dict(callbacks=1, troubled=1, last_state="exhausted", last_status=None),
     "✗ gave up · no response"),
    (dict(callbacks=2, troubled=1, last_state="rejected", last_status=400),
     "✗ rejected · HTTP 400"),
])
def test_bets_table_says_how_the_callbacks_went(row, shown):
    bet = {"status": "PLACED", "bet_id": "b", "player_id": "p", "placed_at": NOW,
           "created_at": NOW, "bet_type": 1, "odds": [], "system_sizes": [], "stake": "1",
           "brand": "alpha", "attempts": 4, **row}
    frame = tables.bets_table([bet], UTC)
    assert frame["Callbacks"].iloc[0] == shown
    assert frame["Attempts"].iloc[0] == 4


def test_time_axes_use_a_24_hour_clock():
    counts = pd.DataFrame([
        {"bucket": NOW, "brand": "a", "destination": "/bet/place", "response_status": 503,
         "outcome": "failed", "error_class": "http_status", "error_code": None, "attempts": 3,
         "first_attempts": 3, "retries": 0, "duration_ms_sum": 1.0}])
    frame = charts.prepare(counts, UTC)
    for chart in (charts.answers_over_time(frame, "hour"), charts.codes_over_time(frame, "hour"),
                  charts.first_attempt_success(frame),
                  charts.retries_and_exhaustions(frame, "hour")):
        axis = chart.to_dict()["encoding"]["x"]["axis"]
        assert "%H:%M" in axis["labelExpr"] and "%I" not in axis["labelExpr"]


def _encodings(chart) -> list[dict]:
    """Every channel of a chart's spec (a layered chart's too)."""
    spec = chart.to_dict()
    layers = spec.get("layer", [spec])
    return [channel for layer in layers for channel in layer.get("encoding", {}).values()
            if isinstance(channel, dict)]


def test_chart_axes_and_tooltips_write_shares_with_one_decimal_and_counts_grouped():
    frame = charts.prepare(counts_frame().iloc[:1], UTC)  # one bucket: the axis spans one value
    rate = charts.first_attempt_success(frame).to_dict()["encoding"]
    assert rate["y"]["axis"]["format"] == ".1~%"
    assert [t.get("format") for t in rate["tooltip"] if t["field"] == "rate"] == [".1%"]
    share = charts.answers_by(frame, "destination", "By destination").to_dict()["encoding"]
    assert share["x"]["axis"]["format"] == ".1~%"
    for chart in (charts.answers_over_time(frame, "minute"),
                  charts.codes_over_time(frame, "minute"),
                  charts.retries_and_exhaustions(frame, "minute")):
        encoding = chart.to_dict()["encoding"]
        assert encoding["y"]["axis"]["format"] == ",d"
        counted = [t for t in encoding["tooltip"] if t.get("type") == "quantitative"]
        assert counted and all(t["format"] == ",d" for t in counted)
    for channel in _encodings(charts.answers_by(frame, "brand", "By brand")):
        assert channel.get("axis", {}).get("format") != "%"


def test_restrictions_and_foreign_params_become_key_value_rows():
    restrictions = tables.restrictions_table([
        {"type": "odd_status", "context": {"max_bet": None, "odd_id": "o-1", "is_active": False}},
        "free text"])
    assert restrictions.values.tolist() == [["odd_status", "max_bet", "null"],
                                            ["odd_status", "odd_id", "o-1"],
                                            ["odd_status", "is_active", "false"],
                                            ["", "", "free text"]]
    headers = {"foreign-params": '{"token":"***#a1b2","p":{"pin":"***#c3d4"},"l":["x",1]}'}
    params = tables.params_table(tables.foreign_params(headers))
    assert params.values.tolist() == [["token", "***#a1b2"], ["p.pin", "***#c3d4"],
                                      ["l[0]", "x"], ["l[1]", "1"]]
    assert tables.params_table(tables.foreign_params({"Foreign-Params": "***#e5f6"})
                               ).values.tolist() == [["", "***#e5f6"]]
    assert tables.foreign_params({"X-Request-ID": "r"}) is None
