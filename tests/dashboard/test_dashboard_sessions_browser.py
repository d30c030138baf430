"""Player sessions in Debian's Chromium at 1280 px: Investigate's session lookup and Brand
health's Sessions figure draw without errors; screenshots are saved for a person to look at."""
from __future__ import annotations

import pytest
from browsers import needs_chromium, no_errors, open_signed_in, settle, shoot_narrow
from dashboard_apptest import ADMIN, make_user
from dashboard_sessions import build
from databases import empty
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def sessions_demo(engine, shared_dashboard):
    empty(engine)
    build(engine)
    make_user(engine, ADMIN)
    yield shared_dashboard.fresh()
    empty(engine)


@pytest.mark.parametrize("session_id, title", [("s-failing", "Heartbeats failing"),
                                               ("s-ended", "Ended by the platform")])
def test_session_lookup(sessions_demo, narrow_page, session_id, title):
    tab = narrow_page
    open_signed_in(tab, sessions_demo + f"investigate?lookup=session&session={session_id}")
    expect(tab.get_by_role("heading", name=title)).to_be_visible(timeout=30_000)
    settle(tab)
    no_errors(tab)
    expect(tab.get_by_text("Heartbeats since the session was opened")).to_be_visible()
    assert tab.locator("[data-testid='stVegaLiteChart']").count() == 1
    shoot_narrow(tab, f"30-investigate-session-{session_id}")


def test_brand_health_sessions(sessions_demo, narrow_page):
    tab = narrow_page
    open_signed_in(tab, sessions_demo + "health")
    expect(tab.get_by_role("heading", name="Player sessions")).to_be_visible(timeout=30_000)
    settle(tab)
    no_errors(tab)
    expect(tab.get_by_text("Live sessions", exact=True)).to_be_visible()
    shoot_narrow(tab, "31-brand-health-sessions")
