"""The dashboard's front door: its decisions as pure functions, then real HTTP requests to a
started dashboard (``callbacks dashboard`` on a free port): security headers on every response,
pages sent to the sign-in form and back, the session cookie's attributes, refusals (wrong
password, another site's form, a link out of the site), ended sessions refused, and failed
sign-ins slowed per (name, address) so that a stranger elsewhere cannot lock a user out.

Two client addresses are two real source addresses on loopback (127.0.0.1 and 127.0.0.2)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from dashboard_apptest import PASSWORD, make_user
from dashboard_scenarios import build_with_receiver
from dashboards import serving
from databases import empty

from dashboard import gate, sign_in_form
from users import sessions
from users import store as accounts

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


# --- decisions --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("/investigate?bet=b-1", "/investigate?bet=b-1"),
    ("/", "/"),
    ("/history?group_ids=a+b&window=Any+time", "/history?group_ids=a+b&window=Any+time"),
    (None, "/"), ("", "/"), ("investigate", "/"),
    ("//evil.example/x", "/"), ("/\\evil.example", "/"), ("https://evil.example/", "/"),
    ("/ok\r\nSet-Cookie: x=1", "/"), ("/sign-in?next=/x", "/"), ("javascript:alert(1)", "/"),
    ("/history?brand=healthy&window=Last+24+h", "/history?brand=healthy&window=Last+24+h"),
    ("\\\\evil.example/x", "/"), ("/x\\y", "/"), ("http:/evil.example", "/"),
    ("/\t/evil.example", "/"), (" //evil.example", "/"), ("HTTPS://evil.example", "/"),
    ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),  # a path of this site, percent-encoded
])
def test_after_sign_in_only_paths_of_this_site_are_followed(value, expected):
    assert gate.safe_next(value) == expected


@pytest.mark.parametrize("method, path, accept, page", [
    ("GET", "/", "text/html,*/*", True),
    ("GET", "/investigate", "text/html", True),
    ("HEAD", "/history", "text/html", True),
    ("GET", "/investigate", "*/*", False),            # not a browser opening a page
    ("POST", "/investigate", "text/html", False),
    ("GET", "/_stcore/health", "text/html", False),    # Streamlit's machinery
    ("GET", "/static/js/index.js", "text/html", False),
    ("GET", "/sign-in", "text/html", False),
    ("GET", "/auth/login", "text/html", False),        # OIDC
    ("GET", "/oauth2callback", "text/html", False),
])
def test_which_requests_are_page_loads(method, path, accept, page):
    assert gate.is_page_load(method, path, accept) is page


@pytest.mark.parametrize("path, session_file", [
    ("/media/3f2a.csv", True), ("/media/", True), ("/", False), ("/_stcore/health", False),
    ("/static/media/x.woff2", False),
])
def test_streamlits_files_for_a_page_run_need_the_session(path, session_file):
    assert gate.is_session_file(path) is session_file


@pytest.mark.parametrize("headers, host, refused", [
    ({"sec-fetch-site": "same-origin"}, "desk:8501", False),
    ({"sec-fetch-site": "none"}, "desk:8501", False),            # typed in the address bar
    ({"sec-fetch-site": "cross-site"}, "desk:8501", True),
    ({"sec-fetch-site": "same-site"}, "desk:8501", True),        # a sibling subdomain
    ({"origin": "http://desk:8501"}, "desk:8501", False),
    ({"origin": "http://evil.example"}, "desk:8501", True),
    ({"origin": "null"}, "desk:8501", True),
    ({}, "desk:8501", False),                                    # curl, scripts
])
def test_sign_in_forms_from_other_sites_are_refused(headers, host, refused):
    assert gate.cross_site(headers, host) is refused


def test_the_cookie_is_secure_over_https_or_when_configured():
    assert not gate.secure_cookie("http", {})
    assert gate.secure_cookie("https", {})
    assert gate.secure_cookie("http", {"DASHBOARD_SECURE_COOKIE": "true"})


def test_the_sign_in_page_escapes_what_it_shows():
    page = sign_in_form.page(action="/sign-in", next_path='/x?a="><script>',
                             name='<b>"ana"</b>', message="<img src=x>")
    assert "<script>" not in page and "<b>" not in page and "<img" not in page
    assert 'value="&lt;b&gt;&quot;ana&quot;&lt;/b&gt;"' in page


def test_the_sign_in_location_keeps_the_way_back():
    location = gate.sign_in_location("/history?group_ids=a+b&x=1", signed_out="1")
    query = parse_qs(urlsplit(location).query)
    assert urlsplit(location).path == "/sign-in"
    assert query == {"next": ["/history?group_ids=a+b&x=1"], "signed_out": ["1"]}


# --- a started dashboard ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def desk(engine, database_url):
    empty(engine)
    build_with_receiver(engine)
    for name in ("ana", "bruno", "carla", "dora", "eve"):
        make_user(engine, name, accounts.ANALYST, brands=["alpha"])
    with serving(engine, database_url) as url:
        yield url.replace("localhost", "127.0.0.1")


def _client(desk: str, address: str = "127.0.0.1") -> httpx.Client:
    """A client at ``address`` that keeps cookies as a browser does."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=desk, transport=transport, follow_redirects=False,
                        timeout=30)


def _sign_in(client: httpx.Client, name: str, password: str = PASSWORD,
             next_path: str = "/", **headers) -> httpx.Response:
    return client.post("/sign-in", data={"name": name, "password": password,
                                         "next": next_path}, headers=headers)


def test_every_response_forbids_framing(desk):
    with _client(desk) as stranger, _client(desk) as ana:
        assert _sign_in(ana, "ana").status_code == 303
        answers = [stranger.get("/", headers=HTML),           # sent to sign in
                   stranger.get("/sign-in"),                  # the form
                   stranger.get("/_stcore/health"),           # Streamlit's machinery
                   stranger.get("/no-such-file.js"),
                   ana.get("/investigate", headers=HTML)]     # the app
    assert [a.status_code for a in answers] == [303, 200, 200, 200, 200]
    for answer in answers:
        assert answer.headers["x-frame-options"] == "DENY", answer.url
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_page_opened_without_a_session_goes_to_sign_in_and_back(desk):
    with _client(desk) as client:
        # Given a deep link opened by a browser that is not signed in
        opened = client.get("/investigate?bet=bet-5xx", headers=HTML)
        assert opened.status_code == 303
        form_url = opened.headers["location"]
        assert parse_qs(urlsplit(form_url).query)["next"] == ["/investigate?bet=bet-5xx"]
        form = client.get(form_url)
        assert 'name="next" value="/investigate?bet=bet-5xx"' in form.text
        assert "default-src 'none'" in form.headers["content-security-policy"]
        # When the right password is posted with it
        signed = _sign_in(client, "bruno", next_path="/investigate?bet=bet-5xx")
        # Then on to the link, with a session cookie of the documented kind
        assert signed.status_code == 303
        assert signed.headers["location"] == "/investigate?bet=bet-5xx"
        set_cookie = signed.headers["set-cookie"]
        assert set_cookie.startswith(f"{sessions.COOKIE_NAME}=v1.")
        for part in ("Path=/", "Max-Age=43200", "HttpOnly", "SameSite=Lax"):
            assert part in set_cookie
        assert "Secure" not in set_cookie  # plain http here
        page = client.get("/investigate?bet=bet-5xx", headers=HTML)
        assert page.status_code == 200 and "<noscript>" in page.text
        # and the sign-in form, opened while signed in, goes straight on
        assert client.get("/sign-in?next=/history").headers["location"] == "/history"


def test_signing_in_again_ends_the_browsers_previous_session(desk, engine):
    with _client(desk) as client:
        assert _sign_in(client, "bruno").status_code == 303
        first = client.cookies[sessions.COOKIE_NAME]
        assert _sign_in(client, "bruno").status_code == 303
        assert client.cookies[sessions.COOKIE_NAME] != first
    assert sessions.user_name(engine, first) is None


def test_behind_an_https_proxy_the_cookie_is_secure(desk):
    # a proxy on loopback (uvicorn trusts its forwarded headers) that terminated https
    with _client(desk) as client:
        signed = _sign_in(client, "carla", **{"X-Forwarded-Proto": "https"})
    assert signed.status_code == 303 and "; Secure" in signed.headers["set-cookie"]


def test_wrong_passwords_forms_from_elsewhere_and_links_out_are_refused(desk):
    with _client(desk) as client:
        for name, password in (("dora", "wrong password!"), ("nobody", PASSWORD),
                               ("", ""), ("dora", "")):
            refused = _sign_in(client, name, password)
            assert refused.status_code == 401 and gate.WRONG in refused.text
            assert "set-cookie" not in refused.headers
            assert PASSWORD not in refused.text
        cross = _sign_in(client, "dora", **{"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403 and "set-cookie" not in cross.headers
        out = _sign_in(client, "dora", next_path="//evil.example/steal")
        assert out.status_code == 303 and out.headers["location"] == "/"


def test_an_ended_session_is_refused_and_its_cookie_dropped(desk, engine):
    with _client(desk) as client:
        assert _sign_in(client, "eve").status_code == 303
        assert client.get("/bets", headers=HTML).status_code == 200
        # When the password changes (callbacks user passwd)
        accounts.set_password(engine, "eve", "a fresh long secret")
        # Then the same cookie is sent to sign in, and the form drops it
        refused = client.get("/bets", headers=HTML)
        assert refused.status_code == 303 and refused.headers["location"].startswith(
            "/sign-in?")
        form = client.get(refused.headers["location"])
        assert "Your session ended" in form.text
        assert form.headers["set-cookie"].startswith(f"{sessions.COOKIE_NAME}=;")
        assert "Max-Age=0" in form.headers["set-cookie"]
        accounts.set_password(engine, "eve", PASSWORD)


def test_a_stranger_elsewhere_cannot_lock_a_user_out(desk):
    # Given a stranger at 127.0.0.2 failing ana's password over and over (and claiming to be
    # ana's address in X-Forwarded-For, which is not trusted from there)
    with _client(desk, "127.0.0.2") as stranger:
        for _ in range(accounts.FREE_TRIES_PER_NAME_AND_ADDRESS + 2):
            _sign_in(stranger, "ana", "guess-guess-guess", **{"X-Forwarded-For": "127.0.0.1"})
        # Then the stranger is made to wait, even with the right password
        slowed = _sign_in(stranger, "ana")
        assert slowed.status_code == 429 and "Too many failed sign-ins" in slowed.text
        assert int(slowed.headers["retry-after"]) >= 1
    # And ana at 127.0.0.1 signs in at once
    with _client(desk) as ana:
        assert _sign_in(ana, "ana").status_code == 303
