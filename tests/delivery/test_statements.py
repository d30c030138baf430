"""Named queries run as prepared statements: each prepares on PostgreSQL, once per connection
and period, and a connection the pool replaced prepares again."""
import pytest
import sqlalchemy as sa

import sql
from delivery import brands, database, statements


@pytest.fixture
def fresh(engine):
    """An engine whose every connection is new: nothing prepared on it by earlier tests."""
    own = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    yield own
    own.dispose()


def _prepared_here(conn) -> set[str]:
    return set(conn.execute(sa.text("SELECT name FROM pg_prepared_statements")).scalars())


@pytest.mark.parametrize("filename", ["queries.sql", "api.sql", "stopping.sql"])
def test_every_named_query_prepares(fresh, clean_db, filename):
    # A parameter PostgreSQL cannot type from its context (a bare ":x IS NULL") would fail here
    # rather than in the middle of a worker's transaction.
    with fresh.connect() as conn:
        for name in sql.queries(filename):
            handle, prepare, _ = statements._statement(filename, name)
            with conn.connection.dbapi_connection.cursor() as cursor:
                cursor.execute(prepare)
                cursor.execute(f"DEALLOCATE {handle}")
        conn.rollback()


def test_a_statement_is_prepared_once_per_connection_and_reused(fresh, clean_db):
    with fresh.connect() as conn:
        first = statements.run(conn, "status").one()
        assert "cd_queries_status" in _prepared_here(conn)
        conn.execute(sa.text("DEALLOCATE cd_queries_status"))
        # Still within its period: run() trusts the connection's record and EXECUTEs.
        with pytest.raises(sa.exc.DBAPIError, match="does not exist"):
            statements.run(conn, "status")
        conn.rollback()
        assert first is not None


def test_a_replaced_connection_prepares_again(fresh, clean_db):
    with fresh.connect() as conn:
        statements.run(conn, "status").one()
        conn.invalidate()  # what the pool does when the server went away
        conn.rollback()
        assert "cd_queries_status" not in _prepared_here(conn)
        statements.run(conn, "status").one()
        assert "cd_queries_status" in _prepared_here(conn)


def test_a_statement_is_prepared_again_after_its_period_which_doubles(fresh, clean_db):
    now = [1000.0]

    def clock():
        return now[0]

    def plans_made(conn) -> str:
        return conn.execute(sa.text(
            "SELECT prepare_time FROM pg_prepared_statements WHERE name = 'cd_queries_status'"
        )).scalar()

    with fresh.connect() as conn:
        statements.run(conn, "status", clock=clock).one()
        conn.commit()
        made = plans_made(conn)
        now[0] += statements.REPREPARE_FIRST_S / 2
        statements.run(conn, "status", clock=clock).one()
        conn.commit()
        assert plans_made(conn) == made, "prepared again within its first period"
        now[0] += statements.REPREPARE_FIRST_S
        statements.run(conn, "status", clock=clock).one()
        conn.commit()
        again = plans_made(conn)
        assert again > made
        now[0] += statements.REPREPARE_FIRST_S * 1.5  # within the doubled period
        statements.run(conn, "status", clock=clock).one()
        conn.commit()
        assert plans_made(conn) == again
        now[0] += statements.REPREPARE_FIRST_S
        statements.run(conn, "status", clock=clock).one()
        conn.commit()
        assert plans_made(conn) > again


def test_values_are_cast_to_each_parameters_type(fresh, clean_db):
    # psycopg2 writes a list of strings as text[]; the statement's parameter is uuid[].
    with fresh.connect() as conn:
        rows = statements.run(conn, "complete_attempts", {
            "rows": "[]", "started_ats": [], "ids": ["0b0e6c9c-5e0e-4b43-9d55-000000000000"]})
        assert rows.rowcount == 0
        conn.rollback()


def test_a_preparation_the_record_lost_is_done_again(fresh, clean_db):
    # The session holds the statement but the connection's record does not (a preparation
    # that failed after its PREPARE): preparing again replaces it instead of failing.
    with fresh.connect() as conn:
        statements.run(conn, "status").one()
        conn.connection.info[statements._PREPARED].clear()
        assert statements.run(conn, "status").one() is not None
        assert "cd_queries_status" in _prepared_here(conn)


def _plans(conn, handle: str) -> tuple[int, int]:
    return conn.execute(sa.text("SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                                " WHERE name = :h"), {"h": handle}).one()


@pytest.mark.parametrize("generic", [False, True])
def test_the_workers_connections_plan_their_statements_once(engine, clean_db, generic):
    # Completing attempts touches the month-partitioned history: PostgreSQL weighs a plan for
    # the values (one month) as cheaper than the generic one (every month) and would plan each
    # call afresh. The worker's engine runs the generic plan instead.
    own = database.make_engine(engine.url.render_as_string(hide_password=False),
                               pool_size=1, generic_plans=generic)
    try:
        with own.connect() as conn:
            for _ in range(8):
                statements.run(conn, "complete_attempts",
                               {"rows": "[]", "started_ats": [], "ids": []})
            generic_plans, custom_plans = _plans(conn, "cd_queries_complete_attempts")
            conn.rollback()
    finally:
        own.dispose()
    if generic:
        assert (generic_plans, custom_plans) == (8, 0)
    else:
        assert (generic_plans, custom_plans) == (0, 8)


def test_several_statements_go_in_one_round_trip_and_answer_with_the_last(fresh, clean_db):
    brands.add_brand(fresh, "a", "http://a.example")
    brands.add_brand(fresh, "b", "http://b.example")
    with fresh.connect() as conn:
        # The same parameter name in each statement, a value of its own in each.
        rows = statements.run_many(conn, [
            ("set_brand_currency", {"name": "a", "currency": "EUR"}),
            ("set_brand_currency", {"name": "b", "currency": "GBP"}),
            ("brand_named", {"name": "b"}),
        ], filename="brands.sql").all()
        assert [r.name for r in rows] == ["b"]
        assert dict(conn.execute(sa.text("SELECT name, currency FROM brands")).all()) == {
            "a": "EUR", "b": "GBP"}
        sent = conn.execute(sa.text(
            "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'cd_brands_%'"
        )).scalar()
        assert sent == 2  # each prepared once on the connection
        conn.rollback()


@pytest.mark.parametrize("first_use", [True, False], ids=["preparing", "executing"])
def test_a_connection_lost_under_a_statement_is_reported_as_lost_so_the_write_is_retried(
        engine, fresh, clean_db, first_use):
    # The server ends the session (a restart, a failover) while the statement is being
    # prepared or run: the error must be SQLAlchemy's, marked as a lost connection, so the
    # worker's retry sees it (a bare driver error was recorded as a failed write instead).
    with fresh.connect() as conn:
        if not first_use:
            statements.run(conn, "status").one()
            conn.commit()
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        conn.commit()
        with engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(sa.exc.DBAPIError) as raised:
            statements.run(conn, "status")
        assert raised.value.connection_invalidated
