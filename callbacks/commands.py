"""The core commands of ``callbacks``: db, brand, session, enqueue, worker, scheduler, status and
history (:func:`register`); the root parser and main() are in :mod:`callbacks.main`."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

import contract
from actions import cli as manager_actions
from alerts.monitor import AlertMonitor
from api import store as api_store
from archive import history as archive_history
from archive import reader as archive_reader
from callbacks.processes import (
    ask_to_stop,
    die_with_parent,
    ended_cleanly,
    stop_on_signals,
    wait_or_kill,
)
from contract import checking
from delivery import (
    audit,
    brands,
    database,
    metrics,
    migrate,
    sessions,
    settings,
    store,
    urls,
    validation,
)
from delivery import broker as brokers
from delivery.decisions import parse_schedule
from delivery.errors import InvalidInput
from delivery.records import OPEN_STATES, CallbackState
from delivery.scheduler import METRICS as scheduler_metrics
from delivery.scheduler import Scheduler
from delivery.validation import NewCallback, parse_callback


def _engine(*, require_schema: bool = True) -> tuple[sa.Engine, str]:
    conf = settings.from_env()
    url = database.database_url(conf)
    engine = database.make_engine(url, connect_timeout_s=database.CONNECT_TIMEOUT_S)
    if require_schema:
        migrate.require_current(engine)
    return engine, url


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, default=_json_default))


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


# --- db -------------------------------------------------------------------------------------

def cmd_db_upgrade(args) -> int:
    engine, url = _engine(require_schema=False)
    done = migrate.apply(engine)
    where = database.redact_url(url)
    if done.trusted:
        print(f"recorded the checksums of {', '.join(done.trusted)} (applied before checksums "
              "were kept; trusted as the files are now)")
    print(f"applied {', '.join(done.applied)} to {where}" if done.applied
          else f"database {where} is up to date")
    return 0


def cmd_db_schema(args) -> int:
    from delivery import schema_dump

    engine, _ = _engine()
    if args.write:
        print(f"wrote {schema_dump.write(engine)}")
    else:
        print(schema_dump.dump(engine), end="")
    return 0


def cmd_db_url(args) -> int:
    print(_engine(require_schema=False)[1])
    return 0


def cmd_db_stop(args) -> int:
    stopped = database.stop_embedded(settings.from_env())
    print("embedded PostgreSQL stopped" if stopped else "no embedded PostgreSQL data here")
    return 0


# --- brands ---------------------------------------------------------------------------------

def _brand_settings(args, *, adding: bool) -> dict:
    """The delivery settings given on the command line, checked; ``brand set`` leaves out those
    not given (None), ``brand add`` fills in the contract's defaults."""
    given = {}
    if args.retry_schedule is not None:
        try:
            given["retry_schedule_s"] = parse_schedule(args.retry_schedule)
        except ValueError as exc:
            raise InvalidInput(f"--retry-schedule: {exc}", field="retry_schedule") from None
    for option, key in (("--timeout-s", "timeout_s"), ("--max-in-flight", "max_in_flight")):
        value = getattr(args, key)
        if value is not None and value <= 0:
            raise InvalidInput(f"{option} must be greater than 0", field=key, value=value)
        given[key] = value
    given["signing_secret"] = args.signing_secret
    currency = args.currency.strip().upper() if args.currency is not None else None
    if currency and not (currency.isascii() and currency.isalnum() and len(currency) <= 12):
        raise InvalidInput(f"--currency {args.currency!r} must be a currency code such as EUR",
                           field="currency", value=args.currency)
    given["currency"] = currency
    if args.heartbeat_interval_s is not None:
        given["heartbeat_interval_s"] = validation.heartbeat_interval(
            args.heartbeat_interval_s, "--heartbeat-interval-s")
    if adding:
        given.setdefault("retry_schedule_s", contract.DEFAULT_RETRY_SCHEDULE_S)
        given["timeout_s"] = given["timeout_s"] or contract.DEFAULT_TIMEOUT_S
        given["max_in_flight"] = given["max_in_flight"] or contract.DEFAULT_MAX_IN_FLIGHT
        given["signing_secret"] = given["signing_secret"] or None
        given["currency"] = given["currency"] or None
        given.setdefault("heartbeat_interval_s", contract.DEFAULT_HEARTBEAT_INTERVAL_S)
    return given


def _describe_brand(brand, credentials: str | None = None) -> str:
    return (f"brand {brand.name} → {brand.base_url}{_with_credentials(credentials)} "
            f"(timeout {brand.timeout_s:g} s, {len(brand.retry_schedule_s)} attempts, at most "
            f"{brand.max_in_flight} in flight, a heartbeat every {brand.heartbeat_interval_s} s "
            "per live player session)")


def cmd_brand_add(args) -> int:
    if args.mask_key is not None:
        print(MASK_KEY_NOTICE, file=sys.stderr)
    settings_given = _brand_settings(args, adding=True)
    target = urls.parse(args.url, what="--url")  # refused before anything is read
    engine, _ = _engine()
    actor = audit.shell_actor(engine, args.actor)
    brand = brands.add(engine, args.name, args.url, actor, reason=args.reason,
                       **settings_given)
    print(_describe_brand(brand, target.credentials))
    return 0


def cmd_brand_set(args) -> int:
    given = {k: v for k, v in _brand_settings(args, adding=False).items() if v is not None}
    if not given:
        raise InvalidInput("give at least one setting to change (--retry-schedule, --timeout-s, "
                           "--max-in-flight, --signing-secret, --currency, "
                           "--heartbeat-interval-s); the URL is changed "
                           f"with `callbacks brand set-url {args.name} URL --reason TEXT`",
                           field="name", value=args.name)
    engine, _ = _engine()
    actor = audit.shell_actor(engine, args.actor)
    brand, changed = brands.change(engine, args.name, actor, reason=args.reason, **given)
    print(_describe_brand(brand) if changed
          else f"brand {brand.name} has these settings already; nothing was changed")
    return 0


def _with_credentials(credentials: str | None) -> str:
    """Said after a brand's URL when it has credentials (which are never shown)."""
    return " with Basic credentials (stored apart, never shown)" if credentials else ""


#: Said when ``brand add --mask-key`` is given: the option is kept so scripts keep working.
MASK_KEY_NOTICE = ("note: --mask-key is no longer needed and is ignored: every Foreign-Params "
                   "value is masked unless its key is declared visible with `callbacks brand "
                   "set-visible-keys NAME KEY...`")


def cmd_brand_set_visible_keys(args) -> int:
    keys = [k for value in args.keys for k in value.split(",") if k.strip()]
    engine, _ = _engine()
    actor = audit.shell_actor(engine, args.actor)
    brand = brands.set_visible_keys(engine, args.name, tuple(keys), actor, reason=args.reason)
    if brand.visible_keys:
        print(f"brand {brand.name}: Foreign-Params {', '.join(brand.visible_keys)} shown in "
              "clear; every other value masked")
    else:
        print(f"brand {brand.name}: every Foreign-Params value masked")
    return 0


def cmd_brand_list(args) -> int:
    engine, _ = _engine()
    with_credentials = brands.brands_with_url_credentials(engine)
    rows = [dict(b.__dict__, signing_secret=bool(b.signing_secret),
                 url_credentials=b.id in with_credentials) for b in brands.all_brands(engine)]
    if args.json:
        _print_json(rows)
    for r in [] if args.json else rows:
        print(f"{r['name']:<20} {r['base_url']}"
              + ("  (Basic credentials)" if r["url_credentials"] else "")
              + f"  timeout {r['timeout_s']:g}s  "
              f"schedule {','.join(map(str, r['retry_schedule_s']))}  "
              f"max in flight {r['max_in_flight']}  "
              f"heartbeat {r['heartbeat_interval_s']}s"
              + (f"  visible {','.join(r['visible_keys'])}" if r["visible_keys"] else ""))
    return 0


# --- enqueue --------------------------------------------------------------------------------

def read_callbacks(data: bytes) -> list[tuple[int, NewCallback]]:
    """Parse and validate every line of a JSON Lines file given as bytes: ``(line number,
    callback)`` pairs. The first bad line raises :class:`InvalidInput` naming the line (each
    line is decoded on its own, so a bad byte names its line). A ``request_id`` given on two
    lines is refused with both line numbers."""
    parsed, lines_of = [], {}
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        if not raw_line.strip():
            continue
        try:
            raw = json.loads(_decoded(raw_line, number), parse_constant=_no_constant)
        except RecursionError:
            raise InvalidInput(f"line {number}: nested too deeply to be a callback "
                               f"(at most {checking.MAX_DEPTH} levels)", line=number) from None
        except ValueError as exc:
            # The decoder's message gives a position, never the text (it may hold secrets).
            raise InvalidInput(f"line {number}: not valid JSON ({exc})", line=number) from None
        try:
            callback = parse_callback(raw)
        except InvalidInput as exc:
            raise exc.at_line(number) from None
        earlier = lines_of.setdefault(callback.request_id, number)
        if earlier != number:
            raise InvalidInput(f"line {number}: request_id {callback.request_id!r} is also on "
                               f"line {earlier}; give each callback its own request_id",
                               field="payload.request_id", value=callback.request_id,
                               line=number)
        parsed.append((number, callback))
    return parsed


def _decoded(raw_line: bytes, number: int) -> str:
    try:
        return raw_line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"line {number}: not UTF-8 text (byte 0x{raw_line[exc.start]:02x} at "
                           f"column {exc.start + 1}); save the file as UTF-8", line=number
                           ) from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number; numbers must be finite")


def refuse_queued_already(engine, numbered: list[tuple[int, NewCallback]]) -> None:
    """A file's callbacks must be new: a request_id queued already is refused with its lines
    (the API answers repeats; a file read twice is a mistake to stop, not to repeat)."""
    found = api_store.queued_by_request_id(engine, [cb.request_id for _, cb in numbered])
    queued = [(number, cb) for number, cb in numbered if cb.request_id in found]
    if queued:
        number, first = queued[0]
        lines = ", ".join(str(n) for n, _ in queued[:10]) + (", ..." if len(queued) > 10 else "")
        raise InvalidInput(f"line {number}: request_id {first.request_id!r} is queued already "
                           f"(lines {lines}); nothing was queued — drop the lines queued "
                           "before, or give new callbacks new request_ids",
                           field="payload.request_id", value=first.request_id, line=number)


def cmd_enqueue(args) -> int:
    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(args.file, "rb") as stream:
                data = stream.read()
        except OSError as exc:
            raise InvalidInput(f"cannot read {args.file}: {exc.strerror}", field="FILE",
                               value=args.file) from None
    numbered = read_callbacks(data)
    if not numbered:
        raise InvalidInput(f"{args.file} holds no callbacks", field="FILE", value=args.file)
    engine, _ = _engine()
    refuse_queued_already(engine, numbered)
    callbacks = [cb for _, cb in numbered]
    queued = store.enqueue(engine, args.brand, callbacks)
    if args.json:
        _print_json([e.__dict__ for e in queued])
    else:
        skipped = sum(1 for e in queued if e.state == CallbackState.SKIPPED)
        print(f"queued {len(queued) - skipped} callback(s) for {len({e.bet_id for e in queued})} "
              f"bet(s) on brand {args.brand}" + (f"; {skipped} skipped" if skipped else ""))
    return 0


# --- player sessions ------------------------------------------------------------------------

def _foreign_params_option(text: str) -> dict:
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        # The decoder's message would quote the text: it holds the player's session secrets.
        raise InvalidInput('--foreign-params must be a JSON object such as \'{"token": "..."}\' '
                           "(the text given is not valid JSON; not shown: it holds session "
                           "secrets)", field="foreign_params") from None
    return value


def cmd_session_open(args) -> int:
    params = _foreign_params_option(args.foreign_params)
    expires_at = None
    if args.expires_at is not None:
        expires_at = sessions.parse_expires_at(args.expires_at)
    engine, _ = _engine()
    opened = sessions.open(engine, args.brand, args.id, params, ttl_s=args.ttl_s,
                           expires_at=expires_at)
    session = opened.session
    if args.json:
        _print_json(session)
        return 0
    end = (f"until {session['expires_at']:%Y-%m-%d %H:%M:%S %Z}" if session["expires_at"]
           else "until closed")
    print(f"session {session['session_id']} of brand {session['brand']} "
          f"{'opened' if opened.created else 'refreshed'}: live {end}, next heartbeat "
          f"{session['next_beat_at']:%H:%M:%S}")
    return 0


def cmd_session_close(args) -> int:
    engine, _ = _engine()
    before = sessions.get(engine, args.brand, args.id)
    session = sessions.close(engine, args.brand, args.id) if before else None
    if session is None:
        raise InvalidInput(f"brand {args.brand} has no player session {args.id!r}; `callbacks "
                           f"session list --brand {args.brand}` lists them", field="id",
                           value=args.id)
    if args.json:
        _print_json(session)
    elif before["state"] == "live":
        print(f"session {session['session_id']} of brand {session['brand']} closed after "
              f"{session['heartbeats_sent']} heartbeat(s)")
    else:
        print(f"session {session['session_id']} of brand {session['brand']} was over already "
              f"({before['state']}); nothing was changed")
    return 0


#: The columns of `session list`: (heading, key, width).
SESSION_COLUMNS = (("SESSION", "session_id", 24), ("STATE", "state", 17),
                   ("BEATS", "heartbeats_sent", 6), ("LAST", "last_status", 5),
                   ("LAST AT", "last_at", 19), ("OPENED AT", "opened_at", 19),
                   ("EXPIRES AT", "expires_at", 19))


def session_table(rows: list[dict]) -> list[str]:
    """Sessions as the lines of a table, one per session under a heading."""
    def cell(value, width: int) -> str:
        if value is None:
            text = "-"
        elif isinstance(value, datetime):
            text = f"{value.astimezone():%Y-%m-%d %H:%M:%S}"
        else:
            text = str(value)
        return text if len(text) <= width else text[:width - 1] + "…"

    lines = ["  ".join(f"{h:<{w}}" for h, _, w in SESSION_COLUMNS).rstrip()]
    for r in rows:
        lines.append("  ".join(f"{cell(r[k], w):<{w}}" for _, k, w in SESSION_COLUMNS).rstrip())
    return lines


def cmd_session_list(args) -> int:
    engine, _ = _engine()
    rows = sessions.list_sessions(engine, args.brand, state=args.state, limit=args.limit)
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print(f"no {args.state + ' ' if args.state else ''}player sessions on brand "
              f"{args.brand}")
        return 0
    print("\n".join(session_table(rows)))
    return 0


def _register_sessions(sub) -> None:
    session = sub.add_parser(
        "session", help="player sessions: open, close, list (live ones get heartbeats)",
        description="While a player session is live, its brand's platform gets POST /heartbeat "
                    "with the session's Foreign-Params once per the brand's heartbeat interval, "
                    "until it is closed, reaches its end, or the platform answers "
                    "auth_session_unknown.")
    session_sub = session.add_subparsers(dest="session_command", required=True,
                                         metavar="ACTION")
    opening = session_sub.add_parser(
        "open", help="open a session, or refresh a live one (new Foreign-Params and end)")
    opening.add_argument("--brand", required=True)
    opening.add_argument("--id", required=True, help="the session id (1 to 200 characters)")
    opening.add_argument("--foreign-params", required=True, metavar="JSON",
                         help='the session\'s Foreign-Params, e.g. \'{"token": "..."}\'')
    end = opening.add_mutually_exclusive_group()
    end.add_argument("--ttl-s", type=int, metavar="N",
                     help="it ends N seconds from now (at most 30 days); default: when closed")
    end.add_argument("--expires-at", metavar="TIME",
                     help="it ends at TIME, RFC 3339 with its offset "
                          "(2026-12-05T18:00:00Z); default: when closed")
    opening.add_argument("--json", action="store_true", help="print the session as JSON")
    opening.set_defaults(func=cmd_session_open)
    closing = session_sub.add_parser("close", help="close a session (no more heartbeats)")
    closing.add_argument("--brand", required=True)
    closing.add_argument("--id", required=True, help="the session id")
    closing.add_argument("--json", action="store_true", help="print the session as JSON")
    closing.set_defaults(func=cmd_session_close)
    listing = session_sub.add_parser("list", help="a brand's sessions, the latest opened first")
    listing.add_argument("--brand", required=True)
    listing.add_argument("--state", choices=contract.SESSION_STATES,
                         help="only the sessions in this state")
    listing.add_argument("--limit", type=int, default=1000,
                         help="at most N sessions (default: %(default)s)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_session_list)


# --- worker ---------------------------------------------------------------------------------

def _scheduler_with_alerts(engine, broker, conf, stop: threading.Event) -> Scheduler:
    """The scheduler, with the alert thread (rules evaluated, notifications sent) running
    beside it until ``stop`` is set."""
    AlertMonitor(engine).start(stop)
    return Scheduler(engine, broker, conf)


def cmd_scheduler(args) -> int:
    """The scheduler alone, for deployments that run workers elsewhere."""
    conf = settings.from_env()
    engine, url = _engine()
    broker = brokers.make_broker(conf.broker_url, url)
    print(f"scheduler on {database.redact_url(url)}, broker {brokers.describe(conf.broker_url)}; "
          "Ctrl-C stops it", flush=True)
    server = None
    if args.metrics_port is not None:
        server = _serve_metrics(metrics.registry_for(engine, *scheduler_metrics), args)
    try:
        with stop_on_signals() as stop:
            _start_daily_archive(engine, conf, stop)
            _scheduler_with_alerts(engine, broker, conf, stop).run(stop)
    finally:
        broker.close()
        if server is not None:
            server.shutdown()
    print("scheduler stopped")
    return 0


#: How much longer than the stop's grace period the worker processes may take to stop (closing
#: what is left, stopping Dramatiq's threads) before ``callbacks worker`` kills them. A service
#: manager's stop timeout must cover both (docker-compose.yml's stop_grace_period).
WORKER_STOP_MARGIN_S = 10.0


def worker_stop_s(conf: settings.Settings) -> float:
    """How long ``callbacks worker`` waits for its worker processes to stop before killing
    them."""
    return conf.stop_grace_s + WORKER_STOP_MARGIN_S


def cmd_worker(args) -> int:
    conf = settings.from_env()
    if not os.environ.get("CALLBACKS_WORKER_PROCESSES"):
        # Its processes share each brand's max_in_flight (set the variable to the total when
        # other hosts' workers share the queue too).
        conf = dataclasses.replace(conf, worker_processes=args.processes)
    engine, url = _engine()
    broker = brokers.make_broker(conf.broker_url, url)
    env = dict(os.environ, DATABASE_URL=url, CALLBACKS_SUPERVISOR_PID=str(os.getpid()),
               CALLBACKS_WORKER_PROCESSES=str(conf.worker_processes))
    # The Dramatiq processes count into a folder of this run's own (prometheus-client's
    # multiprocess mode); this process serves their sum with its scheduler's counters.
    # Folders left by workers killed outright (SIGKILL) go first.
    metrics.remove_stale_counts_dirs(Path(tempfile.gettempdir()))
    counts_dir = tempfile.mkdtemp(prefix=metrics.counts_dir_prefix(os.getpid()))
    env.update(metrics.multiprocess_env(counts_dir))
    command = [sys.executable, "-m", "dramatiq", "delivery.actors", "--queues", conf.queue_name,
               "--processes", str(args.processes), "--threads", str(args.threads)]
    print(f"database: {database.redact_url(url)}")
    print(f"broker:   {brokers.describe(conf.broker_url)}")
    print(f"workers:  {args.processes} process(es) × {args.threads} thread(s)"
          + ("" if not args.no_scheduler else ", no scheduler") + "; Ctrl-C stops cleanly",
          flush=True)
    server = None
    if args.metrics_port is not None:
        server = _serve_metrics(metrics.worker_registry(engine, counts_dir), args)
    # Its own session: a terminal Ctrl-C reaches only this process, which stops the workers once.
    # If this process is killed outright, the workers get SIGTERM and stop too.
    workers = subprocess.Popen(command, env=env, start_new_session=True,
                               preexec_fn=die_with_parent)
    with stop_on_signals() as stop:
        scheduler = threading.Thread(target=lambda: _scheduler_with_alerts(
            engine, broker, conf, stop).run(stop), name="scheduler", daemon=True)
        if not args.no_scheduler:
            scheduler.start()
            _start_daily_archive(engine, conf, stop)
        try:
            while not stop.is_set():
                if workers.poll() is not None:
                    print(f"worker processes exited with code {workers.returncode}",
                          file=sys.stderr)
                    break
                stop.wait(0.5)
        finally:
            stop.set()
            # The worker processes begin their graceful stop while the scheduler stops; they
            # may take the grace period, and a little more to close what is left.
            ask_to_stop([workers])
            if scheduler.is_alive():
                scheduler.join(timeout=10)
            wait_or_kill([workers], timeout_s=worker_stop_s(conf))
            broker.close()
            if server is not None:
                server.shutdown()
            shutil.rmtree(counts_dir, ignore_errors=True)
    print("worker stopped")
    return 0 if ended_cleanly(workers) else 1


def _serve_metrics(registry, args):
    """Serve /metrics, or say why not and carry on (delivery matters more than metrics)."""
    try:
        server = metrics.serve(registry, args.metrics_host, args.metrics_port)
    except OSError as exc:
        print(f"warning: metrics not served: cannot listen on {args.metrics_host}:"
              f"{args.metrics_port} ({exc.strerror}); pick another --metrics-port",
              file=sys.stderr, flush=True)
        return None
    host = f"[{args.metrics_host}]" if ":" in args.metrics_host else args.metrics_host
    print(f"metrics:  http://{host}:{server.server_port}/metrics", flush=True)
    return server


def _start_daily_archive(engine, conf: settings.Settings, stop: threading.Event) -> None:
    if conf.archive_daily:
        from archive import daily

        daily.start(engine, conf, stop)
        print(f"archive:  daily, history older than {conf.retention_days:g} days to "
              f"{conf.archive_dir}", flush=True)


# --- reading --------------------------------------------------------------------------------

def cmd_status(args) -> int:
    engine, _ = _engine()
    figures = store.status(engine)
    if args.json:
        _print_json(figures)
        return 0
    age = figures["oldest_pending_age_s"]
    print(f"pending callbacks:  {figures['pending_callbacks']}")
    print(f"groups waiting:     {figures['groups_waiting']}")
    print(f"due now:            {figures['due_now']}")
    print(f"in flight:          {figures['in_flight']}")
    print(f"oldest pending age: {'-' if age is None else f'{age:.1f} s'}")
    return 0


def cmd_history(args) -> int:
    bet_id = args.bet_id or args.group_id
    if not bet_id or (args.bet_id and args.group_id and args.bet_id != args.group_id):
        raise InvalidInput("give one Bet ID: `callbacks history BET_ID`", field="bet_id")
    engine, _ = _engine()
    attempts = store.group_attempts(engine, bet_id)
    callbacks = store.group_callbacks(engine, bet_id)
    attempts, callbacks = _with_archived(engine, bet_id, attempts, callbacks)
    if args.json:
        _print_json(attempts)
        return 0
    if not attempts and not callbacks:
        print(f"no callbacks for bet {bet_id}")
        return 1
    for a in attempts:
        duration = "-" if a["duration_ms"] is None else f"{a['duration_ms']:.1f}"
        print(f"{a['started_at']:%Y-%m-%d %H:%M:%S.%f}"[:-3] +
              f"  {a['destination']:<30} #{a['attempt_no']:<2} {a['outcome']:<9} "
              f"{a['response_status'] or '-':>3}  {duration:>8} ms  "
              f"request {a['id']}" +
              (f"  {a['error_class']}: {a['error_detail']}" if a['error_class'] else "") +
              ("  (archive)" if a.get("archived") else "") +
              (f"  [{a['manual_note']}]" if a.get("manual_note") else ""))
    for c in callbacks:
        if c["state"] in (*OPEN_STATES, CallbackState.SKIPPED):
            print(f"{'':23}  {c['destination']:<30} {c['state']}"
                  + (f", next try {c['next_attempt_at']:%H:%M:%S}" if c["next_attempt_at"]
                     else "") + (f" — {c['last_error']}" if c["last_error"] else ""))
    manager_actions.print_bet_actions(engine, bet_id)
    return 0


def _with_archived(engine, bet_id: str, attempts: list[dict], callbacks: list[dict]):
    """The bet's attempts and callbacks with those the Parquet archive holds added (marked
    ``archived``), oldest first (:func:`archive.history.bet_history`)."""
    conf = settings.from_env()
    with engine.connect() as conn:
        stored = archive_reader.open_archive(conf.archive_dir,
                                             archive_reader.held_partitions(conn))
    if stored.empty:
        return attempts, callbacks
    brand_names = {b.id: b.name for b in brands.all_brands(engine)}
    merged = archive_history.bet_history(stored, bet_id, brand_names, callbacks, attempts,
                                         limit=10_000, attempt_id="id")
    return merged.attempts, merged.callbacks


# --- parser ---------------------------------------------------------------------------------

#: Where ``callbacks worker`` serves Prometheus metrics unless told otherwise.
DEFAULT_WORKER_METRICS_PORT = 9191


def _metrics_options(parser, default_port: int | None) -> None:
    parser.add_argument(
        "--metrics-port", type=settings.port, default=default_port, metavar="N",
        help="serve Prometheus metrics on this port at /metrics; 0 picks a free one"
             + (f" (default: {default_port})" if default_port else " (default: not served)"))
    parser.add_argument("--no-metrics", dest="metrics_port", action="store_const", const=None,
                        help="do not serve metrics")
    parser.add_argument("--metrics-host", default="127.0.0.1",
                        help="address metrics listen on; 0.0.0.0 in a container "
                             "(default: %(default)s)")


def _brand_options(parser, *, adding: bool) -> None:
    kept = "" if adding else " (kept when not given)"
    parser.add_argument("--retry-schedule", help="seconds before each attempt, e.g. 0,5,30,120"
                        + (" (default: the contract's 10 attempts over ~23 h)" if adding
                           else kept))
    parser.add_argument("--timeout-s", type=float,
                        help=f"seconds per request (default: {contract.DEFAULT_TIMEOUT_S:g})"
                        if adding else "seconds per request" + kept)
    parser.add_argument("--max-in-flight", type=int,
                        help=f"requests at once (default: {contract.DEFAULT_MAX_IN_FLIGHT})"
                        if adding else "requests at once" + kept)
    parser.add_argument("--signing-secret", help="Standard Webhooks secret (whsec_…)"
                        + ("" if adding else "; '' removes it"))
    parser.add_argument("--currency", help="currency of the platform's wallets, e.g. EUR (money "
                        "at risk is added up per currency; a callback's bet_currency wins)"
                        + ("" if adding else "; '' clears"))
    parser.add_argument("--heartbeat-interval-s", type=int, metavar="N",
                        help="seconds between the heartbeats of each live player session "
                        f"(±10 %%; at least {contract.MIN_HEARTBEAT_INTERVAL_S})"
                        + (f" (default: {contract.DEFAULT_HEARTBEAT_INTERVAL_S})" if adding
                           else kept))


def register(sub) -> None:
    """The core commands: db, brand, session, enqueue, worker, scheduler, status, history."""

    db = sub.add_parser(
        "db", help="database: upgrade or show the schema, show the URL, stop embedded")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply migrations (safe to run twice)").set_defaults(
        func=cmd_db_upgrade)
    schema = db_sub.add_parser(
        "schema", help="print the schema of the (fully migrated) database in use",
        description="The schema as sql/schema.sql keeps it: tables, columns, constraints, "
                    "indexes, partitions, views, functions, triggers, policies and sequences, "
                    "read from PostgreSQL's catalogs (no rows, roles, broker tables or monthly "
                    "partitions). After adding a migration: `callbacks db upgrade && callbacks "
                    "db schema --write`.")
    schema.add_argument("--write", action="store_true", help="write it to sql/schema.sql")
    schema.set_defaults(func=cmd_db_schema)
    db_sub.add_parser("url", help="print the database URL in use").set_defaults(func=cmd_db_url)
    db_sub.add_parser("stop", help="stop the embedded PostgreSQL server").set_defaults(
        func=cmd_db_stop)

    brand = sub.add_parser("brand", help="operator brands and their delivery settings")
    brand_sub = brand.add_subparsers(dest="brand_command", required=True, metavar="ACTION")
    add = brand_sub.add_parser(
        "add", help="add a brand (a new name; `brand set-url` and `brand set` change one)")
    add.add_argument("name")
    add.add_argument("--url", required=True, help="platform base URL, e.g. https://ops.example "
                     "(a query string is kept after each destination path; user:password@ "
                     "credentials are stored apart and sent as Authorization: Basic)")
    _brand_options(add, adding=True)
    add.add_argument("--mask-key", action="append", metavar="KEY",
                     help="ignored (every Foreign-Params value is masked unless declared "
                          "visible: see set-visible-keys)")
    audit.add_options(add)
    add.set_defaults(func=cmd_brand_add)
    change = brand_sub.add_parser(
        "set", help="change a brand's delivery settings (recorded with a reason)",
        description="Settings not given are kept. The URL is changed with `callbacks brand "
                    "set-url`. The change (never the signing secret) goes into the audit trail "
                    "(`callbacks audit`).")
    change.add_argument("name")
    _brand_options(change, adding=False)
    audit.add_options(change, reason_required=True)
    change.set_defaults(func=cmd_brand_set)
    lst = brand_sub.add_parser("list", help="list brands")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_brand_list)
    visible = brand_sub.add_parser(
        "set-visible-keys", help="Foreign-Params keys shown in clear (every other value is "
                                 "masked); no keys clears the list")
    visible.add_argument("name")
    visible.add_argument("keys", nargs="*", metavar="KEY",
                         help="an exact key name, any case, such as lang or currency")
    audit.add_options(visible)
    visible.set_defaults(func=cmd_brand_set_visible_keys)
    from callbacks.integration_urls import register as integration_urls
    integration_urls(brand_sub)
    manager_actions.register_brand(brand_sub)

    _register_sessions(sub)

    enq = sub.add_parser("enqueue", help="queue callbacks from a JSON Lines file")
    enq.add_argument("--brand", required=True)
    enq.add_argument("file", metavar="FILE", help='JSON Lines, one {"bet_id", "destination", '
                     '"payload", "foreign_params"} per line; - reads stdin')
    enq.add_argument("--json", action="store_true", help="print what was queued as JSON")
    enq.set_defaults(func=cmd_enqueue)

    worker = sub.add_parser("worker", help="run the scheduler and delivery workers")
    worker.add_argument("--processes", type=int, default=1)
    worker.add_argument("--threads", type=int, default=4)
    worker.add_argument("--no-scheduler", action="store_true",
                        help="run only the Dramatiq workers "
                             "(a `callbacks scheduler` runs elsewhere)")
    _metrics_options(worker, DEFAULT_WORKER_METRICS_PORT)
    worker.set_defaults(func=cmd_worker)

    scheduler = sub.add_parser("scheduler", help="run only the scheduler (claims due callbacks, "
                               "sweeps expired leases)")
    _metrics_options(scheduler, None)
    scheduler.set_defaults(func=cmd_scheduler)

    status = sub.add_parser("status", help="queue figures")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    history = sub.add_parser("history", help="every attempt for one bet (archive included)")
    history.add_argument("bet_id", nargs="?", metavar="BET_ID", help="the Bet ID")
    history.add_argument("--group-id", help="the Bet ID (same as BET_ID)")
    history.add_argument("--json", action="store_true")
    history.set_defaults(func=cmd_history)
