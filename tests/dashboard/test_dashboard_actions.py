"""The audit trail in the back-office: actions on Investigate, manual attempts in Callback
history, the Actions page per brand — under AppTest, on real rows."""
from __future__ import annotations

from datetime import UTC

import pytest
from dashboard_apptest import texts
from dashboard_scenarios import deliver_due

from actions import store as actions
from delivery import store

REASON = "platform back after **incident** <b>42</b>"


@pytest.fixture(scope="module")
def acted_db(scenario_db):
    """The scenario rows, then three actions: a retry (its attempt made), a cancel, a
    re-route."""
    ann = actions.Actor("ann", REASON)
    actions.retry(scenario_db, "bet-5xx", ann)
    deliver_due(scenario_db)  # the platform is gone: the manual attempt fails to connect
    actions.cancel(scenario_db, "bet-queued", actions.Actor("bob", "duplicate bet",
                                                             "dashboard"))
    actions.set_url(scenario_db, "bravo", "http://127.0.0.1:8",
                    actions.Actor("cy", "platform moved"))
    return scenario_db


def test_investigate_lists_the_actions_taken_on_the_bet(acted_db, open_page):
    app = open_page("investigate", bet="bet-5xx")
    assert "Actions taken on this bet" in texts(app)
    taken = next(d.value for d in app.dataframe if "Who" in d.value.columns)
    assert list(taken["Action"]) == ["Retry"] and list(taken["Who"]) == ["ann"]
    assert list(taken["Reason"]) == [REASON]
    attempts = [d.value for d in app.dataframe if "Sent by" in d.value.columns]
    notes = {n for frame in attempts for n in frame["Sent by"] if n}
    assert notes == {f"manual retry by ann: {REASON}"}


def test_investigate_says_when_no_action_touched_the_bet(acted_db, open_page):
    app = open_page("investigate", bet="bet-delivered")
    assert "None: no retry, recover or cancel has touched" in texts(app)


def test_history_says_who_sent_an_attempt_again_and_why(acted_db, open_page):
    app = open_page("history", group_ids="bet-5xx", window="Any time")
    table = app.dataframe[0].value
    manual = table[table["Sent by"] != ""]
    assert len(manual) == 1
    assert manual["Sent by"].iloc[0] == f"manual retry by ann: {REASON}"
    [attempt] = [a for a in store.group_attempts(acted_db, "bet-5xx") if a["action_id"]]
    app = open_page("history", group_ids="bet-5xx", window="Any time",
                    attempt=str(attempt["id"]))
    assert f"manual retry by ann: {REASON}" in [t.value for t in app.text]


def test_actions_page_lists_every_action_newest_first(acted_db, open_page):
    app = open_page("actions")
    table = app.dataframe[0].value
    assert list(table["Action"]) == ["Re-route", "Cancel", "Retry"]
    assert list(table["Who"]) == ["cy", "bob", "ann"]
    assert list(table["From"]) == ["cli", "dashboard", "cli"]
    row = table.set_index("Action").loc["Re-route"]
    assert row["Target"].endswith("→ http://127.0.0.1:8") and row["Brand"] == "bravo"
    assert table.set_index("Action").loc["Cancel", "Target"] == "bet bet-queued"
    assert next(m for m in app.metric if m.label == "Actions").value == "3"


@pytest.mark.parametrize("params, expected", [
    ({"brand": "bravo"}, ["Re-route"]),
    ({"brand": "alpha"}, ["Cancel", "Retry"]),
    ({"kind": "Cancel"}, ["Cancel"]),
])
def test_actions_page_filters_come_from_the_link(acted_db, open_page, params, expected):
    app = open_page("actions", **params)
    assert list(app.dataframe[0].value["Action"]) == expected


def test_actions_page_without_actions_says_so(acted_db, open_page):
    app = open_page("actions", window="Last hour", brand="alpha", kind="Recover")
    assert not app.dataframe
    assert "No data" in texts(app)


def test_investigate_says_a_cancelled_bet_was_cancelled(acted_db, open_page):
    app = open_page("investigate", bet="bet-queued")
    shown = texts(app)
    assert "Cancelled by an integration manager" in shown
    assert "was cancelled by an integration manager after 1 attempt(s)" in shown
    taken = next(d.value for d in app.dataframe if "Who" in d.value.columns)
    assert list(taken["Who"]) == ["bob"] and list(taken["Reason"]) == ["duplicate bet"]


def test_a_cancelled_callback_decides_the_verdict_a_skipped_one_does_not():
    from datetime import datetime

    from dashboard import verdicts

    def cb(n, state, last_error=None):
        return {"id": n, "destination": "/bet/settle", "state": state, "attempts": 1,
                "last_error": last_error, "next_attempt_at": None}

    now = datetime.now(UTC)
    cancelled = verdicts.investigate("b", None, [cb(1, "delivered"),
                                                 cb(2, "skipped", "cancelled by ann: dup")],
                                     [], now)
    assert cancelled.key == verdicts.CANCELLED and "before it was ever sent" in \
        cancelled.explanation
    delivered = verdicts.investigate("b", None, [cb(1, "delivered"),
                                                 cb(2, "skipped", "skipped: other reason")],
                                     [], now)
    assert delivered.key == verdicts.DELIVERED


def test_only_integration_managers_and_admins_get_the_action_buttons(acted_db, reader_env):
    from dashboard_apptest import ADMIN, app_script, make_user, signed_in
    from streamlit.testing.v1 import AppTest

    from users import store as accounts

    make_user(acted_db, "an-analyst", accounts.ANALYST)
    make_user(acted_db, "a-manager", accounts.INTEGRATION_MANAGER)
    for name, allowed in (("an-analyst", False), ("a-manager", True), (ADMIN, True)):
        app = AppTest.from_function(app_script, args=("investigate",), default_timeout=60)
        app.context = {"timezone": "UTC"}
        signed_in(app, acted_db, name)
        app.query_params["bet"] = "bet-5xx"
        app.run()
        assert not app.exception, [e.message for e in app.exception]
        labels = [b.label for b in app.button]
        assert ("Retry…" in labels, "Cancel…" in labels) == (allowed, allowed), (name, labels)
        assert ("Act on this bet" in texts(app)) == allowed
