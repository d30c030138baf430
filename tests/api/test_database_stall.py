"""The API on a database that stalls: an embedded server of this module's own, frozen with
SIGSTOP (its postmaster and every backend), so its kernel still accepts and acknowledges
connections while nothing answers. Every route answers 503 with Retry-After within 5 s —
/healthz within 1 s — also when more requests come than the pool has connections, and the API
serves again once the server is thawed."""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from api_testkit import AUTH, TOKEN, serve
from databases import own_server
from factories import item

from api import store as api_store
from api.app import create_app
from api.auth import new_token, token_sha256
from api.cli import server_engine
from delivery import brands

#: What the issue allows for a route's answer, and for the health check's, in a stall.
ROUTE_BOUND_S, HEALTH_BOUND_S = 5.0, 1.0


@pytest.fixture(scope="module")
def stalling():
    """``(server, engine, base URL, stored token's headers)``: the API on its own server."""
    with own_server("stall_test") as own:
        engine = server_engine(own.url)
        brands.add_brand(engine, "acme", "http://127.0.0.1:9")
        stored = new_token()
        api_store.add_api_token(engine, "stored", token_sha256(stored), brands=("acme",))
        try:
            with serve(create_app(engine, tokens=[TOKEN])) as url:
                yield own, engine, url, {"Authorization": f"Bearer {stored}"}
        finally:
            engine.dispose()


def timed(http: httpx.Client, method: str, path: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = http.request(method, path, **kwargs)
    return answer, time.monotonic() - started


def post(bet_id: str, request_id: str) -> dict:
    callback = item(bet_id, "/bet/place")
    callback["payload"]["request_id"] = request_id
    return {"json": {"callbacks": [callback]}}


def every_route(stored: dict) -> list[tuple[str, str, dict]]:
    session = {"json": {"foreign_params": {"token": "t-1"}, "ttl_s": 600}}
    return [
        ("GET", "/v1/bets/bet-1/callbacks", {}),
        ("PUT", "/v1/brands/acme/sessions/s-1", session),
        ("GET", "/v1/brands/acme/sessions/s-1", {}),
        ("GET", "/v1/brands/acme/sessions?state=live", {}),
        ("DELETE", "/v1/brands/acme/sessions/s-2", {}),
        # A token that is not an environment token is looked up in the database
        ("GET", "/v1/bets/bet-1/callbacks", {"headers": stored}),
    ]


def test_every_route_answers_503_within_5_s_while_the_database_is_frozen(stalling):
    own, engine, url, stored = stalling
    # Given an API whose pool holds connections made before the stall
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as http, \
            ThreadPoolExecutor(48) as pool:
        warm = list(pool.map(lambda i: http.post("/v1/brands/acme/callbacks",
                                                 **post(f"warm-{i}", f"warm-{i}")), range(12)))
        assert {a.status_code for a in warm} == {201}
        # When the server freezes and 30 producers queue at once (more than the pool's 20
        # connections), while every other kind of route and the health check are asked too
        with own.frozen():
            posts = [pool.submit(timed, http, "POST", "/v1/brands/acme/callbacks",
                                 **post(f"bet-{i}", f"stalled-{i}")) for i in range(30)]
            others = [pool.submit(timed, http, method, path, **kwargs)
                      for method, path, kwargs in every_route(stored)]
            scrape = pool.submit(timed, http, "GET", "/metrics")
            time.sleep(0.5)  # the health check comes while every route thread is waiting
            health = [timed(http, "GET", "/healthz") for _ in range(3)]
            answers = [f.result() for f in posts + others]
            late_health = timed(http, "GET", "/healthz")
            scraped, scrape_s = scrape.result()

        # Then every answer is a 503 with Retry-After within the bound, never a 500 or a hang
        for answer, took_s in answers:
            assert answer.status_code == 503, (answer.request.url, answer.text)
            assert answer.headers["retry-after"] == "5"
            assert answer.json()["error"]
            assert took_s < ROUTE_BOUND_S, (answer.request.url, took_s)
        for answer, took_s in [*health, late_health]:
            assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
            assert answer.json()["status"] == "unavailable"
            assert took_s < HEALTH_BOUND_S, took_s
        # (a scrape says the database is down, or is a 503 like the rest)
        assert scrape_s < ROUTE_BOUND_S
        assert (scraped.status_code == 200
                and re.search(r"^callbacks_database_up 0", scraped.text, re.M)) \
            or (scraped.status_code == 503 and scraped.headers["retry-after"] == "5"), \
            scraped.text

        # And once the server is thawed, the API serves again at once: the repeat of a
        # request cut off in the stall is queued (once)
        assert http.get("/healthz").status_code == 200
        again = http.post("/v1/brands/acme/callbacks", **post("bet-0", "stalled-0"))
        assert again.status_code in (200, 201), again.text
        assert http.get("/v1/bets/bet-0/callbacks").status_code == 200
        assert http.get("/v1/bets/warm-1/callbacks", headers=stored).status_code == 200
        assert http.put("/v1/brands/acme/sessions/s-1",
                        json={"foreign_params": {"token": "t-1"}, "ttl_s": 600}
                        ).status_code in (200, 201)


def test_a_thread_cut_off_by_the_deadline_gives_its_connection_up(stalling):
    own, engine, url, _ = stalling
    # Given an API that answered 503 on a frozen server
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as http:
        assert http.get("/v1/bets/bet-x/callbacks").status_code == 404
        with own.frozen():
            assert http.get("/v1/bets/bet-x/callbacks").status_code == 503
            time.sleep(0.5)
            # Then no connection is left checked out by a thread still waiting on the server
            assert engine.pool.checkedout() == 0
        # And after the thaw the pool serves with fresh connections
        assert http.get("/v1/bets/bet-x/callbacks").status_code == 404
