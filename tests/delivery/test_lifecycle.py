from delivery import lifecycle as lc


def test_status_follows_queued_events_but_place_waits_for_its_answer():
    assert lc.status_on_enqueue(None, "/bet/place") == lc.NEW
    assert lc.status_on_enqueue(lc.NEW, "/bet/accept") == lc.ACCEPTED
    assert lc.status_on_enqueue(lc.ACCEPTED, "/bet/settle") == lc.SETTLED
    assert lc.status_on_enqueue(lc.SETTLED, "/bet/unsettle") == lc.UNSETTLED
    assert lc.status_on_enqueue(lc.PLACE_ERROR, "/bet/accept") == lc.PLACE_ERROR


def test_place_effects():
    assert lc.effect_of("/bet/place", "delivered", lc.NEW).bet_status == lc.PLACED
    assert lc.effect_of("/bet/place", "delivered", lc.ACCEPTED).bet_status is None
    rejected = lc.effect_of("/bet/place", "rejected", lc.NEW, "not_enough_balance")
    assert rejected.bet_status == lc.PLACE_ERROR and "not_enough_balance" in rejected.skip_reason
    exhausted = lc.effect_of("/bet/place", "exhausted", lc.NEW)
    assert exhausted.bet_status == lc.DECLINED and exhausted.queue_decline
    assert exhausted.restrictions == [{"type": "internal_error", "context": {
        "code": "place_retry_limit_reached", "max_bet": None, "sport_event_id": None}}]


def test_other_destinations_have_no_effect():
    assert lc.effect_of("/bet/settle", "exhausted", lc.SETTLED) == lc.GroupEffect()
