"""GET /v1/bets/{bet_id}/callbacks: the bet's callbacks in order, their state and every attempt,
including attempts still sending or whose answer was never recorded."""
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from api_testkit import SESSION_SECRET
from databases import deliver_round
from factories import item
from receiver import Receiver, Reply

from delivery import brands, store


def test_an_unknown_bet_is_404(client):
    answer = client.get("/v1/bets/never-seen/callbacks")
    assert answer.status_code == 404 and "never-seen" in answer.json()["error"]


def test_a_bet_shows_its_callbacks_in_order_with_every_attempt(client, api_db):
    # Given a platform that fails the first request and accepts the rest
    replies = iter([Reply(500, b"oops")])
    with Receiver(lambda seen: next(replies, Reply(204))) as platform:
        brands.add_brand(api_db, "acme", platform.url, retry_schedule_s=(0, 0, 0))
        posted = client.post("/v1/brands/acme/callbacks", json={"callbacks": [
            item("bet/1", "/bet/place"), item("bet/1", "/bet/accept"),
            item("bet/1", "/bet/settle")]})
        assert posted.status_code == 201
        # When the place is sent twice, then the accept and the settle follow it
        with httpx.Client() as http:
            for _ in range(3):
                deliver_round(api_db, http)
    # Then the bet shows it all, oldest first
    answer = client.get("/v1/bets/bet%2F1/callbacks")
    assert answer.status_code == 200, answer.text
    bet = answer.json()
    assert (bet["bet_id"], bet["brand"]) == ("bet/1", "acme")
    place, accept, settle = bet["callbacks"]
    assert [c["request_id"] for c in bet["callbacks"]] == posted.json()["request_ids"]
    assert [c["destination"] for c in bet["callbacks"]] == ["/bet/place", "/bet/accept",
                                                            "/bet/settle"]
    assert (place["state"], place["attempt_count"], place["last_status"]) == (
        "delivered", 2, 204)
    assert [(a["attempt_no"], a["outcome"], a["response_status"]) for a in place["attempts"]] \
        == [(1, "failed", 500), (2, "delivered", 204)]
    assert place["attempts"][0]["error_class"] and place["attempts"][1]["error_class"] is None
    assert all(uuid.UUID(a["id"]) and a["finished_at"] for a in place["attempts"])
    assert (accept["state"], [a["outcome"] for a in accept["attempts"]]) == (
        "delivered", ["delivered"])
    assert (settle["state"], [a["outcome"] for a in settle["attempts"]]) == (
        "delivered", ["delivered"])
    assert settle["next_attempt_at"] is None and settle["payload"]["settle_amount"]
    # And the player's session values are not shown
    assert SESSION_SECRET not in answer.text and "foreign_params" not in answer.text


def test_attempts_still_sending_or_of_unknown_outcome_are_shown(client, api_db):
    client.post("/v1/brands/acme/callbacks", json={"callbacks": [item("bet-1", "/bet/place")]})
    [row] = store.group_callbacks(api_db, "bet-1")
    started = datetime.now(UTC)
    with api_db.begin() as conn:
        for n, outcome in ((1, "unknown"), (2, "sending")):
            conn.execute(sa.text(
                "INSERT INTO attempts (id, callback_id, group_id, brand_id, destination, "
                "origin, attempt_no, callback_created_at, started_at, request_headers, outcome,"
                " error_class) SELECT gen_random_uuid(), id, bet_id, brand_id, destination, "
                "origin, :n, created_at, :started, '{}', :outcome, :error FROM callbacks "
                "WHERE id = :id"),
                dict(n=n, started=started + timedelta(seconds=n), outcome=outcome, id=row["id"],
                     error="worker_stopped" if outcome == "unknown" else None))
    [place] = client.get("/v1/bets/bet-1/callbacks").json()["callbacks"]
    assert [(a["attempt_no"], a["outcome"], a["finished_at"], a["duration_ms"])
            for a in place["attempts"]] == [(1, "unknown", None, None),
                                            (2, "sending", None, None)]
    assert place["attempts"][0]["error_class"] == "worker_stopped"


def test_a_bets_answer_never_shows_the_sessions_secrets(client, api_db):
    from factories import SECRET_SESSION, SECRET_TEXTS

    # Given a platform that refuses with the session echoed in its error code and data
    def refuse(seen):
        params = json.loads(seen.headers["foreign-params"])
        return Reply.json(400, {"error": {"code": f"no-{params['pwd']}", "data": params}})

    with Receiver(refuse) as platform:
        brands.add_brand(api_db, "acme", platform.url, retry_schedule_s=(0,))
        posted = client.post("/v1/brands/acme/callbacks", json={"callbacks": [
            item("bet-secret", "/bet/place", foreign_params=SECRET_SESSION)]})
        assert posted.status_code == 201
        with httpx.Client() as http:
            deliver_round(api_db, http)
    # When the bet is asked for
    answer = client.get("/v1/bets/bet-secret/callbacks")
    # Then its attempts and errors show, and none of the session's secrets
    assert answer.status_code == 200, answer.text
    [attempt] = answer.json()["callbacks"][0]["attempts"]
    assert attempt["response_status"] == 400 and attempt["error_code"].startswith("no-***#")
    for secret in SECRET_TEXTS:
        assert secret not in answer.text
