"""How soon deliveries resume after a database outage, for several outage lengths.

    .venv/bin/python bench/bench_recovery.py [--outages 5,20,60]

For each outage length: an embedded PostgreSQL server of its own, a real `callbacks worker` (the
tests' quick settings) delivering to a platform on 127.0.0.1; the server is stopped with
requests in flight, started again after the outage, and callbacks are queued at once (see
``tests/outages.py``). Prints, counted from the moment the server accepted connections again,
when the first new callback was claimed, had its attempt written and arrived, and what was
delivered twice. Asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from databases import own_server  # noqa: E402
from outages import run_outage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outages", default="5,20,60",
                        help="outage lengths in seconds, comma-separated")
    parser.add_argument("--log", action="store_true", help="print each worker's output")
    args = parser.parse_args()
    for outage_s in [float(o) for o in args.outages.split(",")]:
        with own_server("recovery_bench") as own:
            result = run_outage(own, outage_s, settle_timeout_s=max(60.0, 2 * outage_s))
        twice = sorted(b for b, n in result.requests.items() if n > 1)
        print(result.summary())
        print(f"  {len(result.requests)} callbacks delivered, {len(twice)} sent more than once: "
              + ", ".join(f"{b} {result.outcomes.get(b)}" for b in twice)
              + f"; states {sorted(result.states)}", flush=True)
        if args.log:
            print(result.worker_output)


if __name__ == "__main__":
    main()
