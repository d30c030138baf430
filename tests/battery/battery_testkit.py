"""A sandbox platform with a test player, and the battery run against it."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import uvicorn

from battery.results import RunResult
from battery.runner import Target, run_battery
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.server import serve_in_thread

TOKEN = "tok-battery"
#: Short enough to keep the slow and non-answering tests quick, long enough for a loaded CI box.
TIMEOUT_S = 2.0


@contextmanager
def sandbox(*bugs: str, balance: str = "100.00", slow_s: float = 1.0, **config):
    """A sandbox with the bug switches ``bugs`` and a player of session TOKEN."""
    with serve_in_thread(SandboxConfig(bugs=frozenset(bugs), slow_s=slow_s, **config)) as handle:
        handle.platform.add_player(TOKEN, balance)
        yield handle


@contextmanager
def unlike_sandbox(*, without: tuple[str, ...] = (), success_status: int | None = None):
    """The sandbox platform (with a player of session TOKEN) behind a real HTTP server that
    differs in one way a real platform might: the paths in ``without`` are not served at all (a
    bare 404, as from a server without that route), or success is answered ``success_status``
    instead of 204. Yields ``(url, platform)``."""
    config = SandboxConfig()
    platform = config.build_platform()
    platform.add_player(TOKEN, "100.00")
    inner = create_app(platform, config)

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] in without:
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"Not Found"})
            return

        async def answer(message):
            if message["type"] == "http.response.start" and message["status"] == 204 \
                    and success_status:
                message = {**message, "status": success_status}
            await send(message)

        await inner(scope, receive, answer)

    with _serving(app) as url:
        yield url, platform


@contextmanager
def guarded_sandbox(*, authorization: str, query: str, base_path: str = "/cb"):
    """The sandbox platform (with a player of session TOKEN, its endpoints under
    ``base_path``) behind a gate that answers 401 to a request without exactly this
    ``Authorization`` header and 400 to one whose query string is not ``query``, as a platform
    behind Basic authentication and a routing key would. Yields ``(url, seen)``: the server's
    root URL and ``(path, query, authorization)`` of every request, in arrival order."""
    config = SandboxConfig(base_path=base_path)
    platform = config.build_platform()
    platform.add_player(TOKEN, "100.00")
    inner = create_app(platform, config)
    seen: list[tuple[str, str, str | None]] = []

    async def app(scope, receive, send):
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            given = headers.get(b"authorization", b"").decode() or None
            seen.append((scope["path"], scope["query_string"].decode(), given))
            refused = (401 if given != authorization else
                       400 if scope["query_string"].decode() != query else None)
            if refused:
                await send({"type": "http.response.start", "status": refused,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"refused"})
                return
        await inner(scope, receive, send)

    with _serving(app) as url:
        yield url, seen


@contextmanager
def cookie_sandbox():
    """The sandbox platform (with a player of session TOKEN) behind a server that sets a session
    cookie on every answer, as platforms behind a load balancer do. Yields ``(url, cookies)``:
    the Cookie header of every request (None when it had none)."""
    config = SandboxConfig()
    platform = config.build_platform()
    platform.add_player(TOKEN, "100.00")
    inner = create_app(platform, config)
    cookies: list[str | None] = []

    async def app(scope, receive, send):
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"cookie")
            cookies.append(given.decode() if given else None)

        async def answer(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"set-cookie", b"lb=node-7; Path=/")]}
            await send(message)

        await inner(scope, receive, answer)

    with _serving(app) as url:
        yield url, cookies


@contextmanager
def _serving(app):
    """``app`` served on 127.0.0.1 in a thread; yields its root URL."""
    # IPPROTO_TCP explicitly, as the sandbox does: asyncio then sets TCP_NODELAY, and answers do
    # not wait ~40 ms for a delayed ACK.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        listener.close()


def run_against(url: str, token: str = TOKEN, timeout_s: float = TIMEOUT_S, *,
                foreign_params: dict | None = None, **kwargs) -> RunResult:
    """The battery against ``url`` as the session ``{"token": token}`` (or ``foreign_params``)."""
    return run_battery(Target(url, foreign_params or {"token": token}, timeout_s=timeout_s),
                       **kwargs)


def failing(run: RunResult) -> set[int]:
    return {c.number for c in run.cases if c.status == "failed"}


@contextmanager
def silent_server():
    """A TCP server that accepts connections and never answers; yields its URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


def closed_port_url() -> str:
    """A URL on a local port nothing listens on."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"
