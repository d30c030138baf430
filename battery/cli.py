"""``callbacks integration-test`` — the integration battery from a terminal or a CI job.

Exit codes: 0 when every case passes and the preflight found no error, 1 when a case fails or an
endpoint is missing, 2 when the pipeline was cancelled (the endpoint did not answer, the session
is unknown, the player has too little money) or the options cannot work. Needs no database unless
``--brand`` or ``--store`` is given.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from battery import reports
from battery.results import CANCELLED, SUCCESS, CaseResult, RunResult
from battery.runner import DEFAULT_TIMEOUT_S, Target, run_battery
from battery.session import foreign_params_from
from battery.steps import DEFAULT_PLAYER_ID
from battery.suite import CASES
from delivery import brands, database, masking, migrate, settings, urls
from delivery.errors import CallbackDeskError, InvalidInput

#: Read when neither --token nor --foreign-params is given, so CI jobs need not put the session
#: on the command line.
TOKEN_ENV = "CALLBACKS_INTEGRATION_TOKEN"
FOREIGN_PARAMS_ENV = "CALLBACKS_INTEGRATION_FOREIGN_PARAMS"

EXIT_SUCCESS, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 2


def register(subparsers) -> None:
    """Add the ``integration-test`` subcommand."""
    parser = subparsers.add_parser(
        "integration-test",
        help=f"run the {len(CASES)}-case integration battery against a platform",
        description="Check the heartbeat and every endpoint, then send the battery's synthetic "
                    "bets to a platform's callback endpoints with the test player's "
                    "Foreign-Params and judge every answer. Exit 0: every case passed and no "
                    "endpoint is missing; 1: a case failed or an endpoint is missing; 2: "
                    "cancelled (endpoint unreachable, session unknown, too little money) or bad "
                    "options.")
    parser.add_argument("--url", help="platform base URL, e.g. https://ops.example/callbacks "
                        "(default with --brand: the brand's URL, with its credentials); "
                        "user:password@ in it is sent as Authorization: Basic, never stored")
    parser.add_argument("--foreign-params", metavar="JSON",
                        help="the Foreign-Params object of a logged-in test player, sent "
                             "exactly as given, e.g. '{\"session_id\": \"...\"}' (default: "
                             f"${FOREIGN_PARAMS_ENV})")
    parser.add_argument("--token", help='shorthand for --foreign-params \'{"token": TOKEN}\' '
                        f"(default: ${TOKEN_ENV})")
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
    foreign_params = _session(args)
    if args.store and not args.brand:
        raise InvalidInput("--store needs --brand NAME: runs are kept in a brand's history",
                           field="brand")
    brand = recorder = None
    if args.brand:
        engine = database.make_engine(database.database_url(settings.from_env()))
        migrate.require_current(engine)
        brand = brands.brand_named(engine, args.brand)
        if args.store:
            from battery.store import RunRecorder

            recorder = RunRecorder(engine, brand, source="cli")
    if not (args.url or brand):
        raise InvalidInput("--url is required (or --brand NAME to use the brand's URL)",
                           field="url")
    given = urls.parse(args.url or brand.base_url, what="--url")
    url, credentials = given.url, given.credentials
    if brand and credentials is None and url == brand.base_url:
        # The brand's own URL goes with the brand's credentials, and no other URL does.
        credentials = brands.url_credentials(engine, brand.id)
    target = Target(url, foreign_params, args.player_id, args.timeout_s, brand.id if brand else 0,
                    brand.signing_secret if brand else None,
                    brand.mask(brands.fingerprint_key(engine)) if brand else masking.KEYLESS,
                    credentials=credentials)
    target.check()
    print(f"Integration test of {url} — {len(CASES)} cases, timeout {args.timeout_s:g} s per "
          "request", flush=True)

    def progress(run_result: RunResult, case: CaseResult | None) -> None:
        if case is None:
            print("\n".join(["Preflight:", *reports.preflight_lines(run_result)]), flush=True)
        else:
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


def _session(args: argparse.Namespace) -> dict:
    """The Foreign-Params to test with: the options, else the environment."""
    if args.foreign_params or args.token:
        return foreign_params_from(token=args.token, foreign_params=args.foreign_params,
                                   field="--foreign-params" if args.foreign_params else "--token")
    from_env = os.environ.get(FOREIGN_PARAMS_ENV) or None
    token = None if from_env else os.environ.get(TOKEN_ENV)
    if not (from_env or token):
        raise InvalidInput(f"--foreign-params (or --token) is required, or set "
                           f"${FOREIGN_PARAMS_ENV} or ${TOKEN_ENV}: the Foreign-Params of a "
                           "logged-in test player's session", field="--foreign-params")
    return foreign_params_from(token=token, foreign_params=from_env, field=FOREIGN_PARAMS_ENV
                               if from_env else TOKEN_ENV)


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
