"""The brand scope is proved to PostgreSQL, not claimed: a session of any back-office role that
runs arbitrary SQL sees only the brands of a scope signed with the owner's key, for its own
connection, while it is valid. Each check is paired with the signed scope that does open the
rows, so none of them can pass by seeing nothing at all."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from scopes import set_scope, statement

from dashboard import connection

ROLES = ("callbacks_reader", "callbacks_operator", "callbacks_battery")


@pytest.fixture(scope="module")
def two_brands(engine):
    """Brands alpha and bravo, a bet each, and a user with a password hash."""
    from databases import empty
    empty(engine)
    with engine.begin() as conn:
        ids = {}
        for name in ("alpha", "bravo"):
            ids[name] = conn.execute(sa.text(
                "INSERT INTO brands (name, base_url, retry_schedule_s, timeout_s, max_in_flight)"
                " VALUES (:n, 'http://127.0.0.1:9/cb', '{0}', 1, 1) RETURNING id"),
                {"n": name}).scalar_one()
            conn.execute(sa.text("INSERT INTO bets (brand_id, bet_id, status) "
                                 "VALUES (:b, :bet, 'PLACED')"),
                         # a bet the battery role may see too
                         {"b": ids[name], "bet": f"it01-{name}"})
        conn.execute(sa.text("INSERT INTO users (name, role, all_brands, password_hash) "
                             "VALUES ('ana', 'admin', true, '$argon2id$v=19$secret-hash')"))
    yield ids
    empty(engine)


@pytest.fixture(params=ROLES)
def role(request, database_url):
    """An engine logged in as one back-office role, with no help from the dashboard."""
    url = sa.make_url(database_url).set(username=request.param, password=None)
    role_engine = sa.create_engine(url)
    yield role_engine
    role_engine.dispose()


def _bets(conn) -> list[str]:
    return sorted(conn.execute(sa.text("SELECT bet_id FROM bets")).scalars())


def test_a_signed_scope_shows_its_brands_and_only_them(engine, two_brands, role):
    with role.begin() as conn:
        set_scope(engine, conn, str(two_brands["alpha"]))
        assert _bets(conn) == ["it01-alpha"]
    with role.begin() as conn:
        set_scope(engine, conn, "*")
        assert _bets(conn) == ["it01-alpha", "it01-bravo"]
    with role.begin() as conn:
        assert _bets(conn) == []


@pytest.mark.parametrize("setting, value", [
    ("callbacks.brands", "*"),                  # the setting the policies used to trust
    ("callbacks.scope", "*"),
    ("callbacks.scope", "v1;{pid};9999999999;*;" + "0" * 64),   # well formed, wrong signature
])
def test_setting_a_scope_by_hand_shows_nothing(engine, two_brands, role, setting, value):
    with role.connect() as conn:
        pid = conn.connection.dbapi_connection.get_backend_pid()
        conn.execute(sa.text("SELECT set_config(:s, :v, false)"),
                     {"s": setting, "v": value.format(pid=pid)})
        assert _bets(conn) == []
        assert conn.execute(sa.text("SELECT back_office_scope()")).scalar() == ""


def test_a_scope_edited_to_widen_it_shows_nothing(engine, two_brands, role):
    with role.begin() as conn:
        signed = statement(engine, conn, str(two_brands["alpha"]))
        widened = signed.replace(f";{two_brands['alpha']};", ";*;")
        assert widened != signed
        conn.execute(sa.text("SELECT set_config('callbacks.scope', :v, true)"), {"v": widened})
        assert _bets(conn) == []


def test_an_expired_scope_shows_nothing(engine, two_brands, role):
    with role.begin() as conn:
        old = statement(engine, conn, "*", now_s=time.time() - connection.SCOPE_TTL_S - 5)
        conn.execute(sa.text("SELECT set_config('callbacks.scope', :v, true)"), {"v": old})
        assert _bets(conn) == []


def test_a_scope_seen_in_another_session_is_useless_there(engine, two_brands, role):
    """pg_stat_activity shows a session's last statement to others of its role: a scope read
    there was signed for that session's connection, not the reader's."""
    victim, thief = role.connect(), role.connect()
    try:
        with victim.begin():
            set_scope(engine, victim, "*")
            assert len(_bets(victim)) == 2
            victim.exec_driver_sql("SELECT current_setting('callbacks.scope')")
            seen = thief.execute(sa.text(
                "SELECT query FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": victim.connection.dbapi_connection.get_backend_pid()}).scalar_one()
            stolen = victim.exec_driver_sql(
                "SELECT current_setting('callbacks.scope')").scalar_one()
            assert "current_setting" in seen  # the thief can watch the victim's statements
            thief.execute(sa.text("SELECT set_config('callbacks.scope', :v, false)"),
                          {"v": stolen})
            assert _bets(thief) == []
    finally:
        victim.close()
        thief.close()


@pytest.mark.parametrize("attempt", [
    "SET ROLE postgres",
    "SET SESSION AUTHORIZATION postgres",
    "SELECT name, password_hash FROM users",
    "SELECT * FROM user_brands",
    "SELECT password_hash FROM back_office_account('ana')",
    "SELECT secret FROM installation_keys",
    "SELECT installation_key('back_office_scope')",
])
def test_no_role_can_become_the_owner_or_read_accounts_and_keys(two_brands, role, attempt):
    with role.connect() as conn:
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(attempt))


def test_the_owner_still_reads_accounts_for_sign_in(engine, two_brands):
    with engine.connect() as conn:
        found = conn.execute(sa.text(
            "SELECT role, password_hash FROM back_office_account('ana')")).one()
    assert found == ("admin", "$argon2id$v=19$secret-hash")


def test_the_operator_changes_only_the_brands_of_its_scope(engine, two_brands, database_url):
    url = sa.make_url(database_url).set(username="callbacks_operator", password=None)
    operator = sa.create_engine(url)
    try:
        for scope, changed in ((str(two_brands["alpha"]), ["alpha"]), ("", []),
                               ("*", ["alpha", "bravo"])):
            with operator.begin() as conn:
                set_scope(engine, conn, scope)
                names = conn.execute(sa.text(
                    "UPDATE brands SET base_url = 'http://127.0.0.1:8/cb' RETURNING name"))
                assert sorted(names.scalars()) == changed
                conn.rollback()
            with operator.begin() as conn:  # a forged scope changes nothing
                conn.execute(sa.text("SELECT set_config('callbacks.brands', '*', true)"))
                assert conn.execute(sa.text(
                    "UPDATE brands SET base_url = 'http://x/' RETURNING name")).all() == []
    finally:
        operator.dispose()
