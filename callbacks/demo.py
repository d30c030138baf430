"""``callbacks run`` — the whole product on one machine, for a demo or a first look.

Starts (or reuses) the database, applies migrations, starts three sandbox platforms registered as
three brands (healthy; flaky — latency, 5xx and timeouts; buggy — unsupported codes, an outage
window, and unsettles it answers but ignores), the delivery worker, the traffic simulator, the
producer HTTP API (with a token made for this run) and the dashboard, then prints where
everything is, with a curl command to paste and a reconciliation of the buggy platform's ledger.
Ctrl-C (or SIGTERM) stops every process it started.

The simulator opens a player session for each of its players (closed when the player leaves, a
few left to expire, and one per brand of a player the platform logged out already, which the
platform ends), and the demo's brands send heartbeats every
:data:`DEMO_HEARTBEAT_INTERVAL_S` seconds, so they show within seconds.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from battery import session
from callbacks.processes import die_with_parent, stop_on_signals, stop_processes
from delivery import audit, brands, database, migrate, settings
from delivery.errors import BrandExists
from users import store as accounts

#: The demo brands' heartbeat interval: short, so player sessions' heartbeats show at once.
DEMO_HEARTBEAT_INTERVAL_S = 5
#: The demo's platforms: brand name, sandbox options, delivery settings.
PLATFORMS = (
    ("healthy", [], dict(timeout_s=5.0, heartbeat_interval_s=DEMO_HEARTBEAT_INTERVAL_S)),
    ("flaky", ["--latency-ms", "lognormal:60:0.8", "--error-rate", "0.12",
               "--timeout-rate", "0.03", "--timeout-s", "6"],
     dict(timeout_s=3.0, retry_schedule_s=(0, 5, 15, 30, 60, 120, 300, 600),
          heartbeat_interval_s=DEMO_HEARTBEAT_INTERVAL_S)),
    ("buggy", ["--unsupported-rate", "0.15", "--outage", "20/90", "--base-path", "/api",
               "--bug", "ignores_unsettle"],
     dict(timeout_s=3.0, retry_schedule_s=(0, 5, 15, 30, 60, 120, 300, 600),
          heartbeat_interval_s=DEMO_HEARTBEAT_INTERVAL_S)),
)
#: Currency of the demo platforms' wallets (the Brand health page adds money up per currency).
DEMO_CURRENCY = "EUR"
#: First port tried for the sandboxes (then the next ones).
SANDBOX_PORT = 8091
DASHBOARD_PORT = 8501
#: First port tried for the producer API.
API_PORT = 8000
#: The demo's back-office users: name, role, brands (None: all). Their passwords are new on
#: every run and printed with the dashboard's URL. The manager has every demo brand, so the
#: failures the demo stages (flaky's 5xx and timeouts, buggy's unsupported codes, outage and
#: ignored unsettles) are all theirs to investigate; the analyst sees one brand.
DEMO_USERS = (
    ("demo-admin", accounts.ADMIN, None),
    ("demo-manager", accounts.INTEGRATION_MANAGER, ("healthy", "flaky", "buggy")),
    ("demo-analyst", accounts.ANALYST, ("healthy",)),
)
#: Session token of the player the printed curl example bets for (opened on the healthy sandbox).
CURL_PLAYER = "curl-player"


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    url: str | None = None


@dataclass
class Demo:
    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict, url: str | None = None) -> Child:
        """Start ``callbacks ARGS`` in its own session, its output in ``<log_dir>/<name>.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name.replace(' ', '-')}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "callbacks", *args], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=die_with_parent)
        log.close()
        child = Child(name, proc, url)
        self.children.append(child)
        return child

    def stop(self) -> None:
        """Stop every child, the last started first."""
        stop_processes([c.proc for c in reversed(self.children)], timeout_s=30)


def free_port(start: int) -> int:
    """The first port from ``start`` on that nobody listens on at 127.0.0.1."""
    for port in range(start, start + 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise OSError(f"no free port between {start} and {start + 199}")


def wait_listening(port: int, proc: subprocess.Popen, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def curl_example(api_url: str, token: str) -> list[str]:
    """Shell lines that queue one single bet's /bet/place for the healthy brand, then read it."""
    bet_id = f"curl-{uuid.uuid4().hex[:8]}"
    payload = {
        "request_id": str(uuid.uuid4()), "bet_player_id": CURL_PLAYER, "bet_type": 1,
        "bet_stake": "5.00",
        "bet_odds": [{"odd_id": "odd-1", "odd_ratio": "2.10", "odd_status": 0,
                      "match_id": "match-1", "match_status": 0, "market_id": "market-1"}],
        "bet_system_sizes": [], "competitors": [],
        "bet_created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body = {"callbacks": [{"bet_id": bet_id, "destination": "/bet/place", "payload": payload,
                           "foreign_params": {"token": CURL_PLAYER}}]}
    auth = f"-H 'Authorization: Bearer {token}'"
    return [
        f"curl -sS -X POST {api_url}/v1/brands/healthy/callbacks {auth} \\",
        f"  -H 'Content-Type: application/json' -d '{json.dumps(body)}'",
        f"curl -sS {api_url}/v1/bets/{bet_id}/callbacks {auth}",
    ]


def _open_curl_player(sandbox_url: str) -> None:
    """Give the curl example's player a wallet on the healthy sandbox (else its place is
    rejected: auth_session_unknown)."""
    _open_player(sandbox_url, CURL_PLAYER, "1000", "the curl example's player")


def _open_player(sandbox_url: str, token: str, balance: str, who: str) -> None:
    try:
        httpx.post(f"{sandbox_url}/_sandbox/players", timeout=5,
                   json={"token": token, "balance": balance}).raise_for_status()
    except httpx.HTTPError as exc:
        print(f"warning: could not open {who}: {exc}", file=sys.stderr)


#: Why the demo changes what it changes (the audit trail's reason).
DEMO_REASON = "callbacks run: the demo's sandbox platforms and users, started again"


def register_brand(engine, name: str, url: str, delivery: dict) -> None:
    """The demo's brand ``name`` on its sandbox at ``url``: added on the first run; later runs
    (a new port each time) change it, recorded in the audit trail like any change."""
    actor = audit.shell_actor(engine)
    try:
        brands.add(engine, name, url, actor, currency=DEMO_CURRENCY, reason=DEMO_REASON,
                   **delivery)
    except BrandExists:
        brands.change(engine, name, actor, base_url=url, currency=DEMO_CURRENCY,
                      reason=DEMO_REASON, **delivery)


def demo_users(engine) -> list[tuple[accounts.User, str]]:
    """(Re)create the demo's back-office users with fresh passwords: ``[(user, password)]``
    (recorded in the audit trail, never the passwords)."""
    made = []
    actor = audit.shell_actor(engine)
    for name, role, brand_names in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        try:
            accounts.remove_user(engine, name, actor=actor, reason=DEMO_REASON)
        except accounts.UnknownUser:
            pass
        made.append((accounts.add_user(engine, name, role, brands=brand_names or (),
                                       all_brands=brand_names is None, password=password,
                                       actor=actor, reason=DEMO_REASON),
                     password))
    return made


def run(args) -> int:
    conf = settings.from_env()
    embedded = conf.database_url is None
    say = lambda text: print(text, flush=True)  # noqa: E731
    say("starting the database" + (f" (embedded PostgreSQL, data in {conf.home})"
                                    if embedded else "") + "...")
    url = database.database_url(conf)
    engine = database.make_engine(url)
    applied = migrate.upgrade(engine)
    say(f"database ready: {database.redact_url(url)}"
        + (f" (applied {', '.join(applied)})" if applied else ""))
    env = dict(os.environ, DATABASE_URL=url, PYTHONUNBUFFERED="1")
    demo = Demo(conf.home / "logs")
    with stop_on_signals() as stop:
        return _run_children(args, conf, engine, env, demo, stop, say)


def _run_children(args, conf, engine, env, demo: Demo, stop, say) -> int:
    try:
        port = SANDBOX_PORT
        for name, options, delivery in PLATFORMS:
            port = free_port(port)
            base_path = options[options.index("--base-path") + 1] if "--base-path" in options \
                else ""
            child = demo.start(f"sandbox {name}", ["sandbox", "--port", str(port), *options],
                               env, url=f"http://127.0.0.1:{port}")
            if not wait_listening(port, child.proc):
                raise RuntimeError(f"the {name} sandbox did not start on port {port}")
            register_brand(engine, name, child.url + base_path, delivery)
            # The Integration Test page's test player (its page names the token).
            _open_player(child.url, session.DEMO_TOKEN, session.DEMO_BALANCE,
                         f"the Integration Test's player on the {name} sandbox")
            port += 1
        demo.start("worker", ["worker", "--processes", "1", "--threads", "8"], env)
        demo.start("simulator", ["simulate", "--rate", str(args.rate), "--duration", "0"], env)
        api_token = "demo_" + secrets.token_urlsafe(24)
        api_port = free_port(API_PORT)
        api = demo.start("producer api", ["api", "--port", str(api_port)],
                         dict(env, CALLBACKS_API_TOKENS=api_token),
                         url=f"http://127.0.0.1:{api_port}")
        if not wait_listening(api_port, api.proc):
            raise RuntimeError(f"the producer API did not start on port {api_port}")
        healthy = next(c for c in demo.children if c.name == "sandbox healthy")
        _open_curl_player(healthy.url)
        dashboard, users = None, []
        if not args.no_dashboard:
            users = demo_users(engine)
            dash_port = free_port(DASHBOARD_PORT)
            dashboard = demo.start("dashboard", ["dashboard", "--port", str(dash_port)], env,
                                   url=f"http://127.0.0.1:{dash_port}")
            wait_listening(dash_port, dashboard.proc, timeout_s=60)
        say("")
        say("Callback Desk is running:")
        if dashboard:
            say(f"  back-office dashboard   {dashboard.url}  — sign in as:")
            for user, password in users:
                say(f"      {user.name:<14} password {password:<18} ({user.role_label}, "
                    f"{user.brands_label()})")
        say(f"  producer HTTP API       {api.url}  (token {api_token}; "
            f"{api.url}/openapi.json)")
        for child in demo.children:
            if child.name.startswith("sandbox"):
                say(f"  {child.name:<22}  {child.url}/_sandbox/  (brand {child.name.split()[1]}; "
                    f"its ledger {child.url}/ledger.csv)")
        say(f"  delivery worker         1 process × 8 threads, "
            f"{'PostgreSQL' if not conf.broker_url else 'configured'} broker")
        say(f"  traffic simulator       {args.rate:g} bets/s on every brand; its players' "
            f"sessions get heartbeats every {DEMO_HEARTBEAT_INTERVAL_S} s "
            f"(`callbacks session list --brand healthy`)")
        say(f"  queue figures           {Path(sys.executable).parent / 'callbacks'} status")
        say(f"  logs                    {demo.log_dir}/")
        say("")
        say("Queue a bet over HTTP (paste it twice: the same request_id answers 200, queues "
            "nothing), then read it:")
        for line in curl_example(api.url, api_token):
            say(f"  {line}")
        buggy = next(c for c in demo.children if c.name == "sandbox buggy")
        say("Reconcile the buggy platform's own ledger with what was delivered (it ignores "
            "unsettles), after a minute or two:")
        say(f"  curl -s -o buggy-ledger.csv {buggy.url}/ledger.csv && "
            f"{Path(sys.executable).parent / 'callbacks'} reconcile --brand buggy "
            "buggy-ledger.csv --exported-at \"$(date -u -r buggy-ledger.csv +%FT%TZ)\"")
        say("Ctrl-C stops everything.")
        while not stop.is_set():
            for child in demo.children:
                if child.proc.poll() is not None:
                    say(f"{child.name} exited with code {child.proc.returncode} (see "
                        f"{demo.log_dir}/); stopping")
                    stop.set()
            stop.wait(0.5)
        return 0
    finally:
        say("stopping...")
        demo.stop()
        engine.dispose()
        if conf.database_url is None and not args.keep_database:
            database.stop_embedded(conf)
        say("stopped")


def register(subparsers) -> None:
    demo = subparsers.add_parser("run", help="run the whole product: database, sandboxes, "
                                 "worker, simulator, producer API and dashboard; Ctrl-C stops "
                                 "it")
    demo.add_argument("--rate", type=float, default=2.0, help="simulated bets per second")
    demo.add_argument("--no-dashboard", action="store_true", help="do not start the dashboard")
    demo.add_argument("--keep-database", action="store_true",
                      help="leave the embedded PostgreSQL running after Ctrl-C")
    demo.set_defaults(func=run)
