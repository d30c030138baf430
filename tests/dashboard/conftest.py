"""Fixtures of the dashboard tests: the scenario rows (one bet per verdict), the read-only URL
the pages use, and a helper that opens one page with query parameters under AppTest, signed in
as a user of every brand."""
from __future__ import annotations

import dashboard_scenarios
import pytest
import streamlit as st
from dashboard_apptest import ADMIN, app_script, make_user, signed_in
from databases import empty
from streamlit.testing.v1 import AppTest

from dashboard import auth, connection

#: Seconds an AppTest run may take (the first run imports pandas, altair and friends).
RUN_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def scenario_db(engine, database_url):
    """The scenario rows, built once per test module; tests only read them."""
    empty(engine)
    dashboard_scenarios.build_with_receiver(engine)
    make_user(engine, ADMIN)
    yield engine
    empty(engine)


@pytest.fixture
def reader_env(database_url, monkeypatch):
    """Pages read the test database as callbacks_reader (sign-in reads accounts and sessions as
    the owner); caches start empty. Queries called outside a page see every brand (pages see
    their signed-in user's)."""
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", connection.reader_url(database_url))
    monkeypatch.setenv("DATABASE_URL", database_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    with auth.seeing(None):
        yield connection.reader_url(database_url)
    st.cache_data.clear()


@pytest.fixture
def open_page(scenario_db, reader_env):
    """``open_page("history", group_ids="bet-1")`` → the AppTest after its first run."""
    def run(page: str, **params) -> AppTest:
        app = AppTest.from_function(app_script, args=(page,), default_timeout=RUN_TIMEOUT_S)
        app.context = {"timezone": "UTC"}
        signed_in(app, scenario_db)
        for name, value in params.items():
            app.query_params[name] = value
        app.run()
        assert not app.exception, [e.message for e in app.exception]
        return app
    return run

