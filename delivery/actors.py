"""Dramatiq worker entry point: ``dramatiq delivery.actors`` (``callbacks worker`` runs it).

Importing this module configures the broker from the environment. Messages are never retried by
Dramatiq: PostgreSQL decides what is due, and the scheduler's sweeper re-sends anything whose
lease ran out. The actors (bet callbacks, heartbeats) only hand their claims to the process's
:class:`~delivery.worker.DeliveryWorker` and returns, so a Dramatiq thread never waits on a
platform.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time

import dramatiq

from . import database, settings, stopping
from .broker import DELIVER_ACTOR, HEARTBEAT_ACTOR, make_broker
from .worker import DeliveryWorker

log = logging.getLogger(__name__)
# httpx logs every request at INFO, and Dramatiq runs its processes at INFO: a line per delivery
# through a lock every sending thread shares and a pipe to the parent process cost more CPU than
# the request itself. Every attempt is in the history already; warnings and errors still show.
logging.getLogger("httpx").setLevel(logging.WARNING)

#: How often a worker process checks that the process that started it still runs.
PARENT_CHECK_S = 1.0
#: How long an orphaned worker process may take to begin its stop, and to finish it beyond the
#: stop's grace period (``CALLBACKS_STOP_GRACE_S``), before it exits anyway.
ORPHAN_EXIT_S = 5.0

#: The process that started this one, and the ``callbacks worker`` that supervises both.
_PARENT_PID = os.getppid()
_SUPERVISOR_PID = int(os.environ.get("CALLBACKS_SUPERVISOR_PID") or 0) or None

_settings = settings.from_env()
_database_url = database.database_url(_settings)
_broker = make_broker(_settings.broker_url, _database_url)
dramatiq.set_broker(_broker)


#: Set when this process's graceful stop begins.
_stop_began = threading.Event()

_delivery_lock = threading.Lock()
_delivery_made: list[DeliveryWorker] = []


def _delivery() -> DeliveryWorker:
    """The process's one :class:`DeliveryWorker`, made by the first message. (Dramatiq's
    threads take their first messages at the same moment: without the lock each could make
    one, and the drain at shutdown stopped only the last one made.)"""
    if not _delivery_made:
        with _delivery_lock:
            if not _delivery_made:
                engine = database.make_engine(_database_url, pool_size=8, pre_ping=False,
                                              generic_plans=True)
                _delivery_made.append(DeliveryWorker(
                    engine, lease_margin_s=_settings.lease_margin_s,
                    processes=_settings.worker_processes))
    return _delivery_made[0]


@dramatiq.actor(actor_name=DELIVER_ACTOR, queue_name=_settings.queue_name, max_retries=0,
                time_limit=3_600_000)
def deliver_batch(claims: list[list]) -> None:
    _delivery().take([(int(c[0]), str(c[1])) for c in claims])


@dramatiq.actor(actor_name=HEARTBEAT_ACTOR, queue_name=_settings.queue_name, max_retries=0,
                time_limit=3_600_000)
def send_heartbeats(claims: list[list]) -> None:
    _delivery().take_beats([(int(c[0]), str(c[1])) for c in claims])


class _Lifecycle(dramatiq.Middleware):
    """Watches the parent process from boot; stops gracefully at shutdown
    (:mod:`delivery.stopping`).

    Dramatiq's worker process reads a second SIGTERM as "exit now", and a stop by systemd or
    ``kill -- -PGID`` sends it two or three (every process receives one, and the Dramatiq master
    forwards its own): after boot, once Dramatiq's handler is in place, repeats are ignored.
    Dramatiq calls ``before_worker_shutdown`` before it stops its own threads, so claims still
    reach :meth:`DeliveryWorker.take` during the stop, which hands them back.
    """

    def __init__(self):
        self.exit_at_once = False

    def after_process_boot(self, broker):
        stopping.one_stop_signal()
        threading.Thread(target=_exit_when_orphaned, name="parent-watch", daemon=True).start()

    def before_worker_shutdown(self, broker, worker):
        _stop_began.set()
        if _delivery_made and not _delivery_made[0].stop(_settings.stop_grace_s):
            self.exit_at_once = True

    def after_worker_shutdown(self, broker, worker):
        if self.exit_at_once:
            # Requests that outlived the grace period are closed already; their threads would
            # hold the interpreter's exit until their timeouts.
            logging.shutdown()
            os._exit(0)


def _running(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _exit_when_orphaned() -> None:
    """A worker whose supervisor died (even by SIGKILL) must not go on delivering alone."""
    while os.getppid() == _PARENT_PID and _PARENT_PID != 1 and _running(_SUPERVISOR_PID):
        time.sleep(PARENT_CHECK_S)
    log.warning("the process that started this worker is gone; stopping")
    os.kill(os.getpid(), signal.SIGTERM)
    # A stop that began may take its grace period. One that cannot begin must not keep the
    # process: a master killed while this process booted leaves Dramatiq's boot waiting on it
    # for ever.
    if _stop_began.wait(ORPHAN_EXIT_S):
        time.sleep(_settings.stop_grace_s + ORPHAN_EXIT_S)
    os._exit(1)


_broker.add_middleware(_Lifecycle())
