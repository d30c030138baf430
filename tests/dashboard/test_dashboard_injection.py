"""Text stays text: every page under AppTest, with the injection corpus in its rows and in its
link, puts no corpus value into Markdown unescaped (outside a code span). The browser test
(test_dashboard_browser_injection.py) checks the drawn pages for links, images and elements."""
from __future__ import annotations

import re

import dashboard_injection
import pytest
import sqlalchemy as sa
import streamlit as st
from dashboard_apptest import ADMIN, app_script, make_user, shown, signed_in, texts
from dashboard_injection import BET_IDS, BRAND, CORPUS, CORPUS_PARAMS, MARKERS
from databases import empty
from streamlit.testing.v1 import AppTest

RUN_TIMEOUT_S = 60
#: Proto fields Streamlit renders as Markdown (bodies, labels, tooltips).
MARKDOWN_FIELDS = ("body", "label", "help", "caption")
_CODE_SPAN = re.compile(r"(`+).*?\1", re.S)


@pytest.fixture(scope="module")
def corpus_db(engine):
    empty(engine)
    dashboard_injection.build_with_receiver(engine)
    make_user(engine, ADMIN)
    yield engine
    empty(engine)


@pytest.fixture
def open_corpus_page(corpus_db, reader_env):
    def run(page: str, **params) -> AppTest:
        st.cache_data.clear()
        app = AppTest.from_function(app_script, args=(page,), default_timeout=RUN_TIMEOUT_S)
        app.context = {"timezone": "UTC"}
        signed_in(app, corpus_db)
        for name, value in params.items():
            app.query_params[name] = value
        app.run()
        assert not app.exception, [e.message for e in app.exception]
        return app
    return run


def markdown_strings(app: AppTest) -> list[str]:
    """Every string the page hands to the Markdown renderer (code blocks and tables are not)."""
    found = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and getattr(node, "type", None) not in ("code", "arrow_data_frame"):
            for field, value in proto.ListFields():
                if field.name in MARKDOWN_FIELDS and isinstance(value, str):
                    found.append(value)
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(app._tree)
    return found


#: What GitHub-flavoured Markdown links even when escaped: it links the text once escapes are
#: read.
_AUTOLINKED = re.compile(r"(?i)https?://|www\.|[\w.+-]@[\w-]+\.")


def interpreted(markdown: str) -> list[str]:
    """Corpus markers standing in Markdown outside code spans (escaped ones read ``\\.``), and
    text the renderer would turn into a link anyway."""
    outside = _CODE_SPAN.sub("", markdown)
    return [m for m in MARKERS if m in outside] + _AUTOLINKED.findall(shown(outside))


def assert_text_stays_text(app: AppTest) -> None:
    strings = markdown_strings(app)
    assert strings, "no Markdown found: the walk is broken"
    bad = [(s[:120], interpreted(s)) for s in strings if interpreted(s)]
    assert not bad, bad


@pytest.mark.parametrize("page", ["bets", "sender", "history", "investigate", "breakdowns",
                                  "integration_test", "api_reference"])
def test_corpus_in_the_rows_stays_text(open_corpus_page, corpus_db, page):
    params = {"brand": BRAND}
    if page == "integration_test":
        with corpus_db.connect() as conn:
            params["run"] = str(conn.execute(sa.text(
                "SELECT min(id) FROM integration_runs")).scalar_one())
    if page == "investigate":
        params["bet"] = BET_IDS[0]
    if page == "history":
        params.update(group_ids=f'"{BET_IDS[1]}"', window="Any time")
    app = open_corpus_page(page, **params)
    assert_text_stays_text(app)


@pytest.mark.parametrize("page", list(CORPUS_PARAMS))
def test_corpus_in_the_link_stays_text(open_corpus_page, page):
    app = open_corpus_page(page, brand=BRAND, **CORPUS_PARAMS[page])
    assert_text_stays_text(app)


@pytest.mark.parametrize("value", CORPUS)
def test_corpus_as_a_linked_brand_window_or_zone_stays_text(open_corpus_page, value):
    # None is a brand, a window or a time zone: the page says so, quoting the value as text
    app = open_corpus_page("history", brand=value, window=value, tz=value)
    assert len(app.warning) == 3
    assert_text_stays_text(app)


def test_investigate_shows_a_corpus_bet_as_what_it_is(open_corpus_page):
    app = open_corpus_page("investigate", brand=BRAND, bet=BET_IDS[0])
    shown = texts(app)
    assert "Platform handler bug" in shown
    assert BET_IDS[0] in shown  # in the escalation summary, exactly as it is


def test_history_expanded_corpus_attempt_stays_text(open_corpus_page, corpus_db):
    from delivery import store

    [attempt] = store.group_attempts(corpus_db, BET_IDS[0])[:1]
    app = open_corpus_page("history", brand=BRAND, window="Any time",
                           group_ids=f'"{BET_IDS[0]}"', attempt=str(attempt["id"]))
    assert_text_stays_text(app)
    assert "[refund](https://evil.example/code)" in texts(app)  # shown, as characters


def test_stored_run_named_with_the_corpus_stays_text(open_corpus_page, corpus_db):
    with corpus_db.connect() as conn:
        run_id = conn.execute(sa.text("SELECT min(id) FROM integration_runs")).scalar_one()
    app = open_corpus_page("integration_test", brand=BRAND, run=str(run_id))
    assert "Cancelled" in texts(app)
    assert any("[click me]" in shown(b.label) for b in app.button)  # the run's name, as characters
