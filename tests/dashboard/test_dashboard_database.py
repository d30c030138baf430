"""The dashboard's database side: the read-only role, migration 002 on a server where the role
exists already, and keyset pagination over real rows."""
from __future__ import annotations

import csv
import uuid
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
from dashboard_scenarios import UNKNOWN_DETAIL, VERDICT_BETS
from scopes import key_of, set_scope

from dashboard import connection, queries
from dashboard.filters import EPOCH, CodeFilter, HistoryFilter
from dashboard.shaping import group_by_bet
from delivery import database, migrate


@pytest.fixture
def reader(scenario_db, reader_env):
    engine = sa.create_engine(reader_env)
    yield engine
    engine.dispose()


def test_reader_can_read_history_of_the_brands_it_is_given_and_nothing_else(reader,
                                                                            scenario_db):
    with reader.connect() as conn:
        set_scope(scenario_db, conn, "*")
        assert conn.execute(sa.text("SELECT count(*) FROM attempts")).scalar_one() > 0
    with reader.connect() as conn:  # no brands named: nothing
        assert conn.execute(sa.text("SELECT count(*) FROM attempts")).scalar_one() == 0


@pytest.mark.parametrize("statement", [
    "INSERT INTO brands (name, base_url, retry_schedule_s, timeout_s, max_in_flight) "
    "VALUES ('x', 'http://x', '{0}', 1, 1)",
    "UPDATE callbacks SET state = 'pending'",
    "DELETE FROM attempts",
    "TRUNCATE bets CASCADE",
])
def test_a_write_through_the_reader_fails(reader, statement):
    with reader.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("SET default_transaction_read_only = off"))  # grants still hold
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(statement))


@pytest.mark.parametrize("column", ["brands.signing_secret", "callbacks.foreign_params"])
def test_the_reader_cannot_see_secrets(reader, column):
    table, name = column.split(".")
    with reader.connect() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                 match="permission denied"):
        conn.execute(sa.text(f"SELECT {name} FROM {table}"))


def test_dashboard_sessions_are_read_only_even_without_the_grants(reader_env):
    engine = connection.make_engine(reader_env)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW default_transaction_read_only")).scalar_one() == "on"
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar_one() == "20s"
    engine.dispose()


def test_migrating_another_database_reuses_the_existing_role(database_url):
    admin = sa.create_engine(sa.make_url(database_url).set(database="postgres"),
                             isolation_level="AUTOCOMMIT")
    name = f"callbacks_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        owner = database.make_engine(url)
        assert "002_dashboard" in migrate.upgrade(owner, broker_tables=False)
        reader = connection.make_engine(connection.reader_url(url), key=key_of(owner))
        connection.check(reader)
        reader.dispose()
        owner.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_unreachable_reader_says_what_to_do():
    engine = connection.make_engine("postgresql://callbacks_reader@127.0.0.1:1/nowhere")
    with pytest.raises(connection.DashboardUnavailable, match="DASHBOARD_DATABASE_URL"):
        connection.check(engine)


def test_reader_url_keeps_host_and_database_and_drops_the_password():
    url = connection.reader_url("postgresql://owner:s3cret@db.example:6543/callbacks")
    assert url == "postgresql+psycopg2://callbacks_reader@db.example:6543/callbacks"
    assert connection.dashboard_url({"DASHBOARD_DATABASE_URL": "postgres://r:p@h/d"}) == \
        "postgresql+psycopg2://r:p@h/d"


def test_history_pages_cover_every_attempt_once_in_order(scenario_db, reader_env):
    with scenario_db.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM attempts")).scalar_one()
    filters = HistoryFilter(EPOCH, EPOCH.replace(year=2100), codes=CodeFilter())
    pages, cursor = [], None
    while True:
        page = queries.history(filters, cursor, limit=3)
        pages.append(page.rows)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    seen = [r for rows in pages for r in rows]
    assert len(seen) == total == len({r["attempt_id"] for r in seen})
    # The pages are read newest callback first (the index's order), each shown by bet
    newest_first = sorted(seen, key=lambda r: (r["callback_created_at"], r["started_at"],
                                               str(r["attempt_id"])), reverse=True)
    assert [[r["attempt_id"] for r in rows] for rows in pages] == [
        [r["attempt_id"] for r in group_by_bet(newest_first[at:at + 3])]
        for at in range(0, total, 3)]


def test_bets_pages_cover_every_bet_once(scenario_db, reader_env):
    seen, cursor = [], None
    while True:
        page = queries.bets(None, EPOCH, EPOCH.replace(year=2100), (), None, (), cursor,
                            limit=2)
        seen += [r["bet_id"] for r in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == len(VERDICT_BETS) - 1  # bet-unknown has no bet row


def test_history_csv_has_the_seed_columns_and_every_filtered_row(scenario_db, reader_env):
    from dashboard.tables import HISTORY_EXPORT

    filters = HistoryFilter(EPOCH, EPOCH.replace(year=2100), group_ids=("bet-5xx",))
    lines = queries.history_csv(filters, HISTORY_EXPORT, "UTC").decode().splitlines()
    assert lines[0].startswith("Group ID,Attempt ID,Destination,Created at,Sent at,Attempt,")
    assert len(lines) == 3 and all(line.startswith("bet-5xx,") for line in lines[1:])


def test_history_csv_exports_attempts_in_progress_and_unknown_ones(scenario_db, reader_env):
    from dashboard.tables import HISTORY_EXPORT

    filters = HistoryFilter(EPOCH, EPOCH.replace(year=2100),
                            group_ids=("bet-in-flight", "bet-outcome-unknown"))
    text = queries.history_csv(filters, HISTORY_EXPORT, "UTC").decode()
    rows = {r["Group ID"]: r for r in csv.DictReader(text.splitlines())}
    sending, unknown = rows["bet-in-flight"], rows["bet-outcome-unknown"]
    assert (sending["Outcome"], sending["Finished at"], sending["Duration ms"],
            sending["Response code"]) == ("sending", "", "", "")
    assert sending["Sent at"].endswith("+00:00")
    assert unknown["Outcome"] == unknown["Error class"] == "unknown"
    assert unknown["Response error"] == UNKNOWN_DETAIL + unknown["Attempt ID"]
    assert unknown["Finished at"] > unknown["Sent at"]
    assert unknown["Duration ms"] == ""  # how long the row stayed open, not a request time


def test_breakdown_queries_keep_unknown_and_sending_apart(scenario_db, reader_env):
    from datetime import datetime

    now = datetime.now(UTC)
    counts, latency = queries.fetch_breakdown(None, now - timedelta(hours=2),
                                              now + timedelta(minutes=1), timedelta(hours=1),
                                              EPOCH, False, use_rollup=False)
    by_outcome = counts.groupby("outcome")["attempts"].sum()
    assert (by_outcome["sending"], by_outcome["unknown"]) == (1, 1)
    assert counts["duration_ms_sum"].notna().all()
    assert counts.loc[counts["outcome"].isin(["sending", "unknown"]), "duration_ms_sum"].eq(0).all()
    with scenario_db.connect() as conn:
        measured = conn.execute(sa.text(
            "SELECT count(*) FROM attempts WHERE outcome NOT IN ('sending', 'unknown')"
        )).scalar_one()
    assert latency["latency_bucket"].notna().all()
    assert latency["attempts"].sum() == measured


def test_the_owner_url_is_never_guessed():
    """Without DATABASE_URL the dashboard says what to set, rather than start a server."""
    with pytest.raises(connection.DashboardUnavailable, match="DATABASE_URL is not set"):
        connection.owner_url({})
    assert connection.owner_url({"DATABASE_URL": "postgres://o:p@h/d"}) == \
        "postgresql+psycopg2://o:p@h/d"
