"""Sign-in in Debian's Chromium against a running dashboard: every URL asks for it first, a
wrong password is refused plainly, a deep link leads where it was going, the session survives
reloads and new tabs, sign-out and a new password end it (its cookie replayed is refused), a
stranger failing from another address does not lock the user out, and tables offer no
"Download as CSV" of Streamlit's own (a cell still copies). Screenshots are saved under
test-artifacts/screenshots/."""
from __future__ import annotations

import re

import httpx
import pytest
from browsers import (
    needs_chromium,
    new_context,
    no_errors,
    on_sign_in_form,
    settle,
    shoot,
    shoot_form,
    sign_in,
)
from cli import run_cli
from dashboard_apptest import PASSWORD, make_user
from dashboard_scenarios import build_with_receiver
from databases import empty
from playwright.sync_api import expect

from users import sessions
from users import store as accounts

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def desk(engine, shared_dashboard):
    """The dashboard over the scenario bets (brands alpha and bravo), with an analyst of
    bravo only, an integration manager of alpha and one of both."""
    empty(engine)
    build_with_receiver(engine)
    make_user(engine, "bravo-analyst", accounts.ANALYST, brands=["bravo"])
    make_user(engine, "alpha-manager", accounts.INTEGRATION_MANAGER, brands=["alpha"])
    make_user(engine, "pair-manager", accounts.INTEGRATION_MANAGER, brands=["alpha", "bravo"])
    yield shared_dashboard.fresh()
    empty(engine)


def _sign_in_form(tab):
    return tab.get_by_role("textbox", name="User name")


def _signed_in_as(tab, name: str) -> None:
    expect(tab.locator("[data-testid='stSidebar']")).to_contain_text(
        f"Signed in as {name}", timeout=30_000)


@pytest.fixture
def tabs(browser):
    """One browser profile (its cookies shared by its tabs); ``tabs()`` opens another tab."""
    context = new_context(browser)
    yield context.new_page
    context.close()


def test_a_deep_link_asks_for_sign_in_then_the_session_lasts_across_reloads_and_tabs(desk,
                                                                                    tabs):
    page = tabs()
    # Given a link into Callback history for one bet of one brand, opened by someone not
    # signed in
    page.goto(desk + "history?group_ids=bet-5xx&window=Any+time&brand=alpha")
    # Then only the sign-in form shows: no sidebar, no data
    expect(_sign_in_form(page)).to_be_visible(timeout=30_000)
    assert not page.locator("[data-testid='stSidebar']").count()
    assert "bet-5xx" not in page.locator("main").inner_text()
    shoot_form(page, "20-sign-in")
    # When a manager of the bet's brand (and another) signs in
    sign_in(page, "pair-manager")
    # Then the link's page shows with its filters (brand and window too), and who is signed in
    assert "/history" in page.url and "group_ids=bet-5xx" in page.url
    assert "window=Any+time" in page.url and "brand=alpha" in page.url
    expect(page.get_by_role("heading", name="Callback history").first).to_be_visible()
    expect(page.get_by_role("textbox", name="Group ids")).to_have_value("bet-5xx")
    expect(page.get_by_role("combobox", name="Brand")).to_have_value("alpha")
    expect(page.get_by_role("combobox", name="Created at")).to_have_value("Any time")
    _signed_in_as(page, "pair-manager")
    no_errors(page)
    shoot(page, "21-signed-in-deep-link")
    # And a reload, a new tab and another pasted link need no password
    page.reload()
    settle(page)
    assert not on_sign_in_form(page)
    _signed_in_as(page, "pair-manager")
    other = tabs()
    other.goto(desk + "investigate?bet=bet-5xx")
    settle(other)
    assert not on_sign_in_form(other)
    expect(other.get_by_role("heading", name="Investigate a missing notification")
           ).to_be_visible(timeout=30_000)
    _signed_in_as(other, "pair-manager")
    other.close()
    # A link whose window is not one of the choices says so, and shows the default
    page.goto(desk + "history?brand=alpha&window=24h")
    settle(page)
    expect(page.get_by_text("Window '24h' is not one of: Last hour, Last 24 h")).to_be_visible()
    assert "window=" not in page.url and "brand=alpha" in page.url
    # The cookie is out of the page's scripts' reach, and lasts twelve hours
    (cookie,) = [c for c in page.context.cookies() if c["name"] == sessions.COOKIE_NAME]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "callbacks_desk_session" not in page.evaluate("() => document.cookie")


def test_a_wrong_password_is_refused_plainly(desk, page):
    page.goto(desk)
    sign_in_form = _sign_in_form(page)
    sign_in_form.fill("bravo-analyst")
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("textbox", name="Password").press("Enter")
    expect(page.get_by_text("Wrong user name or password.")).to_be_visible()
    expect(sign_in_form).to_have_value("bravo-analyst")
    assert PASSWORD not in page.content()
    shoot_form(page, "22-wrong-password")


def test_sign_out_ends_the_session_and_its_cookie_is_refused_afterwards(desk, page, browser):
    page.goto(desk + "investigate?bet=bet-gaveup")
    sign_in(page, "bravo-analyst")
    expect(page.get_by_role("heading", name="Investigate a missing notification")
           ).to_be_visible(timeout=30_000)
    (old,) = [c for c in page.context.cookies() if c["name"] == sessions.COOKIE_NAME]
    # When they sign out
    page.get_by_role("button", name="Sign out").click()
    # Then the sign-in form, saying so, with the way back to the page
    page.wait_for_url("**/sign-in?**", timeout=30_000)
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    shoot_form(page, "23-signed-out")
    # and the pages are behind the form again, after a reload too
    page.goto(desk + "investigate?bet=bet-gaveup")
    expect(_sign_in_form(page)).to_be_visible(timeout=30_000)
    page.reload()
    expect(_sign_in_form(page)).to_be_visible(timeout=30_000)
    # And the old cookie, replayed by another browser, opens nothing
    replay = browser.new_context()
    try:
        replay.add_cookies([old])
        tab = replay.new_page()
        tab.goto(desk + "investigate?bet=bet-gaveup")
        expect(_sign_in_form(tab)).to_be_visible(timeout=30_000)
        assert "bet-gaveup" not in tab.locator("main").inner_text()
    finally:
        replay.close()


def test_a_new_password_signs_the_user_out_of_open_tabs(desk, page, database_url, engine):
    make_user(engine, "bravo-second", accounts.ANALYST, brands=["bravo"])
    page.goto(desk + "bets")
    sign_in(page, "bravo-second")
    _signed_in_as(page, "bravo-second")
    # When an administrator sets a new password
    done = run_cli("user", "passwd", "bravo-second", "--password-stdin",
                   stdin="a brand new passphrase\n", env={"DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    # Then the open tab's next click leads to the sign-in form, saying why
    page.locator("[data-testid='stSidebarNav'] a", has_text="Callback history").first.click()
    page.wait_for_url("**/sign-in?**", timeout=30_000)
    expect(page.get_by_text("Your session ended")).to_be_visible()
    sign_in(page, "bravo-second", "a brand new passphrase")
    _signed_in_as(page, "bravo-second")


def test_a_stranger_failing_from_another_address_does_not_lock_the_user_out(desk, page):
    # Given a stranger at 127.0.0.2 trying passwords for the analyst's name until slowed
    stranger = httpx.Client(base_url=desk.replace("localhost", "127.0.0.1"),
                            transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with stranger:
        for _ in range(accounts.FREE_TRIES_PER_NAME_AND_ADDRESS + 1):
            stranger.post("/sign-in", data={"name": "bravo-analyst", "password": "guess1234!"})
        blocked = stranger.post("/sign-in", data={"name": "bravo-analyst",
                                                  "password": PASSWORD})
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    # When the analyst signs in from their own address (127.0.0.1)
    page.goto(desk.replace("localhost", "127.0.0.1") + "bets")
    sign_in(page, "bravo-analyst")
    # Then they are in
    _signed_in_as(page, "bravo-analyst")
    expect(page.get_by_role("heading", name="Bets").first).to_be_visible(timeout=30_000)


def test_tables_offer_no_download_of_their_own_but_cells_still_copy(desk, tabs):
    page = tabs()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(desk + "history?window=Any+time")
    sign_in(page, "alpha-manager")
    grid = page.locator("[data-testid='stDataFrame']").first
    expect(grid).to_be_visible(timeout=30_000)
    settle(page)
    # The table's toolbar shows on hover: columns, search and full screen, no "Download as
    # CSV" (Streamlit draws it; the app's style hides it)
    grid.hover()
    toolbar = page.locator("[data-testid='stElementToolbar']").first
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible(timeout=10_000)
    expect(toolbar.locator("button[aria-label='Download as CSV']")).to_be_hidden()
    expect(toolbar.get_by_role("button", name="Download as CSV")).to_have_count(0)
    shoot(page, "28-history-toolbar-without-download")
    # A cell is still copied with Ctrl+C
    page.evaluate("() => navigator.clipboard.writeText('')")
    box = grid.bounding_box()
    copied = ""
    for _ in range(3):  # on a busy machine the grid may take the first click before it is ready
        page.mouse.click(box["x"] + 100, box["y"] + 31 * 1.5)  # the first Group ID
        page.keyboard.press("Control+c")
        for _ in range(20):  # the copy lands a moment later
            copied = page.evaluate("() => navigator.clipboard.readText()")
            if copied:
                break
            page.wait_for_timeout(100)
        if copied:
            break
    assert copied.startswith("bet-"), copied
    # The product's Export CSV is still there
    expect(page.get_by_role("button", name="Export CSV")).to_be_visible()


def test_an_analyst_of_bravo_sees_nothing_of_alpha_by_editing_the_url(desk, page):
    # Given an analyst of bravo, When they paste alpha's bet into Investigate with ?brand=alpha
    page.goto(desk + "investigate?bet=bet-5xx&brand=alpha")
    settle(page)
    sign_in(page, "bravo-analyst")
    main = page.locator("[data-testid='stMain']").inner_text()
    # Then no verdict about it: the bet is not found, and alpha is named nowhere
    assert "Service Unavailable" not in main and "503" not in main
    assert "alpha" not in page.locator("[data-testid='stSidebar']").inner_text()
    no_errors(page)
    shoot(page, "24-analyst-pastes-another-brands-bet")
    # Nor in Callback history, by group id
    page.goto(desk + "history?group_ids=bet-5xx+bet-delivered&window=Any+time")
    settle(page)
    sign_in(page, "bravo-analyst")
    expect(page.get_by_text("No attempts match these filters.")).to_be_visible()
    assert page.locator("[data-testid='stDataFrame']").count() == 0


def test_an_analysts_csv_export_holds_only_their_brand(desk, page):
    page.goto(desk + "history?window=Any+time")
    settle(page)
    sign_in(page, "bravo-analyst")
    export = page.get_by_role("button", name="Export CSV")
    expect(export).to_be_visible(timeout=30_000)
    with page.expect_download(timeout=30_000) as download:
        export.click()
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert lines[0].startswith("Group ID,") and len(lines) > 1
    assert all(line.startswith("bet-gaveup,") for line in lines[1:]), lines
    # The file's link opens nothing without the session
    link = download.value.url
    assert "/media/" in link
    assert httpx.get(link).status_code == 404
    assert page.request.get(link).status == 200  # with the browser's own cookie


def test_the_integration_test_page_lets_a_manager_run_and_an_analyst_only_look(desk, page):
    # Given the manager of alpha on alpha's Integration Test page
    page.goto(desk + "integration-test?brand=alpha")
    settle(page)
    sign_in(page, "alpha-manager")
    expect(page.get_by_role("heading", name="Integration Test")).to_be_visible(timeout=30_000)
    main = page.locator("[data-testid='stMain']")
    # Then the platform URL is a choice of registered ones, and there is no name to type
    expect(main.get_by_text("Platform URL")).to_be_visible()
    assert main.get_by_role("textbox", name="Platform URL").count() == 0
    assert main.get_by_role("textbox", name="Your name").count() == 0
    expect(main.get_by_text("The run is recorded as alpha-manager's.")).to_be_visible()
    shoot(page, "25-integration-test-manager")
    # When they run it (the scenario platform is gone: the run is cancelled at once)
    page.get_by_role("textbox", name="…or a session token").fill("tok-anything")
    page.get_by_role("button", name="Test My Integration").click()
    expect(main.get_by_text("Cancelled:").first).to_be_visible(timeout=60_000)
    settle(page)
    # Then it is in the brand's history under the manager's name
    expect(main.get_by_role("button", name=re.compile(r"#\d+ Cancelled .* alpha-manager"))
           ).to_be_visible()
    no_errors(page)
    shoot(page, "26-integration-test-manager-ran")

    # Given an analyst of bravo on the same link, Then nothing to run and nothing of alpha
    page.goto(desk + "integration-test?brand=alpha")
    settle(page)
    sign_in(page, "bravo-analyst")
    expect(page.get_by_role("heading", name="Integration Test")).to_be_visible(timeout=30_000)
    expect(main.get_by_text("Integration managers and admins run the Integration Test")
           ).to_be_visible()
    assert page.get_by_role("button", name="Test My Integration").count() == 0
    assert "alpha-manager" not in main.inner_text()
    no_errors(page)
    shoot(page, "27-integration-test-analyst")
