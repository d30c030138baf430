"""Masking by default: every Foreign-Params value is masked at any depth unless its key is
declared visible for the brand; a masked value is a keyed fingerprint (``***#a1b2``) that shows no
character of the secret; answers that echo the session are masked too; the request that goes
out is unchanged. The SQL of migration 018 (which masks the history stored before) gives the
same fingerprints and the same masks as the Python rules."""
from __future__ import annotations

import json
import re

import httpx
import pytest
import sqlalchemy as sa
from factories import PAYLOADS, SECRET_SESSION, SECRET_TEXTS, item

import sql
from delivery import brands, masking, store
from delivery.records import OutgoingCallback
from delivery.sender import deliver_once

KEY = bytes(range(32))
MASK = masking.for_brand(KEY, ("lang", "currency"))
FINGERPRINT = re.compile(r"^\*\*\*#[0-9a-f]{4}$")


def _leaves(value):
    """Every scalar of a parsed JSON value."""
    if isinstance(value, dict):
        return [leaf for member in value.values() for leaf in _leaves(member)]
    if isinstance(value, list):
        return [leaf for member in value for leaf in _leaves(member)]
    return [value]


def _no_secret_in(text: str) -> None:
    for secret in SECRET_TEXTS:
        assert secret not in text, f"{secret!r} shows in {text[:400]!r}"


# --- the rules ------------------------------------------------------------------------------

def test_every_value_is_masked_at_any_depth_but_the_visible_keys():
    masked = MASK.params(SECRET_SESSION)
    assert masked["lang"] == "en" and masked["currency"] == "EUR"
    assert set(masked) == set(SECRET_SESSION)  # the shape stays: keys, nesting, list lengths
    assert len(masked["devices"]) == 3 and set(masked["player"]) == {"account", "pin"}
    hidden = [leaf for leaf in _leaves(masked) if leaf not in ("en", "EUR")]
    assert len(hidden) == len(_leaves(SECRET_SESSION)) - 2
    assert all(FINGERPRINT.match(leaf) for leaf in hidden)  # numbers, true and null too
    _no_secret_in(json.dumps(masked))
    assert masked["pin"] != "9371" and SECRET_SESSION["pin"] == "9371"  # the original is kept


def test_visible_keys_are_exact_names_of_any_case_and_the_nearest_key_decides():
    mask = masking.for_brand(KEY, masking.visible_keys([" LANG ", "prefs", "lang"]))
    assert mask.visible == {"lang", "prefs"}
    masked = mask.params({"Lang": "en", "language": "de", "prefs": {"lang": "fr", "pin": 1234,
                                                                    "list": ["a", "b"]},
                          "other": {"Lang": "it"}, "prefs_pin": "9999"})
    assert masked["Lang"] == "en" and masked["other"] == {"Lang": "it"}
    assert FINGERPRINT.match(masked["language"]) and FINGERPRINT.match(masked["prefs_pin"])
    # prefs is visible, but its members are decided by their own keys
    assert masked["prefs"]["lang"] == "fr" and FINGERPRINT.match(masked["prefs"]["pin"])
    assert all(FINGERPRINT.match(v) for v in masked["prefs"]["list"])
    with pytest.raises(ValueError, match="must be printable"):
        masking.visible_keys(["  "])


def test_fingerprints_are_stable_keyed_and_tell_values_apart():
    assert MASK.fingerprint("4821") == MASK.fingerprint("4821")
    assert MASK.fingerprint("4821") != MASK.fingerprint("4822")
    assert masking.for_brand(bytes(32)).fingerprint("4821") != MASK.fingerprint("4821")
    assert len({MASK.fingerprint(f"{pin:04d}") for pin in range(100)}) > 90
    assert masking.KEYLESS.params({"pin": "4821"}) == {"pin": "***"}  # no key: no fingerprint


def test_values_masked_before_lose_what_they_showed_and_fingerprints_are_kept():
    fingerprint = MASK.fingerprint("x")
    masked = MASK.params({"token": "***cdef", "sid": "***", "pin": fingerprint})
    assert masked == {"token": "***", "sid": "***", "pin": fingerprint}


def test_credential_and_cookie_headers_are_masked_both_ways():
    headers = {"Authorization": "Bearer abc", "Cookie": "sid=1", "set-cookie": "sid=2",
               "webhook-signature": "v1,xyz", "Content-Type": "application/json",
               "Foreign-Params": json.dumps(SECRET_SESSION)}
    masked = MASK.headers(headers)
    assert {masked[h] for h in ("Authorization", "Cookie", "set-cookie",
                                "webhook-signature")} == {"***"}
    assert masked["Content-Type"] == "application/json"
    assert json.loads(masked["Foreign-Params"]) == MASK.params(SECRET_SESSION)
    bare = MASK.headers({"Foreign-Params": "bare-secret"})["Foreign-Params"]
    assert bare == MASK.fingerprint("bare-secret")


def test_an_answer_echoing_the_session_is_masked_by_key_and_by_value():
    secrets = MASK.secrets(SECRET_SESSION)
    body = json.dumps({"error": {"code": "bet_not_found", "data": {
        "session": SECRET_SESSION, "pwd": "hunter2-pwd-value", "pin": "9371", "n": 8602139,
        "note": "signed sig-9f8e7d6c5b4a for DE44500105175407324931", "lang": "en"}}})
    masked = secrets.text(body)
    _no_secret_in(masked)
    data = json.loads(masked)["error"]["data"]
    assert data["pin"] == MASK.fingerprint("9371")  # a member named like a session key
    assert data["n"] == MASK.fingerprint(8602139)   # a session value, wherever it is
    assert data["note"] == (f"signed {MASK.fingerprint('sig-9f8e7d6c5b4a')} for "
                            f"{MASK.fingerprint('DE44500105175407324931')}")
    assert data["lang"] == "en" and data["session"]["lang"] == "en"
    assert json.loads(masked)["error"]["code"] == "bet_not_found"
    plain = secrets.text("refused: pwd hunter2-pwd-value, otp 731904")
    assert plain == (f"refused: pwd {MASK.fingerprint('hunter2-pwd-value')}, otp "
                     f"{MASK.fingerprint('731904')}")
    untouched = '{"ok":   true}'
    assert secrets.text(untouched) is untouched  # nothing secret: the very same text


def test_the_request_sent_is_unchanged_and_the_stored_attempt_masked():
    seen = {}

    def platform(request: httpx.Request) -> httpx.Response:
        seen["foreign_params"] = request.headers["foreign-params"]
        return httpx.Response(204, headers={"Set-Cookie": "session=platform-secret"})

    callback = OutgoingCallback(
        callback_id=1, request_id="req-1", bet_id="bet-1", brand_id=1, destination="/bet/place",
        payload=dict(PAYLOADS["/bet/place"], request_id="req-1", bet_id="bet-1"),
        foreign_params=SECRET_SESSION, attempt_no=1, base_url="http://platform.test",
        timeout_s=2.0, mask=MASK)
    attempt = deliver_once(callback, httpx.Client(transport=httpx.MockTransport(platform)))
    assert json.loads(seen["foreign_params"]) == SECRET_SESSION
    assert json.loads(attempt.request_headers["Foreign-Params"]) == MASK.params(SECRET_SESSION)
    assert attempt.response_headers["set-cookie"] == "***"


# --- SQL and Python agree ---------------------------------------------------------------------

SCALARS = ["4821", "", "héllo wörld", "***cdef", 0, 7, -12, 590277, 10 ** 20, 0.8125, 1.5,
           100.0, 1e16, 2.5e-07, True, False, None]


def test_sql_fingerprints_are_the_python_ones(engine):
    key = brands.fingerprint_key(engine)
    mask = masking.for_brand(key)
    with engine.connect() as conn:
        for value in SCALARS:
            sql_text = conn.execute(sa.text(
                "SELECT callbacks_mask_value(installation_key('mask_fingerprint'), "
                "CAST(:v AS jsonb)) #>> '{}'"), {"v": json.dumps(value)}).scalar_one()
            assert sql_text == mask.value(value), value


@pytest.mark.parametrize("headers", [
    {"Foreign-Params": json.dumps(SECRET_SESSION), "X-Request-ID": "r"},
    {"Foreign-Params": '{"token": "***cdef", "list": [{"sid": "x"}], "n": 1.5}'},
    {"Foreign-Params": "not json"},
    {"Foreign-Params": "***"},
    {"Foreign-Params": "1234"},
    {"set-cookie": "a=b", "Authorization": "Basic x", "server": "nginx"},
])
@pytest.mark.parametrize("visible", [(), ("lang", "pin")])
def test_the_migrations_sql_masks_stored_headers_as_new_rows_are(engine, headers, visible):
    mask = masking.for_brand(brands.fingerprint_key(engine), visible)
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT callbacks_mask_headers(CAST(:h AS jsonb), CAST(:v AS text[]), "
            "installation_key('mask_fingerprint'))"),
            {"h": json.dumps(headers), "v": list(visible)}).scalar_one()
    expected = mask.headers(headers)
    if "Foreign-Params" in expected and expected["Foreign-Params"].startswith(("{", "[")):
        assert json.loads(stored.pop("Foreign-Params")) == \
            json.loads(expected.pop("Foreign-Params"))
    assert stored == expected


@pytest.mark.parametrize("body", [
    json.dumps({"echo": SECRET_SESSION, "text": "pwd hunter2-pwd-value", "n": 590277}),
    "plain: hunter2-pwd-value and 8602139 and 0.8125",
    json.dumps([{"pin": "9371"}, "list-secret-77a1"]),
    '{"ok": true}',
    "{not json hunter2-pwd-value",
])
def test_the_migrations_sql_masks_echoes_as_new_rows_are(engine, body):
    mask = masking.for_brand(brands.fingerprint_key(engine), ("lang",))
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT callbacks_mask_echo(:b, CAST(:s AS jsonb), ARRAY['lang'], "
            "installation_key('mask_fingerprint'))"),
            {"b": body, "s": json.dumps([SECRET_SESSION])}).scalar_one()
    expected = mask.secrets(SECRET_SESSION).text(body)
    try:
        assert json.loads(stored) == json.loads(expected)  # JSON: written again, as JSON
    except ValueError:
        assert stored == expected
    _no_secret_in(stored)


# --- through the real sender, to a real server, into the database and out -----------------

def _echo(seen):
    """A platform that answers with the session it was sent, inside its answer."""
    from receiver import Reply

    params = json.loads(seen.headers["foreign-params"])
    return Reply.json(200, {"echo": params, "note": f"session of {params['pwd']}"},
                      headers={"Set-Cookie": "sid=platform-secret"})


def _all_text(engine, table: str) -> str:
    with engine.connect() as conn:
        return "\n".join(conn.execute(sa.text(f"SELECT CAST(t AS text) FROM {table} t"))
                         .scalars())


def test_secrets_never_reach_the_database_or_the_cli_and_the_platform_gets_them_all(
        clean_db, database_url):
    from databases import deliver_round
    from receiver import Receiver
    from test_cli import callbacks

    from delivery.validation import parse_callback

    other = dict(SECRET_SESSION, pwd="another-pwd-value")
    with Receiver(_echo) as rx:
        brands.add_brand(clean_db, "acme", rx.url)
        brands.set_brand_visible_keys(clean_db, "acme", ("LANG", "currency"))
        store.enqueue(clean_db, "acme", [
            parse_callback(item("bet-1", "/bet/place", foreign_params=SECRET_SESSION)),
            parse_callback(item("bet-2", "/bet/place", foreign_params=SECRET_SESSION)),
            parse_callback(item("bet-3", "/bet/place", foreign_params=other))])
        with httpx.Client() as client:
            assert deliver_round(clean_db, client) == 3
        sent = [json.loads(s.headers["foreign-params"]) for s in rx.seen]
    assert sorted(sent, key=json.dumps) == sorted([SECRET_SESSION, SECRET_SESSION, other],
                                                  key=json.dumps)  # sent as given

    # Given every text of the attempts table, read by the owner
    stored = _all_text(clean_db, "attempts")
    _no_secret_in(stored)
    assert "platform-secret" not in stored and "another-pwd-value" not in stored
    key = brands.fingerprint_key(clean_db)
    mask = masking.for_brand(key, ("lang", "currency"))
    attempts = {bet: store.group_attempts(clean_db, bet)[0] for bet in ("bet-1", "bet-2",
                                                                        "bet-3")}
    params = {bet: json.loads(a["request_headers"]["Foreign-Params"])
              for bet, a in attempts.items()}
    assert params["bet-1"] == mask.params(SECRET_SESSION)
    assert params["bet-1"]["lang"] == "en" and params["bet-1"]["currency"] == "EUR"
    assert "9371" not in _leaves(params["bet-1"])
    # the same session shows the same fingerprints; another pwd, another fingerprint
    assert params["bet-1"] == params["bet-2"]
    assert params["bet-3"]["pwd"] != params["bet-1"]["pwd"]
    assert params["bet-3"]["otp"] == params["bet-1"]["otp"]
    echoed = json.loads(attempts["bet-1"]["response_body"])
    assert echoed["echo"] == mask.params(SECRET_SESSION)
    assert echoed["note"] == f"session of {mask.fingerprint('hunter2-pwd-value')}"
    with clean_db.connect() as conn:
        queued = conn.execute(sa.text("SELECT foreign_params FROM callbacks WHERE bet_id = "
                                      "'bet-1'")).scalar_one()
    assert queued == SECRET_SESSION  # the queue keeps what is sent

    for bet in ("bet-1", "bet-3"):
        for args in (("history", bet), ("history", bet, "--json")):
            shown = callbacks(database_url, *args)
            assert shown.returncode == 0, shown.stderr
            _no_secret_in(shown.stdout)
            assert "another-pwd-value" not in shown.stdout


def test_visible_keys_are_set_listed_and_cleared_with_the_cli(database_url, clean_db):
    from test_cli import callbacks

    def listed():
        return json.loads(callbacks(database_url, "brand", "list", "--json").stdout)[0]

    assert callbacks(database_url, "brand", "add", "acme", "--url",
                     "http://127.0.0.1:9").returncode == 0
    done = callbacks(database_url, "brand", "set-visible-keys", "acme", "Lang", "currency,odds")
    assert done.returncode == 0 and "lang, currency, odds shown in clear" in done.stdout
    assert listed()["visible_keys"] == ["lang", "currency", "odds"]
    assert "visible lang,currency,odds" in callbacks(database_url, "brand", "list").stdout
    assert callbacks(database_url, "brand", "set", "acme", "--timeout-s", "3", "--reason",
                     "slow platform").returncode == 0
    assert listed()["visible_keys"] == ["lang", "currency", "odds"]  # kept by brand set
    cleared = callbacks(database_url, "brand", "set-visible-keys", "acme")
    assert cleared.returncode == 0 and "every Foreign-Params value masked" in cleared.stdout
    assert listed()["visible_keys"] == []
    unknown = callbacks(database_url, "brand", "set-visible-keys", "nope", "lang")
    assert unknown.returncode != 0 and "no brand named 'nope'" in unknown.stderr


def test_mask_key_is_accepted_and_ignored_with_a_notice(database_url, clean_db):
    from test_cli import callbacks

    added = callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9",
                      "--mask-key", "pin")
    assert added.returncode == 0 and "--mask-key is no longer needed" in added.stderr
    assert json.loads(callbacks(database_url, "brand", "list", "--json").stdout)[0][
        "visible_keys"] == []


# --- migration 018 masks the history stored before ------------------------------------------

#: Foreign-Params as migration 008 left them: token masked to its last four characters, the
#: rest (pwd, otp, pin, signature, X-Session, nested and in lists) in clear.
OLD_HEADER = json.dumps(dict(SECRET_SESSION, token="***cdef", auth_token="***"),
                        separators=(",", ":"))


def _migrate_history(engine) -> None:
    """Run the part of migration 018 that rewrites stored rows, as its upgrade did."""
    [body] = [text for version, text in sql.migrations() if version.startswith("018_")]
    history = body[body.index("-- The history."):]
    with engine.begin() as conn:
        with conn.connection.dbapi_connection.cursor() as cursor:
            cursor.execute(history)


def test_the_migration_masks_the_history_stored_before(clean_db):
    from databases import deliver_round
    from receiver import Receiver, Reply

    from delivery.validation import parse_callback

    # Given an attempt, a stored Integration Test run and its callbacks row as they were
    # stored before: deny-listed values cut to their last four characters, the rest in clear,
    # answers echoing the session
    with Receiver(lambda seen: Reply(204)) as rx:
        brands.add_brand(clean_db, "acme", rx.url)
        store.enqueue(clean_db, "acme", [parse_callback(
            item("bet-1", "/bet/place", foreign_params=SECRET_SESSION))])
        with httpx.Client() as client:
            deliver_round(clean_db, client)
    echo = json.dumps({"echo": {"pwd": "hunter2-pwd-value"}, "otp": "731904",
                       "note": "serial dev-31337-serial"})
    step_part = {"url": rx.url, "headers": {"Foreign-Params": OLD_HEADER}, "body": {
        "bet_id": "t-1", "pwd": "hunter2-pwd-value"}}
    answer = {"status": 400, "headers": {"server": "x"}, "body": echo}
    with clean_db.begin() as conn:
        conn.execute(sa.text("UPDATE attempts SET request_headers = jsonb_set(request_headers, "
                             "'{Foreign-Params}', to_jsonb(CAST(:h AS text))), "
                             "response_body = :b, error_code = :c, error_detail = :d"),
                     {"h": OLD_HEADER, "b": echo, "c": "no-xs-5a4b3c2d1e",
                      "d": "error code 'no-xs-5a4b3c2d1e' is not supported"})
        conn.execute(sa.text("UPDATE callbacks SET last_error = :d"),
                     {"d": "error code 'no-xs-5a4b3c2d1e' is not supported"})
        brand_id = conn.execute(sa.text("SELECT id FROM brands")).scalar_one()
        run_id = conn.execute(sa.text(
            "INSERT INTO integration_runs (brand_id, base_url, triggered_by, source, status, "
            "timeout_s, cases_total, started_at, preflight) VALUES (:b, 'http://x', 'ann', "
            "'cli', 'failed', 4, 1, now(), CAST(:p AS jsonb)) RETURNING id"),
            {"b": brand_id, "p": json.dumps({
                "checks": [{"position": 1, "message": "answered 400 xs-5a4b3c2d1e",
                            "request": step_part, "response": answer}],
                "findings": [{"level": "error", "text": "echoed list-secret-77a1"}]})}
        ).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO integration_cases (run_id, number, case_group, name, checks, status, "
            "steps_planned, message) VALUES (:r, 1, 'g', 'n', 'c', 'failed', 1, "
            "'400 {\"pin\": \"9371\", \"iban\": \"DE44500105175407324931\"}')"), {"r": run_id})
        conn.execute(sa.text(
            "INSERT INTO integration_steps (run_id, case_number, position, label, destination, "
            "bet_id, request_id, expected, message, request, response) VALUES (:r, 1, 1, 'l', "
            "'/bet/place', 't-1', 'q', 'e', 'got 731904 back', CAST(:q AS jsonb), "
            "CAST(:a AS jsonb))"),
            {"r": run_id, "q": json.dumps(step_part), "a": json.dumps(answer)})
        conn.execute(sa.text(
            "INSERT INTO callbacks (request_id, brand_id, bet_id, destination, payload, "
            "foreign_params, origin, state) VALUES ('t-1', :b, 'bet-1', '/bet/place', '{}', "
            "CAST(:f AS jsonb), 'integration_test', 'rejected')"),
            {"b": brand_id, "f": OLD_HEADER})
    assert "hunter2-pwd-value" in _all_text(clean_db, "attempts")

    # When the migration's rewrite runs
    _migrate_history(clean_db)

    # Then no secret and no last four characters are left, and masks are Python's fingerprints
    mask = masking.for_brand(brands.fingerprint_key(clean_db))
    for table in ("attempts", "integration_runs", "integration_cases", "integration_steps"):
        text = _all_text(clean_db, table)
        _no_secret_in(text)
        assert "cdef" not in text, table
    with clean_db.connect() as conn:
        headers, body = conn.execute(sa.text(
            "SELECT request_headers, response_body FROM attempts")).one()
        step_request, step_response = conn.execute(sa.text(
            "SELECT request, response FROM integration_steps")).one()
        test_params = conn.execute(sa.text("SELECT foreign_params FROM callbacks WHERE origin "
                                           "= 'integration_test'")).scalar_one()
        case_message = conn.execute(sa.text("SELECT message FROM integration_cases")).scalar_one()
        queued, last_error = conn.execute(sa.text(
            "SELECT foreign_params, last_error FROM callbacks WHERE origin = 'producer'")).one()
    params = json.loads(headers["Foreign-Params"])
    assert params == mask.params(dict(SECRET_SESSION, token="***", auth_token="***"))
    assert params["pwd"] == mask.fingerprint("hunter2-pwd-value") and params["token"] == "***"
    assert json.loads(body)["echo"]["pwd"] == mask.fingerprint("hunter2-pwd-value")
    assert json.loads(step_request["headers"]["Foreign-Params"]) == params
    assert step_request["body"]["pwd"] == mask.fingerprint("hunter2-pwd-value")
    assert json.loads(step_response["body"])["otp"] == mask.fingerprint("731904")
    assert test_params == params
    assert json.loads(case_message[4:])["pin"] == mask.fingerprint("9371")
    assert queued == SECRET_SESSION  # queued callbacks keep what is sent
    assert last_error == f"error code 'no-{mask.fingerprint('xs-5a4b3c2d1e')}' is not supported"

    # And a second run changes nothing (fingerprints are kept)
    before = _all_text(clean_db, "attempts") + _all_text(clean_db, "integration_steps")
    _migrate_history(clean_db)
    assert _all_text(clean_db, "attempts") + _all_text(clean_db, "integration_steps") == before
