"""``callbacks`` — the command line of Callback Desk. Every subcommand has ``--help``.

Each command is defined by a ``register(sub)`` function beside the component it runs. The root
parser knows every command's name and help line (:data:`COMMANDS`) and imports only the module
of the command being run, so ``callbacks --help`` and each command start without importing the
others (and their SQLAlchemy, pandas, pyarrow, DuckDB ...). ``tests/test_layers.py`` holds
:data:`COMMANDS` to what the modules register.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Collection

from contract.errors import CallbackDeskError

#: Every command in the order ``--help`` lists them: its help line, and the module whose
#: ``register(sub)`` defines it (with its arguments and the function that runs it).
COMMANDS: dict[str, tuple[str, str]] = {
    "db": ("database: upgrade or show the schema, show the URL, stop embedded",
           "callbacks.commands"),
    "brand": ("operator brands and their delivery settings", "callbacks.commands"),
    "session": ("player sessions: open, close, list (live ones get heartbeats)",
                "callbacks.commands"),
    "enqueue": ("queue callbacks from a JSON Lines file", "callbacks.commands"),
    "worker": ("run the scheduler and delivery workers", "callbacks.commands"),
    "scheduler": ("run only the scheduler (claims due callbacks, sweeps expired leases)",
                  "callbacks.commands"),
    "status": ("queue figures", "callbacks.commands"),
    "history": ("every attempt for one bet (archive included)", "callbacks.commands"),
    "sandbox": ("run the reference operator platform (wallets, faults, bugs on purpose)",
                "sandbox.cli"),
    "simulate": ("play the sportsbook: create bets and walk them through lifecycles",
                 "simulator.cli"),
    "integration-test": ("run the 20-case integration battery against a platform",
                         "battery.cli"),
    "dashboard": ("run the back-office (Streamlit) and print its URL", "callbacks.dashboard"),
    "seed-history": ("fill the database with realistic synthetic history (demos, benchmarks)",
                     "callbacks.dashboard"),
    "api": ("serve the producer HTTP API (queue callbacks, read a bet's callbacks)", "api.cli"),
    "api-token": ("bearer tokens of the producer API", "api.cli"),
    "run": ("run the whole product: database, sandboxes, worker, simulator, producer API and "
            "dashboard; Ctrl-C stops it", "callbacks.demo"),
    "user": ("back-office users: add, list, remove, change a password, sign out",
             "callbacks.users"),
    "archive": ("move whole months of history past the retention to Parquet files",
                "archive.cli"),
    "alert": ("alert rules per brand, notification URLs, alert history", "alerts.cli"),
    "retry": ("send a bet's exhausted callbacks (or its failed head) again now", "actions.cli"),
    "recover": ("send a brand's failed callbacks since a time again", "actions.cli"),
    "cancel": ("stop a queued callback of a bet from being sent", "actions.cli"),
    "actions": ("the audit trail of actions taken", "actions.cli"),
    "reconcile": ("compare an operator's ledger with what we delivered, bet by bet",
                  "reconcile.cli"),
    "audit": ("the audit trail: configuration changes and queue actions, newest first",
              "callbacks.audit"),
}

#: Commands that run a few statements and exit. They give up on a database that sends nothing
#: for :data:`QUIET_LIMIT_S` and accepts no new connection either (:func:`delivery.stalls.
#: quiet_limit`); the others serve, seed, queue or archive — long statements, or COPY, which
#: that limit's wait callback refuses.
QUICK_COMMANDS = frozenset({"status", "history", "brand", "session", "api-token", "user",
                            "alert", "retry", "recover", "cancel", "actions"})
#: How long a quick command waits on a silent database before asking whether it is frozen.
QUIET_LIMIT_S = 5.0


def build_parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The root parser with ``commands`` defined in full (every command when None); the
    others are listed by name and help line only, and their modules are not imported."""
    parser = argparse.ArgumentParser(
        prog="callbacks", description="Callback Desk: deliver bet callbacks and explain them.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = COMMANDS if commands is None else [c for c in commands if c in COMMANDS]
    for module in dict.fromkeys(COMMANDS[name][1] for name in wanted):
        importlib.import_module(module).register(sub)
    for name, (help_line, _) in COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_line)
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The command named on the command line (the first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_in(argv)
    args = build_parser([command] if command else []).parse_args(argv)
    try:
        if args.command in QUICK_COMMANDS:
            from delivery import stalls

            with stalls.quiet_limit(QUIET_LIMIT_S, probe=True):
                return args.func(args)
        return args.func(args)
    except CallbackDeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        code = _database_unavailable(exc)
        if code is None:
            raise
        return code


def _database_unavailable(exc: Exception) -> int | None:
    """Exit status 3 with a line saying why, when ``exc`` means the database cannot be
    reached or has no free connection; None for anything else."""
    sa = sys.modules.get("sqlalchemy")
    if sa is None:  # nothing that ran has touched a database
        return None
    if isinstance(exc, sa.exc.TimeoutError):
        print("error: database unavailable: every connection is busy; try again shortly",
              file=sys.stderr)
        return 3
    if isinstance(exc, sa.exc.DBAPIError):
        from delivery import database

        if database.connection_lost(exc):
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            print(f"error: database unavailable: {reason}", file=sys.stderr)
            return 3
    return None


if __name__ == "__main__":
    sys.exit(main())
