"""/openapi.json: a valid OpenAPI 3.1 document whose schemas say what the validation says,
for every destination of the contract."""
import copy

import jsonschema
import pytest
from factories import PAYLOADS, item, odd
from openapi_spec_validator import validate

import contract
from api.openapi import document, schema_name
from delivery.errors import InvalidInput
from delivery.validation import parse_callback


def schema_validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator of one component schema, its $refs resolved inside the document."""
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document()["components"]})


def test_the_document_is_valid_openapi_3_1():
    validate(document())
    assert document()["openapi"] == "3.1.0"


def test_it_is_served_as_is(anonymous):
    assert anonymous.get("/openapi.json").json() == document()


def test_every_destination_is_a_schema_a_callback_kind_and_a_webhook():
    doc = document()
    schemas, mapping = doc["components"]["schemas"], \
        doc["components"]["schemas"]["Callback"]["discriminator"]["mapping"]
    queued = {p for p in contract.DESTINATIONS if contract.queueable(p)}
    assert set(mapping) == queued and set(doc["webhooks"]) == set(contract.DESTINATIONS)
    for path in queued:
        dest = contract.DESTINATIONS[path]
        payload = schemas[f"{schema_name(dest)}Payload"]
        assert set(payload["properties"]) == {f.name for f in contract.COMMON_FIELDS
                                              + dest.fields}
        assert set(payload["required"]) == {f.name for f in dest.fields if f.required}
        assert schemas[f"{schema_name(dest)}Callback"]["properties"]["destination"] == {
            "const": path}
        codes = [e.code for e in dest.supported_errors]
        if codes:
            answer = schemas[f"{schema_name(dest)}ErrorAnswer"]
            assert answer["properties"]["error"]["properties"]["code"]["enum"] == codes
            assert payload["x-supported-error-codes"] == codes


def test_routes_and_security_are_described():
    doc = document()
    assert set(doc["paths"]) == {"/v1/brands/{brand}/callbacks", "/v1/bets/{bet_id}/callbacks",
                                 "/v1/brands/{brand}/sessions/{session_id}",
                                 "/v1/brands/{brand}/sessions",
                                 "/healthz", "/metrics", "/openapi.json"}
    post = doc["paths"]["/v1/brands/{brand}/callbacks"]["post"]
    assert {"200", "201", "400", "401", "403", "404", "409", "413", "422"} <= set(
        post["responses"])
    assert "read-only" in post["responses"]["403"]["description"]
    get = doc["paths"]["/v1/bets/{bet_id}/callbacks"]["get"]
    assert "403" not in get["responses"]  # another brand's bet is a 404, like an unknown one
    assert "another brand" in get["responses"]["404"]["description"]
    assert doc["security"] == [{"bearer": []}]
    assert doc["paths"]["/healthz"]["get"]["security"] == []


def test_the_session_routes_are_described():
    doc = document()
    one = doc["paths"]["/v1/brands/{brand}/sessions/{session_id}"]
    assert set(one) == {"parameters", "put", "delete", "get"}
    assert {"200", "201", "400", "401", "403", "404", "413", "422", "503"} <= set(
        one["put"]["responses"])
    assert "read-only" in one["put"]["responses"]["403"]["description"]
    assert {"204", "404"} <= set(one["delete"]["responses"])
    listing = doc["paths"]["/v1/brands/{brand}/sessions"]["get"]
    state = next(p for p in listing["parameters"] if p["name"] == "state")
    assert state["schema"]["enum"] == list(contract.SESSION_STATES)


@pytest.mark.parametrize("body", [
    {"foreign_params": {"token": "t"}},
    {"foreign_params": {"token": "t"}, "ttl_s": 3600},
    {"foreign_params": {"token": "t"}, "expires_at": "2030-01-01T00:00:00Z"},
])
def test_the_session_request_schema_takes_what_the_api_takes(body):
    schema_validator("SessionRequest").validate(body)


@pytest.mark.parametrize("body", [
    {"foreign_params": {}},
    {"ttl_s": 60},
    {"foreign_params": {"token": "t"}, "ttl_s": 0},
    {"foreign_params": {"token": "t"}, "ttl_s": 60, "expires_at": "2030-01-01T00:00:00Z"},
    {"foreign_params": {"token": "t"}, "ttl": 60},
])
def test_the_session_request_schema_refuses_what_the_api_refuses(body):
    assert not schema_validator("SessionRequest").is_valid(body)


def test_the_heartbeat_is_a_webhook_with_no_body_and_foreign_params_only():
    doc = document()
    heartbeat = doc["webhooks"][contract.HEARTBEAT]["post"]
    assert "requestBody" not in heartbeat
    assert [p["name"] for p in heartbeat["parameters"]] == ["Foreign-Params"]
    assert set(heartbeat["responses"]) == {"204", "400"}
    answer = doc["components"]["schemas"]["HeartbeatErrorAnswer"]
    assert answer["properties"]["error"]["properties"]["code"]["enum"] == ["auth_session_unknown"]
    assert "HeartbeatCallback" not in doc["components"]["schemas"]


@pytest.mark.parametrize("destination", [p for p in contract.DESTINATIONS
                                         if contract.queueable(p)])
def test_what_the_validation_accepts_the_schema_accepts(destination):
    good = item("bet-1", destination)
    parse_callback(copy.deepcopy(good))
    schema_validator("Callback").validate(good)
    schema_validator("CallbackBatch").validate({"callbacks": [good]})


@pytest.mark.parametrize("destination, field, value", [
    ("/bet/place", "bet_stake", 10),
    ("/bet/place", "bet_type", 4),
    ("/bet/place", "bet_odds", [odd(), dict(odd(), odd_ratio=2.5)]),
    ("/bet/settle", "settle_type", "1"),
    ("/bet/settle", "bet_player_id", None),
    ("/bet/place", "bet_created_at", 1700000000),
    ("/bet/cash-out-orders/declined", "cash_out_order_ids", "co-1"),
    ("/bet/place", "bet_player_id", " "),
    ("/bet/place", "bet_stake", "-10.00"),
    ("/bet/place", "bet_system_sizes", [0]),
    ("/bet/unsettle", "unsettle_amount", "1" * 40),
    ("/bet/cash-out-orders/accepted", "cash_out_order_id", -1),
])
def test_what_the_validation_refuses_the_schema_refuses(destination, field, value):
    bad = item("bet-1", destination, payload=dict(PAYLOADS[destination], **{field: value}))
    with pytest.raises(InvalidInput):
        parse_callback(copy.deepcopy(bad))
    assert not schema_validator("Callback").is_valid(bad)
