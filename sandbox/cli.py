"""``callbacks sandbox``: run the reference operator platform from the command line.

The main ``callbacks`` command calls :func:`register` with its subparsers. Until then, or for a
quick start, ``python -m sandbox --port 8090 --player tok-1:100`` runs the same command.
"""
from __future__ import annotations

import argparse
import sys

from contract.errors import ConfigurationError
from sandbox import faults
from sandbox.bugs import BUGS
from sandbox.config import config_from_args, normalize_base_path, parse_player, parse_session_key
from sandbox.ledger_csv import DEFAULT_CURRENCY, parse_currency
from sandbox.server import serve_forever

#: Port of ``callbacks sandbox`` unless ``--port`` says otherwise.
DEFAULT_PORT = 8090

_EPILOG = "bug switches (--bug NAME, repeatable):\n" + "\n".join(
    f"  {name:<22} {summary}" for name, summary in BUGS.items()) + """

players: --player TOKEN:BALANCE opens a session TOKEN (found in Foreign-Params under --session-key,
default "token") for a player whose id is TOKEN; more can be
added while running with POST /_sandbox/players {"token": ..., "balance": ..., "player_id": ...}.
With --state-file, saved balances win over --player on restart.
"""


def _checked(convert, what: str):
    """An argparse type that turns ConfigurationError/ValueError into a message with the value."""
    def parse(text: str):
        try:
            return convert(text)
        except (ConfigurationError, ValueError) as exc:
            if isinstance(exc, ConfigurationError):
                raise argparse.ArgumentTypeError(str(exc)) from None
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    parse.__name__ = what
    return parse


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise ValueError
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError
    return value


def register(subparsers) -> None:
    """Add the ``sandbox`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "sandbox", help="run the reference operator platform (wallets, faults, bugs on purpose)",
        description="Run a reference operator platform that implements the callback contract, "
                    "with switchable faults and bugs on purpose.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    add("--port", type=_checked(_port, "a port 0-65535"), default=DEFAULT_PORT,
        help="port to listen on; 0 picks a free one (default: %(default)s)")
    add("--player", action="append", metavar="TOKEN:BALANCE",
        type=_checked(lambda t: parse_player(t, "value"), "TOKEN:BALANCE"),
        help="open a session TOKEN for player TOKEN with BALANCE available (repeatable)")
    add("--state-file", metavar="PATH",
        help="keep players, bets and answers in this JSON file across restarts")
    add("--profile", metavar="FILE", help="JSON file with faults, bugs, players and base path "
                                          "(see sandbox/README.md); options win over it")
    add("--latency-ms", metavar="SPEC",
        type=_checked(lambda t: faults.parse_latency(t, "value"), "a latency"),
        help='added latency: "200", "50-400" (uniform) or "lognormal:MEDIAN_MS:SIGMA"')
    add("--error-rate", metavar="SHARE", type=_checked(_share, "a share between 0 and 1"),
        help="share of requests answered 5xx (not applied)")
    add("--timeout-rate", metavar="SHARE", type=_checked(_share, "a share between 0 and 1"),
        help="share of requests that hang --timeout-s and then lose their connection")
    add("--timeout-s", metavar="SECONDS", type=_checked(_positive_seconds, "seconds above 0"),
        help=f"how long a timed-out request hangs (default: {faults.DEFAULT_TIMEOUT_S:g})")
    add("--timeout-applies", action="store_true",
        help="apply a timed-out callback before hanging (the answer is lost, not the change)")
    add("--unsupported-rate", metavar="SHARE", type=_checked(_share, "a share between 0 and 1"),
        help="share of requests answered 400 with a code no destination supports")
    add("--outage", action="append", metavar="SPEC",
        type=_checked(lambda t: faults.parse_outage(t, "value"), "an outage"),
        help='"DOWN_S/EVERY_S" (e.g. 10/60) or "FROM_S-TO_S" after start (repeatable)')
    add("--outage-mode", choices=faults.OUTAGE_MODES,
        help="during an outage answer 503 or close the connection (default: 503)")
    add("--base-path", metavar="PATH",
        type=_checked(lambda t: normalize_base_path(t, "value"), "a path"),
        help="serve the destinations under this prefix, e.g. /api")
    add("--bug", action="append", choices=list(BUGS), metavar="NAME",
        help="switch on a bug on purpose (repeatable; see below)")
    add("--slow-s", metavar="SECONDS", type=_checked(_seconds, "seconds, at least 0"),
        help="how long the slow bug waits before answering (default: 15)")
    add("--session-key", metavar="KEY", type=_checked(parse_session_key, "a key"),
        help="the Foreign-Params key whose value names the player's session, as the operator "
             "chose it (default: token; the sportsbook's own tool uses session_id)")
    add("--currency", metavar="CODE", type=_checked(lambda t: parse_currency(t, "value"), "a code"),
        help="the currency column of the ledger CSV at /ledger.csv "
             f"(default: {DEFAULT_CURRENCY})")
    add("--seed", type=_checked(int, "an integer"),
        help="seed of the fault draws, for reproducible runs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; 0 on a clean stop, 2 when the settings cannot work."""
    try:
        config = config_from_args(args)
        serve_forever(config, args.host, args.port)
    except ConfigurationError as exc:
        print(f"callbacks sandbox: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m sandbox ARGS`` is ``callbacks sandbox ARGS``."""
    parser = argparse.ArgumentParser(prog="callbacks")
    register(parser.add_subparsers())
    args = parser.parse_args(["sandbox", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)
