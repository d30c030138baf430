"""The send path's guarantees, end to end: isolation between brands, every request in the
history across a PostgreSQL restart, and no orphan workers."""
import os
import signal
import threading
import time
import uuid

import databases
import psutil
import pytest
import sqlalchemy as sa
from factories import item
from platforms import Hanging
from receiver import Receiver, Reply
from rounds import delivering
from workers import Worker, wait_for

from delivery import brands, database, store
from delivery.validation import parse_callback
from delivery.worker import DeliveryWorker


def _enqueue(engine, brand, bets, destination="/bet/settle"):
    return store.enqueue(engine, brand, [parse_callback(item(b, destination)) for b in bets])


def test_a_hanging_platform_does_not_delay_another_brand(clean_db):
    # Given a brand whose platform accepts connections and never answers, with more callbacks
    # queued than its cap, queued before a healthy brand's, and one thread handing every
    # claim to the worker's sending loop (a take that waited for its requests would hold it)
    with Hanging() as dead, Receiver() as healthy:
        brands.add_brand(clean_db, "dead", dead.url)  # defaults: timeout 10 s, 32 in flight
        brands.add_brand(clean_db, "live", healthy.url)
        _enqueue(clean_db, "dead", [f"dead-{i}" for i in range(60)])
        with delivering(clean_db):
            wait_for(lambda: dead.accepted >= 32, 20, "the dead platform to hold 32 requests")
            # When the healthy brand's callbacks arrive
            _enqueue(clean_db, "live", [f"live-{i}" for i in range(40)])
            # Then they are all delivered while every request to the dead platform still hangs
            wait_for(lambda: len(healthy.seen) == 40 and store.status(clean_db)[
                "pending_callbacks"] == 60, 8, "the healthy brand to be delivered")
            assert dead.closed_by_client == 0  # no dead request has reached its 10 s timeout
            dead_brand = brands.brand_named(clean_db, "dead")
            assert store.in_flight_by_brand(clean_db).get(dead_brand.id) == 32  # only its cap


# --- a PostgreSQL restart while results are written ------------------------------------------

@pytest.fixture
def own_server():
    """An embedded PostgreSQL server this test may restart (never the machine's shared one)."""
    with databases.own_server("restart_test") as own:
        yield own


def test_results_survive_a_postgresql_restart_during_the_write(own_server):
    engine = database.make_engine(own_server.url)
    restarted = threading.Event()

    def behave(seen):
        # The first request stops the database before its answer goes back; it is up again
        # 0.2 s later, while the worker is recording the results.
        if not restarted.is_set():
            restarted.set()
            own_server.stop()
            threading.Timer(0.2, own_server.start).start()
        return Reply()

    with Receiver(behave) as platform:
        brands.add_brand(engine, "b", platform.url)
        _enqueue(engine, "b", [f"bet-{i}" for i in range(10)], "/bet/place")
        claims = store.claim_due(engine, lease_s=60)
        delivery = DeliveryWorker(engine, lease_margin_s=30)
        # When the batch is delivered and the database restarts under it
        assert delivery.take([c[:2] for c in claims]) == 10
        assert delivery.drain(60), "the attempts were never recorded"
        delivery.stop(5)
    # Then every request the platform saw is recorded with its answer, none lost or unknown
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id::text, outcome FROM attempts")).all()
        states = conn.execute(sa.text("SELECT DISTINCT state FROM callbacks")).scalars().all()
    assert restarted.is_set()
    assert sorted(r.id for r in rows) == sorted(s.attempt_id for s in platform.seen)
    assert {r.outcome for r in rows} == {"delivered"} and states == ["delivered"]
    engine.dispose()


# --- no orphans -------------------------------------------------------------------------------

def _tree(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("killed", ["supervisor", "supervisor and dramatiq"])
def test_workers_stop_when_their_supervisor_is_killed(clean_db, database_url, killed):
    with Receiver() as platform:
        brands.add_brand(clean_db, "b", platform.url)
        worker = Worker(database_url, processes=2).start()
        everything: list[psutil.Process] = []
        try:
            wait_for(lambda: [p for p in _tree(worker.proc.pid)
                                        if "dramatiq" in " ".join(p.cmdline())] or None,
                               30, "the Dramatiq processes to start")
            wait_for(lambda: len(_tree(worker.proc.pid)) >= 3, 30, "every worker process")
            everything[:] = _tree(worker.proc.pid)
            masters = [p for p in everything if p.ppid() == worker.proc.pid]
            # When `callbacks worker` is killed outright (and, the second time, Dramatiq's
            # main process too, leaving only the worker processes)
            os.kill(worker.proc.pid, signal.SIGKILL)
            if killed != "supervisor":
                for proc in masters:
                    proc.kill()
            worker.proc.wait(10)
            # Then nothing keeps delivering on its own: every process is gone within seconds
            wait_for(lambda: not any(map(_alive, everything)), 15,
                     f"the orphaned workers to exit: {everything}")
        finally:
            for proc in [p for p in everything if _alive(p)]:
                proc.kill()
        # and a callback queued now is not taken by any leftover process
        _enqueue(clean_db, "b", [f"late-{uuid.uuid4().hex[:6]}"])
        time.sleep(1.0)
        assert not platform.seen
