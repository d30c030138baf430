"""Configuration changes on the Actions page, under AppTest on real rows: a user sees the
changes of their brands only; changes of no one brand (users, default alert rules) are shown
to administrators of every brand only — PostgreSQL's row-level security decides, not only
the page."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dashboard_apptest import ADMIN, make_user, opened, texts
from streamlit.testing.v1 import AppTest

from alerts import store as alert_store
from dashboard import auth, queries
from delivery import audit, brands
from users import store as accounts

ANN = audit.Actor("ann", "root")
SECRET = "whsec_bravo-signing-secret"


@pytest.fixture(scope="module")
def changed_db(scenario_db):
    """The scenario's brands, each changed once, a user added and a default rule set, all
    recorded; and the users who look at them."""
    brands.change(scenario_db, "alpha", ANN, timeout_s=7.0, reason="alpha is slow")
    brands.change(scenario_db, "bravo", ANN, signing_secret=SECRET, reason="bravo signs")
    accounts.add_user(scenario_db, "carol", accounts.ANALYST, brands=["alpha"],
                      password="a long passphrase of hers", actor=ANN, reason="new analyst")
    alert_store.set_rule(scenario_db, "money_at_risk", 5000, actor=ANN, reason="quieter")
    make_user(scenario_db, "alpha-analyst", accounts.ANALYST, brands=["alpha"])
    make_user(scenario_db, "alpha-admin", accounts.ADMIN, brands=["alpha"])
    make_user(scenario_db, "all-analyst", accounts.ANALYST)
    return scenario_db


def open_as(engine, name: str, **params) -> AppTest:
    return opened(engine, "actions", name, **params)


def shown_changes(app: AppTest) -> list[tuple[str, str]]:
    """(Change, Subject) of the configuration changes table, or [] when there is none."""
    frames = [d.value for d in app.dataframe if "Change" in d.value.columns]
    if not frames:
        return []
    return list(zip(frames[0]["Change"], frames[0]["Subject"], strict=False))


ALPHA = ("Brand settings", "alpha")
BRAVO = ("Brand settings", "bravo")
USER = ("User added", "carol")
RULE = ("Alert rule set", "money_at_risk (default of every brand)")


@pytest.mark.parametrize("name, expected", [
    (ADMIN, [RULE, USER, BRAVO, ALPHA]),
    ("alpha-analyst", [ALPHA]),
    ("alpha-admin", [ALPHA]),        # an admin of some brands: no changes of no one brand
    ("all-analyst", [BRAVO, ALPHA]),  # every brand, but users and rules are for admins
])
def test_each_user_sees_the_changes_of_their_brands(changed_db, reader_env, name, expected):
    assert shown_changes(open_as(changed_db, name)) == expected


def test_a_change_shows_who_why_and_what_never_the_secret(changed_db, reader_env):
    app = open_as(changed_db, ADMIN, brand="bravo")
    frame = next(d.value for d in app.dataframe if "Change" in d.value.columns)
    row = frame.iloc[0]
    assert (row["Who"], row["OS user"], row["Reason"]) == ("ann", "root", "bravo signs")
    assert row["Before → after"] == "signing_secret: (none) → ***"
    assert SECRET not in frame.to_csv() and "$argon2" not in frame.to_csv()
    assert "Configuration changes" in texts(app)


def test_the_change_filter_comes_from_the_link(changed_db, reader_env):
    app = open_as(changed_db, ADMIN, change="User added")
    assert shown_changes(app) == [USER]


def test_no_matching_change_says_so(changed_db, reader_env):
    app = open_as(changed_db, "alpha-analyst", change="Test URL added")
    assert shown_changes(app) == []
    assert "No configuration change in this window" in texts(app)


def test_postgresql_hides_other_brands_and_global_changes(changed_db, reader_env):
    """The reader role itself, asked for everything (global rows included), returns only what
    the brands of the session allow."""
    alpha = next(b["id"] for b in queries.brands() if b["name"] == "alpha")
    window = (datetime.now(UTC) - timedelta(days=1),
              datetime.now(UTC) + timedelta(minutes=1))
    with auth.seeing([alpha]):
        seen = queries.config_changes(None, *window, with_global=True)
    assert [(r["kind"], r["brand"]) for r in seen] == [("brand.set", "alpha")]
    with auth.seeing(None):
        every = queries.config_changes(None, *window, with_global=True)
    assert {r["kind"] for r in every} == {"brand.set", "user.add", "alert_rule.set"}
