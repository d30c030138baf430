"""The running dashboard in Chromium, reading a bet two years old from the Parquet archive.
Screenshots go to test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

from datetime import timedelta

import pytest
from archive_scenarios import OLD, build
from browsers import needs_chromium, new_context, settle, shoot, sign_in
from dashboard_apptest import ADMIN, make_user
from dashboards import serving
from databases import empty
from playwright.sync_api import expect

from archive.export import archive

pytestmark = [pytest.mark.slow, needs_chromium]
#: Tall enough for the investigation and the history grid (px).
WINDOW = {"width": 1500, "height": 1100}


@pytest.fixture(scope="module")
def dashboard(engine, database_url, tmp_path_factory):
    """A dashboard of its own: its environment names the archive folder (the run's shared one
    has none)."""
    folder = tmp_path_factory.mktemp("archive")
    empty(engine)
    build(engine)
    archive(engine, older_than=timedelta(days=90), folder=folder)
    make_user(engine, ADMIN)
    with serving(engine, database_url, {"CALLBACKS_ARCHIVE_DIR": str(folder)}) as url:
        yield url


@pytest.fixture
def page(dashboard, browser):
    context = new_context(browser, viewport=WINDOW)
    yield context.new_page()
    context.close()


def open_signed_in(tab, url: str, heading: str) -> None:
    """Open ``url`` in a fresh session, sign in on the form it shows, wait for the page."""
    tab.goto(url)
    sign_in(tab)
    tab.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    settle(tab)


def shoot_archive(tab, name: str) -> None:
    """The whole page (the main area scrolls, so the viewport grows to it)."""
    shoot(tab, name, width=WINDOW["width"], height=WINDOW["height"])


def test_an_archived_bet_is_investigated_in_the_browser(page, dashboard):
    open_signed_in(page, dashboard + "investigate?bet=old-north-refused&tz=UTC",
                   "Investigate a missing notification")
    main = page.locator("[data-testid='stMain']")
    # Then the verdict, the archive's note and the escalation summary are drawn
    expect(main.get_by_text("read from the archive")).to_have_count(1, timeout=30_000)
    expect(main.locator("code", has_text="Bet ID: old-north-refused")).to_have_count(
        1, timeout=30_000)
    shoot_archive(page, "20-investigate-archived-bet")
    assert "not_enough_balance" in main.inner_text()
    assert not page.locator("[data-testid='stException']").count()


def test_callback_history_reaches_into_the_archive(page, dashboard):
    # Wide enough for the grid to draw Created at (it draws only the columns in view)
    page.set_viewport_size({"width": 2400, "height": 1000})
    open_signed_in(page, dashboard + "history?window=Any+time&tz=UTC", "Callback history")
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.wait_for(timeout=30_000)
    assert not page.locator("[data-testid='stException']").count()
    # (the grid draws on a canvas; its cells are also in the page for screen readers)
    expect(grid.locator("td", has_text="old-north-refused")).to_have_count(1, timeout=30_000)
    # 8 archived attempts, each created and sent then (Created at to the minute, Sent at to
    # the second)
    expect(grid.locator("td", has_text=f"{OLD:%Y-%m-%d} 12:00")).to_have_count(
        16, timeout=30_000)
    shoot_archive(page, "21-history-with-archive")


def test_breakdowns_of_an_archived_month(page, dashboard):
    start, end = OLD - timedelta(days=10), OLD + timedelta(days=10)
    open_signed_in(page, dashboard + f"breakdowns?window=Custom&window_from="
                   f"{start:%Y-%m-%dT%H:%M}&window_to={end:%Y-%m-%dT%H:%M}&tz=UTC",
                   "Breakdowns")
    page.get_by_text("Response codes over time").first.wait_for(timeout=30_000)
    settle(page)
    shoot_archive(page, "22-breakdowns-archived-month")
    attempts = page.locator("[data-testid='stMetric']").first.inner_text()
    assert attempts.split() == ["Attempts", "8"]
    assert not page.locator("[data-testid='stException']").count()
