"""Reading a POST body into callbacks, without HTTP or a database."""
import json

import pytest
from api_testkit import SESSION_SECRET
from factories import item

from api.batch import MAX_SHOWN_VALUE_CHARS, BadBatch, parse_batch


def body(*items, **extra) -> bytes:
    return json.dumps({"callbacks": list(items), **extra}).encode()


def rejected(raw: bytes, **kw) -> BadBatch:
    with pytest.raises(BadBatch) as caught:
        parse_batch(raw, **kw)
    return caught.value


def test_good_callbacks_come_back_in_order_with_request_ids_filled_in():
    given = [item("bet-2", "/bet/place"), item("bet-1", "/bet/place"),
             item("bet-2", "/bet/accept", payload=None)]
    given[0]["payload"]["request_id"] = "mine-1"
    parsed = parse_batch(body(*given))
    assert [(c.bet_id, c.destination) for c in parsed] == [
        ("bet-2", "/bet/place"), ("bet-1", "/bet/place"), ("bet-2", "/bet/accept")]
    assert parsed[0].request_id == "mine-1"
    assert len({c.request_id for c in parsed}) == 3
    assert parsed[1].payload["bet_id"] == "bet-1"


def test_each_bad_callback_is_a_problem_with_its_index_field_and_value():
    bad_ratio = item("bet-1", "/bet/place")
    bad_ratio["payload"]["bet_odds"].append(dict(bad_ratio["payload"]["bet_odds"][0],
                                                 odd_ratio=2.5))
    no_player = item("bet-3", "/bet/settle")
    del no_player["payload"]["bet_player_id"]
    error = rejected(body(item("bet-0", "/bet/place"), bad_ratio, item("bet-2", "/bet/place"),
                          no_player, {"bet_id": "bet-4", "destination": "/bet/nope",
                                      "payload": {}}))
    assert error.status == 422
    assert [(p["index"], p["field"]) for p in error.problems] == [
        (1, "payload.bet_odds[1].odd_ratio"), (3, "payload.bet_player_id"), (4, "destination")]
    assert error.problems[0]["value"] == 2.5
    assert "decimal string" in error.problems[0]["message"]
    assert error.problems[2]["value"] == "/bet/nope"
    assert "/bet/place" in error.problems[2]["message"]  # says what is allowed
    assert "3 of 5" in str(error)


@pytest.mark.parametrize("foreign_params", [
    [SESSION_SECRET], SESSION_SECRET, {"token": f"{SESSION_SECRET}\x00"},
    {f"{SESSION_SECRET}\ud800": "x"},
])
def test_a_foreign_params_problem_never_shows_the_value(foreign_params):
    bad = dict(item("bet-1", "/bet/place"), foreign_params=foreign_params)
    error = rejected(body(bad))
    [only] = error.problems
    assert only["field"].startswith("foreign_params")
    assert "value" not in only
    assert SESSION_SECRET not in json.dumps(only) and SESSION_SECRET not in str(error)


def test_text_postgresql_cannot_store_is_a_problem_at_its_path():
    bad = item("bet-1", "/bet/place")
    bad["payload"]["competitors"] = [{"id": "ok", "type": 1}, {"id": "nul\x00here", "type": 1}]
    [only] = rejected(body(bad)).problems
    assert only["field"] == "payload.competitors[1].id"
    assert "NUL" in only["message"]


def test_long_values_are_cut_when_shown():
    bad = item("bet-1", "/bet/place")
    bad["payload"]["bet_stake"] = "x" * 5000
    [only] = rejected(body(bad)).problems
    assert isinstance(only["value"], str) and len(only["value"]) <= MAX_SHOWN_VALUE_CHARS
    assert only["value"].startswith('"xxx') and only["value"].endswith("…")


def test_one_request_id_for_two_different_callbacks_is_a_problem():
    first, second = item("bet-1", "/bet/place"), item("bet-2", "/bet/place")
    first["payload"]["request_id"] = second["payload"]["request_id"] = "same"
    [only] = rejected(body(first, second)).problems
    assert only["index"] == 1 and only["field"] == "payload.request_id"
    assert "callback 0" in only["message"]


def test_the_same_callback_twice_is_not_a_problem():
    twice = item("bet-1", "/bet/place")
    twice["payload"]["request_id"] = "same"
    assert [c.request_id for c in parse_batch(body(twice, twice))] == ["same", "same"]


@pytest.mark.parametrize("raw, status, words", [
    (b"{not json", 400, "not valid JSON"),
    (b"", 400, "empty"),
    (b'{"callbacks": [NaN]}', 400, "NaN"),
    (b'{"callbacks": ["\xff"]}', 400, "not UTF-8"),
    (b"[" * 100_000, 400, "nested too deeply"),
    (b'[{"bet_id": "b"}]', 422, 'wrap the callbacks in {"callbacks": [...]}'),
    (b'"callbacks"', 422, "must be a JSON object"),
    (b'{"callback": []}', 422, "unknown key 'callback'"),
    (b'{"callbacks": {}}', 422, "must be an array"),
    (b'{"callbacks": []}', 422, "empty"),
])
def test_a_body_that_is_no_batch_says_why(raw, status, words):
    error = rejected(raw)
    assert error.status == status and words in str(error)
    assert error.problems == []


def test_more_callbacks_than_allowed_are_refused_before_any_is_checked():
    error = rejected(body(*[{"not": "even a callback"}] * 1001))
    assert error.status == 422 and "at most 1,000" in str(error) and error.problems == []
    assert len(parse_batch(body(*[item(f"bet-{i}", "/bet/place") for i in range(3)]),
                           max_callbacks=3)) == 3
    assert rejected(body(*[item(f"bet-{i}", "/bet/place") for i in range(4)]),
                    max_callbacks=3).status == 422
