"""How long ``callbacks`` takes to start: ``--help``, one command's ``--help``, and the time
Python itself needs, same run.

    .venv/bin/python bench/bench_cli_start.py [--runs 15]

Each is a fresh process (``python -m callbacks ...``); prints the median and the slowest wall
time of each; asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "callbacks --help": [sys.executable, "-m", "callbacks", "--help"],
    "callbacks status --help": [sys.executable, "-m", "callbacks", "status", "--help"],
    "callbacks archive --help": [sys.executable, "-m", "callbacks", "archive", "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    for name, command in CASES.items():
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - started)
        print(f"{name:28} median {statistics.median(times) * 1000:6.0f} ms   "
              f"slowest {max(times) * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
