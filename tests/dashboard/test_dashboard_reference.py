"""The API reference is the contract: its examples pass the dispatcher's own validation and its
error examples are classified as supported."""
from __future__ import annotations

import json

import pytest

import contract
from dashboard import reference
from delivery.decisions import classify
from delivery.records import AttemptOutcome
from delivery.validation import parse_callback


@pytest.mark.parametrize("path", [p for p in contract.DESTINATIONS if contract.queueable(p)])
def test_example_body_is_valid_for_the_dispatcher(path):
    body = reference.example_body(contract.DESTINATIONS[path])
    parsed = parse_callback({"bet_id": body["bet_id"], "destination": path, "payload": body,
                             "foreign_params": {}})
    assert parsed.payload["request_id"] == body["request_id"]


@pytest.mark.parametrize("path, error", [
    (d.path, e) for d in contract.DESTINATIONS.values() for e in d.supported_errors])
def test_error_examples_are_supported_answers(path, error):
    body = json.dumps(reference.error_example(error)).encode()
    assert classify(path, 400, body).kind == AttemptOutcome.REJECTED


def test_field_rows_name_nested_fields_and_enum_meanings():
    rows = {r["Field"]: r for r in reference.field_rows(contract.DESTINATIONS["/bet/settle"])}
    assert rows["bet_odds"]["Type"] == "array of object"
    assert "7 refunded manually" in rows["bet_odds[].odd_status"]["Description"]
    assert rows["settle_type"]["Description"].count("1 win") == 1
    assert rows["request_id"]["Required"] == "yes"
    place = {r["Field"]: r for r in reference.field_rows(contract.DESTINATIONS["/bet/place"])}
    assert place["bet_freebet_id"]["Required"] == "no"


def test_the_heartbeat_has_no_body_and_no_field_rows():
    heartbeat = contract.DESTINATIONS[contract.HEARTBEAT]
    assert reference.example_body(heartbeat) == {}
    assert reference.field_rows(heartbeat) == []
    assert [e.code for e in heartbeat.supported_errors] == ["auth_session_unknown"]


def test_schedule_text():
    assert reference.schedule_text((0, 5, 120, 3600, 90)) == "now, 5 s, 2 min, 1 h, 90 s"
