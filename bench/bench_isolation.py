"""A healthy brand's waits alone, then beside brands whose platforms misbehave, same run.

    .venv/bin/python bench/bench_isolation.py [--rate 50] [--duration 20] [--bad-brands 10]
        [--bad-rate 5] [--modes hang,trickle,slow] [--settle 5]

The healthy brand's platform answers 204 at once (bench/fast_receiver.py); it is fed ``--rate``
``/bet/settle`` callbacks per second, one bet each, for ``--duration`` seconds through
``store.enqueue``. First alone, then — in a fresh database, with a fresh worker — beside
``--bad-brands`` brands fed ``--bad-rate`` each, whose platforms (bench/misbehaving.py) hang,
trickle their headers a byte a second or answer after 2 s, in turn. Every brand keeps the
default timeout and max_in_flight, and the worker is ``callbacks worker`` with no tuning flags
(CALLBACKS_* settings in the environment pass through).

Prints, for the healthy brand, enqueue → first attempt and enqueue → delivered percentiles
("never" when the percentile falls on a callback not attempted/delivered when read), the ratio
beside/alone, and how many were still undelivered ``--settle`` seconds after the feed stopped.
Uses PostgreSQL on 127.0.0.1:5432 when it answers (else an embedded server), a database of its
own per phase. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from databases import scratch_database  # noqa: E402  (same server choice as the tests)

from bench.feeding import (  # noqa: E402
    PythonProducer,
    Stream,
    describe_feed,
    feed,
    ms,
    percentile,
    ratio,
    waits,
    warm_up,
)
from bench.misbehaving import MODES  # noqa: E402
from bench.servers import Processes, sigterm_exits, start_misbehaving, start_receiver, start_worker  # noqa: E402
from delivery import brands, database  # noqa: E402

HEALTHY = "healthy"
PERCENTILES = (50, 95, 99)


def phase(receiver_url: str, bad: list[tuple[str, str]], args):
    """Feed the healthy brand (and the bad ones) in a fresh database with a fresh worker; the
    healthy brand's waits read ``--settle`` s after the feed stopped, and the feed report."""
    with scratch_database("callbacks_bench_isolation") as url, Processes() as procs:
        engine = database.make_engine(url, pool_size=8)
        try:
            brands.add_brand(engine, HEALTHY, receiver_url)
            for name, base_url in bad:
                brands.add_brand(engine, name, base_url)
            worker = procs.add(start_worker(url))
            producer = PythonProducer(engine)
            warm_up(producer, engine, HEALTHY, worker)
            streams = [Stream(HEALTHY, args.rate, "h-")]
            # Independent producers: each bad brand's callbacks at a phase of its own (seeded,
            # so runs compare), unless --arrivals aligned sends them all at once, in the same
            # instants as every (rate / bad-rate)-th healthy callback.
            phases = random.Random(len(bad))
            streams += [Stream(name, args.bad_rate, f"{name}-",
                               0.0 if args.arrivals == "aligned" else phases.random())
                        for name, _ in bad]
            report = feed(producer, streams, args.duration)
            time.sleep(args.settle)
            return waits(engine, HEALTHY, "h-"), report
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50, help="healthy callbacks per second")
    parser.add_argument("--duration", type=float, default=20, help="seconds of feeding")
    parser.add_argument("--bad-brands", type=int, default=10)
    parser.add_argument("--bad-rate", type=float, default=5,
                        help="callbacks per second to each bad brand")
    parser.add_argument("--modes", default="hang,trickle,slow",
                        help=f"bad platforms' modes, given to the bad brands in turn "
                             f"(of {', '.join(MODES)})")
    parser.add_argument("--arrivals", choices=("independent", "aligned"), default="independent",
                        help="independent: each bad brand at a random phase of its own "
                             "(seeded); aligned: every brand's callbacks in the same instants")
    parser.add_argument("--settle", type=float, default=5,
                        help="seconds after the feed before undelivered callbacks are counted")
    args = parser.parse_args()
    modes = args.modes.split(",")
    if not set(modes) <= set(MODES):
        parser.error(f"--modes: choose among {', '.join(MODES)}")
    sigterm_exits()

    with Processes() as procs:
        receiver_url = procs.server(start_receiver())
        platforms = {mode: procs.server(start_misbehaving(mode)) for mode in set(modes)}
        bad = [(f"{modes[k % len(modes)]}-{k}", f"{platforms[modes[k % len(modes)]]}/brand{k}")
               for k in range(args.bad_brands)]
        alone, alone_feed = phase(receiver_url, [], args)
        beside, beside_feed = phase(receiver_url, bad, args)

    mix = ", ".join(f"{sum(1 for name, _ in bad if name.startswith(m + '-'))} {m}"
                    for m in dict.fromkeys(modes))
    print(f"healthy brand: {args.rate:g} callbacks/s for {args.duration:g} s, one bet each; "
          f"`callbacks worker` at its defaults; {os.cpu_count()} cores")
    print(f"beside: {args.bad_brands} brands at {args.bad_rate:g}/s each ({mix}), default "
          "timeout and max_in_flight")
    print(f"  feed alone:  {describe_feed(alone_feed)}")
    print(f"  feed beside: {describe_feed(beside_feed)}")
    print()
    print(f"{'':24}{'enqueue → first attempt':<30}{'enqueue → delivered':<30}"
          f"undelivered {args.settle:g} s after feed")
    print(f"{'':24}" + "".join(f"{f'p{p}':<10}" for p in PERCENTILES * 2))
    for label, w in (("alone", alone), (f"beside {args.bad_brands} bad brands", beside)):
        print(f"{label:<24}" + "".join(f"{ms(percentile(values, p)):<10}"
                                      for values in (w.first_attempt, w.delivered)
                                      for p in PERCENTILES) + f"{w.undelivered} of {w.count}")
    print(f"{'beside / alone':<24}" + "".join(
        f"{ratio(percentile(getattr(beside, kind), p), percentile(getattr(alone, kind), p)):<10}"
        for kind in ("first_attempt", "delivered") for p in PERCENTILES)
        + "goals: ratios ≤ 1.5×, 0 undelivered")

if __name__ == "__main__":
    main()
