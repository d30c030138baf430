"""The producer API's own persistence: idempotent enqueue by ``request_id``, a bet's callbacks
with their attempts as ``GET /v1/bets/{bet_id}`` shows them, and the API's bearer tokens. The
only module that runs ``sql/api.sql``.

The callbacks themselves are queued by the queue's own enqueue
(:func:`delivery.store.enqueue_in`), in the transaction that checked their request_ids; brands
are read through :mod:`delivery.brands`.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from delivery import audit, statements, store
from delivery.brands import brand_named, ids_by_name, known_names
from delivery.errors import InvalidInput, RequestIdConflict, UnknownBrand
from delivery.validation import NewCallback

#: Its blocks run as prepared statements (:mod:`delivery.statements`): callbacks_by_request_id
#: reads the queue's table, whose many partial indexes make planning it on every request cost
#: more than running it.
_FILE = "api.sql"
#: The unique constraint that makes a request_id queue at most one callback.
_REQUEST_ID_KEY = "callbacks_request_id_key"
#: SQLSTATE of a unique violation.
_UNIQUE_VIOLATION = "23505"


@dataclass(frozen=True)
class QueuedOnce:
    """One producer callback after :func:`enqueue_once`: queued now or found queued already."""

    queued: store.Enqueued
    created: bool


def enqueue_once(engine: sa.Engine, brand_name: str, callbacks: list[NewCallback], *,
                 origin: str = "producer", brand_id: int | None = None) -> list[QueuedOnce]:
    """Queue the callbacks whose ``request_id`` is new; repeats are answered, not written again.

    The result follows the input order. A callback whose ``request_id`` is queued already with
    the same brand, bet, destination, payload and Foreign-Params is a repeat (``created``
    False); with anything different, :class:`RequestIdConflict` is raised and nothing is
    written. The new callbacks go through :func:`delivery.store.enqueue_in` in one transaction
    (all or nothing).
    When another producer queues one of the request_ids meanwhile, the unique key stops the
    transaction and the comparison runs again, so concurrent repeats never fail.

    ``brand_id``, when given, is the id the caller resolved ``brand_name`` to (and authorised):
    when the name stands for another brand by now, :class:`UnknownBrand` is raised and nothing
    is written.
    """
    unique: dict[str, NewCallback] = {}
    for cb in callbacks:
        first = unique.setdefault(cb.request_id, cb)
        if first is not cb and first != cb:
            raise InvalidInput(f"request_id {cb.request_id!r} is given to two different "
                               "callbacks of one request", field="payload.request_id",
                               value=cb.request_id)
    # Every clash means another transaction committed one more of these request_ids, so this
    # ends after at most one round per request_id.
    for _ in range(len(unique) + 1):
        try:
            with engine.begin() as conn:
                brand = brand_named(conn, brand_name)
                if brand_id is not None and brand.id != brand_id:
                    raise UnknownBrand(f"brand {brand_name!r} was replaced by another brand of "
                                       "that name while the request was read; send it again",
                                       field="brand", value=brand_name)
                found = _queued_by_request_id(conn, list(unique))
                conflicts = [(rid, fields) for rid, cb in unique.items() if rid in found
                             and (fields := _differing_fields(found[rid], brand.id, cb))]
                if conflicts:
                    raise RequestIdConflict(conflicts)
                new = [cb for rid, cb in unique.items() if rid not in found]
                written = store.enqueue_in(conn, brand, new, origin) if new else []
        except sa.exc.IntegrityError as exc:
            if _is_request_id_clash(exc):
                continue
            raise
        results = {e.request_id: QueuedOnce(e, True) for e in written}
        results.update({rid: QueuedOnce(store.Enqueued(row.id, rid, row.bet_id, row.state), False)
                        for rid, row in found.items()})
        return [results[cb.request_id] for cb in callbacks]
    raise RuntimeError("request_ids kept clashing with concurrent producers; try again")


def queued_by_request_id(engine: sa.Engine, request_ids: list[str]) -> dict:
    """``{request_id: row}`` of the queued callbacks carrying these request_ids (row fields:
    id, request_id, brand_id, bet_id, destination, payload, foreign_params, state)."""
    with engine.connect() as conn:
        return _queued_by_request_id(conn, request_ids)


def _queued_by_request_id(conn: sa.Connection, request_ids: list[str]) -> dict:
    if not request_ids:
        return {}
    rows = statements.run(conn, "callbacks_by_request_id", {"request_ids": request_ids},
                          filename=_FILE)
    return {r.request_id: r for r in rows}


def _differing_fields(row, brand_id: int, cb: NewCallback) -> list[str]:
    """What makes the queued row another callback than ``cb``: field names, never values."""
    fields = []
    if row.brand_id != brand_id:
        fields.append("brand")
    if row.bet_id != cb.bet_id:
        fields.append("bet_id")
    if row.destination != cb.destination:
        fields.append("destination")
    if _canonical(row.payload) != _canonical(cb.payload):
        fields.append("payload")
    if _canonical(row.foreign_params) != _canonical(cb.foreign_params):
        fields.append("foreign_params")
    return fields


def _canonical(value) -> str:
    # Both sides went through json once; sorted keys make equal documents equal text, and
    # true stays different from 1 (which == would not).
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _is_request_id_clash(exc: sa.exc.IntegrityError) -> bool:
    orig = exc.orig
    return (getattr(orig, "pgcode", None) == _UNIQUE_VIOLATION
            and getattr(getattr(orig, "diag", None), "constraint_name", None) == _REQUEST_ID_KEY)


def bet_callbacks(engine: sa.Engine, bet_id: str,
                  readable: Callable[[int, str], bool] | None = None) -> dict | None:
    """The bet (with its brand's ``brand_id`` and name ``brand``) and its callbacks in queue
    order, each with its ``attempt_log`` (oldest first); None when there is no such bet, or
    none whose brand ``readable(brand_id, brand_name)`` allows. Only rows of the bet's brand
    are shown; Foreign-Params are left out. One consistent snapshot."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        found = statements.run(conn, "bet_with_brand", {"bet_id": bet_id}, filename=_FILE)
        bet_row = next((r for r in found
                        if readable is None or readable(r.brand_id, r.brand)), None)
        if bet_row is None:
            return None
        of_bet = {"bet_id": bet_id, "brand_id": bet_row.brand_id}
        callbacks = [dict(r._mapping) for r in statements.run(conn, "bet_callbacks", of_bet,
                                                              filename=_FILE)]
        attempts = [dict(r._mapping) for r in statements.run(conn, "bet_attempts", of_bet,
                                                             filename=_FILE)]
    by_callback: dict[int, list[dict]] = {}
    for attempt in attempts:
        by_callback.setdefault(attempt.pop("callback_id"), []).append(attempt)
    for callback in callbacks:
        callback["attempt_log"] = by_callback.get(callback["id"], [])
    return dict(bet_row._mapping, callbacks=callbacks)


def add_api_token(engine: sa.Engine, name: str, token_sha256: str, *,
                  brands: Iterable[str] = (), all_brands: bool = False,
                  read_only: bool = False, actor: audit.Actor | None = None,
                  reason: str | None = None, secrets: tuple[str, ...] = ()) -> dict:
    """Store a new API token's hash under ``name``, scoped to ``brands`` (names) or to all
    brands: the token as :func:`api_tokens` lists it. InvalidInput when the name is malformed
    or a live token has it already, when the scope is neither some brands nor all of them, or
    when a brand does not exist (:class:`UnknownBrand`); then nothing is written. With
    ``actor`` it is recorded as ``api_token.create`` (``secrets``: the token itself, which the
    trail must never hold)."""
    brands = sorted(set(brands))
    if all_brands == bool(brands):
        raise InvalidInput("give one --brand or more, or --all-brands (one of the two)",
                           field="brand")
    with engine.begin() as conn:
        brand_ids = _api_brand_ids(conn, brands)
        try:
            row = statements.run(conn, "insert_api_token", {
                "name": name, "token_sha256": token_sha256, "all_brands": all_brands,
                "read_only": read_only}, filename=_FILE).one()
        except sa.exc.IntegrityError as exc:
            if getattr(exc.orig, "pgcode", None) == _UNIQUE_VIOLATION:
                raise InvalidInput(f"a live API token is named {name!r} already; revoke it "
                                   f"with `callbacks api-token revoke {name}` or pick another "
                                   "name", field="name", value=name) from None
            raise InvalidInput(f"token name {name!r} must be letters, digits, '_', '.' or '-' "
                               "(at most 63)", field="name", value=name) from None
        if brand_ids:
            statements.run(conn, "insert_api_token_brands",
                           {"token_id": row.id, "brand_ids": brand_ids}, filename=_FILE)
        token = {"name": row.name, "all_brands": row.all_brands, "brands": brands,
                 "read_only": row.read_only, "created_at": row.created_at, "revoked_at": None}
        if actor is not None:
            _record_token(conn, actor, "api_token.create", token, brand_ids, reason, secrets,
                          after=True)
    return token


def _record_token(conn: sa.Connection, actor: audit.Actor, kind: str, token: dict,
                  brand_ids: list[int], reason: str | None, secrets: tuple[str, ...], *,
                  after: bool) -> None:
    """A token's change in the audit trail: its scope, never its value. A token of one brand
    is that brand's to see; any other only administrators of every brand see."""
    scope = {"all_brands": token["all_brands"], "brands": list(token["brands"]),
             "read_only": token["read_only"]}
    audit.record(conn, actor=actor, kind=kind,
                 brand_id=brand_ids[0] if len(brand_ids) == 1 else None,
                 subject=token["name"], before=None if after else scope,
                 after=scope if after else None, reason=reason, secrets=secrets)


def _api_brand_ids(conn: sa.Connection, names: list[str]) -> list[int]:
    """The ids of the brands called ``names``; UnknownBrand naming the first missing one."""
    found = ids_by_name(conn, names)
    missing = [n for n in names if n not in found]
    if missing:
        known = known_names(conn)
        raise UnknownBrand(f"no brand named {missing[0]!r} (known brands: {known}); nothing "
                           "was written", field="brand", value=missing[0])
    return [found[n] for n in names]


def live_api_tokens(engine: sa.Engine) -> list:
    """The tokens not revoked: rows of ``name, token_sha256, all_brands, read_only, brand_ids``
    (the ids of the token's brands; none when it is scoped to all brands)."""
    with engine.connect() as conn:
        return list(statements.run(conn, "live_api_tokens", filename=_FILE))


def api_tokens(engine: sa.Engine, *, include_revoked: bool = False) -> list[dict]:
    """Names, scopes and dates of the API tokens, never their hashes: ``name, all_brands,
    brands`` (names of the brands that still exist; none when all_brands), ``read_only,
    created_at, revoked_at``."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in statements.run(
            conn, "api_tokens", {"include_revoked": include_revoked}, filename=_FILE)]


def revoke_api_token(engine: sa.Engine, name: str, *, actor: audit.Actor | None = None,
                     reason: str | None = None) -> dict | None:
    """Revoke the live token called ``name``: the token as :func:`api_tokens` lists it now,
    or None when there is none. With ``actor`` it is recorded as ``api_token.revoke``."""
    with engine.begin() as conn:
        row = statements.run(conn, "revoke_api_token", {"name": name}, filename=_FILE).first()
        if row is None:
            return None
        token = dict(row._mapping)
        if actor is not None:
            brand_ids = _api_brand_ids(conn, list(token["brands"] or ()))
            _record_token(conn, actor, "api_token.revoke", token, brand_ids, reason, (),
                          after=False)
    return token
