"""A sandbox platform with a test player, and the battery run against it."""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

from battery.results import RunResult
from battery.runner import Target, run_battery
from sandbox.config import SandboxConfig
from sandbox.server import serve_in_thread

TOKEN = "tok-battery"
#: Short enough to keep the slow and non-answering tests quick, long enough for a loaded CI box.
TIMEOUT_S = 2.0


@contextmanager
def sandbox(*bugs: str, balance: str = "100.00", slow_s: float = 1.0):
    """A sandbox with the bug switches ``bugs`` and a player of session TOKEN."""
    with serve_in_thread(SandboxConfig(bugs=frozenset(bugs), slow_s=slow_s)) as handle:
        handle.platform.add_player(TOKEN, balance)
        yield handle


def run_against(url: str, token: str = TOKEN, timeout_s: float = TIMEOUT_S, **kwargs) -> RunResult:
    return run_battery(Target(url, token, timeout_s=timeout_s), **kwargs)


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
