import json

import pytest
from factories import PAYLOADS, item, odd

import contract
from delivery.errors import InvalidInput, UnknownDestination
from delivery.validation import parse_callback

QUEUEABLE = [path for path in contract.DESTINATIONS if contract.queueable(path)]


@pytest.mark.parametrize("destination", QUEUEABLE)
def test_every_destination_accepts_its_contract_body(destination):
    # Given a body built from the contract's fields / When parsed / Then it is accepted
    parsed = parse_callback(item("bet-1", destination))
    assert parsed.destination == destination
    assert parsed.payload["bet_id"] == "bet-1"


def test_request_id_and_bet_id_are_filled_in_when_absent():
    first = parse_callback(item("bet-1", "/bet/place"))
    second = parse_callback(item("bet-1", "/bet/place"))
    assert first.request_id and first.request_id != second.request_id
    given = parse_callback(item("bet-1", "/bet/place", dict(PAYLOADS["/bet/place"],
                                                           request_id="r-1")))
    assert given.request_id == "r-1"


def _error(raw) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_callback(raw)
    return caught.value


def test_unknown_destination_names_the_value():
    err = _error(item("bet-1", "/bet/place") | {"destination": "/bet/teleport"})
    assert isinstance(err, UnknownDestination)
    assert err.field == "destination" and "/bet/teleport" in str(err)


def test_missing_field_is_named():
    payload = dict(PAYLOADS["/bet/place"])
    del payload["bet_stake"]
    err = _error(item("bet-1", "/bet/place", payload))
    assert err.field == "payload.bet_stake" and "required" in str(err)


@pytest.mark.parametrize("field, value, expected", [
    ("bet_stake", 10.5, "decimal string"),
    ("bet_stake", "10,50", "decimal string"),
    ("bet_type", 4, "one of 1, 2, 3"),
    ("bet_type", "1", "one of 1, 2, 3"),
    ("bet_created_at", "yesterday", "RFC 3339"),
    ("bet_odds", {"odd": 1}, "must be a list"),
    ("bet_player_id", "", "non-blank"),
    ("bet_player_id", " ", "non-blank"),
    ("bet_stake", "-10.00", "not negative"),
    ("bet_type", 10**30, "one of 1, 2, 3"),
])
def test_mistyped_field_names_field_and_value(field, value, expected):
    payload = dict(PAYLOADS["/bet/place"], **{field: value})
    err = _error(item("bet-1", "/bet/place", payload))
    assert err.field.startswith(f"payload.{field}")
    assert expected in str(err) and json.dumps(value)[:10].strip('"') in str(err)


def test_nested_field_is_named_with_its_path():
    payload = dict(PAYLOADS["/bet/place"], bet_odds=[odd(), odd(ratio="two")])
    err = _error(item("bet-1", "/bet/place", payload))
    assert err.field == "payload.bet_odds[1].odd_ratio"


def test_oversized_payload_is_refused():
    payload = dict(PAYLOADS["/bet/place"], competitors=[{"id": "x" * 1000, "type": 1}] * 300)
    err = _error(item("bet-1", "/bet/place", payload))
    assert err.field == "payload" and str(contract.MAX_PAYLOAD_BYTES) in str(err)


def test_payload_bet_id_must_match_the_group():
    payload = dict(PAYLOADS["/bet/settle"], bet_id="other")
    assert _error(item("bet-1", "/bet/settle", payload)).field == "payload.bet_id"


@pytest.mark.parametrize("raw, field", [
    ([], None),
    ({"destination": "/bet/place", "payload": {}}, "bet_id"),
    ({"bet_id": "b", "destination": "/bet/place", "payload": []}, "payload"),
    ({"bet_id": "b", "destination": "/bet/unsettle", "payload": PAYLOADS["/bet/unsettle"],
      "foreign_params": "token"}, "foreign_params"),
    ({"bet_id": "b", "destination": "/bet/unsettle", "payload": {}, "extra": 1}, "extra"),
])
def test_malformed_items(raw, field):
    assert _error(raw).field == field


def test_a_heartbeat_cannot_be_queued_and_the_message_says_why():
    # Given a heartbeat item (the destination is in the contract, but belongs to a session)
    err = _error({"bet_id": "b", "destination": contract.HEARTBEAT, "payload": {}})
    # Then it is refused as a destination that cannot be queued, with the reason
    assert isinstance(err, UnknownDestination) and err.field == "destination"
    assert "per session, not queued" in str(err)
    # And the list of destinations offered to producers does not offer it
    assert contract.HEARTBEAT not in str(_error(item("b", "/bet/place") | {"destination": "/x"}))


def test_the_real_senders_shapes_are_accepted():
    # Given bodies shaped as the sportsbook's sender sends them: "10" and "16.000000",
    # nanosecond times, odds with odd_updated_at/meta/status_reason, no competitors
    leg = dict(odd(), odd_ratio="1.600000", odd_updated_at="2026-11-23T11:59:00.123456789Z",
               meta={"provider": {"id": 1}, "sport": {"id": "s"}}, status_reason=None)
    payload = dict(PAYLOADS["/bet/place"], bet_stake="10", bet_odds=[leg],
                   bet_created_at="2026-11-23T12:00:00.123456789+02:00")
    del payload["competitors"]
    assert parse_callback(item("bet-1", "/bet/place", payload)).payload["bet_stake"] == "10"
    settle = {"bet_player_id": "p", "settle_amount": "16.000000", "settle_type": 1,
              "bet_odds": [dict(leg, odd_status=1)]}
    assert parse_callback(item("bet-1", "/bet/settle", settle)).destination == "/bet/settle"


def test_foreign_params_problems_never_echo_the_value():
    # Given a session secret with a NUL character in it
    secret = "s3cr3t-\x00-session"
    err = _error(item("bet-1", "/bet/place") | {"foreign_params": {"token": secret}})
    # Then the key is named and the value is not shown
    assert err.field == "foreign_params.token" and "s3cr3t" not in str(err)
    assert err.value is None


@pytest.mark.parametrize("sizes", [[10**30], [0], [True]])
def test_system_sizes_out_of_range_name_the_item(sizes):
    payload = dict(PAYLOADS["/bet/place"], bet_system_sizes=sizes)
    err = _error(item("bet-1", "/bet/place", payload))
    assert err.field == "payload.bet_system_sizes[0]" and "integer 1..100" in str(err)
