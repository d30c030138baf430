"""Player sessions over HTTP, on the API served for real: PUT opens (201) or refreshes (200),
DELETE closes (204, 404 when unknown), GET reads one or lists a brand's; the checks name each
bad field, tokens reach only their brands and a read-only token never writes, answers show
Foreign-Params masked. A session opened here gets its heartbeats from the engine."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from api_testkit import AUTH, TOKEN, serve
from receiver import Receiver, Reply

from api import store as api_store
from api.app import create_app
from api.auth import new_token, token_sha256
from callbacks.main import main
from delivery import brands, database, heartbeats, sessions

SECRET = "player-token-5f3a9c"
PARAMS = {"token": SECRET, "lang": "en"}
ROUTE = "/v1/brands/acme/sessions"
FINGERPRINT = re.compile(r"^\*\*\*#[0-9a-f]{4}$")


@pytest.fixture
def beta(api_db):
    return brands.add_brand(api_db, "beta", "http://127.0.0.1:9")


def stored_token(engine, name: str, **scope) -> dict:
    token = new_token()
    api_store.add_api_token(engine, name, token_sha256(token), **scope)
    return {"Authorization": f"Bearer {token}"}


def rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(
            "SELECT s.session_id, b.name AS brand, s.state, s.foreign_params "
            "FROM player_sessions s JOIN brands b ON b.id = s.brand_id ORDER BY s.id"))]


# --- open, refresh, close, read -------------------------------------------------------------

def test_a_put_opens_a_session_and_a_repeat_refreshes_it(client, api_db):
    brands.set_brand_visible_keys(api_db, "acme", ("lang",))
    opened = client.put(f"{ROUTE}/s-1", json={"foreign_params": PARAMS, "ttl_s": 3600})
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert session["session_id"] == "s-1" and session["brand"] == "acme"
    assert session["state"] == "live" and session["heartbeats_sent"] == 0
    assert session["last_status"] is None and session["last_at"] is None
    opened_at = datetime.fromisoformat(session["opened_at"])
    assert datetime.fromisoformat(session["expires_at"]) == opened_at + timedelta(hours=1)
    first_beat = datetime.fromisoformat(session["next_beat_at"])
    assert opened_at <= first_beat < opened_at + timedelta(seconds=60)
    # Foreign-Params are shown masked, but sent as given
    assert session["foreign_params"]["lang"] == "en"
    assert FINGERPRINT.match(session["foreign_params"]["token"])
    assert SECRET not in opened.text
    assert rows(api_db)[0]["foreign_params"] == PARAMS
    # The same request again refreshes it: 200, same schedule
    again = client.put(f"{ROUTE}/s-1", json={"foreign_params": PARAMS, "ttl_s": 3600})
    assert again.status_code == 200, again.text
    assert again.json()["opened_at"] == session["opened_at"]
    assert again.json()["next_beat_at"] == session["next_beat_at"]
    assert len(rows(api_db)) == 1
    # And it reads back the same way
    read = client.get(f"{ROUTE}/s-1")
    assert read.status_code == 200 and read.json() == again.json()
    assert SECRET not in read.text


def test_an_end_can_be_a_time_and_no_end_is_until_closed(client):
    at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    timed = client.put(f"{ROUTE}/s-1", json={"foreign_params": PARAMS,
                                               "expires_at": at.isoformat()})
    assert timed.status_code == 201 and datetime.fromisoformat(
        timed.json()["expires_at"]) == at
    open_ended = client.put(f"{ROUTE}/s-2", json={"foreign_params": PARAMS})
    assert open_ended.status_code == 201 and open_ended.json()["expires_at"] is None


def test_delete_closes_once_answers_204_again_and_404_when_unknown(client, api_db):
    assert client.put(f"{ROUTE}/s-1", json={"foreign_params": PARAMS}).status_code == 201
    closed = client.delete(f"{ROUTE}/s-1")
    assert closed.status_code == 204 and closed.content == b""
    assert client.get(f"{ROUTE}/s-1").json()["state"] == "closed"
    assert client.delete(f"{ROUTE}/s-1").status_code == 204
    unknown = client.delete(f"{ROUTE}/nobody")
    assert unknown.status_code == 404
    assert "no player session 'nobody' of brand 'acme'" in unknown.json()["error"]
    assert client.get(f"{ROUTE}/nobody").status_code == 404
    # A session that was over opens anew: 201
    reopened = client.put(f"{ROUTE}/s-1", json={"foreign_params": PARAMS})
    assert reopened.status_code == 201 and reopened.json()["state"] == "live"


def test_the_list_filters_by_state(client):
    for sid in ("s-1", "s-2", "s-3"):
        client.put(f"{ROUTE}/{sid}", json={"foreign_params": PARAMS})
    client.delete(f"{ROUTE}/s-2")
    every = client.get(ROUTE)
    assert every.status_code == 200
    assert [s["session_id"] for s in every.json()["sessions"]] == ["s-3", "s-2", "s-1"]
    live = client.get(ROUTE, params={"state": "live"}).json()["sessions"]
    assert [s["session_id"] for s in live] == ["s-3", "s-1"]
    assert client.get(ROUTE, params={"limit": 1}).json()["sessions"][0]["session_id"] == "s-3"
    assert SECRET not in every.text
    bad = client.get(ROUTE, params={"state": "open"})
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["field"] == "state"
    assert "live, closed, expired, ended_by_platform" in bad.json()["error"]
    assert client.get(ROUTE, params={"limit": "x"}).json()["problems"][0]["field"] == "limit"


# --- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize("body, field, words", [
    ({"foreign_params": {}}, "foreign_params", "foreign_params is empty"),
    ({"foreign_params": [SECRET]}, "foreign_params", "must be a JSON object"),
    ({"ttl_s": 60}, "foreign_params", "foreign_params is required"),
    ({"foreign_params": {"t": SECRET * 400}}, "foreign_params", "at most 4,096"),
    ({"foreign_params": PARAMS, "ttl_s": 0}, "ttl_s", "from 1 to 2,592,000"),
    ({"foreign_params": PARAMS, "ttl_s": True}, "ttl_s", "whole number of seconds"),
    ({"foreign_params": PARAMS, "ttl_s": "60"}, "ttl_s", "whole number of seconds"),
    ({"foreign_params": PARAMS, "ttl_s": 2_592_001}, "ttl_s", "(30 days)"),
    ({"foreign_params": PARAMS, "expires_at": "2030-01-01T00:00:00"}, "expires_at",
     "RFC 3339 time with its offset"),
    ({"foreign_params": PARAMS, "expires_at": "2020-01-01T00:00:00Z"}, "expires_at",
     "is not in the future"),
    ({"foreign_params": PARAMS, "ttl_s": 60, "expires_at": "2030-01-01T00:00:00Z"},
     "expires_at", "not both"),
    ({"foreign_params": PARAMS, "ttl": 60}, "ttl", "unknown field 'ttl'"),
])
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_written(client, api_db, body,
                                                                    field, words):
    answer = client.put(f"{ROUTE}/s-1", json=body)
    assert answer.status_code == 422, answer.text
    document = answer.json()
    assert set(document) == {"error", "problems"}
    assert [p["field"] for p in document["problems"]] == [field]
    assert words in document["problems"][0]["message"] and words in document["error"]
    assert SECRET not in answer.text  # Foreign-Params are never shown back
    assert rows(api_db) == []


def test_every_bad_field_is_named_at_once(client):
    answer = client.put(f"{ROUTE}/s-1", json={"foreign_params": {}, "ttl_s": -1, "x": 1,
                                              "y": 2})
    assert answer.status_code == 422
    assert sorted(p["field"] for p in answer.json()["problems"]) == [
        "foreign_params", "ttl_s", "x", "y"]


@pytest.mark.parametrize("session_id", ["%20%20", "a" * 201, "tab%09here"])
def test_a_bad_session_id_is_a_422(client, api_db, session_id):
    answer = client.put(f"{ROUTE}/{session_id}", json={"foreign_params": PARAMS})
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["field"] == "session_id"
    assert rows(api_db) == []


@pytest.mark.parametrize("content, status, words", [
    (b"", 400, "the body is empty"),
    (b"{not json", 400, "not valid JSON"),
    (b"[1]", 422, "must be a JSON object"),
])
def test_a_body_that_is_no_session_gets_a_clear_json_error(client, content, status, words):
    answer = client.put(f"{ROUTE}/s-1", content=content,
                        headers={"Content-Type": "application/json"})
    assert answer.status_code == status and words in answer.json()["error"]


def test_the_body_size_limit_holds(api_db):
    with serve(create_app(api_db, tokens=[TOKEN], max_body_bytes=500)) as url:
        answer = httpx.put(f"{url}{ROUTE}/s-1", headers=AUTH, timeout=30,
                           json={"foreign_params": {"t": "x" * 1000}})
    assert answer.status_code == 413 and "500 bytes" in answer.json()["error"]


def test_an_unknown_brand_is_404(client, api_db):
    for answer in (client.put("/v1/brands/ghost/sessions/s-1", json={"foreign_params": PARAMS}),
                   client.delete("/v1/brands/ghost/sessions/s-1"),
                   client.get("/v1/brands/ghost/sessions/s-1"),
                   client.get("/v1/brands/ghost/sessions")):
        assert answer.status_code == 404
        assert "no brand named 'ghost'" in answer.json()["error"]
    assert rows(api_db) == []


def test_without_a_token_it_is_401(anonymous):
    assert anonymous.put(f"{ROUTE}/s-1", json={"foreign_params": PARAMS}).status_code == 401
    assert anonymous.get(ROUTE).status_code == 401


def test_the_database_down_is_503():
    dead = database.make_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    with serve(create_app(dead, tokens=[TOKEN])) as url:
        answer = httpx.put(f"{url}{ROUTE}/s-1", headers=AUTH, timeout=30,
                           json={"foreign_params": PARAMS})
    dead.dispose()
    assert answer.status_code == 503 and "database does not answer" in answer.json()["error"]


# --- scopes ---------------------------------------------------------------------------------

def test_a_token_opens_and_reads_only_its_brands_sessions(anonymous, api_db, beta):
    acme_only = stored_token(api_db, "acme-feed", brands=["acme"])
    assert anonymous.put(f"{ROUTE}/s-1", headers=acme_only,
                         json={"foreign_params": PARAMS}).status_code == 201
    elsewhere = anonymous.put("/v1/brands/beta/sessions/s-1", headers=acme_only,
                              json={"foreign_params": PARAMS})
    nowhere = anonymous.put("/v1/brands/ghost/sessions/s-1", headers=acme_only,
                            json={"foreign_params": PARAMS})
    assert elsewhere.status_code == 403
    assert "'acme-feed' is not allowed to write to brand 'beta'" in elsewhere.json()["error"]
    assert nowhere.status_code == 403  # not told that ghost does not exist
    assert nowhere.text.replace("ghost", "beta") == elsewhere.text
    assert anonymous.delete("/v1/brands/beta/sessions/s-1",
                            headers=acme_only).status_code == 403
    read = anonymous.get("/v1/brands/beta/sessions", headers=acme_only)
    assert read.status_code == 403
    assert "'acme-feed' is not allowed to read brand 'beta'" in read.json()["error"]
    assert anonymous.get("/v1/brands/beta/sessions/s-1", headers=acme_only).status_code == 403
    assert [(r["session_id"], r["brand"]) for r in rows(api_db)] == [("s-1", "acme")]


def test_a_read_only_token_reads_but_never_opens_or_closes(anonymous, client, api_db):
    client.put(f"{ROUTE}/s-1", json={"foreign_params": PARAMS})
    reader = stored_token(api_db, "acme-reader", brands=["acme"], read_only=True)
    refused = anonymous.put(f"{ROUTE}/s-2", headers=reader, json={"foreign_params": PARAMS})
    assert refused.status_code == 403
    assert ("'acme-reader' is read-only: it may read bets but not open or close player "
            "sessions") in refused.json()["error"]
    assert anonymous.delete(f"{ROUTE}/s-1", headers=reader).status_code == 403
    assert anonymous.get(f"{ROUTE}/s-1", headers=reader).json()["state"] == "live"
    assert len(anonymous.get(ROUTE, headers=reader).json()["sessions"]) == 1


def test_an_environment_token_of_another_brand_is_refused(api_db, beta):
    with serve(create_app(api_db, tokens=["beta-token:beta"])) as url:
        with httpx.Client(base_url=url, timeout=30,
                          headers={"Authorization": "Bearer beta-token"}) as http:
            assert http.put(f"{ROUTE}/s-1", json={"foreign_params": PARAMS}).status_code == 403
            assert http.put("/v1/brands/beta/sessions/s-1",
                            json={"foreign_params": PARAMS}).status_code == 201


# --- heartbeats -----------------------------------------------------------------------------

def test_a_session_opened_here_gets_heartbeats_and_the_cli_lists_them(
        client, api_db, database_url, monkeypatch, capsys):
    with Receiver(lambda seen: Reply(204)) as platform:
        brands.add_brand(api_db, "acme", platform.url, heartbeat_interval_s=5)
        opened = client.put(f"{ROUTE}/s-1", json={"foreign_params": PARAMS})
        assert opened.status_code == 201
        due = datetime.fromisoformat(opened.json()["next_beat_at"])
        with httpx.Client(timeout=5) as http:
            assert heartbeats.beat_round(api_db, http, now=due - timedelta(seconds=1)) == []
            [beat] = heartbeats.beat_round(api_db, http, now=due)
    assert beat.outcome.kind == "delivered"
    [seen] = platform.seen
    assert seen.path == "/heartbeat" and seen.raw == b""
    assert json.loads(seen.headers["foreign-params"]) == PARAMS
    session = client.get(f"{ROUTE}/s-1").json()
    assert session["heartbeats_sent"] == 1 and session["last_status"] == 204
    assert datetime.fromisoformat(session["next_beat_at"]) >= due + timedelta(seconds=4.5)
    # `callbacks session list` shows it
    monkeypatch.setenv("DATABASE_URL", database_url)
    made = []
    make_engine = database.make_engine
    monkeypatch.setattr(database, "make_engine",
                        lambda *a, **kw: made.append(make_engine(*a, **kw)) or made[-1])
    capsys.readouterr()
    try:
        assert main(["session", "list", "--brand", "acme", "--json"]) == 0
        listed_out = capsys.readouterr().out
        assert main(["session", "list", "--brand", "acme"]) == 0
        table = capsys.readouterr().out.splitlines()
    finally:
        for engine in made:
            engine.dispose()
    [listed] = json.loads(listed_out)
    assert listed["session_id"] == "s-1" and listed["heartbeats_sent"] == 1
    assert listed["last_status"] == 204 and listed["state"] == "live"
    assert SECRET not in json.dumps(listed)
    assert table[0].split()[:4] == ["SESSION", "STATE", "BEATS", "LAST"]
    assert table[1].split()[:4] == ["s-1", "live", "1", "204"]
    assert sessions.get(api_db, "acme", "s-1")["heartbeats_sent"] == 1
