"""The obvious design a Python team would write instead, for comparison in bench_delivery.py.

One Dramatiq message per callback on the same PostgreSQL broker our worker uses
(dramatiq-postgres); the actor POSTs it with httpx, INSERTs one row per attempt into a plain
table, and raises on anything but 2xx so Dramatiq's Retries middleware tries again later. No
ordering per bet, no leases, no in-flight caps.

    DATABASE_URL=... BASELINE_URL=http://receiver dramatiq bench.baseline_actor --queues baseline

(bench_delivery.py starts it; the table is :data:`TABLE`, created by :func:`create_table`.)
"""
from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import dramatiq
import httpx
import sqlalchemy as sa
from dramatiq_postgres import PostgresBroker

QUEUE = "baseline"
ACTOR = "baseline_deliver"
TABLE = "baseline_attempts"
CREATE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY, callback_id bigint NOT NULL, started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL, status integer, error text)"""
INSERT = sa.text(f"INSERT INTO {TABLE} (callback_id, started_at, finished_at, status, error) "
                 "VALUES (:callback_id, :started_at, :finished_at, :status, :error)")


def libpq(url: str) -> str:
    """A SQLAlchemy URL → plain ``postgresql://`` for psycopg 3 (the broker)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_table(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(CREATE))


def message(callback_id: int, destination: str, payload: dict,
            foreign_params: dict) -> dramatiq.Message:
    return dramatiq.Message(queue_name=QUEUE, actor_name=ACTOR,
                            args=(callback_id, destination, payload, foreign_params),
                            kwargs={}, options={})


class NotDelivered(Exception):
    pass


if os.environ.get("BASELINE_URL"):  # imported by the Dramatiq worker, not by the benchmark
    _broker = PostgresBroker(url=libpq(os.environ["DATABASE_URL"]), results=False)
    dramatiq.set_broker(_broker)
    _engine = sa.create_engine(os.environ["DATABASE_URL"], pool_size=16, max_overflow=16)
    _client = httpx.Client(base_url=os.environ["BASELINE_URL"], timeout=10)

    @dramatiq.actor(actor_name=ACTOR, queue_name=QUEUE, max_retries=9, min_backoff=5_000,
                    max_backoff=3_600_000)
    def baseline_deliver(callback_id: int, destination: str, payload: dict,
                         foreign_params: dict) -> None:
        started_at = datetime.now(UTC)
        status = error = None
        try:
            status = _client.post(destination, json=payload, headers={
                "Foreign-Params": json.dumps(foreign_params)}).status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with _engine.begin() as conn:
            conn.execute(INSERT, dict(callback_id=callback_id, started_at=started_at,
                                      finished_at=datetime.now(UTC), status=status,
                                      error=error))
        if status is None or not 200 <= status < 300:
            raise NotDelivered(error or f"HTTP {status}")
