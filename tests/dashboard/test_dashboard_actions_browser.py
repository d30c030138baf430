"""The audit trail in Chromium: the Actions page, a bet's actions on Investigate and a manual
attempt in Callback history open without errors. Screenshots go to
test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from callbacks.dashboard import launch, wait_ready
from dashboard_scenarios import build_with_receiver, deliver_due
from databases import empty
from delivery import actions, store

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-quic"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed (apt-get install -y chromium "
           "fonts-noto-color-emoji); the browser tests need /usr/bin/chromium")


@pytest.fixture(scope="module")
def demo(engine, database_url):
    """The dashboard serving the scenario bets after a retry, a cancel and a re-route."""
    empty(engine)
    build_with_receiver(engine)
    actions.retry(engine, "bet-5xx", actions.Actor("ann", "platform back after incident 42"))
    deliver_due(engine)
    actions.cancel(engine, "bet-queued", actions.Actor("bob", "duplicate of bet-5xx",
                                                       "dashboard"))
    actions.set_url(engine, "bravo", "http://127.0.0.1:8",
                    actions.Actor("cy", "<b>platform</b> moved to **new** host"))
    process, url = launch(database_url, port=0)
    try:
        wait_ready(process, url, timeout_s=60)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        empty(engine)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=BROWSER_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    tab = browser.new_page(viewport={"width": 1500, "height": 1000})
    yield tab
    tab.close()


def settle(tab) -> None:
    tab.wait_for_selector("[data-testid='stMain']", timeout=30_000)
    tab.wait_for_timeout(800)
    tab.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)
    tab.wait_for_timeout(700)


def shoot(tab, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = tab.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')"
                          ".scrollHeight")
    tab.set_viewport_size({"width": 1500, "height": max(1000, min(height, 5000))})
    tab.wait_for_timeout(600)
    settle(tab)
    # tables and code blocks are drawn after the page settles
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')",
                          timeout=30_000)
    tab.wait_for_timeout(1500)
    path = SHOTS / f"{name}.png"
    tab.screenshot(path=str(path))
    tab.set_viewport_size({"width": 1500, "height": 1000})
    return path


def test_actions_page_lists_the_trail(demo, page):
    page.goto(demo + "actions")
    settle(page)
    expect(page.get_by_role("heading", name="Actions").first).to_be_visible(timeout=30_000)
    settle(page)
    assert not page.locator("[data-testid='stException']").count()
    # data is text: the reason's markup is shown as written, never rendered
    assert not page.locator("[data-testid='stMain'] b", has_text="platform").count()
    assert shoot(page, "20-actions").stat().st_size > 10_000


def test_investigate_shows_the_actions_taken_on_the_bet(demo, page):
    page.goto(demo + "investigate?bet=bet-5xx")
    settle(page)
    expect(page.get_by_text("Actions taken on this bet")).to_be_visible(timeout=30_000)
    assert not page.locator("[data-testid='stException']").count()
    shoot(page, "21-investigate-actions")


def test_history_shows_the_manual_attempt(demo, page, engine):
    [manual] = [a for a in store.group_attempts(engine, "bet-5xx") if a["action_id"]]
    page.goto(demo + f"history?group_ids=bet-5xx&window=Any+time&attempt={manual['id']}")
    settle(page)
    expect(page.get_by_text("manual retry by ann: platform back after incident 42").first
           ).to_be_visible(timeout=30_000)
    assert not page.locator("[data-testid='stException']").count()
    shoot(page, "22-history-manual-attempt")
