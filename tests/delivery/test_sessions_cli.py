"""`callbacks session open|close|list` and the brands' heartbeat interval as a person uses
them, run in-process on a real database: what they print, what they write, and the clear
error and non-zero exit of a mistake."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from callbacks.main import main
from delivery import brands, database

SECRET = "player-token-5f3a9c"
PARAMS = json.dumps({"token": SECRET})


@pytest.fixture
def run(database_url, clean_db, monkeypatch, capsys):
    """``run(*args)``: ``(exit code, stdout, stderr)`` of ``callbacks ARGS...``. The engines
    the commands make are disposed of afterwards (each command makes its own, as a process
    would)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("USER", "ann")
    made = []
    make_engine = database.make_engine
    monkeypatch.setattr(database, "make_engine",
                        lambda *a, **kw: made.append(make_engine(*a, **kw)) or made[-1])
    capsys.readouterr()

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse refuses before any command runs
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err
    yield run
    for engine in made:
        engine.dispose()


@pytest.fixture
def acme(clean_db):
    return brands.add_brand(clean_db, "acme", "http://127.0.0.1:9")


def trail(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT kind, before, after FROM config_changes ORDER BY id")).all()


# --- the brand's interval -------------------------------------------------------------------

def test_brand_add_takes_the_interval_and_list_shows_it(run, clean_db):
    assert run("brand", "add", "acme", "--url", "http://127.0.0.1:9",
               "--heartbeat-interval-s", "15")[0] == 0
    code, out, _ = run("brand", "add", "beta", "--url", "http://127.0.0.1:9")
    assert code == 0 and "a heartbeat every 60 s" in out
    code, out, _ = run("brand", "list", "--json")
    assert {b["name"]: b["heartbeat_interval_s"] for b in json.loads(out)} == {
        "acme": 15, "beta": 60}
    code, out, _ = run("brand", "list")
    assert "heartbeat 15s" in out.splitlines()[0] and "heartbeat 60s" in out.splitlines()[1]
    assert trail(clean_db)[0].after["heartbeat_interval_s"] == 15


def test_brand_set_changes_the_interval_with_a_reason_into_the_trail(run, clean_db):
    run("brand", "add", "acme", "--url", "http://127.0.0.1:9")
    code, out, err = run("brand", "set", "acme", "--heartbeat-interval-s", "30",
                         "--reason", "the platform's sessions last 2 minutes")
    assert code == 0, err
    assert "a heartbeat every 30 s" in out
    assert brands.brand_named(clean_db, "acme").heartbeat_interval_s == 30
    change = trail(clean_db)[-1]
    assert change.kind == "brand.set"
    assert (change.before, change.after) == ({"heartbeat_interval_s": 60},
                                             {"heartbeat_interval_s": 30})
    code, _, err = run("brand", "set", "acme", "--heartbeat-interval-s", "30")
    assert code == 2 and "--reason" in err


@pytest.mark.parametrize("value, words", [
    ("0", "--heartbeat-interval-s must be at least 1 s"),
    ("-5", "--heartbeat-interval-s must be at least 1 s"),
    ("1.5", "invalid int value"),
])
def test_an_interval_under_the_minimum_is_refused(run, clean_db, value, words):
    code, _, err = run("brand", "add", "acme", "--url", "http://127.0.0.1:9",
                       "--heartbeat-interval-s", value)
    assert code == 2 and words in err
    assert brands.all_brands(clean_db) == []


# --- sessions -------------------------------------------------------------------------------

def test_open_refresh_close_and_list(run, clean_db, acme):
    code, out, err = run("session", "open", "--brand", "acme", "--id", "s-1",
                         "--foreign-params", PARAMS, "--ttl-s", "600")
    assert code == 0, err
    assert out.startswith("session s-1 of brand acme opened: live until ")
    code, out, _ = run("session", "open", "--brand", "acme", "--id", "s-1",
                       "--foreign-params", PARAMS)
    assert code == 0 and "refreshed: live until closed" in out
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    code, out, _ = run("session", "open", "--brand", "acme", "--id", "s-2",
                       "--foreign-params", PARAMS, "--expires-at", at.isoformat(), "--json")
    assert code == 0 and datetime.fromisoformat(json.loads(out)["expires_at"]) == at
    code, out, _ = run("session", "close", "--brand", "acme", "--id", "s-1")
    assert code == 0 and out.strip() == "session s-1 of brand acme closed after 0 heartbeat(s)"
    code, out, _ = run("session", "close", "--brand", "acme", "--id", "s-1")
    assert code == 0 and "was over already (closed); nothing was changed" in out

    code, out, _ = run("session", "list", "--brand", "acme", "--json")
    listed = json.loads(out)
    assert [(s["session_id"], s["state"]) for s in listed] == [("s-2", "live"),
                                                               ("s-1", "closed")]
    assert {"session_id", "state", "heartbeats_sent", "last_status", "last_at",
            "opened_at"} <= set(listed[0])
    assert listed[0]["heartbeats_sent"] == 0 and listed[0]["last_status"] is None
    code, out, _ = run("session", "list", "--brand", "acme", "--state", "live", "--json")
    assert [s["session_id"] for s in json.loads(out)] == ["s-2"]
    code, out, _ = run("session", "list", "--brand", "acme")
    lines = out.splitlines()
    assert lines[0].split() == ["SESSION", "STATE", "BEATS", "LAST", "LAST", "AT", "OPENED",
                                "AT", "EXPIRES", "AT"]
    assert lines[1].split()[:5] == ["s-2", "live", "0", "-", "-"]
    assert lines[2].split()[:2] == ["s-1", "closed"]
    code, out, _ = run("session", "list", "--brand", "acme", "--state", "expired")
    assert code == 0 and out.strip() == "no expired player sessions on brand acme"
    for output in (out, json.dumps(listed)):
        assert SECRET not in output


@pytest.mark.parametrize("args, words", [
    (["--id", "s-1", "--foreign-params", "{not json " + SECRET], "must be a JSON object"),
    (["--id", "s-1", "--foreign-params", "[1]"], "foreign_params must be a JSON object"),
    (["--id", "s-1", "--foreign-params", "{}"], "foreign_params is empty"),
    (["--id", "", "--foreign-params", PARAMS], "session_id must be 1 to 200"),
    (["--id", "s-1", "--foreign-params", PARAMS, "--ttl-s", "0"], "ttl_s must be"),
    (["--id", "s-1", "--foreign-params", PARAMS, "--expires-at", "2020-01-01T00:00:00Z"],
     "is not in the future"),
    (["--id", "s-1", "--foreign-params", PARAMS, "--expires-at", "tomorrow"],
     "RFC 3339 time with its offset"),
    (["--id", "s-1", "--foreign-params", PARAMS, "--ttl-s", "60", "--expires-at",
      "2030-01-01T00:00:00Z"], "not allowed with argument"),
])
def test_a_bad_session_is_refused_clearly_and_nothing_is_written(run, clean_db, acme, args,
                                                                 words):
    code, _, err = run("session", "open", "--brand", "acme", *args)
    assert code == 2 and words in err
    assert SECRET not in err
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM player_sessions")).scalar() == 0


def test_an_unknown_brand_or_session_is_explained(run, clean_db, acme):
    code, _, err = run("session", "open", "--brand", "ghost", "--id", "s-1",
                       "--foreign-params", PARAMS)
    assert code == 2 and "no brand named 'ghost'" in err and "callbacks brand add ghost" in err
    code, _, err = run("session", "close", "--brand", "acme", "--id", "nobody")
    assert code == 2 and "brand acme has no player session 'nobody'" in err
    code, _, err = run("session", "list", "--brand", "acme", "--state", "open")
    assert code == 2 and "invalid choice: 'open'" in err
