"""bench/misbehaving.py plays each mode as documented (short intervals keep this fast)."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from callbacks.demo import wait_listening

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "misbehaving.py"
REQUEST = (b"POST /bet/settle HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: 2\r\n\r\n{}")


@contextmanager
def misbehaving(mode: str, *options: str):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--mode", mode, "--port", str(port),
                             *options])
    try:
        assert wait_listening(port, proc, 10), f"misbehaving.py --mode {mode} did not start"
        yield port
    finally:
        proc.terminate()
        assert proc.wait(5) == 0


def received_within(port: int, seconds: float) -> bytes:
    """Send one request on a raw socket; everything that came back within ``seconds``."""
    got = b""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(REQUEST)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            got += chunk
    return got


def test_slow_answers_204_after_the_delay_and_keeps_the_connection():
    with misbehaving("slow", "--delay-s", "0.3") as port, httpx.Client() as client:
        for _ in range(2):
            started = time.monotonic()
            response = client.post(f"http://127.0.0.1:{port}/bet/settle", json={})
            assert response.status_code == 204
            assert time.monotonic() - started >= 0.3
        assert response.http_version == "HTTP/1.1"


def test_hang_reads_the_request_and_never_answers():
    with misbehaving("hang") as port:
        assert received_within(port, 0.5) == b""
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"http://127.0.0.1:{port}/bet/settle", json={}, timeout=0.3)


def test_trickle_sends_the_status_line_and_headers_a_byte_at_a_time_without_end():
    with misbehaving("trickle", "--interval-s", "0.05") as port:
        got = received_within(port, 1.0)
    assert b"HTTP/1.1 200 OK\r\nX-Trickle-0: 1\r\nX-Trickle-1: 1\r\n".startswith(got)
    assert 5 <= len(got) <= 25
    assert b"\r\n\r\n" not in got


def test_endless_sends_a_body_that_does_not_end():
    with misbehaving("endless", "--interval-s", "0.01") as port:
        with httpx.stream("POST", f"http://127.0.0.1:{port}/bet/settle", json={},
                          timeout=2) as response:
            assert response.status_code == 200
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size >= 10 * 1024:
                    break
    assert size >= 10 * 1024
