"""Past reconciliations (reconcile/store.py, migration 026): recorded whole with who ran them,
read back per brand through row-level security, and written by the back-office only through
callbacks_reconciler, for the brands of its verified scope."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from reconciliations import brand_id, stranger_report
from scopes import key_of

from dashboard import connection
from reconcile import run, store


@pytest.fixture
def brands(clean_db):
    return brand_id(clean_db, "acme"), brand_id(clean_db, "other")


def _report(engine, brand: int, name: str, tmp_path):
    return stranger_report(engine, name, tmp_path)


def _reader(database_url, clean_db, brand_id: int):
    return connection.make_engine(connection.reader_url(database_url),
                                  brands=lambda: connection.brands_setting([brand_id]),
                                  key=key_of(clean_db))


@pytest.fixture
def reconciler(database_url, brands, clean_db):
    engine = connection.reconciler_engine(
        connection.reader_url(database_url, connection.RECONCILER_ROLE), brands[0],
        key=key_of(clean_db))
    yield engine
    engine.dispose()


def test_a_reconciliation_is_kept_with_who_ran_it_and_its_bets(
        clean_db, database_url, brands, reconciler, tmp_path):
    acme, other = brands
    scope, report = _report(clean_db, acme, "acme", tmp_path)
    new_id = store.save(reconciler, scope, report, "ana", b"bet_id,amount\n")
    store.save(clean_db, run.Scope(other, "other"), _report(clean_db, other, "other",
                                                             tmp_path)[1], "root", source="cli")

    reader = _reader(database_url, clean_db, acme)
    try:
        [kept] = store.past(reader)
        assert (kept.id, kept.brand, kept.run_by, kept.source) == (new_id, "acme", "ana",
                                                                   "dashboard")
        assert (kept.bets, kept.matching, kept.not_matching, kept.all_match) == (2, 0, 2, False)
        assert (kept.ledger_name, kept.ledger_rows, kept.kept_file) == ("acme.csv", 2, True)
        assert kept.summary == report.summary.rows()
        bets = store.bets_of(reader, new_id)
        assert [(b["bet_id"], b["verdict"], b["difference"], b["player_id"]) for b in bets] == [
            ("stranger-1", "unknown_to_us", "-3.00", "p-1"),
            ("stranger-2", "unknown_to_us", "5.00", "p-2")]
        assert store.ledger_file_of(reader, new_id) == ("acme.csv", b"bet_id,amount\n")
        # the other brand's reconciliation is not there for this reader, even asked by id
        [theirs] = [r.id for r in store.past(clean_db) if r.brand == "other"]
        assert store.past(reader, [other]) == []
        assert store.bets_of(reader, theirs) == []
        assert store.ledger_file_of(reader, theirs) is None
    finally:
        reader.dispose()


def test_the_ledger_file_is_kept_only_when_asked(clean_db, brands, tmp_path):
    scope, report = _report(clean_db, brands[0], "acme", tmp_path)
    new_id = store.save(clean_db, scope, report, "ana")
    assert store.past(clean_db)[0].kept_file is False
    assert store.ledger_file_of(clean_db, new_id) is None


def test_the_reconciler_records_only_its_brand_and_changes_nothing(
        clean_db, brands, reconciler, tmp_path):
    acme, other = brands
    scope, report = _report(clean_db, other, "other", tmp_path)
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        store.save(reconciler, scope, report, "ana")
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        store.save(reconciler, run.Scope(acme, "acme"), report, "ana", source="cli")
    new_id = store.save(reconciler, run.Scope(acme, "acme"), report, "ana")
    for statement in ("UPDATE reconciliations SET run_by = 'x'", "DELETE FROM reconciliations",
                      "DELETE FROM reconciliation_bets", "SELECT ledger_file FROM "
                      "reconciliations", "SELECT * FROM callbacks", "SELECT * FROM users",
                      "SELECT * FROM installation_keys", "UPDATE brands SET name = 'x'"):
        with reconciler.begin() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                        match="permission denied"):
            conn.execute(sa.text(statement))
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM reconciliations")).scalar() == 1
        assert conn.execute(sa.text(
            "SELECT count(*) FROM reconciliation_bets WHERE reconciliation_id = :i"),
            {"i": new_id}).scalar() == 2


def test_its_url_is_the_owners_with_the_reconciler_role(database_url):
    url = connection.reconciler_url({"DATABASE_URL": database_url})
    assert sa.make_url(url).username == "callbacks_reconciler"
    assert connection.reconciler_url(
        {"DASHBOARD_RECONCILER_DATABASE_URL": "postgres://r:p@h/d"}) == \
        "postgresql+psycopg2://r:p@h/d"
