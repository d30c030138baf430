"""Brand-scoped API tokens over HTTP, with brands acme and beta: a token writes only to its
brands and reads only their bets, a read-only token never writes, an all-brands token reaches
both; environment tokens carry their scope; tokens stored before scopes existed reach every
brand."""
import uuid

import httpx
import pytest
import sqlalchemy as sa
from api_testkit import AUTH, callbacks, serve
from databases import admin_url
from factories import item

import sql
from api import store as api_store
from api.app import create_app
from api.auth import new_token, token_sha256
from delivery import brands, database, migrate
from delivery.errors import ConfigurationError

UNKNOWN_BET = "no bet {!r}: nothing was ever queued for it"


@pytest.fixture
def beta(api_db):
    """A second brand, beside acme."""
    return brands.add_brand(api_db, "beta", "http://127.0.0.1:9", retry_schedule_s=(0, 0, 0))


def stored_token(engine, name: str, **scope) -> dict:
    """Headers bearing a new stored token of this scope (``brands=...`` or ``all_brands``)."""
    token = new_token()
    api_store.add_api_token(engine, name, token_sha256(token), **scope)
    return {"Authorization": f"Bearer {token}"}


def post(http: httpx.Client, brand: str, bet_id: str, headers: dict) -> httpx.Response:
    return http.post(f"/v1/brands/{brand}/callbacks", headers=headers,
                     json={"callbacks": [item(bet_id, "/bet/place")]})


def queued_bets(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.text(
            "SELECT b.bet_id, br.name FROM bets b JOIN brands br ON br.id = b.brand_id")).all())


def test_a_token_queues_only_for_its_brands(anonymous, api_db, beta):
    # Given a token of acme
    acme_only = stored_token(api_db, "acme-feed", brands=["acme"])
    # When it queues for acme, then for beta and for a brand that does not exist
    assert post(anonymous, "acme", "a-1", acme_only).status_code == 201
    elsewhere = post(anonymous, "beta", "b-1", acme_only)
    nowhere = post(anonymous, "ghost", "g-1", acme_only)
    # Then beta is refused with a 403 saying why, and nothing is queued for it
    assert elsewhere.status_code == 403, elsewhere.text
    assert elsewhere.json() == {"error": elsewhere.json()["error"]}
    assert "'acme-feed' is not allowed to write to brand 'beta'" in elsewhere.json()["error"]
    assert queued_bets(api_db) == [("a-1", "acme")]
    # And a missing brand is answered exactly alike: the token is not told it does not exist
    assert nowhere.status_code == 403
    assert nowhere.text.replace("ghost", "beta") == elsewhere.text


def test_a_token_reads_only_its_brands_bets_and_others_look_unknown(anonymous, client, api_db,
                                                                    beta):
    acme_only = stored_token(api_db, "acme-feed", brands=["acme"])
    # Given how a bet that does not exist is answered
    before = anonymous.get("/v1/bets/b-1/callbacks", headers=acme_only)
    assert (before.status_code, before.json()) == (404, {"error": UNKNOWN_BET.format("b-1")})
    # When the bet is queued for beta and one for acme
    assert post(client, "beta", "b-1", AUTH).status_code == 201
    assert post(client, "acme", "a-1", AUTH).status_code == 201
    # Then the acme token still gets the very same answer for beta's bet
    after = anonymous.get("/v1/bets/b-1/callbacks", headers=acme_only)
    assert (after.status_code, after.content) == (404, before.content)
    assert {k: v for k, v in after.headers.items() if k != "date"} \
        == {k: v for k, v in before.headers.items() if k != "date"}
    # And it reads its own brand's bet
    own = anonymous.get("/v1/bets/a-1/callbacks", headers=acme_only)
    assert own.status_code == 200 and own.json()["brand"] == "acme"


def test_a_bet_shows_only_rows_of_its_own_brand(anonymous, client, api_db, beta):
    # Given bet x-1 of acme, and rows of beta grouped under the same id x-1 (a callback and an
    # attempt, as another brand's traffic with a colliding id would leave them)
    assert post(client, "acme", "x-1", AUTH).status_code == 201
    assert post(client, "beta", "b-1", AUTH).status_code == 201
    with api_db.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO callbacks (request_id, brand_id, bet_id, destination, payload, state) "
            "VALUES ('beta-row', :beta, 'x-1', '/bet/accept', '{}', 'waiting')"),
            {"beta": beta.id})
        conn.execute(sa.text(
            "INSERT INTO attempts (id, callback_id, group_id, brand_id, destination, origin, "
            "attempt_no, callback_created_at, started_at, request_headers, outcome) "
            "SELECT gen_random_uuid(), id, 'x-1', brand_id, destination, origin, 1, "
            "created_at, now(), '{}', 'sending' FROM callbacks WHERE bet_id = 'b-1'"))
    # When acme's token, and an all-brands one, read x-1
    for headers in (stored_token(api_db, "acme-feed", brands=["acme"]), AUTH):
        bet = anonymous.get("/v1/bets/x-1/callbacks", headers=headers).json()
        # Then they see acme's callback only, and no attempt
        assert [(c["request_id"] != "beta-row", c["attempts"]) for c in bet["callbacks"]] \
            == [(True, [])]


def test_a_read_only_token_reads_and_never_writes(anonymous, client, api_db, beta):
    reader = stored_token(api_db, "acme-reader", brands=["acme"], read_only=True)
    all_reader = stored_token(api_db, "all-reader", all_brands=True, read_only=True)
    assert post(client, "acme", "a-1", AUTH).status_code == 201
    for headers in (reader, all_reader):
        for brand in ("acme", "beta", "ghost"):
            refused = post(anonymous, brand, "a-2", headers)
            assert refused.status_code == 403, (brand, refused.text)
            assert "is read-only" in refused.json()["error"]
        assert anonymous.get("/v1/bets/a-1/callbacks", headers=headers).status_code == 200
    assert queued_bets(api_db) == [("a-1", "acme")]


def test_an_all_brands_token_reaches_both_and_is_told_of_unknown_brands(anonymous, api_db,
                                                                         beta):
    every = stored_token(api_db, "ops", all_brands=True)
    both = stored_token(api_db, "feed", brands=["acme", "beta"])
    for headers, bet in ((every, "e"), (both, "f")):
        assert post(anonymous, "acme", f"{bet}-a", headers).status_code == 201
        assert post(anonymous, "beta", f"{bet}-b", headers).status_code == 201
        for bet_id in (f"{bet}-a", f"{bet}-b"):
            assert anonymous.get(f"/v1/bets/{bet_id}/callbacks",
                                 headers=headers).status_code == 200
    unknown = post(anonymous, "ghost", "g-1", every)
    assert unknown.status_code == 404 and "no brand named 'ghost'" in unknown.json()["error"]


def test_a_renamed_or_removed_brand_widens_no_token(anonymous, client, api_db, beta):
    # Given a token of beta and one of acme
    beta_token = stored_token(api_db, "beta-feed", brands=["beta"])
    acme_token = stored_token(api_db, "acme-feed", brands=["acme"])
    # When beta is removed and another brand called beta is added, and acme is renamed and a
    # new brand takes its name
    with api_db.begin() as conn:
        conn.execute(sa.text("DELETE FROM brands WHERE name = 'beta'"))
        conn.execute(sa.text("UPDATE brands SET name = 'acme-old' WHERE name = 'acme'"))
    brands.add_brand(api_db, "beta", "http://127.0.0.1:9")
    brands.add_brand(api_db, "acme", "http://127.0.0.1:9")
    # Then neither token reaches the newcomers; acme's token follows its brand
    assert post(anonymous, "beta", "b-1", beta_token).status_code == 403
    assert post(anonymous, "acme", "a-1", acme_token).status_code == 403
    assert post(anonymous, "acme-old", "a-2", acme_token).status_code == 201
    assert post(client, "acme", "a-3", AUTH).status_code == 201
    assert anonymous.get("/v1/bets/a-3/callbacks", headers=acme_token).status_code == 404
    # And the list shows what is left of their scopes
    listed = {t["name"]: t for t in api_store.api_tokens(api_db)}
    assert (listed["beta-feed"]["all_brands"], listed["beta-feed"]["brands"]) == (False, [])
    assert listed["acme-feed"]["brands"] == ["acme-old"]


def test_environment_tokens_carry_their_scope(api_db, engine, beta):
    tokens = ["env-acme:acme", "env-both:acme+beta", "env-reader:*:read-only", "env-all",
              "env-ghost:ghost"]
    with serve(create_app(engine, tokens=tokens)) as url, \
            httpx.Client(base_url=url, timeout=30) as http:
        def bearer(token):
            return {"Authorization": f"Bearer {token}"}

        assert post(http, "acme", "a-1", bearer("env-acme")).status_code == 201
        refused = post(http, "beta", "b-1", bearer("env-acme"))
        assert refused.status_code == 403
        assert "'env#1' is not allowed to write to brand 'beta'" in refused.json()["error"]
        assert post(http, "beta", "b-1", bearer("env-both")).status_code == 201
        assert post(http, "beta", "b-2", bearer("env-all")).status_code == 201
        assert post(http, "acme", "a-2", bearer("env-reader")).status_code == 403
        assert post(http, "ghost", "g-1", bearer("env-acme")).status_code == 403
        assert post(http, "ghost", "g-1", bearer("env-ghost")).status_code == 404
        assert http.get("/v1/bets/a-1/callbacks", headers=bearer("env-acme")).status_code == 200
        assert http.get("/v1/bets/b-1/callbacks", headers=bearer("env-acme")).json() == {
            "error": UNKNOWN_BET.format("b-1")}
        for token in ("env-both", "env-reader", "env-all"):
            assert http.get("/v1/bets/b-1/callbacks", headers=bearer(token)).status_code == 200
    assert queued_bets(api_db) == [("a-1", "acme"), ("b-1", "beta"), ("b-2", "beta")]


def test_a_malformed_environment_token_stops_the_api_before_it_starts(api_db, database_url,
                                                                      engine):
    with pytest.raises(ConfigurationError, match="entry 2 of CALLBACKS_API_TOKENS"):
        create_app(engine, tokens=["fine", "s3cret:acme+"])
    env_run = callbacks(database_url, "api", "--port", "0",
                        environ={"CALLBACKS_API_TOKENS": "fine, s3cret:acme+"})
    assert env_run.returncode == 2
    assert "entry 2 of CALLBACKS_API_TOKENS has an empty brand list" in env_run.stderr
    assert "s3cret" not in env_run.stderr + env_run.stdout
    assert "listening" not in env_run.stdout


# --- tokens stored before scopes existed --------------------------------------------------------

@pytest.fixture
def database_before_scopes():
    """A database migrated up to the one before scoped tokens, holding a token stored the way
    that version did (``INSERT INTO api_tokens (name, token_sha256)``); then migrated to now.
    ``(url, token)``."""
    url_of_admin, server = admin_url()
    assert server is None, "this test needs a PostgreSQL server that answers"
    name = f"callbacks_test_tokens_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url_of_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(url_of_admin).set(database=name).render_as_string(hide_password=False)
    engine = database.make_engine(url)
    try:
        earlier = [(v, body) for v, body in sql.migrations() if v < "017"]
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE schema_migrations (version text PRIMARY KEY, "
                                 "applied_at timestamptz NOT NULL DEFAULT now())"))
            for version, body in earlier:
                with conn.connection.dbapi_connection.cursor() as curs:
                    curs.execute(body)  # as delivery.migrate does: no parameters
                conn.execute(sa.text("INSERT INTO schema_migrations VALUES (:v)"),
                             {"v": version})
        token = "cbk_stored-before-scopes"
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO api_tokens (name, token_sha256) "
                                 "VALUES (:name, :token_sha256)"),
                         {"name": "legacy-feed", "token_sha256": token_sha256(token)})
        assert "017_scoped_api_tokens" in migrate.upgrade(engine)
        yield url, engine, token
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_token_stored_before_scopes_reaches_every_brand(database_before_scopes):
    url, engine, token = database_before_scopes
    for brand in ("acme", "beta"):
        brands.add_brand(engine, brand, "http://127.0.0.1:9")
    legacy = {"Authorization": f"Bearer {token}"}
    with serve(create_app(engine)) as api, httpx.Client(base_url=api, timeout=30) as http:
        assert post(http, "acme", "a-1", legacy).status_code == 201
        assert post(http, "beta", "b-1", legacy).status_code == 201
        assert http.get("/v1/bets/b-1/callbacks", headers=legacy).json()["brand"] == "beta"
        assert post(http, "ghost", "g-1", legacy).status_code == 404
    listed = callbacks(url, "api-token", "list")
    assert listed.returncode == 0, listed.stderr
    assert "legacy-feed" in listed.stdout and "all brands" in listed.stdout
    assert "read-only" not in listed.stdout
    # and a token made now must say its scope: the column that reads "all" has no default
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO api_tokens (name, token_sha256) VALUES ('new', :h)"),
                     {"h": token_sha256("another")})


@pytest.mark.parametrize("role", ["callbacks_reader", "callbacks_operator", "callbacks_battery",
                                  "callbacks_reconciler"])
@pytest.mark.parametrize("table", ["api_tokens", "api_token_brands"])
def test_no_back_office_role_reads_tokens_or_their_brands(database_url, role, table):
    url = sa.make_url(database_url).set(username=role, password=None)
    as_role = sa.create_engine(url)
    try:
        with as_role.connect() as conn, \
                pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(f"SELECT * FROM {table}"))
    finally:
        as_role.dispose()
