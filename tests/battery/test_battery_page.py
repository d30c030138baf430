"""The Integration Test page, rendered by Streamlit's AppTest against a real database and a real
sandbox platform, for a signed-in integration manager (and an analyst, who may only look)."""
import base64
import json
import os

import pytest
import sqlalchemy as sa
import streamlit as st
from battery_testkit import TOKEN, guarded_sandbox, sandbox, unlike_sandbox
from streamlit.testing.v1 import AppTest

from battery.suite import CASES
from dashboard import auth, markup
from delivery import brands
from sandbox import bugs
from users import store as accounts

N = len(CASES)


MANAGER = "it-manager"


def _page():
    from dashboard import auth, components
    from dashboard.pages.integration_test import render

    auth.signed_in_user()
    components.sidebar_scope()
    render()


@pytest.fixture
def page_env(database_url, clean_db, monkeypatch):
    """The page reads and writes this run's database; an integration manager of every brand
    exists."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("DASHBOARD_DATABASE_URL", raising=False)
    st.cache_data.clear()  # brand lists of earlier tests' databases
    accounts.add_user(clean_db, MANAGER, accounts.INTEGRATION_MANAGER, all_brands=True,
                      password="x" * 12)
    return clean_db


def _session_of(user: str) -> dict:
    """What the session holds once ``user`` signed in (page_env set DATABASE_URL)."""
    engine = sa.create_engine(os.environ["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            _, hashed = accounts.account(conn, user)
    finally:
        engine.dispose()
    return auth.session_values(user, hashed)


def _open(user=MANAGER, **params) -> AppTest:
    app = AppTest.from_function(_page, default_timeout=60)
    for key, value in _session_of(user).items():
        app.session_state[key] = value
    app.query_params.update(params)
    return app.run()


def _markdown(app) -> str:
    return "\n".join(m.value for m in app.markdown)


def _test_my_integration(app, token=TOKEN, foreign_params="") -> AppTest:
    app.text_input(key="it_token").input(token)
    app.text_input(key="it_params").input(foreign_params)
    return app.button[0].click().run()


def test_a_run_from_the_page_shows_status_cases_and_history(page_env):
    with sandbox() as platform:
        brands.add_brand(page_env, "acme", platform.url)
        # Given the brand's page
        app = _open(brand="acme")
        assert not app.exception
        [choice] = [s for s in app.selectbox if s.key.startswith("it_url_")]
        assert choice.options == [platform.url] and choice.value == platform.url
        # When the integration is tested with the player's token
        app = _test_my_integration(app)
    assert not app.exception and not app.error
    # Then the pipeline's status, a row per case with its ticks, and the run in history show
    text = _markdown(app)
    assert "**Status:** :green-badge[Success]" in text and f"{N}/{N} passed" in text
    assert any(f"runs {N} synthetic bet scenarios" in c.value for c in app.caption)
    # The preflight's checks come first, then a row per case
    labels = [e.label for e in app.expander]
    assert labels[0] == "**Preflight** `✓✓✓✓✓✓✓✓`" and not app.warning
    labels = labels[1:]
    assert len(labels) == N and labels[5].startswith(":green-badge[Success] **06** single")
    assert "`✓✓✓✓✓`" in labels[5]
    history = [markup.plain(b.label) for b in app.button
               if b.key and b.key.startswith("it_load_")]
    assert len(history) == 1 and f"Success · {N}/{N}" in history[0]
    assert app.query_params["run"] == history[0].split()[0][1:]


def test_a_failed_case_shows_the_broken_behaviour_and_what_was_sent(page_env):
    with sandbox(bugs.NO_RELEASE_ON_DECLINE) as platform:
        brands.add_brand(page_env, "acme", platform.url)
        app = _test_my_integration(_open(brand="acme"))
    assert "**Status:** :red-badge[Failed]" in _markdown(app)
    decline = app.expander[6]
    assert decline.label.startswith(":red-badge[Failed] **06**") and "`✓✓✓✓✗`" in decline.label
    [error] = decline.error
    assert error.value.startswith("the hold was not released on decline — step 5")
    # What was sent, and what came back, each with its headers and body
    assert any(m.value.startswith(f"**Request** &nbsp; `POST {platform.url}/bet/decline`")
               for m in decline.markdown)
    assert any(m.value.startswith("**Response** &nbsp; `HTTP 204") for m in decline.markdown)
    assert any(c.language == "http" and "Content-Type: application/json" in c.value
               for c in decline.code)


def test_an_unreachable_platform_shows_cancelled_with_the_reason(page_env):
    brands.add_brand(page_env, "acme", "http://127.0.0.1:9")
    app = _test_my_integration(_open(brand="acme"))
    assert "**Status:** :orange-badge[Cancelled]" in _markdown(app)
    assert any(markup.plain(e.value).startswith(
        "Cancelled: /bet/place at http://127.0.0.1:9/bet/place got no answer") for e in app.error)


def test_without_a_session_nothing_runs(page_env):
    brands.add_brand(page_env, "acme", "http://127.0.0.1:9")
    app = _test_my_integration(_open(brand="acme"), token="")
    [error] = app.error
    assert markup.plain(error.value).startswith(
        "the test player's session is needed: give its Foreign-Params JSON")
    assert not [b for b in app.button if b.key and b.key.startswith("it_load_")]
    app = _test_my_integration(_open(brand="acme"), token="", foreign_params="{nope")
    assert markup.plain(app.error[0].value).startswith("Foreign-Params '{nope' is not JSON")


def test_the_session_can_be_given_as_foreign_params_json(page_env):
    with sandbox(session_key="session_id") as platform:
        brands.add_brand(page_env, "acme", platform.url)
        app = _test_my_integration(_open(brand="acme"), token="",
                                   foreign_params=f'{{"session_id": "{TOKEN}"}}')
    assert not app.error and "**Status:** :green-badge[Success]" in _markdown(app)


def test_the_preflight_findings_show_above_the_cases(page_env):
    with unlike_sandbox(without=("/bet/unsettle",), success_status=201) as (url, _):
        brands.add_brand(page_env, "acme", url)
        app = _test_my_integration(_open(brand="acme"))
    assert any(markup.plain(e.value).startswith("Preflight: endpoint missing: /bet/unsettle")
               for e in app.error)
    [warning] = app.warning
    assert markup.plain(warning.value).startswith("Preflight: success came back as 201, not 204")
    assert app.expander[0].label.startswith("**Preflight** `✓✓✓✓✓✗")


def test_earlier_runs_load_from_the_url_and_two_runs_compare(page_env):
    with sandbox(bugs.NO_RELEASE_ON_DECLINE) as broken:
        brands.add_brand(page_env, "acme", broken.url)
        before = _test_my_integration(_open(brand="acme")).query_params["run"]
    with sandbox() as fixed:
        brands.add_brand(page_env, "acme", fixed.url)
        after = _test_my_integration(_open(brand="acme")).query_params["run"]
    # When the first run's link is opened
    app = _open(brand="acme", run=before)
    assert not app.exception
    assert f"run {before} by" in _markdown(app) and ":red-badge[Failed]" in _markdown(app)
    # Then the comparison shows the decline case as the one that changed
    assert any("1 case(s) changed" in c.value for c in app.caption)
    table = app.dataframe[0].value
    changed = table[table["changed"] == "●"]
    assert list(changed["case"]) == ["single / decline"]
    assert list(changed[f"run {after}"]) == ["success"]


def test_a_run_link_opens_the_run_whichever_brand_the_sidebar_shows(page_env):
    with sandbox() as platform:
        brands.add_brand(page_env, "acme", platform.url)
        brands.add_brand(page_env, "other", platform.url)
        run_id = _test_my_integration(_open(brand="acme")).query_params["run"]
    accounts.add_user(page_env, "otto", accounts.INTEGRATION_MANAGER, brands=["other"],
                      password="x" * 12)
    # Given the link opened with "All brands" in the sidebar (no brand in it)
    app = _open(run=run_id)
    # Then the run shows, with its brand, and a brand is asked for to run or list runs
    assert not app.exception and not app.warning
    assert [markup.plain(h.value) for h in app.subheader][-1] == f"Run {run_id} · acme"
    assert f"run {run_id} by {MANAGER}" in markup.plain(_markdown(app))
    assert "Pick one brand in the sidebar" in app.info[0].value
    assert not [s for s in app.selectbox if s.key and s.key.startswith("it_")]
    # With another brand in the sidebar the run shows too, said to be of its own brand
    app = _open(brand="other", run=run_id)
    assert not app.warning
    assert [markup.plain(h.value) for h in app.subheader][-1] == f"Run {run_id} · acme"
    assert any(markup.plain(c.value) == "A run of brand acme; the sidebar shows brand other."
               for c in app.caption)
    # A user without the run's brand finds no such run
    app = _open("otto", run=run_id)
    assert [markup.plain(w.value) for w in app.warning] == [
        f"There is no run {run_id} of the brands you can see. Open one from the brand's "
        "Pipeline history."]
    assert f"run {run_id} by" not in _markdown(app)


def test_with_all_brands_the_page_asks_for_one_in_the_sidebar(page_env):
    brands.add_brand(page_env, "acme", "http://127.0.0.1:9")
    brands.add_brand(page_env, "zeta", "http://127.0.0.1:10")
    accounts.add_user(page_env, "zed", accounts.INTEGRATION_MANAGER, brands=["zeta"],
                      password="x" * 12)
    # A user of several brands picks one in the sidebar: the page has no selector of its own
    app = _open()
    assert [s.key for s in app.selectbox if s.key and s.key.startswith("it_")] == []
    assert "Pick one brand in the sidebar" in app.info[0].value
    app.selectbox(key="brand").select("zeta").run()
    assert _url_choice(app).options == ["http://127.0.0.1:10"]
    # A user of one brand has it picked in the sidebar
    app = _open("zed")
    assert app.selectbox(key="brand").value == "zeta"
    assert _url_choice(app).options == ["http://127.0.0.1:10"]
    assert "**Brand:** zeta" in _markdown(app)


def test_a_run_opened_from_the_history_shows_its_brand(page_env):
    with sandbox() as platform:
        brands.add_brand(page_env, "zeta", platform.url)
        brands.add_brand(page_env, "acme", platform.url)
        accounts.add_user(page_env, "zed", accounts.INTEGRATION_MANAGER, brands=["zeta"],
                          password="x" * 12)
        # Given a user of one brand (picked in the sidebar) who ran the battery
        app = _test_my_integration(_open("zed"))
    run_id = app.query_params["run"]
    # When the run is opened from the Pipeline history
    [load] = [b for b in app.button if b.key == f"it_load_{run_id}"]
    app = load.click().run()
    # Then the address names the run (the brand is the user's only one, the sidebar's
    # default), and the run's heading its brand
    assert not app.exception and not app.warning
    assert dict(app.query_params) == {"run": run_id}
    assert app.selectbox(key="brand").value == "zeta"
    assert [markup.plain(h.value) for h in app.subheader][-1] == f"Run {run_id} · zeta"


def _runs(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT b.name, r.base_url, r.triggered_by FROM integration_runs r "
            "JOIN brands b ON b.id = r.brand_id ORDER BY r.id"))]


def _url_choice(app):
    [choice] = [s for s in app.selectbox if s.key and s.key.startswith("it_url_")]
    return choice


def test_a_run_records_who_ran_it_and_analysts_only_look(page_env):
    with sandbox() as platform:
        brands.add_brand(page_env, "acme", platform.url)
        accounts.add_user(page_env, "ana", accounts.ANALYST, brands=["acme"],
                          password="x" * 12)
        run_id = _test_my_integration(_open(brand="acme")).query_params["run"]
    # The run is the signed-in manager's: no name field to type another
    assert _runs(page_env) == [("acme", platform.url, MANAGER)]
    # Given an analyst of the brand, When they open the page
    app = _open("ana", brand="acme")
    # Then there is nothing to run, and the past runs are there to open
    assert not app.button or all(b.key and b.key.startswith("it_load_") for b in app.button)
    assert not [t for t in app.text_input if t.key in ("it_token", "it_params")]
    assert "Integration managers and admins run the Integration Test" in app.info[0].value
    [load] = [b for b in app.button if b.key == f"it_load_{run_id}"]
    assert MANAGER in markup.plain(load.label)
    app = _open("ana", brand="acme", run=run_id)
    assert f"run {run_id} by {MANAGER}" in markup.plain(_markdown(app))


def test_urls_come_from_the_brand_and_follow_the_brand_selector(page_env):
    from battery import store as battery_store

    with sandbox() as acme, sandbox() as staging, sandbox() as other:
        brands.add_brand(page_env, "acme", acme.url)
        brands.add_brand(page_env, "other", other.url)
        battery_store.add_test_url(page_env, "acme", staging.url)
        # Given acme's page: its own URL first, then the one registered for testing
        app = _open(brand="acme")
        assert _url_choice(app).options == [acme.url, staging.url]
        # When the staging URL is chosen and the battery run
        _url_choice(app).select(staging.url)
        _test_my_integration(app)
        # And the sidebar is switched to the other brand
        app.selectbox(key="brand").select("other").run()
        # Then the choices are the other brand's, and its run is stored under it
        assert _url_choice(app).options == [other.url]
        _test_my_integration(app)
    assert _runs(page_env) == [("acme", staging.url, MANAGER), ("other", other.url, MANAGER)]


def test_a_url_unregistered_after_the_page_drew_is_refused(page_env):
    from battery import store as battery_store

    brands.add_brand(page_env, "acme", "http://127.0.0.1:9")
    battery_store.add_test_url(page_env, "acme", "http://127.0.0.1:10")
    app = _open(brand="acme")
    _url_choice(app).select("http://127.0.0.1:10")
    battery_store.remove_test_url(page_env, "acme", "http://127.0.0.1:10")
    app = _test_my_integration(app)
    assert [e.value for e in app.error] == [
        "The brand's test URLs changed since the page was drawn; check the Platform URL and "
        "press again."]
    assert _runs(page_env) == []


def test_a_brand_url_with_credentials_is_tested_with_them_and_never_shown(page_env):
    """The page records through callbacks_battery, which cannot read the brand's credentials:
    they are read through the owner and sent with every request to the brand's own URL."""
    password = "pa55:w/rd"
    basic = "Basic " + base64.b64encode(f"qa:{password}".encode()).decode()
    with guarded_sandbox(authorization=basic, query="route=eu") as (root, seen):
        written = root.replace("http://", "http://qa:pa55%3Aw%2Frd@") + "/cb?route=eu"
        brands.add_brand(page_env, "acme", written)
        app = _open(brand="acme")
        [choice] = [s for s in app.selectbox if s.key.startswith("it_url_")]
        assert choice.options == [f"{root}/cb?route=eu"]
        app = _test_my_integration(app)
    assert not app.exception and not app.error
    assert "**Status:** :green-badge[Success]" in _markdown(app)
    # Every request (the preflight's heartbeat and probes, every case) had both.
    assert seen and {(q, a) for _, q, a in seen} == {("route=eu", basic)}
    assert {p for p, _, _ in seen} >= {"/cb/heartbeat", "/cb/bet/place"}
    shown = "\n".join([_markdown(app), *(c.value for c in app.code),
                       *(c.value for c in app.caption), *(e.label for e in app.expander)])
    assert f"{root}/cb?route=eu" in shown
    with page_env.connect() as conn:
        stored = "\n".join(conn.execute(sa.text(
            "SELECT r::text FROM integration_runs r UNION ALL "
            "SELECT s::text FROM integration_steps s UNION ALL "
            "SELECT a::text FROM attempts a")).scalars())
    for text in (shown, stored):
        assert password not in text and "pa55" not in text and basic.split()[1] not in text


def _echoing_platform(seen):
    """A platform that refuses every callback with its session echoed in the error data."""
    from receiver import Reply

    params = json.loads(seen.headers.get("foreign-params") or "{}")
    if seen.path.endswith("/heartbeat"):
        return Reply(204)
    return Reply.json(400, {"error": {"code": "limit_exceeded", "data": {
        "session": params, "detail": f"no session {params.get('pwd')} / {params.get('otp')}"}}})


def _page_text(app) -> str:
    parts = [str(e.value) for kind in ("markdown", "caption", "error", "warning", "info",
                                       "success", "code") for e in getattr(app, kind)]
    return "\n".join(parts + [e.label for e in app.expander])


def test_a_run_never_stores_or_shows_the_sessions_secrets(page_env):
    from factories import SECRET_SESSION, SECRET_TEXTS
    from receiver import Receiver

    from delivery import masking

    # The battery takes a flat session (strings and numbers): the corpus's top level
    session = {k: v for k, v in SECRET_SESSION.items() if isinstance(v, str)}
    secrets = [s for s in SECRET_TEXTS if s in json.dumps(session)]
    assert len(secrets) >= 4
    # Given a brand whose platform echoes the session in every refusal, lang declared visible
    with Receiver(_echoing_platform) as platform:
        brands.add_brand(page_env, "acme", platform.url)
        brands.set_brand_visible_keys(page_env, "acme", ("lang",))
        # When its integration is tested from the page with a session full of secrets
        app = _test_my_integration(_open(brand="acme"), token="",
                                   foreign_params=json.dumps(session))
        assert sum(json.loads(s.headers["foreign-params"]) == session
                   for s in platform.seen) > 5  # sent as given (but in the unknown-session case)
    assert not app.exception
    run_id = app.query_params["run"]
    assert app.expander and app.error  # the run failed, with messages quoting the answers
    # Then no secret shows on the page, now or loaded again, nor in any stored row
    reloaded = _open(brand="acme", run=run_id)
    with page_env.connect() as conn:
        stored = "\n".join(
            "\n".join(conn.execute(sa.text(f"SELECT CAST(t AS text) FROM {table} t")).scalars())
            for table in ("integration_runs", "integration_cases", "integration_steps",
                          "attempts", "callbacks"))
        step_request = conn.execute(sa.text(
            "SELECT request FROM integration_steps ORDER BY position LIMIT 1")).scalar_one()
    for secret in secrets:
        for where, text in (("page", _page_text(app)), ("reloaded page", _page_text(reloaded)),
                            ("database", stored)):
            assert secret not in text, f"{secret!r} shows in the {where}"
    mask = masking.for_brand(brands.fingerprint_key(page_env), ("lang",))
    assert json.loads(step_request["headers"]["Foreign-Params"]) == mask.params(session)
    assert mask.fingerprint("hunter2-pwd-value") in stored
