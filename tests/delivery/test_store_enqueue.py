"""Queuing a batch on real PostgreSQL: a few statements whatever its size, and per bet the same
rows, states, order and statuses as one callback at a time."""

import pytest
import sqlalchemy as sa
from databases import notified
from factories import item

from api import store as api_store
from delivery import brands, database, lifecycle, statements, store
from delivery.errors import InvalidInput
from delivery.validation import parse_callback

LIFE = ("/bet/place", "/bet/accept", "/bet/settle")


def _batch(n: int, tag: str, bets: int) -> list:
    """``n`` callbacks over ``bets`` bets, a bet's callbacks following its life."""
    return [parse_callback(item(f"{tag}-bet-{i % bets}", LIFE[min(i // bets, 2)]))
            for i in range(n)]


def _statements(engine: sa.Engine, action) -> list[str]:
    """The statements ``action`` sent through ``engine``."""
    sent: list[str] = []

    def count(conn, cursor, statement, *args):
        sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return sent


def test_queuing_takes_the_same_few_statements_for_10_callbacks_as_for_200(
        clean_db, database_url, monkeypatch):
    # Given a brand with bets that have callbacks open already, and an engine whose connection
    # has prepared the enqueue statements (prepared once per connection and period: a period
    # long enough that none is prepared again while counting)
    monkeypatch.setattr(statements, "REPREPARE_FIRST_S", 3600.0)
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    engine = database.make_engine(database_url)
    try:
        api_store.enqueue_once(engine, "b", _batch(10, "old", bets=5))
        store.enqueue(engine, "b", _batch(3, "warm", bets=3))
        # When 10 callbacks over 5 bets and then 200 over 50 (some bets new, some with open
        # callbacks) are queued, through the API's path and the command's
        small = _statements(engine, lambda: api_store.enqueue_once(
            engine, "b", _batch(10, "old", bets=5)))
        large = _statements(engine, lambda: api_store.enqueue_once(
            engine, "b", _batch(100, "old", bets=5) + _batch(100, "new", bets=45)))
        plain_small = _statements(engine, lambda: store.enqueue(engine, "b",
                                                                _batch(10, "c", bets=5)))
        plain_large = _statements(engine, lambda: store.enqueue(engine, "b",
                                                                _batch(200, "d", bets=50)))
    finally:
        engine.dispose()
    # Then the number of statements does not grow with the batch, and is small
    assert len(small) == len(large) <= 6, (small, large)
    assert len(plain_small) == len(plain_large) <= 4, (plain_small, plain_large)
    # And every callback was queued
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM callbacks")).scalar() == 433


def _rows(engine, bet_id):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, destination, state, next_attempt_at IS NOT NULL, last_error, "
            "finished_at IS NOT NULL FROM callbacks WHERE bet_id = :bet_id ORDER BY id"),
            {"bet_id": bet_id})]


def test_a_batch_queues_each_bet_in_order_behind_what_it_has_open(clean_db):
    # Given a bet with a callback open, a bet whose place was rejected, and a bet whose
    # callbacks are all finished
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    store.enqueue(clean_db, "b", [parse_callback(item(bet, "/bet/place"))
                                  for bet in ("open", "refused", "done")])
    with clean_db.begin() as conn:
        conn.execute(sa.text("UPDATE callbacks SET state = 'rejected', next_attempt_at = NULL, "
                             "finished_at = now() WHERE bet_id = 'refused'"))
        conn.execute(sa.text("UPDATE bets SET status = 'PLACE_ERROR' WHERE bet_id = 'refused'"))
        conn.execute(sa.text("UPDATE callbacks SET state = 'delivered', next_attempt_at = NULL, "
                             "finished_at = now() WHERE bet_id = 'done'"))
        conn.execute(sa.text("UPDATE bets SET status = 'PLACED' WHERE bet_id = 'done'"))
    # When one batch brings callbacks to them and to a new bet, interleaved
    batch = [parse_callback(item(bet, destination)) for bet, destination in (
        ("new", "/bet/place"), ("open", "/bet/accept"), ("refused", "/bet/accept"),
        ("done", "/bet/accept"), ("new", "/bet/accept"), ("open", "/bet/settle"),
        ("refused", "/bet/settle"), ("done", "/bet/settle"), ("new", "/bet/decline"))]
    queued: list = []
    assert notified(clean_db, lambda: queued.extend(store.enqueue(clean_db, "b", batch)))
    # Then each bet's callbacks follow the batch's order, behind what the bet had open: the
    # first of a bet with nothing open is its head (pending, due now), the others wait; the
    # rejected bet's are stored as skipped, with the reason
    rejected = "skipped: the bet's /bet/place was rejected"
    assert [r[1:] for r in _rows(clean_db, "new")] == [
        ("/bet/place", "pending", True, None, False),
        ("/bet/accept", "waiting", False, None, False),
        ("/bet/decline", "waiting", False, None, False)]
    assert [r[1:] for r in _rows(clean_db, "open")] == [
        ("/bet/place", "pending", True, None, False),
        ("/bet/accept", "waiting", False, None, False),
        ("/bet/settle", "waiting", False, None, False)]
    assert [r[1:] for r in _rows(clean_db, "refused")] == [
        ("/bet/place", "rejected", False, None, True),
        ("/bet/accept", "skipped", False, rejected, True),
        ("/bet/settle", "skipped", False, rejected, True)]
    assert [r[1:] for r in _rows(clean_db, "done")] == [
        ("/bet/place", "delivered", False, None, True),
        ("/bet/accept", "pending", True, None, False),
        ("/bet/settle", "waiting", False, None, False)]
    # And the answer is in input order, with each callback's id and state; ids follow it
    ids = {r[0]: r[2] for bet in ("new", "open", "refused", "done") for r in _rows(clean_db, bet)}
    assert [q.request_id for q in queued] == [cb.request_id for cb in batch]
    assert [(q.bet_id, ids[q.id]) for q in queued] == [(q.bet_id, q.state) for q in queued]
    assert [q.id for q in queued] == sorted(q.id for q in queued)
    # And the bets moved on as the sportsbook's events say; a rejected place stays so
    statuses = store.bet_statuses(clean_db, ["new", "open", "refused", "done"])
    assert statuses == {"new": "DECLINED", "open": "SETTLED", "refused": "PLACE_ERROR",
                        "done": "SETTLED"}


def test_a_batch_with_a_bet_of_another_brand_writes_nothing(clean_db):
    brands.add_brand(clean_db, "a", "http://127.0.0.1:9")
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    store.enqueue(clean_db, "a", [parse_callback(item("bet-of-a", "/bet/place"))])
    with pytest.raises(InvalidInput, match="bet 'bet-of-a' belongs to another brand than 'b'"):
        store.enqueue(clean_db, "b", [parse_callback(item("bet-1", "/bet/place")),
                                      parse_callback(item("bet-of-a", "/bet/accept"))])
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM callbacks")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM bets")).scalar() == 1
    assert store.bet(clean_db, "bet-of-a")["status"] == "NEW"


def test_a_new_bet_takes_its_columns_from_the_place_of_the_batch(clean_db):
    # Given a batch whose first callback of a new bet is not its place
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    accept = item("bet-1", "/bet/accept")
    accept["payload"]["bet_stake"] = "99.00"
    place = item("bet-1", "/bet/place")
    place["payload"].update(bet_player_id=42, bet_stake="12.50", bet_type=2,
                            bet_system_sizes=[2, 3])
    store.enqueue(clean_db, "b", [parse_callback(accept), parse_callback(place)])
    # Then the bet is made from the place, with the status its first callback gives
    bet = store.bet(clean_db, "bet-1")
    assert (bet["player_id"], str(bet["stake"]), bet["bet_type"], bet["system_sizes"],
            bet["odds"], bet["placed_at"].isoformat()) == (
        "42", "12.50", 2, [2, 3], place["payload"]["bet_odds"], "2026-11-23T12:00:00+00:00")
    assert bet["status"] == "ACCEPTED"


def test_the_plan_of_a_batch_follows_each_bets_status():
    batch = [parse_callback(item(bet, destination)) for bet, destination in (
        ("a", "/bet/place"), ("b", "/bet/settle"), ("a", "/bet/accept"), ("b", "/bet/unsettle"),
        ("c", "/bet/settle"))]
    plan = store.plan_enqueue(batch, {"a": None, "b": lifecycle.PLACED,
                                      "c": lifecycle.PLACE_ERROR})
    assert plan.statuses == {"a": lifecycle.ACCEPTED, "b": lifecycle.UNSETTLED,
                             "c": lifecycle.PLACE_ERROR}
    assert plan.skip_reasons == [None, None, None, None, store.PLACE_REJECTED_SKIP]
    assert plan.firsts == [True, True, False, False, True]
