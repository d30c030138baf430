"""api.store.enqueue_once: repeats are answered, conflicts refused, and a request_id queued by
someone else between the look-up and the insert is a repeat, not an error."""
import pytest
import sqlalchemy as sa
from factories import item

from api import store as api_store
from delivery import brands, store
from delivery.errors import RequestIdConflict, UnknownBrand
from delivery.validation import parse_callback


def callback(bet_id, destination, request_id, **payload_changes):
    raw = item(bet_id, destination)
    raw["payload"].update(request_id=request_id, **payload_changes)
    return parse_callback(raw)


def test_repeats_are_answered_with_the_queued_row(clean_db):
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    [first] = api_store.enqueue_once(clean_db, "b", [callback("bet-1", "/bet/place", "r-1")])
    both = api_store.enqueue_once(clean_db, "b", [callback("bet-1", "/bet/place", "r-1"),
                                                  callback("bet-1", "/bet/accept", "r-2")])
    assert first.created and [r.created for r in both] == [False, True]
    assert both[0].queued.id == first.queued.id
    assert [r.queued.state for r in both] == ["pending", "waiting"]


def test_a_brand_replaced_since_it_was_authorised_gets_nothing(clean_db):
    # Given the API authorised brand b by its id, and b was renamed and another b added since
    authorised = brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    with clean_db.begin() as conn:
        conn.execute(sa.text("UPDATE brands SET name = 'b-old' WHERE name = 'b'"))
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    # Then queueing for the name b with that id is refused and writes nothing
    with pytest.raises(UnknownBrand, match="replaced"):
        api_store.enqueue_once(clean_db, "b", [callback("bet-1", "/bet/place", "r-1")],
                               brand_id=authorised.id)
    assert store.bet(clean_db, "bet-1") is None
    [done] = api_store.enqueue_once(clean_db, "b-old", [callback("bet-1", "/bet/place", "r-1")],
                                    brand_id=authorised.id)
    assert done.created


def test_a_conflict_names_the_differing_fields_and_writes_nothing(clean_db):
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    api_store.enqueue_once(clean_db, "b", [callback("bet-1", "/bet/place", "r-1")])
    with pytest.raises(RequestIdConflict) as caught:
        api_store.enqueue_once(clean_db, "b", [callback("bet-2", "/bet/place", "r-2"),
                                               callback("bet-1", "/bet/place", "r-1",
                                                        bet_stake="1.00")])
    assert caught.value.conflicts == [("r-1", ["payload"])]
    assert store.bet(clean_db, "bet-2") is None


def test_a_request_id_queued_meanwhile_is_a_repeat(clean_db, monkeypatch):
    # Given another producer queues r-1 after this one looked and found nothing
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    store.enqueue(clean_db, "b", [callback("bet-1", "/bet/place", "r-1")])
    looks = []
    real_lookup = api_store._queued_by_request_id

    def stale_first_look(conn, request_ids):
        looks.append(request_ids)
        return {} if len(looks) == 1 else real_lookup(conn, request_ids)

    monkeypatch.setattr(api_store, "_queued_by_request_id", stale_first_look)
    # When this producer queues r-1 with r-2
    results = api_store.enqueue_once(clean_db, "b", [callback("bet-1", "/bet/place", "r-1"),
                                                     callback("bet-1", "/bet/accept", "r-2")])
    # Then the unique key stopped the first try, and the second queued only r-2
    assert len(looks) == 2
    assert [(r.queued.request_id, r.created) for r in results] == [("r-1", False),
                                                                   ("r-2", True)]
    assert len(store.group_callbacks(clean_db, "bet-1")) == 2
