"""Secrets masked before a request or an answer is stored: Foreign-Params members at any depth
by the default and the brand's keys, credential and cookie headers both ways, signatures — the
request that goes out unchanged. The SQL that masks the history stored earlier (migration 008)
is checked against the Python rules."""
from __future__ import annotations

import json

import httpx
import pytest
import sqlalchemy as sa

from delivery import masking
from delivery.sender import OutgoingCallback, deliver_once
from factories import PAYLOADS

KEYS = masking.mask_keys()
NESTED = {
    "lang": "en",
    "Session_ID": "s-0123456789abcdef",
    "api_key": "k-0123456789abcdef",
    "player": {"jwt": "eyJhbGciOiJIUzI1NiJ9.payload.sig", "name": "ann",
               "devices": [{"SID": 42, "kind": "phone"}, {"cookie": {"a": "b"}}]},
    "wallet": {"AuthToken": {"value": "deep-secret-value"}},
}


def test_members_named_like_secrets_are_masked_at_any_depth_and_any_case():
    masked = masking.mask_params(NESTED, KEYS)
    assert masked["lang"] == "en" and masked["player"]["name"] == "ann"
    assert masked["Session_ID"] == "***cdef" and masked["api_key"] == "***cdef"
    assert masked["player"]["jwt"] == "***.sig"
    assert masked["player"]["devices"][0] == {"SID": "***", "kind": "phone"}
    assert masked["player"]["devices"][1] == {"cookie": "***"}
    assert masked["wallet"]["AuthToken"].startswith("***")  # an object masked whole
    assert "deep-secret-value" not in json.dumps(masked)
    assert NESTED["player"]["jwt"].startswith("eyJ")  # the original is left alone


def test_a_brands_own_keys_are_masked_besides_the_default_ones():
    params = {"pin": "1234", "brand_ref": "r-1", "token": "t-0123456789abcdef"}
    masked = masking.mask_params(params, masking.mask_keys(("PIN", " brand_ref ")))
    assert masked == {"pin": "***", "brand_ref": "***", "token": "***cdef"}


def test_credential_and_cookie_headers_are_masked_both_ways():
    headers = {"Authorization": "Bearer abc", "Cookie": "sid=1", "set-cookie": "sid=2",
               "webhook-signature": "v1,xyz", "Content-Type": "application/json",
               "Foreign-Params": json.dumps(NESTED)}
    masked = masking.mask_headers(headers, KEYS)
    assert {masked[h] for h in ("Authorization", "Cookie", "set-cookie",
                                "webhook-signature")} == {"***"}
    assert masked["Content-Type"] == "application/json"
    assert json.loads(masked["Foreign-Params"]) == masking.mask_params(NESTED, KEYS)
    assert masking.mask_headers({"Foreign-Params": "bare-secret"}, KEYS) == \
        {"Foreign-Params": "***"}


def test_the_request_sent_is_unchanged_and_the_stored_attempt_masked():
    seen = {}

    def platform(request: httpx.Request) -> httpx.Response:
        seen["foreign_params"] = request.headers["foreign-params"]
        return httpx.Response(204, headers={"Set-Cookie": "session=platform-secret"})

    callback = OutgoingCallback(
        callback_id=1, request_id="req-1", bet_id="bet-1", brand_id=1, destination="/bet/place",
        payload=dict(PAYLOADS["/bet/place"], request_id="req-1", bet_id="bet-1"),
        foreign_params=dict(NESTED, pin="9999"), attempt_no=1, base_url="http://platform.test",
        timeout_s=2.0, mask_keys=("pin",))
    attempt = deliver_once(callback, httpx.Client(transport=httpx.MockTransport(platform)))
    assert json.loads(seen["foreign_params"]) == dict(NESTED, pin="9999")
    stored = json.loads(attempt.request_headers["Foreign-Params"])
    assert stored["pin"] == "***" and "deep-secret-value" not in json.dumps(stored)
    assert attempt.response_headers["set-cookie"] == "***"
    assert "platform-secret" not in json.dumps(attempt.response_headers)


@pytest.mark.parametrize("headers", [
    {"Foreign-Params": json.dumps(NESTED), "X-Request-ID": "r"},
    {"Foreign-Params": '{"token": "***cdef", "list": [{"sid": "x"}]}'},
    {"Foreign-Params": "not json"},
    {"set-cookie": "a=b", "Authorization": "Basic x", "server": "nginx"},
])
def test_the_migrations_sql_masks_stored_headers_as_new_rows_are(engine, headers):
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT callbacks_mask_stored(CAST(:h AS jsonb))"),
                              {"h": json.dumps(headers)}).scalar_one()
    expected = masking.mask_headers(headers, KEYS)
    if "Foreign-Params" in expected and expected["Foreign-Params"] != "***":
        assert json.loads(stored.pop("Foreign-Params")) == \
            json.loads(expected.pop("Foreign-Params"))
    assert stored == expected


def test_the_sql_default_keys_are_the_python_ones(engine):
    with engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT callbacks_default_mask_keys()")).scalar_one()
    assert tuple(keys) == masking.DEFAULT_MASK_KEYS


def test_a_brands_keys_reach_the_stored_attempts_and_the_platform_gets_everything(clean_db):
    from databases import deliver_round
    from factories import item
    from receiver import Receiver, Reply

    from delivery import store
    from delivery.validation import parse_callback

    session = dict(NESTED, pin="9999")
    with Receiver(lambda seen: Reply(204, headers={"Set-Cookie": "sid=platform-secret"})) as rx:
        store.add_brand(clean_db, "acme", rx.url, mask_keys=("pin",))
        store.enqueue(clean_db, "acme", [parse_callback(
            item("bet-1", "/bet/place", foreign_params=session))])
        with httpx.Client() as client:
            assert deliver_round(clean_db, client) == 1
        [seen] = rx.seen
    assert json.loads(seen.headers["foreign-params"]) == session  # sent as given
    [attempt] = store.group_attempts(clean_db, "bet-1")
    stored = json.dumps([attempt["request_headers"], attempt["response_headers"]])
    for secret in ("9999", "deep-secret-value", "platform-secret", "s-0123456789abcdef"):
        assert secret not in stored
    with clean_db.connect() as conn:
        queued = conn.execute(sa.text("SELECT foreign_params FROM callbacks")).scalar_one()
    assert queued == session  # the queue keeps what is sent


def test_mask_keys_are_set_kept_and_cleared_with_the_cli(database_url, clean_db):
    from test_cli import callbacks

    def keys():
        listed = json.loads(callbacks(database_url, "brand", "list", "--json").stdout)
        return listed[0]["mask_keys"]

    url = ("--url", "http://127.0.0.1:9")
    assert callbacks(database_url, "brand", "add", "acme", *url, "--mask-key", "PIN",
                     "--mask-key", "ref,member_no").returncode == 0
    assert keys() == ["pin", "ref", "member_no"]
    assert callbacks(database_url, "brand", "set", "acme", "--timeout-s", "3", "--reason",
                     "slow platform").returncode == 0
    assert keys() == ["pin", "ref", "member_no"]  # kept when not given
    assert "masks pin,ref,member_no" in callbacks(database_url, "brand", "list").stdout
    assert callbacks(database_url, "brand", "set", "acme", "--mask-key", "", "--reason",
                     "keys dropped").returncode == 0
    assert keys() == []
