"""A platform that misbehaves on purpose: one asyncio TCP server, no HTTP framework.

    .venv/bin/python bench/misbehaving.py --mode hang|trickle|slow|endless --port P

Every mode reads the whole request first (headers and Content-Length body), whatever its path:

- ``hang``     never answers; the connection stays open until the client gives up
- ``trickle``  sends the status line and headers one byte per ``--interval-s`` (1 s), forever
- ``slow``     answers 204 after ``--delay-s`` (2 s); keeps the connection alive for more
- ``endless``  sends 200 headers, then a chunked body of 1 KiB every ``--interval-s`` (0.1 s)
               that never ends

The isolation benchmark points several brands at these; tests use short intervals.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import signal

MODES = ("hang", "trickle", "slow", "endless")


async def read_request(reader: asyncio.StreamReader) -> bool:
    """Consume one request; False when the client closed the connection instead."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return False
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    try:
        await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return False
    return True


def trickle_bytes():
    """The status line and then header lines, forever."""
    yield from b"HTTP/1.1 200 OK\r\n"
    for n in itertools.count():
        yield from f"X-Trickle-{n}: 1\r\n".encode()


async def serve(mode: str, delay_s: float, interval_s: float,
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        if mode == "slow":
            while await read_request(reader):
                await asyncio.sleep(delay_s)
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
            return
        if not await read_request(reader):
            return
        if mode == "hang":
            await reader.read()  # returns when the client closes
        elif mode == "trickle":
            for byte in trickle_bytes():
                writer.write(bytes((byte,)))
                await writer.drain()
                await asyncio.sleep(interval_s)
        elif mode == "endless":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
            while True:
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(interval_s)
    except (ConnectionError, OSError):
        pass  # the client gave up: that is the point
    finally:
        writer.close()


async def main_async(args) -> None:
    server = await asyncio.start_server(
        lambda r, w: serve(args.mode, args.delay_s, args.interval_s, r, w),
        args.host, args.port, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()  # open connections are cancelled by asyncio.run, not waited for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-s", type=float, default=2.0, help="slow: wait before the 204")
    parser.add_argument("--interval-s", type=float, default=None,
                        help="trickle: seconds per byte (1); endless: seconds per KiB (0.1)")
    args = parser.parse_args()
    if args.interval_s is None:
        args.interval_s = 1.0 if args.mode == "trickle" else 0.1
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
