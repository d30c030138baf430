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

from . import database, settings
from .broker import DELIVER_ACTOR, HEARTBEAT_ACTOR, make_broker
from .worker import DeliveryWorker

log = logging.getLogger(__name__)
# httpx logs every request at INFO, and Dramatiq runs its processes at INFO: a line per delivery
# through a lock every sending thread shares and a pipe to the parent process cost more CPU than
# the request itself. Every attempt is in the history already; warnings and errors still show.
logging.getLogger("httpx").setLevel(logging.WARNING)

#: On shutdown, how long requests in flight may take to finish and be recorded.
DRAIN_S = 15.0
#: How often a worker process checks that the process that started it still runs.
PARENT_CHECK_S = 1.0
#: How long an orphaned worker process may take to stop before it exits anyway.
ORPHAN_EXIT_S = 5.0

#: The process that started this one, and the ``callbacks worker`` that supervises both.
_PARENT_PID = os.getppid()
_SUPERVISOR_PID = int(os.environ.get("CALLBACKS_SUPERVISOR_PID") or 0) or None

_settings = settings.from_env()
_database_url = database.database_url(_settings)
_broker = make_broker(_settings.broker_url, _database_url)
dramatiq.set_broker(_broker)


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
    """Watches the parent process from boot; finishes requests in flight at shutdown."""

    def after_process_boot(self, broker):
        threading.Thread(target=_exit_when_orphaned, name="parent-watch", daemon=True).start()

    def before_worker_shutdown(self, broker, worker):
        if _delivery_made:
            _delivery_made[0].stop(DRAIN_S)


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
    time.sleep(ORPHAN_EXIT_S)
    os._exit(1)


_broker.add_middleware(_Lifecycle())
