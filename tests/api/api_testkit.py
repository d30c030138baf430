"""The producer API served over real HTTP in a background thread, and the ``callbacks``
command run in this process (:func:`cli.run_cli`), for the API tests."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from cli import Result, run_cli

#: The environment token the test servers accept.
TOKEN = "test-token-7c1f"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: The session secret every factories.item carries in its foreign_params.
SESSION_SECRET = "session-token-123456"


@contextmanager
def serve(app) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 until the block ends; its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    with serving(server) as sock:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def serving(server: uvicorn.Server) -> Iterator[socket.socket]:
    """Run ``server`` in a thread on a free port of 127.0.0.1 until the block ends; its
    listening socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.01)
    try:
        yield sock
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def callbacks(database_url: str, *args: str, environ: dict | None = None) -> Result:
    """``callbacks ARGS...`` run in this process on the database at ``database_url``, as an
    operator would, with ``environ`` added to this process's environment."""
    return run_cli(*args, env={"DATABASE_URL": database_url, **(environ or {})})
