"""The event-loop sender (heartbeats) against real servers on 127.0.0.1: the same request and
the same classification as the threaded sender, one overall deadline, kept-alive connections."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from datetime import UTC, datetime

from platforms import Hanging, Trickling
from receiver import Receiver, Reply

import contract
from delivery import heartbeats
from delivery.records import OutgoingCallback
from delivery.sender import AsyncPool, make_transport, send, send_async


def _beat(url: str, timeout_s: float = 2.0, **over):
    callback = OutgoingCallback(
        callback_id=None, request_id="", bet_id="session-1", brand_id=1,
        destination=contract.HEARTBEAT, payload={}, foreign_params={"session_id": "abc"},
        attempt_no=1, base_url=url, timeout_s=timeout_s, **over)
    return heartbeats.prepare_beat(callback, str(uuid.uuid4()), datetime.now(UTC))


def _run(sending, pool=None):
    async def go():
        return await send_async(sending, pool or AsyncPool(2))
    return asyncio.run(go())


def test_the_request_and_its_classification_are_the_threaded_senders():
    answers = iter([Reply(204), Reply.json(400, contract.error_body(contract.SESSION_UNKNOWN)),
                    Reply(503, b"down", {"X-A": "1"})] * 2)
    with Receiver(lambda seen: next(answers)) as platform:
        threaded = [send(_beat(platform.url + "/p?x=1"), make_transport(1)) for _ in range(3)]
        looped = [_run(_beat(platform.url + "/p?x=1")) for _ in range(3)]
    for a, b in zip(threaded, looped, strict=False):
        assert (a.outcome, a.response_status, a.response_body) == \
            (b.outcome, b.response_status, b.response_body)
    assert looped[1].outcome.error_code == contract.SESSION_UNKNOWN
    assert looped[2].response_headers["x-a"] == "1"
    first, second = platform.seen[0], platform.seen[3]
    assert second.path == first.path == "/p/heartbeat?x=1"
    assert second.raw == b"" and json.loads(second.headers["foreign-params"]) == \
        {"session_id": "abc"}
    assert set(first.headers) - {"accept", "accept-encoding", "connection"} == \
        set(second.headers) - {"accept", "accept-encoding", "connection"}


def test_connections_are_kept_alive_and_a_stale_one_is_replaced_once():
    with Receiver() as platform:
        pool = AsyncPool(2)

        async def three():
            out = [await send_async(_beat(platform.url), pool)]
            out.append(await send_async(_beat(platform.url), pool))
            # The platform drops its idle connections (as servers do after a keep-alive timeout).
            for conn in list(pool._idle.values())[0]:
                conn[1].transport.abort()
            out.append(await send_async(_beat(platform.url), pool))
            return out

        attempts = asyncio.run(three())
    assert [a.response_status for a in attempts] == [204, 204, 204]
    ports = [s.client_port for s in platform.seen]
    assert ports[0] == ports[1] != ports[2]  # kept alive, then a new connection
    assert len(platform.seen) == 3  # the stale connection carried nothing


def test_the_timeout_is_one_deadline_against_hanging_and_trickling_platforms():
    for server in (Hanging(), Trickling(interval_s=0.2)):
        with server as platform:
            started = time.monotonic()
            attempt = _run(_beat(platform.url, timeout_s=1.0))
            took_s = time.monotonic() - started
        assert (attempt.outcome.kind, attempt.outcome.error_class) == ("failed", "timeout")
        assert attempt.response_status is None
        assert 0.9 < took_s < 3.0


def test_refused_connections_and_hang_ups_are_failures_not_exceptions():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    refused = _run(_beat(f"http://127.0.0.1:{closed_port}"))
    assert (refused.outcome.kind, refused.outcome.error_class) == ("failed", "connect")

    with Receiver(lambda seen: Reply(hang_up=True)) as platform:
        hung_up = _run(_beat(platform.url))
    assert (hung_up.outcome.kind, hung_up.outcome.error_class) == ("failed", "protocol")
    assert len(platform.seen) == 1  # a new connection's hang-up is not sent again


def test_a_large_answer_is_capped_and_flagged():
    big = b"x" * (contract.RESPONSE_BODY_CAP_BYTES + 10)
    with Receiver(lambda seen: Reply(200, big)) as platform:
        attempt = _run(_beat(platform.url))
    assert attempt.response_truncated and len(attempt.response_body) == len(big) - 10
    assert attempt.outcome.kind == "delivered"


def test_a_hanging_brand_does_not_slow_another_on_the_same_loop():
    release = threading.Event()
    with Receiver(lambda seen: (release.wait(5), Reply())[1]) as slow, Receiver() as fast:
        async def both():
            slow_pool, fast_pool = AsyncPool(8), AsyncPool(8)
            hanging = [asyncio.create_task(send_async(_beat(slow.url, timeout_s=5), slow_pool))
                       for _ in range(8)]
            started = time.monotonic()
            quick = await asyncio.gather(*[send_async(_beat(fast.url), fast_pool)
                                           for _ in range(20)])
            took_s = time.monotonic() - started
            release.set()
            await asyncio.gather(*hanging)
            return quick, took_s

        quick, took_s = asyncio.run(both())
    assert {a.response_status for a in quick} == {204}
    assert took_s < 1.0
