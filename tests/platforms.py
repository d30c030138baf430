"""Platforms that misbehave at the socket level, on 127.0.0.1, for delivery tests.

``Hanging`` accepts connections, reads the request and never answers; ``Trickling`` sends a
status line and headers one byte at a time, forever. Each counts what it saw.
"""
from __future__ import annotations

import socket
import threading
import time


class _Server:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        self.closed_by_client = 0
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []

    def __enter__(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.sock.close()
        for conn in self._conns:
            conn.close()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        raise NotImplementedError


class Hanging(_Server):
    """Reads whatever arrives and never answers; notices when the client gives up."""

    def _serve(self, conn):
        try:
            while not self._stop.is_set():
                if not conn.recv(65536):
                    self.closed_by_client += 1
                    return
        except OSError:
            return


class Trickling(_Server):
    """Answers one byte every ``interval_s``: a status line and headers that never end."""

    def __init__(self, interval_s: float = 0.2):
        super().__init__()
        self.interval_s = interval_s

    def _serve(self, conn):
        conn.recv(65536)
        stream = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 1_000_000
        try:
            for byte in stream:
                if self._stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(self.interval_s)
        except OSError:
            self.closed_by_client += 1
