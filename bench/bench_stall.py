"""The producer API on a database that stalls: how long answers take while it is frozen, and
how soon the API serves again once it is thawed.

    python bench/bench_stall.py [--requests 60] [--freeze-s 8]

An embedded PostgreSQL server of the script's own (never the machine's shared one) is frozen
with SIGSTOP (postmaster and backends) while ``--requests`` producers POST at once, then thawed.
Printed: the answers' statuses, their median and slowest times, /healthz's slowest time during
the freeze, and the time from the thaw to the first 201. The API runs as ``callbacks api``
does: :func:`api.cli.server_engine` and :func:`api.app.create_app`, served by uvicorn.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "api"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from api_testkit import AUTH, TOKEN, serve  # noqa: E402
from databases import own_server  # noqa: E402
from factories import item  # noqa: E402

from api.app import create_app  # noqa: E402
from api.cli import server_engine  # noqa: E402
from delivery import brands  # noqa: E402


def body(n: int) -> dict:
    callback = item(f"bet-{n}", "/bet/place")
    callback["payload"]["request_id"] = f"req-{n}"
    return {"callbacks": [callback]}


def timed(http: httpx.Client, method: str, path: str, **kwargs) -> tuple[int, float]:
    started = time.monotonic()
    answer = http.request(method, path, **kwargs)
    return answer.status_code, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--freeze-s", type=float, default=8.0)
    args = parser.parse_args()
    with own_server("bench_stall") as own:
        engine = server_engine(own.url)
        brands.add_brand(engine, "acme", "http://127.0.0.1:9")
        with serve(create_app(engine, tokens=[TOKEN])) as url, \
                httpx.Client(base_url=url, headers=AUTH, timeout=60) as http, \
                ThreadPoolExecutor(args.requests + 4) as pool:
            list(pool.map(lambda n: http.post("/v1/brands/acme/callbacks", json=body(-n - 1)),
                          range(20)))  # the pool full of connections made before the stall
            health_s: list[float] = []
            with own.frozen():
                frozen_at = time.monotonic()
                posts = [pool.submit(timed, http, "POST", "/v1/brands/acme/callbacks",
                                     json=body(n)) for n in range(args.requests)]
                stop = threading.Event()

                def probe_health() -> None:
                    while not stop.is_set():
                        health_s.append(timed(http, "GET", "/healthz")[1])
                        time.sleep(0.1)

                prober = threading.Thread(target=probe_health)
                prober.start()
                answers = [f.result() for f in posts]
                time.sleep(max(0.0, args.freeze_s - (time.monotonic() - frozen_at)))
                stop.set()
                prober.join()
            thawed_at = time.monotonic()
            while http.post("/v1/brands/acme/callbacks", json=body(0)).status_code not in (200,
                                                                                           201):
                time.sleep(0.05)
            recovered_s = time.monotonic() - thawed_at
        engine.dispose()
    took = sorted(s for _, s in answers)
    print(f"{args.requests} concurrent POSTs during a {args.freeze_s:g} s freeze: "
          f"statuses {dict(Counter(c for c, _ in answers))}, median {statistics.median(took):.2f}"
          f" s, slowest {took[-1]:.2f} s")
    print(f"/healthz during the freeze: {len(health_s)} checks, slowest {max(health_s):.2f} s")
    print(f"after the thaw: the first POST queued after {recovered_s:.2f} s")


if __name__ == "__main__":
    main()
