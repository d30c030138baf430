"""Bearer tokens of the producer API: making them, checking them, and the middleware that asks
for one on every route but the public ones.

A token is valid when it is one of ``CALLBACKS_API_TOKENS`` (comma-separated, for deployments
that inject secrets through the environment) or was made by ``callbacks api-token create`` and
not revoked since (only its SHA-256 is stored). A presented token is hashed and compared with
the candidates' hashes by :func:`hmac.compare_digest`, each of them, so neither its length nor
its first differing character shows in the time an answer takes. Revoking takes effect on the
next request: the stored hashes are read for each request that no environment token matches.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import Iterable

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from delivery import store

#: Environment variable holding comma-separated tokens accepted besides the stored ones.
ENV_VAR = "CALLBACKS_API_TOKENS"
#: Paths anyone may read: the health check, the OpenAPI document (the contract, no data) and
#: the Prometheus metrics (queue figures per brand; no payloads, ids or secrets).
PUBLIC_PATHS = frozenset({"/healthz", "/openapi.json", "/metrics"})
#: Prefix of generated tokens, so a leaked one is recognisable in logs and secret scanners.
TOKEN_PREFIX = "cbk_"
#: Realm named in the WWW-Authenticate challenge.
REALM = "callbacks"


def new_token() -> str:
    """A fresh random token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    """The hex SHA-256 of a token: what is stored and compared."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def env_tokens(environ: dict | None = None) -> tuple[str, ...]:
    """The tokens of ``CALLBACKS_API_TOKENS`` (blank entries ignored)."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "")
    return tuple(t.strip() for t in raw.split(",") if t.strip())


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class TokenChecker:
    """Tells whether a presented token is valid, and whose it is."""

    def __init__(self, engine: sa.Engine, env: Iterable[str] = ()):
        self.engine = engine
        self._env_hashes = tuple(token_sha256(t) for t in env)

    @property
    def env_count(self) -> int:
        return len(self._env_hashes)

    def name_of(self, token: str) -> str | None:
        """The token's name (``env`` for an environment token), or None when it is not valid.
        Reads the stored hashes unless an environment token matches."""
        presented = token_sha256(token)
        if _any_equal(presented, self._env_hashes):
            return "env"
        stored = store.live_api_token_hashes(self.engine)
        matches = [name for name, digest in stored if hmac.compare_digest(presented, digest)]
        return matches[0] if matches else None


def _any_equal(presented: str, digests: tuple[str, ...]) -> bool:
    # Compare with all of them, not up to the first match.
    return sum(hmac.compare_digest(presented, d) for d in digests) > 0


def challenge(message: str, *, invalid: bool) -> JSONResponse:
    """A 401 with the RFC 6750 challenge."""
    value = f'Bearer realm="{REALM}"' + (', error="invalid_token"' if invalid else "")
    return JSONResponse({"error": message}, status_code=401,
                        headers={"WWW-Authenticate": value})


class BearerAuth:
    """ASGI middleware: requests outside :data:`PUBLIC_PATHS` need a valid bearer token. The
    token's name is left in ``request.state.api_token``."""

    def __init__(self, app, checker: TokenChecker, public_paths: frozenset[str] = PUBLIC_PATHS):
        self.app = app
        self.checker = checker
        self.public_paths = public_paths

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public_paths:
            await self.app(scope, receive, send)
            return
        token = bearer_token(Headers(scope=scope).get("authorization"))
        if token is None:
            response = challenge(
                "this route needs an Authorization: Bearer <token> header; create a token with "
                "`callbacks api-token create --name NAME` or set " + ENV_VAR, invalid=False)
        else:
            try:
                name = await run_in_threadpool(self.checker.name_of, token)
            except sa.exc.SQLAlchemyError:
                name, response = None, JSONResponse(
                    {"error": "the database does not answer, so the token cannot be checked; "
                              "try again shortly"}, status_code=503)
            else:
                response = challenge("the bearer token is not valid (unknown or revoked)",
                                     invalid=True)
            if name is not None:
                scope.setdefault("state", {})["api_token"] = name
                await self.app(scope, receive, send)
                return
        await response(scope, receive, send)
