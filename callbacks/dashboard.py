"""``callbacks dashboard`` and ``callbacks seed-history``.

The main ``callbacks`` command calls :func:`register` with its subparsers. ``launch`` starts the
Streamlit server for any command that wants the dashboard running beside other components.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from callbacks.processes import die_with_parent, ended_cleanly, stop_on_signals, stop_process
from dashboard import connection
from delivery import database, migrate, settings
from delivery.errors import CallbackDeskError, InvalidInput

#: Default port of ``callbacks dashboard``.
DEFAULT_PORT = 8501
#: How often the running dashboard command folds closed hours into the Breakdowns rollups.
ROLLUP_REFRESH_S = 300.0
#: The folder holding dashboard/ and .streamlit/config.toml (the theme).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: What the server runs: dashboard/app.py behind the sign-in routes and security headers.
APP = PROJECT_ROOT / "dashboard" / "asgi.py"


def register(subparsers) -> None:
    """Add the ``dashboard`` and ``seed-history`` subcommands."""
    dash = subparsers.add_parser(
        "dashboard", help="run the back-office (Streamlit) and print its URL",
        description="Run the read-only back-office. Pages query as the callbacks_reader role "
                    "(DASHBOARD_DATABASE_URL overrides); this process keeps the Breakdowns "
                    "rollups fresh.")
    dash.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default: %(default)s)")
    dash.add_argument("--port", type=int, default=DEFAULT_PORT,
                      help="port to listen on; 0 picks a free one (default: %(default)s)")
    dash.set_defaults(func=cmd_dashboard)

    seed = subparsers.add_parser(
        "seed-history", help="fill the database with realistic synthetic history (demos, "
                             "benchmarks)",
        description="Write synthetic bets, callbacks and attempts with COPY. Open callbacks "
                    "it leaves are real queue entries: running workers will send them.")
    seed.add_argument("--attempts", type=int, required=True, metavar="N",
                      help="about how many attempts to write")
    seed.add_argument("--brand", metavar="NAME",
                      help="put everything in this brand (created if missing); default: three "
                           "demo brands")
    seed.add_argument("--days", type=float, default=30.0, metavar="D",
                      help="spread over the last D days (default: %(default)s)")
    seed.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    seed.set_defaults(func=cmd_seed_history)


# --- dashboard ------------------------------------------------------------------------------

def launch(owner_url: str, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
           reader_url: str | None = None, quiet: bool = True) -> tuple[subprocess.Popen, str]:
    """Start the Streamlit server for the database at ``owner_url``; ``(process, url)``.

    The pages read through ``reader_url`` (default: the read-only role on the same database);
    the Integration Test page records runs as the callbacks_battery role on it, the Reconcile
    page reconciliations as callbacks_reconciler.
    """
    if port == 0:
        port = free_port(host)
    battery_url = os.environ.get("DASHBOARD_BATTERY_DATABASE_URL") or connection.reader_url(
        owner_url, connection.BATTERY_ROLE)
    # The owner's URL too: sign-in reads password hashes, sessions and the cookie key with it,
    # and the pages the key that signs their brand scope.
    env = dict(os.environ, DATABASE_URL=database.sqlalchemy_url(owner_url),
               DASHBOARD_DATABASE_URL=reader_url or connection.reader_url(owner_url),
               DASHBOARD_BATTERY_DATABASE_URL=battery_url,
               DASHBOARD_OPERATOR_DATABASE_URL=os.environ.get("DASHBOARD_OPERATOR_DATABASE_URL")
               or connection.reader_url(owner_url, connection.OPERATOR_ROLE),
               DASHBOARD_RECONCILER_DATABASE_URL=os.environ.get(
                   "DASHBOARD_RECONCILER_DATABASE_URL")
               or connection.reader_url(owner_url, connection.RECONCILER_ROLE),
               PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                        os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "dashboard.server", "run", str(APP),
               "--server.address", host, "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=output,
                               stderr=output, start_new_session=True,
                               preexec_fn=die_with_parent)
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1") else host
    return process, f"http://{shown}:{port}/"


def wait_ready(process: subprocess.Popen, url: str, timeout_s: float = 30.0) -> None:
    """Block until the server answers its health check; raise if it exits or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the dashboard exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the dashboard did not answer at {url} within {timeout_s:g} s")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def cmd_dashboard(args) -> int:
    owner_url = database.database_url(settings.from_env())
    owner = database.make_engine(owner_url, pool_size=1)
    migrate.require_current(owner)
    reader_url = connection.dashboard_url()
    reader = connection.make_engine(reader_url)
    try:
        connection.check(reader)
    finally:
        reader.dispose()
    process, url = launch(owner_url, host=args.host, port=args.port, reader_url=reader_url,
                          quiet=False)
    with stop_on_signals() as stop:
        refresher = threading.Thread(target=_refresh_rollups, args=(owner, stop), daemon=True,
                                     name="rollups")
        try:
            wait_ready(process, url)
            print(f"dashboard: {url}  (reading as {sa.make_url(reader_url).username}; "
                  "Ctrl-C stops it)", flush=True)
            refresher.start()
            while not stop.is_set() and process.poll() is None:
                stop.wait(0.5)
        finally:
            stop.set()
            stop_process(process, timeout_s=10)
            owner.dispose()
    return 0 if ended_cleanly(process) else 1


def _refresh_rollups(owner: sa.Engine, stop: threading.Event) -> None:
    from demo.seeding import refresh_rollups

    while not stop.is_set():
        try:
            refresh_rollups(owner)
        except sa.exc.SQLAlchemyError as exc:
            print(f"warning: could not refresh the Breakdowns rollups: {exc}", file=sys.stderr)
        stop.wait(ROLLUP_REFRESH_S)


# --- seed-history ---------------------------------------------------------------------------

def cmd_seed_history(args) -> int:
    from demo.seeding import seed_history

    if args.attempts <= 0:
        raise InvalidInput("--attempts must be greater than 0", field="attempts",
                           value=args.attempts)
    if args.days <= 0:
        raise InvalidInput("--days must be greater than 0", field="days", value=args.days)
    url = database.database_url(settings.from_env())
    engine = database.make_engine(url, pool_size=1)
    migrate.require_current(engine)
    print(f"database: {database.redact_url(url)}")
    report = seed_history(engine, args.attempts, brand=args.brand, days=args.days,
                          seed=args.seed, progress=lambda text: print(text, flush=True))
    print(f"wrote {report.attempts:,} attempts, {report.callbacks:,} callbacks, "
          f"{report.bets:,} bets in {report.load_s:.1f} s ({report.attempts_per_s:,.0f} "
          f"attempts/s); rollups refreshed in {report.rollup_s:.1f} s")
    engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run these subcommands on their own (``python -m callbacks.dashboard``)."""
    parser = argparse.ArgumentParser(prog="callbacks")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CallbackDeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
