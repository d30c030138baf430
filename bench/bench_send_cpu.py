"""CPU per request of the two send paths, same run: ``send`` (httpx's transport, the bet
callbacks' path, one thread) and ``send_async`` (h11 on the event loop, the heartbeats' path),
and, for reference, httpx's own asyncio transport.

    .venv/bin/python bench/bench_send_cpu.py [--requests 6000] [--brands 100] [--concurrency 200]

All three send empty heartbeats to a receiver that answers 204 at once (uvicorn, its own
process); the asynchronous ones spread them over ``--brands`` pools with ``--concurrency`` in
flight. Prints requests per second and this process's CPU per request; asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.servers import Processes, sigterm_exits, start_receiver  # noqa: E402
from delivery import heartbeats  # noqa: E402
from delivery.records import OutgoingCallback  # noqa: E402
from delivery.sender import AsyncPool, make_transport, send, send_async  # noqa: E402


def beats(url: str, n: int, brands: int) -> list:
    out = []
    for i in range(n):
        callback = OutgoingCallback(
            callback_id=None, request_id="", bet_id=f"session-{i}", brand_id=i % brands,
            destination="/heartbeat", payload={}, foreign_params={"session_id": f"s{i}"},
            attempt_no=1, base_url=url, timeout_s=10)
        out.append(heartbeats.prepare_beat(callback, str(uuid.uuid4()),
                                           datetime.now(UTC)))
    return out


def timed(run) -> tuple[float, float, set]:
    me = psutil.Process()
    before = me.cpu_times()
    started = time.perf_counter()
    outcomes = run()
    elapsed = time.perf_counter() - started
    after = me.cpu_times()
    return elapsed, (after.user + after.system) - (before.user + before.system), outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--brands", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    sigterm_exits()
    with Processes() as procs:
        url = procs.server(start_receiver())
        n = args.requests

        def threaded():
            transport = make_transport(2)
            return {send(s, transport).outcome.kind for s in beats(url, n, args.brands)}

        def looped():
            async def go():
                pools = [AsyncPool(8) for _ in range(args.brands)]
                gate = asyncio.Semaphore(args.concurrency)

                async def one(s):
                    async with gate:
                        return await send_async(s, pools[s.callback.brand_id])
                done = await asyncio.gather(*[one(s) for s in beats(url, n, args.brands)])
                for pool in pools:
                    pool.close()
                return {a.outcome.kind for a in done}
            return asyncio.run(go())

        def httpx_asyncio():
            async def go():
                transports = [httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=8))
                              for _ in range(args.brands)]
                gate = asyncio.Semaphore(args.concurrency)

                async def one(s):
                    async with gate:
                        request = httpx.Request("POST", s.callback.url, content=s.body,
                                                headers=s.headers)
                        response = await transports[s.callback.brand_id].handle_async_request(
                            request)
                        await response.aread()
                        await response.aclose()
                        return "delivered" if response.status_code < 300 else "failed"
                done = set(await asyncio.gather(*[one(s) for s in beats(url, n, args.brands)]))
                for t in transports:
                    await t.aclose()
                return done
            return asyncio.run(go())

        print(f"{n:,} empty heartbeats to a receiver answering 204 at once "
              f"({args.brands} brands, {args.concurrency} in flight for the event loops)")
        for name, run in (("send (httpx transport, one thread)", threaded),
                          ("send_async (h11, event loop)", looped),
                          ("httpx asyncio transport (reference)", httpx_asyncio)):
            elapsed, cpu, outcomes = timed(run)
            print(f"  {name:<38} {n / elapsed:7,.0f} req/s  {cpu * 1e6 / n:5.0f} µs CPU/request"
                  f"  {sorted(outcomes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
