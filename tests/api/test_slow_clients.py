"""The producer API's server (api.server) against slow, greedy and vanishing clients: the real
app on real uvicorn on 127.0.0.1 with the guarded protocol, spoken to over raw sockets.

Client addresses: everything on 127.0.0.0/8 reaches the server, so a socket bound to 127.0.0.2
is "another address" for the per-address limit.
"""
from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from api_testkit import AUTH, TOKEN, serving
from factories import item

from api.app import create_app
from api.server import GuardedServer, Limits

#: The read timeout of the servers under test.
READ_TIMEOUT_S = 1.0
#: How long past the read timeout a close may come (a loaded machine), and no more.
MARGIN_S = 3.0


@contextmanager
def guarded(app, limits: Limits) -> Iterator[tuple[str, int]]:
    """Serve ``app`` as `callbacks api` does, with ``limits``, until the block ends; the
    address it listens on."""
    server = GuardedServer(app, limits, log_level="warning")
    with serving(server) as sock:
        yield sock.getsockname(), server


@pytest.fixture(scope="module")
def address(engine):
    limits = Limits(read_timeout_s=READ_TIMEOUT_S, max_connections=50,
                    max_connections_per_address=0)
    with guarded(create_app(engine, tokens=[TOKEN]), limits) as (where, _):
        yield where


@pytest.fixture
def logs(caplog):
    """Every log record of the app and the server (uvicorn's own too, which do not reach the
    root logger)."""
    caplog.set_level(logging.INFO, logger="api")
    uvicorn_logger = logging.getLogger("uvicorn")
    uvicorn_logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        uvicorn_logger.removeHandler(caplog.handler)


def connect(address, *, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(address, timeout=10, source_address=(source, 0))


def read_until_closed(sock: socket.socket, timeout_s: float) -> bytes:
    """Everything the server sends until it closes the connection (fails after
    ``timeout_s``)."""
    sock.settimeout(timeout_s)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def post_head(address, length: int, path: str = "/v1/brands/acme/callbacks") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {address[0]}\r\n"
            f"Authorization: {AUTH['Authorization']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def api_lines(logs, level=logging.INFO) -> list[str]:
    return [r.getMessage() for r in logs.records if r.name.startswith("api")
            and r.levelno == level]


def trouble(logs) -> list[str]:
    """Records that say something broke: ERROR and above, or with a traceback."""
    return [r.getMessage() for r in logs.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("sent, missing", [
    (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Ag",
     "the headers of its request did not arrive"),
    (b"", "no request came"),
])
def test_a_request_whose_headers_do_not_arrive_is_closed_after_the_read_timeout(
        address, logs, sent, missing):
    # Given a client that sends half its headers (or nothing) and stalls
    with connect(address) as sock:
        port = sock.getsockname()[1]
        started = time.monotonic()
        sock.sendall(sent)
        # When it waits
        answer = read_until_closed(sock, READ_TIMEOUT_S + MARGIN_S)
        waited_s = time.monotonic() - started
    # Then the server answers 408 and closes the connection once the read timeout is over
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert READ_TIMEOUT_S - 0.05 <= waited_s <= READ_TIMEOUT_S + MARGIN_S
    assert api_lines(logs) == [f"closed the connection of 127.0.0.1:{port}: {missing} "
                               f"within {READ_TIMEOUT_S:g} s"]
    assert trouble(logs) == []


def test_a_body_sent_a_byte_at_a_time_is_closed_after_the_read_timeout(address, api_db, logs):
    # Given a producer that sends its headers, then its body a byte every 0.3 s
    body = json.dumps({"callbacks": [item("bet-slow", "/bet/place")]}).encode()
    with connect(address) as sock:
        port = sock.getsockname()[1]
        started = time.monotonic()
        sock.sendall(post_head(address, len(body)))
        sent, answer = 0, b""
        while time.monotonic() - started < READ_TIMEOUT_S + MARGIN_S:
            try:
                sock.sendall(body[sent:sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            sock.settimeout(0.3)
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            break
        answer += read_until_closed(sock, MARGIN_S)
        waited_s = time.monotonic() - started
    # Then it gets 408 once the read timeout is over, long before its body was complete
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert READ_TIMEOUT_S - 0.05 <= waited_s <= READ_TIMEOUT_S + MARGIN_S
    assert 0 < sent < len(body)
    # And the server says so in one line, not as a client gone away, and queues nothing
    assert api_lines(logs) == [f"closed the connection of 127.0.0.1:{port}: the body of POST "
                               "/v1/brands/acme/callbacks did not arrive within "
                               f"{READ_TIMEOUT_S:g} s"]
    assert trouble(logs) == []
    with httpx.Client(base_url=f"http://127.0.0.1:{address[1]}", headers=AUTH) as http:
        assert http.get("/v1/bets/bet-slow/callbacks").status_code == 404


def test_requests_on_a_kept_alive_connection_and_bodies_in_pieces_still_work(
        address, api_db, logs):
    body = json.dumps({"callbacks": [item("bet-kept", "/bet/place")]}).encode()
    with connect(address) as sock:
        # Given a connection that was answered once, then idle longer than the read timeout
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_answer(sock).startswith(b"HTTP/1.1 200 ")
        time.sleep(READ_TIMEOUT_S + 0.3)
        # When it sends another request, its body in three pieces within the read timeout
        sock.sendall(post_head(address, len(body)))
        third = len(body) // 3
        for piece in (body[:third], body[third:2 * third], body[2 * third:]):
            time.sleep(READ_TIMEOUT_S / 5)
            sock.sendall(piece)
        # Then it is answered as usual, and nothing was closed
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 201 "), answer
    assert api_lines(logs) == [] and trouble(logs) == []


def read_answer(sock: socket.socket) -> bytes:
    """One answer with a Content-Length, read from a kept-alive connection."""
    sock.settimeout(10)
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, rest = received.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


def test_a_client_that_leaves_mid_body_is_one_info_line(address, api_db, logs):
    # Given a producer that sends its headers and part of its body
    with connect(address) as sock:
        sock.sendall(post_head(address, 1000) + b'{"callbacks": [')
        port = sock.getsockname()[1]
        time.sleep(0.2)  # the route is reading the body
    # When it goes away
    deadline = time.monotonic() + 5
    while not api_lines(logs) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # anything else it would log
    # Then the API logs one INFO line naming the client and the route, and no traceback
    assert api_lines(logs) == [f"127.0.0.1:{port} went away before its request's body "
                               "arrived (POST /v1/brands/acme/callbacks); nothing was written"]
    assert trouble(logs) == []


def test_one_address_cannot_take_every_connection(engine, api_db, logs):
    limits = Limits(read_timeout_s=30, max_connections=8, max_connections_per_address=5)
    with guarded(create_app(engine, tokens=[TOKEN]), limits) as (address, server):
        # Given one address holding as many slow connections as it may
        held = [connect(address) for _ in range(5)]
        for sock in held:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        # When it opens three more
        extra = [connect(address) for _ in range(3)]
        # Then those are closed at once, unanswered
        for sock in extra:
            assert read_until_closed(sock, 5) == b""
        # And a client at another address is answered
        with httpx.Client(base_url=f"http://127.0.0.1:{address[1]}", timeout=10,
                          transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
            assert other.get("/healthz").status_code == 200
        # And the connections held are still served
        held[0].sendall(b"\r\n")
        assert read_answer(held[0]).startswith(b"HTTP/1.1 200 ")
        # When other addresses fill the server's total
        more = [connect(address, source="127.0.0.3") for _ in range(3)]
        for sock in more:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        # Then one more connection gets a 503 and is closed
        with connect(address, source="127.0.0.4") as sock:
            answer = read_until_closed(sock, 5)
        assert answer.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in answer, answer
        # When every client closes (one after asking for a WebSocket upgrade)
        held[1].sendall(b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        assert read_answer(held[1]).startswith(b"HTTP/1.1 ")
        for sock in held + extra + more:
            sock.close()
        # Then the server counts no connection any more
        deadline = time.monotonic() + 5
        while server.guard.total and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (server.guard.total, server.guard.by_address) == (0, {})
    # And each refusal was logged once per address and interval, not once per connection
    refused = api_lines(logs, logging.WARNING)
    assert refused == [
        "refused a connection: 127.0.0.1 holds 5 connections already, the most one address "
        "may (--max-connections-per-address)",
        "refused a connection: the server holds 8 connections already, the most it may "
        "(--max-connections); answering 503"], refused
