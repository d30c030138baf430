"""The sandbox over HTTP: thin Starlette routes in front of :class:`~sandbox.platform.Platform`.

Routes::

    POST {base_path}{destination}      every destination of the contract; faults apply here
    GET  /_sandbox/                    inspection page for people (players, recent requests)
    GET  /_sandbox/state               the same as JSON
    POST /_sandbox/players             {"token", "balance", "player_id"?, "expired"?} → 201
    GET  /_sandbox/players/{token}     one player's wallet
    GET  /_sandbox/bets/{bet_id}       what the platform knows of one bet
    GET  /_sandbox/ledger.csv          the journal of balance movements as a ledger CSV
    GET  /ledger.csv                   the same (``?player_id=`` keeps one player's rows);
                                       also at {base_path}/ledger.csv

The ``/_sandbox/`` routes and ``/ledger.csv`` never carry faults and do not move under
``base_path``.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

import contract
from contract.errors import ContractViolation
from sandbox import bugs as bug_names
from sandbox import faults, ledger_csv
from sandbox.config import SandboxConfig
from sandbox.page import render_page
from sandbox.platform import Platform, PlayerExists
from sandbox.validation import INVALID_BODY_CODE

#: Prefix of the inspection and admin routes.
ADMIN_PREFIX = "/_sandbox"


class ConnectionDropped(Exception):
    """Raised on purpose to close a connection without a complete answer (outage or timeout)."""


class _DroppedConnection(Response):
    """Starts an answer and breaks it off: the client sees the connection closed mid-response."""

    def __init__(self):
        super().__init__()

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"1")]})
        raise ConnectionDropped()


class _QuietDrops(logging.Filter):
    """Keeps the server log free of tracebacks for connections dropped on purpose and for hanging
    requests cut short by a shutdown."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1],
                                                   (ConnectionDropped, asyncio.CancelledError)))


def quiet_dropped_connections() -> None:
    """Install the log filter on the server's error logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


def create_app(platform: Platform, config: SandboxConfig, *, rng: random.Random | None = None,
               clock: Callable[[], float] = time.time) -> Starlette:
    """The ASGI app serving ``platform`` with ``config``'s faults and base path.

    ``rng`` drives the fault draws (default: seeded with ``config.seed``, random when None).
    """
    rng = rng or random.Random(config.seed)
    started_at_s = clock()

    def callback_route(destination: str) -> Route:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            decision = faults.decide(config.faults, rng, clock(), started_at_s)
            if decision.action != faults.PASS:
                platform.note(destination, raw, decision.status, f"fault: {decision.action}")
            if decision.latency_ms:
                await asyncio.sleep(decision.latency_ms / 1000)
            if decision.action == faults.OUTAGE:
                if decision.close_connection:
                    return _DroppedConnection()
                return PlainTextResponse("Service Unavailable", status_code=503)
            if decision.action == faults.ERROR:
                return PlainTextResponse(HTTPStatus(decision.status).phrase, decision.status)
            if decision.action == faults.UNSUPPORTED:
                return JSONResponse(contract.error_body(decision.code), decision.status)
            if decision.apply:
                answer = await run_in_threadpool(platform.handle, destination, raw,
                                                 request.headers.get("foreign-params"))
            if decision.action == faults.TIMEOUT:
                await asyncio.sleep(decision.hang_s)
                return _DroppedConnection()
            if bug_names.SLOW in platform.bugs:
                await asyncio.sleep(config.slow_s)
            if answer.body is None:
                return Response(status_code=answer.status)
            return JSONResponse(answer.body, answer.status)

        return Route(config.base_path + destination, endpoint, methods=["POST"],
                     name=f"callback:{destination}")

    async def page(request: Request) -> Response:
        return HTMLResponse(render_page(platform.state(), config.describe()))

    async def state(request: Request) -> Response:
        return JSONResponse({**platform.state(), "config": config.describe()})

    async def add_player(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise ContractViolation("the body must be a JSON object", field="body")
            if "balance" not in body:
                raise ContractViolation("balance is required", field="balance")
            player = await run_in_threadpool(
                platform.add_player, body.get("token"), body["balance"],
                player_id=body.get("player_id"), expired=bool(body.get("expired", False)))
        except PlayerExists as exc:
            return _admin_error(409, exc.field or "token", str(exc))
        except ContractViolation as exc:
            return _admin_error(400, exc.field or "body", str(exc))
        except ValueError as exc:
            return _admin_error(400, "body", f"is not JSON ({exc})")
        return JSONResponse(player, 201)

    async def player(request: Request) -> Response:
        found = platform.player(request.path_params["token"])
        return JSONResponse(found) if found else _admin_error(404, "token", "no such session")

    async def bet(request: Request) -> Response:
        found = platform.bet(request.path_params["bet_id"])
        return JSONResponse(found) if found else _admin_error(404, "bet_id", "no such bet")

    async def ledger(request: Request) -> Response:
        # The journal is read (list and length) at once; the rows are formatted in chunks as
        # they stream (Starlette runs a plain iterator in its thread pool).
        rows = platform.journal(request.query_params.get("player_id") or None)
        return StreamingResponse(
            ledger_csv.csv_chunks(rows, config.currency),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{ledger_csv.FILENAME}"'})

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{ADMIN_PREFIX}/")

    routes = [callback_route(path) for path in contract.DESTINATIONS]
    routes += [
        Route(f"{ADMIN_PREFIX}/", page, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/state", state, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/players", add_player, methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/players/{{token}}", player, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/bets/{{bet_id}}", bet, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/ledger.csv", ledger, methods=["GET"]),
        Route("/ledger.csv", ledger, methods=["GET"]),
        # also beside the callbacks, for whoever holds only the brand's URL
        *([Route(f"{config.base_path}/ledger.csv", ledger, methods=["GET"])]
          if config.base_path else []),
        Route("/", home, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.platform = platform
    app.state.config = config
    return app


_ADMIN_CODES = {400: INVALID_BODY_CODE, 404: "not_found", 409: "conflict"}


def _admin_error(status: int, field: str, problem: str) -> JSONResponse:
    return JSONResponse(contract.error_body(_ADMIN_CODES[status],
                                            {"field": field, "problem": problem}), status)
