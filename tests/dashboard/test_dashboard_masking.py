"""Callback history never shows a session's secrets: a bet whose Foreign-Params hold secrets
under every kind of key (nested, in lists, numbers and booleans), sent through the real sender
to a platform that echoes them back, shows only fingerprints on the page (AppTest) and in the
CSV export; the brand's visible keys show in clear."""
from __future__ import annotations

import json

import httpx
import pytest
from browsers import needs_chromium, open_signed_in, settle
from dashboard_apptest import ADMIN, app_script, make_user, signed_in, texts
from databases import deliver_round, empty
from factories import SECRET_SESSION, SECRET_TEXTS, item
from playwright.sync_api import expect
from receiver import Receiver, Reply
from streamlit.testing.v1 import AppTest

from dashboard import queries
from dashboard.filters import EPOCH, HistoryFilter
from dashboard.tables import HISTORY_EXPORT
from delivery import brands, masking, store
from delivery.validation import parse_callback


def _echo(seen):
    params = json.loads(seen.headers["foreign-params"])
    return Reply.json(400, {"error": {"code": "bet_not_found", "data": {
        "session": params, "detail": f"no session {params['pwd']} {params['otp']}"}}})


@pytest.fixture(scope="module")
def secret_db(engine):
    """One bet of SECRET_SESSION delivered (and refused, its session echoed) to brand acme,
    whose lang and currency are visible."""
    empty(engine)
    with Receiver(_echo) as platform:
        brands.add_brand(engine, "acme", platform.url, retry_schedule_s=(0,))
        brands.set_brand_visible_keys(engine, "acme", ("lang", "currency"))
        store.enqueue(engine, "acme", [parse_callback(
            item("bet-secret", "/bet/place", foreign_params=SECRET_SESSION))])
        with httpx.Client() as client:
            assert deliver_round(engine, client) >= 1
    make_user(engine, ADMIN)
    yield engine
    empty(engine)


def _no_secret_in(text: str, where: str) -> None:
    for secret in SECRET_TEXTS:
        assert secret not in text, f"{secret!r} shows in {where}"


def test_history_shows_fingerprints_and_visible_keys_only(secret_db, reader_env):
    attempt = store.group_attempts(secret_db, "bet-secret")[0]
    app = AppTest.from_function(app_script, args=("history",), default_timeout=60)
    app.context = {"timezone": "UTC"}
    signed_in(app, secret_db)
    app.query_params["group_ids"] = "bet-secret"
    app.query_params["attempt"] = str(attempt["id"])
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    shown = texts(app) + "\n".join(str(frame.value) for frame in app.dataframe)
    assert str(attempt["id"]) in shown and "bet_not_found" in shown
    _no_secret_in(shown, "Callback history")
    mask = masking.for_brand(brands.fingerprint_key(secret_db), ("lang", "currency"))
    assert mask.fingerprint("hunter2-pwd-value") in shown
    params = json.loads(attempt["request_headers"]["Foreign-Params"])
    assert params["lang"] == "en" and params["currency"] == "EUR"
    [table] = [f.value for f in app.dataframe if list(f.value.columns) == ["Key", "Value"]]
    rows = dict(table.values.tolist())
    assert (rows["lang"], rows["currency"]) == ("en", "EUR")  # visible keys in clear
    assert rows["player.account.iban"].startswith("***")


def test_the_csv_export_shows_no_secret(secret_db, reader_env):
    filters = HistoryFilter(EPOCH, EPOCH.replace(year=2100), group_ids=("bet-secret",))
    text = queries.history_csv(filters, HISTORY_EXPORT, "UTC").decode()
    assert "bet-secret" in text and "bet_not_found" in text
    _no_secret_in(text, "the CSV export")


@pytest.mark.slow
@needs_chromium
def test_the_running_dashboard_shows_no_secret_in_chromium(secret_db, shared_dashboard, page):
    """What the browser receives, hidden tabs included, not only what AppTest sees."""
    attempt = store.group_attempts(secret_db, "bet-secret")[0]
    url = shared_dashboard.fresh()
    open_signed_in(page, f"{url}history?group_ids=bet-secret&attempt={attempt['id']}")
    expect(page.get_by_role("tab", name="Payload sent")).to_be_visible(timeout=30_000)
    for name in ("Request headers", "Response"):
        tabs = page.get_by_role("tab", name=name)
        if tabs.count():
            tabs.first.click()
            settle(page)
    received = page.evaluate("() => document.body.textContent")
    assert "bet_not_found" in received and "lang" in received
    _no_secret_in(received, "the page Chromium received")
    assert masking.for_brand(brands.fingerprint_key(secret_db)).fingerprint(
        "hunter2-pwd-value") in received
