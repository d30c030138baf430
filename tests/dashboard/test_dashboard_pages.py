"""Each back-office page under AppTest, on real rows; filters come in as query parameters, the
way a pasted link brings them."""
from __future__ import annotations

from datetime import UTC

import pandas as pd
import pytest
from dashboard_apptest import shown, texts
from dashboard_scenarios import UNKNOWN_DETAIL, VERDICT_BETS

from dashboard import markup
from delivery import brands

# --- Bets -----------------------------------------------------------------------------------

def test_bets_lists_every_bet_newest_first_with_labels(open_page):
    app = open_page("bets")
    table = app.dataframe[0].value
    assert table["Bet ID"].iloc[0] == "bet-queued"  # queued last, so newest
    assert set(table["Bet ID"]) == set(VERDICT_BETS) - {"bet-unknown"}
    row = table.set_index("Bet ID").loc["bet-supported"]
    assert row["Status"].endswith("PLACE_ERROR")
    assert (row["Type"], row["Stake"], row["Odds"]) == ("S", "10.00", "2.50")
    assert set(table["history"]) == {"🕒"}


@pytest.mark.parametrize("params, expected", [
    ({"status": "PLACE_ERROR"}, {"bet-supported"}),
    ({"bet": "bet-5xx"}, {"bet-5xx"}),
    ({"brand": "bravo"}, {"bet-gaveup"}),
    ({"player": "player-404"}, set()),
])
def test_bets_filters_come_from_the_link(open_page, params, expected):
    app = open_page("bets", **params)
    shown = set(app.dataframe[0].value["Bet ID"]) if app.dataframe else set()
    assert shown == expected
    if not expected:
        assert "No data" in texts(app)


@pytest.mark.parametrize("page, params, note", [
    ("history", {"window": "3y"},
     "Window '3y' is not one of: Last hour, Last 24 h, Last 7 days, Last 30 days, Any time, "
     "Custom — showing Last 24 h."),
    ("bets", {"created": "24h"}, "Window '24h' is not one of: Last hour, Last 24 h, Last 7 "
                                 "days, Last 30 days, Any time, Custom — showing Last 7 days."),
    ("breakdowns", {"window": "Any time"}, "Window 'Any time' is not one of: Last hour, Last "
                                           "24 h, Last 7 days, Last 30 days, Custom — showing "
                                           "Last 24 h."),
    ("bets", {"brand": "nope"},
     "Brand 'nope' is not one of your brands — showing all your brands."),
    ("history", {"tz": "Mars/Olympus"},
     "Time zone 'Mars/Olympus' is not a time zone name such as Europe/Malta or UTC — showing "
     "the browser's (UTC)."),
])
def test_a_linked_brand_or_window_that_cannot_be_shown_is_said_so(open_page, page, params,
                                                                   note):
    app = open_page(page, **params)
    assert note in [shown(w.value) for w in app.warning]
    # and the page shows its default view instead
    assert not app.exception and app.selectbox(key="brand").value == "All brands"


# --- Callback sender ------------------------------------------------------------------------

def test_sender_shows_one_row_per_open_group_next_due_first(open_page):
    app = open_page("sender")
    table = app.dataframe[0].value
    # out now, then due now; the others retry later
    assert list(table["Group ID"].iloc[:2]) == ["bet-in-flight", "bet-queued"]
    assert set(table["Group ID"]) == {"bet-queued", "bet-5xx", "bet-handler", "bet-retrying",
                                      "bet-in-flight", "bet-outcome-unknown"}
    five = table.set_index("Group ID").loc["bet-5xx"]
    assert (five["Attempts"], five["Destination"], five["Queued behind"]) == (1, "/bet/settle", 1)
    assert five["Last error"] == "HTTP 503"
    groups = next(m for m in app.metric if m.label == "Groups queued")
    assert groups.value == "6"


def test_sender_shows_a_head_being_sent_and_why_another_is_sent_again(open_page, scenario_db):
    from delivery import store

    [lost] = store.group_attempts(scenario_db, "bet-outcome-unknown")
    app = open_page("sender", group_ids="bet-in-flight bet-outcome-unknown")
    table = app.dataframe[0].value.set_index("Group ID")
    assert table.loc["bet-in-flight", "Send date"] == "sending now"
    unknown = table.loc["bet-outcome-unknown"]
    assert unknown["Last error"] == UNKNOWN_DETAIL + str(lost["id"])
    assert (unknown["Attempts"], unknown["Destination"]) == (1, "/bet/settle")
    assert next(m for m in app.metric if m.label == "Sending now").value == "1"


def test_sender_group_ids_filter_and_no_data(open_page):
    app = open_page("sender", group_ids="bet-handler, bet-delivered")
    assert list(app.dataframe[0].value["Group ID"]) == ["bet-handler"]
    app = open_page("sender", group_ids="bet-delivered")
    assert not app.dataframe
    assert "No data" in texts(app)


# --- Callback history -----------------------------------------------------------------------

def test_history_for_pasted_group_ids(open_page):
    app = open_page("history", group_ids="bet-5xx\nbet-delivered", window="Any time")
    table = app.dataframe[0].value
    assert sorted(table["Group ID"]) == ["bet-5xx"] * 2 + ["bet-delivered"] * 3
    failed = table[table["Response code"] == "503"].iloc[0]
    assert failed["Response error"] == "http_status: HTTP 503"
    assert failed["Response data"] == "Service Unavailable"
    assert failed["Attempts"] == "1 of 1"


@pytest.mark.parametrize("params, expected", [
    ({"code": "5xx"}, [500, 503]),
    ({"code": "400"}, [400, 400]),
    ({"code": "429, 500"}, [429, 500]),
    ({"outcome": "exhausted"}, [500]),
    ({"outcome": "rejected"}, [400]),
    ({"destination": "/bet/decline"}, [204]),
    ({"error_class": "unsupported_error"}, [400]),
    ({"brand": "bravo"}, [204, 500]),
])
def test_history_filters(open_page, params, expected):
    app = open_page("history", **params)
    assert sorted(app.dataframe[0].value["Response code"]) == [str(c) for c in expected]


def test_history_page_is_grouped_by_bet_and_each_bets_requests_read_as_sent(open_page):
    # Given bet-delivered (place, accept, settle) and, queued after it, bet-5xx (place
    # delivered, settle answered 503 and waiting for its retry, unsettle queued behind) — read
    # newest callback first, bet-5xx's settle before its place
    app = open_page("history", group_ids="bet-delivered bet-5xx", window="Any time")
    table = app.dataframe[0].value
    # Then the page shows the bet with the newest callback first, and each bet's requests in
    # the order they were sent: bet-5xx's place, then its settle
    assert list(zip(table["Group ID"], table["Destination"], table["Response code"],
                    strict=True)) == [
        ("bet-5xx", "/bet/place", "204"), ("bet-5xx", "/bet/settle", "503"),
        ("bet-delivered", "/bet/place", "204"), ("bet-delivered", "/bet/accept", "204"),
        ("bet-delivered", "/bet/settle", "204")]
    assert list(table["Response data"]) == ["null", "Service Unavailable"] + ["null"] * 3


def test_history_shows_an_attempt_in_progress_and_one_whose_outcome_is_unknown(open_page):
    app = open_page("history", group_ids="bet-in-flight bet-outcome-unknown",
                    window="Any time")
    table = app.dataframe[0].value.set_index("Group ID")
    sending = table.loc["bet-in-flight"]
    assert (sending["Outcome"], sending["Attempts"]) == ("sending", "1 of 1")
    assert sending["Response error"] == "sending… (no answer recorded yet)"
    assert sending["Response code"] == "— (sending)" and pd.isna(sending["ms"])
    assert sending["Sent at"]
    unknown = table.loc["bet-outcome-unknown"]
    assert unknown["Outcome"] == "unknown"
    assert unknown["Response error"] == \
        f"outcome unknown: {UNKNOWN_DETAIL}{unknown['Attempt ID']}"
    assert pd.isna(unknown["ms"])  # how long the row stayed open is not the platform's time
    assert unknown["Response code"] == "— (not recorded)"


@pytest.mark.parametrize("params, expected", [
    ({"outcome": "sending"}, ["bet-in-flight"]),
    ({"outcome": "unknown"}, ["bet-outcome-unknown"]),
    ({"outcome": ["sending", "unknown"]}, ["bet-in-flight", "bet-outcome-unknown"]),
    ({"error_class": "unknown"}, ["bet-outcome-unknown"]),
])
def test_history_outcome_filter_offers_sending_and_unknown(open_page, params, expected):
    app = open_page("history", **params)
    assert sorted(app.dataframe[0].value["Group ID"]) == expected
    assert {"sending", "unknown"} <= set(app.multiselect(key="outcome").options)


def test_history_expanded_attempt_in_progress(open_page, scenario_db):
    from delivery import store

    [attempt] = store.group_attempts(scenario_db, "bet-in-flight")
    app = open_page("history", group_ids="bet-in-flight", attempt=str(attempt["id"]))
    shown = texts(app)
    assert "no answer yet · sending" in shown
    assert "sending… (no answer recorded yet)" in shown
    assert "— (in progress)" in shown
    assert "No answer recorded yet: the request is still out." in shown
    assert f'"X-Request-ID": "{attempt["id"]}"' in shown


def test_history_expanded_attempt_whose_outcome_is_unknown(open_page, scenario_db):
    from delivery import store

    [attempt] = store.group_attempts(scenario_db, "bet-outcome-unknown")
    app = open_page("history", group_ids="bet-outcome-unknown", attempt=str(attempt["id"]))
    [warning] = [markup.plain(w.value) for w in app.warning]
    assert warning.startswith("Outcome unknown — " + UNKNOWN_DETAIL + str(attempt["id"]))
    assert f"search their logs for Attempt ID {attempt['id']}" in warning
    assert "is being sent again with the same request_id" in warning
    shown = texts(app)
    assert "— (not recorded)" in shown
    assert "No answer was recorded" in shown


def test_history_unreadable_code_filter_says_what_to_type(open_page):
    app = open_page("history", code="fivehundred")
    assert "type codes like 404" in texts(app)
    assert not app.dataframe


def test_history_expanded_attempt_shows_payload_headers_and_response(open_page, scenario_db):
    from delivery import masking, store

    [attempt] = [a for a in store.group_attempts(scenario_db, "bet-handler")
                 if a["destination"] == "/bet/settle"]
    app = open_page("history", group_ids="bet-handler", attempt=str(attempt["id"]))
    shown = texts(app)
    assert str(attempt["id"]) in shown
    assert '"settle_amount": "25.00"' in shown                   # the payload sent
    fingerprint = masking.for_brand(brands.fingerprint_key(scenario_db)).fingerprint(
        "session-token-123456")
    [params] = [f.value for f in app.dataframe if list(f.value.columns) == ["Key", "Value"]]
    assert params.values.tolist() == [["token", fingerprint]]  # Foreign-Params, key by key
    assert "session-token-123456" not in shown + params.to_string()  # secret masked
    [headers] = [str(c.value) for c in app.code if "X-Request-ID" in str(c.value)]
    assert "Foreign-Params" not in headers  # not as escaped JSON inside the headers' JSON
    assert '"code": "bet_not_found"' in shown                    # the full response
    assert "unsupported_error" in shown


def test_history_unknown_attempt_in_link_is_reported(open_page):
    app = open_page("history", attempt="00000000-0000-0000-0000-000000000000")
    assert "No attempt with Attempt ID" in texts(app)


# --- Investigate ----------------------------------------------------------------------------

@pytest.mark.parametrize("bet_id, verdict", sorted(VERDICT_BETS.items()))
def test_investigate_names_the_verdict_for_real_rows(open_page, bet_id, verdict):
    from dashboard.verdicts import STYLE

    app = open_page("investigate", bet=bet_id)
    alerts = [e.value for kind in ("success", "info", "warning", "error")
              for e in getattr(app, kind)]
    assert any(STYLE[verdict][0] in a for a in alerts), alerts
    summary = app.code[-1].value
    assert f"Bet ID: {bet_id}" in summary
    assert f"Verdict: {STYLE[verdict][0]}" in summary


def test_investigate_outcome_unknown_names_the_request_to_search_for(open_page, scenario_db):
    from delivery import store

    [attempt] = store.group_attempts(scenario_db, "bet-outcome-unknown")
    [callback] = store.group_callbacks(scenario_db, "bet-outcome-unknown")
    request = str(attempt["id"])
    app = open_page("investigate", bet="bet-outcome-unknown")
    [verdict] = [w.value for w in app.warning]
    assert "### Outcome unknown" in verdict
    assert f"the platform may have received request `{request}`" in verdict
    assert f"{attempt['started_at']:%Y-%m-%d %H:%M:%S} UTC" in verdict
    assert f"sent again with the same request_id `{callback['request_id']}`" in verdict
    assert f"search their logs for Attempt ID {request}" in texts(app)
    assert list(app.dataframe[0].value["Attempt ID"]) == [request]  # the evidence
    assert list(app.dataframe[0].value["Answer"]) == ["unknown"]
    summary = app.code[-1].value
    assert f"Attempt IDs behind the verdict (X-Request-ID): {request}" in summary
    assert "the platform may have received this request" in summary


def test_investigate_a_request_in_flight(open_page, scenario_db):
    from delivery import store

    [attempt] = store.group_attempts(scenario_db, "bet-in-flight")
    app = open_page("investigate", bet="bet-in-flight")
    [verdict] = [i.value for i in app.info]
    assert "### A request is in flight right now" in verdict
    assert f"(Attempt ID `{attempt['id']}`)" in verdict
    assert "its answer is not recorded yet" in verdict
    evidence = app.dataframe[0].value
    assert list(evidence["Outcome"]) == ["sending"]
    assert list(evidence["Response error"]) == ["sending… (no answer recorded yet)"]
    assert "(in flight: no answer recorded yet)" in app.code[-1].value


def test_investigate_points_to_the_brand_that_owns_the_bet(open_page):
    app = open_page("investigate", bet="bet-gaveup", brand="alpha")
    assert "belongs to brand **bravo**" in texts(app)


def test_investigate_evidence_lists_the_failed_attempts(open_page):
    app = open_page("investigate", bet="bet-gaveup")
    evidence = app.dataframe[0].value
    assert list(evidence["Response code"]) == ["500"]
    assert list(evidence["Outcome"]) == ["exhausted"]


def test_investigate_shows_restrictions_and_foreign_params_as_key_value_tables(open_page):
    # bet-gaveup's place ran out of retries: its decline carries the retry-limit restriction
    app = open_page("investigate", bet="bet-gaveup")
    frames = {tuple(f.value.columns): f.value for f in app.dataframe}
    restrictions = frames[("Restriction", "Key", "Value")]
    assert set(restrictions["Restriction"]) == {"internal_error"}
    assert dict(zip(restrictions["Key"], restrictions["Value"], strict=True)) == {
        "max_bet": "null", "sport_event_id": "null", "code": "place_retry_limit_reached"}
    params = frames[("Key", "Value")]
    assert list(params["Key"]) == ["token"]
    assert params["Value"].iloc[0].startswith("***")  # masked as stored
    shown = texts(app) + "".join(f.value.to_string() for f in app.dataframe)
    assert "{'" not in shown and '\\"' not in shown and "session-token-123456" not in shown


def test_investigate_shows_the_stake_in_the_currency_minor_units(open_page, scenario_db):
    import sqlalchemy as sa

    with scenario_db.begin() as conn:
        conn.execute(sa.text("UPDATE bets SET stake = 5.505 WHERE bet_id = 'bet-delivered'"))
        conn.execute(sa.text("UPDATE brands SET currency = 'EUR' WHERE name = 'alpha'"))
    try:
        app = open_page("investigate", bet="bet-delivered")
    finally:
        with scenario_db.begin() as conn:
            conn.execute(sa.text("UPDATE brands SET currency = NULL WHERE name = 'alpha'"))
    shown = texts(app)
    assert "**Stake** EUR 5.50 ·" in shown and "5.505" not in shown


# --- Breakdowns and API reference -----------------------------------------------------------

def test_breakdowns_counts_every_attempt(open_page, scenario_db):
    import sqlalchemy as sa

    with scenario_db.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM attempts")).scalar_one()
    app = open_page("breakdowns")
    assert next(m for m in app.metric if m.label == "Attempts").value == f"{total:,}"
    assert len(app.get("vega_lite_chart")) == 8  # with All brands, By brand is drawn too


def test_breakdowns_count_unknown_apart_and_sending_as_no_failure(open_page, scenario_db):
    import json

    import pyarrow as pa
    import sqlalchemy as sa

    with scenario_db.connect() as conn:
        delivered, first = conn.execute(sa.text(
            "SELECT count(*) FILTER (WHERE outcome = 'delivered'),"
            "       count(*) FILTER (WHERE outcome <> 'sending')"
            " FROM attempts WHERE attempt_no = 1")).one()
    app = open_page("breakdowns")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Outcome unknown"] == "1"
    assert metrics["First-attempt success"] == f"{delivered / first:.1%}"
    by_class = app.get("vega_lite_chart")[0].proto  # attempts over time by answer class
    assert json.loads(by_class.spec)["encoding"]["color"]["field"] == "answer"
    [data] = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in by_class.datasets]
    answers = data.groupby("answer")["attempts"].sum().to_dict()
    assert (answers["unknown"], answers["sending"]) == (1, 1)
    assert answers["5xx"] == 2  # bet-5xx's settle and bet-gaveup's place


def test_breakdowns_offer_bars_of_five_minutes_for_a_day(open_page, scenario_db):
    import json
    from datetime import timedelta

    import pyarrow as pa
    import sqlalchemy as sa

    with scenario_db.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM attempts")).scalar_one()
    app = open_page("breakdowns")
    bars = next(s for s in app.selectbox if s.label == "Bars")
    assert bars.value == timedelta(hours=1)
    assert bars.options == ["per 5 min", "per 15 min", "per hour", "per 6 h"]
    bars.set_value(timedelta(minutes=5)).run()
    by_class = app.get("vega_lite_chart")[0].proto
    assert json.loads(by_class.spec)["encoding"]["y"]["title"] == "attempts per 5 min"
    [data] = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in by_class.datasets]
    assert data["attempts"].sum() == total
    assert all(t.minute % 5 == 0 and t.second == 0 for t in data["time"])


def test_api_reference_renders_every_destination(open_page):
    import contract

    app = open_page("api_reference")
    shown = texts(app)
    for path, spec in contract.DESTINATIONS.items():
        assert f"`{path}`" in shown
        for code in spec.supported_codes:
            assert f'"code": "{code}"' in shown


# --- scope: time zone and custom windows ----------------------------------------------------

def test_times_follow_the_chosen_time_zone(open_page):
    from datetime import datetime, timedelta

    utc = open_page("history", group_ids="bet-5xx", window="Any time")
    tokyo = open_page("history", group_ids="bet-5xx", window="Any time", tz="Asia/Tokyo")
    shown_utc = datetime.fromisoformat(utc.dataframe[0].value["Created at"].iloc[0])
    shown_tokyo = datetime.fromisoformat(tokyo.dataframe[0].value["Created at"].iloc[0])
    assert shown_tokyo - shown_utc == timedelta(hours=9)


def test_custom_window_from_the_link(open_page, scenario_db):
    from datetime import datetime, timedelta

    import sqlalchemy as sa

    with scenario_db.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM attempts")).scalar_one()

    now = datetime.now(UTC)
    fmt = "%Y-%m-%dT%H:%M"
    around = open_page("history", window="Custom",
                       window_from=(now - timedelta(hours=2)).strftime(fmt),
                       window_to=(now + timedelta(hours=2)).strftime(fmt))
    assert len(around.dataframe[0].value) == total  # every scenario attempt
    before = open_page("history", window="Custom",
                       window_from=(now - timedelta(days=3)).strftime(fmt),
                       window_to=(now - timedelta(days=2)).strftime(fmt))
    assert not before.dataframe and "No data" in texts(before)


def test_sender_selected_group_shows_its_ids_to_copy(open_page):
    app = open_page("sender", group_ids="bet-5xx")
    app.session_state["sender_table"] = {"selection": {"rows": [0], "columns": [],
                                                       "cells": []}}
    app.run()
    codes = [c.value for c in app.code]
    assert "bet-5xx" in codes
    assert any(len(c) == 36 and c.count("-") == 4 for c in codes)  # the head's request_id


def test_sender_says_when_the_selected_group_left_the_queue(open_page, scenario_db):
    import sqlalchemy as sa
    import streamlit as st

    app = open_page("sender", group_ids="bet-5xx bet-handler")
    row = list(app.dataframe[0].value["Group ID"]).index("bet-5xx")
    app.session_state["sender_table"] = {"selection": {"rows": [row], "columns": [],
                                                       "cells": []}}
    app.run()
    assert not app.info
    with scenario_db.begin() as conn:  # its callbacks go out while it is selected
        states = conn.execute(sa.text(
            "UPDATE callbacks c SET state = 'delivered' FROM callbacks o WHERE c.id = o.id "
            "AND c.bet_id = 'bet-5xx' AND c.state IN ('pending', 'waiting') "
            "RETURNING c.id, o.state")).all()
    try:
        st.cache_data.clear()
        app.run()  # what the 5 s refresh does
        assert list(app.dataframe[0].value["Group ID"]) == ["bet-handler"]
        [info] = app.info
        assert markup.plain(info.value).startswith("Bet bet-5xx left the queue")
        links = {link.proto.label: link.proto.query_string for link in app.get("page_link")}
        assert links["Open it in Investigate"] == "bet=bet-5xx"
        assert "bet-5xx" not in [c.value for c in app.code]
        app.run()  # still said on the next refresh
        assert markup.plain(app.info[0].value).startswith("Bet bet-5xx left the queue")
    finally:
        with scenario_db.begin() as conn:
            for callback_id, state in states:
                conn.execute(sa.text("UPDATE callbacks SET state = :state WHERE id = :id"),
                             {"state": state, "id": callback_id})
        st.cache_data.clear()


def _sender_columns(app) -> list[str]:
    return list(app.dataframe[0].proto.column_order)


def test_sender_shows_the_brand_when_rows_may_be_of_several_brands(open_page, scenario_db):
    from dashboard_apptest import make_user, opened

    from users import store as accounts

    # A user of every brand, all brands shown: Brand next to the Group ID
    assert _sender_columns(open_page("sender"))[:2] == ["Group ID", "Brand"]
    # One brand selected, or a user of one brand: no Brand column
    assert "Brand" not in _sender_columns(open_page("sender", brand="alpha"))
    make_user(scenario_db, "alpha-only", accounts.ANALYST, brands=["alpha"])
    assert "Brand" not in _sender_columns(opened(scenario_db, "sender", "alpha-only"))
    # A user of two brands under "All brands" sees it
    make_user(scenario_db, "two-brands", accounts.ANALYST, brands=["alpha", "bravo"])
    assert _sender_columns(opened(scenario_db, "sender", "two-brands"))[:2] == [
        "Group ID", "Brand"]


def test_bets_selected_row_offers_its_ids_and_the_way_to_its_callbacks(open_page):
    app = open_page("bets", bet="bet-handler")
    app.session_state["bets_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    app.run()
    assert [c.value for c in app.code] == ["bet-handler", "player-1"]
    links = {link.proto.label: link.proto.page for link in app.get("page_link")}
    assert "Callback history for this bet" in links and "Investigate this bet" in links


def test_sender_selection_follows_the_group_when_the_queue_reorders(open_page, scenario_db):
    import sqlalchemy as sa
    import streamlit as st

    app = open_page("sender")
    before = list(app.dataframe[0].value["Group ID"])
    row = before.index("bet-5xx")
    assert row > 0
    app.session_state["sender_table"] = {"selection": {"rows": [row], "columns": [],
                                                       "cells": []}}
    app.run()
    assert "bet-5xx" in [c.value for c in app.code]
    move = ("UPDATE callbacks SET next_attempt_at = next_attempt_at + CAST(:by AS interval)"
            " WHERE bet_id = 'bet-5xx' AND state = 'pending'")
    with scenario_db.begin() as conn:  # bet-5xx's retry is now due first
        conn.execute(sa.text(move), {"by": "-2 days"})
    try:
        st.cache_data.clear()
        app.run()  # what the 5 s refresh does
        after = list(app.dataframe[0].value["Group ID"])
        assert after.index("bet-5xx") != row
        assert "bet-5xx" in [c.value for c in app.code]  # the same group, on its new row
        assert before[row] == "bet-5xx" and after[row] not in [c.value for c in app.code]
    finally:
        with scenario_db.begin() as conn:
            conn.execute(sa.text(move), {"by": "2 days"})
