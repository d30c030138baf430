"""Outcomes over real HTTP into real PostgreSQL, driven in-process (no broker)."""
import json
import time

import httpx
from databases import deliver_round
from factories import PAYLOADS, item
from receiver import Receiver, Reply

import contract
from delivery import brands, store
from delivery.validation import parse_callback


def drive(engine, *, timeout_s: float = 15.0, lease_margin_s: float = 1.0):
    """Claim and deliver until the queue is empty (retries included)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            store.sweep_expired_leases(engine)
            deliver_round(engine, client, lease_margin_s)
            if store.status(engine)["pending_callbacks"] == 0:
                return
            time.sleep(0.05)
    raise AssertionError("queue did not drain")


def _enqueue(engine, brand, *items):
    return store.enqueue(engine, brand, [parse_callback(i) for i in items])


def _err(code, **data):
    return Reply.json(400, contract.error_body(code, data))


def test_supported_place_error_is_rejected_and_skips_the_rest(clean_db):
    with Receiver(lambda s: _err("not_enough_balance", actual_balance="3.00")
                  if s.path == "/bet/place" else Reply()) as platform:
        brands.add_brand(clean_db, "b", platform.url, retry_schedule_s=(0, 1, 1))
        _enqueue(clean_db, "b", item("bet-1", "/bet/place"), item("bet-1", "/bet/accept"),
                 item("bet-1", "/bet/settle"))
        drive(clean_db)
    assert [s.path for s in platform.seen] == ["/bet/place"]  # not retried, nothing after
    [attempt] = store.group_attempts(clean_db, "bet-1")
    assert (attempt["outcome"], attempt["error_code"]) == ("rejected", "not_enough_balance")
    assert json.loads(attempt["response_body"])["error"]["data"]["actual_balance"] == "3.00"
    states = [c["state"] for c in store.group_callbacks(clean_db, "bet-1")]
    assert states == ["rejected", "skipped", "skipped"]
    assert store.bet(clean_db, "bet-1")["status"] == "PLACE_ERROR"
    # and later callbacks for that bet are stored as skipped, never sent
    [late] = _enqueue(clean_db, "b", item("bet-1", "/bet/decline"))
    assert late.state == "skipped"


def test_same_code_on_unsettle_is_unsupported_and_retried(clean_db):
    with Receiver(lambda s: _err("not_enough_balance")) as platform:
        brands.add_brand(clean_db, "b", platform.url, retry_schedule_s=(0, 1, 1))
        _enqueue(clean_db, "b", item("bet-1", "/bet/unsettle"))
        drive(clean_db)
    attempts = store.group_attempts(clean_db, "bet-1")
    assert [a["outcome"] for a in attempts] == ["failed", "failed", "exhausted"]
    assert {a["error_class"] for a in attempts} == {"unsupported_error"}
    assert len({s.request_id for s in platform.seen}) == 1
    assert len({s.attempt_id for s in platform.seen}) == 3


def test_exhausted_place_declines_the_bet_and_queues_a_decline(clean_db):
    with Receiver(lambda s: Reply(500) if s.path == "/bet/place" else Reply()) as platform:
        brands.add_brand(clean_db, "b", platform.url, retry_schedule_s=(0, 0, 1))
        _enqueue(clean_db, "b", item("bet-1", "/bet/place"), item("bet-1", "/bet/accept"))
        drive(clean_db)
    assert [s.path for s in platform.seen] == ["/bet/place"] * 3 + ["/bet/decline"]
    decline = platform.seen[-1].body
    assert decline["restrictions"] == [contract.PLACE_RETRY_LIMIT_RESTRICTION]
    assert decline["bet_player_id"] == PAYLOADS["/bet/place"]["bet_player_id"]
    bet = store.bet(clean_db, "bet-1")
    assert bet["status"] == "DECLINED"
    assert bet["restrictions"] == [contract.PLACE_RETRY_LIMIT_RESTRICTION]
    states = [(c["destination"], c["state"], c["origin"])
              for c in store.group_callbacks(clean_db, "bet-1")]
    assert states == [("/bet/place", "exhausted", "producer"),
                      ("/bet/accept", "skipped", "producer"),
                      ("/bet/decline", "delivered", "system")]


def test_timeout_is_classified_and_recorded(clean_db):
    with Receiver(lambda s: Reply(delay_s=1.5)) as platform:
        brands.add_brand(clean_db, "b", platform.url, retry_schedule_s=(0,), timeout_s=0.5)
        _enqueue(clean_db, "b", item("bet-1", "/bet/settle"))
        drive(clean_db)
    [a] = store.group_attempts(clean_db, "bet-1")
    assert (a["outcome"], a["error_class"], a["response_status"]) == ("exhausted", "timeout",
                                                                      None)
    assert 400 <= a["duration_ms"] < 1400


def test_connection_refused_is_classified_and_recorded(clean_db):
    brands.add_brand(clean_db, "b", "http://127.0.0.1:9", retry_schedule_s=(0,))
    _enqueue(clean_db, "b", item("bet-1", "/bet/settle"))
    drive(clean_db)
    [a] = store.group_attempts(clean_db, "bet-1")
    assert (a["error_class"], a["outcome"]) == ("connect", "exhausted")
    assert "refused" in a["error_detail"].lower()


def test_oversized_response_is_capped_and_flagged(clean_db):
    big = b'{"ok": "' + b"x" * (contract.RESPONSE_BODY_CAP_BYTES * 2) + b'"}'
    with Receiver(lambda s: Reply(200, big)) as platform:
        brands.add_brand(clean_db, "b", platform.url)
        _enqueue(clean_db, "b", item("bet-1", "/bet/accept"))
        drive(clean_db)
    [a] = store.group_attempts(clean_db, "bet-1")
    assert a["outcome"] == "delivered" and a["response_truncated"]
    assert len(a["response_body"]) == contract.RESPONSE_BODY_CAP_BYTES


def test_non_json_400_is_unsupported_and_recorded(clean_db):
    with Receiver(lambda s: Reply(400, b"<html>Bad Request</html>")) as platform:
        brands.add_brand(clean_db, "b", platform.url, retry_schedule_s=(0,))
        _enqueue(clean_db, "b", item("bet-1", "/bet/settle"))
        drive(clean_db)
    [a] = store.group_attempts(clean_db, "bet-1")
    assert (a["error_class"], a["response_status"]) == ("unsupported_error", 400)
    assert a["response_body"] == "<html>Bad Request</html>"


def test_hang_up_is_a_protocol_error(clean_db):
    with Receiver(lambda s: Reply(hang_up=True)) as platform:
        brands.add_brand(clean_db, "b", platform.url, retry_schedule_s=(0,))
        _enqueue(clean_db, "b", item("bet-1", "/bet/settle"))
        drive(clean_db)
    [a] = store.group_attempts(clean_db, "bet-1")
    assert a["error_class"] == "protocol"


def test_attempt_row_has_every_field(clean_db):
    with Receiver(lambda s: Reply.json(200, {"ok": True}, headers={"X-Platform": "1"})) as p:
        brands.add_brand(clean_db, "b", p.url)
        [queued] = _enqueue(clean_db, "b", item("bet-1", "/bet/place"))
        drive(clean_db)
    [a] = store.group_attempts(clean_db, "bet-1")
    assert str(a["id"]) == p.seen[0].attempt_id and a["callback_id"] == queued.id
    assert (a["group_id"], a["destination"], a["attempt_no"]) == ("bet-1", "/bet/place", 1)
    assert a["scheduled_at"] <= a["started_at"] <= a["finished_at"]
    assert a["duration_ms"] > 0 and a["response_status"] == 200
    assert a["response_headers"]["content-type"] == "application/json"
    assert json.loads(a["response_body"]) == {"ok": True}
    assert a["request_headers"]["X-Request-ID"] == str(a["id"])
    assert "session-token" not in a["request_headers"]["Foreign-Params"]
    assert a["callback_request_id"] == queued.request_id == p.seen[0].request_id


def test_an_unanswered_place_ends_in_a_decline_the_sandbox_applies(clean_db):
    # Given the reference platform, whose answers to /bet/place are lost on the way back (it
    # holds the stake each time, idempotently, but the sender only ever sees a 502)
    from decimal import Decimal

    from sandbox.platform import Platform

    sandbox = Platform()
    sandbox.add_player("session-token-123456", "100.00")

    def platform(seen):
        answer = sandbox.handle(seen.path, seen.raw, seen.headers.get("foreign-params"))
        if seen.path == "/bet/place":
            return Reply(502)
        return Reply(answer.status) if answer.body is None else Reply.json(answer.status,
                                                                          answer.body)

    with Receiver(platform) as receiver:
        brands.add_brand(clean_db, "b", receiver.url, retry_schedule_s=(0, 0, 1))
        # When a place is enqueued and never answered
        _enqueue(clean_db, "b", item("bet-1", "/bet/place"))
        drive(clean_db)
    # Then the automatic decline carries the place-retry-limit restriction (an object context)
    decline = receiver.seen[-1]
    assert decline.path == "/bet/decline"
    assert decline.body["restrictions"] == [contract.PLACE_RETRY_LIMIT_RESTRICTION]
    assert isinstance(decline.body["restrictions"][0]["context"], dict)
    # And the sandbox accepted it: delivered, the hold released, the bet declined
    [*_, last] = store.group_attempts(clean_db, "bet-1")
    assert (last["outcome"], last["response_status"]) == ("delivered", 204)
    assert sandbox.balance("session-token-123456") == (Decimal("100.00"), Decimal("0"))
    assert sandbox.bet("bet-1")["state"] == "declined"
