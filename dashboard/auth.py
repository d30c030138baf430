"""Sign-in in front of every page, and who is signed in.

With an ``[auth]`` section in ``.streamlit/secrets.toml`` people sign in with OIDC
(``st.login``); their role and brands come from the back-office user whose e-mail address the
identity provider vouches for (``callbacks user add NAME --email ADDRESS --no-password ...``).
Otherwise they sign in with a built-in account's name and password (``callbacks user add``) on
the form of :mod:`dashboard.gate`, which sets a session cookie (:mod:`users.sessions`):
the sign-in lasts across reloads, tabs and pasted links until it expires or is ended (sign-out,
a new password, the user's removal). Every page run checks the session again and reads the
user afresh, so an ended session or a changed role applies at the next click.

For other code::

    user = auth.current_user()          # name, role, brands (None: all), brand_ids
    if auth.can(user, "run_battery"):   # or "act"
        ...
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from users import sessions
from users import store as accounts
from users.store import ACT, RUN_BATTERY, User  # noqa: F401  (part of this module's interface)

from . import connection, gate, markup
from .connection import DashboardUnavailable

#: Session-state keys: the user of this run, and why the last run found no session.
_CURRENT, _NOTICE = "_auth_user", "_auth_notice"
#: Session-state key: this tab has just signed out (the sign-in form says so).
_SIGNED_OUT = "_auth_signed_out"
#: Session-state key of a session cookie for runs that have no browser: AppTest cannot send
#: cookies, so tests put there the cookie a browser would send (:func:`session_values`). It
#: is checked exactly like the browser's, and no widget or URL can write it.
SENT_COOKIE = "_auth_sent_cookie"

WRONG = gate.WRONG


def current_user() -> User | None:
    """The user signed in for this run of the page (None before sign-in)."""
    return st.session_state.get(_CURRENT)


def can(user: User | None, action: str) -> bool:
    """Whether ``user`` may ``action``: ``"run_battery"`` (Integration Test) or ``"act"``
    (actions on the queue). See :data:`accounts.PERMISSIONS`."""
    return accounts.can(user, action)


#: The brands code outside a page run sees (benchmarks, tests of the queries): see seeing().
_OUTSIDE_PAGES: ContextVar[str] = ContextVar("brands_outside_pages", default="")


def brands_setting_now() -> str:
    """What this run may see, as a scope's brands (see :mod:`dashboard.connection`): the
    signed-in user's brands in a page run (nothing before sign-in); outside one, what
    :func:`seeing` says (by default nothing)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return _OUTSIDE_PAGES.get()
    user = current_user()
    return "" if user is None else connection.brands_setting(user.brand_ids)


@contextmanager
def seeing(brand_ids) -> Iterator[None]:
    """Let code outside a page run (a benchmark, a test) query these brands (None: all).
    Page runs always see their signed-in user's brands, whatever this says."""
    token = _OUTSIDE_PAGES.set(connection.brands_setting(brand_ids))
    try:
        yield
    finally:
        _OUTSIDE_PAGES.reset(token)


def deferred(fn):
    """``fn`` to be called later, outside this page run (a download button's data), seeing the
    brands this run sees."""
    brands = brands_setting_now()

    def call(*args, **kwargs):
        token = _OUTSIDE_PAGES.set(brands)
        try:
            return fn(*args, **kwargs)
        finally:
            _OUTSIDE_PAGES.reset(token)
    return call


def cached(*, ttl: float):
    """``st.cache_data(ttl=...)`` whose entries belong to the brands the signed-in user sees:
    one user's results are never served to a user of other brands."""
    def decorate(fn):
        def per_brands(brands: str, *args, **kwargs):
            return fn(*args, **kwargs)

        # Streamlit keys a cache by the function's module, name and source.
        per_brands.__module__, per_brands.__qualname__ = fn.__module__, fn.__qualname__
        per_brands.__name__ = fn.__name__
        cache = st.cache_data(ttl=ttl, show_spinner=False)(per_brands)

        @functools.wraps(fn)
        def call(*args, **kwargs):
            return cache(brands_setting_now(), *args, **kwargs)

        call.clear = cache.clear
        return call
    return decorate


def oidc_configured() -> bool:
    """Whether ``[auth]`` is configured in the secrets (then sign-in is OIDC only)."""
    return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)


# --- who is signed in -----------------------------------------------------------------------

def signed_in_user() -> User | None:
    """The user for this run, read again from the database (a removed user is signed out, a
    changed role or brand applies at once); None shows the sign-in page."""
    user = _oidc_user() if oidc_configured() else _password_user()
    st.session_state[_CURRENT] = user
    return user


def _password_user() -> User | None:
    cookie = sent_cookie()
    if not cookie:
        return None
    try:
        name = sessions.user_name(_owner(), cookie)
        found = _lookup(name) if name else None
    except sa.exc.SQLAlchemyError as exc:
        raise _unavailable(exc) from None
    if found is None and not st.session_state.get(_SIGNED_OUT):
        _forget_session()  # what this tab held belonged to the session that ended
        st.session_state[_NOTICE] = ("You were signed out: your session ended (it expired, "
                                     "you signed out, your password changed or your account "
                                     "was removed).")
    return None if found is None else found[0]


def sent_cookie() -> str | None:
    """The session cookie the browser sent when this tab connected (see :data:`SENT_COOKIE`)."""
    sent = st.context.cookies.get(sessions.COOKIE_NAME)
    if isinstance(sent, str) and sent:  # (under AppTest the context is a stand-in object)
        return sent
    return st.session_state.get(SENT_COOKIE)


def _oidc_user() -> User | None:
    if not st.user.get("is_logged_in", False):
        return None
    email = st.user.get("email")
    if not email or st.user.get("email_verified") is False:
        return None
    found = _lookup(str(email), by_email=True)
    if found is None:
        return None
    user = found[0]
    return User(user.name, user.role, user.brands, user.brand_ids, email=str(email), via="oidc")


def _owner() -> sa.Engine:
    # Password hashes, sessions and the cookie key are the owner's alone (migrations 007, 016,
    # 021): the pages' roles cannot read them.
    return connection.owner_engine()


def _unavailable(exc: Exception) -> DashboardUnavailable:
    reason = connection.unavailable_reason(exc)
    said = (f"database unavailable: {reason}" if reason is not None
            else (str(getattr(exc, "orig", exc)).strip().splitlines() or [""])[0])
    return DashboardUnavailable(
        f"cannot read back-office accounts with the owner's connection (DATABASE_URL): {said}. "
        "Check DATABASE_URL and run `callbacks db upgrade`.")


def _lookup(login: str, *, by_email: bool = False) -> tuple[User, str | None] | None:
    try:
        with _owner().connect() as conn:
            return accounts.account(conn, login, by_email=by_email)
    except sa.exc.SQLAlchemyError as exc:
        raise _unavailable(exc) from None


def _forget_session() -> None:
    """Drop everything this tab's session holds: the next person starts from nothing."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]


# --- the sign-in page -----------------------------------------------------------------------

def sign_in_page() -> None:
    """What every URL shows without a live session. With passwords, the browser is sent to the
    sign-in form (:mod:`dashboard.gate`), which brings it back to this page once signed in; a
    browser opening a page is sent there before the app loads, so this shows when a session
    ends under an open tab."""
    _, middle, _ = st.columns([1, 1.2, 1])
    with middle:
        st.title("Callback Desk")
        notice = st.session_state.pop(_NOTICE, None)
        try:
            if oidc_configured():
                if notice:
                    st.info(notice)
                _oidc_sign_in()
            elif st.session_state.pop(_SIGNED_OUT, False):
                _go_to_sign_in("You are signed out.", signed_out="1")
            else:
                _go_to_sign_in(notice)
        except DashboardUnavailable as exc:
            st.error("Sign-in is unavailable: the dashboard cannot read the database. "
                     + markup.text(exc, limit=None))


def _go_to_sign_in(notice: str | None, **flags: str) -> None:
    if this_page().startswith(gate.SIGN_IN_PATH):
        # Streamlit answered the form's own URL: the app runs without dashboard/asgi.py.
        st.error("The sign-in form is not served here: start the dashboard with `callbacks "
                 "dashboard` (or `streamlit run dashboard/asgi.py`), not dashboard/app.py.")
        return
    target = gate.sign_in_location(this_page(), **flags)
    st.info(notice or "Sign in to the back-office.")
    st.link_button("Sign in", target, type="primary", width="stretch")
    # Straight there (the button is for a browser that runs no script).
    st.html(f"<script>window.location.replace({json.dumps(target)});</script>",
            unsafe_allow_javascript=True)


def this_page() -> str:
    """This page's path and query (``/investigate?bet=b-1``): where sign-in leads back to."""
    path = urlsplit(st.context.url or "/").path or "/"
    params = [(name, value) for name in st.query_params
              for value in st.query_params.get_all(name)]
    return path + (f"?{urlencode(params)}" if params else "")


def _oidc_sign_in() -> None:
    if st.user.get("is_logged_in", False):
        email = st.user.get("email") or "(no e-mail address)"
        st.warning(f"You are signed in as {markup.text(email)}, but no Callback Desk user has "
                   "this verified e-mail address. Ask an administrator to run `callbacks user "
                   "add NAME --email ADDRESS --no-password --role ROLE --brand BRAND`.")
        if st.button("Sign out"):
            st.logout()
        return
    st.caption("Sign in to the back-office with your organisation's account.")
    for provider in _providers():
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        if st.button(label, type="primary", width="stretch", key=f"oidc_{provider}"):
            st.login(provider)


def _providers() -> list[str | None]:
    """Named providers of ``[auth]`` (``[auth.google]``...), or [None] for the one default."""
    section = st.secrets["auth"]
    named = [key for key, value in section.items() if isinstance(value, Mapping)]
    return named or [None]


# --- signed in ------------------------------------------------------------------------------

def account_box(user: User) -> None:
    """Who is signed in, their role and brands, and Sign out (in the sidebar)."""
    with st.sidebar:
        st.caption(f"Signed in as **{markup.text(user.name)}** · {user.role_label} · "
                   f"{markup.text(user.brands_label())}")
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            sign_out()


def sign_out() -> None:
    """End this browser's session (its cookie is refused from now on, in every tab) and show
    the sign-in form; with OIDC, end Streamlit's identity cookie too."""
    if oidc_configured():
        _forget_session()
        if st.user.get("is_logged_in", False):
            st.logout()
        st.rerun()
    try:
        sessions.end(_owner(), sent_cookie())
    except sa.exc.SQLAlchemyError as exc:
        raise _unavailable(exc) from None
    _forget_session()
    st.session_state[_SIGNED_OUT] = True
    st.rerun()


def session_values(name: str, password_hash: str | None = None) -> dict[str, str]:
    """What a tab holds once ``name`` signed in, for runs without a browser (AppTest): a real
    session, opened with the owner's connection, whose cookie the run checks like a
    browser's. ``password_hash`` is not needed any more."""
    cookie = sessions.start(_owner(), name)
    if cookie is None:
        raise accounts.UnknownUser(f"no back-office user called {name!r}")
    return {SENT_COOKIE: cookie}
