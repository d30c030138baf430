"""The role the Integration Test page records runs through (callbacks_battery, migration 014):
it records a run of the brand in hand — the run, its cases and steps, the battery's own bets,
callbacks and attempts — and nothing else."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from factories import item
from scopes import key_of

from dashboard import connection
from delivery import brands as delivery_brands
from delivery import store
from delivery.validation import parse_callback

RUN = ("INSERT INTO integration_runs (brand_id, base_url, triggered_by, source, status, "
       "timeout_s, cases_total, started_at) VALUES (:b, 'http://x', 'me', :source, :status, 1, "
       "1, now()) RETURNING id")


@pytest.fixture
def brands(clean_db):
    acme = delivery_brands.add_brand(clean_db, "acme", "http://127.0.0.1:9").id
    other = delivery_brands.add_brand(clean_db, "other", "http://127.0.0.1:9").id
    store.enqueue(clean_db, "acme", [parse_callback(item("real-bet", "/bet/place"))])
    return acme, other


@pytest.fixture
def battery(database_url, brands, clean_db):
    engine = connection.battery_engine(
        connection.reader_url(database_url, connection.BATTERY_ROLE), brands[0],
        key=key_of(clean_db))
    yield engine
    engine.dispose()


def _refused(engine, statement: str, params: dict | None = None, match: str = "") -> str:
    with engine.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match=match) as err:
        conn.execute(sa.text(statement), params or {})
    return str(err.value.orig)


def test_it_records_a_run_of_its_brand_once(battery, brands, clean_db):
    acme, _ = brands
    with battery.begin() as conn:
        run_id = conn.execute(sa.text(RUN), {"b": acme, "source": "dashboard",
                                             "status": "running"}).scalar()
        conn.execute(sa.text(
            "INSERT INTO integration_cases (run_id, number, case_group, name, checks, status, "
            "steps_planned) VALUES (:r, 1, 'single', 'win', 'x', 'success', 1)"), {"r": run_id})
        done = conn.execute(sa.text("UPDATE integration_runs SET status = 'success' "
                                    "WHERE id = :r"), {"r": run_id})
        assert done.rowcount == 1
    with battery.begin() as conn:  # a finished run stays as it finished
        again = conn.execute(sa.text("UPDATE integration_runs SET status = 'failed' "
                                     "WHERE id = :r"), {"r": run_id})
        assert again.rowcount == 0
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM integration_runs")).scalar() == "success"


def test_it_cannot_record_for_another_brand_or_touch_real_traffic(battery, brands, clean_db):
    acme, other = brands
    _refused(battery, RUN, {"b": other, "source": "dashboard", "status": "running"},
             "row-level security")
    _refused(battery, RUN, {"b": acme, "source": "cli", "status": "success"},
             "row-level security")
    _refused(battery, "INSERT INTO bets (bet_id, brand_id, status) VALUES ('real-2', :b, 'NEW')",
             {"b": acme}, "row-level security")
    _refused(battery, "INSERT INTO callbacks (request_id, brand_id, bet_id, destination, "
             "payload, origin, state) VALUES ('r', :b, 'it01-x', '/bet/place', '{}', "
             "'producer', 'pending')", {"b": acme}, "row-level security")
    with battery.begin() as conn:  # real bets and callbacks are not even visible
        assert conn.execute(sa.text("UPDATE bets SET status = 'SETTLED'")).rowcount == 0
        assert conn.execute(sa.text("UPDATE callbacks SET state = 'skipped'")).rowcount == 0
        assert conn.execute(sa.text("SELECT count(*) FROM bets")).scalar() == 0
    for statement in ("DELETE FROM integration_runs", "DELETE FROM attempts",
                      "UPDATE brands SET base_url = 'http://evil'",
                      "SELECT foreign_params FROM callbacks", "SELECT * FROM users",
                      "SELECT * FROM api_tokens", "TRUNCATE integration_runs CASCADE",
                      "UPDATE integration_runs SET brand_id = 2"):
        _refused(battery, statement, match="permission denied")
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM bets WHERE bet_id = 'real-bet'")
                            ).scalar() == "NEW"
        assert conn.execute(sa.text("SELECT count(*) FROM integration_runs")).scalar() == 0


def test_its_url_is_the_owners_with_the_battery_role(database_url):
    url = connection.battery_url({"DATABASE_URL": database_url})
    assert sa.make_url(url).username == "callbacks_battery"
    assert sa.make_url(url).database == sa.make_url(database_url).database
    assert connection.battery_url({"DASHBOARD_BATTERY_DATABASE_URL": "postgres://b:p@h/d"}) \
        == "postgresql+psycopg2://b:p@h/d"
