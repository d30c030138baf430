"""Bearer tokens: from the environment or made by `callbacks api-token create` (hash stored),
listed without secrets, revoked at once; /healthz and /openapi.json stay public."""
import hashlib
import json

import httpx
import pytest
import sqlalchemy as sa
from api_testkit import AUTH, TOKEN, callbacks, serve

from api.app import create_app
from api.auth import bearer_token, env_tokens
from delivery import brands, database

PROTECTED = [("GET", "/v1/bets/bet-1/callbacks"), ("POST", "/v1/brands/acme/callbacks"),
             ("GET", "/v1/no/such/route")]


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
    made = callbacks(database_url, "api-token", "create", "--name", "risk-service",
                     "--all-brands")
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
    assert callbacks(database_url, "api-token", "create", "--name", "a",
                     "--all-brands").returncode == 0
    again = callbacks(database_url, "api-token", "create", "--name", "a", "--brand", "acme")
    assert again.returncode == 2 and "revoke" in again.stderr and again.stdout == ""
    bad = callbacks(database_url, "api-token", "create", "--name", "no spaces", "--all-brands")
    assert bad.returncode == 2 and "must be letters" in bad.stderr
    missing = callbacks(database_url, "api-token", "revoke", "ghost")
    assert missing.returncode == 2 and "api-token list" in missing.stderr
    assert callbacks(database_url, "api-token", "revoke", "a").returncode == 0
    assert callbacks(database_url, "api-token", "create", "--name", "a",
                     "--all-brands").returncode == 0


def test_a_token_is_made_for_some_brands_or_all_and_listed_with_them(api_db, database_url):
    brands.add_brand(api_db, "beta", "http://127.0.0.1:9")
    # Given tokens for two brands, for one brand read-only, and for all brands
    made = callbacks(database_url, "api-token", "create", "--name", "feed", "--brand", "beta",
                     "--brand", "acme")
    assert made.returncode == 0, made.stderr
    assert "'feed' created for brands acme, beta;" in made.stderr
    reader = callbacks(database_url, "api-token", "create", "--name", "reader", "--brand",
                       "acme", "--read-only")
    assert "'reader' created for brand acme, read-only;" in reader.stderr
    every = callbacks(database_url, "api-token", "create", "--name", "ops", "--all-brands")
    assert "'ops' created for all brands;" in every.stderr
    # Then the list shows each one's brands, and whether it only reads
    lines = callbacks(database_url, "api-token", "list").stdout.splitlines()
    assert [line.split("  created")[0].split() for line in lines] == [
        ["feed", "brands", "acme,", "beta"], ["reader", "brand", "acme,", "read-only"],
        ["ops", "all", "brands"]]
    listed = json.loads(callbacks(database_url, "api-token", "list", "--json").stdout)
    assert [(t["name"], t["all_brands"], t["brands"], t["read_only"]) for t in listed] == [
        ("feed", False, ["acme", "beta"], False), ("reader", False, ["acme"], True),
        ("ops", True, [], False)]
    assert all(set(t) == {"name", "all_brands", "brands", "read_only", "created_at",
                          "revoked_at"} for t in listed)
    # And revoking says what is revoked
    revoked = callbacks(database_url, "api-token", "revoke", "reader")
    assert "'reader' (brand acme, read-only) revoked" in revoked.stdout


def test_a_token_of_an_unknown_brand_or_without_a_scope_is_refused(api_db, database_url):
    unknown = callbacks(database_url, "api-token", "create", "--name", "x", "--brand", "acme",
                        "--brand", "ghost")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "no brand named 'ghost'" in unknown.stderr and "nothing was written" in \
        unknown.stderr
    both = callbacks(database_url, "api-token", "create", "--name", "x", "--brand", "acme",
                     "--all-brands")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    neither = callbacks(database_url, "api-token", "create", "--name", "x", "--read-only")
    assert neither.returncode == 2 and "--brand --all-brands is required" in neither.stderr
    with api_db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM api_tokens")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM api_token_brands")).scalar() == 0


def test_health_is_503_when_the_database_does_not_answer():
    dead = database.make_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    with serve(create_app(dead, tokens=[TOKEN])) as url:
        health = httpx.get(f"{url}/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        # A token that might be a stored one cannot be checked: 503, not 401
        unchecked = httpx.get(f"{url}/v1/bets/b/callbacks", timeout=30,
                              headers={"Authorization": "Bearer other"})
        read = httpx.get(f"{url}/v1/bets/b/callbacks", headers=AUTH, timeout=30)
        for answer in (health, unchecked, read):
            assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    dead.dispose()


def test_every_connection_busy_is_503_with_retry_after_not_500(clean_db):
    # Given an API whose one database connection is taken
    busy = sa.create_engine(clean_db.url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    brands.add_brand(clean_db, "acme", "http://127.0.0.1:9")
    with busy.connect(), serve(create_app(busy, tokens=[TOKEN])) as url:
        # When a producer queues a callback and reads a bet
        answers = [httpx.post(f"{url}/v1/brands/acme/callbacks", headers=AUTH, timeout=30,
                              json={"callbacks": []}),
                   httpx.get(f"{url}/v1/bets/b/callbacks", headers=AUTH, timeout=30)]
    busy.dispose()
    # Then both are told to come back shortly, not that the server broke
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert "busy" in answer.json()["error"] or "does not answer" in answer.json()["error"]


def test_the_command_line_says_the_database_is_unavailable_in_one_line(capsys, monkeypatch):
    from callbacks.main import main

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
    assert main(["status"]) == 3
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("error: database unavailable: ")


@pytest.mark.parametrize("header, token", [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer", None),
    ("Bearer ", None), (None, None), ("abc", None),
])
def test_bearer_header_parsing(header, token):
    assert bearer_token(header) == token


def test_environment_tokens_are_comma_separated_and_blanks_ignored():
    assert env_tokens({"CALLBACKS_API_TOKENS": " a, b ,,c "}) == ("a", "b", "c")
    assert env_tokens({}) == ()
