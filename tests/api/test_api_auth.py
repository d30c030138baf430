"""Bearer tokens: from the environment or made by `callbacks api-token create` (hash stored),
listed without secrets, revoked at once; /healthz and /openapi.json stay public."""
import hashlib
import os
import subprocess
import sys

import httpx
import pytest
import sqlalchemy as sa
from api_testkit import AUTH, TOKEN, serve

from api.app import create_app
from api.auth import bearer_token, env_tokens
from delivery import database

PROTECTED = [("GET", "/v1/bets/bet-1/callbacks"), ("POST", "/v1/brands/acme/callbacks"),
             ("GET", "/v1/no/such/route")]


def callbacks(database_url, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "-m", "callbacks", *args], capture_output=True,
                          text=True, env=env, timeout=60)


@pytest.mark.parametrize("method, path", PROTECTED)
def test_no_token_is_401_with_a_bearer_challenge(anonymous, method, path):
    answer = anonymous.request(method, path, json={"callbacks": []})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="callbacks"'
    assert "callbacks api-token create" in answer.json()["error"]


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer x",
                                   f"Basic {TOKEN}", f"Bearer{TOKEN}", TOKEN])
def test_a_wrong_token_is_401(anonymous, header):
    answer = anonymous.get("/v1/bets/bet-1/callbacks", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_the_environment_token_opens_the_routes(client):
    answer = client.get("/v1/bets/bet-1/callbacks")
    assert answer.status_code == 404  # past the door: there is no such bet
    lower_scheme = client.get("/v1/bets/bet-1/callbacks",
                              headers={"Authorization": f"bearer {TOKEN}"})
    assert lower_scheme.status_code == 404


def test_health_and_openapi_need_no_token(anonymous):
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert anonymous.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_a_created_token_works_is_stored_hashed_and_revoking_stops_it(api_db, database_url,
                                                                      anonymous):
    # Given a token made on the command line
    made = callbacks(database_url, "api-token", "create", "--name", "risk-service")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert len(token) > 30 and "shown this once" in made.stderr
    # Then only its SHA-256 is in the database
    with api_db.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM api_tokens"))]
    assert [r["name"] for r in rows] == ["risk-service"]
    assert rows[0]["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(rows)
    # And it opens the API
    bearer = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/v1/bets/bet-1/callbacks", headers=bearer).status_code == 404
    # The list names it without any secret
    listed = callbacks(database_url, "api-token", "list")
    assert "risk-service" in listed.stdout
    assert token not in listed.stdout and rows[0]["token_sha256"] not in listed.stdout
    # When it is revoked, the next request is refused
    revoked = callbacks(database_url, "api-token", "revoke", "risk-service")
    assert revoked.returncode == 0, revoked.stderr
    answer = anonymous.get("/v1/bets/bet-1/callbacks", headers=bearer)
    assert answer.status_code == 401 and 'error="invalid_token"' in \
        answer.headers["www-authenticate"]
    assert "risk-service" not in callbacks(database_url, "api-token", "list").stdout
    assert "revoked" in callbacks(database_url, "api-token", "list", "--all").stdout


def test_token_names_are_unique_among_live_tokens(api_db, database_url):
    assert callbacks(database_url, "api-token", "create", "--name", "a").returncode == 0
    again = callbacks(database_url, "api-token", "create", "--name", "a")
    assert again.returncode == 2 and "revoke" in again.stderr and again.stdout == ""
    bad = callbacks(database_url, "api-token", "create", "--name", "no spaces")
    assert bad.returncode == 2 and "must be letters" in bad.stderr
    missing = callbacks(database_url, "api-token", "revoke", "ghost")
    assert missing.returncode == 2 and "api-token list" in missing.stderr
    assert callbacks(database_url, "api-token", "revoke", "a").returncode == 0
    assert callbacks(database_url, "api-token", "create", "--name", "a").returncode == 0


def test_health_is_503_when_the_database_does_not_answer():
    dead = database.make_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    with serve(create_app(dead, tokens=[TOKEN])) as url:
        health = httpx.get(f"{url}/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        # A token that might be a stored one cannot be checked: 503, not 401
        assert httpx.get(f"{url}/v1/bets/b/callbacks", timeout=30,
                         headers={"Authorization": "Bearer other"}).status_code == 503
        assert httpx.get(f"{url}/v1/bets/b/callbacks", headers=AUTH,
                         timeout=30).status_code == 503
    dead.dispose()


@pytest.mark.parametrize("header, token", [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer", None),
    ("Bearer ", None), (None, None), ("abc", None),
])
def test_bearer_header_parsing(header, token):
    assert bearer_token(header) == token


def test_environment_tokens_are_comma_separated_and_blanks_ignored():
    assert env_tokens({"CALLBACKS_API_TOKENS": " a, b ,,c "}) == ("a", "b", "c")
    assert env_tokens({}) == ()
