"""Run the ``callbacks`` command in this process: :func:`run_cli` is ``python -m callbacks
ARGS...`` without the second or two a new interpreter spends importing every package.

The call sees what a process would: the environment given (added to this process's, restored
after), its own standard input (empty unless given), its own standard output and error (with
the root logger writing to that error, as ``main()``'s ``basicConfig`` sets it up in a fresh
process), argparse's ``SystemExit`` and any crash turned into an exit code. Nothing it leaves
behind reaches the next call: the engines the command made are disposed, and the psycopg2 wait
callback, the signal handlers and the root logger's handlers are put back as they were.

A handful of tests still run the real process (marked ``slow``): ``--help``, ``db upgrade``,
a command reading stdin, an error's exit code, and whatever depends on the OS user.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg2.extensions

from callbacks import main as callbacks_main
from delivery import database

#: The signals a command may take over (the long-running ones do; none should be left set).
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Result:
    """What the command did, named like :class:`subprocess.CompletedProcess`'s fields so a
    test reads the same whichever ran it."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def code(self) -> int:
        return self.returncode


def run_cli(*args: str, stdin: str | bytes | None = None,
            env: Mapping[str, str | None] | None = None,
            cwd: str | Path | None = None) -> Result:
    """``callbacks ARGS...`` in this process. ``env`` is added to ``os.environ`` for the call
    (a value of None removes the variable); ``stdin`` is the command's standard input (text is
    encoded as UTF-8); ``cwd`` is the working directory during the call."""
    out, err = _stream(), _stream()
    with (_environment(env or {}), _working_directory(cwd), _engines_disposed(),
          _process_state_kept(), _root_logger_on(err)):
        sys_stdin = sys.stdin
        sys.stdin = _stream(stdin.encode() if isinstance(stdin, str) else stdin or b"")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = _exit_code(args)
        finally:
            sys.stdin = sys_stdin
    return Result(code, _text(out), _text(err))


def _exit_code(args: tuple[str, ...]) -> int:
    """What ``sys.exit(main(args))`` would end the process with."""
    try:
        raise SystemExit(callbacks_main.main(list(args)))
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except Exception:  # an uncaught error ends a process with its traceback and exit code 1
        traceback.print_exc()
        return 1


def _stream(data: bytes = b"") -> io.TextIOWrapper:
    """A text stream over bytes, as a process's standard streams are (``.buffer`` included)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8")


@contextlib.contextmanager
def _environment(env: Mapping[str, str | None]) -> Iterator[None]:
    saved = dict(os.environ)
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        # Only what differs is put back: the environment is never empty for a moment (threads
        # of the test, such as a server, may be reading it).
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        for name, value in saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


@contextlib.contextmanager
def _working_directory(cwd: str | Path | None) -> Iterator[None]:
    before = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _engines_disposed() -> Iterator[None]:
    """Every engine the command makes (all go through :func:`delivery.database.make_engine`)
    is disposed after it: a process's connections close when it exits; these would stay open
    (and keep the test database from being dropped)."""
    made = []
    make_engine = database.make_engine

    def recording(*args, **kwargs):
        engine = make_engine(*args, **kwargs)
        made.append(engine)
        return engine

    database.make_engine = recording
    try:
        yield
    finally:
        database.make_engine = make_engine
        for engine in made:
            engine.dispose()


@contextlib.contextmanager
def _process_state_kept() -> Iterator[None]:
    """The psycopg2 wait callback (quick commands set one for the call) and the signal
    handlers are as they were after the call; a command that leaves its own fails the test."""
    wait_callback = psycopg2.extensions.get_wait_callback()
    handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}
    try:
        yield
    finally:
        left_callback = psycopg2.extensions.get_wait_callback()
        left_handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}
        psycopg2.extensions.set_wait_callback(wait_callback)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert left_callback is wait_callback, "the command left a psycopg2 wait callback set"
    assert left_handlers == handlers, "the command left its signal handlers set"


@contextlib.contextmanager
def _root_logger_on(err: io.TextIOWrapper) -> Iterator[None]:
    """The root logger with no handler during the call, so ``main()``'s ``basicConfig`` makes
    one writing to the command's standard error as in a new process; pytest's handlers and
    level come back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers = []
    try:
        yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers = handlers
        root.setLevel(level)
