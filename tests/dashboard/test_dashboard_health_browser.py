"""The Brand health page in Debian's Chromium at 1280 px: it opens from its link, the period
switch rewrites the link, and a screenshot is saved for a person to look at."""
from __future__ import annotations

import pytest
from brand_traffic import deliver, enqueue, failing_receiver
from browsers import needs_chromium, no_errors, open_signed_in, settle, shoot_narrow
from dashboard_apptest import ADMIN, make_user
from databases import empty
from playwright.sync_api import expect

from alerts import store as alert_store
from delivery import brands
from demo import seeding

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def health_demo(engine, shared_dashboard):
    """Two days of synthetic history, plus a brand whose platform answers nothing."""
    empty(engine)
    seeding.seed_history(engine, 3000, days=2, seed=4)
    failing = {f"x{i}" for i in range(6)}
    with failing_receiver(failing) as platform:
        brands.add_brand(engine, "deadplatform", platform.url, retry_schedule_s=(0, 3600))
        brands.set_brand_currency(engine, "deadplatform", "EUR")
        for i in range(6):
            enqueue(engine, "deadplatform", f"x{i}", "/bet/place", stake="25.00")
        deliver(engine)
    alert_store.evaluate(engine)
    make_user(engine, ADMIN)
    yield shared_dashboard.fresh()
    empty(engine)


def segment(tab, label: str):
    """A button of the period switch."""
    return tab.locator("[data-testid='stButtonGroup'] button", has_text=label).first


def test_health_page_from_its_link_and_the_period_switch(health_demo, narrow_page):
    tab = narrow_page
    open_signed_in(tab, health_demo + "health?period=7d&brand=deadplatform")
    expect(tab.get_by_role("heading", name="Brand health").first).to_be_visible(timeout=30_000)
    settle(tab)
    no_errors(tab)
    expect(tab.get_by_role("heading", name="Last 7 days against the 7 days before")) \
        .to_be_visible()
    expect(tab.get_by_text("At risk, EUR")).to_be_visible()
    shoot_narrow(tab, "12-brand-health-one-brand")

    segment(tab, "24h").click()
    settle(tab)
    expect(tab.get_by_role("heading", name="Last 24 h against the 24 h before")) \
        .to_be_visible()
    assert "period=7d" not in tab.url and "brand=deadplatform" in tab.url
    segment(tab, "7d").click()
    settle(tab)
    assert "period=7d" in tab.url


def test_health_page_for_every_brand(health_demo, narrow_page):
    open_signed_in(narrow_page, health_demo + "health")
    expect(narrow_page.get_by_role("heading", name="Money at risk")).to_be_visible(
        timeout=30_000)
    no_errors(narrow_page)
    expect(narrow_page.get_by_text("rule(s) firing now")).to_be_visible()
    assert shoot_narrow(narrow_page, "13-brand-health").stat().st_size > 10_000
