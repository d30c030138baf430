"""Sign-in in front of every page, under AppTest against the real database: nothing shows before
sign-in and the page sends the browser to the sign-in form with the way back; a live session
shows the page asked for; sign-out, a new password and a removed account end the session.
(AppTest sends no cookies: the session's cookie is handed to the run as a browser would send it,
see ``auth.SENT_COOKIE``. The form itself and the cookie in a browser: test_dashboard_gate.py
and test_dashboard_browser_signin.py.)"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import RUN_TIMEOUT_S
from dashboard_apptest import app_script, make_user, signed_in, texts
from streamlit.testing.v1 import AppTest

from dashboard import auth
from users import sessions
from users import store as accounts


@pytest.fixture
def fresh(scenario_db, reader_env):
    """A page opener that does not sign in (``cookie``: the one the browser sends)."""
    def run(page: str = "bets", cookie: str | None = None, **params) -> AppTest:
        app = AppTest.from_function(app_script, args=(page,), default_timeout=RUN_TIMEOUT_S)
        app.context = {"timezone": "UTC"}
        if cookie:
            app.session_state[auth.SENT_COOKIE] = cookie
        app.query_params.update(params)
        app.run()
        assert not app.exception, [e.message for e in app.exception]
        return app
    return run


def _signed_out(app: AppTest) -> bool:
    return any(b.proto.url.startswith("/sign-in?") for b in app.get("link_button"))


def _sign_in_link(app: AppTest) -> tuple[str, dict]:
    (button,) = app.get("link_button")
    parts = urlsplit(button.proto.url)
    return parts.path, parse_qs(parts.query)


@pytest.mark.parametrize("page, params", [
    ("bets", {}), ("history", {"group_ids": "bet-5xx", "window": "Any time"}),
    ("investigate", {"bet": "bet-5xx"}), ("breakdowns", {}), ("sender", {}),
    ("integration_test", {}), ("api_reference", {}), ("reconcile", {"reconciliation": "1"}),
])
def test_no_page_shows_anything_before_sign_in(fresh, page, params):
    # Given nobody signed in, When any page is opened (deep links too)
    app = fresh(page, **params)
    # Then only the way to the sign-in form shows: no data, no brand selector, no page heading
    assert _signed_out(app)
    shown = texts(app)
    assert "bet-5xx" not in shown and not app.dataframe and not app.selectbox
    assert [t.value for t in app.title] == ["Callback Desk"]


def test_the_sign_in_link_leads_back_to_the_page_and_its_filters(fresh):
    app = fresh("investigate", bet="bet-5xx")
    path, query = _sign_in_link(app)
    assert path == "/sign-in"
    assert query["next"] == ["/?bet=bet-5xx"]  # AppTest serves the page at "/"


def test_a_live_session_opens_the_page_that_was_asked_for(fresh, scenario_db):
    make_user(scenario_db, "ana", accounts.ANALYST, brands=["alpha"])
    cookie = sessions.start(scenario_db, "ana")
    app = fresh("investigate", cookie=cookie, bet="bet-5xx")
    assert not _signed_out(app)
    assert "bet-5xx" in texts(app) and app.text_input(key="bet").value == "bet-5xx"
    assert any("Signed in as **ana**" in c.value and "analyst" in c.value for c in app.caption)


@pytest.mark.parametrize("tamper", [
    lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),   # signature
    lambda c: c.replace(".", ".x", 1),                               # session id
    lambda c: "v1.forged.9999999999.AAAA",
    lambda c: "",
])
def test_a_forged_or_altered_cookie_shows_nothing(fresh, scenario_db, tamper):
    make_user(scenario_db, "ana", accounts.ANALYST, brands=["alpha"])
    app = fresh("investigate", cookie=tamper(sessions.start(scenario_db, "ana")),
                bet="bet-5xx")
    assert _signed_out(app) and "bet-5xx" not in texts(app)


def test_sign_out_ends_the_session_for_every_tab(fresh, scenario_db):
    make_user(scenario_db, "ana", accounts.ANALYST, brands=["alpha"])
    cookie = sessions.start(scenario_db, "ana")
    app = fresh(cookie=cookie)
    assert not _signed_out(app)
    app.button(key="sign_out").click().run()
    # Then this tab goes to the sign-in form, saying so, and the session is gone
    assert _signed_out(app) and not app.selectbox
    assert _sign_in_link(app)[1]["signed_out"] == ["1"]
    assert sessions.live_count(scenario_db, "ana") == 0
    # and another tab sending the same cookie is signed out too
    assert _signed_out(fresh(cookie=cookie))


def test_a_changed_password_or_a_removed_user_ends_the_session(scenario_db, reader_env):
    make_user(scenario_db, "carla", accounts.ANALYST, brands=["alpha"])
    app = AppTest.from_function(app_script, args=("bets",), default_timeout=RUN_TIMEOUT_S)
    app = signed_in(app, scenario_db, "carla").run()
    assert not _signed_out(app)
    accounts.set_password(scenario_db, "carla", "another long secret")
    app.run()
    assert _signed_out(app) and "session ended" in app.info[0].value
    # signed in again, then removed
    app = signed_in(app, scenario_db, "carla").run()
    assert not _signed_out(app)
    accounts.remove_user(scenario_db, "carla")
    app.run()
    assert _signed_out(app)


OIDC = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback",
                 "cookie_secret": "a-long-random-secret-for-tests",
                 "client_id": "desk", "client_secret": "s3cret",
                 "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}}


def _oidc(page: str, user: dict, **params) -> AppTest:
    app = AppTest.from_function(app_script, args=(page,), default_timeout=RUN_TIMEOUT_S)
    app.context = {"timezone": "UTC"}
    app.secrets = OIDC
    app.user = user
    app.query_params.update(params)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_with_oidc_the_identity_gets_the_role_and_brands_of_the_user_with_its_email(
        scenario_db, reader_env):
    accounts.add_user(scenario_db, "dora", accounts.ANALYST, brands=["bravo"],
                      email="Dora@Example.com")
    # Given nobody signed in: a button to the identity provider, no password form
    app = _oidc("bets", {"is_logged_in": False})
    assert [b.label for b in app.button] == ["Sign in"] and not app.text_input
    # When the provider vouches for dora's address: her role and brands apply
    app = _oidc("bets", {"is_logged_in": True, "email": "dora@example.com",
                         "email_verified": True})
    assert any("Signed in as **dora**" in c.value for c in app.caption)
    assert app.selectbox(key="brand").options == ["bravo"]  # her one brand, picked
    # An address no user has, or one not verified, sees nothing but what to ask for
    for user in ({"is_logged_in": True, "email": "eve@example.com", "email_verified": True},
                 {"is_logged_in": True, "email": "dora@example.com", "email_verified": False}):
        app = _oidc("investigate", user, bet="bet-gaveup")
        assert "no Callback Desk user has this verified e-mail address" in app.warning[0].value
        assert "bet-gaveup" not in texts(app) and not app.selectbox
