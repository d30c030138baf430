"""Sign-in in Debian's Chromium against a running dashboard: every URL asks for it first, a
wrong password is refused plainly, a deep link leads where it was going, sign-out works.
Screenshots are saved under test-artifacts/screenshots/."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboards import serving
from dashboard import accounts
from dashboard_apptest import PASSWORD, make_user
from dashboard_scenarios import build_with_receiver
from databases import empty
from test_dashboard_browser import (  # noqa: F401  (fixtures)
    CHROMIUM, browser, no_errors, page, settle, shoot, sign_in,
)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed (apt-get install -y chromium "
           "fonts-noto-color-emoji); the browser tests need /usr/bin/chromium")


@pytest.fixture(scope="module")
def desk(engine, database_url):
    """The dashboard over the scenario bets (brands alpha and bravo), with an analyst of
    bravo only and an integration manager of alpha."""
    empty(engine)
    build_with_receiver(engine)
    make_user(engine, "bravo-analyst", accounts.ANALYST, brands=["bravo"])
    make_user(engine, "alpha-manager", accounts.INTEGRATION_MANAGER, brands=["alpha"])
    with serving(engine, database_url) as url:
        yield url


def _sign_in_form(tab):
    return tab.get_by_role("textbox", name="User name")


def test_a_deep_link_asks_for_sign_in_then_shows_what_it_pointed_at(desk, page):
    # Given a link into Callback history for one bet, opened by someone not signed in
    page.goto(desk + "history?group_ids=bet-5xx&window=Any+time")
    settle(page)
    # Then only the sign-in form shows: no sidebar, no data
    expect(_sign_in_form(page)).to_be_visible(timeout=30_000)
    assert not page.locator("[data-testid='stSidebar']").is_visible()
    assert "bet-5xx" not in page.locator("[data-testid='stMain']").inner_text()
    shoot(page, "20-sign-in")
    # When the manager of the bet's brand signs in
    sign_in(page, "alpha-manager")
    # Then the link's page shows with its filters, and who is signed in
    assert "/history" in page.url and "group_ids=bet-5xx" in page.url
    expect(page.get_by_role("heading", name="Callback history").first).to_be_visible()
    assert page.get_by_role("textbox", name="Group ids").input_value() == "bet-5xx"
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text(
        "Signed in as alpha-manager")
    no_errors(page)
    shoot(page, "21-signed-in-deep-link")


def test_a_wrong_password_is_refused_plainly(desk, page):
    page.goto(desk)
    settle(page)
    sign_in_form = _sign_in_form(page)
    sign_in_form.fill("bravo-analyst")
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("textbox", name="Password").press("Enter")
    settle(page)
    expect(page.get_by_text("Wrong user name or password.")).to_be_visible()
    expect(sign_in_form).to_be_visible()
    shoot(page, "22-wrong-password")


def test_sign_out_returns_to_the_sign_in_form(desk, page):
    page.goto(desk)
    settle(page)
    sign_in(page, "bravo-analyst")
    expect(page.get_by_role("heading", name="Bets").first).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Sign out").click()
    settle(page)
    expect(_sign_in_form(page)).to_be_visible(timeout=30_000)
    shoot(page, "23-signed-out")
    assert not page.locator("[data-testid='stSidebar']").is_visible()
    # and the pages are behind the form again
    page.goto(desk + "investigate?bet=bet-gaveup")
    settle(page)
    expect(_sign_in_form(page)).to_be_visible(timeout=30_000)
    assert PASSWORD not in page.content()


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
