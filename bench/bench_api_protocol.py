"""What the producer API's guarded server (read timeout, connection limits) costs an ordinary
request, against uvicorn's plain h11 protocol.

    .venv/bin/python bench/bench_api_protocol.py [--requests 2000] [--rounds 5]

Serves a one-line Starlette route both ways in this process (a thread each, 127.0.0.1) and
times ``--requests`` GETs from a raw socket: on one kept-alive connection, and each on a new
connection; rounds alternate between the two servers. Prints the median µs per request of each
way; asserts nothing.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.server import GuardedServer, Limits  # noqa: E402

REQUEST = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    async def ping(request):
        return PlainTextResponse("pong")

    app = Starlette(routes=[Route("/ping", ping)])
    plain = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning",
                                          http="h11", loop="asyncio", ws="none"))
    guarded = GuardedServer(app, Limits(max_connections=900), log_level="warning")
    ports = {name: _start(server) for name, server in (("plain h11", plain),
                                                        ("guarded", guarded))}
    took: dict[tuple[str, str], list[float]] = {}
    for i in range(args.rounds):
        for name in (list(ports) if i % 2 else list(ports)[::-1]):
            for how, run in (("kept-alive", _kept_alive), ("new connection", _new_each)):
                took.setdefault((name, how), []).append(run(ports[name], args.requests))
    for (name, how), times in sorted(took.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"{how:<15} {name:<10} median {statistics.median(times) * 1e6:7.1f} µs/request")
    for server in (plain, guarded):
        server.should_exit = True
    return 0


def _start(server: uvicorn.Server) -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return sock.getsockname()[1]


def _kept_alive(port: int, requests: int) -> float:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        began = time.perf_counter()
        for _ in range(requests):
            sock.sendall(REQUEST)
            _read_answer(sock)
        return (time.perf_counter() - began) / requests


def _new_each(port: int, requests: int) -> float:
    began = time.perf_counter()
    for _ in range(requests // 4):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(REQUEST)
            _read_answer(sock)
    return (time.perf_counter() - began) / (requests // 4)


def _read_answer(sock: socket.socket) -> None:
    got = b""
    while not got.endswith(b"pong"):
        got += sock.recv(4096)
        # Acknowledge at once: the answer comes in two writes (head, body), and a delayed ACK
        # would hold the second for 40 ms on either server.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


if __name__ == "__main__":
    sys.exit(main())
