"""Servers the benchmarks start in processes of their own, on a free port of 127.0.0.1."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from callbacks.demo import wait_listening

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args: list[str], timeout_s: float = 20.0) -> tuple[subprocess.Popen, str]:
    """Run ``python ARGS --port P`` quietly; its URL once it accepts connections."""
    port = free_port()
    process = subprocess.Popen([sys.executable, *args, "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if wait_listening(port, process, timeout_s):
        return process, f"http://127.0.0.1:{port}"
    process.kill()
    raise SystemExit(f"{' '.join(args)} did not start within {timeout_s:g} s")
