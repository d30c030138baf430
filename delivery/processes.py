"""Foreground commands that supervise child processes: stop on Ctrl-C or SIGTERM, and stop
children politely before killing them."""
from __future__ import annotations

import signal
import subprocess
import threading
from contextlib import contextmanager


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


def stop_process(proc: subprocess.Popen, timeout_s: float) -> None:
    """SIGTERM the process if it still runs, wait up to ``timeout_s``, then kill it."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def ended_cleanly(proc: subprocess.Popen) -> bool:
    """True when the process exited 0 or by the SIGTERM it was sent."""
    return proc.returncode in (0, -signal.SIGTERM)
