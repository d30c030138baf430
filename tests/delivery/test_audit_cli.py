"""The audit trail as a person meets it: every configuration command leaves its row (and no
secret), `brand add` of a taken name changes nothing, `--as` only from an administrator's shell,
`callbacks audit` lists changes and queue actions — in this process (:func:`cli.run_cli`) but
for the OS user's tests, real database."""
from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli import Result, run_cli
from test_cli import callbacks

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
NEW_PASSWORD = "another horse, stapled"
#: Every secret the commands below are given; none may be found in the trail.
SECRETS = {
    "url_password": "url-pass-1234",
    "url_query": "query-secret-77",
    "signing": "whsec_first-signing-secret",
    "signing_next": "whsec_second-signing-secret",
    "test_url_password": "test-url-pass-99",
    "slack": "slack-hook-secret-xyz",
    "password": PASSWORD,
    "new_password": NEW_PASSWORD,
}
BRAND_URL = f"http://ops:{SECRETS['url_password']}@127.0.0.1:9/cb?key={SECRETS['url_query']}"
TEST_URL = f"https://stage.example/cb?pass={SECRETS['test_url_password']}"
SLACK_URL = f"https://hooks.slack.com/services/T000/B000/{SECRETS['slack']}"


def ok(done: Result | subprocess.CompletedProcess) -> Result | subprocess.CompletedProcess:
    assert done.returncode == 0, done.stderr
    return done


def rows(engine, table: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(
            f"SELECT * FROM {table} ORDER BY id"))]


def trail_text(engine) -> str:
    """Every row of both trails, as text."""
    with engine.connect() as conn:
        return "\n".join(conn.execute(sa.text(
            "SELECT row_to_json(t)::text FROM config_changes t UNION ALL "
            "SELECT row_to_json(t)::text FROM actions t")).scalars())


def brand_row(engine, name: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT * FROM brands WHERE name = :n"),
                                 {"n": name}).one()._mapping)


def test_each_command_leaves_its_row_and_no_secret(database_url, clean_db):
    ok(callbacks(database_url, "brand", "add", "acme", "--url", BRAND_URL, "--signing-secret",
                 SECRETS["signing"], "--reason", "new operator"))
    ok(callbacks(database_url, "brand", "set", "acme", "--timeout-s", "3", "--signing-secret",
                 SECRETS["signing_next"], "--reason", "slow platform"))
    ok(callbacks(database_url, "brand", "set-visible-keys", "acme", "lang", "--reason",
                 "lang is no secret"))
    ok(callbacks(database_url, "brand", "set-url", "acme", "http://127.0.0.1:10",
                 "--reason", "platform moved"))
    ok(callbacks(database_url, "user", "add", "ann", "--role", "admin", "--all-brands",
                 "--password-stdin", stdin=PASSWORD + "\n"))
    ok(callbacks(database_url, "user", "passwd", "ann", "--password-stdin",
                 "--reason", "forgotten", stdin=NEW_PASSWORD + "\n"))
    ok(callbacks(database_url, "brand", "test-url", "add", "acme", TEST_URL))
    ok(callbacks(database_url, "brand", "test-url", "remove", "acme", TEST_URL))
    ok(callbacks(database_url, "alert", "url", "add", SLACK_URL))
    ok(callbacks(database_url, "alert", "rule", "set", "failure_rate", "--threshold", "10%",
                 "--brand", "acme", "--reason", "tighter"))
    ok(callbacks(database_url, "alert", "rule", "set", "money_at_risk", "--threshold", "5000"))
    ok(callbacks(database_url, "alert", "rule", "unset", "failure_rate", "--brand", "acme"))
    ok(callbacks(database_url, "alert", "url", "remove", "1"))
    ok(callbacks(database_url, "user", "remove", "ann", "--reason", "left"))

    listed = json.loads(ok(callbacks(database_url, "audit", "--json")).stdout)
    assert [e["kind"] for e in listed] == [
        "user.remove", "alert_url.remove", "alert_rule.unset", "alert_rule.set",
        "alert_rule.set", "alert_url.add", "test_url.remove", "test_url.add", "user.passwd",
        "user.add", "brand.set_url", "brand.set_visible_keys", "brand.set", "brand.add"]
    me = pwd.getpwuid(os.geteuid()).pw_name
    assert {(e["actor"], e["os_user"]) for e in listed} == {(me, me)}
    by_kind = {e["kind"]: e for e in listed}
    assert by_kind["brand.set"]["before"] == {"timeout_s": 10.0, "signing_secret": "***"}
    assert by_kind["brand.set"]["after"] == {"timeout_s": 3.0, "signing_secret": "*** (changed)"}
    assert by_kind["brand.set_visible_keys"]["after"] == {"visible_keys": ["lang"]}
    assert by_kind["brand.add"]["after"]["url_credentials"] is True
    assert by_kind["brand.set"]["reason"] == "slow platform"
    assert by_kind["brand.set_url"]["before"] == {"base_url": "http://127.0.0.1:9/cb?key=***"}
    assert by_kind["user.passwd"]["before"] == {"password": "***"}
    assert by_kind["user.passwd"]["after"] == {"password": "*** (changed)"}
    assert by_kind["user.remove"]["before"]["role"] == "admin"
    assert by_kind["test_url.add"]["subject"] == "https://stage.example/cb?pass=***"
    assert by_kind["alert_url.add"]["after"] == {"url": "https://hooks.slack.com/***"}
    assert by_kind["alert_rule.unset"]["brand"] == "acme"
    assert [e["brand"] for e in listed if e["kind"] == "alert_rule.set"] == [None, "acme"]

    # No secret anywhere: not in the tables, not in what `callbacks audit` prints.
    shown = trail_text(clean_db) + json.dumps(listed) + callbacks(database_url, "audit").stdout
    assert "$argon2" not in shown
    assert not [name for name, secret in SECRETS.items() if secret in shown]


def test_brand_add_of_a_taken_name_refuses_and_changes_nothing(database_url, clean_db):
    ok(callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9",
                 "--timeout-s", "7"))
    before, trail = brand_row(clean_db, "acme"), rows(clean_db, "config_changes")
    done = callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:10",
                     "--timeout-s", "2", "--reason", "oops")
    assert done.returncode == 2
    assert "brand 'acme' exists already; nothing was changed" in done.stderr
    assert "callbacks brand set-url acme URL --reason TEXT" in done.stderr
    assert "callbacks brand set acme" in done.stderr
    assert brand_row(clean_db, "acme") == before
    assert rows(clean_db, "config_changes") == trail


def test_brand_set_needs_a_reason_and_a_setting(database_url, clean_db):
    ok(callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9"))
    no_reason = callbacks(database_url, "brand", "set", "acme", "--timeout-s", "3")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    nothing = callbacks(database_url, "brand", "set", "acme", "--reason", "why not")
    assert nothing.returncode == 2 and "give at least one setting" in nothing.stderr
    assert "callbacks brand set-url acme" in nothing.stderr
    same = ok(callbacks(database_url, "brand", "set", "acme", "--timeout-s", "10",
                        "--reason", "no-op"))
    assert "nothing was changed" in same.stdout
    assert [r["kind"] for r in rows(clean_db, "config_changes")] == ["brand.add"]


# --- who acts -------------------------------------------------------------------------------

@functools.cache
def _other_shell() -> tuple[list[str], dict, int | None, str]:
    """How to run the command line as an OS user that is not root: ``(python, env, uid,
    name)``. As root, the ``nobody`` account (with an interpreter it may execute); otherwise
    this very user, which is no administrator unless CALLBACKS_ADMINS names it."""
    if os.geteuid() != 0:
        return [sys.executable], {}, None, pwd.getpwuid(os.geteuid()).pw_name
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' account to run a non-administrator's shell as")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, shutil.which(version), f"/usr/bin/{version}"):
        if not python or not os.path.exists(python):
            continue
        env = {"PYTHONPATH": os.pathsep.join([str(ROOT)] + site.getsitepackages()),
               "HOME": "/tmp"}
        try:
            probe = subprocess.run([python, "-c", "import sqlalchemy, argon2, psycopg2"],
                                   user=nobody.pw_uid, group=nobody.pw_gid, env=env, cwd=ROOT,
                                   capture_output=True, timeout=60)
        except OSError:  # an interpreter under a folder only root may enter
            continue
        if probe.returncode == 0:
            return [python], env, nobody.pw_uid, "nobody"
    pytest.skip("no Python interpreter the 'nobody' account may run with these packages")


def as_admin(database_url, *args) -> Result:
    """The command line from an administrator's shell: this user, listed in CALLBACKS_ADMINS
    (root is one anyway); in this process, as the OS user is this process's."""
    return run_cli(*args, cwd=ROOT, env={
        "DATABASE_URL": database_url, "CALLBACKS_ADMINS": pwd.getpwuid(os.geteuid()).pw_name})


def as_other_user(database_url, *args, admins: str = "") -> subprocess.CompletedProcess:
    """The command line from a shell that is not an administrator's: a real process, as the OS
    user it runs as (``nobody`` when the tests run as root) is what these tests are about."""
    python, extra, uid, _ = _other_shell()
    env = {k: v for k, v in os.environ.items() if k != "CALLBACKS_ADMINS"}
    env.update(extra, DATABASE_URL=database_url)
    if admins:
        env["CALLBACKS_ADMINS"] = admins
    kwargs = {} if uid is None else {"user": uid, "group": pwd.getpwuid(uid).pw_gid}
    return subprocess.run([*python, "-m", "callbacks", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, **kwargs)


@pytest.mark.slow
def test_as_is_refused_outside_an_administrators_shell(database_url, clean_db):
    ok(callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9"))
    ok(callbacks(database_url, "user", "add", "ann", "--role", "admin", "--all-brands",
                 "--password-stdin", stdin=PASSWORD))
    before = rows(clean_db, "config_changes")
    for args in (["brand", "set", "acme", "--timeout-s", "4", "--reason", "r", "--as", "ann"],
                 ["brand", "set-url", "acme", "http://127.0.0.1:10", "--reason", "r",
                  "--as", "ann"],
                 ["user", "remove", "ann", "--as", "ann"]):
        done = as_other_user(database_url, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "--as is accepted only from an administrator's shell" in done.stderr, args
    assert rows(clean_db, "config_changes") == before and rows(clean_db, "actions") == []
    assert brand_row(clean_db, "acme")["timeout_s"] == 10


@pytest.mark.slow
def test_as_is_recorded_beside_the_os_user_when_allowed(database_url, clean_db):
    ok(callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9"))
    ok(callbacks(database_url, "user", "add", "ann", "--role", "admin", "--all-brands",
                 "--password-stdin", stdin=PASSWORD))
    other = _other_shell()[3]
    # An OS user listed in CALLBACKS_ADMINS may name a back-office user...
    ok(as_other_user(database_url, "brand", "set", "acme", "--timeout-s", "4", "--reason",
                     "r", "--as", "ann", admins=f"someone, {other}"))
    # ...and anyone may act as themselves.
    ok(as_other_user(database_url, "brand", "set", "acme", "--timeout-s", "5", "--reason", "r"))
    # An administrator's --as must name a back-office user.
    ghost = as_admin(database_url, "brand", "set", "acme", "--timeout-s", "6", "--reason", "r",
                     "--as", "ghost")
    assert ghost.returncode == 2 and "'ghost' is not a back-office user" in ghost.stderr
    ok(as_admin(database_url, "brand", "set-url", "acme", "http://127.0.0.1:10", "--reason",
                "moved", "--as", "ann"))
    me = pwd.getpwuid(os.geteuid()).pw_name
    changed = [(r["actor"], r["os_user"]) for r in rows(clean_db, "config_changes")
               if r["kind"] == "brand.set"]
    assert changed == [("ann", other), (other, other)]
    assert [(r["actor"], r["os_user"]) for r in rows(clean_db, "actions")] == [("ann", me)]


# --- the listing ----------------------------------------------------------------------------

def test_audit_lists_since_a_time_per_brand_with_clear_errors(database_url, clean_db):
    ok(callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9"))
    ok(callbacks(database_url, "brand", "add", "zeta", "--url", "http://127.0.0.1:9"))
    ok(callbacks(database_url, "alert", "rule", "set", "money_at_risk", "--threshold", "5000"))
    with clean_db.begin() as conn:  # a change made ten days ago
        conn.execute(sa.text(
            "INSERT INTO config_changes (kind, actor, os_user, source, brand_id, subject, "
            "after, created_at) SELECT 'brand.set', 'old', 'old', 'cli', id, name, "
            "'{\"timeout_s\": 1}', now() - interval '10 days' FROM brands WHERE name = 'acme'"))

    def kinds(*args):
        return [(e["kind"], e["brand"]) for e in json.loads(
            ok(callbacks(database_url, "audit", "--json", *args)).stdout)]

    recent = [("alert_rule.set", None), ("brand.add", "zeta"), ("brand.add", "acme")]
    assert kinds("--since", "7d") == recent
    assert kinds("--since", "24h", "--brand", "acme") == [("brand.add", "acme")]
    assert kinds("--since", "2000-01-01") == recent + [("brand.set", "acme")]
    assert kinds("--limit", "1") == recent[:1]
    for args, message in [(["--since", "last week"], "is not a time"),
                          (["--since", "2999-01-01"], "is in the future"),
                          (["--brand", "ghost"], "no brand named 'ghost'"),
                          (["--limit", "0"], "--limit must be 1 to")]:
        done = callbacks(database_url, "audit", *args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    text = ok(callbacks(database_url, "audit", "--brand", "acme")).stdout
    assert "brand.add" in text and "set base_url=http://127.0.0.1:9" in text


def test_the_demo_adds_its_brands_once_and_records_later_runs(clean_db):
    from callbacks import demo

    demo.register_brand(clean_db, "healthy", "http://127.0.0.1:9", dict(timeout_s=5.0))
    demo.register_brand(clean_db, "healthy", "http://127.0.0.1:10", dict(timeout_s=5.0))
    assert brand_row(clean_db, "healthy")["base_url"] == "http://127.0.0.1:10"
    trail = rows(clean_db, "config_changes")
    assert [r["kind"] for r in trail] == ["brand.add", "brand.set"]
    assert trail[1]["after"] == {"base_url": "http://127.0.0.1:10"}
    assert trail[1]["reason"] == demo.DEMO_REASON


# --- the one writer -------------------------------------------------------------------------

def test_record_masks_named_secrets_and_refuses_a_row_holding_one(clean_db):
    from delivery import audit

    ann = audit.Actor("ann", "root")
    with clean_db.begin() as conn:  # how `api-token create` records its token
        audit.record(conn, actor=ann, kind="api_token.create", brand_id=None, subject="ci",
                     after={"brands": ["acme"], "token_hash": "9f86d081884c7d65"},
                     reason="pipeline", secrets=("tok_live_abcdef",))
    [row] = rows(clean_db, "config_changes")
    assert row["after"] == {"brands": ["acme"], "token_hash": "***"}
    with pytest.raises(ValueError, match="would hold a secret"), clean_db.begin() as conn:
        audit.record(conn, actor=ann, kind="api_token.create", brand_id=None, subject="ci",
                     after={"note": "tok_live_abcdef"}, secrets=("tok_live_abcdef",))
    assert len(rows(clean_db, "config_changes")) == 1


def test_the_trail_is_append_only(clean_db):
    from delivery import audit

    with clean_db.begin() as conn:
        audit.record(conn, actor=audit.Actor("ann", "root"), kind="user.remove", brand_id=None,
                     subject="bob", before={"role": "analyst"})
    for statement in ("UPDATE config_changes SET actor = 'someone else'",
                      "DELETE FROM config_changes"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), clean_db.begin() as conn:
            conn.execute(sa.text(statement))
    assert [r["actor"] for r in rows(clean_db, "config_changes")] == ["ann"]


def test_api_tokens_and_visible_keys_are_recorded_without_the_token(database_url, clean_db):
    ok(callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9"))
    made = ok(callbacks(database_url, "api-token", "create", "--name", "risk", "--brand", "acme",
                        "--read-only", "--reason", "risk service reads bets"))
    token = made.stdout.strip()
    ok(callbacks(database_url, "api-token", "create", "--name", "ops", "--all-brands"))
    ok(callbacks(database_url, "api-token", "revoke", "risk", "--reason", "service retired"))

    listed = json.loads(ok(callbacks(database_url, "audit", "--json")).stdout)
    tokens = [e for e in listed if e["kind"].startswith("api_token.")]
    assert [(e["kind"], e["subject"], e["brand"]) for e in tokens] == [
        ("api_token.revoke", "risk", "acme"), ("api_token.create", "ops", None),
        ("api_token.create", "risk", "acme")]
    assert tokens[2]["after"] == {"all_brands": False, "brands": ["acme"], "read_only": True}
    assert tokens[2]["reason"] == "risk service reads bets"
    assert tokens[0]["before"]["brands"] == ["acme"]
    assert token and token not in trail_text(clean_db) + json.dumps(listed)
