"""The PostgreSQL broker (dramatiq-postgres), made to go on at once when the database is back.

dramatiq-postgres takes every connection from a psycopg_pool pool: its consumers (one
connection each, held), Dramatiq's threads acknowledging messages, the listener for its
``NOTIFY``, and whoever publishes. Left as the library makes it, that pool tries to reconnect
1, 2, 4, 8… s after the connection broke and gives an attempt up after 5 minutes; a client
waits 30 s for a connection, then the library's retries sleep up to 30 s more; a consumer that
fails is restarted by Dramatiq 3 s later. After a database outage the consumer sat out what was
left of those waits (10 s after a 20 s outage) before it took a message again.

Here instead:

- :class:`ReconnectingPool` tries to connect every :data:`RECONNECT_EVERY_S` for as long as a
  client waits, never giving up (psycopg_pool's ``reconnect_timeout`` plays no part: past it,
  the library's pool stops trying until a new client comes), and its clients wait for as long
  as the database cannot be reached (only a pool that is full while the database answers is an
  error). A dead connection found in the pool is replaced without the pool's growing sleeps.
  Whatever the outage's length, a waiting consumer, acknowledgement or publisher has a
  connection within about :data:`RECONNECT_EVERY_S` of the database accepting connections
  again.
- The schedule is set through psycopg_pool's ``_add_connection`` and ``AttemptWithBackoff``,
  its one place for it (not public API): ``tests/delivery/test_recovery.py`` fails if a new
  psycopg_pool changes them.
- :class:`Consumer` drops a connection that broke under it and asks the pool again instead of
  letting Dramatiq restart it 3 s later, and retries an acknowledgement that broke in the same
  way (Dramatiq would sleep 5 s between tries).
- The listener for ``NOTIFY`` wakes the consumers when it listens again, so that what was
  published before it did is taken at once rather than at the next poll.
- When the worker process stops, nothing waits for a database that cannot be reached any more:
  the consumers end, and an acknowledgement that cannot be made is left (the message is taken
  again once this worker counts as gone; claims done meanwhile are skipped by their leases).
"""
from __future__ import annotations

import logging
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import dramatiq
import psycopg
from dramatiq.errors import BrokerConnectionError
from dramatiq_postgres import PostgresBroker
from dramatiq_postgres.broker import Notifier, PostgresConsumer
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

log = logging.getLogger(__name__)

#: While the database cannot be reached, how often the pool tries to connect: when it is back,
#: the broker's clients have connections within this.
RECONNECT_EVERY_S = 0.25
#: How long a client waits for a connection before the pool looks whether the database answers
#: at all: if it does, the pool is full and the wait fails; if not, the client waits on.
POOL_WAIT_S = 30.0
#: A client waits in steps of this, each of which lets the pool grow again if an attempt gave up.
WAIT_STEP_S = 0.5
#: Longest one connection attempt may take (a server that accepts and never answers).
CONNECT_TIMEOUT_S = 5
#: Connections per process at most (as dramatiq-postgres's own default).
POOL_MAX = 16
#: psycopg_pool warns at every failed attempt; it is said once per this while the database is
#: away.
REPEAT_WARNING_S = 60.0


class _Reconnect(AttemptWithBackoff):
    """psycopg_pool's schedule of reconnection attempts, held at :data:`RECONNECT_EVERY_S`.

    The attempt that grows the pool for waiting clients (``forever``) never gives up; one that
    replaces a connection found dead gives up after a second try at once, leaving the pool to
    grow when a client needs it (this pool keeps no connection it was not asked for).
    """

    def __init__(self, forever: bool):
        super().__init__(timeout=float("inf") if forever else 0.0)

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_EVERY_S)


class ReconnectingPool(ConnectionPool):
    """A psycopg_pool pool that reconnects steadily and whose clients outwait an outage."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: Set when the process stops: from then on a client does not wait for a database that
        #: cannot be reached.
        self.stopping = threading.Event()

    def getconn(self, timeout: float | None = None) -> psycopg.Connection:
        """A checked connection; waits as long as the database cannot be reached, and raises
        :class:`PoolTimeout` after ``timeout`` (the pool's) only when every connection is out
        while it answers; :class:`PoolClosed` once the process stops and it cannot be
        reached."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                conn = super().getconn(max(0.01, min(WAIT_STEP_S, deadline - time.monotonic())))
            except PoolTimeout:
                if self.stopping.is_set() and not self._database_answers():
                    # PoolClosed, which dramatiq-postgres does not retry.
                    raise PoolClosed("the database cannot be reached and the process is "
                                     "stopping") from None
                if time.monotonic() < deadline:
                    continue
                if self._exhausted() and self._database_answers():
                    raise
                deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
                continue
            # Checked here rather than by the pool's ``check``, after whose every failure the
            # pool sleeps 1, 2, 4… s: an outage leaves one dead connection per idle one.
            try:
                ConnectionPool.check_connection(conn)
            except psycopg.Error:
                conn.close()
                self.putconn(conn)  # discarded; the pool connects again when a client waits
                continue
            return conn

    def _add_connection(self, attempt: AttemptWithBackoff | None,
                        growing: bool = False) -> None:
        # psycopg_pool passes one attempt object from try to try of a connection: the only
        # place to set its schedule.
        super()._add_connection(attempt or _Reconnect(forever=growing), growing=growing)

    def _exhausted(self) -> bool:
        # Every connection the pool may have is out (or being made): a client that waited its
        # timeout for one of them is the error psycopg_pool's PoolTimeout means. With room
        # left, the pool is connecting: a database that just came back, say.
        return self.get_stats()["pool_size"] >= self.max_size

    def _database_answers(self) -> bool:
        try:
            kwargs = {"connect_timeout": CONNECT_TIMEOUT_S, **(self.kwargs or {})}
            self.connection_class.connect(self.conninfo, **kwargs).close()
        except psycopg.Error:
            return False
        return True


def reconnecting_pool(url: str) -> ReconnectingPool:
    """The pool for the broker at ``url``, with dramatiq-postgres's connection settings (URL
    query parameters take precedence, as there)."""
    parts = urlsplit(url)
    kwargs = dict(parse_qsl(parts.query))
    kwargs.setdefault("application_name", "dramatiq-postgres")
    kwargs.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    # Notice a server that vanished without closing its connections (as dramatiq-postgres).
    kwargs.setdefault("keepalives", "1")
    kwargs.setdefault("keepalives_count", "2")
    kwargs.setdefault("keepalives_idle", "5")
    kwargs.setdefault("keepalives_interval", "2")
    if psycopg.pq.version() >= 120000:
        kwargs.setdefault("tcp_user_timeout", "10000")
    return ReconnectingPool(parts._replace(query="").geturl(), kwargs=kwargs, min_size=0,
                            max_size=POOL_MAX, timeout=POOL_WAIT_S, open=True)


class Consumer(PostgresConsumer):
    """dramatiq-postgres's consumer; a connection that breaks under it costs no restart."""

    def __next__(self):
        try:
            return super().__next__()
        except BrokerConnectionError as exc:
            if self.pool.closed:
                raise
            if not self.pool.stopping.is_set():
                log.warning("the broker's connection broke (%s); taking another", exc)
            self._drop_connection()
            # Dramatiq asks again at once (or ends the consumer when it stops); the pool waits
            # for the database (or, when the process stops, a step of WAIT_STEP_S).
            return None

    def ack(self, message) -> None:
        self._until_done(super().ack, message)

    def nack(self, message) -> None:
        self._until_done(super().nack, message)

    def _until_done(self, settle, message) -> None:
        # Settling a message again is harmless (it deletes or rejects it once); the pool's wait
        # covers an outage, so a try fails only when a connection breaks during it.
        while True:
            try:
                return settle(message)
            except BrokerConnectionError as exc:
                if self.pool.closed:
                    raise
                if self.pool.stopping.is_set():
                    # Dramatiq would try every 5 s for ever, and the process never stop.
                    log.warning("could not settle message %s while stopping (%s); it is taken "
                                "again once this worker counts as gone, and claims done "
                                "meanwhile are skipped", message.message_id, exc)
                    return
                log.warning("settling message %s failed (%s); trying again", message.message_id,
                            exc)
                time.sleep(RECONNECT_EVERY_S)

    def _drop_connection(self) -> None:
        conn, self._consume_conn = self._consume_conn, None
        if conn is not None:
            conn.close()
            self.pool.putconn(conn)


class _WakingNotifier(Notifier):
    """dramatiq-postgres's listener for ``NOTIFY``, which wakes every consumer when it listens
    again after its connection broke: what was published meanwhile was announced to no one, and
    the consumers would find it only at their next poll (up to a second later)."""

    def ensure_conn(self):
        listening_again = self.conn is None
        conn = super().ensure_conn()
        if listening_again:
            with self.lock:
                events = [event for events in self.subscriptions.values() for event in events]
            for event in events:
                event.set()
        return conn


class _StopWaiting(dramatiq.Middleware):
    """Tells the pool when the worker process begins to stop."""

    def before_worker_shutdown(self, broker, worker):
        broker.pool.stopping.set()


class Broker(PostgresBroker):
    """dramatiq-postgres's broker on a :class:`ReconnectingPool` (which it closes), with
    :class:`Consumer`\\ s."""

    def __init__(self, url: str):
        super().__init__(pool=reconnecting_pool(url), results=False)
        self.notifier = _WakingNotifier(self.pool)  # the library's is not started yet
        self.add_middleware(_StopWaiting())

    def consume(self, queue_name, prefetch=1, timeout=30000):
        return Consumer(broker=self, queue_name=queue_name, prefetch=prefetch, timeout=timeout)

    def close(self) -> None:
        super().close()
        self.pool.close()


def postgres_broker(url: str) -> Broker:
    """The PostgreSQL broker on the database at the libpq ``url``."""
    return Broker(url)


class _RepeatedWarnings(logging.Filter):
    """Quiets psycopg_pool's warnings per reconnection attempt: a failed attempt is said once
    per :data:`REPEAT_WARNING_S` (the pool tries several times a second), and an attempt given
    up not at all (here only one replacing a dead connection gives up, at once, by design; the
    message would name the 5 minutes this pool does not use)."""

    def __init__(self):
        super().__init__()
        self._said_at = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("reconnection attempt in pool"):
            return False
        if not message.startswith("error connecting in"):
            return True
        now = time.monotonic()
        if now - self._said_at < REPEAT_WARNING_S:
            return False
        self._said_at = now
        return True


logging.getLogger("psycopg.pool").addFilter(_RepeatedWarnings())
