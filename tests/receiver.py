"""A real HTTP server on 127.0.0.1 that plays an operator platform in delivery tests.

``behave(request) -> Reply`` decides each answer; every request is recorded in arrival order.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    path: str
    headers: dict
    body: dict | None
    raw: bytes
    status: int | None = None
    at: float = field(default_factory=time.time)
    #: The sender's TCP port: which process (and connection) sent the request.
    client_port: int | None = None

    @property
    def request_id(self) -> str | None:
        return (self.body or {}).get("request_id")

    @property
    def attempt_id(self) -> str | None:
        return self.headers.get("x-request-id")


@dataclass
class Reply:
    status: int = 204
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0
    #: Close the connection without answering.
    hang_up: bool = False

    @classmethod
    def json(cls, status: int, value, headers: dict | None = None, **kw) -> Reply:
        return cls(status, json.dumps(value).encode(),
                   {"Content-Type": "application/json", **(headers or {})}, **kw)


class Receiver:
    def __init__(self, behave=None):
        self.behave = behave or (lambda seen: Reply())
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body, raw,
                            client_port=self.client_address[1])
                with receiver.lock:
                    receiver.seen.append(seen)
                reply = receiver.behave(seen)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.hang_up:
                    self.close_connection = True
                    return
                seen.status = reply.status
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default backlog of 5 resets connections in bursts

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def by_request_id(self) -> dict[str, list[Seen]]:
        out: dict[str, list[Seen]] = {}
        for seen in list(self.seen):
            out.setdefault(seen.request_id, []).append(seen)
        return out
