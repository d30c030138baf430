"""Running the sandbox: in a background thread for tests and other components
(:func:`serve_in_thread`), or in the foreground for the command line (:func:`serve_forever`)."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from random import Random

import uvicorn

from contract.errors import ConfigurationError
from sandbox.app import ADMIN_PREFIX, create_app, quiet_dropped_connections
from sandbox.config import SandboxConfig
from sandbox.platform import Platform

#: How long serve_in_thread waits for the server to accept connections.
STARTUP_TIMEOUT_S = 10.0
#: Connections that may wait to be accepted.
LISTEN_BACKLOG = 2048
#: On shutdown, requests still running (slow answers, hanging timeouts) get this long to finish.
GRACEFUL_SHUTDOWN_S = 1


@dataclass(frozen=True)
class SandboxHandle:
    """A running sandbox. ``url`` includes the base path, so ``url + "/bet/place"`` is the place
    endpoint; ``root_url`` is without it (the ``/_sandbox/`` pages live there)."""

    url: str
    root_url: str
    host: str
    port: int
    platform: Platform
    config: SandboxConfig

    def destination_url(self, destination: str) -> str:
        """The full URL of a contract destination, e.g. ``/bet/settle``."""
        return self.url + destination

    @property
    def admin_url(self) -> str:
        """Where the inspection page and the admin endpoints live."""
        return self.root_url + ADMIN_PREFIX


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # every answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                                 "pick another --port or --host") from None
    # Listening at once: connections made before the server loop runs wait in the backlog
    # instead of being refused.
    sock.listen(LISTEN_BACKLOG)
    return sock


def _resolve(platform_or_config: Platform | SandboxConfig | None,
             config: SandboxConfig | None) -> tuple[Platform, SandboxConfig]:
    if isinstance(platform_or_config, Platform):
        return platform_or_config, config or SandboxConfig(bugs=platform_or_config.bugs)
    config = platform_or_config or config or SandboxConfig()
    return config.build_platform(), config


def _uvicorn_server(app, log_config) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(
        app, lifespan="off", log_level="warning", log_config=log_config, access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S))
    quiet_dropped_connections()
    return server


def _urls(host: str, port: int, base_path: str) -> tuple[str, str]:
    shown = f"[{host}]" if ":" in host else host
    root = f"http://{shown}:{port}"
    return root + base_path, root


@contextmanager
def serve_in_thread(platform_or_config: Platform | SandboxConfig | None = None,
                    host: str = "127.0.0.1", port: int = 0, *,
                    config: SandboxConfig | None = None,
                    rng: Random | None = None,
                    clock: Callable[[], float] = time.time) -> Iterator[SandboxHandle]:
    """Serve a sandbox on ``host:port`` (0: a free port) in a daemon thread until the block ends.

    Pass a :class:`Platform` (to keep a reference to the live state, optionally with ``config``
    for faults and base path) or a :class:`SandboxConfig` (a platform is built from it).
    ``rng`` makes the fault draws reproducible; ``clock`` (seconds) places requests in the
    faults' outage windows.
    """
    platform, config = _resolve(platform_or_config, config)
    sock = _bind(host, port)
    server = _uvicorn_server(create_app(platform, config, rng=rng, clock=clock), log_config=None)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"sandbox-{sock.getsockname()[1]}")
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise ConfigurationError(f"the sandbox did not start on {host}:{port} within "
                                     f"{STARTUP_TIMEOUT_S:g} s; see the log above")
        time.sleep(0.01)
    bound_port = sock.getsockname()[1]
    url, root_url = _urls(host, bound_port, config.base_path)
    try:
        yield SandboxHandle(url, root_url, host, bound_port, platform, config)
    finally:
        server.should_exit = True
        thread.join(timeout=GRACEFUL_SHUTDOWN_S + 5)
        sock.close()


def _announce(line: str) -> None:
    print(line, flush=True)


def serve_forever(config: SandboxConfig, host: str, port: int,
                  announce: Callable[[str], None] = _announce) -> None:
    """Serve in the foreground until interrupted (Ctrl-C or SIGTERM)."""
    platform = config.build_platform()
    sock = _bind(host, port)
    url, root_url = _urls(host, sock.getsockname()[1], config.base_path)
    server = _uvicorn_server(create_app(platform, config), log_config=uvicorn.config.LOGGING_CONFIG)
    announce(f"Sandbox platform listening on {url}")
    announce(f"Inspection page: {root_url}{ADMIN_PREFIX}/")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
