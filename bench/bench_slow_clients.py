"""A slowloris against `callbacks api` under a 1,024 open-files limit: is it still answering,
and how much does it log?

    .venv/bin/python bench/bench_slow_clients.py --database-url URL [--connections 1100]
        [--addresses 1] [--seconds 40] [--code DIR] [-- API OPTIONS...]

Starts ``callbacks api`` (from the checkout ``--code``, default this one) with
RLIMIT_NOFILE 1024/1024 on a migrated database, opens ``--connections`` connections spread
over ``--addresses`` loopback addresses (127.0.1.x), each sending half its headers and then
nothing, and for ``--seconds`` asks ``/healthz`` from 127.0.0.2 every 0.5 s on a new connection.
Prints how many probes were answered 200, their worst time, how many slow connections the server
closed or refused, and the server's log lines: in all, "Too many open files", tracebacks.
Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPEN_FILES = 1024
HALF_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a migrated database")
    parser.add_argument("--connections", type=int, default=1100)
    parser.add_argument("--addresses", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout to run the API from")
    parser.add_argument("api_options", nargs="*", help="more options of `callbacks api`")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20_000, 20_000))

    env = dict(os.environ, DATABASE_URL=args.database_url, CALLBACKS_API_TOKENS="bench",
               PYTHONPATH=str(args.code))
    api = subprocess.Popen(
        [sys.executable, "-m", "callbacks", "api", "--port", "0", *args.api_options],
        cwd=args.code, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                              (OPEN_FILES, OPEN_FILES)))
    output: list[bytes] = []
    port = None
    for line in api.stdout:
        output.append(line)
        if m := re.search(rb"listening on http://127\.0\.0\.1:(\d+)", line):
            port = int(m.group(1))
        if b"Ctrl-C stops it" in line:
            break
    print(b"".join(output).decode().rstrip())
    reader = threading.Thread(target=lambda: output.extend(api.stdout), daemon=True)
    reader.start()

    slow, opened, refused = [], 0, 0
    began = time.monotonic()
    for i in range(args.connections):
        source = f"127.0.1.{1 + i % args.addresses}"
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                            source_address=(source, 0))
            sock.sendall(HALF_HEADERS)
        except OSError:
            refused += 1
            continue
        opened += 1
        slow.append(sock)
    print(f"opened {opened:,} slow connections from {args.addresses} address(es) in "
          f"{time.monotonic() - began:.1f} s ({refused:,} failed to connect)")

    answered, failed, worst_s = 0, 0, 0.0
    probe_until = time.monotonic() + args.seconds
    while time.monotonic() < probe_until:
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5,
                                          source_address=("127.0.0.2", 0)) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Connection: close\r\n\r\n")
                got = probe.recv(100)
            ok = got.startswith(b"HTTP/1.1 200")
        except OSError:
            ok = False
        took = time.monotonic() - started
        answered, failed = answered + ok, failed + (not ok)
        worst_s = max(worst_s, took)
        time.sleep(max(0.0, 0.5 - took))

    closed = sum(_closed_by_server(sock) for sock in slow)
    for sock in slow:
        sock.close()
    api.send_signal(2)
    api.wait(timeout=30)
    reader.join(timeout=5)
    log = b"".join(output).decode(errors="replace")
    if os.environ.get("BENCH_SHOW_LOG"):
        print("\n".join(x for x in log.splitlines() if "closed the connection" not in x))
    lines = log.splitlines()
    print(f"/healthz probes from another address: {answered} answered 200, {failed} not; "
          f"slowest {worst_s * 1000:.0f} ms")
    print(f"slow connections closed by the server by the end: {closed:,} of {opened:,}")
    print(f"server log: {len(lines):,} lines, {log.count('Too many open files'):,} with "
          f"'Too many open files', {log.count('Traceback'):,} tracebacks, "
          f"{sum('refused a connection' in x for x in lines):,} 'refused' lines, "
          f"{sum('closed the connection' in x for x in lines):,} 'closed the connection' lines")
    return 0


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server answered (408, 503) or closed a connection that never finished its
    request."""
    sock.setblocking(False)
    try:
        sock.recv(4096)  # an answer or the end: either way the server let go
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


if __name__ == "__main__":
    sys.exit(main())
