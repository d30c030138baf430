"""The figures query on real PostgreSQL, fed by the real delivery path."""
from decimal import Decimal

import sqlalchemy as sa
from brand_traffic import deliver, enqueue, failing_receiver
from scopes import set_scope

from dashboard import connection
from delivery import brands, database
from health import figures
from health.state import DOWN, HEALTHY


def _now(engine, **kw):
    with engine.connect() as conn:
        return {b.brand: b for b in figures.read_now(conn, **kw)}


def test_money_at_risk_per_currency_from_unanswered_callbacks(clean_db):
    failing = {"a", "b", "d", "e"}
    with failing_receiver(failing) as platform:
        # One failed try, the next an hour away: these stay unanswered.
        brands.add_brand(clean_db, "eur", platform.url, retry_schedule_s=(0, 3600))
        brands.set_brand_currency(clean_db, "eur", "EUR")
        # Every place is tried once, then exhausted (and declined).
        brands.add_brand(clean_db, "once", platform.url, retry_schedule_s=(0,))
        enqueue(clean_db, "eur", "a", "/bet/place", stake="10.00")
        enqueue(clean_db, "eur", "a", "/bet/settle", settle_amount="25.00")
        enqueue(clean_db, "eur", "b", "/bet/place", stake="7.50", bet_currency="usd")
        enqueue(clean_db, "eur", "c", "/bet/place", stake="100.00")      # answered
        enqueue(clean_db, "eur", "c", "/bet/settle", settle_amount="250.00")
        enqueue(clean_db, "eur", "q", "/bet/place", stake="3.00")        # not tried yet
        deliver(clean_db)
        enqueue(clean_db, "eur", "q", "/bet/settle", settle_amount="6.00")
        # d: placed fine earlier, its cash-out fails now.
        failing.discard("d")
        enqueue(clean_db, "eur", "d", "/bet/place", stake="20.00")
        deliver(clean_db)
        failing.add("d")
        enqueue(clean_db, "eur", "d", "/bet/cash-out-orders/accepted", amount="20.00",
                refund_amount="18.00")
        enqueue(clean_db, "once", "e", "/bet/place", stake="5.00")
        deliver(clean_db)   # e: place exhausted → decline queued → decline exhausted too

    now = _now(clean_db)
    eur = now["eur"].money.by_currency
    assert set(eur) == {"EUR", "USD"}
    assert (eur["EUR"].held, eur["EUR"].owed) == (Decimal("10.00"), Decimal("43.00"))
    assert (eur["USD"].held, eur["USD"].owed) == (Decimal("7.50"), Decimal(0))
    assert eur["EUR"].callbacks == 3   # a's place and settle, d's cash-out
    once = now["once"].money.by_currency
    assert set(once) == {""}           # the brand names no currency
    assert (once[""].held, once[""].exhausted, once[""].callbacks) == (
        Decimal("5.00"), Decimal("5.00"), 1)   # the exhausted decline, not the place too


def test_queue_recent_attempts_and_state(clean_db):
    with failing_receiver({"x1", "x2", "x3"}) as platform:
        brands.add_brand(clean_db, "down", platform.url, retry_schedule_s=(0, 3600))
        brands.add_brand(clean_db, "fine", platform.url)
        for bet in ("x1", "x2", "x3"):
            enqueue(clean_db, "down", bet, "/bet/place")
        for bet in ("ok1", "ok2"):
            enqueue(clean_db, "fine", bet, "/bet/place")
        deliver(clean_db)
    with clean_db.begin() as conn:  # the oldest callback has waited ten minutes
        conn.execute(sa.text("UPDATE callbacks SET created_at = now() - interval '10 minutes' "
                             "WHERE bet_id = 'x1'"))
    now = _now(clean_db)
    down, fine = now["down"], now["fine"]
    assert (down.backlog, down.groups, down.recent.finished, down.recent.failed,
            down.recent.retrying) == (3, 3, 3, 3, 3)
    assert 590 < down.oldest_pending_age_s < 700
    assert down.verdict.state == DOWN
    assert (fine.backlog, fine.recent.finished, fine.recent.failed) == (0, 2, 0)
    assert fine.verdict.state == HEALTHY and fine.money.empty
    assert fine.last_answer_at is not None and down.last_answer_at is None
    only = _now(clean_db, brand_id=down.brand_id)
    assert list(only) == ["down"]


def test_windows_are_per_brand(clean_db):
    with failing_receiver({"x1"}) as platform:
        brand = brands.add_brand(clean_db, "b", platform.url, retry_schedule_s=(0, 3600))
        enqueue(clean_db, "b", "x1", "/bet/place")
        enqueue(clean_db, "b", "ok", "/bet/place")
        deliver(clean_db)
    with clean_db.begin() as conn:  # the failure was 20 minutes ago
        conn.execute(sa.text("UPDATE attempts SET started_at = now() - interval '20 minutes' "
                             "WHERE group_id = 'x1'"))
    short = _now(clean_db, rate_windows_s={brand.id: 600})["b"]
    long = _now(clean_db, rate_windows_s={brand.id: 3600})["b"]
    assert (short.rate_finished, short.rate_failed) == (1, 0)
    assert (long.rate_finished, long.rate_failed) == (2, 1)


def test_the_back_office_role_reads_the_figures_of_its_brands(clean_db, database_url):
    with failing_receiver({"x1", "y1"}) as platform:
        mine = brands.add_brand(clean_db, "mine", platform.url, retry_schedule_s=(0, 3600))
        brands.set_brand_currency(clean_db, "mine", "EUR")
        brands.add_brand(clean_db, "theirs", platform.url, retry_schedule_s=(0, 3600))
        enqueue(clean_db, "mine", "x1", "/bet/place", stake="4.00")
        enqueue(clean_db, "theirs", "y1", "/bet/place", stake="9.00")
        deliver(clean_db)
    reader = database.make_engine(connection.reader_url(database_url))
    try:
        seen = {}
        for setting in ("*", str(mine.id), ""):
            with reader.connect() as conn:
                set_scope(clean_db, conn, setting)
                seen[setting] = {b.brand: b for b in figures.read_now(conn)}
    finally:
        reader.dispose()
    assert set(seen["*"]) == {"mine", "theirs"} and seen[""] == {}
    (b,) = seen[str(mine.id)].values()
    assert b.money.label() == "EUR 4.00" and b.recent.failed == 1


def _rows_read(plan: dict) -> int:
    """Rows every node of an EXPLAIN ANALYZE plan produced, over all its loops."""
    own = int(plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1))
    return own + sum(_rows_read(p) for p in plan.get("Plans", []))


def test_reading_the_figures_grows_with_the_backlog_not_with_its_square(clean_db):
    """The alert evaluator reads the figures every 30 s while a backlog builds: each open
    callback's bet is looked at through the bet's own callbacks, never through an index of
    every open callback (which made 20,000 open callbacks cost 7 s of database CPU)."""
    import sql
    from alerts import rules
    from alerts import store as alert_store

    brands.add_brand(clean_db, "busy", "http://127.0.0.1:9/")
    read = {}
    for backlog in (200, 800):
        for i in range(len(read) and 200, backlog):
            enqueue(clean_db, "busy", f"bet-{i}", "/bet/settle", settle_amount="5.00")
        with clean_db.begin() as conn:
            rows = alert_store.rule_rows(conn)
            brand_ids = [r.id for r in conn.execute(sa.text("SELECT id FROM brands"))]
            windows = rules.windows({b: rules.effective(rows, b) for b in brand_ids})
            conn.execute(sa.text("SET LOCAL jit = off"))
            plan = conn.execute(sa.text("EXPLAIN (ANALYZE, FORMAT JSON) "
                                        + sql.queries("health.sql")["brand_now"]),
                                figures.params(**windows)).scalar()
        read[backlog] = _rows_read(plan[0]["Plan"])
    # Four times the backlog: about four times the rows (a square would be sixteen).
    assert read[800] < 6 * read[200], read
