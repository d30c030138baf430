"""The Reconcile page under AppTest: past reconciliations of the user's brands only, and a
recorded one's summary and bets. (Uploading a ledger is a browser's job: see
test_dashboard_reconcile_browser.py.)"""
from __future__ import annotations

import pytest
from dashboard_apptest import make_user, opened, texts
from reconciliations import brand_id, stranger_report

from reconcile import run, store
from users import store as accounts


@pytest.fixture
def recorded(clean_db, reader_env, tmp_path):
    """Brands acme and other, a reconciliation of each, and an analyst of acme."""
    ids = {}
    for name, who in (("acme", "ana"), ("other", "olga")):
        scope, report = stranger_report(clean_db, name, tmp_path)
        ids[name] = store.save(clean_db, scope, report, who)
    make_user(clean_db, "ana", accounts.ANALYST, brands=["acme"])
    return ids


def _frames(app) -> list:
    return [e.value for e in app.dataframe]


def test_an_analyst_sees_only_their_brands_reconciliations(clean_db, recorded):
    # An analyst of one brand has it picked: the upload is theirs at once
    app = opened(clean_db, "reconcile", "ana")
    assert "Pick one brand in the sidebar" not in texts(app)
    assert app.selectbox(key="brand").options == ["acme"]
    [past] = _frames(app)
    assert list(past["Brand"]) == ["acme"] and list(past["Who"]) == ["ana"]

    app = opened(clean_db, "reconcile", "ana", brand="acme",
                 reconciliation=str(recorded["other"]))
    assert "is not one of this brand's" in texts(app)
    assert len(_frames(app)) == 1      # the list only: nothing of the other brand's shown


def test_a_recorded_reconciliation_shows_its_summary_and_bets(clean_db, recorded):
    app = opened(clean_db, "reconcile", "ana", brand="acme",
                 reconciliation=str(recorded["acme"]))
    assert not app.error, [e.value for e in app.error]
    past, summary, bets = _frames(app)
    assert summary.to_dict("records") == [dict(verdict="unknown_to_us", currency="EUR", bets=2,
                                               expected="0.00", booked="2.00",
                                               difference="2.00")]
    assert list(bets["Bet ID"]) == ["stranger-1", "stranger-2"]
    assert list(bets["Investigate"]) == ["investigate?brand=acme&bet=stranger-1",
                                         "investigate?brand=acme&bet=stranger-2"]
    assert bets["History"][0].startswith("history?brand=acme&group_ids=stranger-1")
    assert "run by ana" in texts(app)
    assert [b.label for b in app.get("download_button")] == ["Download report (CSV)"]
    assert len(past) == 1


def test_no_past_reconciliations_says_so(clean_db, reader_env):
    brand_id(clean_db, "acme")
    make_user(clean_db, "ana", accounts.ANALYST, brands=["acme"])
    app = opened(clean_db, "reconcile", "ana", brand="acme")
    assert "No reconciliations yet of this brand." in texts(app)
    assert app.get("file_uploader") or app.get("form")


def test_the_page_is_in_the_navigation():
    from dashboard import navigation
    assert navigation.href("reconcile") == "reconcile"
    assert run.KEEP > 0
