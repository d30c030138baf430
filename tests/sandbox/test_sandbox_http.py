"""The sandbox over real HTTP on 127.0.0.1: every destination, idempotency, admin and pages."""
import csv
import io
from decimal import Decimal

import httpx
import pytest
from sandbox_testkit import (
    cash_out_accepted,
    cash_out_declined,
    decline,
    new_id,
    odds,
    place,
    settle,
    unsettle,
)

import contract
from contract.payouts import HALF_WIN, LOSS, SETTLE_LOST, SETTLE_REFUND, SETTLE_WIN, WIN
from sandbox.client import SandboxClient
from sandbox.config import SandboxConfig
from sandbox.platform import Platform
from sandbox.server import serve_in_thread

D = Decimal


@pytest.fixture(scope="module")
def sandbox():
    with serve_in_thread(Platform()) as handle:
        yield handle


@pytest.fixture(scope="module")
def client(sandbox):
    with SandboxClient.for_handle(sandbox) as client:
        yield client


@pytest.fixture
def token(client):
    token = new_id("tok")
    client.add_player(token, "100.00")
    return token


def place_ok(client, token, stake="10.00", legs=None, **kwargs):
    bet_id = new_id("bet")
    response = client.send("/bet/place", place(bet_id, stake, legs, **kwargs), token=token)
    assert response.status_code == 204, response.text
    return bet_id


def test_every_contract_destination_is_served(client):
    # Given an empty body to each destination about a bet
    for destination in filter(contract.queueable, contract.DESTINATIONS):
        response = client.send(destination, {})
        # Then the route exists and the body is refused as breaking the contract
        assert response.status_code == 400, destination
        assert contract.error_code_of(response.json()) == "bad_request"


def test_place_holds_and_answers_204_with_no_body(client, token):
    bet_id = new_id("bet")
    response = client.send("/bet/place", place(bet_id, "10.00"), token=token)
    assert (response.status_code, response.content) == (204, b"")
    assert client.balance(token) == (D("90.00"), D("10.00"))
    assert client.bet(bet_id)["state"] == "open"


def test_unknown_token_is_auth_session_unknown(client):
    response = client.send("/bet/place", place(new_id("bet")), token="no-such-token")
    assert response.status_code == 400
    assert response.json() == contract.error_body("auth_session_unknown")


def test_not_enough_balance_carries_actual_balance(client, token):
    place_ok(client, token, "30.00")
    response = client.send("/bet/place", place(new_id("bet"), "1000"), token=token)
    assert response.status_code == 400
    assert response.json() == contract.error_body("not_enough_balance",
                                                  {"actual_balance": "70.00"})


def test_repeated_request_id_gets_the_same_status_and_body_and_applies_once(client, token):
    # Given a place that was refused and a place that was accepted
    refused = place(new_id("bet"), "1000.00")
    accepted = place(new_id("bet"), "10.00")
    first = [client.send("/bet/place", b, token=token) for b in (refused, accepted)]
    # When both are sent again with the same request ids
    again = [client.send("/bet/place", b, token=token) for b in (refused, accepted)]
    # Then the answers are identical and the stake is held once
    assert [(r.status_code, r.content) for r in again] == [
        (r.status_code, r.content) for r in first]
    assert client.balance(token) == (D("90.00"), D("10.00"))


def test_single_win_then_resettlement_over_http(client, token):
    bet_id = place_ok(client, token, "10.00")
    assert client.send("/bet/settle", settle(bet_id, "25.00", SETTLE_WIN)).status_code == 204
    assert client.balance(token) == (D("115.00"), D("0"))
    assert client.send("/bet/unsettle", unsettle(bet_id, "25.00")).status_code == 204
    assert client.balance(token) == (D("90.00"), D("10.00"))
    assert client.send("/bet/settle", settle(bet_id, "0.00", SETTLE_LOST)).status_code == 204
    assert client.balance(token) == (D("90.00"), D("0"))


def test_decline_releases_and_a_second_decline_is_bet_not_found(client, token):
    bet_id = place_ok(client, token, "10.00")
    assert client.send("/bet/decline", decline(bet_id)).status_code == 204
    assert client.balance(token) == (D("100.00"), D("0"))
    again = client.send("/bet/decline", decline(bet_id))
    assert (again.status_code, contract.error_code_of(again.json())) == (400, "bet_not_found")


def test_accept_changes_nothing(client, token):
    body = place(new_id("bet"), "10.00")
    client.send("/bet/place", body, token=token)
    assert client.send("/bet/accept", {**body, "request_id": new_id("req")}).status_code == 204
    assert client.balance(token) == (D("90.00"), D("10.00"))


def test_express_and_system_settles_credit_settle_amount(client, token):
    express = place_ok(client, token, "5.00", odds("2.5", "2.5", "2.5"))
    system = place_ok(client, token, "9.00", odds("2", "3", "4"), sizes=[2])
    client.send("/bet/settle", settle(express, "78.125", SETTLE_WIN,
                                      odds(("2.5", WIN), ("2.5", WIN), ("2.5", WIN))))
    client.send("/bet/settle", settle(system, "18.00", SETTLE_WIN,
                                      odds(("2", WIN), ("3", WIN), ("4", LOSS))))
    assert client.balance(token) == (D("182.125"), D("0"))
    assert client.player(token)["available"] == "182.125"


def test_cash_out_accepted_then_declined_then_refund(client, token):
    bet_id = place_ok(client, token, "10.00")
    order = new_id("co")
    client.send("/bet/cash-out-orders/accepted", cash_out_accepted(bet_id, order, "8.00"))
    assert client.balance(token) == (D("98.00"), D("0"))
    client.send("/bet/cash-out-orders/declined", cash_out_declined(bet_id, [order]))
    assert client.balance(token) == (D("90.00"), D("10.00"))
    client.send("/bet/settle", settle(bet_id, "10.00", SETTLE_REFUND,
                                      odds(("2.50", HALF_WIN))))
    assert client.balance(token) == (D("100.00"), D("0"))


def test_body_that_is_not_json_is_bad_request(client, token):
    response = client.send("/bet/place", b"{oops", token=token)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_admin_adds_players_and_refuses_duplicates_and_bad_balances(client, sandbox):
    token = new_id("tok")
    created = client.add_player(token, "12.5", player_id=f"player-{token}")
    assert created["available"] == "12.50" and created["player_id"] == f"player-{token}"
    assert sandbox.platform.balance(token) == (D("12.5"), D("0"))
    duplicate = httpx.post(f"{sandbox.admin_url}/players", json={"token": token, "balance": "1"})
    assert duplicate.status_code == 409
    bad = httpx.post(f"{sandbox.admin_url}/players", json={"token": "x", "balance": "lots"})
    assert bad.status_code == 400 and bad.json()["error"]["data"]["field"] == "balance"
    assert httpx.get(f"{sandbox.admin_url}/players/nobody").status_code == 404


def test_inspection_page_and_state_show_players_and_recent_requests(client, sandbox, token):
    bet_id = place_ok(client, token, "10.00")
    page = httpx.get(f"{sandbox.admin_url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert token in page.text and bet_id in page.text and "90.00" in page.text
    assert '<a class="download" href="/_sandbox/ledger.csv" download>Download ledger (CSV)</a>' \
        in page.text
    assert f"{client.state()['movements_count']} balance movement" in page.text
    state = client.state()
    assert any(p["token"] == token and p["held"] == "10.00" for p in state["players"])
    assert state["recent"][0]["bet_id"] == bet_id and state["recent"][0]["status"] == 204
    assert state["config"]["faults"]["error_rate"] == 0


def test_base_path_prefixes_every_destination():
    config = SandboxConfig(base_path="/api/v1")
    with serve_in_thread(config) as handle:
        handle.platform.add_player("tok", "10")
        with SandboxClient.for_handle(handle) as client:
            assert handle.url.endswith("/api/v1")
            assert client.send("/bet/place", place("b", "1.00"), token="tok").status_code == 204
            assert httpx.post(handle.root_url + "/bet/place", json={}).status_code == 404
            assert client.balance("tok") == (D("9.00"), D("1.00"))


def ledger_rows(url, **params):
    response = httpx.get(url, params=params)
    assert response.status_code == 200, response.text
    return response, list(csv.DictReader(io.StringIO(response.text)))


def test_ledger_csv_has_one_row_per_movement_and_filters_by_player(client, sandbox, token):
    # Given a bet placed and won by this player, and one placed by another
    bet_id = place_ok(client, token, "10.00")
    won = settle(bet_id, "78.125", SETTLE_WIN)
    client.send("/bet/settle", won)
    place_ok(client, client.add_player(new_id("tok"), "5.00")["token"], "1.00")
    # When the ledger is downloaded for this player
    response, rows = ledger_rows(f"{sandbox.root_url}/ledger.csv", player_id=token)
    # Then it is a CSV attachment with this player's two movements, every digit kept
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="sandbox-ledger.csv"'
    assert response.text.splitlines()[0] == (
        "bet_id,amount,request_id,player_id,at,currency,destination")
    assert [(r["bet_id"], r["amount"], r["destination"], r["currency"]) for r in rows] == [
        (bet_id, "-10.00", "/bet/place", "EUR"), (bet_id, "78.125", "/bet/settle", "EUR")]
    assert rows[1]["request_id"] == won["request_id"] and rows[1]["player_id"] == token
    assert rows[0]["at"].endswith("+00:00")
    # And the whole ledger, also under /_sandbox/, holds every player's movements in order
    _, everyone = ledger_rows(f"{sandbox.admin_url}/ledger.csv")
    assert len(everyone) == client.state()["movements_count"] > len(rows)
    assert [r for r in everyone if r["player_id"] == token] == rows


def test_ledger_csv_uses_the_currency_setting_and_is_also_beside_the_callbacks():
    with serve_in_thread(SandboxConfig(currency="USDT", base_path="/api")) as handle:
        handle.platform.add_player("tok", "10")
        with SandboxClient.for_handle(handle) as client:
            client.send("/bet/place", place("b-usdt", "1.00"), token="tok")
        _, rows = ledger_rows(f"{handle.root_url}/ledger.csv")
        assert [(r["bet_id"], r["amount"], r["currency"]) for r in rows] == [
            ("b-usdt", "-1.00", "USDT")]
        # the brand's URL (base path included) finds it too
        beside = httpx.get(f"{handle.url}/ledger.csv")
        assert beside.status_code == 200 and beside.text == httpx.get(
            f"{handle.root_url}/ledger.csv").text
        assert "USDT" in httpx.get(f"{handle.admin_url}/").text
