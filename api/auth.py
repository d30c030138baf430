"""Bearer tokens of the producer API: making them, checking them, and the middleware that asks
for one on every route but the public ones.

A token is valid when it is one of ``CALLBACKS_API_TOKENS`` (comma-separated, each entry
optionally scoped: ``token:acme+acme-eu``, ``token:acme:read-only``; see
:func:`api.scopes.parse_env_entry`) or was made by ``callbacks api-token create`` and not
revoked since (only its SHA-256 is stored, with its scope). A presented token is hashed and
compared with the candidates' hashes by :func:`hmac.compare_digest`, each of them, so neither
its length nor its first differing character shows in the time an answer takes. Revoking takes
effect on the next request: the stored hashes and scopes are read for each request that no
environment token matches.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from delivery.errors import ConfigurationError

from . import store as api_store
from .deadline import DatabaseStalled
from .scopes import TokenScope, parse_env_entry

#: Environment variable holding comma-separated tokens (each optionally scoped) accepted besides
#: the stored ones.
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
    """The entries of ``CALLBACKS_API_TOKENS`` (blank entries ignored), scopes not yet read."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "")
    return tuple(t.strip() for t in raw.split(",") if t.strip())


def parse_env_tokens(entries: Iterable[str]) -> tuple[tuple[str, TokenScope], ...]:
    """``(token, scope)`` of each entry of ``CALLBACKS_API_TOKENS``; ConfigurationError naming
    the first malformed entry (by position, never showing a token)."""
    parsed = tuple(parse_env_entry(entry, n) for n, entry in enumerate(entries, start=1))
    first_of: dict[str, int] = {}
    for n, (token, _) in enumerate(parsed, start=1):
        if token in first_of:
            raise ConfigurationError(f"entries {first_of[token]} and {n} of {ENV_VAR} are the "
                                     "same token; give each token one entry (one scope)")
        first_of[token] = n
    return parsed


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class TokenChecker:
    """Tells whether a presented token is valid, and what it may reach."""

    def __init__(self, engine: sa.Engine, env: Iterable[str] = ()):
        """``env``: entries of ``CALLBACKS_API_TOKENS`` (ConfigurationError when one is
        malformed)."""
        self.engine = engine
        parsed = parse_env_tokens(env)
        self._env_hashes = tuple(token_sha256(token) for token, _ in parsed)
        self._env_scopes = tuple(scope for _, scope in parsed)

    @property
    def env_count(self) -> int:
        return len(self._env_hashes)

    def scope_of(self, token: str) -> TokenScope | None:
        """The token's name and scope, or None when it is not valid. Reads the stored tokens
        unless an environment token matches."""
        presented = token_sha256(token)
        env_match = _first_equal(presented, self._env_hashes)
        if env_match is not None:
            return self._env_scopes[env_match]
        stored = api_store.live_api_tokens(self.engine)
        match = _first_equal(presented, tuple(row.token_sha256 for row in stored))
        if match is None:
            return None
        row = stored[match]
        return TokenScope(row.name, all_brands=row.all_brands,
                          brand_ids=frozenset(row.brand_ids), read_only=row.read_only)


def _first_equal(presented: str, digests: tuple[str, ...]) -> int | None:
    """The index of the first digest equal to ``presented``, comparing with all of them (not up
    to the first match)."""
    equal = [hmac.compare_digest(presented, d) for d in digests]
    return equal.index(True) if any(equal) else None


def challenge(message: str, *, invalid: bool) -> JSONResponse:
    """A 401 with the RFC 6750 challenge."""
    value = f'Bearer realm="{REALM}"' + (', error="invalid_token"' if invalid else "")
    return JSONResponse({"error": message}, status_code=401,
                        headers={"WWW-Authenticate": value})


#: What a 503 asks the client to wait before trying again.
RETRY_AFTER_S = 5


class BearerAuth:
    """ASGI middleware: requests outside :data:`PUBLIC_PATHS` need a valid bearer token. Its
    :class:`~api.scopes.TokenScope` is left in ``request.state.api_token``; what the token may
    do with a brand the routes ask :func:`api.scopes.decide`."""

    def __init__(self, app, checker: TokenChecker, public_paths: frozenset[str] = PUBLIC_PATHS,
                 run=run_in_threadpool):
        """``run(fn, *args)`` runs the token check in a thread (the app's database deadline)."""
        self.app = app
        self.checker = checker
        self.public_paths = public_paths
        self.run = run

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public_paths:
            await self.app(scope, receive, send)
            return
        token = bearer_token(Headers(scope=scope).get("authorization"))
        if token is None:
            response = challenge(
                "this route needs an Authorization: Bearer <token> header; create a token with "
                "`callbacks api-token create --name NAME --brand BRAND` or set " + ENV_VAR,
                invalid=False)
        else:
            try:
                found = await self.run(self.checker.scope_of, token)
            except (sa.exc.SQLAlchemyError, DatabaseStalled):
                found, response = None, JSONResponse(
                    {"error": "the database does not answer, so the token cannot be checked; "
                              f"try again in {RETRY_AFTER_S} s"}, status_code=503,
                    headers={"Retry-After": str(RETRY_AFTER_S)})
            else:
                response = challenge("the bearer token is not valid (unknown or revoked)",
                                     invalid=True)
            if found is not None:
                scope.setdefault("state", {})["api_token"] = found
                await self.app(scope, receive, send)
                return
        await response(scope, receive, send)
