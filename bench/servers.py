"""Processes the benchmarks start — servers on a free port of 127.0.0.1, the real
``callbacks worker`` — and how every one of them is stopped, even on Ctrl-C or an error."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from callbacks.demo import wait_listening

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args: list[str], timeout_s: float = 20.0,
                 env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Run ``python ARGS --port P`` quietly; its URL once it accepts connections."""
    port = free_port()
    process = subprocess.Popen([sys.executable, *args, "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=None if env is None else dict(os.environ, **env))
    if wait_listening(port, process, timeout_s):
        return process, f"http://127.0.0.1:{port}"
    process.kill()
    process.wait()
    raise SystemExit(f"{' '.join(args)} did not start within {timeout_s:g} s")


def start_receiver() -> tuple[subprocess.Popen, str]:
    """The platform that answers 204 at once (bench/fast_receiver.py under uvicorn)."""
    return start_server(["-m", "uvicorn", "bench.fast_receiver:app", "--log-level", "warning",
                         "--no-access-log"])


def start_misbehaving(mode: str) -> tuple[subprocess.Popen, str]:
    """bench/misbehaving.py playing ``mode`` (hang, trickle, slow, endless)."""
    return start_server([str(ROOT / "bench" / "misbehaving.py"), "--mode", mode])


def start_worker(database_url: str, *, processes: int | None = None,
                 threads: int | None = None, env: dict | None = None) -> subprocess.Popen:
    """``callbacks worker`` on the database, with the product's default settings unless
    ``processes``/``threads``/``env`` say otherwise (settings already in the environment, such
    as CALLBACKS_POLL_INTERVAL_S, pass through). Its output goes to ``worker_output(proc)``."""
    args = ["-m", "callbacks", "worker"]
    if processes is not None:
        args += ["--processes", str(processes)]
    if threads is not None:
        args += ["--threads", str(threads)]
    return start_logged(args, dict(env or {}, DATABASE_URL=database_url))


def start_logged(args: list[str], env: dict) -> subprocess.Popen:
    """``python ARGS`` with ``env`` added to ours (a BROKER_URL of ours removed: the PostgreSQL
    broker on DATABASE_URL unless ``env`` names one); its output goes to ``worker_output(proc)``."""
    full_env = dict(os.environ)
    full_env.pop("BROKER_URL", None)
    full_env.update(env)
    log = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=full_env, stdout=log,
                            stderr=subprocess.STDOUT, text=True)
    proc.log = log
    return proc


def worker_output(proc: subprocess.Popen, last_chars: int = 4000) -> str:
    proc.log.flush()
    proc.log.seek(0)
    return proc.log.read()[-last_chars:]


def process_tree(proc: subprocess.Popen) -> list[psutil.Process]:
    """The process and everything under it (the worker's Dramatiq processes run in a session
    of their own, so a signal to our process group does not reach them)."""
    try:
        top = psutil.Process(proc.pid)
        return [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stop(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """SIGTERM the process, give it ``grace_s`` to stop its children, then kill whatever of
    its tree is left."""
    tree = process_tree(proc)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    for p in tree:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait()


class Processes:
    """Everything a benchmark started; ``with Processes() as procs`` stops them all on exit,
    newest first, whatever ended the block."""

    def __init__(self):
        self.running: list[subprocess.Popen] = []

    def add(self, proc: subprocess.Popen) -> subprocess.Popen:
        self.running.append(proc)
        return proc

    def server(self, started: tuple[subprocess.Popen, str]) -> str:
        """Keep a ``start_*`` server; its URL."""
        self.add(started[0])
        return started[1]

    def stop(self, proc: subprocess.Popen, grace_s: float = 5.0) -> None:
        self.running.remove(proc)
        stop(proc, grace_s)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        while self.running:
            self.stop(self.running[-1])


def sigterm_exits() -> None:
    """Make SIGTERM end the benchmark like Ctrl-C does: through every ``finally``."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
