"""Sign-in in front of every page, and who is signed in.

With an ``[auth]`` section in ``.streamlit/secrets.toml`` people sign in with OIDC
(``st.login``); their role and brands come from the back-office user whose e-mail address the
identity provider vouches for (``callbacks user add NAME --email ADDRESS --no-password ...``).
Otherwise they sign in with a built-in account's name and password (``callbacks user add``).
Until then every URL shows the sign-in form in place of its page, so a deep link still leads
where it was going once signed in. Repeated failures for a name, or from an address, are made
to wait longer and longer (:class:`accounts.Throttle`); the message never says whether the
name exists.

For other code::

    user = auth.current_user()          # name, role, brands (None: all), brand_ids
    if auth.can(user, "run_battery"):   # or "act"
        ...
"""
from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from . import accounts, connection, markup
from .accounts import ACT, RUN_BATTERY, User  # noqa: F401  (part of this module's interface)
from .connection import DashboardUnavailable

#: Session-state keys: the account signed in with a password (and a fingerprint of its
#: password hash: a changed password signs other sessions out), and the user of this run.
_ACCOUNT, _FINGERPRINT, _CURRENT = "_auth_account", "_auth_fingerprint", "_auth_user"
_NOTICE = "_auth_notice"

WRONG = "Wrong user name or password."


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
    account = st.session_state.get(_ACCOUNT)
    if account is None:
        return None
    found = _lookup(account)
    if found is None or _fingerprint(found[1]) != st.session_state.get(_FINGERPRINT):
        _forget_session()
        st.session_state[_NOTICE] = "You were signed out: your account was removed or its " \
                                    "password changed."
        return None
    return found[0]


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


def _lookup(login: str, *, by_email: bool = False) -> tuple[User, str | None] | None:
    # Password hashes are the owner's alone (migration 022): no page role may read them.
    try:
        with connection.owner_engine().connect() as conn:
            return accounts.account(conn, login, by_email=by_email)
    except sa.exc.OperationalError as exc:
        raise DashboardUnavailable(
            "cannot read back-office accounts through the owner's connection "
            f"(DATABASE_URL): {str(exc.orig).strip()}") from None


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()


def _forget_session() -> None:
    """Drop everything this tab's session holds: the next person starts from nothing."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]


# --- the sign-in page -----------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _throttles() -> tuple[accounts.Throttle, accounts.Throttle]:
    """Per name typed, and per client address (more lenient: offices share addresses)."""
    return accounts.Throttle(free=3), accounts.Throttle(free=10)


def sign_in_page() -> None:
    """What every URL shows before sign-in."""
    _, middle, _ = st.columns([1, 1.2, 1])
    with middle:
        st.title("Callback Desk")
        notice = st.session_state.pop(_NOTICE, None)
        if notice:
            st.info(notice)
        try:
            if oidc_configured():
                _oidc_sign_in()
            else:
                _password_sign_in()
        except DashboardUnavailable as exc:
            st.error("Sign-in is unavailable: the dashboard cannot read the database. "
                     + markup.text(exc, limit=None))


def _password_sign_in() -> None:
    st.caption("Sign in to the back-office.")
    with st.form("sign_in", border=True, enter_to_submit=True):
        name = st.text_input("User name", key="sign_in_name", autocomplete="username")
        password = st.text_input("Password", type="password", key="sign_in_password",
                                 autocomplete="current-password")
        pressed = st.form_submit_button("Sign in", type="primary", width="stretch")
    st.caption("No account? An administrator creates one with `callbacks user add`.")
    if pressed:
        _try_password(name.strip(), password)


def _try_password(name: str, password: str) -> None:
    by_name, by_address = _throttles()
    name_key = [name.lower()]
    address = st.context.ip_address
    address_key = [address] if address else []
    wait_s = max(by_name.wait_s(name_key), by_address.wait_s(address_key))
    if wait_s > 0:
        st.error(f"Too many failed sign-ins. Wait {math.ceil(wait_s)} s, then try again.")
        return
    found = _lookup(name) if name else None
    user = found[0] if found and accounts.verify_password(found[1], password) else None
    if user is None:
        if not found:
            accounts.verify_password(None, password)  # as long as a wrong password takes
        by_name.failed(name_key)
        by_address.failed(address_key)
        st.error(WRONG)
        return
    by_name.succeeded(name_key)
    _forget_session()
    st.session_state.update(session_values(user.name, found[1]))
    st.rerun()


def session_values(name: str, password_hash: str | None) -> dict[str, str]:
    """What a session holds once ``name`` signed in with a password (tests sign in with it)."""
    return {_ACCOUNT: name, _FINGERPRINT: _fingerprint(password_hash)}


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
    """End the session's sign-in (and the OIDC cookie) and show the sign-in page."""
    _forget_session()
    if oidc_configured() and st.user.get("is_logged_in", False):
        st.logout()
    st.rerun()

