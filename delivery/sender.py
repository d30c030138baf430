"""The only module that speaks HTTP: one attempt at one callback.

An attempt has two halves so that it can be recorded before the request goes out:
:func:`delivery.requests.prepare` fixes its Request ID, start time, body and headers (a
:class:`~delivery.records.Sending`); ``send(sending, client)`` POSTs it, reads at most
``RESPONSE_BODY_CAP_BYTES`` of the answer, classifies it and returns an
:class:`~delivery.records.Attempt` — it never raises for anything the platform or the network
does. ``deliver_once`` does both. Tests pass an ``httpx.Client`` with a ``MockTransport``;
workers pass :func:`make_transport`, whose connections enforce the brand's timeout as one overall
deadline per request (connect, headers and body together), even against a platform that trickles
one byte a second.

The request is exactly what :func:`delivery.requests.build_headers` and the body say (plus Host
and Content-Length): no client-wide default headers, no cookie jar — a platform's Set-Cookie is
never replayed on other callbacks — and redirects are not followed.

``send_async(sending, pool)`` is the same on an event loop, the worker's path (see
:class:`delivery.worker.SendLoop`): HTTP/1.1 spoken with h11 over asyncio streams, through an
:class:`AsyncPool` of kept-alive connections per brand, the timeout one overall deadline kept by
cancellation. ``send`` serves the tools that send one request at a time (``callbacks
test-urls``, the battery, tests).
"""
from __future__ import annotations

import asyncio
import ssl
import threading
import time
from datetime import UTC, datetime
from functools import cache, lru_cache

import h11
import httpcore
import httpx

import contract

from .decisions import classify, parse_retry_after
from .records import Attempt, OutgoingCallback, Sending
from .requests import prepare, redact_headers


@lru_cache(maxsize=4096)
def _url(url: str) -> httpx.URL:
    """A platform URL parsed once (a brand has a handful; parsing cost a twentieth of a
    request's CPU)."""
    return httpx.URL(url)


def deliver_once(callback: OutgoingCallback, client: httpx.Client) -> Attempt:
    """Prepare and send one attempt (for callers that record it afterwards)."""
    return send(prepare(callback), client)


def send(sending: Sending, client: httpx.Client | httpx.BaseTransport) -> Attempt:
    """Send a prepared attempt and classify the answer. Redirects are not followed.

    ``client`` is a transport (the worker's, from :func:`make_transport`: nothing between the
    request and the connection pool) or a client (tools and tests).
    """
    callback = sending.callback
    body, headers = sending.body, sending.headers
    clock = time.perf_counter()
    _deadline.at = time.monotonic() + callback.timeout_s
    status = None
    response_headers = None
    raw = b""
    truncated = False
    transport_error = detail = None
    try:
        request = httpx.Request("POST", _url(callback.url), content=body, headers=headers,
                                extensions={"timeout": httpx.Timeout(callback.timeout_s).as_dict()})
        if isinstance(client, httpx.BaseTransport):
            response = client.handle_request(request)
        else:
            response = client.send(request, stream=True, follow_redirects=False)
        try:
            status = response.status_code
            response_headers = dict(response.headers)
            raw, truncated = _read_capped(response, clock + callback.timeout_s)
        finally:
            response.close()
    except _Deadline:
        transport_error, detail = "timeout", (
            f"the response body was still arriving after {callback.timeout_s:g} s")
        status = None
    except httpx.TimeoutException as exc:
        transport_error, detail = "timeout", f"{type(exc).__name__} after {callback.timeout_s:g} s"
    except httpx.ConnectError as exc:
        is_tls = isinstance(exc.__context__, ssl.SSLError) or "SSL" in str(exc)
        transport_error, detail = ("tls" if is_tls else "connect"), _describe(exc)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        transport_error, detail = "connect", f"cannot send to {callback.url}: {exc}"
    except httpx.HTTPError as exc:
        transport_error, detail = "protocol", _describe(exc)
    finally:
        _deadline.at = None
    return _attempt(sending, clock, status, response_headers, raw, truncated, transport_error,
                    detail)


def _attempt(sending: Sending, clock: float, status: int | None, response_headers: dict | None,
             raw: bytes, truncated: bool, transport_error: str | None,
             detail: str | None) -> Attempt:
    """What came of a request sent at ``clock`` (``perf_counter``), classified."""
    callback, attempt_id, started_at = sending.callback, sending.id, sending.started_at
    duration_ms = (time.perf_counter() - clock) * 1000
    finished_at = datetime.now(UTC)

    if transport_error:
        outcome = classify(callback.destination, None, transport_error=transport_error,
                           transport_detail=detail)
        status = response_headers = None
        raw, truncated = b"", False
    else:
        outcome = classify(callback.destination, status, raw, truncated=truncated)
    retry_after = None
    if status == 429 and response_headers:
        retry_after = parse_retry_after(response_headers.get("retry-after"), finished_at)
    return Attempt(
        id=attempt_id, callback=callback, started_at=started_at, finished_at=finished_at,
        duration_ms=round(duration_ms, 3),
        request_headers=sending.stored_headers,
        outcome=outcome, response_status=status,
        response_headers=redact_headers(response_headers, callback.mask),
        response_body=raw.decode("utf-8", errors="replace") if raw else None,
        response_truncated=truncated, retry_after_s=retry_after,
    )


# --- on an event loop ---------------------------------------------------------------------------
# A worker keeps hundreds of requests in flight over many brands: one event loop sends them,
# over HTTP/1.1 spoken with h11 on asyncio streams. Measured against a platform that answers at
# once (bench/bench_send_cpu.py), a request cost about half the CPU of httpx's transport in a
# thread, and a seventh of httpx's own asyncio transport.

class AsyncPool:
    """Kept-alive connections to one brand's platform, for :func:`send_async`. No more are
    opened than requests are in flight at once (the caller bounds those)."""

    def __init__(self, keep: int):
        self.keep = keep
        self._idle: dict[tuple[str, str, int], list[tuple]] = {}

    async def connect(self, url: httpx.URL, *, reuse: bool = True) -> tuple[tuple, bool]:
        """A connection to ``url``'s origin, kept-alive (unless ``reuse`` is False) or new;
        whether it was kept-alive."""
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        idle = self._idle.get(origin) if reuse else None
        while idle:
            conn = idle.pop()
            if not conn[0].at_eof() and not conn[1].is_closing():
                return conn, True
            conn[1].close()
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        tls = url.scheme == "https"
        reader, writer = await asyncio.open_connection(
            origin[1], origin[2], ssl=_tls_context() if tls else None,
            server_hostname=origin[1] if tls else None, limit=2 ** 20)
        return (reader, writer, h11.Connection(h11.CLIENT), origin), False

    def give_back(self, conn: tuple) -> None:
        """Keep the connection for the next request when its exchange ended cleanly."""
        reader, writer, state, origin = conn
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.keep:
                idle.append(conn)
                return
        writer.close()

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn[1].close()
        self._idle.clear()


class _Disconnected(Exception):
    """A kept-alive connection was closed by the platform before it answered (it had closed
    it while idle): the request is sent again once, on a new connection."""


async def send_async(sending: Sending, pool: AsyncPool) -> Attempt:
    """:func:`send` on an event loop, through ``pool``: the same request and the same
    classification. The brand's timeout is one overall deadline for connecting, sending and the
    whole answer, kept by cancelling whatever is under way when it passes. A kept-alive
    connection the platform had closed is replaced once, before anything was answered."""
    callback = sending.callback
    clock = time.perf_counter()
    answer: tuple = (None, None, b"", False)
    transport_error = detail = None
    url = _url(callback.url)
    try:
        async with asyncio.timeout(callback.timeout_s):
            try:
                answer = await _exchange(sending, url, pool, reuse=True)
            except _Disconnected:
                answer = await _exchange(sending, url, pool, reuse=False)
    except TimeoutError:
        transport_error = "timeout"
        detail = f"no complete answer within {callback.timeout_s:g} s"
    except ssl.SSLError as exc:
        transport_error, detail = "tls", f"{type(exc).__name__}: {exc}"
    except httpx.UnsupportedProtocol as exc:
        transport_error, detail = "connect", f"cannot send to {callback.url}: {exc}"
    except (h11.RemoteProtocolError, h11.LocalProtocolError) as exc:
        transport_error, detail = "protocol", f"RemoteProtocolError: {exc}"
    except OSError as exc:
        transport_error, detail = "connect", f"ConnectError: {exc.strerror or exc}"
    status, headers, raw, truncated = answer
    if transport_error:
        status = headers = None
    return _attempt(sending, clock, status, headers, raw, truncated, transport_error, detail)


async def _exchange(sending: Sending, url: httpx.URL, pool: AsyncPool, *, reuse: bool) -> tuple:
    """One request and its answer: ``(status, headers, body, truncated)``. Raises
    :class:`_Disconnected` when a kept-alive connection turns out closed before any answer."""
    conn, kept = await pool.connect(url, reuse=reuse)
    try:
        return await _over(conn, kept, sending, url, pool)
    except (ConnectionResetError, BrokenPipeError) as exc:
        if kept and conn[2].their_state in (h11.IDLE, h11.SEND_RESPONSE):
            raise _Disconnected() from exc
        raise


async def _over(conn: tuple, kept: bool, sending: Sending, url: httpx.URL,
                pool: AsyncPool) -> tuple:
    """The request over ``conn`` and the answer read back (see :func:`_exchange`)."""
    reader, writer, state, _ = conn
    try:
        host = url.host if url.port is None else f"{url.host}:{url.port}"
        headers = [("Host", host), *sending.headers.items(),
                   ("Content-Length", str(len(sending.body)))]
        # One write, so one system call for the whole request (each write of an empty buffer
        # is sent at once).
        request = state.send(h11.Request(method="POST", target=url.raw_path, headers=headers))
        if sending.body:
            request += state.send(h11.Data(data=sending.body))
        writer.write(request + state.send(h11.EndOfMessage()))
        await writer.drain()
        status, response_headers, chunks, size = None, None, [], 0
        cap = contract.RESPONSE_BODY_CAP_BYTES
        while True:
            event = state.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                if not data and status is None and kept:
                    raise _Disconnected()
                state.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                raise h11.RemoteProtocolError(
                    "the platform closed the connection without sending a response"
                    if status is None else "the platform closed the connection in the middle "
                    "of the answer")
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                response_headers = _header_dict(event.headers)
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
                size += len(event.data)
                if size > cap:
                    writer.close()
                    return status, response_headers, b"".join(chunks)[:cap], True
            elif isinstance(event, h11.EndOfMessage):
                pool.give_back(conn)
                return status, response_headers, b"".join(chunks), False
    except BaseException:
        writer.close()
        raise


def _header_dict(raw: list) -> dict[str, str]:
    """Response headers as :func:`send` stores them: lower-case names, values of a name
    repeated joined with a comma."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


class _Deadline(Exception):
    pass


def _read_capped(response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
    """At most the cap of the body; True when more was sent. Stops at the deadline."""
    cap = contract.RESPONSE_BODY_CAP_BYTES
    chunks = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks)[:cap], True
        if time.perf_counter() > deadline:
            raise _Deadline()
    return b"".join(chunks), False


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


# --- an overall deadline per request ---------------------------------------------------------
# httpx's timeouts bound each socket operation, so a platform that sends one header byte a
# second never trips them. The worker's connections consult the calling thread's deadline on
# every connect, read and write instead, and give each the time that is left.

_deadline = threading.local()


def _remaining(timeout: float | None, error: type[Exception]) -> float | None:
    deadline = getattr(_deadline, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the request's overall deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _remaining(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return _DeadlineStream(self._stream.start_tls(
            ssl_context, server_hostname, _remaining(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self):
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return _DeadlineStream(self._backend.connect_tcp(
            host, port, _remaining(timeout, httpcore.ConnectTimeout), local_address,
            socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _DeadlineStream(self._backend.connect_unix_socket(
            path, _remaining(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


@cache
def _tls_context() -> ssl.SSLContext:
    """One certificate store for every client: loading it costs tens of milliseconds and about
    a megabyte, and a worker makes a client per sending thread."""
    return ssl.create_default_context()


def make_transport(max_connections: int) -> httpx.HTTPTransport:
    """A connection pool for workers: connections kept alive, one overall deadline per
    request. :func:`send` hands requests straight to it — an ``httpx.Client`` around it would add
    a cookie jar and default headers the platform must not get, at a tenth of a request's CPU."""
    transport = httpx.HTTPTransport(verify=_tls_context(), limits=httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections))
    # httpx has no public seam for httpcore's network backend; the pool reads this attribute
    # on every new connection (tests/delivery/test_sender.py proves the deadline holds).
    transport._pool._network_backend = _DeadlineBackend()
    return transport
