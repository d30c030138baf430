"""The Dramatiq broker named by ``BROKER_URL``: unset → the PostgreSQL broker on the product's
own database (see :mod:`delivery.postgres_broker` for how it rides out outages); ``amqp://`` →
RabbitMQ; ``redis://`` → Redis."""
from __future__ import annotations

import dramatiq

from .database import libpq_url, redact_url
from .errors import ConfigurationError

#: Actor that delivers a batch of claimed callbacks.
DELIVER_ACTOR = "deliver_batch"
#: Actor that sends a batch of claimed heartbeats.
HEARTBEAT_ACTOR = "send_heartbeats"


def make_broker(broker_url: str | None, database_url: str) -> dramatiq.Broker:
    """Build the broker; a URL it cannot use raises a ConfigurationError saying what works."""
    if not broker_url or broker_url.split(":", 1)[0].startswith("postgres"):
        from .postgres_broker import postgres_broker

        return postgres_broker(libpq_url(broker_url or database_url))
    scheme = broker_url.split(":", 1)[0]
    if scheme in ("amqp", "amqps"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=broker_url)
    if scheme in ("redis", "rediss"):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=broker_url)
    raise ConfigurationError(
        f"BROKER_URL {redact_url(broker_url)!r} is not supported; use amqp://… (RabbitMQ), "
        "redis://… (Redis), or leave it unset for the PostgreSQL broker")


def describe(broker_url: str | None) -> str:
    """A one-line, password-free description for start-up messages."""
    if not broker_url:
        return "PostgreSQL broker on the product database"
    return redact_url(broker_url)


def send_batch(broker: dramatiq.Broker, queue_name: str, claims: list[tuple[int, str]]) -> None:
    """Tell a worker to deliver these claimed callbacks (a message is only "work on these now")."""
    broker.enqueue(dramatiq.Message(
        queue_name=queue_name, actor_name=DELIVER_ACTOR, args=([list(c) for c in claims],),
        kwargs={}, options={}))


def send_beats(broker: dramatiq.Broker, queue_name: str, claims: list[tuple[int, str]]) -> None:
    """Tell a worker to send these claimed heartbeats."""
    broker.enqueue(dramatiq.Message(
        queue_name=queue_name, actor_name=HEARTBEAT_ACTOR, args=([list(c) for c in claims],),
        kwargs={}, options={}))
