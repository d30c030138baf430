"""``callbacks integration-test`` — the integration battery from a terminal or a CI job.

Exit codes: 0 when all 20 cases pass, 1 when any fails, 2 when the pipeline was cancelled (the
endpoint did not answer, the token is not a session, the player has too little money) or the
options cannot work. Needs no database unless ``--brand`` or ``--store`` is given.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from battery import reports
from delivery import database, migrate, settings, store
from battery.steps import DEFAULT_PLAYER_ID
from delivery.errors import CallbackDeskError, InvalidInput
from battery.results import CANCELLED, SUCCESS, CaseResult, RunResult
from battery.runner import DEFAULT_TIMEOUT_S, Target, run_battery

#: Read when --token is not given, so CI jobs need not put the token on the command line.
TOKEN_ENV = "CALLBACKS_INTEGRATION_TOKEN"

EXIT_SUCCESS, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 2


def register(subparsers) -> None:
    """Add the ``integration-test`` subcommand."""
    parser = subparsers.add_parser(
        "integration-test", help="run the 20-case integration battery against a platform",
        description="Send the battery's synthetic bets to a platform's callback endpoints as the "
                    "player of TOKEN and judge every answer. Exit 0: all 20 passed; 1: a case "
                    "failed; 2: cancelled (endpoint unreachable, token unknown, too little "
                    "money) or bad options.")
    parser.add_argument("--url", help="platform base URL, e.g. https://ops.example/callbacks "
                        "(default with --brand: the brand's URL)")
    parser.add_argument("--token", help=f"session token of a logged-in test player (default: "
                        f"${TOKEN_ENV})")
    parser.add_argument("--player-id", default=DEFAULT_PLAYER_ID,
                        help="bet_player_id to send (default: %(default)s)")
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S,
                        help="per-request timeout; no answer within it cancels the run "
                             "(default: %(default)s)")
    parser.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report (every step's "
                        "request and response)")
    parser.add_argument("--brand", help="test this brand's platform (its URL and signing secret)")
    parser.add_argument("--store", action="store_true", help="record the run, its callbacks and "
                        "attempts in the database, in the brand's pipeline history (needs --brand)")
    parser.add_argument("--triggered-by", default=os.environ.get("USER") or "cli",
                        help="who ran it, shown in the pipeline history (default: $USER)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the battery as ``args`` say; the exit code."""
    try:
        return _run(args)
    except CallbackDeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANCELLED


def _run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        raise InvalidInput(f"--token is required (or set ${TOKEN_ENV}): the session token of a "
                           "logged-in test player", field="token")
    if args.store and not args.brand:
        raise InvalidInput("--store needs --brand NAME: runs are kept in a brand's history",
                           field="brand")
    brand = recorder = None
    if args.brand:
        engine = database.make_engine(database.database_url(settings.from_env()))
        migrate.require_current(engine)
        brand = store.brand_named(engine, args.brand)
        if args.store:
            from battery.store import RunRecorder

            recorder = RunRecorder(engine, brand, source="cli")
    url = args.url or (brand.base_url if brand else None)
    if not url:
        raise InvalidInput("--url is required (or --brand NAME to use the brand's URL)",
                           field="url")
    target = Target(url, token, args.player_id, args.timeout_s, brand.id if brand else 0,
                    brand.signing_secret if brand else None)
    target.check()
    print(f"Integration test of {url} — 20 cases, timeout {args.timeout_s:g} s per request",
          flush=True)

    def progress(run_result: RunResult, case: CaseResult | None) -> None:
        if case is not None:
            print(reports.case_line(case, len(run_result.cases)), flush=True)

    result = run_battery(target, recorder=recorder, on_progress=progress,
                         triggered_by=args.triggered_by)
    for path, text in ((args.json, lambda: reports.dumps(result)),
                       (args.junit, lambda: reports.junit_xml(result))):
        if path:
            _write(path, text())
    print(reports.summary(result), flush=True)
    if result.run_id is not None:
        print(f"stored as run {result.run_id} of brand {brand.name}")
    return exit_code(result)


def exit_code(result: RunResult) -> int:
    """0 all passed, 1 a case failed, 2 cancelled."""
    if result.status == CANCELLED:
        return EXIT_CANCELLED
    return EXIT_SUCCESS if result.status == SUCCESS else EXIT_FAILED


def _write(path: str, text: str) -> None:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write the report {path}: {exc.strerror}", field="FILE",
                           value=path) from None
