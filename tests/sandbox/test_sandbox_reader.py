"""The sandbox reads bodies as a tolerant platform: it takes every body the sportsbook's real
sender sends (shapes copied from the reference, not from our own builders), requires only what
moves money, answers the heartbeat, the settle after a cash-out and an unsettle of a cashed-out
bet, and finds the session under the Foreign-Params key the operator chose."""
import json
from decimal import Decimal

import pytest
from sandbox_testkit import new_id

import contract
from contract.payouts import SETTLE_LOST
from contract.restrictions import restriction
from sandbox import bugs
from sandbox.client import SandboxClient
from sandbox.platform import Platform
from sandbox.server import serve_in_thread

D = Decimal
NOW = "2026-11-23T12:00:00.123456789Z"


def sender_leg(status: int = 0, ratio: str = "1.600000") -> dict:
    """One bet_odds item as the real sender builds it: odd_updated_at, meta, status_reason."""
    return {"odd_id": "o-1", "odd_ratio": ratio, "odd_status": status, "match_id": "m-1",
            "match_status": 0, "market_id": "mk-1", "odd_updated_at": NOW,
            "meta": {"provider": {"id": "p"}, "sport": {"id": "1"}, "market_type": {"id": "1"}},
            "status_reason": ""}


def sender_place(bet_id: str, stake: str = "10", legs: list | None = None, sizes=None) -> dict:
    """A /bet/place as the real sender sends it: stake "10", no competitors, [n] sizes."""
    legs = legs or [sender_leg()]
    return {"request_id": new_id("req"), "bet_id": bet_id, "bet_player_id": "42",
            "bet_type": 1 if len(legs) == 1 else 2, "bet_stake": stake, "bet_odds": legs,
            "bet_system_sizes": sizes or [len(legs)], "bet_created_at": NOW}


@pytest.fixture(scope="module")
def served():
    platform = Platform(session_key="session_id")
    with serve_in_thread(platform) as handle, SandboxClient.for_handle(handle) as client:
        yield client


def send(client, destination, body, session: str | None) -> int:
    headers = {"Foreign-Params": json.dumps({"some_token": "x", "internal_player_id": "42",
                                             "session_id": session})} if session else {}
    response = client.send(destination, body, headers=headers)
    assert response.status_code in (204, 400), response.text
    return response.status_code


@pytest.fixture
def session(served):
    token = new_id("sess")
    served.add_player(token, "100")
    return token


def test_the_real_senders_lifecycle_is_accepted(served, session):
    # Given a two-leg express placed as the sender sends it (session under session_id)
    bet = new_id("bet")
    legs = [sender_leg(), dict(sender_leg(), odd_id="o-2", ratio="2.5")]
    assert send(served, "/bet/place", sender_place(bet, "10", legs), session) == 204
    assert send(served, "/bet/accept", sender_place(bet, "10", legs), session) == 204
    assert served.balance(session) == (D("90"), D("10"))
    # When it is settled without restrictions, "16.000000" style amounts, nanosecond times
    settle = {"request_id": new_id("req"), "bet_id": bet, "bet_player_id": "42",
              "bet_odds": [dict(leg, odd_status=1) for leg in legs],
              "settle_amount": "40.000000", "settle_type": 1}
    assert send(served, "/bet/settle", settle, None) == 204
    # Then the amount is credited and the hold is gone
    assert served.balance(session) == (D("130"), D("0"))


def test_a_decline_with_object_contexts_releases_the_hold(served, session):
    bet = new_id("bet")
    assert send(served, "/bet/place", sender_place(bet), session) == 204
    decline = {"request_id": new_id("req"), "bet_id": bet, "bet_player_id": "42",
               "restrictions": [restriction("odd_status", market_id="mk-1", odd_id="o-1",
                                            status=2, is_active=False),
                                contract.PLACE_RETRY_LIMIT_RESTRICTION]}
    assert send(served, "/bet/decline", decline, None) == 204
    assert served.balance(session) == (D("100"), D("0"))


def test_cash_out_then_settle_then_unsettle(served, session):
    # Given a placed bet cashed out as the sender does it: amount = the stake, no player id
    bet, order = new_id("bet"), new_id("co")
    assert send(served, "/bet/place", sender_place(bet, "10"), session) == 204
    cash_out = {"request_id": new_id("req"), "bet_id": bet, "cash_out_order_id": order,
                "amount": "10", "refund_amount": "8.5"}
    assert send(served, "/bet/cash-out-orders/accepted", cash_out, None) == 204
    assert served.balance(session) == (D("98.5"), D("0"))
    # When the sportsbook settles the cashed-out bet (type 3, amount 0)
    settle = {"request_id": new_id("req"), "bet_id": bet, "bet_player_id": "42",
              "bet_odds": [sender_leg(2)], "settle_amount": "0", "settle_type": SETTLE_LOST}
    # Then it is answered 204 and no money moves
    assert send(served, "/bet/settle", settle, None) == 204
    assert served.balance(session) == (D("98.5"), D("0"))
    # When that is unsettled
    unsettle = {"request_id": new_id("req"), "bet_id": bet, "bet_player_id": "42",
                "unsettle_amount": "0"}
    assert send(served, "/bet/unsettle", unsettle, None) == 204
    # Then the stake is held again and the cash-out payout is taken back
    assert served.balance(session) == (D("90"), D("10"))
    assert served.bet(bet)["state"] == "open"
    # And the bet can be settled again, for real
    again = dict(settle, request_id=new_id("req"), settle_amount="16", settle_type=1)
    assert send(served, "/bet/settle", again, None) == 204
    assert served.balance(session) == (D("106"), D("0"))


def test_only_the_ids_and_money_are_required(served, session):
    # Given a place with nothing but the ids and the stake
    bet = new_id("bet")
    assert send(served, "/bet/place", {"request_id": new_id("req"), "bet_id": bet,
                                       "bet_stake": "10", "unknown_member": {"x": [1]}},
                session) == 204
    # When a settle without player id, type or legs arrives
    assert send(served, "/bet/settle", {"request_id": new_id("req"), "bet_id": bet,
                                        "settle_amount": "15"}, None) == 204
    # Then the money moved as sent
    assert served.balance(session) == (D("105"), D("0"))


@pytest.mark.parametrize("body, field", [
    ({"bet_id": "b"}, "request_id"),
    ({"request_id": "r"}, "bet_id"),
    ({"request_id": "r", "bet_id": "b"}, "bet_stake"),
    ({"request_id": "r", "bet_id": "b", "bet_stake": "-1"}, "bet_stake"),
    ({"request_id": "r", "bet_id": "b", "bet_stake": "10", "bet_player_id": " "},
     "bet_player_id"),
])
def test_what_money_needs_is_still_checked(served, session, body, field):
    response = served.send("/bet/place", body,
                           headers={"Foreign-Params": json.dumps({"session_id": session})})
    assert response.status_code == 400
    assert contract.error_code_of(response.json()) == "bad_request"
    assert response.json()["error"]["data"]["field"] == field
    assert served.balance(session) == (D("100"), D("0"))


def test_heartbeat_answers_204_for_a_live_session_and_unknown_otherwise(served, session):
    # A live session, an empty body: 204
    headers = {"Foreign-Params": json.dumps({"session_id": session})}
    live = served.send("/heartbeat", b"", headers=headers)
    assert (live.status_code, live.content) == (204, b"")
    # An unknown session, or none: 400 auth_session_unknown
    for params in ({"session_id": "nobody"}, {"token": session}, None):
        headers = {"Foreign-Params": json.dumps(params)} if params else {}
        answer = served.send("/heartbeat", b"", headers=headers)
        assert answer.status_code == 400
        assert contract.error_code_of(answer.json()) == "auth_session_unknown"


def test_an_expired_session_gets_no_heartbeat(served):
    token = new_id("sess")
    served.add_player(token, "1", expired=True)
    answer = served.send("/heartbeat", b"",
                         headers={"Foreign-Params": json.dumps({"session_id": token})})
    assert contract.error_code_of(answer.json()) == "auth_session_unknown"


def test_settle_by_type_credits_nothing_on_a_type_3_with_money():
    # Given the bug switch and a half-loss settle: type 3 with 5 of a 10 stake
    with serve_in_thread(Platform(bugs={bugs.SETTLE_BY_TYPE})) as handle, \
            SandboxClient.for_handle(handle) as client:
        token = new_id("tok")
        client.add_player(token, "100")
        bet = new_id("bet")
        assert client.send("/bet/place", sender_place(bet), token=token).status_code == 204
        half_loss = {"request_id": new_id("req"), "bet_id": bet, "settle_amount": "5",
                     "settle_type": SETTLE_LOST, "bet_odds": [sender_leg(4)]}
        assert client.send("/bet/settle", half_loss).status_code == 204
        # Then nothing is credited (a correct platform credits 5), and the hold is released
        assert client.balance(token) == (D("90"), D("0"))


def test_the_session_key_is_a_setting():
    from contract.errors import ConfigurationError
    from sandbox.config import config_from_settings

    config = config_from_settings({"session_key": "session_id", "players": ["s-1:50"]})
    platform = config.build_platform()
    assert platform.session_key == "session_id" and config.describe()["session_key"] == "session_id"
    place = sender_place("bet-key")
    by_key = platform.handle("/bet/place", json.dumps(place), json.dumps({"session_id": "s-1"}))
    assert by_key.status == 204
    assert config_from_settings({}).session_key == "token"
    with pytest.raises(ConfigurationError, match="session_key"):
        config_from_settings({"session_key": " "})
