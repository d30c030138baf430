"""POST /v1/brands/{brand}/callbacks on real PostgreSQL: all or nothing, idempotent on
request_id, problems that name the item and field, never a session secret shown back."""
import json
import threading

import httpx
import pytest
import sqlalchemy as sa
from api_testkit import AUTH, SESSION_SECRET, TOKEN, serve
from factories import item

from api import store as api_store
from api.app import create_app
from delivery import brands, store

ROUTE = "/v1/brands/acme/callbacks"


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


def with_request_id(callback: dict, request_id: str) -> dict:
    callback["payload"]["request_id"] = request_id
    return callback


def test_callbacks_are_queued_and_their_request_ids_answered_in_order(client, api_db):
    given = [item("bet-2", "/bet/place"), with_request_id(item("bet-1", "/bet/place"), "r-1"),
             item("bet-2", "/bet/accept")]
    answer = client.post(ROUTE, json={"callbacks": given})
    assert answer.status_code == 201, answer.text
    ids = answer.json()["request_ids"]
    assert len(ids) == 3 and ids[1] == "r-1"
    assert [c["state"] for c in answer.json()["callbacks"]] == ["pending", "pending", "waiting"]
    queued = api_store.queued_by_request_id(api_db, ids)
    assert [(queued[i].bet_id, queued[i].destination) for i in ids] == [
        ("bet-2", "/bet/place"), ("bet-1", "/bet/place"), ("bet-2", "/bet/accept")]
    assert queued[ids[0]].foreign_params == {"token": SESSION_SECRET}


def test_one_bad_callback_among_ten_queues_nothing(client, api_db):
    given = [item(f"bet-{i}", "/bet/place") for i in range(10)]
    given[7]["payload"]["bet_odds"][0]["odd_ratio"] = "about two"
    answer = client.post(ROUTE, json={"callbacks": given})
    assert answer.status_code == 422
    [only] = answer.json()["problems"]
    assert only == {"index": 7, "field": "payload.bet_odds[0].odd_ratio", "value": "about two",
                    "message": only["message"]}
    assert 'decimal string such as "12.50"' in only["message"]
    assert count(api_db, "callbacks") == count(api_db, "bets") == 0


def test_problems_never_show_foreign_params_values(client, api_db):
    bad_params = dict(item("bet-1", "/bet/place"), foreign_params=[SESSION_SECRET])
    bad_payload = item("bet-2", "/bet/place")
    bad_payload["payload"]["bet_type"] = 9
    answer = client.post(ROUTE, json={"callbacks": [bad_params, bad_payload]})
    assert answer.status_code == 422
    assert [(p["index"], p["field"]) for p in answer.json()["problems"]] == [
        (0, "foreign_params"), (1, "payload.bet_type")]
    assert SESSION_SECRET not in answer.text
    assert count(api_db, "callbacks") == 0


def test_unknown_brand_is_404_naming_the_command_that_lists_brands(client, api_db):
    answer = client.post("/v1/brands/ghost/callbacks",
                         json={"callbacks": [item("bet-1", "/bet/place")]})
    assert answer.status_code == 404
    assert "ghost" in answer.json()["error"]
    assert "callbacks brand list" in answer.json()["error"]
    assert count(api_db, "bets") == 0


def test_a_repeat_answers_200_with_the_same_ids_and_queues_nothing(client, api_db):
    given = [item("bet-1", "/bet/place"), item("bet-1", "/bet/accept")]
    first = client.post(ROUTE, json={"callbacks": given})
    assert first.status_code == 201
    repeat = [with_request_id(cb, rid)
              for cb, rid in zip(given, first.json()["request_ids"], strict=False)]
    again = client.post(ROUTE, json={"callbacks": repeat})
    assert again.status_code == 200, again.text
    assert again.json()["request_ids"] == first.json()["request_ids"]
    assert [c["created"] for c in again.json()["callbacks"]] == [False, False]
    assert count(api_db, "callbacks") == 2


def test_a_request_mixing_repeats_and_new_callbacks_queues_the_new_ones(client, api_db):
    placed = with_request_id(item("bet-1", "/bet/place"), "r-place")
    assert client.post(ROUTE, json={"callbacks": [placed]}).status_code == 201
    answer = client.post(ROUTE, json={"callbacks": [
        placed, with_request_id(item("bet-1", "/bet/accept"), "r-accept")]})
    assert answer.status_code == 201
    assert answer.json()["request_ids"] == ["r-place", "r-accept"]
    assert [c["created"] for c in answer.json()["callbacks"]] == [False, True]
    assert [c["destination"] for c in store.group_callbacks(api_db, "bet-1")] == [
        "/bet/place", "/bet/accept"]


@pytest.mark.parametrize("change, differs", [
    (lambda cb: cb["payload"].update(bet_stake="99.00"), ["payload"]),
    (lambda cb: cb.update(foreign_params={"token": "another-secret"}), ["foreign_params"]),
    (lambda cb: cb.update(destination="/bet/accept"), ["destination"]),
])
def test_a_request_id_queued_with_another_body_is_409_and_nothing_is_queued(
        client, api_db, change, differs):
    assert client.post(ROUTE, json={"callbacks": [
        with_request_id(item("bet-1", "/bet/place"), "r-1")]}).status_code == 201
    changed = with_request_id(item("bet-1", "/bet/place"), "r-1")
    change(changed)
    answer = client.post(ROUTE, json={"callbacks": [
        with_request_id(item("bet-2", "/bet/place"), "r-new"), changed]})
    assert answer.status_code == 409, answer.text
    assert "'r-1'" in answer.json()["error"]
    assert answer.json()["conflicts"] == [{"index": 1, "request_id": "r-1", "differs": differs}]
    assert SESSION_SECRET not in answer.text and "another-secret" not in answer.text
    assert count(api_db, "callbacks") == 1  # r-new was not queued either


def test_a_request_id_of_another_brand_is_a_conflict(client, api_db):
    brands.add_brand(api_db, "other", "http://127.0.0.1:9")
    first = client.post("/v1/brands/other/callbacks", json={"callbacks": [
        with_request_id(item("bet-1", "/bet/place"), "r-1")]})
    assert first.status_code == 201
    answer = client.post(ROUTE, json={"callbacks": [
        with_request_id(item("bet-1", "/bet/place"), "r-1")]})
    assert answer.status_code == 409
    assert answer.json()["conflicts"][0]["differs"] == ["brand"]


def test_one_request_id_on_two_different_callbacks_of_a_request_is_422(client, api_db):
    answer = client.post(ROUTE, json={"callbacks": [
        with_request_id(item("bet-1", "/bet/place"), "r-1"),
        with_request_id(item("bet-2", "/bet/place"), "r-1")]})
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["index"] == 1
    assert count(api_db, "callbacks") == 0


def test_the_same_callback_twice_in_a_request_is_queued_once(client, api_db):
    twice = with_request_id(item("bet-1", "/bet/place"), "r-1")
    answer = client.post(ROUTE, json={"callbacks": [twice, twice]})
    assert answer.status_code == 201 and answer.json()["request_ids"] == ["r-1", "r-1"]
    assert count(api_db, "callbacks") == 1


def test_a_bet_of_another_brand_names_the_items(client, api_db):
    brands.add_brand(api_db, "other", "http://127.0.0.1:9")
    client.post("/v1/brands/other/callbacks", json={"callbacks": [item("bet-1", "/bet/place")]})
    answer = client.post(ROUTE, json={"callbacks": [item("bet-0", "/bet/place"),
                                                    item("bet-1", "/bet/accept")]})
    assert answer.status_code == 422
    assert [(p["index"], p["field"]) for p in answer.json()["problems"]] == [(1, "bet_id")]
    assert "another brand" in answer.json()["error"]
    assert count(api_db, "callbacks") == 1


def test_more_than_1000_callbacks_are_refused(client, api_db):
    answer = client.post(ROUTE, json={"callbacks": [item("bet-1", "/bet/place")] * 1001})
    assert answer.status_code == 422 and "at most 1,000" in answer.json()["error"]
    assert count(api_db, "callbacks") == 0


@pytest.mark.parametrize("content, status, words", [
    (b'{"callbacks": [', 400, "not valid JSON"),
    (b"callbacks=1", 400, "not valid JSON"),
    (b'[{"bet_id": "b"}]', 422, "wrap the callbacks"),
    (b'{"callbacks": "all of them"}', 422, "must be an array"),
])
def test_a_body_that_is_no_batch_gets_a_clear_json_error(client, api_db, content, status,
                                                         words):
    answer = client.post(ROUTE, content=content,
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == status
    assert words in answer.json()["error"]
    assert "Traceback" not in answer.text


def test_a_body_over_the_cap_is_413(api_db):
    with serve(create_app(api_db, tokens=[TOKEN], max_body_bytes=2000)) as url:
        big = {"callbacks": [item(f"bet-{i}", "/bet/place") for i in range(10)]}
        answer = httpx.post(f"{url}{ROUTE}", json=big, headers=AUTH, timeout=30)
        assert answer.status_code == 413 and "2,000 bytes" in answer.json()["error"]

        def chunks():  # no Content-Length: the cap holds while reading
            raw = json.dumps(big).encode()
            for start in range(0, len(raw), 500):
                yield raw[start:start + 500]
        streamed = httpx.post(f"{url}{ROUTE}", content=chunks(), headers=AUTH, timeout=30)
        assert streamed.status_code == 413
    assert count(api_db, "callbacks") == 0


def test_a_value_postgresql_cannot_store_is_a_422_not_a_500(client, api_db):
    huge = item("bet-1", "/bet/place")
    huge["payload"]["bet_system_sizes"] = [10 ** 30]  # an integer, but not an int4
    answer = client.post(ROUTE, json={"callbacks": [huge]})
    assert answer.status_code == 422, answer.text
    [only] = answer.json()["problems"]
    assert only["field"] == "payload.bet_system_sizes[0]" and "integer 1..100" in only["message"]
    assert count(api_db, "bets") == 0


@pytest.mark.parametrize("raw, field, allowed", [
    (b'"bet_stake": "-10.00"', "payload.bet_stake", "not negative"),
    (b'"bet_type": 1e400', "payload.bet_type", "finite number"),
    (b'"bet_player_id": "\\ud800"', "payload.bet_player_id", "unpaired surrogates"),
    (b'"bet_player_id": "p\\u0000"', "payload.bet_player_id", "NUL"),
    (b'"bet_type": 100000000000000000000000000000', "payload.bet_type", "one of 1, 2, 3"),
])
def test_malformed_values_are_422s_naming_the_field(client, api_db, raw, field, allowed):
    # Given a callback whose text carries a value no JSON schema would catch
    good = json.dumps({"callbacks": [item("bet-1", "/bet/place")]}).encode()
    name = raw.split(b":")[0]
    start = good.index(name)
    end = good.index(b",", start)
    sent = good[:start] + raw + good[end:]
    # When it is posted
    answer = client.post(ROUTE, content=sent, headers={"Content-Type": "application/json"})
    # Then 422 names the field and says what is allowed; nothing is queued
    assert answer.status_code == 422, answer.text
    [only] = answer.json()["problems"]
    assert only["field"] == field and allowed in only["message"]
    assert count(api_db, "callbacks") == 0


def test_deep_nesting_is_a_400_not_a_500(client, api_db):
    deep = b'{"callbacks": [' + b"[" * 1000 + b"]" * 1000 + b"]}"
    answer = client.post(ROUTE, content=deep, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "nested too deeply" in answer.json()["error"]
    inner = json.dumps({"callbacks": [dict(item("bet-1", "/bet/place"), payload=dict(
        item("bet-1", "/bet/place")["payload"], meta=json.loads("[" * 40 + "]" * 40)))]})
    answer = client.post(ROUTE, content=inner, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and "nested more than" in answer.json()["problems"][0][
        "message"]


def test_unknown_routes_and_methods_answer_json(client):
    assert client.get("/v1/nothing").json() == {"error": "Not Found"}
    wrong = client.get(ROUTE)
    assert wrong.status_code == 405 and wrong.json()["error"]


def test_concurrent_posts_of_one_request_id_all_succeed_with_one_row(client, api_db,
                                                                    api_url):
    # Given eight producers sending the same callback at the same moment
    same = with_request_id(item("bet-1", "/bet/place"), "r-race")
    start = threading.Barrier(8)
    statuses, ids = [], []

    def post():
        with httpx.Client(base_url=api_url, headers=AUTH, timeout=30) as http:
            start.wait()
            answer = http.post(ROUTE, json={"callbacks": [same]})
        statuses.append(answer.status_code)
        ids.append(answer.json().get("request_ids"))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then one queued it, the others were told it was there already
    assert sorted(statuses) == [200] * 7 + [201]
    assert ids == [["r-race"]] * 8
    assert count(api_db, "callbacks") == 1
