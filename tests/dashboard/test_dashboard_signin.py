"""Sign-in in front of every page, under AppTest against the real database: nothing shows before
sign-in, a wrong name or password says the same plain thing, repeated failures wait, a deep link
leads where it was going, sign-out and a removed account end the session."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import accounts, auth
from dashboard_apptest import PASSWORD, app_script, make_user, signed_in, texts
from conftest import RUN_TIMEOUT_S


@pytest.fixture
def fresh(scenario_db, reader_env):
    """A page opener that does not sign in."""
    def run(page: str = "bets", **params) -> AppTest:
        app = AppTest.from_function(app_script, args=(page,), default_timeout=RUN_TIMEOUT_S)
        app.context = {"timezone": "UTC"}
        app.query_params.update(params)
        app.run()
        assert not app.exception, [e.message for e in app.exception]
        return app
    return run


def _submit(app: AppTest, name: str, password: str) -> AppTest:
    app.text_input(key="sign_in_name").input(name)
    app.text_input(key="sign_in_password").input(password)
    app.button[0].click().run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _signed_out(app: AppTest) -> bool:
    keys = {w.key for w in app.text_input}
    return "sign_in_name" in keys and "sign_in_password" in keys


@pytest.mark.parametrize("page, params", [
    ("bets", {}), ("history", {"group_ids": "bet-5xx", "window": "Any time"}),
    ("investigate", {"bet": "bet-5xx"}), ("breakdowns", {}), ("sender", {}),
    ("integration_test", {}), ("api_reference", {}),
])
def test_no_page_shows_anything_before_sign_in(fresh, page, params):
    # Given nobody signed in, When any page is opened (deep links too)
    app = fresh(page, **params)
    # Then only the sign-in form shows: no data, no brand selector, no page heading
    assert _signed_out(app)
    shown = texts(app)
    assert "bet-5xx" not in shown and not app.dataframe and not app.selectbox
    assert [t.value for t in app.title] == ["Callback Desk"]


def test_right_password_opens_the_page_that_was_asked_for(fresh, scenario_db):
    make_user(scenario_db, "ana", accounts.ANALYST, brands=["alpha"])
    # Given a deep link to an investigation, opened before sign-in
    app = fresh("investigate", bet="bet-5xx")
    # When the analyst signs in
    app = _submit(app, "ana", PASSWORD)
    # Then the investigation of that bet shows, and who is signed in
    assert not _signed_out(app)
    assert "bet-5xx" in texts(app) and app.text_input(key="bet").value == "bet-5xx"
    assert any("Signed in as **ana**" in c.value and "analyst" in c.value for c in app.caption)


@pytest.mark.parametrize("name, password", [
    ("ana", "wrong password!"), ("nobody-here", PASSWORD), ("", ""), ("ana", ""),
])
def test_a_wrong_name_or_password_says_the_same_plain_thing(fresh, scenario_db, name, password):
    make_user(scenario_db, "ana", accounts.ANALYST, brands=["alpha"])
    app = _submit(fresh(), name, password)
    assert _signed_out(app)
    assert [e.value for e in app.error] == [auth.WRONG]


def test_repeated_failures_make_the_next_try_wait_even_with_the_right_password(fresh,
                                                                              scenario_db):
    make_user(scenario_db, "bruno", accounts.ANALYST, brands=["alpha"])
    app = fresh()
    for _ in range(4):
        app = _submit(app, "bruno", "guess-guess-guess")
    # Then the next try is refused without looking at the password, and says how long to wait
    app = _submit(app, "BRUNO", PASSWORD)
    assert _signed_out(app)
    assert "Too many failed sign-ins" in app.error[0].value
    # An unknown name is slowed the same way (no hint that it does not exist)
    for _ in range(4):
        app = _submit(app, "no-such-user", "guess-guess-guess")
    assert "Too many failed sign-ins" in app.error[0].value


def test_sign_out_shows_the_sign_in_form_and_forgets_the_session(fresh, scenario_db):
    make_user(scenario_db, "ana", accounts.ANALYST, brands=["alpha"])
    app = _submit(fresh(), "ana", PASSWORD)
    assert not _signed_out(app)
    app.button(key="sign_out").click().run()
    assert _signed_out(app) and not app.selectbox
    assert "_auth_account" not in app.session_state


def test_a_removed_user_or_a_changed_password_signs_the_session_out(scenario_db, reader_env):
    make_user(scenario_db, "carla", accounts.ANALYST, brands=["alpha"])
    app = AppTest.from_function(app_script, args=("bets",), default_timeout=RUN_TIMEOUT_S)
    app = signed_in(app, scenario_db, "carla").run()
    assert not _signed_out(app)
    accounts.set_password(scenario_db, "carla", "another password")
    app.run()
    assert _signed_out(app) and "signed out" in app.info[0].value
    # signed in again, then removed
    app = _submit(app, "carla", "another password")
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
    assert app.selectbox(key="brand").options == ["All brands", "bravo"]
    # An address no user has, or one not verified, sees nothing but what to ask for
    for user in ({"is_logged_in": True, "email": "eve@example.com", "email_verified": True},
                 {"is_logged_in": True, "email": "dora@example.com", "email_verified": False}):
        app = _oidc("investigate", user, bet="bet-gaveup")
        assert "no Callback Desk user has this verified e-mail address" in app.warning[0].value
        assert "bet-gaveup" not in texts(app) and not app.selectbox
