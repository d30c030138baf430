"""The audit trail in Chromium: the Actions page, a bet's actions on Investigate and a manual
attempt in Callback history open without errors. Screenshots go to
test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from browsers import drawn, needs_chromium, settle, shoot, sign_in
from dashboard_apptest import ADMIN, make_user
from dashboard_scenarios import build_with_receiver, deliver_due
from databases import empty
from playwright.sync_api import expect

from actions import store as actions
from delivery import store
from users import store as accounts

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def demo(engine, shared_dashboard):
    """The dashboard serving the scenario bets after a retry, a cancel and a re-route, with an
    admin, an integration manager of alpha and an analyst of alpha."""
    empty(engine)
    build_with_receiver(engine)
    actions.retry(engine, "bet-5xx", actions.Actor("ann", "platform back after incident 42"))
    deliver_due(engine)
    actions.cancel(engine, "bet-queued", actions.Actor("bob", "duplicate of bet-5xx",
                                                       "dashboard"))
    actions.set_url(engine, "bravo", "http://127.0.0.1:8",
                    actions.Actor("cy", "<b>platform</b> moved to **new** host"))
    make_user(engine, ADMIN)
    make_user(engine, "alpha-manager", accounts.INTEGRATION_MANAGER, brands=["alpha"])
    make_user(engine, "alpha-analyst", accounts.ANALYST, brands=["alpha"])
    yield shared_dashboard.fresh()
    empty(engine)


def shoot_drawn(tab, name: str):
    """A screenshot once the page has settled and its tables and code blocks, drawn after it
    settles, are in."""
    settle(tab)
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')",
                          timeout=30_000)
    drawn(tab)
    return shoot(tab, name)


def test_actions_page_lists_the_trail(demo, page):
    page.goto(demo + "actions")
    sign_in(page)
    expect(page.get_by_role("heading", name="Actions").first).to_be_visible(timeout=30_000)
    settle(page)
    assert not page.locator("[data-testid='stException']").count()
    # data is text: the reason's markup is shown as written, never rendered
    assert not page.locator("[data-testid='stMain'] b", has_text="platform").count()
    assert shoot_drawn(page, "20-actions").stat().st_size > 10_000


def test_investigate_shows_the_actions_taken_on_the_bet(demo, page):
    page.goto(demo + "investigate?bet=bet-5xx")
    sign_in(page)
    expect(page.get_by_text("Actions taken on this bet")).to_be_visible(timeout=30_000)
    assert not page.locator("[data-testid='stException']").count()
    shoot_drawn(page, "21-investigate-actions")


def test_history_shows_the_manual_attempt(demo, page, engine):
    [manual] = [a for a in store.group_attempts(engine, "bet-5xx") if a["action_id"]]
    page.goto(demo + f"history?group_ids=bet-5xx&window=Any+time&attempt={manual['id']}")
    sign_in(page)
    expect(page.get_by_text("manual retry by ann: platform back after incident 42").first
           ).to_be_visible(timeout=30_000)
    assert not page.locator("[data-testid='stException']").count()
    shoot_drawn(page, "22-history-manual-attempt")


def audit(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT * FROM actions ORDER BY id")).all()


def test_an_analyst_gets_no_action_buttons(demo, page):
    page.goto(demo + "investigate?bet=bet-5xx")
    sign_in(page, "alpha-analyst")
    expect(page.get_by_text("Actions taken on this bet")).to_be_visible(timeout=30_000)
    assert not page.get_by_role("button", name="Retry…").count()
    assert not page.get_by_role("button", name="Cancel…").count()


def test_a_manager_retries_from_investigate_after_seeing_the_dry_run(demo, page, engine):
    before = len(audit(engine))
    page.goto(demo + "investigate?bet=bet-5xx")
    sign_in(page, "alpha-manager")
    page.get_by_role("button", name="Retry…").click()
    settle(page)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=30_000)
    # the dry run: the failed head goes out now; nothing changed yet
    expect(dialog.locator("[data-testid='stDataFrame']")).to_be_visible(timeout=30_000)
    expect(dialog.locator("td", has_text="pending (due now)")).to_have_count(1)
    confirm = dialog.get_by_role("button", name="Send 1 callback(s) again")
    confirm.click()  # a reason is required: said when pressed, nothing done
    settle(page)
    expect(dialog.get_by_text("Type a reason first")).to_be_visible(timeout=30_000)
    assert len(audit(engine)) == before
    # Typed, not committed with Enter: the first click on the button sends
    dialog.get_by_role("textbox", name="Reason").fill("platform fixed their endpoint")
    shoot_drawn(page, "23-retry-confirmation")
    confirm.click(timeout=5_000)
    settle(page)
    expect(page.get_by_text("Done — recorded in the audit trail")).to_be_visible(
        timeout=30_000)
    shoot_drawn(page, "24-retry-done")
    row = audit(engine)[-1]
    assert (row.kind, row.actor, row.reason, row.source, row.bet_id, row.callbacks) == (
        "retry", "alpha-manager", "platform fixed their endpoint", "dashboard", "bet-5xx", 1)
    head = next(c for c in store.group_callbacks(engine, "bet-5xx") if c["state"] == "pending")
    assert head["destination"] == "/bet/settle"


def test_a_manager_cancels_from_the_callback_sender(demo, page, engine):
    page.goto(demo + "sender?group_ids=bet-handler")
    sign_in(page, "alpha-manager")
    grid = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    page.mouse.click(grid["x"] + 15, grid["y"] + 31 * 1.5)  # select the group
    settle(page)
    page.get_by_role("button", name="Cancel…").click()
    settle(page)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=30_000)
    dialog.get_by_role("textbox", name="Reason").fill("the sportsbook voided the bet")
    shoot_drawn(page, "25-cancel-confirmation")
    dialog.get_by_role("button", name="Cancel 1 callback(s)").click(timeout=5_000)
    settle(page)
    row = audit(engine)[-1]
    assert (row.kind, row.actor, row.source, row.bet_id, row.callbacks) == (
        "cancel", "alpha-manager", "dashboard", "bet-handler", 1)
    assert {(c["state"], c["last_error"]) for c in store.group_callbacks(engine, "bet-handler")
            if c["destination"] != "/bet/place"} == {
        ("skipped", "cancelled by alpha-manager: the sportsbook voided the bet")}
