"""What the AppTest page tests share: the app script, signed-in users and a way to read a
page's text."""
from __future__ import annotations

import re

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from dashboard import auth
from users import sessions
from users import store as accounts

#: The password of every user the tests make.
PASSWORD = "correct horse battery"
#: A user of every brand, signed in by :func:`signed_in` unless a test says otherwise.
ADMIN = "desk-admin"

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def app_script(page: str) -> None:
    """The whole app (sign-in, sidebar scope, navigation) with ``page`` shown at ``/``."""
    from dashboard.app import main

    main(default=page)


def make_user(engine: sa.Engine, name: str, role: str = accounts.ADMIN, brands=(),
              password: str | None = PASSWORD) -> accounts.User:
    """The back-office user ``name`` as given, replacing one of that name."""
    try:
        accounts.remove_user(engine, name)
    except accounts.UnknownUser:
        pass
    return accounts.add_user(engine, name, role, brands=brands, all_brands=not brands,
                             password=password)


def signed_in(app: AppTest, engine: sa.Engine, name: str = ADMIN) -> AppTest:
    """``app`` with ``name`` signed in: a real session, whose cookie the app gets as a
    browser's (AppTest cannot send cookies)."""
    cookie = sessions.start(engine, name)
    assert cookie is not None, f"no user {name}; make_user() first"
    app.session_state[auth.SENT_COOKIE] = cookie
    return app


def opened(engine: sa.Engine, page: str, user: str = ADMIN, **params) -> AppTest:
    """``page`` after its first run in UTC, ``user`` signed in, ``params`` in its query
    string; the run raised nothing."""
    app = AppTest.from_function(app_script, args=(page,), default_timeout=60)
    app.context = {"timezone": "UTC"}
    signed_in(app, engine, user)
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def shown(markdown: str) -> str:
    """A Markdown string as its characters read: backslash escapes undone."""
    return _ESCAPE.sub(r"\1", markdown)


def texts(app: AppTest) -> str:
    """Every markdown, caption, alert, code and heading text on the page, one string (Markdown
    escapes undone; code as it is)."""
    parts = []
    for kind in ("markdown", "caption", "success", "info", "warning", "error", "title",
                 "subheader"):
        parts += [shown(str(e.value)) for e in getattr(app, kind)]
    parts += [str(e.value) for e in app.code]
    return "\n".join(parts)
