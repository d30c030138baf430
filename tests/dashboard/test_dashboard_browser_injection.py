"""The injection corpus (dashboard_injection.py) drawn by Chromium on every page, in the rows
and in the link: no link, image or element the corpus made. Plus the analyst's fixes seen in
the browser at 1280 px: /bets opens without "Page not found", Callback history shows Code and
Response error without scrolling. Screenshots at 1280 px go to test-artifacts/screenshots/."""
from __future__ import annotations

from urllib.parse import urlencode

import dashboard_injection
import pytest
import sqlalchemy as sa
from browsers import NARROW, needs_chromium, no_errors, open_signed_in, settle, shoot
from dashboard_apptest import ADMIN, make_user
from dashboard_injection import BET_IDS, BRAND, CORPUS_PARAMS
from databases import empty
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, needs_chromium]

#: What the corpus would have made had a page interpreted it (run in the page).
FIND_CORPUS_MADE = """() => {
  const bad = [];
  const foreign = (url) => {
    try {
      const u = new URL(url, location.href);
      return u.protocol === 'javascript:' || u.hostname.endsWith('evil.example');
    } catch (e) { return /javascript:|evil\\.example/i.test(url); }
  };
  for (const a of document.querySelectorAll('a[href]')) {
    if (foreign(a.getAttribute('href'))) bad.push('link ' + a.getAttribute('href'));
  }
  for (const img of document.querySelectorAll('img, image, source, iframe, video, audio')) {
    const src = img.getAttribute('src') || img.getAttribute('href') || img.getAttribute('srcset');
    if (src && foreign(src)) bad.push('embedded ' + src);
  }
  for (const el of document.querySelectorAll('[id^="pwn"]')) bad.push('element ' + el.tagName);
  for (const el of document.querySelectorAll('script')) {
    if (/pwn/.test(el.textContent)) bad.push('script');
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def corpus_app(engine, shared_dashboard):
    empty(engine)
    dashboard_injection.build_with_receiver(engine)
    make_user(engine, ADMIN)
    yield shared_dashboard.fresh()
    empty(engine)


@pytest.fixture
def tab(narrow_page):
    """A tab 1280 px wide."""
    return narrow_page


def shoot_1280(tab, name: str):
    """A 1280 px wide screenshot of the whole page."""
    return shoot(tab, name, width=NARROW["width"], height=NARROW["height"])


def run_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT min(id) FROM integration_runs")).scalar_one()


def _pages(engine) -> list[tuple[str, dict]]:
    """Every page with the corpus in its rows, then with the corpus in its link."""
    first = f'"{BET_IDS[0]}"'
    return [
        ("bets", {}), ("sender", {}),
        ("history", {"window": "Any time"}),
        ("history", {"window": "Any time", "group_ids": first}),
        ("investigate", {"bet": BET_IDS[0]}),
        ("investigate", {"bet": BET_IDS[1]}),
        ("breakdowns", {"window": "Last 24 h"}),
        ("integration-test", {"run": str(run_id(engine))}),
        ("api-reference", {}),
        *[(name.replace("_", "-"), params) for name, params in CORPUS_PARAMS.items()],
    ]


#: A name for each of :func:`_pages`, in its order (each page is a test of its own).
PAGE_NAMES = ["bets", "sender", "history", "history-of-a-bet", "investigate-first",
              "investigate-second", "breakdowns", "integration-test", "api-reference",
              *[f"{name.replace('_', '-')}-link" for name in CORPUS_PARAMS]]


@pytest.mark.parametrize("n", range(len(PAGE_NAMES)), ids=PAGE_NAMES)
def test_no_page_makes_a_link_image_or_element_of_the_corpus(corpus_app, tab, engine, n):
    pages = _pages(engine)
    assert len(pages) == len(PAGE_NAMES)
    path, params = pages[n]
    open_signed_in(tab, corpus_app + path + "?" + urlencode({"brand": BRAND, **params}))
    heading = tab.locator("[data-testid='stMain'] :is(h1, h2)").first
    expect(heading).to_be_visible(timeout=30_000)
    settle(tab)
    no_errors(tab)
    found = tab.evaluate(FIND_CORPUS_MADE)
    shoot_1280(tab, f"injection-{n:02d}-{path}")
    assert not found, f"{path} {params}: {found}"


def test_an_expanded_corpus_attempt_stays_text(corpus_app, tab, engine):
    from delivery import store

    attempt = store.group_attempts(engine, BET_IDS[0])[0]
    open_signed_in(tab, corpus_app + "history?" + urlencode({
        "brand": BRAND, "window": "Any time", "group_ids": f'"{BET_IDS[0]}"',
        "attempt": str(attempt["id"])}))
    expect(tab.get_by_role("tab", name="Response")).to_be_visible(timeout=30_000)
    tab.get_by_role("tab", name="Response").click()
    settle(tab)
    assert tab.evaluate(FIND_CORPUS_MADE) == []
    body = tab.locator("[data-testid='stCode']").filter(has_text="evil.example/code")
    expect(body.first).to_be_attached()  # shown, as text
    assert "cookie-secret-value" not in tab.content()  # Set-Cookie masked when stored
    no_errors(tab)
    shoot_1280(tab, "injection-history-expanded-response")


def test_bets_path_opens_without_page_not_found(corpus_app, tab):
    open_signed_in(tab, corpus_app + "bets")
    expect(tab.get_by_role("heading", name="Bets").first).to_be_visible(timeout=30_000)
    settle(tab)
    assert not tab.get_by_text("Page not found").count()
    assert not tab.locator("[role='dialog']").count()


def test_history_shows_code_and_response_error_without_scrolling_at_1280(corpus_app, tab):
    open_signed_in(tab, corpus_app + "history?" + urlencode({"brand": BRAND,
                                                             "window": "Any time"}))
    grid = tab.locator("[data-testid='stDataFrame']").first
    expect(grid).to_be_visible(timeout=30_000)
    settle(tab)
    # The grid's accessible table holds only the columns in view (it is virtualised).
    headers = tab.locator("[data-testid='stDataFrame'] [role='columnheader']")
    in_view = [headers.nth(n).inner_text().strip() for n in range(headers.count())]
    assert in_view[:7] == ["Group ID", "Request ID", "Destination", "Created at", "Attempts",
                           "Response code", "Response error"], in_view
    assert "Sent at" not in in_view and "ms" not in in_view  # those are scrolled to
    shoot_1280(tab, "history-1280")
