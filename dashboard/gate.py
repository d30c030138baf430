"""The back-office's front door, in front of Streamlit: the sign-in page, the session cookie and
the headers every response carries. :mod:`dashboard.asgi` adds these to Streamlit's server.

Routes::

    GET  /sign-in?next=/investigate?bet=b-1   the form (a dead session cookie is dropped)
    POST /sign-in                             name, password, next: on success a session
                                              cookie and 303 to ``next``; else the form again

Middleware (:class:`Gate`):

- every HTTP response carries ``X-Frame-Options: DENY`` and ``Content-Security-Policy:
  frame-ancestors 'none'`` (no page of the back-office can be framed by another site), and
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin`` (bet ids in URLs do
  not leak to other sites);
- opening a page (a browser's GET of anything that is not Streamlit's machinery) without a live
  session answers 303 to ``/sign-in?next=<that page>``, so the link asked for opens after
  sign-in. Page runs check the session again (:mod:`dashboard.auth`): this only spares a
  signed-out browser the app's load;
- the files Streamlit made for a page run (``/media/``: Export CSV, images) are served only to
  a live session: a copied download link opens nothing for anyone else.

With OIDC configured (``[auth]`` in secrets.toml) Streamlit's ``st.login`` signs people in
instead: the routes send to ``/`` and nothing is redirected; the headers stay.

Failed sign-ins are slowed per (name, client address) and, more loosely, per address
(:class:`accounts.SignInThrottle`). The client address is the connection's, or the one a proxy
named in ``X-Forwarded-For`` when the proxy's address is in uvicorn's ``FORWARDED_ALLOW_IPS``
(default: loopback only).
"""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlsplit

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from users import sessions
from users import store as accounts

from . import connection, sign_in_form

SIGN_IN_PATH = "/sign-in"
#: Headers added to every HTTP response of the dashboard.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
#: The sign-in page needs nothing from anywhere: no script, only its own inline style.
SIGN_IN_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
#: Paths that are Streamlit's machinery (assets, the websocket, health, OIDC) or ours, never a
#: page: opening them never redirects to the sign-in form.
NOT_PAGES = ("/_stcore/", "/static/", "/media/", "/component/", "/app/static/", "/auth/",
             "/oauth2callback", SIGN_IN_PATH)
#: Where Streamlit serves the files a page run made (Export CSV's data, images).
SESSION_FILES = ("/media/",)
#: Largest sign-in form body read (a name and a password are far shorter).
MAX_FORM_BYTES = 8192

WRONG = "Wrong user name or password."
_LOG = logging.getLogger(__name__)


# --- pure decisions -------------------------------------------------------------------------

def safe_next(value: str | None) -> str:
    """Where to go after sign-in: a path of this site (``/investigate?bet=b-1``), else ``/``.
    Nothing that leaves the site (``//evil``, ``https://...``, ``/\\evil``) and never back to
    the sign-in form."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 0x20 or c == "\x7f" or c == "\\" for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(SIGN_IN_PATH):
        return "/"
    return value


def is_page_load(method: str, path: str, accept: str) -> bool:
    """Whether a request is a browser opening a page (which needs a live session first)."""
    return (method in ("GET", "HEAD") and "text/html" in accept
            and not path.startswith(NOT_PAGES))


def is_session_file(path: str) -> bool:
    """Whether a path is a file Streamlit made for a page run (an export, an image)."""
    return path.startswith(SESSION_FILES)


def sign_in_location(next_path: str, **flags: str) -> str:
    """The sign-in URL that leads to ``next_path`` once signed in."""
    query = f"next={quote(safe_next(next_path), safe='')}"
    for name, value in flags.items():
        query += f"&{name}={quote(value, safe='')}"
    return f"{SIGN_IN_PATH}?{query}"


def cross_site(headers: Mapping[str, str], host: str | None) -> bool:
    """Whether a form post comes from another site's page (refused: no one is signed in to the
    back-office by someone else's page). Browsers say so in ``Sec-Fetch-Site``; older ones
    only in ``Origin``."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc != (host or "")


def secure_cookie(scheme: str, env: Mapping[str, str]) -> bool:
    """Whether the session cookie is ``Secure``: served over https (directly, or by a trusted
    proxy's ``X-Forwarded-Proto``), or ``DASHBOARD_SECURE_COOKIE=true``."""
    forced = (env.get("DASHBOARD_SECURE_COOKIE") or "").strip().lower()
    return scheme == "https" or forced in ("1", "true", "yes")


# --- the routes -----------------------------------------------------------------------------

#: Failed sign-ins of this server process.
THROTTLE = accounts.SignInThrottle()


def _oidc() -> bool:
    from .auth import oidc_configured  # Streamlit's secrets: imported when first needed

    return oidc_configured()


def _engine() -> sa.Engine:
    return connection.owner_engine()


def _page(next_path: str, *, status: int = 200, name: str = "", message: str = "",
          tone: str = "error", clear_cookie: bool = False, secure: bool = False,
          headers: dict | None = None) -> HTMLResponse:
    page = sign_in_form.page(action=SIGN_IN_PATH, next_path=safe_next(next_path), name=name,
                             message=message, tone=tone)
    response = HTMLResponse(page, status_code=status, headers=headers)
    response.headers["Content-Security-Policy"] = SIGN_IN_CSP
    response.headers["Cache-Control"] = "no-store"
    if clear_cookie:
        response.headers.append("Set-Cookie", sessions.clear_cookie_header(secure=secure))
    return response


async def show_sign_in(request: Request) -> Response:
    """GET /sign-in: the form, or straight on when the browser's session is live."""
    next_path = safe_next(request.query_params.get("next"))
    if _oidc():
        return RedirectResponse(next_path, status_code=303)
    secure = secure_cookie(request.url.scheme, os.environ)
    cookie = request.cookies.get(sessions.COOKIE_NAME)
    if cookie:
        try:
            if await run_in_threadpool(sessions.user_name, _engine(), cookie):
                return RedirectResponse(next_path, status_code=303)
        except sa.exc.SQLAlchemyError as exc:
            _LOG.warning("sign-in: cannot check the session: %s", exc)
    if request.query_params.get("signed_out"):
        message, tone = "You are signed out.", "info"
    elif cookie:
        message, tone = ("Your session ended (it expired, you signed out elsewhere, or your "
                         "password changed). Sign in again."), "info"
    else:
        message, tone = "", "info"
    return _page(next_path, message=message, tone=tone, clear_cookie=bool(cookie),
                 secure=secure)


async def submit_sign_in(request: Request) -> Response:
    """POST /sign-in: check the name and password; a session cookie and on to ``next``."""
    if _oidc():
        return RedirectResponse("/", status_code=303)
    if cross_site(request.headers, request.headers.get("host")):
        return PlainTextResponse("Sign-in forms are accepted from this site's own page only.",
                                 status_code=403)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return PlainTextResponse("The sign-in form is too large.", status_code=413)
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    name, password = form.get("name", "").strip(), form.get("password", "")
    next_path = safe_next(form.get("next"))
    address = request.client.host if request.client else None
    secure = secure_cookie(request.url.scheme, os.environ)

    wait_s = THROTTLE.wait_s(name, address)
    if wait_s > 0:
        # The address only: a name field sometimes holds a password typed in the wrong box.
        _LOG.warning("sign-in: repeated failures from %s; its next try waits %d s", address,
                     math.ceil(wait_s))
        return _page(next_path, status=429, name=name, headers={
            "Retry-After": str(math.ceil(wait_s))},
            message=f"Too many failed sign-ins. Wait {math.ceil(wait_s)} s, then try again.")
    try:
        cookie = await run_in_threadpool(_check_and_start, name, password, address,
                                         request.cookies.get(sessions.COOKIE_NAME))
    except sa.exc.SQLAlchemyError as exc:
        _LOG.error("sign-in: cannot read the database: %s", exc)
        return _page(next_path, status=503, name=name,
                     message="Sign-in is unavailable: the dashboard cannot read the database.")
    if cookie is None:
        THROTTLE.failed(name, address)
        return _page(next_path, status=401, name=name, message=WRONG)
    THROTTLE.succeeded(name, address)
    response = RedirectResponse(next_path, status_code=303)
    response.headers.append("Set-Cookie", sessions.set_cookie_header(
        cookie, max_age_s=sessions.ttl_s(os.environ), secure=secure))
    response.headers["Cache-Control"] = "no-store"
    return response


def _check_and_start(name: str, password: str, address: str | None,
                     previous: str | None) -> str | None:
    """The new session's cookie when ``password`` is ``name``'s, else None (after as much work
    as a right password: answer times do not tell which names exist). The browser's previous
    session, if any, ends: its cookie is being replaced."""
    engine = _engine()
    found = None
    if name:
        with engine.connect() as conn:
            found = accounts.account(conn, name)
    if not accounts.verify_password(found[1] if found else None, password):
        return None
    if previous:
        sessions.end(engine, previous)
    return sessions.start(engine, found[0].name, address=address,
                          lifetime_s=sessions.ttl_s(os.environ))


def routes() -> list[Route]:
    """The sign-in routes, for ``st.App(routes=...)``."""
    return [Route(SIGN_IN_PATH, show_sign_in, methods=["GET", "HEAD"]),
            Route(SIGN_IN_PATH, submit_sign_in, methods=["POST"])]


# --- the middleware -------------------------------------------------------------------------

class Gate:
    """ASGI middleware: the security headers on every response, and a page opened without a
    live session sent to the sign-in form (see the module's docstring)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        request = Request(scope)
        path = request.url.path
        if (is_page_load(request.method, path, request.headers.get("accept", ""))
                and not await self._live(request)):
            target = path + (f"?{request.url.query}" if request.url.query else "")
            refusal: Response = RedirectResponse(sign_in_location(target), status_code=303)
        elif is_session_file(path) and not await self._live(request):
            refusal = PlainTextResponse("Not found.", status_code=404)
        else:
            await self.app(scope, receive, send_with_headers)
            return
        refusal.headers["Cache-Control"] = "no-store"
        await refusal(scope, receive, send_with_headers)

    @staticmethod
    async def _live(request: Request) -> bool:
        if _oidc():
            return True  # st.login's own pages and cookie
        cookie = request.cookies.get(sessions.COOKIE_NAME)
        if not cookie:
            return False
        try:
            return bool(await run_in_threadpool(sessions.user_name, _engine(), cookie))
        except sa.exc.SQLAlchemyError as exc:
            # The page run says what is wrong with the database; no sign-in would help.
            _LOG.warning("gate: cannot check the session: %s", exc)
            return True
