"""Scale-out on RabbitMQ: two `callbacks scheduler` and three `callbacks worker --no-scheduler`
processes share one PostgreSQL database and one RabbitMQ queue, and one worker process is killed
with SIGKILL mid-run."""
import random
import signal
import socket
import threading
import uuid

import psutil
import pytest
from factories import item
from receiver import Receiver, Reply
from workers import Worker, wait_for

from delivery import brands, store
from delivery.validation import parse_callback

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
LIFECYCLES = (("/bet/place", "/bet/accept"),
              ("/bet/place", "/bet/accept", "/bet/settle"),
              ("/bet/place", "/bet/accept", "/bet/settle", "/bet/unsettle"))
BETS = 150


def _rabbitmq_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = [pytest.mark.slow,  # scale-out: real schedulers and workers on RabbitMQ
              pytest.mark.skipif(not _rabbitmq_answers(),
                                 reason="RabbitMQ is not reachable on 127.0.0.1:5672")]


class Platform:
    """How the platform answers, and what it notices: a bet's request arriving while another
    request of the same bet is still unanswered. While ``hold`` is set, requests wait for it to
    clear before they are answered (the moment a worker process is killed)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.open_by_bet: dict[str, str] = {}
        self.overlaps: list[tuple[str, str, str]] = []
        self.hold = threading.Event()
        self.released = threading.Event()
        self.held: list = []

    def __call__(self, seen) -> Reply:
        bet_id = seen.body["bet_id"]
        with self.lock:
            if bet_id in self.open_by_bet:
                self.overlaps.append((bet_id, self.open_by_bet[bet_id], seen.attempt_id))
            self.open_by_bet[bet_id] = seen.attempt_id
            delay_s = self.rng.uniform(0.002, 0.03)
            status = self.rng.choice([500, 503]) if self.rng.random() < 0.1 else 204
            holding = self.hold.is_set()
            if holding:
                self.held.append(seen)
        if holding:
            self.released.wait(30)
        threading.Event().wait(delay_s)
        with self.lock:
            # answered from here on: the sender can only send the bet's next request after
            # reading this answer
            if self.open_by_bet.get(bet_id) == seen.attempt_id:
                del self.open_by_bet[bet_id]
        return Reply(status)


def _ports(process: psutil.Process, remote_port: int) -> set[int]:
    """The process's local ports of its connections to ``remote_port`` (only those: Linux reuses
    a local port for connections to different servers, so another process's request to the
    platform may come from the port of this one's database connection)."""
    try:
        return {c.laddr.port for c in process.net_connections(kind="tcp")
                if c.laddr and c.raddr and c.raddr.port == remote_port}
    except psutil.NoSuchProcess:
        return set()


def _delete_queue(queue_name: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        for name in (queue_name, f"{queue_name}.DQ", f"{queue_name}.XQ"):
            channel.queue_delete(queue=name)
    finally:
        connection.close()


def test_two_schedulers_and_three_workers_on_rabbitmq_keep_order_and_lose_nothing(
        clean_db, database_url):
    queue_name = f"callbacks_scaleout_{uuid.uuid4().hex[:10]}"
    env = {"CALLBACKS_DISPATCH_LEASE_S": "5"}
    platform = Platform(seed=12)
    with Receiver(platform) as receiver:
        # Given many bets of 2 to 4 callbacks on a platform that fails 10 % of requests
        brands.add_brand(clean_db, "scale", receiver.url, retry_schedule_s=(0,) + (1,) * 19,
                         timeout_s=10, max_in_flight=60)
        rng = random.Random(7)
        expected: dict[str, list[str]] = {}
        for n in range(BETS):
            bet_id = f"bet-{n:04d}"
            queued = store.enqueue(clean_db, "scale", [
                parse_callback(item(bet_id, d)) for d in rng.choice(LIFECYCLES)])
            expected[bet_id] = [q.request_id for q in queued]
        total = sum(len(ids) for ids in expected.values())

        # and two schedulers and three worker commands sharing the database and one queue
        schedulers = [Worker(database_url, RABBITMQ_URL, env=env) for _ in range(2)]
        workers = [Worker(database_url, RABBITMQ_URL, threads=4, env=env) for _ in range(3)]
        for process in schedulers + workers:
            process.env["CALLBACKS_QUEUE"] = queue_name
        for scheduler in schedulers:
            scheduler.command[scheduler.command.index("worker"):] = ["scheduler"]
        for worker in workers:
            worker.command.append("--no-scheduler")
        try:
            for process in workers + schedulers:
                process.start()
            # When a third of the callbacks are delivered, the platform holds what arrives
            wait_for(lambda: store.status(clean_db)["pending_callbacks"] <= total * 2 // 3, 60,
                     "a third of the callbacks to be delivered", interval_s=0.2)
            platform.hold.set()

            # and one Dramatiq worker process with a request held at the platform is killed
            def victim():
                with platform.lock:
                    held_ports = {s.client_port for s in platform.held}
                for worker in workers:
                    for child in psutil.Process(worker.proc.pid).children(recursive=True):
                        ports = _ports(child, receiver.server.server_address[1])
                        if ports & held_ports:
                            return worker, child, ports
                return None
            killed_worker, killed_child, killed_ports = wait_for(
                victim, 10, "a request of a worker process to reach the platform")
            # Stopped first, so it opens no connection between reading its ports and the kill.
            killed_child.send_signal(signal.SIGSTOP)
            killed_ports = _ports(killed_child, receiver.server.server_address[1])
            killed_child.send_signal(signal.SIGKILL)
            killed_child.wait(10)
            with platform.lock:
                platform.hold.clear()
                killed_requests = [s for s in platform.held if s.client_port in killed_ports]
            platform.released.set()

            # Then everything is delivered by the processes left
            wait_for(lambda: store.status(clean_db)["pending_callbacks"] == 0, 90,
                     "every callback to be delivered", interval_s=0.5)
            killed_worker.proc.wait(30)
        finally:
            outputs = [process.stop() for process in workers + schedulers]
            _delete_queue(queue_name)
        seen = list(receiver.seen)

    survivors = [w for w in workers if w is not killed_worker]
    assert all(w.proc.returncode == 0 for w in survivors), outputs
    assert all(s.proc.returncode == 0 for s in schedulers), outputs
    # the command whose Dramatiq process died says so and stops with an error
    assert killed_worker.proc.returncode == 1
    assert "worker processes exited with code" in killed_worker.output()
    assert killed_requests, "the killed process had a request at the platform"

    # no bet ever had two requests in flight at the platform
    assert platform.overlaps == []

    # every bet's callbacks arrived in enqueue order, retries of a callback back to back
    by_bet: dict[str, list] = {}
    for s in seen:
        by_bet.setdefault(s.body["bet_id"], []).append(s)
    assert set(by_bet) == set(expected)
    for bet_id, request_ids in expected.items():
        arrived = [s.request_id for s in by_bet[bet_id]]
        collapsed = [r for i, r in enumerate(arrived) if i == 0 or arrived[i - 1] != r]
        assert collapsed == request_ids, f"{bet_id} arrived out of order"
        assert {c["state"] for c in store.group_callbacks(clean_db, bet_id)} == {"delivered"}

    # every request the platform saw has its history row, keyed by X-Request-ID
    rows = {str(a["id"]): a for bet_id in expected
            for a in store.group_attempts(clean_db, bet_id)}
    assert {s.attempt_id for s in seen} <= set(rows)
    assert len({s.attempt_id for s in seen}) == len(seen)
    killed_ids = {s.attempt_id for s in killed_requests}
    for s in seen:
        row = rows[s.attempt_id]
        assert row["callback_request_id"] == s.request_id
        answered_then_killed = s.client_port in killed_ports and row["outcome"] == "unknown"
        if s.attempt_id in killed_ids or answered_then_killed:
            # the killed process never read (or never recorded) the answer: the sweeper closed
            # it as unknown — a request answered just before the kill, not only a held one
            assert (row["outcome"], row["error_class"]) == ("unknown", "unknown")
        else:
            assert row["response_status"] == s.status
            assert row["outcome"] == ("delivered" if s.status == 204 else "failed")
    # and each of the killed process's requests was followed by a delivered attempt
    for s in killed_requests:
        later = [a for a in rows.values() if a["callback_id"] == rows[s.attempt_id]["callback_id"]
                 and a["attempt_no"] > rows[s.attempt_id]["attempt_no"]]
        assert any(a["outcome"] == "delivered" for a in later), s.attempt_id
    # attempts are numbered 1..n per callback, none left sending
    per_callback: dict = {}
    for a in rows.values():
        per_callback.setdefault(a["callback_id"], []).append(a["attempt_no"])
    assert all(sorted(nos) == list(range(1, len(nos) + 1)) for nos in per_callback.values())
    assert not [a for a in rows.values() if a["outcome"] == "sending"]
