"""Giving up on database work that a stalled server never answers.

A frozen server (its processes stopped, its host paused) still has its kernel acknowledge TCP,
so neither keep-alives nor ``tcp_user_timeout`` fire, and its own ``statement_timeout`` cannot
fire either: a statement simply waits as long as the freeze lasts. A caller that must answer in
bounded time runs its database work in a thread as a :class:`Work` of a :class:`Watch`, and
gives up on it when its deadline passes: :meth:`Work.abandon` shuts the sockets of the
connections the thread holds, so the thread's statement fails at once with a lost connection —
SQLAlchemy then discards the connection instead of pooling it — rather than finishing, perhaps
committing, long after the caller has answered. (Shutting a socket down, unlike closing it,
leaves its descriptor valid in the thread that uses it.)

A pooled connection that waits for a frozen server stalls in the pool's check before use (the
pre-ping) as well, before SQLAlchemy's ``checkout`` event names it. So a watched engine is made
with ``pre_ping=False`` and the watch pings each connection it hands to a :class:`Work` itself,
once it has noted which work holds it.

Processes whose database work runs in their main thread (the back-office, short commands) give
up instead through psycopg2's wait callback (:func:`quiet_limit`): every wait for the server —
a statement, the making of a connection — ends with an OperationalError once the server has
sent nothing for a while, and psycopg2 closes the connection, which SQLAlchemy then discards as
lost. The callback is process-wide and puts psycopg2 in "green" mode, which refuses COPY
(``copy_expert``) — hence never in the delivery worker, the API or any command that seeds or
queues (their paths may COPY), and it costs a Python call per wait, which the worker's hot path
is not to pay.
"""
from __future__ import annotations

import os
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa

T = TypeVar("T")

#: The work the current thread runs for a :class:`Watch`, if any.
_current = threading.local()
#: One watch per engine.
_watches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Work:
    """One piece of database work run in a thread: the connections it holds, and whether its
    caller gave up on it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: list = []
        self.abandoned = False

    def hold(self, dbapi_connection) -> None:
        with self._lock:
            self._held.append(dbapi_connection)
            if self.abandoned:  # taken after its caller gave up: it is not to be used
                _shut(dbapi_connection)

    def release(self, dbapi_connection) -> None:
        with self._lock:
            if dbapi_connection in self._held:
                self._held.remove(dbapi_connection)

    def abandon(self) -> int:
        """Cut the connections this work holds (its statements fail as a lost connection);
        how many were cut. Connections it takes from now on are cut as they are taken."""
        with self._lock:
            self.abandoned = True
            return sum(_shut(c) for c in self._held)


class Watch:
    """Notes which :class:`Work` holds which connection of one engine."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        # An engine that pre-pings does it before the checkout event: the watch would not know
        # who waits on that ping, so it pings only for engines that do not ping themselves.
        self._ping = not getattr(engine.pool, "_pre_ping", False)
        sa.event.listen(engine, "checkout", self._checked_out)
        sa.event.listen(engine, "checkin", self._checked_in)

    def call(self, work: Work, fn: Callable[..., T], *args, **kwargs) -> T:
        """``fn(*args, **kwargs)`` in this thread, its connections held by ``work``."""
        _current.work = work
        try:
            return fn(*args, **kwargs)
        finally:
            _current.work = None

    def _checked_out(self, dbapi_connection, record, proxy) -> None:
        work: Work | None = getattr(_current, "work", None)
        if work is None:
            return
        record.info["stalls.work"] = work
        work.hold(dbapi_connection)
        if self._ping:
            self._ping_or_replace(dbapi_connection, work)

    def _ping_or_replace(self, dbapi_connection, work: Work) -> None:
        dialect = self.engine.dialect
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            work.release(dbapi_connection)
            if work.abandoned or not dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            # As the pool's own pre-ping: the server restarted, so every connection made
            # before now is stale; the pool makes a new one for this checkout.
            raise sa.exc.InvalidatePoolError(str(exc)) from exc

    def _checked_in(self, dbapi_connection, record) -> None:
        work = record.info.pop("stalls.work", None) if record is not None else None
        if work is not None and dbapi_connection is not None:
            work.release(dbapi_connection)


def watch(engine: sa.Engine) -> Watch:
    """The engine's :class:`Watch` (made, and its events listened to, on first use)."""
    found = _watches.get(engine)
    if found is None:
        found = _watches[engine] = Watch(engine)
    return found


def _shut(dbapi_connection) -> int:
    """Shut the connection's socket down both ways; 1 if it was open, else 0."""
    try:
        fileno = dbapi_connection.fileno()
    except Exception:  # closed already
        return 0
    duplicate = socket.socket(fileno=os.dup(fileno))
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        return 0
    finally:
        duplicate.close()
    return 1


#: How long a probe (:func:`accepts_connections`) waits for a new connection.
PROBE_CONNECT_TIMEOUT_S = 3


def quiet_wait(quiet_s: float, still_alive: Callable[[object], bool] | None = None):
    """A psycopg2 wait callback that gives up once the server has sent nothing for
    ``quiet_s`` (OperationalError). With ``still_alive(conn)``, a quiet server is asked first:
    while that says True — the statement is merely slow — the wait goes on."""

    def wait(conn) -> None:
        quiet_until = time.monotonic() + quiet_s
        while True:
            state = conn.poll()
            if state == psycopg2.extensions.POLL_OK:
                return
            fileno = conn.fileno()
            reading = state == psycopg2.extensions.POLL_READ
            if not reading and state != psycopg2.extensions.POLL_WRITE:
                raise psycopg2.OperationalError(f"unexpected poll state {state}")
            remaining_s = quiet_until - time.monotonic()
            if remaining_s > 0:
                ready = select.select([fileno] if reading else [],
                                      [] if reading else [fileno], [], remaining_s)
                if ready[0] or ready[1]:
                    quiet_until = time.monotonic() + quiet_s
                continue
            if still_alive is not None and still_alive(conn):
                quiet_until = time.monotonic() + quiet_s
                continue
            raise psycopg2.OperationalError(
                f"the database sent nothing for {quiet_s:g} s and does not accept a new "
                "connection either" if still_alive is not None else
                f"the database sent nothing for {quiet_s:g} s")

    return wait


def accepts_connections(conn) -> bool:
    """Whether the server of psycopg2 connection ``conn`` accepts a new connection and answers
    on it within :data:`PROBE_CONNECT_TIMEOUT_S` (made with psycopg 3, which the wait callback
    of psycopg2 does not reach)."""
    import psycopg

    params = dict(conn.get_dsn_parameters())
    if conn.info.password:
        params["password"] = conn.info.password
    params["connect_timeout"] = str(PROBE_CONNECT_TIMEOUT_S)
    try:
        # Made means the postmaster and a new backend answered: the server is not frozen.
        psycopg.connect(psycopg.conninfo.make_conninfo("", **params)).close()
        return True
    except psycopg.Error:
        return False


def give_up_when_quiet(quiet_s: float, *, probe: bool = False):
    """For the rest of this process, psycopg2 gives up on a server that sends nothing for
    ``quiet_s`` (with ``probe``: and does not accept a new connection either, so a slow
    statement goes on); the wait callback there was before."""
    before = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(
        quiet_wait(quiet_s, accepts_connections if probe else None))
    return before


@contextmanager
def quiet_limit(quiet_s: float, *, probe: bool = False) -> Iterator[None]:
    """psycopg2 gives up on a server that sends nothing for ``quiet_s`` while the block runs
    (with ``probe``: and that does not accept a new connection either, so a slow statement
    goes on); the wait callback there was before comes back after."""
    before = give_up_when_quiet(quiet_s, probe=probe)
    try:
        yield
    finally:
        psycopg2.extensions.set_wait_callback(before)
