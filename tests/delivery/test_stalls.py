"""Giving up on a stalled database (:mod:`delivery.stalls`), on an embedded server of this
module's own frozen with SIGSTOP: work cut off by its caller loses its connection at once and
the pool never hands that connection out again; psycopg2's quiet limit ends a wait on a silent
server with a lost connection, yet lets a slow statement finish while the server still accepts
connections; a quick command says "database unavailable" in one line and exits 3."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from databases import own_server

from callbacks import main as cli
from delivery import database, stalls


@pytest.fixture(scope="module")
def own():
    with own_server("stalls_test") as server:
        yield server


def backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_work_cut_off_loses_its_connection_and_the_pool_drops_it(own):
    # Given an engine watched as the API's is, with one pooled connection
    engine = database.make_engine(own.url, pool_size=1, pre_ping=False)
    watch = stalls.watch(engine)
    before = backend_pid(engine)
    work, outcome = stalls.Work(), {}

    def run():
        try:
            watch.call(work, backend_pid, engine)
        except sa.exc.DBAPIError as exc:
            outcome["error"] = exc

    with own.frozen():
        # When a thread's work waits on the frozen server and its caller gives up on it
        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.3)
        assert thread.is_alive()
        assert work.abandon() == 1
        thread.join(timeout=5)
        # Then the thread ends at once with a lost connection
        assert not thread.is_alive()
    assert database.connection_lost(outcome["error"])
    # And the pool serves the next caller with a new connection
    assert backend_pid(engine) != before
    engine.dispose()


def test_the_quiet_limit_ends_a_wait_on_a_frozen_server_as_a_lost_connection(own):
    engine = database.make_engine(own.url, pool_size=1)
    backend_pid(engine)
    with stalls.quiet_limit(1.0), own.frozen():
        started = time.monotonic()
        with pytest.raises(sa.exc.DBAPIError) as raised:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        took_s = time.monotonic() - started
    assert database.connection_lost(raised.value)
    assert "sent nothing for 1 s" in str(raised.value.orig)
    assert took_s < 10  # the pre-ping gave up, then the new connection did
    # Back to normal after the thaw, wait callback and connections alike
    assert backend_pid(engine)
    engine.dispose()


def test_with_a_probe_a_slow_statement_on_a_live_server_finishes(own):
    engine = database.make_engine(own.url, pool_size=1)
    with stalls.quiet_limit(0.5, probe=True), engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_sleep(1.5), 7")).one()[1] == 7


def test_a_quick_command_on_a_frozen_database_says_so_in_one_line(own, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", own.url)
    monkeypatch.setattr(cli, "QUIET_LIMIT_S", 1.0)
    assert cli.main(["status"]) == 0  # the database answers: the figures are shown
    capsys.readouterr()
    with own.frozen():
        started = time.monotonic()
        code = cli.main(["status"])
        took_s = time.monotonic() - started
    said = capsys.readouterr().err.strip().splitlines()
    assert code == 3 and len(said) == 1, said
    assert said[0].startswith("error: database unavailable: the database sent nothing for 1 s")
    assert took_s < 15
