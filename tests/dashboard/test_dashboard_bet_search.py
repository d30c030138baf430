"""Bets searched by exact Bet ID: the whole history, whatever the Created window says — a bet
of ten days ago is found by its id under the default "Last 7 days", and so are several pasted
ids."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dashboard_scenarios
import pytest
from dashboard_apptest import ADMIN, make_user, opened, texts
from databases import empty


@pytest.fixture(scope="module")
def aged_db(engine):
    """The scenario bets, with bet-delivered moved 10 days back and bet-5xx 12 days back."""
    empty(engine)
    dashboard_scenarios.build_with_receiver(engine)
    now = datetime.now(UTC)
    dashboard_scenarios.move_back(engine, ["bet-delivered"], now - timedelta(days=10))
    dashboard_scenarios.move_back(engine, ["bet-5xx"], now - timedelta(days=12))
    make_user(engine, ADMIN)
    yield engine
    empty(engine)


def shown_bets(app) -> list[str]:
    return list(app.dataframe[0].value["Bet ID"]) if app.dataframe else []


def test_the_default_window_leaves_out_a_bet_of_ten_days_ago(aged_db, reader_env):
    app = opened(aged_db, "bets")
    assert "bet-delivered" not in shown_bets(app)
    assert "Searched all time" not in texts(app)


def test_an_exact_bet_id_is_searched_at_any_time(aged_db, reader_env):
    # Given a bet created 10 days ago, and the Bets list's default window (Last 7 days)
    app = opened(aged_db, "bets", bet="bet-delivered")
    # Then its id finds it, and the page says the window did not apply
    assert app.selectbox(key="created").value == "Last 7 days"
    assert shown_bets(app) == ["bet-delivered"]
    assert "Searched all time for this Bet ID (archive included)" in texts(app)
    assert "No data" not in texts(app)


def test_several_pasted_bet_ids_are_found_newest_first(aged_db, reader_env):
    app = opened(aged_db, "bets", bet="bet-5xx, bet-delivered\nbet-supported bet-nowhere")
    assert shown_bets(app) == ["bet-supported", "bet-delivered", "bet-5xx"]
    assert "Searched all time for 4 Bet IDs" in texts(app)


def test_an_unknown_bet_id_says_all_time_was_searched(aged_db, reader_env):
    app = opened(aged_db, "bets", bet="bet-nowhere")
    page = texts(app)
    assert "No data" in page and "Searched all time for this Bet ID" in page
    assert "in this window" not in page
