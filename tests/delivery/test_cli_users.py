"""`callbacks user add|list|remove|passwd` as an administrator runs them: in this process
(:func:`cli.run_cli`), real database. Passwords come from standard input (--password-stdin) or
a terminal, never an argument, and are stored as argon2 hashes."""
import json

import sqlalchemy as sa
from test_cli import callbacks

from users import sessions

PASSWORD = "correct horse battery"


def _hash_of(engine, name):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT password_hash FROM users WHERE name = :n"),
                            {"n": name}).scalar()


def test_add_list_passwd_remove(database_url, clean_db):
    for brand in ("alpha", "beta"):
        callbacks(database_url, "brand", "add", brand, "--url", "http://127.0.0.1:9")
    # Given an analyst of two brands and an admin of all, added with passwords on stdin
    added = callbacks(database_url, "user", "add", "ana", "--role", "analyst", "--brand",
                      "alpha", "--brand", "beta", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "user ana added: analyst, alpha, beta" in added.stdout
    assert PASSWORD not in added.stdout + added.stderr
    assert callbacks(database_url, "user", "add", "root", "--role", "admin", "--all-brands",
                     "--password-stdin", stdin=PASSWORD).returncode == 0
    assert _hash_of(clean_db, "ana").startswith("$argon2id$")
    # When they are listed
    listed = json.loads(callbacks(database_url, "user", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["brands"]) for u in listed] == [
        ("ana", "analyst", ["alpha", "beta"]), ("root", "admin", None)]
    assert "password_hash" not in listed[0]
    text = callbacks(database_url, "user", "list").stdout
    assert "ana" in text and "all brands" in text
    # A new password replaces the hash and ends ana's sessions
    ended = sessions.start(clean_db, "ana")
    before = _hash_of(clean_db, "ana")
    changed = callbacks(database_url, "user", "passwd", "ana", "--password-stdin",
                        stdin="another long password\n")
    assert changed.returncode == 0 and _hash_of(clean_db, "ana") != before
    assert sessions.user_name(clean_db, ended) is None
    # Signed out everywhere without a new password
    laptops = [sessions.start(clean_db, "ana") for _ in range(2)]
    signed_out = callbacks(database_url, "user", "sign-out", "ana")
    assert signed_out.returncode == 0 and "2 session(s) of ana ended" in signed_out.stdout
    assert all(sessions.user_name(clean_db, c) is None for c in laptops)
    with clean_db.connect() as conn:  # an administrator's act, in the audit trail
        assert conn.execute(sa.text(
            "SELECT after FROM config_changes WHERE kind = 'user.sign_out'")).scalar_one() == \
            {"sessions_ended": 2}
    # Removed users are gone, and so are their sessions
    ended = sessions.start(clean_db, "ana")
    assert callbacks(database_url, "user", "remove", "ana").returncode == 0
    assert sessions.user_name(clean_db, ended) is None
    assert [u["name"] for u in json.loads(
        callbacks(database_url, "user", "list", "--json").stdout)] == ["root"]


def test_mistakes_are_errors_that_say_what_to_do(database_url, clean_db):
    callbacks(database_url, "brand", "add", "alpha", "--url", "http://127.0.0.1:9")
    callbacks(database_url, "user", "add", "ana", "--role", "analyst", "--brand", "alpha",
              "--password-stdin", stdin=PASSWORD)
    cases = [
        (["add", "ana", "--role", "admin", "--all-brands", "--password-stdin"], PASSWORD,
         "user 'ana' exists already"),
        (["add", "bo", "--role", "analyst", "--brand", "gamma", "--password-stdin"], PASSWORD,
         "no brand called 'gamma'; `callbacks brand list` shows the brands"),
        (["add", "bo", "--role", "analyst", "--brand", "alpha", "--password-stdin"], "short",
         "at least 10 characters"),
        (["add", "bo", "--role", "analyst", "--brand", "alpha", "--password-stdin"], "",
         "--password-stdin read no password"),
        (["add", "bo", "--role", "analyst", "--brand", "alpha", "--password-stdin"],
         "Password123", "on the list of the most common passwords"),
        (["add", "bobby", "--role", "analyst", "--brand", "alpha", "--password-stdin"],
         "hello Bobby 2026", "must not contain the user name ('bobby')"),
        (["passwd", "ana", "--password-stdin"], "qwertyuiop", "most common passwords"),
        (["passwd", "ana", "--password-stdin"], "ana-2026-spring", "must not contain the user"),
        (["add", "bo", "--role", "analyst", "--brand", "alpha"], PASSWORD,
         "no terminal to ask for the password on; pipe it in with --password-stdin"),
        (["add", "bo", "--role", "analyst", "--brand", "alpha", "--no-password"], None,
         "--no-password needs --email"),
        (["remove", "nobody"], None, "no back-office user called 'nobody'"),
        (["sign-out", "nobody"], None, "no back-office user called 'nobody'"),
        (["passwd", "nobody", "--password-stdin"], PASSWORD,
         "no back-office user called 'nobody'"),
    ]
    for args, stdin, message in cases:
        done = callbacks(database_url, "user", *args, stdin=stdin)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("error: ") and message in done.stderr, (args, done.stderr)
    assert [u["name"] for u in json.loads(
        callbacks(database_url, "user", "list", "--json").stdout)] == ["ana"]
    # argparse refuses a role that does not exist, and --brand with --all-brands
    assert callbacks(database_url, "user", "add", "bo", "--role", "boss", "--all-brands"
                     ).returncode == 2
    assert callbacks(database_url, "user", "add", "bo", "--role", "admin", "--all-brands",
                     "--brand", "alpha").returncode == 2


def test_an_oidc_only_user_has_an_email_and_no_password(database_url, clean_db):
    done = callbacks(database_url, "user", "add", "dora", "--role", "admin", "--all-brands",
                     "--email", "dora@example.com", "--no-password")
    assert done.returncode == 0, done.stderr
    assert "OIDC sign-in only" in done.stdout and _hash_of(clean_db, "dora") is None
