"""The Brand health page under AppTest, on rows made by the real delivery path and the alert
evaluator; its view comes from the link (brand, period)."""
from __future__ import annotations

import pytest
from brand_traffic import deliver, enqueue, failing_receiver
from dashboard_apptest import ADMIN, make_user, opened, texts
from databases import empty
from streamlit.testing.v1 import AppTest

from alerts import store as alert_store
from delivery import brands
from users import store as accounts


@pytest.fixture(scope="module")
def health_db(engine):
    """acme: a platform that answers nothing (EUR, one bet in USD); fine: one that answers."""
    empty(engine)
    failing = {f"x{i}" for i in range(4)}
    with failing_receiver(failing) as platform:
        brands.add_brand(engine, "acme", platform.url, retry_schedule_s=(0, 3600))
        brands.set_brand_currency(engine, "acme", "EUR")
        brands.add_brand(engine, "fine", platform.url)
        for i in range(4):
            enqueue(engine, "acme", f"x{i}", "/bet/place", stake="10.00",
                    **({"bet_currency": "USD"} if i == 3 else {}))
        enqueue(engine, "acme", "x0", "/bet/settle", settle_amount="30.00")
        for i in range(3):
            enqueue(engine, "fine", f"ok{i}", "/bet/place")
        deliver(engine)
    alert_store.set_rule(engine, "money_at_risk", 20)
    alert_store.evaluate(engine)
    make_user(engine, ADMIN)
    make_user(engine, "fine-analyst", accounts.ANALYST, brands=("fine",))
    yield engine
    empty(engine)


@pytest.fixture
def open_health(health_db, reader_env):
    def run(user: str = ADMIN, **params) -> AppTest:
        return opened(health_db, "health", user, **params)
    return run


def _table(app, first_column: str):
    return next(d.value for d in app.dataframe if d.value.columns[0] == first_column)


def test_every_brand_now_worst_first_with_money_per_currency(open_health):
    app = open_health()
    now = _table(app, "State")
    assert list(now["Brand"]) == ["acme", "fine"]
    assert list(now["State"]) == ["🔴 down", "🟢 healthy"]
    assert now["Why"].iloc[0] == "none of the last 4 attempts in 15 min was answered"
    assert now.set_index("Brand").loc["acme", "Backlog"] == 5
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["Down"], metrics["Healthy"], metrics["Backlog"]) == ("1", "1", "5")
    assert (metrics["At risk, EUR"], metrics["At risk, USD"]) == ("60.00", "10.00")
    money = next(d.value for d in app.dataframe if "Held" in d.value.columns)
    assert money[["Currency", "Held", "Owed", "Total"]].values.tolist() == [
        ["EUR", "30.00", "30.00", "60.00"], ["USD", "10.00", "0.00", "10.00"]]


def test_the_period_compares_with_the_one_before(open_health):
    app = open_health()
    compared = next(d.value for d in app.dataframe
                    if "Previous failure rate" in d.value.columns)
    rows = compared.set_index("Brand")
    assert rows.loc["acme", "Failure rate"] == 1.0 and rows.loc["fine", "Failure rate"] == 0.0
    assert rows.loc["fine", "First-attempt success"] == 1.0
    assert "Last 24 h against the 24 h before" in [s.value for s in app.subheader]
    week = open_health(period="7d")
    assert "Last 7 days against the 7 days before" in [s.value for s in week.subheader]


def test_a_brand_link_shows_that_brand_only(open_health):
    app = open_health(brand="fine")
    assert list(_table(app, "State")["Brand"]) == ["fine"]
    assert "None: no undelivered callback carries money right now." in texts(app)
    assert "No rule is firing." in texts(app)


def test_alerts_firing_history_and_rules(open_health):
    app = open_health(brand="acme")
    text = texts(app)
    assert "rule(s) firing now" in text
    history = next(d.value for d in app.dataframe if "Notifications" in d.value.columns)
    assert set(history["Rule"]) >= {"money at risk"}
    assert set(history["Notifications"]) == {"no alert URL"}
    rules = next(d.value for d in app.dataframe if "Fires when" in d.value.columns)
    assert rules.set_index("Rule").loc["money at risk", "Set by"] == "default"
    assert rules.set_index("Rule").loc["money at risk", "Fires when"] == \
        "money at risk above 20 in a currency"
    assert rules.set_index("Rule").loc["failure rate", "Resolves when"] == \
        "at or below 20 % for 5 min; judged from 20 attempts"


def test_a_user_sees_the_health_and_alerts_of_their_brands_only(open_health):
    app = open_health(user="fine-analyst")
    assert list(_table(app, "State")["Brand"]) == ["fine"]
    assert "No rule is firing." in texts(app)
    assert "No alert has fired yet." in texts(app)
    rules = next(d.value for d in app.dataframe if "Fires when" in d.value.columns)
    assert rules.set_index("Rule").loc["money at risk", "Set by"] == "default"
