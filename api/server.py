"""The producer API's HTTP server: uvicorn with a read timeout and connection limits.

uvicorn's keep-alive timeout only covers the idle time between requests; nothing bounds how
long a client may take to send a request's headers or body, so slow clients (a slowloris)
could hold connections, and file descriptors, for ever. Here:

- :class:`GuardedH11Protocol` (uvicorn's h11 protocol) gives every request
  :attr:`Limits.read_timeout_s` from its first byte (or from the connection's opening) until
  its headers and body are read; a request still incomplete then gets a ``408`` and its
  connection is closed, with one INFO line naming the peer and what was missing.
- :class:`ConnectionGuard` closes at once a connection beyond
  :attr:`Limits.max_connections_per_address` from one address, or beyond
  :attr:`Limits.max_connections` in all (those get a ``503``), logging at most one line per
  address (or for the total) per :data:`REFUSAL_LOG_INTERVAL_S`.
- :func:`prepare` raises the open-files limit to its hard limit and keeps the total below it,
  so ``accept()`` does not run out of file descriptors; when it does anyway (something else
  took them), :class:`QuietAcceptErrors` says so once per interval instead of thousands of
  times a second.

:class:`GuardedServer` puts it together; :func:`serve` runs the app on a bound socket with it.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from delivery.errors import ConfigurationError

log = logging.getLogger(__name__)

#: Seconds a request's headers and body may take to arrive, unless configured.
DEFAULT_READ_TIMEOUT_S = 30.0
#: Open connections in all, unless configured (lowered to fit the open-files limit).
DEFAULT_MAX_CONNECTIONS = 1000
#: Open connections from one client address, unless configured (0: no such limit).
DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 100
#: File descriptors kept free of client connections: the database pool, the listening socket,
#: the event loop's own, logs.
FD_RESERVE = 100
#: At most one line per address (and one for the total) about refused connections this often.
REFUSAL_LOG_INTERVAL_S = 10.0
#: On shutdown, requests still running get this long to finish.
GRACEFUL_SHUTDOWN_S = 5

#: Environment variables of the settings, read when the command line does not give them.
READ_TIMEOUT_ENV = "CALLBACKS_API_READ_TIMEOUT_S"
MAX_CONNECTIONS_ENV = "CALLBACKS_API_MAX_CONNECTIONS"
PER_ADDRESS_ENV = "CALLBACKS_API_MAX_CONNECTIONS_PER_ADDRESS"

#: Key of ``scope["state"]`` (``request.state``) set when the server closed a request's
#: connection because its body was late, so the app does not report it as a client gone.
READ_TIMED_OUT = "read_timed_out"


def _closing_answer(status: str, body: str, *headers: str) -> bytes:
    """A whole HTTP/1.1 answer written straight to a connection about to be closed."""
    lines = [f"HTTP/1.1 {status}", "content-type: text/plain; charset=utf-8", *headers,
             "connection: close", f"content-length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("ascii")


_TIMEOUT_408 = _closing_answer("408 Request Timeout", "the request did not arrive in time")
_BUSY_503 = _closing_answer("503 Service Unavailable", "too many connections; try again soon",
                            "retry-after: 1")


@dataclass(frozen=True)
class Limits:
    """How long a request may take to arrive and how many connections are held."""
    #: Seconds from a request's first byte (or the connection's opening) to its last.
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    #: Open connections in all; more are answered 503 and closed.
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    #: Open connections from one address; more are closed at once (0: no such limit).
    max_connections_per_address: int = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS
    #: The process's open-files limit once raised (None: not looked at).
    open_files: int | None = None


# --- settings -------------------------------------------------------------------------------

def add_options(parser: argparse.ArgumentParser) -> None:
    """The server's options of ``callbacks api``; each falls back to its environment
    variable, then to its default."""
    parser.add_argument("--read-timeout-s", type=float, metavar="S",
                        help="seconds a request's headers and body may take to arrive; a "
                             "slower one gets 408 and its connection is closed "
                             f"(default: {READ_TIMEOUT_ENV} or {DEFAULT_READ_TIMEOUT_S:g})")
    parser.add_argument("--max-connections", type=int, metavar="N",
                        help="open connections in all; more get 503 (default: "
                             f"{MAX_CONNECTIONS_ENV} or {DEFAULT_MAX_CONNECTIONS}, lowered to "
                             "fit the open-files limit)")
    parser.add_argument("--max-connections-per-address", type=int, metavar="N",
                        help="open connections from one client address; more are closed at "
                             "once, 0 for no such limit (behind a proxy that is the proxy's "
                             f"address) (default: {PER_ADDRESS_ENV} or "
                             f"{DEFAULT_MAX_CONNECTIONS_PER_ADDRESS})")


def limits_from(args: argparse.Namespace, env: os._Environ | dict | None = None) -> Limits:
    """The limits the command line, else the environment, else the defaults give; a bad value
    is a ConfigurationError naming the option and the variable."""
    env = os.environ if env is None else env
    read_timeout_s = _setting(args.read_timeout_s, env, READ_TIMEOUT_ENV, "--read-timeout-s",
                              DEFAULT_READ_TIMEOUT_S, float, minimum=0.001)
    total = _setting(args.max_connections, env, MAX_CONNECTIONS_ENV, "--max-connections",
                     DEFAULT_MAX_CONNECTIONS, int, minimum=1)
    per_address = _setting(args.max_connections_per_address, env, PER_ADDRESS_ENV,
                           "--max-connections-per-address",
                           DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, int, minimum=0)
    return Limits(read_timeout_s, total, per_address)


def _setting(given, env, variable: str, option: str, default, kind: type, *, minimum):
    if given is None:
        raw = (env.get(variable) or "").strip()
        if not raw:
            return default
        try:
            given = kind(raw)
        except ValueError:
            raise ConfigurationError(f"{variable}={raw!r} is not a "
                                     f"{'whole number' if kind is int else 'number'}; set it to "
                                     f"at least {minimum:g} or unset it for {default:g}"
                                     ) from None
    if not given >= minimum:  # NaN too
        raise ConfigurationError(f"{option} (or {variable}) is {given:g}; it must be at least "
                                 f"{minimum:g}")
    return given


def prepare(limits: Limits) -> Limits:
    """Raise the soft open-files limit to the hard one and fit the total connections in it:
    the limits the server will use."""
    return fit(limits, raise_open_files_limit())


def fit(limits: Limits, open_files: int) -> Limits:
    """``limits`` with the total connections lowered to leave :data:`FD_RESERVE` of
    ``open_files`` free (and at least 1)."""
    room = max(1, open_files - FD_RESERVE)
    return replace(limits, max_connections=min(limits.max_connections, room),
                   open_files=open_files)


def raise_open_files_limit() -> int:
    """Set the soft RLIMIT_NOFILE to the hard limit (where the system allows); the soft limit
    in force after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft if soft != resource.RLIM_INFINITY else wanted
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):
        return soft
    return wanted


def describe(limits: Limits) -> str:
    """The start-up line about the limits."""
    per_address = (f"{limits.max_connections_per_address:,} per address"
                   if limits.max_connections_per_address else "no limit per address")
    files = f" (open-files limit {limits.open_files:,})" if limits.open_files else ""
    return (f"requests must arrive within {limits.read_timeout_s:g} s; connections: at most "
            f"{limits.max_connections:,}{files}, {per_address}")


# --- connections ----------------------------------------------------------------------------

class Refusal(Enum):
    """Why a new connection is closed at once."""
    #: Its address holds Limits.max_connections_per_address already.
    PER_ADDRESS = "per_address"
    #: The server holds Limits.max_connections already.
    TOTAL = "total"


class ConnectionGuard:
    """Counts open connections in all and per address; decides whether a new one is held."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.total = 0
        self.by_address: dict[str, int] = {}
        self._clock = clock
        #: Per address (None: the total), when its last line was logged and refusals since.
        self._refusals: dict[str | None, tuple[float, int]] = {}

    def admit(self, address: str) -> Refusal | None:
        """Count a new connection from ``address`` and return None, or say why it is refused
        (and count nothing)."""
        held = self.by_address.get(address, 0)
        per_address = self.limits.max_connections_per_address
        if per_address and held >= per_address:
            self._refused(address, f"{address} holds {held:,} connections already, the most "
                                   "one address may (--max-connections-per-address)")
            return Refusal.PER_ADDRESS
        if self.total >= self.limits.max_connections:
            self._refused(None, f"the server holds {self.total:,} connections already, the "
                                "most it may (--max-connections); answering 503")
            return Refusal.TOTAL
        self.by_address[address] = held + 1
        self.total += 1
        return None

    def release(self, address: str) -> None:
        """A connection :meth:`admit` counted is closed."""
        self.total -= 1
        held = self.by_address[address] - 1
        if held:
            self.by_address[address] = held
        else:
            del self.by_address[address]

    def _refused(self, key: str | None, why: str) -> None:
        now = self._clock()
        last, since = self._refusals.get(key, (None, 0))
        if last is not None and now - last < REFUSAL_LOG_INTERVAL_S:
            self._refusals[key] = (last, since + 1)
            return
        more = (f" ({since:,} more refused in the last {now - last:.0f} s)"
                if last is not None and since else "")
        log.warning("refused a connection: %s%s", why, more)
        self._refusals[key] = (now, 0)
        if len(self._refusals) > 10_000:  # forget quiet addresses, not the total's line
            self._refusals = {k: v for k, v in self._refusals.items()
                              if k is None or now - v[0] < REFUSAL_LOG_INTERVAL_S}


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on reading each request and the connection
    limits of a :class:`ConnectionGuard`. Make one per server with :func:`protocol_for`.

    The deadline is armed when the connection opens and when a request's first bytes arrive,
    and disarmed once the whole request is read: a request that arrives in one piece on a
    kept-alive connection never starts a timer."""

    guard: ClassVar[ConnectionGuard]
    read_timeout_s: ClassVar[float]

    _deadline: asyncio.TimerHandle | None = None
    _address: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._address = _host(transport.get_extra_info("peername"))
        super().connection_made(transport)
        self._deadline = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._address is not None:  # admitted by the guard's listener: counted
            self.guard.release(self._address)
            self._address = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_request()  # a pipelined request may be under way already

    def _watch_request(self) -> None:
        state = self.conn.their_state
        reading = state is h11.SEND_BODY or (state is h11.IDLE and bool(self.conn.trailing_data[0]))
        if reading:
            if self._deadline is None:
                self._deadline = self.loop.call_later(self.read_timeout_s, self._read_timed_out)
        elif self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _read_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:
            # The app has not taken the body that came: the wait is not the client's.
            self._deadline = self.loop.call_later(self.read_timeout_s, self._read_timed_out)
            return
        cycle = self.cycle if self.conn.their_state is h11.SEND_BODY else None
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        if cycle is not None:
            missing = f"the body of {cycle.scope['method']} {cycle.scope['path']} did not arrive"
            cycle.scope.setdefault("state", {})[READ_TIMED_OUT] = True
        elif self.conn.trailing_data[0]:
            missing = "the headers of its request did not arrive"
        else:
            missing = "no request came"
        log.info("closed the connection of %s: %s within %g s", peer, missing,
                 self.read_timeout_s)
        if cycle is None or not cycle.response_started:
            self.transport.write(_TIMEOUT_408)
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


def protocol_for(guard: ConnectionGuard, read_timeout_s: float) -> type[GuardedH11Protocol]:
    """A protocol class (for ``uvicorn.Config(http=...)``) bound to ``guard``."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,),
                {"guard": guard, "read_timeout_s": read_timeout_s})


class GuardedListener(socket.socket):
    """The listening socket, whose ``accept()`` (what asyncio's event loop calls) counts each
    connection with :attr:`guard` and closes at once those it refuses, so a refused connection
    holds its file descriptor for microseconds, not until the event loop gets to it (the loop
    accepts up to a backlog's worth of connections before any of them starts)."""

    guard: ConnectionGuard

    #: Refusals in one accept() call before the event loop gets its turn back.
    MAX_REFUSALS_PER_CALL = 64

    @classmethod
    def around(cls, sock: socket.socket, guard: ConnectionGuard) -> GuardedListener:
        """A listener on a copy of ``sock``'s file descriptor (``sock`` stays the caller's)."""
        listener = cls(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
        listener.guard = guard
        return listener

    def accept(self):
        for _ in range(self.MAX_REFUSALS_PER_CALL):
            conn, peer = super().accept()  # BlockingIOError when none waits: asyncio stops
            refusal = self.guard.admit(_host(peer))
            if refusal is None:
                return conn, peer
            if refusal is Refusal.TOTAL:
                try:
                    conn.setblocking(False)
                    conn.send(_BUSY_503)  # fits a new connection's empty send buffer
                except OSError:
                    pass
            conn.close()
        raise BlockingIOError  # the rest on the loop's next turn


def _host(peer) -> str:
    """The address part of a peer name (the whole of it for other families)."""
    return peer[0] if isinstance(peer, tuple) else str(peer or "")


# --- accept() errors ------------------------------------------------------------------------

#: asyncio's message when accept() finds no file descriptor (or memory) left.
_ACCEPT_EXHAUSTED = "socket.accept() out of system resource"


class QuietAcceptErrors:
    """An event loop exception handler: asyncio's "accept() out of system resource" (logged
    for every attempt, thousands a second when the open-files limit is reached) becomes one
    WARNING per interval with a count; everything else goes to the default handler."""

    def __init__(self, interval_s: float = REFUSAL_LOG_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.interval_s = interval_s
        self._clock = clock
        self._last: float | None = None
        self._since = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        if context.get("message") != _ACCEPT_EXHAUSTED:
            loop.default_exception_handler(context)
            return
        now = self._clock()
        if self._last is not None and now - self._last < self.interval_s:
            self._since += 1
            return
        more = f" ({self._since:,} more in the last {now - self._last:.0f} s)" \
            if self._last is not None and self._since else ""
        log.warning("cannot accept connections: %s; new clients wait until connections close "
                    "(raise the open-files limit or lower --max-connections)%s",
                    context.get("exception"), more)
        self._last, self._since = now, 0


# --- serving --------------------------------------------------------------------------------

class GuardedServer(uvicorn.Server):
    """uvicorn serving ``app`` with ``limits``: :class:`GuardedH11Protocol` on a
    :class:`GuardedListener` of each socket, accept() errors quieted. ``run(sockets=[sock])``
    serves until Ctrl-C, SIGTERM or ``should_exit``."""

    def __init__(self, app, limits: Limits, *, log_level: str = "info"):
        self.limits = limits
        self.guard = ConnectionGuard(limits)
        # The asyncio loop, never uvloop: the listener's accept() is where connections are
        # counted, and uvloop accepts without calling it. No WebSocket upgrades: the API has
        # no such route, and an upgraded connection would leave the protocol uncounted.
        super().__init__(uvicorn.Config(
            app, lifespan="off", log_level=log_level, loop="asyncio", ws="none",
            http=protocol_for(self.guard, limits.read_timeout_s),
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S))

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        if not sockets:
            raise ValueError("GuardedServer serves listening sockets it is given")
        asyncio.get_running_loop().set_exception_handler(QuietAcceptErrors())
        await super().serve(sockets=[GuardedListener.around(s, self.guard) for s in sockets])


def serve(app, sock: socket.socket, limits: Limits) -> None:
    """Serve ``app`` on the listening ``sock`` with ``limits`` (from :func:`prepare`) until
    Ctrl-C or SIGTERM; our INFO lines (timeouts, clients gone) are shown."""
    logging.getLogger("api").setLevel(logging.INFO)
    GuardedServer(app, limits).run(sockets=[sock])
