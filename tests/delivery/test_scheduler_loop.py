"""The scheduler's loop outlives whatever a round runs into: only its stop event ends it."""
import logging
import threading
import time

import sqlalchemy as sa
from dramatiq.brokers.stub import StubBroker
from factories import item
from workers import wait_for

from delivery import brands, scheduler, store
from delivery.database import connection_lost
from delivery.settings import Settings
from delivery.validation import parse_callback


def _lost_mid_statement() -> sa.exc.DBAPIError:
    # What psycopg2 raises when the server goes away while a statement runs (a plain
    # DatabaseError, "server closed the connection unexpectedly"), as SQLAlchemy wraps it.
    return sa.exc.DatabaseError("SELECT 1", {}, Exception("server closed the connection "
                                "unexpectedly"), connection_invalidated=True)


def test_a_connection_that_broke_or_could_not_be_made_is_told_from_a_wrong_statement():
    assert connection_lost(_lost_mid_statement())
    assert connection_lost(sa.exc.OperationalError("SELECT 1", {}, Exception("refused")))
    assert not connection_lost(sa.exc.IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not connection_lost(sa.exc.ProgrammingError("SELEC", {}, Exception("syntax")))
    assert not connection_lost(ValueError("not a database error"))


class _Rounds(scheduler.Scheduler):
    """A scheduler whose rounds fail as listed, then stop it."""

    def __init__(self, engine, failures, stop):
        super().__init__(engine, broker=None, settings=Settings(poll_interval_s=0.01))
        self.failures = list(failures)
        self.stop = stop
        self.rounds = 0

    def tick(self):
        self.rounds += 1
        if self.failures:
            raise self.failures.pop(0)
        self.stop.set()
        return scheduler.TickReport()


def test_the_scheduler_goes_on_after_a_lost_connection_and_after_an_unexpected_error(
        engine, monkeypatch, caplog):
    monkeypatch.setattr(scheduler, "RETRY_AFTER_S", 0.01)
    stop = threading.Event()
    rounds = _Rounds(engine, [_lost_mid_statement(), RuntimeError("a bug in a round")], stop)
    with caplog.at_level(logging.ERROR, logger="delivery.scheduler"):
        thread = threading.Thread(target=rounds.run, args=(stop,))
        thread.start()
        thread.join(timeout=10)
    assert not thread.is_alive() and stop.is_set()
    assert rounds.rounds == 3
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("database unavailable") for m in messages)
    assert any(m.startswith("a scheduler round failed") for m in messages)



def test_an_outage_is_logged_when_it_begins_and_when_it_ends(engine, monkeypatch, caplog):
    # Given rounds that cannot reach the database five times, tried again at once
    monkeypatch.setattr(scheduler, "RECONNECT_EVERY_S", 0.01)
    stop = threading.Event()
    rounds = _Rounds(engine, [_lost_mid_statement() for _ in range(5)], stop)
    with caplog.at_level(logging.WARNING, logger="delivery.scheduler"):
        thread = threading.Thread(target=rounds.run, args=(stop,))
        thread.start()
        thread.join(timeout=10)
    # Then every round was tried, and the log says the outage began, once, and ended
    assert rounds.rounds == 6
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if m.startswith("database unavailable")] == [messages[0]]
    assert messages[0].endswith("trying again every 0.01 s")
    assert messages[1].startswith("database available again after")
    assert len(messages) == 2


class _OutageThenRounds(scheduler.Scheduler):
    """A scheduler whose first rounds cannot reach the database, then run for real."""

    def __init__(self, engine, failures):
        broker = StubBroker()
        broker.declare_queue(Settings().queue_name)
        super().__init__(engine, broker, Settings(poll_interval_s=0.01))
        self.failures = failures
        self.last_failure_at = None

    def tick(self):
        if self.failures:
            self.failures -= 1
            self.last_failure_at = time.monotonic()
            raise _lost_mid_statement()
        return super().tick()


def test_leases_that_ran_out_in_an_outage_are_swept_only_after_a_grace(clean_db, monkeypatch):
    # Given a callback whose lease ran out while the database was unavailable
    monkeypatch.setattr(scheduler, "RECONNECT_EVERY_S", 0.01)
    monkeypatch.setattr(scheduler, "SWEEP_GRACE_S", 1.0)
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9")
    store.enqueue(clean_db, "b", [parse_callback(item("bet-1", "/bet/settle"))])
    assert len(store.claim_due(clean_db, lease_s=0)) == 1
    # When the scheduler's rounds fail a few times, then the database is back
    rounds = _OutageThenRounds(clean_db, failures=3)
    stop = threading.Event()
    thread = threading.Thread(target=rounds.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: rounds.broker.queues[Settings().queue_name].qsize(), 10,
                 "the swept callback to be handed out again", interval_s=0.01)
        swept_after_s = time.monotonic() - rounds.last_failure_at
    finally:
        stop.set()
        thread.join(timeout=10)
    # Then it is swept (and handed out again) only once the grace has passed, not at once:
    # a worker holding its answer had that long to record it
    assert 1.0 <= swept_after_s < 3.0
