"""The producer API server's settings and decisions, as plain values: which limits apply,
how they fit the open-files limit, which connections are refused and how often that is said."""
from __future__ import annotations

import argparse
import asyncio
import logging

import pytest

from api import server
from api.server import ConnectionGuard, Limits, QuietAcceptErrors, Refusal
from delivery.errors import ConfigurationError


def options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    server.add_options(parser)
    return parser.parse_args(argv)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_limits_come_from_the_command_line_then_the_environment_then_the_defaults():
    env = {"CALLBACKS_API_READ_TIMEOUT_S": "12.5", "CALLBACKS_API_MAX_CONNECTIONS": "400",
           "CALLBACKS_API_MAX_CONNECTIONS_PER_ADDRESS": "0"}
    assert server.limits_from(options(), {}) == Limits(30.0, 1000, 100)
    assert server.limits_from(options(), env) == Limits(12.5, 400, 0)
    assert server.limits_from(options("--read-timeout-s", "2", "--max-connections-per-address",
                                      "9"), env) == Limits(2.0, 400, 9)


@pytest.mark.parametrize("argv, env, message", [
    ((), {"CALLBACKS_API_READ_TIMEOUT_S": "30s"},
     "CALLBACKS_API_READ_TIMEOUT_S='30s' is not a number; set it to at least 0.001 or unset "
     "it for 30"),
    ((), {"CALLBACKS_API_MAX_CONNECTIONS": "1e3"},
     "CALLBACKS_API_MAX_CONNECTIONS='1e3' is not a whole number"),
    (("--read-timeout-s", "0"), {},
     "--read-timeout-s (or CALLBACKS_API_READ_TIMEOUT_S) is 0; it must be at least 0.001"),
    (("--max-connections-per-address", "-1"), {},
     "--max-connections-per-address (or CALLBACKS_API_MAX_CONNECTIONS_PER_ADDRESS) is -1"),
])
def test_a_bad_limit_names_its_option_and_variable(argv, env, message):
    with pytest.raises(ConfigurationError) as refused:
        server.limits_from(options(*argv), env)
    assert message in str(refused.value)


def test_the_total_is_lowered_to_leave_file_descriptors_free():
    assert server.fit(Limits(max_connections=1000), 1024) == Limits(
        max_connections=1024 - server.FD_RESERVE, open_files=1024)
    assert server.fit(Limits(max_connections=1000), 65536).max_connections == 1000
    assert server.fit(Limits(max_connections=1000), 50).max_connections == 1


def test_connections_beyond_an_address_share_or_the_total_are_refused():
    guard = ConnectionGuard(Limits(max_connections=3, max_connections_per_address=2))
    assert [guard.admit("10.0.0.1") for _ in range(3)] == [None, None, Refusal.PER_ADDRESS]
    assert [guard.admit("10.0.0.2") for _ in range(2)] == [None, Refusal.TOTAL]
    guard.release("10.0.0.1")
    assert guard.admit("10.0.0.2") is None
    assert (guard.total, guard.by_address) == (3, {"10.0.0.1": 1, "10.0.0.2": 2})


def test_no_per_address_limit_when_it_is_zero():
    guard = ConnectionGuard(Limits(max_connections=500, max_connections_per_address=0))
    assert all(guard.admit("10.0.0.1") is None for _ in range(500))


def test_refusals_are_said_once_per_address_and_interval(caplog):
    caplog.set_level(logging.WARNING, logger="api")
    clock = Clock()
    guard = ConnectionGuard(Limits(max_connections=10, max_connections_per_address=1), clock)
    guard.admit("10.0.0.1"), guard.admit("10.0.0.2")
    for _ in range(50):
        guard.admit("10.0.0.1")
        guard.admit("10.0.0.2")
        clock.now += server.REFUSAL_LOG_INTERVAL_S / 40
    clock.now = 100 + server.REFUSAL_LOG_INTERVAL_S + 30
    guard.admit("10.0.0.1")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused a connection: 10.0.0.1 holds 1 connections already, the most one address may "
        "(--max-connections-per-address)",
        "refused a connection: 10.0.0.2 holds 1 connections already, the most one address may "
        "(--max-connections-per-address)",
        "refused a connection: 10.0.0.1 holds 1 connections already, the most one address may "
        "(--max-connections-per-address) (39 more refused in the last 10 s)",
        "refused a connection: 10.0.0.2 holds 1 connections already, the most one address may "
        "(--max-connections-per-address) (39 more refused in the last 10 s)",
        "refused a connection: 10.0.0.1 holds 1 connections already, the most one address may "
        "(--max-connections-per-address) (9 more refused in the last 30 s)",
    ]


def test_accept_running_out_of_files_is_said_once_per_interval(caplog):
    caplog.set_level(logging.WARNING, logger="api")
    clock = Clock()
    quiet = QuietAcceptErrors(interval_s=10, clock=clock)
    loop = asyncio.new_event_loop()
    try:
        for _ in range(60):
            quiet(loop, {"message": "socket.accept() out of system resource",
                         "exception": OSError(24, "Too many open files")})
            clock.now += 0.25
        quiet(loop, {"message": "something else"})
    finally:
        loop.close()
    lines = [(r.name, r.getMessage()) for r in caplog.records]
    assert [name for name, _ in lines] == ["api.server", "api.server", "asyncio"]
    assert lines[0][1].startswith("cannot accept connections: [Errno 24] Too many open files; "
                                  "new clients wait until connections close")
    assert lines[1][1].endswith("(39 more in the last 10 s)")
    assert lines[2][1] == "something else"
