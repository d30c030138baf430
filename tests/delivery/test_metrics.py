"""Prometheus metrics of real `callbacks worker` and `callbacks scheduler` processes, scraped
over HTTP: what the database knows per brand, and what the Dramatiq processes counted."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
from factories import item
from metrics_scrape import metrics_url, sample, scrape
from receiver import Receiver, Reply
from workers import Worker, wait_for

from delivery import brands, metrics, store
from delivery.validation import parse_callback


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def platform(seen) -> Reply:
    if (seen.body or {}).get("bet_id") == "bet-broken" and seen.path == "/bet/place":
        return Reply(500, b"boom")
    return Reply(204)


def test_worker_serves_queue_figures_and_what_its_processes_counted(clean_db, database_url):
    with Receiver(platform) as receiver:
        # Given a working platform (one bet it answers 500, no retries) and a dead one
        brands.add_brand(clean_db, "north", receiver.url, retry_schedule_s=(0,))
        brands.add_brand(clean_db, "south", f"http://127.0.0.1:{closed_port()}",
                         retry_schedule_s=(0, 3600), timeout_s=2)
        store.enqueue(clean_db, "north", [parse_callback(item(f"bet-{n}", "/bet/place"))
                                          for n in range(3)]
                      + [parse_callback(item("bet-broken", "/bet/place"))])
        store.enqueue(clean_db, "south", [parse_callback(item("bet-south", "/bet/place")),
                                          parse_callback(item("bet-south", "/bet/accept"))])

        # When a worker with two Dramatiq processes delivers them
        with Worker(database_url, processes=2, threads=4,
                    args=("--metrics-port", "0")) as worker:
            url = wait_for(lambda: metrics_url(worker.output()), 60, "the metrics address")

            def settled():
                samples = scrape(url)
                done = sample(samples, "callbacks_deliveries_total", brand="north",
                              destination="/bet/place", outcome="delivered")
                failed = sample(samples, "callbacks_deliveries_total", brand="south",
                                destination="/bet/place", outcome="failed")
                # (the exhausted place queues a /bet/decline, delivered in turn)
                declined = sample(samples, "callbacks_deliveries_total", brand="north",
                                  destination="/bet/decline", outcome="delivered")
                return samples if (done, failed, declined) == (3, 1, 1) else None

            wait_for(settled, 60, "every attempt counted")
            # One scrape reads the queue from PostgreSQL before the processes' counters, so the
            # scrape that first saw the last count may have read the queue just before the
            # write that preceded it; counters go up only after the write, so a new one is whole.
            samples = scrape(url)

        # Then the scrape shows every process's counts, summed, beside the queue figures
        assert sample(samples, "callbacks_deliveries_total", brand="north",
                      destination="/bet/place", outcome="exhausted") == 1
        assert sample(samples, "callbacks_attempt_duration_seconds_count", brand="north",
                      destination="/bet/place") == 4
        assert sample(samples, "callbacks_attempt_duration_seconds_bucket", brand="north",
                      destination="/bet/place", le="+Inf") == 4
        assert sample(samples, "callbacks_queue_depth", brand="north") == 0
        assert sample(samples, "callbacks_queue_depth", brand="south") == 2
        assert sample(samples, "callbacks_oldest_pending_age_seconds", brand="south") > 0
        assert sample(samples, "callbacks_oldest_pending_age_seconds", brand="north") == 0
        assert sample(samples, "callbacks_in_flight", brand="south") == 0
        assert sample(samples, "callbacks_due_now", brand="south") == 0
        assert sample(samples, "callbacks_database_up") == 1
        assert sample(samples, "callbacks_dispatched_total") >= 1
        assert sample(samples, "callbacks_broker_publish_errors_total") == 0


@pytest.mark.slow
def test_scheduler_counts_broker_publish_errors(clean_db, database_url):
    # Given a scheduler whose RabbitMQ does not answer, and a callback due
    brands.add_brand(clean_db, "north", "http://127.0.0.1:9", retry_schedule_s=(0,))
    store.enqueue(clean_db, "north", [parse_callback(item("bet-1", "/bet/place"))])
    env = dict(os.environ, DATABASE_URL=database_url, CALLBACKS_POLL_INTERVAL_S="0.1",
               BROKER_URL=f"amqp://guest:guest@127.0.0.1:{closed_port()}/")
    proc = subprocess.Popen([sys.executable, "-m", "callbacks", "scheduler", "--metrics-port",
                             "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        printed = ""
        for line in proc.stdout:
            printed += line
            if metrics_url(printed):
                break
        url = metrics_url(printed)
        assert url, printed
        # When it claims the callback and cannot publish it
        samples = wait_for(lambda: (s := scrape(url)) and sample(
            s, "callbacks_broker_publish_errors_total") and s, 60, "a publish error counted")
        # Then the error is counted, the callback waits for its lease, and it keeps running
        assert sample(samples, "callbacks_broker_publish_errors_total") >= 1
        assert sample(samples, "callbacks_dispatched_total") == 0
        assert sample(samples, "callbacks_in_flight", brand="north") == 1
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[0]
    assert "could not publish to the broker" in printed + rest
    assert proc.returncode == 0, printed + rest


def test_live_player_sessions_are_counted_per_brand_with_one_query_per_scrape(clean_db):
    import httpx
    import sqlalchemy as sa
    from player_sessions import live_session

    from delivery import heartbeats, metrics

    def heartbeat_fails(seen) -> Reply:
        return Reply(503, b"down for maintenance")

    with Receiver() as up, Receiver(heartbeat_fails) as down:
        # Given a brand whose platform answers heartbeats, one whose platform fails them, and a
        # brand with no sessions
        brands.add_brand(clean_db, "north", up.url)
        brands.add_brand(clean_db, "south", down.url)
        brands.add_brand(clean_db, "idle", up.url)
        for n in range(3):
            live_session(clean_db, "north", f"north-{n}")
        for n in range(2):
            live_session(clean_db, "south", f"south-{n}")
        closed = live_session(clean_db, "north", "north-gone")
        with clean_db.begin() as conn:
            conn.execute(sa.text("UPDATE player_sessions SET state = 'closed', next_beat_at = "
                                 "NULL, ended_at = now() WHERE id = :id"), {"id": closed})
        # When each live session's heartbeat has gone out once
        with httpx.Client(timeout=5) as client:
            sent = heartbeats.beat_round(clean_db, client)
        assert sorted(a.outcome.kind for a in sent) == ["delivered"] * 3 + ["failed"] * 2

        statements = []

        def count(conn, cursor, statement, *rest):
            # (Preparing the statement on a connection's first use is not a query.)
            if not statement.startswith(("SET LOCAL", "PREPARE", "DEALLOCATE")) and \
                    "pg_prepared_statements" not in statement:
                statements.append(statement)

        server = metrics.serve(metrics.registry_for(clean_db), "127.0.0.1", 0)
        sa.event.listen(clean_db, "before_cursor_execute", count)
        try:
            samples = scrape(f"http://127.0.0.1:{server.server_port}/metrics")
        finally:
            sa.event.remove(clean_db, "before_cursor_execute", count)
            server.shutdown()
    # Then a scrape shows the live sessions per brand, and those whose heartbeats fail,
    # read with one query
    assert sample(samples, "callbacks_player_sessions", brand="north", state="live") == 3
    assert sample(samples, "callbacks_player_sessions", brand="south", state="live") == 2
    assert sample(samples, "callbacks_player_sessions", brand="idle", state="live") == 0
    assert sample(samples, "callbacks_player_sessions_failing", brand="north") == 0
    assert sample(samples, "callbacks_player_sessions_failing", brand="south") == 2
    assert sample(samples, "callbacks_player_sessions_failing", brand="idle") == 0
    assert len(statements) == 1, statements


def test_a_killed_workers_folder_of_counts_is_removed_by_the_next_worker(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    mine = tmp_path / f"{metrics.counts_dir_prefix(os.getpid())}abc123"
    dead = tmp_path / f"{metrics.counts_dir_prefix(gone.pid)}x_9q"
    other = tmp_path / "callbacks-metrics-notapid"
    for folder in (mine, dead, other):
        folder.mkdir()
        (folder / "counter_1.db").write_bytes(b"x")
    assert metrics.stale_counts_dirs([mine.name, dead.name, other.name, "elsewhere"],
                                     lambda pid: pid == os.getpid()) == [dead.name]
    assert metrics.remove_stale_counts_dirs(tmp_path) == [dead.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, other.name])
