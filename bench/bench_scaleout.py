"""Deliveries per second for 1, 2 and 4 worker processes, on RabbitMQ and on the PostgreSQL
broker, in one run against one receiver.

    .venv/bin/python bench/bench_scaleout.py [--callbacks 3000] [--processes 1,2,4]
        [--threads 8] [--max-in-flight 64] [--brokers rabbitmq,postgres]
        [--rabbitmq-url amqp://guest:guest@127.0.0.1:5672/] [--timeout-s 300]

Uses PostgreSQL on 127.0.0.1:5432 when it answers (else an embedded server) in a database of its
own, and a receiver that answers 204 at once (uvicorn, its own process). For each broker and each
process count: a brand of its own with ``--callbacks`` callbacks (one bet each) enqueued
beforehand, then `callbacks worker --processes N` (scheduler included, ``CALLBACKS_QUEUE`` of its
own), stopped once every callback has a finished attempt. The rate runs from the brand's first
attempt's start to its last one's finish. RabbitMQ runs only when it answers (else it is reported
as skipped); each run's queue is deleted at the end. Prints figures and asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from databases import scratch_database  # noqa: E402  (same server choice as the tests)

from bench.feeding import line, wait_until  # noqa: E402
from bench.servers import Processes, sigterm_exits, start_receiver, start_worker, worker_output  # noqa: E402
from delivery import brands, database, store  # noqa: E402
from delivery.validation import parse_callback  # noqa: E402

#: Settings of every worker run (as in bench_delivery.py): quick polls, larger messages.
WORKER_ENV = {"CALLBACKS_POLL_INTERVAL_S": "0.05", "CALLBACKS_BATCH_SIZE": "50"}

FINISHED = sa.text("SELECT count(*), min(started_at), max(finished_at) FROM attempts "
                   "WHERE brand_id = :brand_id AND finished_at IS NOT NULL")


def answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672),
                                      timeout=1):
            return True
    except OSError:
        return False


def delete_queue(rabbitmq_url: str, queue_name: str) -> None:
    """Remove the queue Dramatiq declared for a run (and its delay and dead-letter queues)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    try:
        channel = connection.channel()
        for name in (queue_name, f"{queue_name}.DQ", f"{queue_name}.XQ"):
            channel.queue_delete(queue=name)
    finally:
        connection.close()


def deliveries_per_s(procs: Processes, url: str, engine: sa.Engine, receiver_url: str,
                     broker: str, processes: int, args) -> float:
    brand = brands.add_brand(engine, f"{broker}-{processes}", receiver_url,
                             max_in_flight=args.max_in_flight)
    callbacks = [parse_callback(line(f"{broker}-{processes}-{i}"))
                 for i in range(args.callbacks)]
    for start in range(0, args.callbacks, 1000):
        store.enqueue(engine, brand.name, callbacks[start:start + 1000])
    queue_name = f"callbacks_bench_{uuid.uuid4().hex[:10]}"
    env = dict(WORKER_ENV, CALLBACKS_QUEUE=queue_name)
    if broker == "rabbitmq":
        env["BROKER_URL"] = args.rabbitmq_url
    worker = procs.add(start_worker(url, processes=processes, threads=args.threads, env=env))

    def finished():
        with engine.connect() as conn:
            return conn.execute(FINISHED, {"brand_id": brand.id}).one()
    try:
        if not wait_until(lambda: finished()[0] >= args.callbacks, args.timeout_s):
            raise SystemExit(f"{broker}, {processes} process(es): {finished()[0]} of "
                             f"{args.callbacks} attempts after {args.timeout_s:g} s; output:\n"
                             f"{worker_output(worker)}")
        count, first, last = finished()
        return count / (last - first).total_seconds()
    finally:
        procs.stop(worker, grace_s=30)
        if broker == "rabbitmq":
            delete_queue(args.rabbitmq_url, queue_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--callbacks", type=int, default=3000,
                        help="callbacks per run (default 3000)")
    parser.add_argument("--processes", default="1,2,4",
                        help="worker process counts, comma-separated (default 1,2,4)")
    parser.add_argument("--threads", type=int, default=8,
                        help="Dramatiq threads per process (default 8)")
    parser.add_argument("--max-in-flight", type=int, default=64,
                        help="the brand's cap: requests in flight at once (default 64)")
    parser.add_argument("--brokers", default="rabbitmq,postgres",
                        help="brokers to measure, comma-separated (default rabbitmq,postgres)")
    parser.add_argument("--rabbitmq-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--timeout-s", type=float, default=300,
                        help="give up on a run after this long (default 300)")
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]
    brokers = [b.strip() for b in args.brokers.split(",")]
    unknown = set(brokers) - {"rabbitmq", "postgres"}
    if unknown:
        parser.error(f"unknown broker(s) {', '.join(sorted(unknown))}; use rabbitmq, postgres")
    skipped = []
    if "rabbitmq" in brokers and not answers(args.rabbitmq_url):
        brokers.remove("rabbitmq")
        where = urlsplit(args.rabbitmq_url).netloc.split('@')[-1]
        skipped.append(f"rabbitmq skipped: nothing answers at {where}")
    sigterm_exits()

    rates: dict[tuple[str, int], float] = {}
    load_before = os.getloadavg()
    with scratch_database("callbacks_bench") as url, Processes() as procs:
        engine = database.make_engine(url)
        try:
            receiver_url = procs.server(start_receiver())
            for processes in counts:
                for broker in brokers:
                    rates[broker, processes] = deliveries_per_s(
                        procs, url, engine, receiver_url, broker, processes, args)
                    print(f"  {broker:8} {processes} process(es): "
                          f"{rates[broker, processes]:6.0f} deliveries/s", flush=True)
        finally:
            engine.dispose()
    load_after = os.getloadavg()

    print(f"receiver answering 204 at once, {os.cpu_count()} cores, load average "
          f"{load_before[0]:.1f} before / {load_after[0]:.1f} after; {args.callbacks} callbacks "
          f"per run, {args.threads} threads per process, brand max_in_flight "
          f"{args.max_in_flight}")
    for line_ in skipped:
        print(line_)
    print("processes  " + "  ".join(f"{b:>16}" for b in brokers))
    for processes in counts:
        print(f"{processes:9}  " + "  ".join(
            f"{rates[b, processes]:>10.0f} del/s" for b in brokers))


if __name__ == "__main__":
    main()
