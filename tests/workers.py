"""Start and stop a real ``callbacks worker`` (scheduler + Dramatiq processes) for tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import psutil

#: Settings that make a test worker react quickly.
FAST = {
    "CALLBACKS_POLL_INTERVAL_S": "0.05",
    "CALLBACKS_LEASE_MARGIN_S": "1",
    "CALLBACKS_DISPATCH_LEASE_S": "10",
    # A queue of this run's own: runs sharing RabbitMQ or Redis never take each other's messages.
    "CALLBACKS_QUEUE": f"callbacks_test_{uuid.uuid4().hex[:10]}",
}


class Worker:
    def __init__(self, database_url: str, broker_url: str | None = None, *, threads: int = 8,
                 processes: int = 1, env: dict | None = None,
                 args: tuple[str, ...] = ("--metrics-port", "0")):
        self.env = dict(os.environ, DATABASE_URL=database_url, **{**FAST, **(env or {})})
        self.env.pop("BROKER_URL", None)
        if broker_url:
            self.env["BROKER_URL"] = broker_url
        self.command = [sys.executable, "-m", "callbacks", "worker",
                        "--threads", str(threads), "--processes", str(processes), *args]
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile("w+", prefix="callbacks-worker-", suffix=".log")

    def start(self) -> Worker:
        self.proc = subprocess.Popen(self.command, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, text=True)
        return self

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def kill_all(self) -> None:
        """SIGKILL the worker and every process under it (a crash, not a shutdown)."""
        parent = psutil.Process(self.proc.pid)
        for proc in parent.children(recursive=True) + [parent]:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        self.proc.wait(timeout=10)

    def stop(self) -> str:
        """Stop cleanly; return what the worker printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill_all()
        return self.output()

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, exc_type, *exc):
        printed = self.stop()
        if exc_type is not None:
            print("--- worker output ---\n" + printed[-6000:])


def wait_for(condition, timeout_s: float, what: str, interval_s: float = 0.1):
    """Poll ``condition`` until it returns a truthy value; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
