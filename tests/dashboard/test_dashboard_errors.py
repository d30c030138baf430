"""Malformed or huge values in a link give a short message and the page's default view —
never an exception, SQL or a stack trace on the page."""
from __future__ import annotations

import pytest
from dashboard_apptest import texts

from dashboard import components
from dashboard.shaping import encode_cursor

HUGE = "9" * 100_000
#: Words that only a leaked query or trace would put on a page.
LEAKS = ("SELECT", "Traceback", "psycopg2", "sqlalchemy", "File \"")


def assert_short_and_clean(app) -> str:
    shown = texts(app)
    assert not [word for word in LEAKS if word in shown], shown[:2000]
    return shown


@pytest.mark.parametrize("page, params", [
    ("bets", {"after": "not-a-cursor"}),
    ("bets", {"after": encode_cursor(["yesterday", "bet-1"])}),
    ("bets", {"after": HUGE}),
    ("history", {"after": encode_cursor(["2026-01-01T00:00:00", "x", "not-a-uuid"])}),
])
def test_a_bad_cursor_shows_the_newest_rows_with_a_word_why(open_page, page, params):
    app = open_page(page, **params)
    shown = assert_short_and_clean(app)
    assert "damaged or out of date" in shown
    assert app.dataframe, "the default view (the newest rows) is shown"
    assert "after" not in app.query_params


@pytest.mark.parametrize("page, params, message", [
    ("bets", {"bet": "bet\x00-1"}, "control character"),
    ("bets", {"player": HUGE}, "characters long"),
    ("investigate", {"bet": "bet\x00"}, "control character"),
    ("investigate", {"bet": HUGE}, "characters long"),
    ("history", {"group_ids": "bet-5xx\x00"}, "control character"),
    ("history", {"group_ids": HUGE}, "characters long"),
    ("history", {"code": "5²²"}, "not understood"),
    ("history", {"code": HUGE}, "characters long"),
    ("sender", {"group_ids": "a\x00b"}, "control character"),
])
def test_a_value_no_id_can_be_gets_a_short_message(open_page, page, params, message):
    app = open_page(page, **params)
    shown = assert_short_and_clean(app)
    assert message in shown
    assert len(max((w.value for w in app.warning), key=len)) < 500


@pytest.mark.parametrize("page, params", [
    ("history", {"attempt": "²"}),
    ("history", {"attempt": "x\x00y"}),
    ("history", {"attempt": HUGE}),
    ("integration_test", {"run": "²"}),
    ("integration_test", {"run": "٣"}),
    ("integration_test", {"run": HUGE}),
    ("bets", {"window": HUGE, "created": "nonsense", "status": "NOPE"}),
    ("breakdowns", {"window": "\x00", "tz": "Mars/Olympus"}),
    ("history", {"window": "Custom", "window_from": "not a date", "window_to": "²"}),
    ("sender", {"brand": HUGE}),
])
def test_malformed_values_leave_the_default_view(open_page, page, params):
    app = open_page(page, **params)
    shown = assert_short_and_clean(app)
    assert len(shown) < 20_000  # nothing of the 100 KB value comes back whole


def test_a_failing_page_shows_a_short_message_and_logs_the_details(caplog):
    from streamlit.testing.v1 import AppTest

    def script():
        from dashboard import components

        @components.guarded
        def render():
            raise RuntimeError("SELECT secret FROM somewhere")
        render()

    app = AppTest.from_function(script).run()
    assert not app.exception
    [error] = app.error
    assert "could not be shown" in error.value and "SELECT" not in error.value
    assert "SELECT secret" in caplog.text  # the details stay in the server's log


def test_the_page_boundary_lets_streamlits_own_flow_through():
    assert components.guarded.__doc__
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from dashboard import components

        @components.guarded
        def render():
            st.write("before")
            st.stop()
        render()
        st.write("after")

    app = AppTest.from_function(script).run()
    assert [m.value for m in app.markdown] == ["before"]
    assert not app.error
