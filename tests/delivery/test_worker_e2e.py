"""The real thing: `callbacks worker` (scheduler + Dramatiq) against a real HTTP platform."""
import random
import socket
import time

import pytest
from factories import item
from receiver import Receiver, Reply
from workers import Worker, wait_for

from delivery import brands, store
from delivery.validation import parse_callback

pytestmark = pytest.mark.slow  # real worker processes end to end

LIFECYCLE = ("/bet/place", "/bet/accept", "/bet/settle", "/bet/unsettle", "/bet/settle")


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


BROKERS = [
    pytest.param(None, 200, id="postgres"),
    pytest.param("amqp://guest:guest@127.0.0.1:5672/", 60, id="rabbitmq", marks=pytest.mark.skipif(
        not _reachable(5672), reason="RabbitMQ is not reachable on 127.0.0.1:5672")),
    pytest.param("redis://127.0.0.1:6379/15", 60, id="redis", marks=pytest.mark.skipif(
        not _reachable(6379), reason="Redis is not reachable on 127.0.0.1:6379")),
]


def flaky(seed: int, failure_share: float):
    rng = random.Random(seed)

    def behave(seen):
        delay = rng.uniform(0, 0.03)
        if rng.random() < failure_share:
            return Reply(rng.choice([500, 502, 503]), delay_s=delay)
        return Reply(204, delay_s=delay)
    return behave


@pytest.mark.parametrize("broker_url, bets", BROKERS)
def test_every_bet_arrives_in_order_despite_transient_failures(clean_db, database_url,
                                                               broker_url, bets):
    # Given a platform that fails 30 % of requests at random, with random latency
    with Receiver(flaky(seed=42, failure_share=0.3)) as platform:
        brands.add_brand(clean_db, "flaky", platform.url, retry_schedule_s=(0,) + (1,) * 19,
                         timeout_s=5, max_in_flight=100)
        expected = {}
        for n in range(bets):
            bet_id = f"bet-{n:04d}"
            queued = store.enqueue(clean_db, "flaky", [parse_callback(item(bet_id, d))
                                                       for d in LIFECYCLE])
            expected[bet_id] = [q.request_id for q in queued]
        # When a real worker runs until the queue is empty
        with Worker(database_url, broker_url, threads=8):
            wait_for(lambda: store.status(clean_db)["pending_callbacks"] == 0, 240,
                     "every callback to be delivered", interval_s=0.5)
        seen = list(platform.seen)

    # Then every callback was delivered, in order per bet, retries reusing request_id
    by_bet: dict[str, list] = {}
    for s in seen:
        by_bet.setdefault(s.body["bet_id"], []).append(s)
    failures = sum(1 for s in seen if s.status != 204)
    assert failures > 0.2 * len(seen), "the platform was meant to fail often"
    for bet_id, request_ids in expected.items():
        arrived = [s.request_id for s in by_bet[bet_id]]
        # a callback's requests are contiguous and come in enqueue order
        collapsed = [r for i, r in enumerate(arrived) if i == 0 or arrived[i - 1] != r]
        assert collapsed == request_ids, f"{bet_id} arrived out of order"
        delivered = [s.request_id for s in by_bet[bet_id] if s.status == 204]
        assert delivered == request_ids
        states = {c["state"] for c in store.group_callbacks(clean_db, bet_id)}
        assert states == {"delivered"}

    # and the attempt history matches what the platform saw, request for request; an attempt
    # the platform never saw can only be one whose connection failed before it was read
    rows = {}
    for bet_id in expected:
        for a in store.group_attempts(clean_db, bet_id):
            rows[str(a["id"])] = a
    unseen = set(rows) - {s.attempt_id for s in seen}
    assert {rows[i]["error_class"] for i in unseen} <= {"connect", "protocol", "timeout"}
    assert len(rows) - len(unseen) == len(seen)
    for s in seen:
        row = rows[s.attempt_id]
        assert row["response_status"] == s.status
        assert row["callback_request_id"] == s.request_id
        assert row["outcome"] == ("delivered" if s.status == 204 else "failed")
    for bet_id in expected:
        attempts = store.group_attempts(clean_db, bet_id)
        per_callback = {}
        for a in attempts:
            per_callback.setdefault(a["callback_id"], []).append(a["attempt_no"])
        assert all(nos == list(range(1, len(nos) + 1)) for nos in per_callback.values())


def test_one_dead_endpoint_does_not_starve_another_brand(clean_db, database_url):
    with Receiver(lambda s: Reply(delay_s=3)) as dead, Receiver() as healthy:
        brands.add_brand(clean_db, "dead", dead.url, retry_schedule_s=(0, 60), timeout_s=2,
                         max_in_flight=4)
        brands.add_brand(clean_db, "healthy", healthy.url, max_in_flight=50)
        store.enqueue(clean_db, "dead", [parse_callback(item(f"d-{i}", "/bet/settle"))
                                         for i in range(40)])
        store.enqueue(clean_db, "healthy", [parse_callback(item(f"h-{i}", "/bet/settle"))
                                            for i in range(40)])
        with Worker(database_url, threads=4):
            wait_for(lambda: len(healthy.seen) == 40, 30, "the healthy brand's callbacks")
            in_flight = store.in_flight_by_brand(clean_db)
    dead_brand = next(b for b in brands.all_brands(clean_db) if b.name == "dead")
    assert in_flight.get(dead_brand.id, 0) <= 4
    assert len(dead.seen) <= 8  # at most the cap per 2 s timeout window, never all 40


def test_killed_worker_loses_nothing(clean_db, database_url):
    # Given a platform that is slow to answer the first request only
    first = {"done": False}

    def behave(seen):
        if not first["done"]:
            first["done"] = True
            return Reply(delay_s=4)
        return Reply()

    with Receiver(behave) as platform:
        brands.add_brand(clean_db, "b", platform.url, timeout_s=2, retry_schedule_s=(0, 1))
        [queued] = store.enqueue(clean_db, "b", [parse_callback(item("bet-1", "/bet/settle"))])
        # When the worker is killed with SIGKILL while that request is in flight
        worker = Worker(database_url).start()
        wait_for(lambda: platform.seen, 20, "the first request to arrive")
        worker.kill_all()
        killed_at = time.monotonic()
        assert store.group_callbacks(clean_db, "bet-1")[0]["state"] == "in_flight"
        # Then a new worker delivers it once the lease (timeout 2 s + margin 1 s) runs out
        with Worker(database_url):
            wait_for(lambda: store.group_callbacks(clean_db, "bet-1")[0]["state"] == "delivered",
                     30, "the callback to be delivered after the lease expired")
        waited = time.monotonic() - killed_at
    assert [s.request_id for s in platform.seen] == [queued.request_id] * 2
    # Every request the platform saw has its row: the killed one says the answer is unknown
    killed, resent = store.group_attempts(clean_db, "bet-1")
    assert [str(killed["id"]), str(resent["id"])] == [s.attempt_id for s in platform.seen]
    assert killed["outcome"] == "unknown" and killed["error_class"] == "unknown"
    assert f"may have received request {killed['id']}" in killed["error_detail"]
    assert (resent["outcome"], resent["attempt_no"]) == ("delivered", 2)
    assert waited >= 1.0


def test_scheduler_and_workers_run_apart(clean_db, database_url):
    # Given the deployment's shape: one `callbacks scheduler`, workers started without one
    with Receiver() as platform:
        brands.add_brand(clean_db, "b", platform.url)
        store.enqueue(clean_db, "b", [parse_callback(item(f"bet-{i}", d)) for i in range(10)
                                      for d in ("/bet/place", "/bet/accept")])
        workers = Worker(database_url)
        workers.command.append("--no-scheduler")
        scheduler = Worker(database_url)
        scheduler.command[scheduler.command.index("worker"):] = ["scheduler"]
        with workers:
            time.sleep(1.5)
            assert not platform.seen  # workers alone claim nothing
            with scheduler:
                wait_for(lambda: store.status(clean_db)["pending_callbacks"] == 0, 30,
                         "the scheduler and workers to deliver everything")
            printed = scheduler.output()
    assert len(platform.seen) == 20
    assert "scheduler stopped" in printed
