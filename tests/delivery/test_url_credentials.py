"""A brand URL with credentials and a query string: the credentials go out as Authorization:
Basic and are stored apart, where no back-office role can read them; the query string goes
after the destination path; nothing of the password is stored with an attempt, an action or a
run, nor printed."""
import base64
import json

import httpx
import pytest
import sqlalchemy as sa
from databases import deliver_round, scratch_database
from factories import item
from receiver import Receiver
from test_cli import callbacks
from url_credentials import (
    BASIC,
    NEEDLES,
    PASSWORD,
    ROLES,
    USER,
    WRITTEN,
    found_secrets,
    role_engine,
    secret_url,
)

import sql
from delivery import brands, database, migrate, signing, store
from delivery.sender import make_transport
from delivery.validation import parse_callback


def _enqueue(engine, brand: str, bet_id: str, destinations=("/bet/place", "/bet/accept")):
    store.enqueue(engine, brand, [parse_callback(item(bet_id, d)) for d in destinations])


@pytest.mark.parametrize("client", ["worker transport", "httpx client"])
def test_credentials_and_query_reach_the_platform_and_are_never_stored(clean_db, client):
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    with Receiver() as platform:
        brand = brands.add_brand(clean_db, "acme", secret_url(platform.url), signing_secret=secret)
        assert brand.base_url == f"{platform.url}/cb?k=v&z=1"
        _enqueue(clean_db, "acme", "bet-1")
        sender = make_transport(2) if client == "worker transport" else httpx.Client()
        with sender:
            assert deliver_round(clean_db, sender) == 2
    assert [s.path for s in platform.seen] == ["/cb/bet/place?k=v&z=1",
                                               "/cb/bet/accept?k=v&z=1"]
    assert [s.headers["authorization"] for s in platform.seen] == [BASIC, BASIC]
    # The signature is over the id, the time and the body: the credentials change nothing.
    assert all(signing.verify(secret, s.headers, s.raw) for s in platform.seen)
    with clean_db.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT request_headers FROM attempts ORDER BY started_at")).scalars().all()
    assert len(stored) == 2 and all(h["Authorization"].startswith("***") for h in stored)
    for table in ("attempts", "callbacks", "brands", "actions"):
        assert found_secrets(clean_db, table) == [], table
    assert brands.url_credentials(clean_db, brand.id) == f"{USER}:{PASSWORD}"


def test_a_brand_without_credentials_sends_no_authorization(clean_db):
    with Receiver() as platform:
        brands.add_brand(clean_db, "acme", platform.url + "/?k=v")
        _enqueue(clean_db, "acme", "bet-1", ("/bet/place",))
        with make_transport(1) as transport:
            deliver_round(clean_db, transport)
    assert platform.seen[0].path == "/bet/place?k=v"
    assert "authorization" not in platform.seen[0].headers


def test_brand_add_and_list_never_show_the_credentials(database_url, clean_db):
    added = callbacks(database_url, "brand", "add", "acme", "--url",
                      f"HTTPS://{WRITTEN}@Ops.Example/cb?k=v")
    assert added.returncode == 0, added.stderr
    assert "brand acme → https://ops.example/cb?k=v with Basic credentials" in added.stdout
    listed = callbacks(database_url, "brand", "list")
    as_json = callbacks(database_url, "brand", "list", "--json")
    assert "https://ops.example/cb?k=v  (Basic credentials)" in listed.stdout
    row, = json.loads(as_json.stdout)
    assert row["base_url"] == "https://ops.example/cb?k=v" and row["url_credentials"] is True
    for done in (added, listed, as_json):
        assert not [n for n in NEEDLES if n in done.stdout + done.stderr]
    refused = callbacks(database_url, "brand", "add", "acme", "--url",
                        f"https://{WRITTEN}@ops.example/cb#top")
    assert refused.returncode == 2 and "has a fragment" in refused.stderr
    assert "--url 'https://ann%40acme:***@ops.example/cb#top'" in refused.stderr
    assert not [n for n in NEEDLES if n in refused.stderr]


@pytest.mark.parametrize("role", ROLES)
def test_no_back_office_role_can_read_or_write_the_credentials(clean_db, database_url, role):
    brand = brands.add_brand(clean_db, "acme", secret_url("http://127.0.0.1:9"))
    engine = role_engine(database_url, role, clean_db)
    try:
        with engine.connect() as conn:  # the role itself works: it reads the clean URL
            assert conn.execute(sa.text("SELECT base_url FROM brands")).scalar() \
                == "http://127.0.0.1:9/cb?k=v&z=1"
        for statement in (
                "SELECT * FROM brand_url_credentials",
                "SELECT password FROM brand_url_credentials",
                "SELECT count(*) FROM brand_url_credentials",
                f"UPDATE brand_url_credentials SET password = 'x' WHERE brand_id = {brand.id}",
                f"DELETE FROM brand_url_credentials WHERE brand_id = {brand.id}",
                f"INSERT INTO brand_url_credentials (brand_id, username, password) "
                f"VALUES ({brand.id}, 'eve', 'x')"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with engine.begin() as conn:
                    conn.execute(sa.text(statement))
    finally:
        engine.dispose()
    assert brands.url_credentials(clean_db, brand.id) == f"{USER}:{PASSWORD}"


def test_brand_add_without_credentials_removes_them(clean_db):
    brand = brands.add_brand(clean_db, "acme", secret_url("http://127.0.0.1:9"))
    brands.add_brand(clean_db, "acme", secret_url("http://127.0.0.1:9"))  # the same again: kept
    assert brands.url_credentials(clean_db, brand.id) == f"{USER}:{PASSWORD}"
    brands.add_brand(clean_db, "acme", "http://127.0.0.1:9/cb?k=v&z=1")
    assert brands.url_credentials(clean_db, brand.id) is None


def test_the_migration_moves_credentials_out_of_existing_rows():
    """Rows written before migration 019 (URLs with credentials wherever they were copied)
    come out of it clean, the credentials kept apart."""
    this = "019_url_credentials"
    with scratch_database("callbacks_urls") as url:
        engine = database.make_engine(url)
        try:
            with engine.begin() as conn:
                # Every migration but this one has run on the database (others may come after).
                conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = :v"),
                             {"v": this})
                conn.execute(sa.text("DROP TRIGGER brands_url_changed ON brands"))
                conn.execute(sa.text("DROP FUNCTION forget_brand_url_credentials()"))
                conn.execute(sa.text("DROP TABLE brand_url_credentials"))
                conn.execute(sa.text(
                    "INSERT INTO brands (id, name, base_url, retry_schedule_s, timeout_s, "
                    "max_in_flight) VALUES "
                    f"(1, 'acme', 'https://{WRITTEN}@ops.example/cb?k=v', '{{0}}', 5, 1), "
                    "(2, 'zeta', 'https://tok3n@zeta.example', '{0}', 5, 1), "
                    "(3, 'plain', 'https://plain.example/cb?mail=a@b', '{0}', 5, 1)"))
                conn.execute(sa.text(
                    "INSERT INTO brand_test_urls (brand_id, url) VALUES "
                    f"(1, 'https://{WRITTEN}@staging.example/cb'), "
                    "(1, 'https://qa:x@twin.example/cb'), (1, 'https://twin.example/cb')"))
                conn.execute(sa.text(
                    "INSERT INTO actions (brand_id, kind, actor, reason, source, parameters, "
                    "callbacks, bets) "
                    "VALUES (1, 'set_url', 'ops', 'moved', 'cli', CAST(:p AS jsonb), 0, 0)"),
                    {"p": json.dumps({"old_url": f"https://{WRITTEN}@old.example/cb",
                                      "new_url": f"https://{WRITTEN}@ops.example/cb?k=v",
                                      "queued": 0})})
            assert migrate.upgrade(engine) == [this]
            with engine.connect() as conn:
                stored = dict(conn.execute(sa.text("SELECT name, base_url FROM brands")).all())
                test_urls = conn.execute(sa.text(
                    "SELECT url FROM brand_test_urls ORDER BY url")).scalars().all()
                parameters = conn.execute(sa.text("SELECT parameters FROM actions")).scalar()
            assert stored == {"acme": "https://ops.example/cb?k=v",
                              "zeta": "https://zeta.example",
                              "plain": "https://plain.example/cb?mail=a@b"}
            assert brands.url_credentials(engine, 1) == f"{USER}:{PASSWORD}"
            assert brands.url_credentials(engine, 2) == "tok3n:"
            assert brands.url_credentials(engine, 3) is None
            assert test_urls == ["https://staging.example/cb", "https://twin.example/cb"]
            assert parameters == {"old_url": "https://old.example/cb",
                                  "new_url": "https://ops.example/cb?k=v", "queued": 0}
            for table in ("brands", "brand_test_urls", "actions"):
                assert found_secrets(engine, table) == [], table
            with engine.begin() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
                conn.execute(sa.text("UPDATE actions SET reason = ''"))
        finally:
            engine.dispose()
    assert this in dict(sql.migrations())
