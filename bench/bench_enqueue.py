"""Latency of 1,000-item batches POSTed to the producer API, and of /healthz meanwhile.

    .venv/bin/python bench/bench_enqueue.py [--batches 10] [--items 1000] [--concurrent 4]

Serves ``callbacks api`` (its own process, the product's settings) on a scratch database (the
same server choice as the tests), then:

1. POSTs ``--batches`` batches of ``--items`` new callbacks one after the other and prints the
   median and p95 latency per batch (end to end over HTTP: JSON encoding aside, which is done
   beforehand);
2. POSTs ``--concurrent`` such batches at once, ``--rounds`` times, while another process asks
   ``/healthz`` every 10 ms, and prints the batches' latency and /healthz p50/p99/max (and,
   to compare, /healthz with nothing else running).

The items look like a sportsbook's: bets with a place, an accept and a settle, some with a
settle only, fresh request_ids and Foreign-Params. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from databases import scratch_database  # noqa: E402  (same server choice as the tests)
from factories import item  # noqa: E402  (tests/factories.py: valid contract bodies)

from bench.feeding import API_TOKEN, start_api  # noqa: E402
from bench.servers import Processes, sigterm_exits  # noqa: E402
from delivery import brands, database  # noqa: E402

BRAND = "bench"
#: A bet's callbacks, in the order a sportsbook sends them.
LIFE = ("/bet/place", "/bet/accept", "/bet/settle")


def batch_body(n: int, tag: str) -> bytes:
    """``n`` new callbacks as one request body: three-callback bets, the rest settles alone."""
    items = []
    bet = 0
    while len(items) < n:
        bet_id = f"{tag}-bet-{bet}"
        life = LIFE if bet % 4 else LIFE[-1:]
        for destination in life[:n - len(items)]:
            one = item(bet_id, destination)
            one["payload"]["request_id"] = str(uuid.uuid4())
            items.append(one)
        bet += 1
    return json.dumps({"callbacks": items}).encode()


def post(client: httpx.Client, url: str, body: bytes) -> float:
    """Seconds one batch took; stops the bench when it is not queued."""
    started = time.perf_counter()
    response = client.post(url, content=body, headers={"Content-Type": "application/json"})
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"the API answered {response.status_code}: {response.text[:500]}")
    return elapsed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1000:7.1f} ms, "
            f"p95 {percentile(values, 95) * 1000:7.1f} ms, max {max(values) * 1000:7.1f} ms")


def poll_healthz(api_url: str) -> None:
    """Ask /healthz every 10 ms until stdin closes; print "ready", then the latencies (s) as a
    JSON list."""
    healthz: list[float] = []
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    with httpx.Client(timeout=30) as probe:
        probe.get(f"{api_url}/healthz").raise_for_status()
        print("ready", flush=True)
        while not done.is_set():
            started = time.perf_counter()
            probe.get(f"{api_url}/healthz").raise_for_status()
            healthz.append(time.perf_counter() - started)
            time.sleep(0.01)
    print(json.dumps(healthz), flush=True)


def main() -> None:
    if sys.argv[1:2] == ["--poll-healthz"]:
        return poll_healthz(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=10,
                        help="batches sent one after the other (default 10)")
    parser.add_argument("--items", type=int, default=1000, help="callbacks per batch")
    parser.add_argument("--concurrent", type=int, default=4,
                        help="batches sent at once while /healthz is polled (default 4)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times the concurrent batches are sent (default 3)")
    args = parser.parse_args()
    sigterm_exits()

    with scratch_database("callbacks_bench") as db_url, Processes() as procs:
        engine = database.make_engine(db_url)
        try:
            brands.add_brand(engine, BRAND, "http://127.0.0.1:9/")
        finally:
            engine.dispose()
        api_url = procs.server(start_api(db_url))
        url = f"{api_url}/v1/brands/{BRAND}/callbacks"
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        with httpx.Client(headers=headers, timeout=60,
                          limits=httpx.Limits(max_connections=args.concurrent + 2)) as client:
            post(client, url, batch_body(10, "warm-up"))  # connections, prepared statements
            idle = healthz_idle(client, api_url)
            alone = [post(client, url, batch_body(args.items, f"alone-{i}"))
                     for i in range(args.batches)]
            together, healthz = concurrent(client, api_url, url, args)

    print(f"{args.items:,} callbacks per batch, `callbacks api` in its own process")
    print(f"/healthz, nothing else running:  {ms(idle)}")
    print(f"one batch at a time ({args.batches}):       {ms(alone)}")
    print(f"{args.concurrent} batches at once ({args.rounds} rounds):   {ms(together)}")
    print(f"/healthz during them ({len(healthz)} asked):  "
          f"p50 {statistics.median(healthz) * 1000:6.1f} ms, "
          f"p99 {percentile(healthz, 99) * 1000:6.1f} ms, max {max(healthz) * 1000:6.1f} ms")


def healthz_idle(client: httpx.Client, api_url: str, n: int = 50) -> list[float]:
    """/healthz latencies with nothing else running: what the figures under load compare to."""
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(f"{api_url}/healthz").raise_for_status()
        latencies.append(time.perf_counter() - started)
        time.sleep(0.005)
    return latencies


def concurrent(client: httpx.Client, api_url: str, url: str, args
               ) -> tuple[list[float], list[float]]:
    """Batch latencies of ``--rounds`` rounds of ``--concurrent`` batches at once, and the
    /healthz latencies seen meanwhile (its own connection)."""
    bodies = [[batch_body(args.items, f"r{r}-c{c}") for c in range(args.concurrent)]
              for r in range(args.rounds)]
    # /healthz is asked from a process of its own, so that the batches' client threads here
    # do not delay its answers.
    poller = subprocess.Popen([sys.executable, __file__, "--poll-healthz", api_url],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    poller.stdout.readline()  # it has asked once: it is running
    together: list[float] = []
    try:
        with ThreadPoolExecutor(args.concurrent) as pool:
            for round_bodies in bodies:
                together += pool.map(lambda body: post(client, url, body), round_bodies)
    finally:
        out, _ = poller.communicate("", timeout=60)
    healthz = json.loads(out)
    return together, healthz


if __name__ == "__main__":
    main()
