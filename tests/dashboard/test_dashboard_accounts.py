"""Accounts without Streamlit: roles and what they may do, argon2 hashes, the throttle of failed
sign-ins (with a clock the test moves), and the store on the real database."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard import accounts
from dashboard.accounts import ADMIN, ANALYST, INTEGRATION_MANAGER, Throttle, User
from delivery import store
from delivery.errors import InvalidInput


@pytest.mark.parametrize("role, battery, act", [
    (ANALYST, False, False), (INTEGRATION_MANAGER, True, True), (ADMIN, True, True),
])
def test_what_each_role_may_do(role, battery, act):
    user = User("u", role, frozenset({"alpha"}))
    assert accounts.can(user, "run_battery") is battery
    assert accounts.can(user, "act") is act


def test_no_one_signed_in_may_do_nothing_and_a_typo_is_an_error():
    assert not accounts.can(None, "run_battery")
    with pytest.raises(ValueError, match="unknown action"):
        accounts.can(User("u", ADMIN, None), "run-battery")


def test_brands_none_means_every_brand():
    assert User("u", ADMIN, None).sees("anything")
    assert not User("u", ANALYST, frozenset({"alpha"})).sees("beta")


def test_passwords_are_argon2_hashes_that_verify_only_the_password():
    hashed = accounts.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$") and "correct" not in hashed
    assert accounts.verify_password(hashed, "correct horse battery")
    assert not accounts.verify_password(hashed, "correct horse batterY")
    assert not accounts.verify_password(None, "not a password of anyone")
    assert not accounts.verify_password("garbage", "x")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_throttle_lets_a_few_failures_pass_then_doubles_the_wait():
    clock = Clock()
    throttle = Throttle(free=3, max_wait_s=60, clock=clock)
    for _ in range(3):
        assert throttle.wait_s(["ana"]) == 0
        throttle.failed(["ana"])
    assert throttle.wait_s(["ana"]) == 1  # 4th failure onwards: 1, 2, 4 ... s
    clock.now += 1
    assert throttle.wait_s(["ana"]) == 0
    throttle.failed(["ana"])
    assert throttle.wait_s(["ana"]) == 2
    for _ in range(10):
        throttle.failed(["ana"])
    assert throttle.wait_s(["ana"]) == 60  # capped
    assert throttle.wait_s(["bruno"]) == 0  # other names are not slowed
    assert throttle.wait_s(["bruno", "ana"]) == 60  # any key that must wait, waits


def test_throttle_forgets_after_a_quiet_hour_and_on_success():
    clock = Clock()
    throttle = Throttle(free=1, forget_s=3600, clock=clock)
    throttle.failed(["ana"])
    throttle.failed(["ana"])
    assert throttle.wait_s(["ana"]) > 0
    clock.now += 3600
    assert throttle.wait_s(["ana"]) == 0
    throttle.failed(["ana"])
    throttle.failed(["ana"])
    throttle.succeeded(["ana"])
    assert throttle.wait_s(["ana"]) == 0


def test_store_adds_reads_and_refuses_clearly(clean_db):
    store.add_brand(clean_db, "alpha", "http://127.0.0.1:9")
    store.add_brand(clean_db, "beta", "http://127.0.0.1:9")
    accounts.add_user(clean_db, "ana", ANALYST, brands=["alpha", "beta"], password="x" * 12,
                      email="Ana@Example.com")
    with clean_db.connect() as conn:
        user, hashed = accounts.account(conn, "ana")
        assert accounts.account(conn, "ana@example.com", by_email=True)[0].name == "ana"
        assert accounts.account(conn, "nobody") is None
    assert user.brands == {"alpha", "beta"} and len(user.brand_ids) == 2
    assert accounts.verify_password(hashed, "x" * 12)
    with pytest.raises(InvalidInput, match="exists already"):
        accounts.add_user(clean_db, "ana", ANALYST, brands=["alpha"], password="x" * 12)
    with pytest.raises(InvalidInput, match="no brand called 'gamma'"):
        accounts.add_user(clean_db, "bo", ANALYST, brands=["gamma"], password="x" * 12)
    with pytest.raises(InvalidInput, match="at least one --brand"):
        accounts.add_user(clean_db, "bo", ANALYST, password="x" * 12)
    with pytest.raises(InvalidInput, match="role 'boss'"):
        accounts.add_user(clean_db, "bo", "boss", all_brands=True, password="x" * 12)
    with pytest.raises(InvalidInput, match="at least 10 characters"):
        accounts.add_user(clean_db, "bo", ANALYST, all_brands=True, password="short")
    with pytest.raises(InvalidInput, match="belongs to user 'ana'"):
        accounts.add_user(clean_db, "bo", ANALYST, all_brands=True, email="ana@example.COM")
    with pytest.raises(InvalidInput, match="user name 'bo bo'"):
        accounts.add_user(clean_db, "bo bo", ANALYST, all_brands=True, password="x" * 12)
    with pytest.raises(accounts.UnknownUser):
        accounts.remove_user(clean_db, "bo")
    assert [u["name"] for u in accounts.list_users(clean_db)] == ["ana"]
    accounts.remove_user(clean_db, "ana")


def test_only_the_owner_reads_accounts(clean_db, database_url):
    from dashboard import connection

    accounts.add_user(clean_db, "ana", ANALYST, all_brands=True, password="x" * 12)
    reader = sa.create_engine(connection.reader_url(database_url))
    try:
        with clean_db.connect() as conn:
            user, password_hash = accounts.account(conn, "ana")
            assert user.brands is None and password_hash.startswith("$argon2")
        for statement in ("SELECT * FROM users", "SELECT * FROM user_brands",
                          "SELECT * FROM back_office_account('ana')"):
            with reader.connect() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                         match="permission denied"):
                conn.execute(sa.text(statement))
    finally:
        reader.dispose()
        accounts.remove_user(clean_db, "ana")
