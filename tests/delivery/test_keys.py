"""Installation keys: SQL's HMAC equals Python's, keys are made once and kept, and no
back-office role can read them."""
from __future__ import annotations

import hashlib
import hmac

import pytest
import sqlalchemy as sa

from delivery import keys


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])
@pytest.mark.parametrize("message", [b"", b"user=ana;brands=3,7", "Ünïcødé €".encode() * 40])
def test_sql_hmac_equals_pythons(engine, key_length, message):
    key = bytes(range(256))[:key_length]
    with engine.connect() as conn:
        in_sql = conn.execute(sa.text("SELECT callbacks_hmac_sha256(:k, :m)"),
                              {"k": key, "m": message}).scalar_one()
    assert bytes(in_sql) == hmac.new(key, message, hashlib.sha256).digest()
    assert keys.hmac_sha256(key, message) == bytes(in_sql)


def test_a_key_is_made_once_and_kept(engine):
    with engine.begin() as conn:
        first = keys.installation_key(conn, "test_key_kept")
        again = keys.installation_key(conn, "test_key_kept")
        scope = keys.installation_key(conn, keys.SCOPE)
        cookie = keys.installation_key(conn, keys.SESSION_COOKIE)
    assert first == again and len(first) == 48
    assert len({first, scope, cookie}) == 3


@pytest.mark.parametrize("role", ["callbacks_reader", "callbacks_operator", "callbacks_battery",
                                  "callbacks_reconciler"])
@pytest.mark.parametrize("statement", ["SELECT secret FROM installation_keys",
                                       "SELECT installation_key('back_office_scope')",
                                       "SELECT installation_key('made_by_a_reader')"])
def test_no_back_office_role_reads_or_makes_keys(database_url, role, statement):
    url = sa.make_url(database_url).set(username=role, password=None)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_a_cached_key_is_the_stored_key(engine):
    with engine.begin() as conn:
        stored = keys.installation_key(conn, keys.FINGERPRINT)
    assert keys.cached_key(engine, keys.FINGERPRINT) == stored
