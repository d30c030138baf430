"""``callbacks sandbox``: option errors, profile merging, and one real run."""
import argparse
import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sandbox_testkit import place

from sandbox.cli import register, run
from sandbox.config import config_from_args
from sandbox.faults import Latency

REPO = Path(__file__).resolve().parents[2]


def parse(*argv):
    parser = argparse.ArgumentParser(prog="callbacks")
    register(parser.add_subparsers())
    return parser.parse_args(["sandbox", *argv])


@pytest.mark.parametrize("argv, words", [
    (["--error-rate", "1.5"], ["--error-rate", "1.5"]),
    (["--timeout-rate", "x"], ["--timeout-rate", "'x'"]),
    (["--port", "70000"], ["--port", "70000"]),
    (["--player", "abc"], ["--player", "'abc'", "TOKEN:BALANCE"]),
    (["--player", "tok:-5"], ["--player", "'tok:-5'"]),
    (["--latency-ms", "fast"], ["--latency-ms", "'fast'"]),
    (["--outage", "5"], ["--outage", "'5'"]),
    (["--bug", "flaky"], ["--bug", "'flaky'", "non_idempotent"]),
    (["--base-path", "api"], ["--base-path", "'api'"]),
    (["--slow-s", "-1"], ["--slow-s", "'-1'"]),
    (["--timeout-s", "0"], ["--timeout-s", "'0'"]),
    (["--outage-mode", "sometimes"], ["--outage-mode", "'sometimes'"]),
    (["--currency", "eur"], ["--currency", "'eur'", "upper-case"]),
])
def test_a_bad_option_value_is_an_error_naming_the_option_and_value(capsys, argv, words):
    with pytest.raises(SystemExit) as caught:
        parse(*argv)
    assert caught.value.code == 2
    message = capsys.readouterr().err
    for word in words:
        assert word in message


def test_shares_that_add_up_above_one_are_refused_by_run(capsys):
    args = parse("--error-rate", "0.6", "--unsupported-rate", "0.5")
    assert run(args) == 2
    assert "at most 1" in capsys.readouterr().err


def test_a_missing_profile_is_refused_by_run(capsys, tmp_path):
    assert run(parse("--profile", str(tmp_path / "nope.json"))) == 2
    assert "--profile" in capsys.readouterr().err


def test_a_profile_with_an_unknown_key_is_refused(capsys, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"error_rat": 0.1}))
    assert run(parse("--profile", str(profile))) == 2
    assert "error_rat" in capsys.readouterr().err


def test_options_win_over_the_profile_and_lists_combine(tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({
        "error_rate": 0.2, "latency_ms": "50-400", "bugs": ["slow"], "slow_s": 2,
        "players": ["tok-a:10", {"token": "tok-b", "balance": "5", "player_id": "p-b"}],
        "outages": ["10/60"], "base_path": "/api/",
    }))
    config = config_from_args(parse("--profile", str(profile), "--error-rate", "0.1",
                                    "--bug", "non_idempotent", "--player", "tok-c:1.5",
                                    "--outage", "60-90", "--timeout-applies"))
    assert config.faults.error_rate == 0.1
    assert config.faults.latency == Latency("uniform", 50, 400)
    assert config.bugs == {"slow", "non_idempotent"} and config.slow_s == 2
    assert [(p.token, p.balance, p.player_id) for p in config.players] == [
        ("tok-a", Decimal("10"), None), ("tok-b", Decimal("5"), "p-b"),
        ("tok-c", Decimal("1.5"), None)]
    assert len(config.faults.outages) == 2 and config.faults.timeout_applies
    assert config.base_path == "/api"


def test_the_ledger_currency_defaults_to_eur_and_comes_from_profile_or_option(tmp_path, capsys):
    assert config_from_args(parse()).currency == "EUR"
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"currency": "USD"}))
    assert config_from_args(parse("--profile", str(profile))).currency == "USD"
    config = config_from_args(parse("--profile", str(profile), "--currency", "GBP"))
    assert config.currency == "GBP" and config.describe()["currency"] == "GBP"
    profile.write_text(json.dumps({"currency": "usd"}))
    assert run(parse("--profile", str(profile))) == 2
    assert "currency 'usd'" in capsys.readouterr().err


@pytest.mark.slow
def test_the_command_serves_until_interrupted(tmp_path):
    # Given `callbacks sandbox` on a free port with one player and a state file
    state = tmp_path / "state.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--player", "tok:20",
         "--state-file", str(state), "--base-path", "/cb"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        banner = process.stdout.readline().strip()
        assert banner.startswith("Sandbox platform listening on http://127.0.0.1:"), banner
        url = banner.rsplit(" ", 1)[1]
        assert url.endswith("/cb")
        # When a place is posted
        response = httpx.post(url + "/bet/place", json=place("bet-cli", "5.00"),
                              headers={"Foreign-Params": json.dumps({"token": "tok"})})
        # Then it is held and saved
        assert response.status_code == 204
        assert json.loads(state.read_text())["players"][0]["held"] == "5.00"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
