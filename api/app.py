"""The producer API over HTTP: thin Starlette routes in front of :mod:`delivery.store`.

Routes::

    POST /v1/brands/{brand}/callbacks    {"callbacks": [...]} → 201/200 {"request_ids": [...]}
    GET  /v1/bets/{bet_id}/callbacks     the bet, its callbacks and their attempts
    PUT  /v1/brands/{brand}/sessions/{session_id}    {"foreign_params": {...}, "ttl_s": N}
                                         → 201 opened / 200 refreshed, the session
    DELETE /v1/brands/{brand}/sessions/{session_id}  → 204 closed (or over already) / 404
    GET  /v1/brands/{brand}/sessions/{session_id}    the session
    GET  /v1/brands/{brand}/sessions?state=live      the brand's sessions
    GET  /openapi.json                   the OpenAPI 3.1 document (public)
    GET  /healthz                        {"status": "ok"} or 503 (public)
    GET  /metrics                        Prometheus metrics: queue figures per brand (public)

Every answer is JSON; an error is ``{"error": "what went wrong and what to do"}`` with
``problems`` (422) or ``conflicts`` (409) when there are several. The database is only reached
through :mod:`delivery.store`, in threads under a deadline (:mod:`api.deadline`): a database
that does not answer within it, or cannot be reached, is a 503 with Retry-After, never a hang.

What a token may do with a brand is :func:`api.scopes.decide`'s to say; the routes resolve the
brand at request time and turn its decision into an answer: a write out of the token's scope
is a 403 (whether or not the brand exists), a bet of a brand out of its scope is a 404 like a
bet that does not exist. The sessions routes name their brand in the path: a read of a brand
out of the token's scope is a 403 too, answered alike whether or not the brand exists.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from functools import partial

import anyio
import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from delivery import brands, metrics, sessions
from delivery.database import connection_lost
from delivery.errors import InvalidInput, RequestIdConflict, UnknownBrand
from delivery.validation import NewCallback

from . import openapi
from . import store as api_store
from .auth import RETRY_AFTER_S, BearerAuth, TokenChecker
from .batch import MAX_BODY_BYTES, MAX_CALLBACKS, BadBatch, parse_batch, problem, too_large
from .deadline import DatabaseStalled, Deadlines
from .scopes import Access, Decision, TokenScope, decide
from .server import READ_TIMED_OUT
from .session_request import parse_session_request
from .session_request import problem as session_problem

log = logging.getLogger(__name__)

#: Request bodies of POST /v1/brands/{brand}/callbacks checked at once (see create_app).
BATCHES_CHECKED_AT_ONCE = 1


class Json(JSONResponse):
    """JSON with times as ISO 8601 and every non-ASCII character escaped (so no text a producer
    sent can make an answer unencodable)."""

    def render(self, content) -> bytes:
        return json.dumps(content, default=_json_value, separators=(",", ":")).encode("ascii")


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot show {type(value).__name__} as JSON")


def error(status: int, message: str, **more) -> Json:
    return Json({"error": message, **more}, status_code=status)


def create_app(engine: sa.Engine, *, tokens: Iterable[str] = (),
               max_body_bytes: int = MAX_BODY_BYTES,
               max_callbacks: int = MAX_CALLBACKS) -> Starlette:
    """The ASGI app on ``engine``. ``tokens`` are accepted besides the stored ones: entries of
    ``CALLBACKS_API_TOKENS``, optionally scoped (ConfigurationError when one is malformed)."""

    db = Deadlines(engine)
    queued = Counter("callbacks_api_queued", "Callbacks queued through the producer API "
                     "(repeats of a request_id not counted)", ["brand"], registry=None)

    # Checking a batch is CPU work in a worker thread, holding the GIL most of the time: a
    # second one at once would finish no sooner, and would make the event loop (every other
    # request, /healthz) wait longer for its turn. One at a time, the others wait on the loop.
    parsing = anyio.CapacityLimiter(BATCHES_CHECKED_AT_ONCE)

    async def post_callbacks(request: Request) -> Json:
        brand = request.path_params["brand"]
        token: TokenScope = request.state.api_token
        try:
            brand_id = (await db.run(brands.brand_named, engine, brand)).id
        except UnknownBrand:
            brand_id = None
        refused = _write_refused(decide(token, Access.WRITE, brand, brand_id), token, brand)
        if refused is not None:
            return refused
        body = await _read_body(request, max_body_bytes)
        # Checking a thousand callbacks takes tens of milliseconds of CPU: off the event
        # loop, so that other requests (and /healthz) are answered meanwhile.
        callbacks = await anyio.to_thread.run_sync(
            partial(parse_batch, body, max_callbacks=max_callbacks), limiter=parsing)
        try:
            results = await db.run(api_store.enqueue_once, engine, brand, callbacks,
                                   brand_id=brand_id)
        except RequestIdConflict as exc:
            return _conflict(exc, callbacks)
        except UnknownBrand:
            raise  # the brand went away or was replaced meanwhile: its handler answers 404
        except InvalidInput as exc:
            return _refused(exc, callbacks)
        created = any(r.created for r in results)
        queued.labels(brand).inc(sum(1 for r in results if r.created))
        return Json({
            "request_ids": [r.queued.request_id for r in results],
            "callbacks": [{"request_id": r.queued.request_id, "bet_id": r.queued.bet_id,
                           "state": r.queued.state, "created": r.created} for r in results],
        }, status_code=201 if created else 200)

    async def get_bet_callbacks(request: Request) -> Json:
        bet_id = request.path_params["bet_id"]
        token: TokenScope = request.state.api_token

        def readable(brand_id: int, brand_name: str) -> bool:
            return decide(token, Access.READ, brand_name, brand_id) is Decision.ALLOWED

        found = await db.run(api_store.bet_callbacks, engine, bet_id, readable)
        if found is None:  # or none of the token's brands: answered alike
            return error(404, f"no bet {bet_id!r}: nothing was ever queued for it")
        return Json(bet_document(found))

    async def brand_id_of(brand: str) -> int | None:
        try:
            return (await db.run(brands.brand_named, engine, brand)).id
        except UnknownBrand:
            return None

    async def session_access(request: Request, access: Access) -> Json | None:
        """The answer when the token may not do ``access`` to the path's brand, or None."""
        brand = request.path_params["brand"]
        token: TokenScope = request.state.api_token
        decision = decide(token, access, brand, await brand_id_of(brand))
        if access is Access.WRITE:
            return _write_refused(decision, token, brand, doing=SESSION_WRITES)
        if decision is Decision.UNKNOWN_BRAND:
            return _unknown_brand_answer(brand)
        if decision is Decision.OUT_OF_SCOPE:
            return error(403, f"the API token {token.name!r} is not allowed to read brand "
                              f"{brand!r}; a token of this brand is made with `callbacks "
                              f"api-token create --name NAME --brand {brand} --read-only`")
        return None

    async def put_session(request: Request) -> Json:
        refused = await session_access(request, Access.WRITE)
        if refused is not None:
            return refused
        brand = request.path_params["brand"]
        wanted = parse_session_request(request.path_params["session_id"],
                                       await _read_body(request, max_body_bytes))
        try:
            opened = await db.run(partial(
                sessions.open, engine, brand, wanted.session_id, wanted.foreign_params,
                ttl_s=wanted.ttl_s, expires_at=wanted.expires_at))
        except UnknownBrand:
            raise  # the brand went away meanwhile: its handler answers 404
        except InvalidInput as exc:
            return error(422, f"{exc}; nothing was written", problems=[session_problem(exc)])
        return Json(opened.session, status_code=201 if opened.created else 200)

    async def delete_session(request: Request) -> Response:
        refused = await session_access(request, Access.WRITE)
        if refused is not None:
            return refused
        brand, session_id = request.path_params["brand"], request.path_params["session_id"]
        closed = await db.run(sessions.close, engine, brand, session_id)
        if closed is None:
            return _unknown_session(brand, session_id)
        return Response(status_code=204)

    async def get_session(request: Request) -> Json:
        refused = await session_access(request, Access.READ)
        if refused is not None:
            return refused
        brand, session_id = request.path_params["brand"], request.path_params["session_id"]
        found = await db.run(sessions.get, engine, brand, session_id)
        if found is None:
            return _unknown_session(brand, session_id)
        return Json(found)

    async def list_sessions(request: Request) -> Json:
        refused = await session_access(request, Access.READ)
        if refused is not None:
            return refused
        state = request.query_params.get("state") or None
        limit = request.query_params.get("limit", "1000")
        try:
            if not limit.isdigit():
                raise InvalidInput(f"limit must be a whole number from 1 to "
                                   f"{sessions.MAX_LIST:,}, got {limit!r}", field="limit",
                                   value=limit)
            found = await db.run(partial(
                sessions.list_sessions, engine, request.path_params["brand"], state=state,
                limit=int(limit)))
        except UnknownBrand:
            raise
        except InvalidInput as exc:
            return error(422, str(exc), problems=[session_problem(exc)])
        return Json({"sessions": found})

    async def openapi_json(request: Request) -> Json:
        return Json(openapi.document())

    registry = metrics.registry_for(engine, queued)

    async def metrics_text(request: Request) -> Response:
        body = await db.run(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Json:
        try:
            await db.health(_ping, engine)
        except (sa.exc.SQLAlchemyError, DatabaseStalled) as exc:
            log.warning("health check: the database does not answer (%s)",
                        type(exc).__name__)
            return Json({"status": "unavailable", "error": "the database does not answer"},
                        status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
        return Json({"status": "ok"})

    routes = [
        Route("/v1/brands/{brand}/callbacks", post_callbacks, methods=["POST"]),
        Route("/v1/bets/{bet_id:path}/callbacks", get_bet_callbacks, methods=["GET"]),
        Route("/v1/brands/{brand}/sessions", list_sessions, methods=["GET"]),
        Route("/v1/brands/{brand}/sessions/{session_id:path}", put_session, methods=["PUT"]),
        Route("/v1/brands/{brand}/sessions/{session_id:path}", delete_session,
              methods=["DELETE"]),
        Route("/v1/brands/{brand}/sessions/{session_id:path}", get_session, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
    ]
    handlers = {
        HTTPException: _http_error,
        BadBatch: _bad_batch,
        UnknownBrand: _unknown_brand,
        sa.exc.DBAPIError: _database_error,
        sa.exc.TimeoutError: _database_busy,
        DatabaseStalled: _database_stalled,
        sa.exc.DataError: _unstorable,
        ClientDisconnect: _client_gone,
        Exception: _internal_error,
    }
    checker = TokenChecker(engine, tokens)
    return Starlette(routes=routes, exception_handlers=handlers,
                     middleware=[Middleware(BearerAuth, checker=checker, run=db.run)])


async def _read_body(request: Request, limit_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over ``limit_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit_bytes:
        raise too_large(limit_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit_bytes:
            raise too_large(limit_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _ping(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


#: What a write to the sessions routes does, in a read-only token's 403.
SESSION_WRITES = "open or close player sessions"


def _write_refused(decision: Decision, token: TokenScope, brand: str, *,
                   doing: str = "queue callbacks") -> Json | None:
    """The answer to a write the token may not make, or None when it may."""
    if decision is Decision.READ_ONLY:
        return error(403, f"the API token {token.name!r} is read-only: it may read bets but "
                          f"not {doing}; use a token made without --read-only")
    if decision is Decision.OUT_OF_SCOPE:
        # The same answer whether or not the brand exists: a token scoped to other brands is
        # not told which brands there are.
        return error(403, f"the API token {token.name!r} is not allowed to write to brand "
                          f"{brand!r}; a token of this brand is made with `callbacks api-token "
                          f"create --name NAME --brand {brand}`")
    if decision is Decision.UNKNOWN_BRAND:
        return _unknown_brand_answer(brand)
    return None


def _unknown_session(brand: str, session_id: str) -> Json:
    return error(404, f"no player session {session_id!r} of brand {brand!r}: none was ever "
                      f"opened; open it with PUT /v1/brands/{brand}/sessions/{{session_id}}")


def _conflict(exc: RequestIdConflict, callbacks: list[NewCallback]) -> Json:
    differs = dict(exc.conflicts)
    conflicts = [{"index": i, "request_id": cb.request_id, "differs": differs[cb.request_id]}
                 for i, cb in enumerate(callbacks) if cb.request_id in differs]
    return error(409, str(exc), conflicts=conflicts)


def _refused(exc: InvalidInput, callbacks: list[NewCallback]) -> Json:
    """The store refused valid-looking callbacks (a bet of another brand): name the items."""
    if exc.field == "bet_id":
        indexes = [i for i, cb in enumerate(callbacks) if cb.bet_id == exc.value]
    else:
        indexes = list(range(len(callbacks)))
    return error(422, f"{exc}; nothing was queued", problems=[problem(i, exc) for i in indexes])


def bet_document(found: dict) -> dict:
    """A bet from :func:`api.store.bet_callbacks` as the API shows it."""
    callbacks = []
    for row in found["callbacks"]:
        callbacks.append({
            "request_id": row["request_id"], "destination": row["destination"],
            "state": row["state"], "origin": row["origin"], "attempt_count": row["attempts"],
            "next_attempt_at": row["next_attempt_at"], "last_status": row["last_status"],
            "last_error": row["last_error"], "created_at": row["created_at"],
            "finished_at": row["finished_at"], "payload": row["payload"],
            "attempts": row["attempt_log"],
        })
    return {"bet_id": found["bet_id"], "brand": found["brand"], "status": found["status"],
            "restrictions": found["restrictions"], "created_at": found["created_at"],
            "updated_at": found["updated_at"], "callbacks": callbacks}


# --- errors ---------------------------------------------------------------------------------

async def _http_error(request: Request, exc: HTTPException) -> Json:
    # Unknown routes (404) and methods (405) answer JSON like everything else.
    return Json({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _bad_batch(request: Request, exc: BadBatch) -> Json:
    more = {"problems": exc.problems} if exc.status == 422 and exc.problems else {}
    return error(exc.status, str(exc), **more)


async def _unknown_brand(request: Request, exc: UnknownBrand) -> Json:
    return _unknown_brand_answer(exc.value)


def _unknown_brand_answer(brand: str) -> Json:
    return error(404, f"no brand named {brand!r}; `callbacks brand list` shows the known "
                      f"brands and `callbacks brand add {brand} --url BASE_URL` adds one")


def unavailable(message: str) -> Json:
    """A 503 that says when to try again."""
    return Json({"error": message}, status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_S)})


async def _database_error(request: Request, exc: sa.exc.DBAPIError) -> Json:
    if not connection_lost(exc):
        return await _internal_error(request, exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                str(exc.orig).strip().splitlines()[0] if exc.orig else exc)
    return unavailable("the database does not answer; nothing was written, try again in "
                       f"{RETRY_AFTER_S} s")


async def _database_busy(request: Request, exc: sa.exc.TimeoutError) -> Json:
    log.warning("every database connection busy on %s %s", request.method, request.url.path)
    return unavailable("every database connection is busy; nothing was written, try again in "
                       f"{RETRY_AFTER_S} s")


async def _database_stalled(request: Request, exc: DatabaseStalled) -> Json:
    log.warning("database stalled on %s %s: no answer within %g s", request.method,
                request.url.path, exc.deadline_s)
    # The work was cut off mid-way: a write may have been made just before. Sending the same
    # request again is safe (a request_id is queued once; a session is opened or closed once).
    return unavailable(f"the database did not answer within {exc.deadline_s:g} s; try again in "
                       f"{RETRY_AFTER_S} s with the same request (a repeat is not queued twice)")


async def _unstorable(request: Request, exc: sa.exc.DataError) -> Json:
    primary = getattr(getattr(exc.orig, "diag", None), "message_primary", None)
    return error(422, "PostgreSQL cannot store a value of this request"
                      + (f" ({primary})" if primary else "") + "; nothing was queued",
                 problems=[])


async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
    # One line, no traceback: nobody is left to answer (the server said it already when it
    # closed a body that came too slowly).
    if not request.scope.get("state", {}).get(READ_TIMED_OUT):
        client = request.client
        log.info("%s went away before its request's body arrived (%s %s); nothing was written",
                 f"{client.host}:{client.port}" if client else "a client", request.method,
                 request.url.path)
    return Response(status_code=499)


async def _internal_error(request: Request, exc: Exception) -> Json:
    # The server logs the traceback (Starlette re-raises after this answer); the client gets
    # JSON, never a traceback.
    return error(500, "internal error (see the API server's log)")
