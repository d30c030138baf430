"""The running dashboard in Chromium, reading a bet two years old from the Parquet archive.
Screenshots go to test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from archive_scenarios import OLD, build
from dashboard_apptest import ADMIN, PASSWORD, make_user
from dashboards import serving
from databases import empty
from playwright.sync_api import expect

from archive.export import archive

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-quic"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's Chromium is not installed (/usr/bin/chromium)")


@pytest.fixture(scope="module")
def dashboard(engine, database_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("archive")
    empty(engine)
    build(engine)
    archive(engine, older_than=timedelta(days=90), folder=folder)
    make_user(engine, ADMIN)
    with serving(engine, database_url, {"CALLBACKS_ARCHIVE_DIR": str(folder)}) as url:
        yield url


@pytest.fixture
def page(dashboard):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        tab = chromium.new_page(viewport={"width": 1500, "height": 1100})
        yield tab
        chromium.close()


def settle(tab, heading: str) -> None:
    tab.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    tab.wait_for_timeout(800)
    tab.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)
    tab.wait_for_timeout(700)


def open_signed_in(tab, url: str, heading: str) -> None:
    """Open ``url`` in a fresh session, sign in on the form it shows, wait for the page."""
    tab.goto(url)
    tab.get_by_role("textbox", name="User name").wait_for(timeout=30_000)
    tab.get_by_role("textbox", name="User name").fill(ADMIN)
    tab.get_by_role("textbox", name="Password").fill(PASSWORD)
    tab.get_by_role("textbox", name="Password").press("Enter")
    tab.get_by_role("textbox", name="User name").wait_for(state="detached", timeout=30_000)
    settle(tab, heading)


def shoot(tab, name: str) -> None:
    """The whole page (the main area scrolls, so the viewport grows to it)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = tab.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')"
                          ".scrollHeight")
    tab.set_viewport_size({"width": 1500, "height": max(1100, min(height, 5000))})
    tab.wait_for_timeout(600)
    tab.screenshot(path=str(SHOTS / f"{name}.png"))


def test_an_archived_bet_is_investigated_in_the_browser(page, dashboard):
    open_signed_in(page, dashboard + "investigate?bet=old-north-refused&tz=UTC",
                   "Investigate a missing notification")
    main = page.locator("[data-testid='stMain']")
    # Then the verdict, the archive's note and the escalation summary are drawn
    expect(main.get_by_text("read from the archive")).to_have_count(1, timeout=30_000)
    expect(main.locator("code", has_text="Bet ID: old-north-refused")).to_have_count(
        1, timeout=30_000)
    shoot(page, "20-investigate-archived-bet")
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
    # 8 archived attempts, each created and sent then (Created at and Sent at)
    expect(grid.locator("td", has_text=f"{OLD:%Y-%m-%d} 12:00:00")).to_have_count(
        16, timeout=30_000)
    shoot(page, "21-history-with-archive")


def test_breakdowns_of_an_archived_month(page, dashboard):
    start, end = OLD - timedelta(days=10), OLD + timedelta(days=10)
    open_signed_in(page, dashboard + f"breakdowns?window=Custom&window_from="
                   f"{start:%Y-%m-%dT%H:%M}&window_to={end:%Y-%m-%dT%H:%M}&tz=UTC",
                   "Breakdowns")
    page.get_by_text("Response codes over time").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    shoot(page, "22-breakdowns-archived-month")
    attempts = page.locator("[data-testid='stMetric']").first.inner_text()
    assert attempts.split() == ["Attempts", "8"]
    assert not page.locator("[data-testid='stException']").count()
