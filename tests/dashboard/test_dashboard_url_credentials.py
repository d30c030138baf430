"""A brand re-routed to a URL with credentials and a query string: Callback history, the Actions
page and the API reference show where callbacks go — never the credentials — under AppTest, as
the back-office's read-only role, on real rows."""
from __future__ import annotations

import pytest
from dashboard_apptest import texts

from actions import store as actions
from delivery import store

SECRET = "s3cr3t-Pw"
#: bravo's URL after the re-route, as the page must show it.
CLEAN = "http://127.0.0.1:8/cb?route=eu"


@pytest.fixture(scope="module")
def rerouted_db(scenario_db):
    actions.set_url(scenario_db, "bravo", f"http://cy:{SECRET}@127.0.0.1:8/cb?route=eu",
                    actions.Actor("cy", "platform moved"))
    return scenario_db


def _everything(app) -> str:
    """All a person can read on the page: texts, tables, plain text, choices."""
    parts = [texts(app), *(str(t.value) for t in app.text)]
    parts += [frame.value.to_string() for frame in app.dataframe]
    parts += [str(option) for box in app.selectbox for option in box.options]
    return "\n".join(parts)


def test_actions_page_shows_the_re_route_without_the_credentials(rerouted_db, open_page):
    app = open_page("actions", brand="bravo")
    [target] = app.dataframe[0].value["Target"]
    # the trail keeps the query's names, not its values (they may be tokens)
    assert target.endswith("→ http://127.0.0.1:8/cb?route=*** (Basic credentials added)")
    assert SECRET not in _everything(app) and "cy:" not in _everything(app)


def test_history_shows_the_url_sent_to_with_the_query_after_the_path(rerouted_db, open_page):
    [attempt, *_] = store.group_attempts(rerouted_db, "bet-gaveup")
    app = open_page("history", group_ids="bet-gaveup", window="Any time",
                    attempt=str(attempt["id"]))
    shown = _everything(app)
    assert f"POST http://127.0.0.1:8/cb{attempt['destination']}?route=eu" in shown
    assert SECRET not in shown


def test_api_reference_shows_the_request_line_without_the_credentials(rerouted_db, open_page):
    app = open_page("api_reference", brand="bravo")
    shown = _everything(app)
    assert "POST http://127.0.0.1:8/cb{destination}?route=eu" in shown
    assert SECRET not in shown
