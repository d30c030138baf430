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
from scopes import set_scope
from test_cli import callbacks

import sql
from delivery import actions, brands, database, migrate, signing, store
from delivery.errors import ActionRefused, WrongState
from delivery.sender import make_transport
from delivery.validation import parse_callback

USER, PASSWORD = "ann@acme", "p4ss/w0rd:#x"
#: The password as it is written in a URL (percent-encoded).
WRITTEN = "ann%40acme:p4ss%2Fw0rd%3A%23x"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
#: What must never be found stored or shown: the password, as typed, as written, as sent.
NEEDLES = (PASSWORD, "p4ss%2Fw0rd", "p4ss/w0rd", BASIC.split()[1])
ROLES = ("callbacks_reader", "callbacks_operator", "callbacks_battery")


def _url(receiver_url: str, path: str = "/cb?k=v&z=1") -> str:
    return receiver_url.replace("http://", f"http://{WRITTEN}@") + path


def _found(engine, table: str) -> list[str]:
    """The needles found anywhere in the table's rows, read as the owner."""
    with engine.connect() as conn:
        text = "\n".join(conn.execute(sa.text(f"SELECT t::text FROM {table} t")).scalars())
    return [n for n in NEEDLES if n in text]


def _enqueue(engine, brand: str, bet_id: str, destinations=("/bet/place", "/bet/accept")):
    store.enqueue(engine, brand, [parse_callback(item(bet_id, d)) for d in destinations])


@pytest.mark.parametrize("client", ["worker transport", "httpx client"])
def test_credentials_and_query_reach_the_platform_and_are_never_stored(clean_db, client):
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    with Receiver() as platform:
        brand = brands.add_brand(clean_db, "acme", _url(platform.url), signing_secret=secret)
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
        assert _found(clean_db, table) == [], table
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


def _role(database_url: str, role: str, owner: sa.Engine) -> sa.Engine:
    engine = sa.create_engine(sa.make_url(database_url).set(username=role, password=None))

    @sa.event.listens_for(engine, "begin")
    def _every_brand(conn):
        # Not merely read-only (the reader is, by default): refused a write, it is not allowed
        # one at all. And the widest scope a back-office session can be given.
        conn.exec_driver_sql("SET TRANSACTION READ WRITE")
        set_scope(owner, conn, "*")

    return engine


@pytest.mark.parametrize("role", ROLES)
def test_no_back_office_role_can_read_or_write_the_credentials(clean_db, database_url, role):
    brand = brands.add_brand(clean_db, "acme", _url("http://127.0.0.1:9"))
    engine = _role(database_url, role, clean_db)
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


def test_set_url_replaces_or_drops_the_credentials_and_the_audit_never_holds_them(clean_db):
    brand = brands.add_brand(clean_db, "acme", "http://127.0.0.1:9/cb")
    owner = actions.Actor("ops", "platform moved")
    first = actions.set_url(clean_db, "acme", _url("http://127.0.0.1:9"), owner)
    assert first.parameters["credentials"] == "added"
    # the trail keeps a query string's names, not its values (they may be tokens)
    assert first.parameters["new_url"] == "http://127.0.0.1:9/cb?k=***&z=***"
    with pytest.raises(WrongState, match="already with these credentials"):
        actions.set_url(clean_db, "acme", _url("http://127.0.0.1:9"), owner)
    rotated = actions.set_url(clean_db, "acme", "http://bob:n3w@127.0.0.1:9/cb?k=v&z=1", owner)
    assert rotated.parameters["credentials"] == "replaced"
    assert brands.url_credentials(clean_db, brand.id) == "bob:n3w"
    dry = actions.set_url(clean_db, "acme", "http://127.0.0.1:8/cb", owner, dry_run=True)
    assert dry.parameters["credentials"] == "removed"
    assert brands.url_credentials(clean_db, brand.id) == "bob:n3w"
    moved = actions.set_url(clean_db, "acme", "http://127.0.0.1:8/cb", owner)
    assert moved.parameters["credentials"] == "removed"
    assert brands.url_credentials(clean_db, brand.id) is None
    for table in ("actions", "brands"):
        assert _found(clean_db, table) == [] and "n3w" not in str(_rows(clean_db, table))


def _rows(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT t::text FROM {table} t")).scalars().all()


def test_a_back_office_re_route_drops_the_credentials_it_cannot_see(clean_db, database_url):
    brand = brands.add_brand(clean_db, "acme", _url("http://127.0.0.1:9"))
    operator = _role(database_url, "callbacks_operator", clean_db)
    who = actions.Actor("ann", "moved", "dashboard")
    try:
        with pytest.raises(ActionRefused, match="only the owner may store") as refused:
            actions.set_url(operator, "acme", _url("http://127.0.0.1:8"), who)
        assert not [n for n in NEEDLES if n in str(refused.value)]
        assert brands.url_credentials(clean_db, brand.id) == f"{USER}:{PASSWORD}"
        moved = actions.set_url(operator, "acme", "http://127.0.0.1:8/cb", who)
    finally:
        operator.dispose()
    assert moved.parameters["new_url"] == "http://127.0.0.1:8/cb"
    # They never follow the brand to another URL, though the operator could not read them.
    assert brands.url_credentials(clean_db, brand.id) is None


def test_brand_add_without_credentials_removes_them(clean_db):
    brand = brands.add_brand(clean_db, "acme", _url("http://127.0.0.1:9"))
    brands.add_brand(clean_db, "acme", _url("http://127.0.0.1:9"))  # the same again: kept
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
                assert _found(engine, table) == [], table
            with engine.begin() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
                conn.execute(sa.text("UPDATE actions SET reason = ''"))
        finally:
            engine.dispose()
    assert this in dict(sql.migrations())
