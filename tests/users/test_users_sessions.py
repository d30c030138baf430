"""Back-office sessions: the cookie's format, signature and expiry as pure functions (checked
against an HMAC computed here independently), and the store on the real database: a session
lives until it expires, is signed out, its user's password changes or its user is removed; no
back-office role can read the table."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
import sqlalchemy as sa

from dashboard import connection
from delivery import keys
from users import sessions
from users import store as accounts
from users.sessions import Ticket

KEY = bytes(range(32))
NOW = 1_800_000_000


def _independent_signature(key: bytes, payload: str) -> str:
    digest = hmac.new(key, ("callbacks-desk back-office session|" + payload).encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_a_cookie_is_the_ticket_and_its_hmac():
    cookie = sessions.sign(KEY, Ticket("abc_DEF-123", NOW + 60))
    version, session_id, expires, signature = cookie.split(".")
    assert (version, session_id, expires) == ("v1", "abc_DEF-123", str(NOW + 60))
    assert signature == _independent_signature(KEY, f"v1.abc_DEF-123.{NOW + 60}")
    assert sessions.read(KEY, cookie, NOW) == Ticket("abc_DEF-123", NOW + 60)


def test_a_cookie_is_refused_once_expired():
    cookie = sessions.sign(KEY, Ticket("s", NOW + 60))
    assert sessions.read(KEY, cookie, NOW + 59.9) is not None
    assert sessions.read(KEY, cookie, NOW + 60) is None


@pytest.mark.parametrize("cookie", [
    None, "", "v1", "v1.s.1900000000", "v2.s.1900000000.sig", "v1..1900000000.sig",
    "v1.s.-5.sig", "v1.s.19e9.sig", "x" * 300,
])
def test_malformed_cookies_are_refused(cookie):
    assert sessions.read(KEY, cookie, NOW) is None


def test_changing_any_part_or_the_key_breaks_the_signature():
    cookie = sessions.sign(KEY, Ticket("session-a", NOW + 600))
    version, session_id, expires, signature = cookie.split(".")
    for forged in (f"{version}.session-b.{expires}.{signature}",
                   f"{version}.{session_id}.{int(expires) + 3600}.{signature}",
                   f"{version}.{session_id}.{expires}.{signature[:-1]}A"):
        assert forged != cookie and sessions.read(KEY, forged, NOW) is None
    assert sessions.read(bytes(32), cookie, NOW) is None
    # a forger with the key could: the key is what keeps them out
    extended = sessions.sign(KEY, Ticket("session-a", int(expires) + 3600))
    assert sessions.read(KEY, extended, NOW) is not None


def test_session_ids_are_random_and_stored_only_as_a_hash():
    ids = {sessions.new_session_id() for _ in range(50)}
    assert len(ids) == 50 and all(len(i) >= 43 and "." not in i for i in ids)
    some = next(iter(ids))
    assert sessions.id_hash(some) == hashlib.sha256(some.encode()).digest()


def test_cookie_headers_are_httponly_lax_and_secure_when_asked():
    plain = sessions.set_cookie_header("v", max_age_s=43200, secure=False)
    assert plain == ("callbacks_desk_session=v; Path=/; Max-Age=43200; HttpOnly; "
                     "SameSite=Lax")
    assert sessions.set_cookie_header("v", max_age_s=1, secure=True).endswith("; Secure")
    cleared = sessions.clear_cookie_header(secure=False)
    assert cleared.startswith("callbacks_desk_session=;") and "Max-Age=0" in cleared


@pytest.mark.parametrize("raw, expected", [
    (None, 12 * 3600), ("", 12 * 3600), ("8", 8 * 3600), ("0.25", 900), ("168", 168 * 3600),
])
def test_the_session_lifetime_is_twelve_hours_unless_configured(raw, expected):
    env = {} if raw is None else {"DASHBOARD_SESSION_HOURS": raw}
    assert sessions.ttl_s(env) == expected


@pytest.mark.parametrize("raw", ["0", "0.1", "169", "a day", "-3"])
def test_a_session_lifetime_out_of_range_is_an_error(raw):
    with pytest.raises(ValueError, match="DASHBOARD_SESSION_HOURS"):
        sessions.ttl_s({"DASHBOARD_SESSION_HOURS": raw})


# --- the store --------------------------------------------------------------------------------

@pytest.fixture
def ana(clean_db):
    make_user(clean_db, "ana", accounts.ANALYST)
    return clean_db


def make_user(engine, name: str, role: str) -> None:
    """The back-office user ``name`` of every brand, replacing one of that name."""
    try:
        accounts.remove_user(engine, name)
    except accounts.UnknownUser:
        pass
    accounts.add_user(engine, name, role, all_brands=True, password="correct horse battery")


def test_a_session_lives_until_it_expires_and_is_signed_with_the_installation_key(ana):
    cookie = sessions.start(ana, "ana", address="203.0.113.9", lifetime_s=600)
    with ana.connect() as conn:
        key = keys.installation_key(conn, keys.SESSION_COOKIE)
        row = conn.execute(sa.text("SELECT address, expires_at - created_at AS ttl, id_hash "
                                   "FROM back_office_sessions")).one()
    ticket = sessions.read(key, cookie, 0)  # signed with the key of migration 016
    assert ticket is not None
    # expires_at is set when the cookie is made, created_at when the row is written (later)
    assert row.address == "203.0.113.9" and 590 <= row.ttl.total_seconds() <= 601
    assert bytes(row.id_hash) == sessions.id_hash(ticket.session_id)
    assert ticket.session_id.encode() not in bytes(row.id_hash)
    assert sessions.user_name(ana, cookie) == "ana"
    assert sessions.user_name(ana, cookie, now_s=ticket.expires_at) is None


def test_the_cookie_expiry_and_the_row_expiry_both_count(ana):
    # Given a cookie whose row says it has expired (a clock moved, a row edited)
    cookie = sessions.start(ana, "ana", lifetime_s=600)
    with ana.begin() as conn:
        conn.execute(sa.text("UPDATE back_office_sessions SET expires_at = now(), "
                             "created_at = now() - interval '1 hour'"))
    # Then it is refused although it verifies, and the next sign-in clears the row
    assert sessions.user_name(ana, cookie) is None
    sessions.start(ana, "ana")
    assert sessions.live_count(ana, "ana") == 1
    with ana.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM back_office_sessions")).scalar() == 1


def test_no_session_for_an_unknown_user(ana):
    assert sessions.start(ana, "nobody") is None


def test_sign_out_ends_only_that_session(ana):
    first, second = sessions.start(ana, "ana"), sessions.start(ana, "ana")
    sessions.end(ana, first)
    assert sessions.user_name(ana, first) is None
    assert sessions.user_name(ana, second) == "ana"
    sessions.end(ana, "v1.not.1.signed")  # a cookie that does not verify ends nothing
    assert sessions.user_name(ana, second) == "ana"


def test_a_new_password_ends_every_session_of_that_user_only(ana):
    make_user(ana, "bruno", accounts.ANALYST)
    anas, brunos = sessions.start(ana, "ana"), sessions.start(ana, "bruno")
    accounts.set_password(ana, "ana", "a different long secret")
    assert sessions.user_name(ana, anas) is None
    assert sessions.user_name(ana, brunos) == "bruno"


def test_removing_a_user_ends_their_sessions(ana):
    cookie = sessions.start(ana, "ana")
    accounts.remove_user(ana, "ana")
    assert sessions.user_name(ana, cookie) is None
    make_user(ana, "ana", accounts.ANALYST)  # the same name again is someone else
    assert sessions.user_name(ana, cookie) is None


def test_end_all_signs_a_user_out_everywhere(ana):
    cookies = [sessions.start(ana, "ana") for _ in range(3)]
    assert sessions.end_all(ana, "ana") == 3
    assert all(sessions.user_name(ana, c) is None for c in cookies)


@pytest.mark.parametrize("role", [connection.READER_ROLE, connection.OPERATOR_ROLE,
                                  connection.BATTERY_ROLE])
def test_no_back_office_role_can_read_or_forge_sessions(ana, database_url, role):
    sessions.start(ana, "ana")
    engine = sa.create_engine(connection.reader_url(database_url, role))
    try:
        for statement in ("SELECT * FROM back_office_sessions",
                          "DELETE FROM back_office_sessions",
                          "INSERT INTO back_office_sessions (id_hash, user_id, expires_at) "
                          "VALUES ('\\x00', 1, now())"):
            with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                         match="permission denied"):
                conn.execute(sa.text("SET TRANSACTION READ WRITE"))  # the reader's default
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()
