"""``callbacks api`` (serve the producer API) and ``callbacks api-token`` (create, list, revoke
its bearer tokens).

The main ``callbacks`` command calls :func:`register` with its subparsers.
"""
from __future__ import annotations

import json
import socket
import sys

from delivery import audit, database, migrate, settings
from delivery.errors import ConfigurationError, InvalidInput

from . import server
from . import store as api_store
from .app import create_app
from .auth import ENV_VAR, env_tokens, new_token, parse_env_tokens, token_sha256

#: Port of ``callbacks api`` unless ``--port`` says otherwise.
DEFAULT_PORT = 8000
#: Database connections the server keeps (requests run in a thread pool).
POOL_SIZE = 10
#: A request waits this long for a free connection before its answer is a 503.
POOL_TIMEOUT_S = 1.5
#: Making a database connection gives up after this long (libpq's connect_timeout).
CONNECT_TIMEOUT_S = 2
#: How long a thread running Python may keep the GIL while another waits for it (Python's
#: default is 5 ms). Checking and queuing a batch is CPU work in worker threads; the event
#: loop, which answers every other request, waits for the GIL each time it has something to
#: do, so a shorter turn keeps /healthz and small requests quick while batches are queued.
GIL_SWITCH_INTERVAL_S = 0.001


def register(subparsers) -> None:
    """Add the ``api`` and ``api-token`` subcommands."""
    api = subparsers.add_parser(
        "api", help="serve the producer HTTP API (queue callbacks, read a bet's callbacks)",
        description="Serve the producer HTTP API. Every route but /healthz, /metrics and "
                    "/openapi.json "
                    f"needs Authorization: Bearer <token>: a token from {ENV_VAR} "
                    "(comma-separated; TOKEN is valid for all brands, TOKEN:BRAND+BRAND for "
                    "those brands, TOKEN:BRAND:read-only or TOKEN:*:read-only only reads) or "
                    "one made by `callbacks api-token create`.")
    api.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default: %(default)s)")
    api.add_argument("--port", type=settings.port, default=DEFAULT_PORT,
                     help="port to listen on; 0 picks a free one (default: %(default)s)")
    server.add_options(api)
    api.set_defaults(func=cmd_api)

    token = subparsers.add_parser("api-token", help="bearer tokens of the producer API")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_sub.add_parser("create", help="make a token; it is printed once, only its "
                                                 "SHA-256 is stored")
    create.add_argument("--name", required=True, help="who or what uses it, e.g. risk-service")
    scope = create.add_mutually_exclusive_group(required=True)
    scope.add_argument("--brand", action="append", metavar="BRAND", dest="brands",
                       help="a brand the token may queue callbacks for and read the bets of "
                            "(repeat for more)")
    scope.add_argument("--all-brands", action="store_true",
                       help="the token reaches every brand, those added later too")
    create.add_argument("--read-only", action="store_true",
                        help="the token reads bets and never queues callbacks")
    audit.add_options(create)
    create.set_defaults(func=cmd_token_create)
    lst = token_sub.add_parser("list", help="names, brands and dates of the tokens (no "
                                            "secrets)")
    lst.add_argument("--all", action="store_true", help="include revoked tokens")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_token_list)
    revoke = token_sub.add_parser("revoke", help="stop accepting a token (at once)")
    revoke.add_argument("name")
    audit.add_options(revoke)
    revoke.set_defaults(func=cmd_token_revoke)


def _engine(pool_size: int = 1):
    url = database.database_url(settings.from_env())
    engine = database.make_engine(url, pool_size=pool_size)
    migrate.require_current(engine)
    return engine, url


def server_engine(url: str):
    """The API server's engine: it never waits long for a connection, and the app pings each
    connection it takes itself (see :mod:`delivery.stalls`), so it can cut a stalled one."""
    return database.make_engine(url, pool_size=POOL_SIZE, pre_ping=False,
                                connect_timeout_s=CONNECT_TIMEOUT_S,
                                pool_timeout_s=POOL_TIMEOUT_S)


# --- api ------------------------------------------------------------------------------------

def cmd_api(args) -> int:
    tokens = env_tokens()
    parse_env_tokens(tokens)  # a malformed entry stops the command before anything starts
    limits = server.limits_from(args)
    url = database.database_url(settings.from_env())
    engine = server_engine(url)
    migrate.require_current(engine)
    stored = len(api_store.live_api_tokens(engine))
    app = create_app(engine, tokens=tokens)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    sock = _bind(args.host, args.port)
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{shown_host}:{sock.getsockname()[1]}"
    limits = server.prepare(limits)
    print(f"producer API listening on {base} (database {database.redact_url(url)})")
    print(f"OpenAPI document: {base}/openapi.json")
    print(server.describe(limits))
    print(f"tokens: {len(tokens)} from {ENV_VAR}, {stored} made with `callbacks api-token "
          "create`; Ctrl-C stops it", flush=True)
    if not tokens and not stored:
        print(f"warning: no token is valid yet, so every request but /healthz is refused; "
              f"set {ENV_VAR} or run `callbacks api-token create --name NAME --brand BRAND`",
              file=sys.stderr, flush=True)
    try:
        server.serve(app, sock, limits)
    except KeyboardInterrupt:
        pass  # uvicorn shut down gracefully, then passed Ctrl-C on
    finally:
        sock.close()
        engine.dispose()
    print("producer API stopped", flush=True)
    return 0


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, so the port is known (and taken) before the server loop starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, so that asyncio sets TCP_NODELAY on the accepted connections (it
    # checks the protocol, and 0 is not TCP to it): else a small answer written in two
    # parts waits for the client's delayed ACK, 40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {host}:{port} ({exc.strerror}); pick "
                                 "another --port or --host") from None
    sock.listen(2048)
    return sock


# --- api-token ------------------------------------------------------------------------------

def cmd_token_create(args) -> int:
    engine, _ = _engine()
    token = new_token()
    try:
        created = api_store.add_api_token(engine, args.name, token_sha256(token),
                                          brands=args.brands or (), all_brands=args.all_brands,
                                          read_only=args.read_only,
                                          actor=audit.shell_actor(engine, args.actor),
                                          reason=args.reason, secrets=(token,))
    finally:
        engine.dispose()
    print(f"API token {created['name']!r} created for {scope_label(created)}; it is shown this "
          "once (only its SHA-256 is stored). Send it as: Authorization: Bearer <token>",
          file=sys.stderr)
    print(token)
    return 0


def scope_label(token: dict) -> str:
    """What a token of :func:`api.store.api_tokens` reaches, in words."""
    if token["all_brands"]:
        brands = "all brands"
    elif token["brands"]:
        brands = ("brand " if len(token["brands"]) == 1 else "brands ") \
            + ", ".join(token["brands"])
    else:
        brands = "no brand (its brands were removed)"
    return brands + (", read-only" if token["read_only"] else "")


def cmd_token_list(args) -> int:
    engine, _ = _engine()
    try:
        tokens = api_store.api_tokens(engine, include_revoked=args.all)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(tokens, indent=2, default=str))
        return 0
    if not tokens:
        print("no API tokens" + ("" if args.all else " (revoked ones: --all)"))
    for t in tokens:
        print(f"{t['name']:<32} {scope_label(t):<36} "
              f"created {t['created_at']:%Y-%m-%d %H:%M:%S %Z}"
              + (f"  revoked {t['revoked_at']:%Y-%m-%d %H:%M:%S %Z}" if t["revoked_at"]
                 else ""))
    return 0


def cmd_token_revoke(args) -> int:
    engine, _ = _engine()
    try:
        revoked = api_store.revoke_api_token(engine, args.name,
                                             actor=audit.shell_actor(engine, args.actor),
                                             reason=args.reason)
    finally:
        engine.dispose()
    if revoked is None:
        raise InvalidInput(f"no live API token is named {args.name!r}; `callbacks api-token "
                           "list` shows them", field="name", value=args.name)
    print(f"API token {args.name!r} ({scope_label(revoked)}) revoked; requests with it are "
          "refused from now on")
    return 0
