"""The running dashboard in Debian's Chromium: every page opens once signed in, Bets → clock →
Callback history works in the same tab, a history row expands. Screenshots of each page are
saved under test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dashboard_apptest import ADMIN, PASSWORD, make_user
from dashboard_scenarios import build_with_receiver
from dashboards import serving
from databases import empty
from playwright.sync_api import expect

from demo import seeding

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-quic"]
#: Grid geometry of st.dataframe (px): header and row height, and the column offsets of the
#: row-selection box and the first data column (the clock in Bets).
ROW_PX, SELECT_X, FIRST_COLUMN_X = 31, 15, 60

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed (apt-get install -y chromium "
           "fonts-noto-color-emoji); the browser tests need /usr/bin/chromium")


@pytest.fixture(scope="module")
def demo(engine, database_url):
    """The dashboard serving the scenario bets plus two days of synthetic history."""
    empty(engine)
    build_with_receiver(engine)
    seeding.seed_history(engine, 3000, days=2, seed=3)
    make_user(engine, ADMIN)
    with serving(engine, database_url) as url:
        yield url


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


def on_sign_in_form(tab) -> bool:
    """Whether the tab shows the sign-in form (a page of its own, before the app)."""
    return urlsplit(tab.url).path == "/sign-in"


def settle(tab) -> None:
    """Wait until the script run is over and the page has drawn (the sign-in form: at once)."""
    if on_sign_in_form(tab):
        return
    tab.wait_for_selector("[data-testid='stMain']", timeout=30_000)
    tab.wait_for_timeout(800)
    tab.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)
    tab.wait_for_timeout(700)


def sign_in(tab, name: str = ADMIN, password: str = PASSWORD) -> None:
    """Fill the sign-in form the page shows and wait for the page asked for. A tab whose
    session is live shows the page at once: signed in as ``name``, nothing to do; as someone
    else, they sign out first."""
    tab.wait_for_function(_FORM_OR_SIGNED_IN, timeout=30_000)
    if not on_sign_in_form(tab):
        settle(tab)
        who = tab.locator("[data-testid='stSidebar']").get_by_text("Signed in as")
        if who.inner_text().startswith(f"Signed in as {name} ·"):
            return
        tab.get_by_role("button", name="Sign out").click()
        tab.wait_for_url("**/sign-in?**", timeout=30_000)
    tab.get_by_role("textbox", name="User name").wait_for(timeout=30_000)
    tab.get_by_role("textbox", name="User name").fill(name)
    tab.get_by_role("textbox", name="Password").fill(password)
    tab.get_by_role("textbox", name="Password").press("Enter")
    tab.get_by_role("textbox", name="User name").wait_for(state="detached", timeout=30_000)
    settle(tab)


_FORM_OR_SIGNED_IN = """() => location.pathname === '/sign-in' || [...document.querySelectorAll(
    "[data-testid='stSidebar'] [data-testid='stCaptionContainer']")].some(
    e => e.innerText.startsWith('Signed in as'))"""


def open_signed_in(tab, url: str, name: str = ADMIN, password: str = PASSWORD) -> None:
    """Open ``url`` in a fresh session and sign in on the form it shows."""
    tab.goto(url)
    settle(tab)
    sign_in(tab, name, password)


def shoot(tab, name: str) -> Path:
    """A screenshot of the whole page (the main area scrolls, so the viewport grows to it)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = tab.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')"
                          ".scrollHeight")
    tab.set_viewport_size({"width": 1500, "height": max(1000, min(height, 5000))})
    tab.wait_for_timeout(600)
    path = SHOTS / f"{name}.png"
    tab.screenshot(path=str(path))
    tab.set_viewport_size({"width": 1500, "height": 1000})
    return path


def no_errors(tab) -> None:
    errors = tab.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
    shown = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not tab.locator("[data-testid='stException']").count(), shown


@pytest.mark.parametrize("path, name, heading", [
    # a deep link first: a fresh server must not take dashboard/pages/ for page scripts
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
