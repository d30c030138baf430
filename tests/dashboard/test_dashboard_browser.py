"""The running dashboard in Debian's Chromium: every page opens once signed in, Bets → clock →
Callback history works in the same tab, a history row expands. Screenshots of each page are
saved under test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

import re

import pytest
from browsers import needs_chromium, no_errors, on_sign_in_form, open_signed_in, settle, shoot
from dashboard_apptest import ADMIN, make_user
from dashboard_scenarios import build_with_receiver
from databases import empty
from playwright.sync_api import expect

from demo import seeding

#: Grid geometry of st.dataframe (px): header and row height, and the column offsets of the
#: row-selection box and the first data column (the clock in Bets).
ROW_PX, SELECT_X, FIRST_COLUMN_X = 31, 15, 60

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def demo(engine, shared_dashboard):
    """The dashboard serving the scenario bets plus two days of synthetic history."""
    empty(engine)
    build_with_receiver(engine)
    seeding.seed_history(engine, 3000, days=2, seed=3)
    make_user(engine, ADMIN)
    yield shared_dashboard.fresh()
    empty(engine)


@pytest.mark.parametrize("path, name, heading", [
    # a deep link first: a fresh server must not take dashboard/pages/ for page scripts (the
    # run's first browser module opens the shared server with a deep link, whichever it is)
    ("sender", "02-callback-sender", "Callback sender"),
    ("", "01-bets", "Bets"),
    ("history", "03-callback-history", "Callback history"),
    ("investigate?bet=bet-5xx", "04-investigate", "Investigate a missing notification"),
    ("breakdowns?window=Last+7+days", "05-breakdowns", "Breakdowns"),
    ("api-reference", "06-api-reference", "Callback API reference"),
    ("investigate?bet=bet-outcome-unknown", "10-investigate-outcome-unknown",
     "Investigate a missing notification"),
    ("history?group_ids=bet-in-flight+bet-outcome-unknown&window=Any+time",
     "11-history-sending-and-unknown", "Callback history"),
])
def test_every_page_opens(demo, page, path, name, heading):
    open_signed_in(page, demo + path)
    # the first page a fresh server draws can take longer than settle()'s fixed pauses
    expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=30_000)
    settle(page)
    no_errors(page)
    assert shoot(page, name).stat().st_size > 10_000


def test_integration_test_page_opens(demo, page):
    open_signed_in(page, demo)
    link = page.locator("[data-testid='stSidebarNav'] a", has_text="Integration Test")
    link.first.click()
    settle(page)
    assert "/integration-test" in page.url
    no_errors(page)
    shoot(page, "07-integration-test")


def test_bets_clock_opens_that_bets_history_and_a_row_expands(demo, page):
    open_signed_in(page, demo + "?brand=alpha")
    page.get_by_role("textbox", name="Bet ID").fill("bet-5xx")
    page.get_by_role("textbox", name="Bet ID").press("Enter")
    settle(page)
    grid = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    page.mouse.click(grid["x"] + FIRST_COLUMN_X, grid["y"] + ROW_PX * 1.5)  # the clock
    settle(page)

    assert re.search(r"/history\?.*group_ids=bet-5xx", page.url), page.url
    assert "brand=alpha" in page.url
    assert page.get_by_role("textbox", name="Group ids").input_value() == "bet-5xx"
    shoot(page, "08-bets-clock-to-history")

    grid = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    page.mouse.click(grid["x"] + SELECT_X, grid["y"] + ROW_PX * 1.5)  # select the first row
    settle(page)
    assert "attempt=" in page.url
    expect(page.get_by_role("tab", name="Payload sent")).to_be_visible(timeout=30_000)
    payload = page.locator("[data-testid='stCode']").filter(has_text='"bet_id": "bet-5xx"')
    expect(payload.first).to_be_visible(timeout=30_000)  # drawn after its tab
    no_errors(page)
    shoot(page, "09-history-row-expanded")

    page.reload()  # the link alone reproduces the expanded view (still signed in)
    settle(page)
    assert not on_sign_in_form(page)
    expect(page.get_by_role("tab", name="Payload sent")).to_be_visible(timeout=30_000)
