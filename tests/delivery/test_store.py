"""The queue on real PostgreSQL: groups, order, claims, leases, caps."""
import pytest
import sqlalchemy as sa
from databases import notified
from factories import item
from receiver import Receiver
from workers import wait_for

from delivery import brands, statements, store
from delivery.errors import InvalidInput, UnknownBrand
from delivery.validation import parse_callback


def _lease_ran_out(engine, callback_id: int) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT lease_expires_at < now() FROM callbacks "
                                    "WHERE id = :id"), {"id": callback_id}).scalar()


def _wait_for_lease_to_run_out(engine, callback_id: int) -> None:
    wait_for(lambda: _lease_ran_out(engine, callback_id), 5, "the lease to run out",
             interval_s=0.02)


def _states(engine, bet_id):
    return [(c["destination"], c["state"]) for c in store.group_callbacks(engine, bet_id)]


def test_only_the_group_head_is_due(clean_db):
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    store.enqueue(clean_db, "b", [parse_callback(item("bet-1", d)) for d in
                                  ("/bet/place", "/bet/accept", "/bet/settle")])
    store.enqueue(clean_db, "b", [parse_callback(item("bet-2", "/bet/place"))])
    assert _states(clean_db, "bet-1") == [("/bet/place", "pending"), ("/bet/accept", "waiting"),
                                          ("/bet/settle", "waiting")]
    assert store.status(clean_db)["due_now"] == 2
    assert store.bet(clean_db, "bet-1")["status"] == "SETTLED"
    assert store.bet(clean_db, "bet-2")["status"] == "NEW"


def test_claims_respect_the_brand_cap_and_skip_locked(clean_db):
    brand = brands.add_brand(clean_db, "b", "http://127.0.0.1:9", max_in_flight=3)
    store.enqueue(clean_db, "b", [parse_callback(item(f"bet-{i}", "/bet/place"))
                                  for i in range(5)])
    first = store.claim_due(clean_db, lease_s=30)
    assert len(first) == 3
    assert store.claim_due(clean_db, lease_s=30) == []  # the brand is at its cap
    assert store.in_flight_by_brand(clean_db) == {brand.id: 3}
    with clean_db.begin() as conn:  # one slot comes free
        conn.execute(sa.text("UPDATE callbacks SET state = 'delivered' WHERE id = :id"),
                     {"id": first[0][0]})
    second = store.claim_due(clean_db, lease_s=30)
    assert len(second) == 1 and not {c[0] for c in first} & {c[0] for c in second}


def test_one_claim_serves_every_brand_and_ignores_idle_ones(clean_db):
    busy = [brands.add_brand(clean_db, f"busy{i}", "http://127.0.0.1:9", max_in_flight=2)
            for i in range(3)]
    for i in range(50):
        brands.add_brand(clean_db, f"idle{i}", "http://127.0.0.1:9")
    for brand in busy:
        store.enqueue(clean_db, brand.name, [parse_callback(item(f"{brand.name}-{i}",
                                                                 "/bet/place"))
                                             for i in range(4)])
    claims = store.claim_due(clean_db, lease_s=30)
    per_brand = {b.id: sum(1 for c in claims if c[2] == b.id) for b in busy}
    assert per_brand == {b.id: 2 for b in busy}
    assert store.claim_due(clean_db, lease_s=30, brand_id=busy[0].id) == []


def test_expired_lease_is_swept_and_old_token_loses(clean_db):
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    store.enqueue(clean_db, "b", [parse_callback(item("bet-1", "/bet/place"))])
    [(cid, old_token, _)] = store.claim_due(clean_db, lease_s=0.2)
    _wait_for_lease_to_run_out(clean_db, cid)
    assert store.sweep_expired_leases(clean_db) == [cid]
    [(same, new_token, _)] = store.claim_due(clean_db, lease_s=30)
    assert same == cid and new_token != old_token
    assert store.begin_attempts(clean_db, [(cid, old_token)], margin_s=1) == []
    assert [s.callback.callback_id for s in store.begin_attempts(clean_db, [(cid, new_token)],
                                                                  1)] == [cid]
    assert "lease expired" in store.group_callbacks(clean_db, "bet-1")[0]["last_error"]


def test_an_attempt_is_written_before_its_request_and_closed_unknown_if_never_finished(
        clean_db):
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9", timeout_s=0.1)
    store.enqueue(clean_db, "b", [parse_callback(item("bet-1", "/bet/place"))])
    [(cid, token, _)] = store.claim_due(clean_db, lease_s=30)
    # Given a worker that wrote its attempt and then died before recording the answer
    [sending] = store.begin_attempts(clean_db, [(cid, token)], margin_s=0.1)
    [row] = store.group_attempts(clean_db, "bet-1")
    assert (str(row["id"]), row["outcome"], row["finished_at"]) == (sending.id, "sending", None)
    assert row["request_headers"]["X-Request-ID"] == sending.id
    # When its lease runs out and the sweeper runs
    _wait_for_lease_to_run_out(clean_db, cid)
    assert store.sweep_expired_leases(clean_db) == [cid]
    # Then the row says the platform may have seen it, and the callback goes out again
    [row] = store.group_attempts(clean_db, "bet-1")
    assert row["outcome"] == "unknown" and row["finished_at"] is not None
    assert f"may have received request {sending.id}" in row["error_detail"]
    [cb] = store.group_callbacks(clean_db, "bet-1")
    assert (cb["state"], cb["attempts"]) == ("pending", 1)
    assert "worker stopped before recording the answer" in cb["last_error"]
    [(again, token2, _)] = store.claim_due(clean_db, lease_s=30)
    [resent] = store.begin_attempts(clean_db, [(again, token2)], margin_s=1)
    assert resent.callback.attempt_no == 2
    assert resent.callback.request_id == sending.callback.request_id


def test_after_a_slow_write_only_attempts_still_leased_are_renewed_and_sent(clean_db):
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9", timeout_s=0.1)
    store.enqueue(clean_db, "b", [parse_callback(item(f"bet-{n}", "/bet/place"))
                                  for n in (1, 2)])
    claims = [(cid, token) for cid, token, _ in store.claim_due(clean_db, lease_s=30)]
    # Given two attempts written with short leases, and a write so slow that one of them ran
    # out and was swept (the other's lease was stretched meanwhile by its worker)
    first, second = store.begin_attempts(clean_db, claims, margin_s=0.1)
    _wait_for_lease_to_run_out(clean_db, first.callback.callback_id)
    with clean_db.begin() as conn:
        conn.execute(sa.text("UPDATE callbacks SET lease_expires_at = now() + interval '1 min' "
                             "WHERE id = :id"), {"id": second.callback.callback_id})
    assert store.sweep_expired_leases(clean_db) == [first.callback.callback_id]
    # When the worker renews the leases before sending
    kept = store.keep_leases(clean_db, [first, second], margin_s=5)
    # Then only the attempt still leased may go out, with its lease running from now
    assert [s.id for s in kept] == [second.id]
    [cb] = store.group_callbacks(clean_db, "bet-2")
    with clean_db.connect() as conn:
        left_s = conn.execute(sa.text("SELECT extract(epoch FROM lease_expires_at - now()) "
                                      "FROM callbacks WHERE id = :id"),
                              {"id": cb["id"]}).scalar()
    assert 4 < left_s <= 5.1


def test_unknown_brand_writes_nothing(clean_db):
    brands.add_brand(clean_db, "known", "http://127.0.0.1:9")
    with pytest.raises(UnknownBrand, match="known brands: known"):
        store.enqueue(clean_db, "nope", [parse_callback(item("bet-1", "/bet/place"))])
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM bets")).scalar() == 0


def test_a_bet_stays_with_its_brand(clean_db):
    brands.add_brand(clean_db, "a", "http://127.0.0.1:9")
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    store.enqueue(clean_db, "a", [parse_callback(item("bet-1", "/bet/place"))])
    with pytest.raises(InvalidInput, match="belongs to another brand"):
        store.enqueue(clean_db, "b", [parse_callback(item("bet-1", "/bet/accept"))])
    assert len(store.group_callbacks(clean_db, "bet-1")) == 1


def test_attempt_partitions_are_made_ahead(clean_db):
    with clean_db.connect() as conn:
        parts = conn.execute(sa.text(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'attempts'::regclass")).scalar()
    assert parts >= 5  # default + previous, current and next months


def test_a_finished_attempt_hands_its_slot_to_the_brands_next_due_head(clean_db):
    # Given a brand capped at 2 in flight, with 5 bets due and both slots taken
    from delivery import dispatch
    from delivery.sender import send

    brands.add_brand(clean_db, "b", "http://127.0.0.1:9", max_in_flight=2, timeout_s=0.5)
    store.enqueue(clean_db, "b", [parse_callback(item(f"bet-{i}", "/bet/settle"))
                                  for i in range(5)])
    claims = store.claim_due(clean_db, lease_s=30)
    sendings = store.begin_attempts(clean_db, [c[:2] for c in claims], margin_s=1)
    # When both attempts are recorded (failed: nothing listens on port 9)
    import httpx
    with httpx.Client() as client:
        attempts = [dispatch.decide(send(s, client)) for s in sendings]
    refills = store.finish_attempts(clean_db, attempts, margin_s=1)
    # Then the two freed slots go to two other due bets at once, still at most 2 in flight
    assert len(refills) == 2
    assert {r.callback.bet_id for r in refills}.isdisjoint({s.callback.bet_id for s in sendings})
    assert store.in_flight_by_brand(clean_db) == {brands.brand_named(clean_db, "b").id: 2}
    # and a stopping worker takes nothing more
    with httpx.Client() as client:
        attempts = [dispatch.decide(send(s, client)) for s in refills]
    assert store.finish_attempts(clean_db, attempts, margin_s=1, take_more=False) == []
    assert store.in_flight_by_brand(clean_db) == {}


def test_a_process_refills_no_more_than_its_room_and_leaves_the_rest_to_the_scheduler(clean_db):
    # Given a brand capped at 4 in flight, 8 bets due, and 4 attempts about to be recorded
    from delivery import dispatch
    from delivery.sender import send

    brands.add_brand(clean_db, "b", "http://127.0.0.1:9", max_in_flight=4, timeout_s=0.5)
    store.enqueue(clean_db, "b", [parse_callback(item(f"bet-{i}", "/bet/settle"))
                                  for i in range(8)])
    brand_id = brands.brand_named(clean_db, "b").id
    sendings = store.begin_attempts(clean_db, [c[:2] for c in store.claim_due(clean_db, 30)],
                                    margin_s=1)
    import httpx
    with httpx.Client() as client:
        attempts = [dispatch.decide(send(s, client)) for s in sendings]
    # When the recording process has room for only 1 more (it holds its share of 2 workers)
    refills = store.finish_attempts(clean_db, attempts, margin_s=1, room={brand_id: 1})
    # Then it takes 1, and the 3 freed slots stay free for the scheduler to claim
    assert len(refills) == 1
    assert store.in_flight_by_brand(clean_db) == {brand_id: 1}
    assert len(store.claim_due(clean_db, 30)) == 3


def test_the_scheduler_is_woken_only_when_a_finished_attempt_leaves_it_work(clean_db):
    # Given two brands' callbacks in flight: one platform answers, the other is down
    import httpx

    from delivery import dispatch
    from delivery.sender import send

    with Receiver() as platform:
        brands.add_brand(clean_db, "up", platform.url)
        brands.add_brand(clean_db, "down", "http://127.0.0.1:9", timeout_s=0.5,
                         retry_schedule_s=(0, 60))
        store.enqueue(clean_db, "up", [parse_callback(item("bet-up", "/bet/settle"))])
        store.enqueue(clean_db, "down", [parse_callback(item("bet-down", "/bet/settle"))])
        sendings = store.begin_attempts(
            clean_db, [c[:2] for c in store.claim_due(clean_db, 30)], margin_s=1)
        with httpx.Client() as client:
            attempts = {s.callback.bet_id: dispatch.decide(send(s, client)) for s in sendings}
    # When the delivered one is recorded, with nothing else due: no wake-up (no empty round)
    assert not notified(clean_db, lambda: store.finish_attempts(
        clean_db, [attempts["bet-up"]], margin_s=1))
    # When the failed one is recorded, its retry scheduled: the scheduler must look again
    assert notified(clean_db, lambda: store.finish_attempts(
        clean_db, [attempts["bet-down"]], margin_s=1))


def test_a_claim_round_says_when_the_earliest_head_it_left_pending_is_due(clean_db):
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9", max_in_flight=1)
    # Nothing queued: nothing to claim, nothing due.
    assert store.claim_round(clean_db, 30) == ([], None)
    store.enqueue(clean_db, "b", [parse_callback(item(f"bet-{i}", "/bet/settle"))
                                  for i in range(2)])
    # One claimed (the cap), the other due now but held back: due in ≤ 0 s.
    claims, due_in = store.claim_round(clean_db, 30)
    assert len(claims) == 1 and due_in is not None and due_in <= 0
    # Once the held-back one is due in a minute, the round says so, without counting what it
    # claims itself.
    with clean_db.begin() as conn:
        conn.execute(sa.text("UPDATE callbacks SET next_attempt_at = now() + interval '60 s', "
                             "state = 'pending' WHERE state = 'pending'"))
        conn.execute(sa.text("UPDATE callbacks SET state = 'pending', lease_token = NULL, "
                             "next_attempt_at = now() WHERE state = 'in_flight'"))
    claims, due_in = store.claim_round(clean_db, 30)
    assert len(claims) == 1 and 55 < due_in <= 60



def test_counting_a_brands_callbacks_in_flight_passes_over_the_ones_finished_since(clean_db):
    # Under load thousands of callbacks pass through 'in_flight' between two vacuums, and every
    # claim and refill counts the brand's callbacks in flight. Once a count has met a finished
    # callback's old row it must not read it again — whatever plan the session's statistics
    # would favour (here: none that walks an index, so the count brings its own settings).
    brand = brands.add_brand(clean_db, "b", "http://127.0.0.1:9", max_in_flight=100_000)
    # No autovacuum meanwhile: its vacuum would remove the old rows, and an analyze of the
    # bets just written holds a snapshot under which they are not dead yet.
    with clean_db.begin() as conn:
        conn.execute(sa.text("ALTER TABLE callbacks SET (autovacuum_enabled = false)"))
        conn.execute(sa.text("ALTER TABLE bets SET (autovacuum_enabled = false)"))
    store.enqueue(clean_db, "b", [parse_callback(item(f"bet-{i}", "/bet/place"))
                                  for i in range(4000)])
    while store.claim_due(clean_db, lease_s=30):
        pass
    with clean_db.begin() as conn:
        conn.execute(sa.text("UPDATE callbacks SET state = 'delivered', lease_token = NULL "
                             "WHERE id > 3"))
    def count_and_pages_read() -> tuple[int, int]:
        with clean_db.connect() as conn:
            conn.execute(sa.text("SET enable_indexscan = off; SET enable_indexonlyscan = off"))

            def fetched():
                return conn.execute(sa.text("SELECT pg_stat_get_xact_blocks_fetched("
                                            "CAST('callbacks' AS regclass))")).scalar()
            before = fetched()
            count = conn.execute(sa.text("SELECT brand_in_flight(:b)"), {"b": brand.id}).scalar()
            read = fetched() - before
            conn.rollback()
        return count, read

    try:
        first = count_and_pages_read()
        # The old rows can be passed over only once no snapshot of this database may still see
        # them (autovacuum's analyze of another table, say, may hold one for a moment): a count
        # that keeps reading them every time never gets there.
        def skipping():
            count = count_and_pages_read()
            return count if count[1] < first[1] / 5 else None

        second = wait_for(skipping, 15, "a count that skips the finished callbacks' old rows",
                          interval_s=0.2)
    finally:
        with clean_db.begin() as conn:
            conn.execute(sa.text("ALTER TABLE callbacks RESET (autovacuum_enabled)"))
            conn.execute(sa.text("ALTER TABLE bets RESET (autovacuum_enabled)"))
    assert first[0] == second[0] == 3
    # The first count met about 4,000 old rows; a later one skips nearly all of them.
    assert second[1] < first[1] / 5


def test_a_claim_counts_in_flight_callbacks_only_for_brands_with_due_work(clean_db):
    # A sportsbook registers hundreds of white labels, most idle at any moment: a claim must
    # not count callbacks in flight for every one of them.
    for i in range(300):
        brands.add_brand(clean_db, f"idle-{i}", "http://127.0.0.1:9")
    busy = brands.add_brand(clean_db, "busy", "http://127.0.0.1:9")
    store.enqueue(clean_db, "busy", [parse_callback(item(f"bet-{i}", "/bet/place"))
                                     for i in range(3)])
    with clean_db.connect() as conn:
        conn.execute(sa.text("ANALYZE brands; ANALYZE callbacks"))
        conn.execute(sa.text("SET track_functions = 'all'"))
        # The plan a long-running scheduler ends up with (one for any brand_id).
        conn.execute(sa.text("SET plan_cache_mode = force_generic_plan"))
        claimed = [r for r in statements.run(conn, "claim_due", dict(
            brand_id=None, limit=1000, lease_s=30)) if r.id]
        counts = conn.execute(sa.text("SELECT pg_stat_get_xact_function_calls("
                                      "CAST('brand_in_flight' AS regproc))")).scalar()
        conn.rollback()
    assert [r.brand_id for r in claimed] == [busy.id] * 3
    assert counts == 1
