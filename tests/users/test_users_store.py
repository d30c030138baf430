"""Accounts without Streamlit: roles and what they may do, argon2 hashes, the throttle of failed
sign-ins (with a clock the test moves), and the store on the real database."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from delivery import brands
from delivery.errors import InvalidInput
from users import store as accounts
from users.store import ADMIN, ANALYST, INTEGRATION_MANAGER, Throttle, User


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


@pytest.mark.parametrize("password", [
    "1234567890", "qwertyuiop", "Password123", "PASSWORD123", "1q2w3e4r5t", "liverpool1",
    "basketball", "Qwerty 12345",
])
def test_the_most_common_passwords_are_refused_in_any_case(password):
    with pytest.raises(InvalidInput, match="most common passwords"):
        accounts.check_password_rules(password, name="ana")


def test_the_common_list_ships_with_the_code_and_names_its_sources():
    listed = accounts.common_passwords()
    assert 2000 < len(listed) < 10_000
    assert all(len(p) >= accounts.MIN_PASSWORD_LENGTH and p == p.lower() for p in listed)
    header = accounts.COMMON_PASSWORDS_FILE.read_text().split("\n", 12)[:12]
    assert any("zxcvbn" in line for line in header) and any("Django" in line for line in header)


@pytest.mark.parametrize("name, email, password, part", [
    ("ana.silva", None, "my-ana.silva-secret", "user name"),
    ("ana.silva", None, "MY-ANA.SILVA-SECRET", "user name"),
    ("Bruno", None, "xxbrunoxx-long", "user name"),
    ("ops1", "carla.m@example.com", "carla.m likes tea", "e-mail address"),
])
def test_a_password_containing_the_user_name_is_refused(name, email, password, part):
    with pytest.raises(InvalidInput, match=f"must not contain the {part}"):
        accounts.check_password_rules(password, name=name, email=email)


def test_acceptable_passwords_pass():
    for password in ("correct horse battery", "totally calm river 9", "x7#Lq2!vRm0pZ"):
        accounts.check_password_rules(password, name="al", email="al@example.com")
    # a short name inside a word is a coincidence, not a hint
    accounts.check_password_rules("totally calm river", name="al")


def test_the_cli_paths_apply_the_rules_with_the_users_name(clean_db):
    brands.add_brand(clean_db, "alpha", "http://127.0.0.1:9")
    with pytest.raises(InvalidInput, match="must not contain the user name"):
        accounts.add_user(clean_db, "dora", ANALYST, all_brands=True,
                          password="dora-and-the-sea")
    with pytest.raises(InvalidInput, match="must not contain the e-mail address"):
        accounts.add_user(clean_db, "ops7", ANALYST, all_brands=True,
                          password="i-am-dora.v on call", email="dora.v@example.com")
    accounts.add_user(clean_db, "dora", ANALYST, all_brands=True, password="x" * 12)
    with pytest.raises(InvalidInput, match="most common passwords"):
        accounts.set_password(clean_db, "dora", "password123")
    with pytest.raises(InvalidInput, match="must not contain the user name"):
        accounts.set_password(clean_db, "dora", "new DORA password")
    with pytest.raises(accounts.UnknownUser):
        accounts.set_password(clean_db, "nobody", "a fine long secret")


def test_a_flood_of_made_up_names_keeps_the_throttle_small_and_the_newest_counts():
    clock = Clock()
    throttle = Throttle(free=1, max_keys=100, clock=clock)
    throttle.failed(["old"])
    clock.now += 4000  # quiet for longer than forget_s: the first to go
    for i in range(150):
        clock.now += 1
        throttle.failed([f"made-up-{i}"])
        throttle.failed([f"made-up-{i}"])
    assert len(throttle._failures) <= 100
    assert throttle.wait_s(["made-up-149"]) > 0  # the newest are still slowed
    assert throttle.wait_s(["old"]) == 0


def test_throttle_keys_pair_the_folded_name_with_the_address():
    assert accounts.throttle_keys(" Ana ", "10.0.0.1") == ("ana\x0010.0.0.1", "10.0.0.1")
    assert accounts.throttle_keys("ana", None) == ("ana\x00unknown", "unknown")
    assert accounts.throttle_keys("ana", "10.0.0.1")[0] != accounts.throttle_keys(
        "ana", "10.0.0.2")[0]


def test_failures_from_one_address_do_not_slow_the_same_name_elsewhere():
    clock = Clock()
    throttle = accounts.SignInThrottle(per_pair=Throttle(free=5, clock=clock),
                                       per_address=Throttle(free=20, clock=clock))
    # Given a stranger failing ana's password many times from their own address
    for _ in range(12):
        throttle.failed("ana", "198.51.100.7")
    # Then the stranger waits, and ana from her office does not
    assert throttle.wait_s("ana", "198.51.100.7") > 0
    assert throttle.wait_s("ANA", "203.0.113.5") == 0
    # and a right password from the office clears nothing of the stranger's count
    throttle.succeeded("ana", "203.0.113.5")
    assert throttle.wait_s("ana", "198.51.100.7") > 0


def test_spraying_many_names_from_one_address_is_slowed_by_the_looser_limit():
    clock = Clock()
    throttle = accounts.SignInThrottle(per_pair=Throttle(free=5, clock=clock),
                                       per_address=Throttle(free=20, clock=clock))
    for i in range(20):
        assert throttle.wait_s(f"user{i}", "198.51.100.7") == 0
        throttle.failed(f"user{i}", "198.51.100.7")
    assert throttle.wait_s("user99", "198.51.100.7") > 0  # a name never tried waits too
    assert throttle.wait_s("user99", "203.0.113.5") == 0
    # a success clears its own pair but not the address's count
    clock.now += 1000
    throttle.succeeded("user3", "198.51.100.7")
    throttle.failed("user3", "198.51.100.7")
    assert throttle.wait_s("user3", "198.51.100.7") > 0


def test_the_default_limits_are_five_per_pair_and_twenty_per_address():
    throttle = accounts.SignInThrottle()
    assert throttle.per_pair.free == accounts.FREE_TRIES_PER_NAME_AND_ADDRESS == 5
    assert throttle.per_address.free == accounts.FREE_TRIES_PER_ADDRESS == 20


def test_store_adds_reads_and_refuses_clearly(clean_db):
    brands.add_brand(clean_db, "alpha", "http://127.0.0.1:9")
    brands.add_brand(clean_db, "beta", "http://127.0.0.1:9")
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
