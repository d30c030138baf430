"""The `callbacks` command as a person runs it: in this process (:func:`cli.run_cli`), real
database; a few tests run the real process."""
import json
import logging
import os
import subprocess
import sys

import psycopg2.extensions
import pytest
import sqlalchemy as sa
from cli import Result, run_cli
from factories import item
from workers import wait_for


def callbacks(database_url, *args, stdin: str | bytes | None = None) -> Result:
    return run_cli(*args, stdin=stdin, env={"DATABASE_URL": database_url})


def process(database_url, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m callbacks ARGS...`` in a new process, as an operator runs it."""
    env = dict(os.environ, DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "-m", "callbacks", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=60)


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


@pytest.mark.slow
def test_upgrade_is_safe_twice(database_url, clean_db):
    first = process(database_url, "db", "upgrade")
    second = process(database_url, "db", "upgrade")
    assert first.returncode == second.returncode == 0
    assert "up to date" in second.stdout


def test_brand_enqueue_status_history(database_url, clean_db):
    assert callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9",
                     "--retry-schedule", "0,5,30").returncode == 0
    lines = "\n".join(json.dumps(item("bet-7", d)) for d in ("/bet/place", "/bet/accept"))
    done = callbacks(database_url, "enqueue", "--brand", "acme", "-", stdin=lines + "\n")
    assert done.returncode == 0, done.stderr
    assert "queued 2 callback(s) for 1 bet(s)" in done.stdout
    status = json.loads(callbacks(database_url, "status", "--json").stdout)
    assert status["pending_callbacks"] == 2 and status["groups_waiting"] == 1
    assert status["due_now"] == 1 and status["in_flight"] == 0
    history = callbacks(database_url, "history", "--group-id", "bet-7")
    assert "/bet/place" in history.stdout and "pending" in history.stdout
    brands = json.loads(callbacks(database_url, "brand", "list", "--json").stdout)
    assert brands[0]["retry_schedule_s"] == [0, 5, 30]


@pytest.mark.parametrize("lines, message", [
    ([item("bet-1", "/bet/place"), {"bet_id": "bet-2", "destination": "/nope", "payload": {}}],
     "line 2: destination '/nope' is not in the callback contract"),
    ([dict(item("bet-1", "/bet/settle"), payload={"settle_amount": "x"})],
     "line 1: payload.bet_player_id is required"),
    (["not json"], "line 1: not valid JSON"),
])
def test_bad_input_names_line_and_field_and_writes_nothing(database_url, clean_db, lines,
                                                           message):
    callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9")
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    done = callbacks(database_url, "enqueue", "--brand", "acme", "-", stdin=text)
    assert done.returncode == 2 and message in done.stderr
    assert _count(clean_db, "callbacks") == 0 and _count(clean_db, "bets") == 0


@pytest.mark.slow
def test_unknown_brand_is_explained(database_url, clean_db):
    # A real process: its standard input read, its exit code and its error line
    done = process(database_url, "enqueue", "--brand", "ghost", "-",
                     stdin=json.dumps(item("bet-1", "/bet/place")))
    assert done.returncode == 2
    assert "no brand named 'ghost'" in done.stderr and "callbacks brand add ghost" in done.stderr
    assert _count(clean_db, "bets") == 0


@pytest.mark.parametrize("args, message", [
    (["--url", "ftp://x"], "must start with http:// or https://"),
    (["--url", "http://x", "--retry-schedule", "0,soon"], "--retry-schedule"),
    (["--url", "http://x", "--timeout-s", "0"], "greater than 0"),
])
def test_bad_brand_options(database_url, clean_db, args, message):
    done = callbacks(database_url, "brand", "add", "acme", *args)
    assert done.returncode == 2 and message in done.stderr


def test_missing_schema_says_what_to_run(database_url):
    admin = sa.make_url(database_url)
    empty = f"callbacks_empty_{os.getpid()}"
    engine = sa.create_engine(admin.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{empty}"'))
    try:
        done = callbacks(admin.set(database=empty).render_as_string(hide_password=False),
                         "status")
        assert done.returncode == 2 and "run `callbacks db upgrade`" in done.stderr
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{empty}" WITH (FORCE)'))
        engine.dispose()


@pytest.mark.slow
def test_help_in_a_real_process(database_url):
    done = process(database_url, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: callbacks ") and "enqueue" in done.stdout


def test_upgrade_in_process_is_safe_twice(database_url, clean_db):
    first = callbacks(database_url, "db", "upgrade")
    second = callbacks(database_url, "db", "upgrade")
    assert first.returncode == second.returncode == 0
    assert "up to date" in first.stdout and "up to date" in second.stdout


def test_unknown_command_and_help_exit_as_argparse_says(database_url):
    unknown = callbacks(database_url, "frobnicate")
    assert unknown.returncode == 2 and "invalid choice: 'frobnicate'" in unknown.stderr
    shown = callbacks(database_url, "status", "--help")
    assert shown.returncode == 0 and shown.stdout.startswith("usage: callbacks status")


def test_an_in_process_command_leaves_nothing_behind(database_url, clean_db):
    def backends():
        with clean_db.connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalar()

    before, handlers = backends(), logging.getLogger().handlers[:]
    # `status` is a quick command: it runs under a psycopg2 wait callback
    assert callbacks(database_url, "status").returncode == 0
    # Its connections are closed as a process's would be (a backend exits shortly after)
    wait_for(lambda: backends() == before, 10, "the command's connections to close")
    assert psycopg2.extensions.get_wait_callback() is None
    assert logging.getLogger().handlers == handlers
