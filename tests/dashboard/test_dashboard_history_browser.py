"""Callback history on a 1280 × 800 screen with the sidebar open: the seed's columns (Group ID,
Request ID, Destination, Created at, Attempts, Response code, Response error, and Brand when
several brands are shown) are in view without scrolling sideways."""
from __future__ import annotations

import pytest
from browsers import needs_chromium, new_context, no_errors, open_signed_in, settle, shoot
from dashboard_apptest import ADMIN, make_user
from dashboard_scenarios import build_with_receiver
from databases import empty
from playwright.sync_api import expect

from dashboard.pages.history import SHOWN_COLUMNS, WIDTHS

pytestmark = [pytest.mark.slow, needs_chromium]

SCREEN = {"width": 1280, "height": 800}
#: The seed's columns, as the page names them in its frame (Request ID is the Attempt ID).
SEED_COLUMNS = ("Group ID", "Attempt ID", "Destination", "Created at", "Attempts",
                "Response code", "Response error", "Brand")


@pytest.fixture(scope="module")
def desk(engine, shared_dashboard):
    empty(engine)
    build_with_receiver(engine)
    make_user(engine, ADMIN)
    yield shared_dashboard.fresh()
    empty(engine)


@pytest.fixture
def screen(browser):
    context = new_context(browser, viewport=SCREEN)
    yield context.new_page()
    context.close()


def test_history_seed_columns_fit_a_1280_screen_with_the_sidebar_open(desk, screen):
    open_signed_in(screen, desk + "history?window=Any+time")
    expect(screen.get_by_role("heading", name="Callback history")).to_be_visible(
        timeout=30_000)
    settle(screen)
    no_errors(screen)
    assert screen.locator("[data-testid='stSidebar']").is_visible()
    grid = screen.locator("[data-testid='stDataFrame']").first
    box = grid.bounding_box()
    # the grid lies inside the screen, and its scroller has not been moved sideways
    assert box["x"] >= 0 and box["x"] + box["width"] <= SCREEN["width"]
    # the seed's columns come first and together are no wider than the grid shows
    assert SHOWN_COLUMNS[:len(SEED_COLUMNS)] == SEED_COLUMNS
    seed_px = sum(WIDTHS[c] for c in SEED_COLUMNS)
    assert seed_px <= box["width"] - 2, (seed_px, box)
    shoot(screen, "24-history-1280", width=SCREEN["width"], height=SCREEN["height"])
    # the columns the grid draws, in order, as its header row names them
    headers = grid.locator("[role='columnheader']").all_inner_texts()
    assert [h.strip() for h in headers[:len(SEED_COLUMNS)]] == [
        "Group ID", "Request ID", "Destination", "Created at", "Attempts", "Response code",
        "Response error", "Brand"], headers
