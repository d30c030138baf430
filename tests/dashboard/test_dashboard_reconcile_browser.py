"""The Reconcile page in Chromium: an analyst uploads a damaged ledger of callbacks delivered to a
real sandbox, runs it, sees the summary and the missing movement, and the run is recorded as
theirs. The screenshot goes to test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browsers import drawn, needs_chromium, settle, shoot, sign_in
from dashboard_apptest import make_user
from databases import empty
from playwright.sync_api import expect

from reconcile import store
from sandbox.platform import Platform
from sandbox.server import serve_in_thread
from users import store as accounts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reconcile"))
from reconcile_kit import (  # tests/reconcile/, put on the path above
    SETTLE,
    TOKEN,
    add_brand,
    bet_callbacks,
    deliver_all,
    enqueue,
    ledger_rows,
    write_csv,
)

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture
def damaged_ledger(engine, shared_dashboard, tmp_path):
    """Brand north's callbacks delivered to a sandbox, its ledger with one settle removed, and
    an analyst of north."""
    empty(engine)
    platform = Platform()
    platform.add_player(TOKEN, "1000.00", player_id="player-1")
    with serve_in_thread(platform) as sandbox:
        add_brand(engine, "north", sandbox.url)
        for bet_id, lifecycle in (("b-settle", "settle"), ("b-cash-out", "cash_out"),
                                  ("b-decline", "decline")):
            enqueue(engine, "north", bet_callbacks(bet_id, lifecycle))
        deliver_all(engine)
        rows = ledger_rows(sandbox.url)
    missing = next(r for r in rows if r["bet_id"] == "b-settle" and r["destination"] == SETTLE)
    rows.remove(missing)
    make_user(engine, "north-analyst", accounts.ANALYST, brands=["north"])
    yield shared_dashboard.fresh(), write_csv(tmp_path / "north-ledger.csv", rows)
    empty(engine)


def test_an_analyst_reconciles_an_uploaded_ledger(damaged_ledger, page, engine):
    url, ledger = damaged_ledger
    page.goto(url + "reconcile?brand=north")
    sign_in(page, "north-analyst")
    expect(page.get_by_role("heading", name="Reconcile").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("No reconciliations yet of this brand.")).to_be_visible()
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(ledger)
    expect(page.get_by_text("north-ledger.csv").first).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_text("missing_on_platform: we delivered a movement the ledger lacks")
           ).to_be_visible(timeout=60_000)
    settle(page)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')",
                           timeout=30_000)
    main = page.locator("[data-testid='stMain']")
    drawn(page)
    assert shoot(page, "30-reconcile").stat().st_size > 10_000
    expect(main.get_by_text("Compared: movements paired with our callbacks by request_id."))\
        .to_be_visible()
    # the grids' cells (drawn on a canvas; their accessible copies hold the text)
    expect(main.locator("td", has_text="b-settle").first).to_be_attached()
    assert main.locator("td", has_text="missing_on_platform").count() >= 1
    expect(main.get_by_role("button", name="Download report (CSV)")).to_be_visible()
    assert not page.locator("[data-testid='stException']").count()
    [kept] = store.past(engine)
    assert (kept.run_by, kept.source, kept.bets, kept.not_matching, kept.kept_file) == (
        "north-analyst", "dashboard", 3, 1, False)
