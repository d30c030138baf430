"""The state file: the platform's ledger survives a restart."""
import json
from decimal import Decimal

import pytest
from sandbox_testkit import cash_out_accepted, new_id, place, settle

from contract.payouts import SETTLE_WIN
from delivery.errors import ConfigurationError
from sandbox.client import SandboxClient
from sandbox.config import PlayerSeed, SandboxConfig
from sandbox.server import serve_in_thread
from sandbox.state_file import StateFile

D = Decimal


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "sandbox-state.json"
    config = SandboxConfig(players=(PlayerSeed("tok", D("100.00")),), state_file=path)
    held = place(new_id("bet"), "10.00")
    won = place(new_id("bet"), "5.00")
    cashed = place(new_id("bet"), "3.00")
    refused = place(new_id("bet"), "500.00")
    # Given a sandbox that held, settled, cashed out and refused bets
    with serve_in_thread(config) as sandbox, SandboxClient.for_handle(sandbox) as client:
        for body in (held, won, cashed):
            assert client.send("/bet/place", body, token="tok").status_code == 204
        client.send("/bet/settle", settle(won["bet_id"], "12.50", SETTLE_WIN))
        client.send("/bet/cash-out-orders/accepted",
                    cash_out_accepted(cashed["bet_id"], "co-1", "2.00"))
        first_refusal = client.send("/bet/place", refused, token="tok")
        before = client.balance("tok")
    # When it is started again on the same state file (with the same --player)
    with serve_in_thread(config) as sandbox, SandboxClient.for_handle(sandbox) as client:
        # Then the balances are as they were, not reset to the --player balance
        assert client.balance("tok") == before == (D("96.50"), D("10.00"))
        # And repeated request ids are answered as the first time and change nothing
        again = client.send("/bet/place", refused, token="tok")
        assert (again.status_code, again.content) == (first_refusal.status_code,
                                                      first_refusal.content)
        assert client.send("/bet/place", held, token="tok").status_code == 204
        assert client.balance("tok") == before
        # And the bets are still known
        assert client.bet(cashed["bet_id"])["state"] == "cashed_out"
        assert client.send("/bet/settle", settle(held["bet_id"], "25.00", SETTLE_WIN)
                           ).status_code == 204
        assert client.balance("tok") == (D("121.50"), D("0"))


def test_runtime_players_are_saved_too(tmp_path):
    config = SandboxConfig(state_file=tmp_path / "state.json")
    with serve_in_thread(config) as sandbox, SandboxClient.for_handle(sandbox) as client:
        client.add_player("late", "7.25", player_id="p-late")
    with serve_in_thread(config) as sandbox:
        assert sandbox.platform.player("late")["player_id"] == "p-late"
        assert sandbox.platform.balance("late") == (D("7.25"), D("0"))


def test_the_state_file_is_replaced_whole_and_leaves_no_temporary_files(tmp_path):
    config = SandboxConfig(players=(PlayerSeed("tok", D("1")),), state_file=tmp_path / "s.json")
    platform = config.build_platform()
    for _ in range(5):
        platform.handle("/bet/place", place(new_id("bet"), "0.10"), json.dumps({"token": "tok"}))
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]
    saved = json.loads((tmp_path / "s.json").read_text())
    assert len(saved["bets"]) == 5 and saved["players"][0]["available"] == "0.50"


def test_an_unreadable_state_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ConfigurationError) as caught:
        StateFile(path).load()
    assert "--state-file" in str(caught.value) and str(path) in str(caught.value)


def test_the_journal_survives_a_restart(tmp_path):
    config = SandboxConfig(players=(PlayerSeed("tok", D("100.00")),),
                           state_file=tmp_path / "s.json")
    body = place(new_id("bet"), "10.00")
    # Given a place and a settle with three decimals, saved
    platform = config.build_platform()
    platform.handle("/bet/place", body, json.dumps({"token": "tok"}))
    platform.handle("/bet/settle", settle(body["bet_id"], "78.125", SETTLE_WIN))
    journal = platform.movements()
    assert json.loads((tmp_path / "s.json").read_text())["version"] == 2
    # When it is loaded again
    again = config.build_platform()
    # Then the movements are the same, every digit kept, and new ones follow them
    assert again.movements() == journal and journal[-1]["amount"] == "78.125"
    again.handle("/bet/place", place(new_id("bet"), "1.00"), json.dumps({"token": "tok"}))
    assert len(again.movements()) == 3


def test_a_state_file_of_version_1_loads_with_an_empty_journal(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({
        "version": 1,
        "players": [{"player_id": "p-1", "token": "tok", "available": "90.00", "held": "10.00",
                     "expired": False}],
        "bets": [{"bet_id": "b-1", "player_id": "p-1", "bet_type": 1, "stake": "10.00",
                  "system_sizes": [1], "held_amount": "10.00", "state": "open",
                  "credited": "0.00"}],
        "cash_outs": [], "answers": {"r-1": [204, None]},
    }))
    ledger = StateFile(path).load()
    assert ledger.movements == [] and ledger.players["p-1"].available == D("90.00")
    assert ledger.bets["b-1"].held_amount == D("10.00")


def test_a_state_file_of_an_unknown_version_is_a_clear_error(tmp_path):
    path = tmp_path / "new.json"
    path.write_text(json.dumps({"version": 3, "players": [], "bets": [], "cash_outs": [],
                                "answers": {}, "movements": []}))
    with pytest.raises(ConfigurationError) as caught:
        StateFile(path).load()
    assert "version 3" in str(caught.value)
