"""Foreground commands that supervise child processes: stop on Ctrl-C or SIGTERM, and stop
children politely before killing them."""
from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager

#: prctl option: the signal a process receives when the thread that started it exits.
_PR_SET_PDEATHSIG = 1


@contextmanager
def stop_on_signals():
    """An Event set by SIGINT or SIGTERM while the block runs; the old handlers come back after."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_processes(procs: list[subprocess.Popen], timeout_s: float) -> None:
    """SIGTERM each process that still runs (once: a second signal means "hurry" to many
    servers), so they stop in parallel; wait up to ``timeout_s`` for each, then kill it."""
    ask_to_stop(procs)
    wait_or_kill(procs, timeout_s)


def ask_to_stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each process that still runs (the first half of :func:`stop_processes`, for a
    caller with other things to stop meanwhile)."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)


def wait_or_kill(procs: list[subprocess.Popen], timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for each process, then kill it."""
    for proc in procs:
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_process(proc: subprocess.Popen, timeout_s: float) -> None:
    """:func:`stop_processes` for one process."""
    stop_processes([proc], timeout_s)


def ended_cleanly(proc: subprocess.Popen) -> bool:
    """True when the process exited 0 or by the SIGTERM it was sent."""
    return proc.returncode in (0, -signal.SIGTERM)


def die_with_parent() -> None:
    """For ``Popen(preexec_fn=...)``: the child receives SIGTERM when its parent dies, even by
    SIGKILL (Linux; elsewhere nothing happens and the child's own watch must notice)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
