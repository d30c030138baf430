"""Property tests of the contract's one body checker: bodies generated from the contract's field
list are accepted by producer validation, every mutation of one is refused with InvalidInput and
nothing else, and the tolerant reader accepts whatever the producer accepts."""
from __future__ import annotations

import copy
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import contract
from contract import Field, checking
from delivery.errors import InvalidInput
from delivery.validation import parse_callback

QUEUED = [d for d in contract.DESTINATIONS.values() if d.with_ids]
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

_text = st.text(string.ascii_letters + string.digits + "-_ éü", min_size=1, max_size=12
                ).filter(str.strip)
_json_leaf = st.none() | st.booleans() | st.integers(-10**6, 10**6) | _text | st.floats(
    allow_nan=False, allow_infinity=False)
_any = st.recursive(_json_leaf, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(_text, inner, max_size=3), max_leaves=8)


def _decimal() -> st.SearchStrategy[str]:
    # The sender's forms: "10", "16.000000", "2.50".
    return st.builds(lambda whole, frac: f"{whole}{'.' + frac if frac else ''}",
                     st.integers(0, 10**9), st.sampled_from(["", "5", "50", "000000", "125"]))


def _datetime() -> st.SearchStrategy[str]:
    return st.builds(lambda base, frac, zone: f"{base}{frac}{zone}",
                     st.sampled_from(["2026-11-23T12:00:00", "2025-01-31T23:59:59"]),
                     st.sampled_from(["", ".123", ".123456789"]),
                     st.sampled_from(["Z", "+00:00", "-05:30"]))


def value_of(field: Field) -> st.SearchStrategy:
    """Valid values of one contract field, from its kind, enum and range."""
    kind = field.kind
    if kind == "string":
        return _text
    if kind == "id":
        return _text | st.integers(0, contract.MAX_INTEGER)
    if kind == "decimal":
        return _decimal()
    if kind == "integer":
        return st.integers(field.minimum, min(field.maximum, field.minimum + 10**6))
    if kind == "enum":
        return st.sampled_from(field.enum)
    if kind == "datetime":
        return _datetime()
    if kind == "list":
        return st.lists(value_of(field.item) if field.item else _any, max_size=3)
    if kind == "object":
        return object_of(field.fields)
    return _any


def object_of(fields: tuple[Field, ...]) -> st.SearchStrategy[dict]:
    required = {f.name: value_of(f) for f in fields if f.required}
    optional = {f.name: value_of(f) for f in fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional)


def body_of(dest) -> st.SearchStrategy[dict]:
    return object_of((contract.COMMON_FIELDS if dest.with_ids else ()) + dest.fields)


@st.composite
def valid(draw):
    dest = draw(st.sampled_from(QUEUED))
    body = draw(body_of(dest))
    body["bet_id"] = str(body["bet_id"])
    return dest, body


def _item(dest, body: dict) -> dict:
    return {"bet_id": body["bet_id"], "destination": dest.path, "payload": body,
            "foreign_params": {"token": "t"}}


@SETTINGS
@given(valid())
def test_every_generated_body_is_accepted_by_producer_and_reader(case):
    dest, body = case
    assert checking.check_body(dest, body, checking.PRODUCER) is None
    assert checking.check_body(dest, body, checking.READER) is None
    assert parse_callback(_item(dest, copy.deepcopy(body))).payload == body


#: A value of the wrong kind for each kind ("any" takes everything).
_WRONG = {"string": [1, True, [], " "], "id": [1.5, True, [], {}, " ", -1],
          "decimal": [1.5, 10, "1,5", "-1", "1e3", "1" * 40], "integer": [1.5, "1", True, -1],
          "enum": [1.5, "1", True, 10**30], "datetime": [1, "yesterday", "2026-13-01T00:00:00Z"],
          "list": ["x", {}, 1], "object": ["x", [], 1]}


@st.composite
def mutated(draw):
    dest, body = draw(valid())
    fields = [f for f in dest.fields if f.kind != "any"]
    how = draw(st.sampled_from(["drop", "wrong", "deep", "text", "number", "integer"]))
    if how == "drop":
        required = [f for f in dest.fields if f.required]
        assume(required)
        del body[draw(st.sampled_from(required)).name]
    elif how == "wrong":
        field = draw(st.sampled_from(fields))
        body[field.name] = draw(st.sampled_from(_WRONG[field.kind]))
    elif how == "deep":
        depth = draw(st.integers(checking.MAX_DEPTH, 2000))
        nested: object = 1
        for _ in range(depth):
            nested = [nested]
        body[draw(_text)] = nested
    elif how == "text":
        body[draw(st.sampled_from(list(body)))] = draw(st.sampled_from(
            ["\ud800", "a\x00b", "\udfff tail"]))
    elif how == "number":
        body[draw(st.sampled_from(list(body)))] = draw(st.sampled_from(
            [float("inf"), float("-inf"), float("nan")]))
    else:
        body["request_id"] = draw(st.sampled_from([10**30, -(10**30), 2**63]))
    return dest, body


@SETTINGS
@given(mutated())
def test_every_mutation_is_refused_with_invalid_input_only(case):
    dest, body = case
    assert checking.check_body(dest, body, checking.PRODUCER) is not None
    with pytest.raises(InvalidInput):
        parse_callback(_item(dest, body))


@SETTINGS
@given(st.sampled_from(QUEUED), st.dictionaries(_text, _any, max_size=6))
def test_arbitrary_payloads_raise_nothing_but_invalid_input(dest, payload):
    try:
        parse_callback({"bet_id": "b", "destination": dest.path, "payload": payload})
    except InvalidInput:
        pass


@SETTINGS
@given(st.one_of(valid(), mutated()))
def test_the_reader_accepts_whatever_the_producer_accepts(case):
    dest, body = case
    if checking.check_body(dest, body, checking.PRODUCER) is None:
        assert checking.check_body(dest, body, checking.READER) is None


@pytest.mark.parametrize("mode", [checking.PRODUCER, checking.READER])
def test_a_blank_player_id_is_refused_by_both_sides(mode):
    body = {"request_id": "r", "bet_id": "b", "bet_player_id": " ", "unsettle_amount": "1"}
    problem = checking.check_body(contract.DESTINATIONS["/bet/unsettle"], body, mode)
    assert problem is not None and problem.field == "bet_player_id"
    assert "non-blank" in problem.problem


def test_the_reader_requires_only_ids_and_money():
    place = contract.DESTINATIONS["/bet/place"]
    assert checking.check_body(place, {"request_id": "r", "bet_id": "b", "bet_stake": "10",
                                       "bet_type": 99, "x": object()}, checking.READER) is None
    missing = checking.check_body(place, {"request_id": "r", "bet_id": "b"}, checking.READER)
    assert missing == checking.BodyProblem("bet_stake", "is required")


def test_of_several_problems_the_same_one_is_always_reported():
    # Values that break the rules in several places: the walk names the one it meets first
    # (the last member first, depth first), however the value is checked.
    value = {"a": "x\x00", "b": [1, float("nan")], "c": {"d": "\ud800", "e": "fine"}}
    problem = checking.check_json_text(value, "payload")
    assert (problem.field, problem.problem) == (
        "payload.c.d", "must be text without NUL characters or unpaired surrogates")
    assert checking.check_json_text({"a": "x\x00", "b": [1, float("nan")]}, "").field == "b[1]"
    assert checking.check_json_text({"ok": ["fine", 1, 2.5, None, True]}, "") is None
