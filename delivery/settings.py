"""Runtime settings, read once from the environment.

``DATABASE_URL`` unset → an embedded PostgreSQL server with its data under ``CALLBACKS_HOME``
(default ``./.callbacks``). ``BROKER_URL`` unset → the PostgreSQL broker on that same database;
``amqp://…`` → RabbitMQ; ``redis://…`` → Redis.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigurationError


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    broker_url: str | None = None
    home: Path = Path(".callbacks")
    #: A claimed callback's lease: how long its message may wait in the broker for a worker.
    dispatch_lease_s: float = 60.0
    #: Once sending, the lease is the brand's HTTP timeout plus this margin.
    lease_margin_s: float = 10.0
    #: The scheduler's backstop: it wakes on NOTIFY and when a retry is due, and at least this
    #: often in any case.
    poll_interval_s: float = 1.0
    #: Callbacks per broker message; a worker sends a batch concurrently.
    batch_size: int = 20
    #: Worker processes sharing the queue: each keeps at most its share of a brand's
    #: max_in_flight, and the scheduler cuts a brand's claims into that many messages or more.
    #: ``callbacks worker --processes N`` sets it for its own processes.
    worker_processes: int = 1
    #: Broker queue of delivery messages (deployments sharing a broker use different names).
    queue_name: str = "callbacks"
    #: Attempt history kept in PostgreSQL; whole months older than this go to the archive.
    retention_days: float = 90.0
    #: Folder of the Parquet archive (shared by whoever archives and whoever reads it).
    archive_dir: Path = Path(".callbacks/archive")
    #: Whether the scheduler runs the archive once a day.
    archive_daily: bool = False
    #: On SIGTERM, how long a worker process waits for its requests in flight to finish and be
    #: recorded before closing the rest as unknown: above the default brand timeout (10 s), so
    #: that a request just sent has time to finish.
    stop_grace_s: float = 30.0


def from_env(env: os._Environ | dict | None = None) -> Settings:
    """Settings from environment variables; a malformed number names the variable."""
    env = os.environ if env is None else env
    return Settings(
        database_url=env.get("DATABASE_URL") or None,
        broker_url=env.get("BROKER_URL") or None,
        home=Path(env.get("CALLBACKS_HOME") or ".callbacks").absolute(),
        dispatch_lease_s=_number(env, "CALLBACKS_DISPATCH_LEASE_S", 60.0),
        lease_margin_s=_number(env, "CALLBACKS_LEASE_MARGIN_S", 10.0),
        poll_interval_s=_number(env, "CALLBACKS_POLL_INTERVAL_S", 1.0),
        batch_size=int(_number(env, "CALLBACKS_BATCH_SIZE", 20)),
        worker_processes=int(_number(env, "CALLBACKS_WORKER_PROCESSES", 1)),
        queue_name=env.get("CALLBACKS_QUEUE") or "callbacks",
        retention_days=_number(env, "CALLBACKS_RETENTION_DAYS", 90.0),
        archive_dir=Path(env.get("CALLBACKS_ARCHIVE_DIR")
                         or Path(env.get("CALLBACKS_HOME") or ".callbacks") / "archive"
                         ).absolute(),
        archive_daily=_flag(env, "CALLBACKS_ARCHIVE_DAILY"),
        stop_grace_s=_number(env, "CALLBACKS_STOP_GRACE_S", 30.0),
    )


def _flag(env, name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigurationError(f"{name}={raw!r} is not a yes/no value; use 1 or 0")


def _number(env, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigurationError(f"{name}={raw!r} must be greater than 0")
    return value


def port(text: str) -> int:
    """A TCP port from the command line (0 asks for a free one); argparse's type for ports."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port 0-65535")
    return value
