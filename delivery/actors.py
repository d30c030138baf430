"""Dramatiq worker entry point: ``dramatiq delivery.actors`` (``callbacks worker`` runs it).

Importing this module configures the broker from the environment. Messages are never retried by
Dramatiq: PostgreSQL decides what is due, and the scheduler's sweeper re-sends anything whose
lease ran out.
"""
from __future__ import annotations

import atexit
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import dramatiq
import httpx

from . import database, dispatch, settings
from .broker import DELIVER_ACTOR, make_broker

#: Concurrent HTTP requests per worker process (shared by its Dramatiq threads).
HTTP_CONCURRENCY = 64

_settings = settings.from_env()
_database_url = database.database_url(_settings)
dramatiq.set_broker(make_broker(_settings.broker_url, _database_url))


@cache
def _resources():
    engine = database.make_engine(_database_url, pool_size=8)
    client = httpx.Client(limits=httpx.Limits(max_connections=HTTP_CONCURRENCY * 2,
                                              max_keepalive_connections=HTTP_CONCURRENCY))
    executor = ThreadPoolExecutor(HTTP_CONCURRENCY, thread_name_prefix="callback-http")
    atexit.register(client.close)
    return engine, client, executor


@dramatiq.actor(actor_name=DELIVER_ACTOR, queue_name=_settings.queue_name, max_retries=0,
                time_limit=3_600_000)
def deliver_batch(claims: list[list]) -> None:
    engine, client, executor = _resources()
    dispatch.deliver_batch(engine, [(int(c[0]), str(c[1])) for c in claims], client,
                           lease_margin_s=_settings.lease_margin_s, executor=executor)
