"""The OpenAPI 3.1 document of the producer API, generated from the callback contract (pure).

Each destination of :mod:`contract` that producers queue becomes three schemas —
``BetPlacePayload`` (its fields), ``BetPlaceCallback`` (one item of a batch: bet_id,
destination, payload, foreign_params) and ``BetPlaceErrorAnswer`` (the 400 codes its platform
may answer) — and every destination, the heartbeat too (an empty body, Foreign-Params only), a
request under ``webhooks``: what the operator's platform receives. Change the contract and the
document follows. The schemas say what :mod:`contract.checking` checks in producer mode.
"""
from __future__ import annotations

from functools import cache

import contract
from contract import Destination, Field, checking
from delivery import sessions
from delivery.records import AttemptOutcome, CallbackState

from .batch import MAX_BODY_BYTES, MAX_CALLBACKS

#: Version of the producer API (the path prefix).
API_VERSION = "1"

_REF = "#/components/schemas/"
_DECIMAL_PATTERN = r"^\d+(\.\d+)?$"
#: A string with at least one character that is not white space.
_NON_BLANK_PATTERN = r"\S"


@cache
def document() -> dict:
    """The whole OpenAPI document (built once; treat it as read-only)."""
    schemas = dict(_fixed_schemas(), **_session_schemas())
    queued = [d for d in contract.DESTINATIONS.values() if contract.queueable(d.path)]
    for dest in contract.DESTINATIONS.values():
        name = schema_name(dest)
        if dest in queued:
            schemas[f"{name}Payload"] = payload_schema(dest)
            schemas[f"{name}Callback"] = callback_schema(dest)
        if dest.supported_errors:
            schemas[f"{name}ErrorAnswer"] = error_answer_schema(dest)
    schemas["Callback"] = {
        "description": "One callback to queue, exactly like a line of `callbacks enqueue` "
                       "(the heartbeat is sent per session, not queued).",
        "oneOf": [_ref(f"{schema_name(d)}Callback") for d in queued],
        "discriminator": {"propertyName": "destination", "mapping": {
            d.path: _REF + f"{schema_name(d)}Callback" for d in queued}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Callback Desk producer API",
            "version": f"{API_VERSION} (callback contract {contract.CONTRACT_VERSION})",
            "description": _DESCRIPTION,
        },
        "security": [{"bearer": []}],
        "paths": _paths(),
        "webhooks": {d.path: {"post": _webhook(d)} for d in contract.DESTINATIONS.values()},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "A token from `callbacks api-token create --name NAME --brand "
                               "BRAND` (or `--all-brands`; `--read-only` for one that never "
                               "writes), or one of CALLBACKS_API_TOKENS (`TOKEN`, "
                               "`TOKEN:BRAND+BRAND`, `TOKEN:BRAND:read-only`). A token "
                               "writes only to its brands and reads only their bets."}},
        },
    }


def schema_name(dest: Destination) -> str:
    """``/bet/cash-out-orders/accepted`` → ``BetCashOutOrdersAccepted``."""
    words = dest.path.replace("-", "/").split("/")
    return "".join(w[:1].upper() + w[1:] for w in words if w)


def field_schema(field: Field) -> dict:
    """The JSON Schema of one contract field, as :mod:`delivery.validation` checks it."""
    schema = _kind_schema(field)
    schema["description"] = field.description
    if field.example is not None:
        schema["examples"] = [field.example]
    if not field.required:
        return {"description": field.description, "anyOf": [schema, {"type": "null"}]}
    return schema


def payload_schema(dest: Destination) -> dict:
    schema = _object_schema(contract.COMMON_FIELDS + dest.fields, optional={
        f.name for f in contract.COMMON_FIELDS})
    schema["description"] = (f"{dest.title}: {dest.sent_when} request_id and bet_id are filled "
                             "in when absent.")
    if dest.supported_errors:
        schema["x-supported-error-codes"] = [e.code for e in dest.supported_errors]
    return schema


def callback_schema(dest: Destination) -> dict:
    return {
        "type": "object",
        "description": f"A {dest.path} callback to queue.",
        "required": ["bet_id", "destination", "payload"],
        "additionalProperties": False,
        "properties": {
            "bet_id": {"type": "string", "minLength": 1, "maxLength": 200,
                       "description": "The bet: the callback's group (its callbacks go out in "
                                      "order, one at a time)."},
            "destination": {"const": dest.path},
            "payload": _ref(f"{schema_name(dest)}Payload"),
            "foreign_params": _ref("ForeignParams"),
        },
    }


def error_answer_schema(dest: Destination) -> dict:
    """The 400 answers that are business outcomes for ``dest`` (rejected, not retried); only
    for destinations that have some."""
    return {
        "type": "object",
        "description": f"A platform's 400 answer to {dest.path} that means rejected (not "
                       "retried): " + "; ".join(f"{e.code} — {e.meaning}"
                                                for e in dest.supported_errors) + ".",
        "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code"],
            "properties": {"code": {"enum": [e.code for e in dest.supported_errors]},
                           "data": {"type": "object"}}}},
    }


def _kind_schema(field: Field) -> dict:
    kind = field.kind
    if kind == "string":
        return {"type": "string", "pattern": _NON_BLANK_PATTERN}
    if kind == "id":
        return {"anyOf": [{"type": "string", "pattern": _NON_BLANK_PATTERN},
                          {"type": "integer", "minimum": 0, "maximum": contract.MAX_INTEGER}]}
    if kind == "decimal":
        return {"type": "string", "pattern": _DECIMAL_PATTERN,
                "maxLength": checking.MAX_DECIMAL_DIGITS + 1}
    if kind == "integer":
        return {"type": "integer", "minimum": field.minimum, "maximum": field.maximum}
    if kind == "enum":
        return {"type": "integer", "enum": list(field.enum)}
    if kind == "datetime":
        return {"type": "string", "format": "date-time"}
    if kind == "list":
        return {"type": "array", "items": field_schema(field.item) if field.item else {}}
    if kind == "object":
        return _object_schema(field.fields)
    if kind == "any":
        return {}
    raise AssertionError(f"contract field {field.name} has unknown kind {kind}")


def _object_schema(fields: tuple[Field, ...],
                   optional: frozenset[str] | set[str] = frozenset()) -> dict:
    return {
        "type": "object",
        "required": [f.name for f in fields if f.required and f.name not in optional],
        "properties": {f.name: field_schema(f) for f in fields},
    }


def _ref(name: str) -> dict:
    return {"$ref": _REF + name}


def _json(name: str) -> dict:
    return {"application/json": {"schema": _ref(name)}}


def _answer(description: str, schema: str = "Error", headers: dict | None = None) -> dict:
    answer = {"description": description, "content": _json(schema)}
    if headers:
        answer["headers"] = headers
    return answer


_UNAUTHORIZED = _answer("No bearer token, or one that is unknown or revoked.", headers={
    "WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="callbacks"'}})
_UNAVAILABLE = _answer("The database does not answer; try again shortly.")


def _paths() -> dict:
    return {
        "/v1/brands/{brand}/callbacks": {"post": {
            "operationId": "enqueueCallbacks",
            "summary": "Queue callbacks for a brand (all or nothing, idempotent)",
            "description": (
                f"1 to {MAX_CALLBACKS:,} callbacks (body at most {MAX_BODY_BYTES:,} bytes), "
                "queued in one transaction: when any is bad nothing is queued. Each callback "
                "is identified by its payload's request_id (filled in when absent): sending a "
                "request_id again with the same brand, bet_id, destination, payload and "
                "foreign_params queues nothing and answers its existing id; with anything "
                "different it is a 409."),
            "parameters": [{"name": "brand", "in": "path", "required": True,
                            "schema": {"type": "string"},
                            "description": "A brand added with `callbacks brand add`."}],
            "requestBody": {"required": True, "content": _json("CallbackBatch")},
            "responses": {
                "201": _answer("At least one callback was queued now.", "Queued"),
                "200": _answer("Every callback was queued already (a repeat); nothing new.",
                               "Queued"),
                "400": _answer("The body is not JSON."),
                "401": _UNAUTHORIZED,
                "403": _answer("The token may not write to this brand: it is read-only, or "
                               "made for other brands. A token made for other brands gets this "
                               "answer for a brand that does not exist too: it is not told "
                               "which brands there are."),
                "404": _answer("No brand has this name (`callbacks brand list`); only a token "
                               "of all brands, or one naming this brand, is told so."),
                "409": _answer("A request_id is queued already with a different body.",
                               "Conflicts"),
                "413": _answer(f"The body is larger than {MAX_BODY_BYTES:,} bytes."),
                "422": _answer("The body is not a batch, or callbacks break the contract; "
                               "one problem per bad callback at least.", "Problems"),
                "503": _UNAVAILABLE,
            },
        }},
        "/v1/bets/{bet_id}/callbacks": {"get": {
            "operationId": "betCallbacks",
            "summary": "A bet's callbacks, in order, with their state and attempts",
            "description": "Only a bet of one of the token's brands, and only its brand's "
                           "callbacks and attempts.",
            "parameters": [{"name": "bet_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {
                "200": _answer("The bet and its callbacks.", "BetCallbacks"),
                "401": _UNAUTHORIZED,
                "404": _answer("No bet has this id among the token's brands: a bet of another "
                               "brand is answered exactly like one that does not exist (never "
                               "403)."),
                "503": _UNAVAILABLE,
            },
        }},
        **_session_paths(),
        "/healthz": {"get": {
            "operationId": "health", "summary": "Whether the API can reach its database",
            "security": [],
            "responses": {"200": _answer("The database answers.", "Health"),
                          "503": _answer("The database does not answer.", "Health")},
        }},
        "/metrics": {"get": {
            "operationId": "metrics", "summary": "Prometheus metrics: queue depth, due now, "
            "in flight and oldest open callback per brand; callbacks queued through this API",
            "security": [],
            "responses": {"200": {"description": "Prometheus text exposition format.",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }},
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document", "security": [],
            "responses": {"200": {"description": "The OpenAPI 3.1 document.",
                                  "content": {"application/json": {"schema": {
                                      "type": "object"}}}}},
        }},
    }


_BRAND = {"name": "brand", "in": "path", "required": True, "schema": {"type": "string"},
          "description": "A brand added with `callbacks brand add`."}
_SESSION_ID = {"name": "session_id", "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1,
                          "maxLength": sessions.MAX_SESSION_ID_CHARS},
               "description": "The player session's id, as the producer knows it (1 to "
                              f"{sessions.MAX_SESSION_ID_CHARS} printable characters)."}
_SESSION_FORBIDDEN = _answer(
    "The token may not reach this brand: it is made for other brands (answered alike whether "
    "or not the brand exists), or, for PUT and DELETE, it is read-only.")
_NO_BRAND = _answer("No brand has this name (`callbacks brand list`); only a token of all "
                    "brands, or one naming this brand, is told so.")


def _session_paths() -> dict:
    return {
        "/v1/brands/{brand}/sessions/{session_id}": {
            "parameters": [_BRAND, _SESSION_ID],
            "put": {
                "operationId": "openSession",
                "summary": "Open a player session, or refresh it (heartbeats start)",
                "description": (
                    "While the session is live, the brand's platform gets POST /heartbeat "
                    "with its foreign_params once per the brand's heartbeat interval "
                    "(±10 %), until it is closed (DELETE), reaches its end (ttl_s or "
                    "expires_at), or the platform answers 400 auth_session_unknown "
                    "(ended_by_platform). Without ttl_s and expires_at it lives until one of "
                    "those. Sending it again while it is live refreshes it (new "
                    "foreign_params and end; its heartbeats go on as scheduled): a repeat is "
                    "safe. Sending it for a session that is over opens it anew."),
                "requestBody": {"required": True, "content": _json("SessionRequest")},
                "responses": {
                    "201": _answer("Opened: new, or live again after it was over.", "Session"),
                    "200": _answer("Refreshed: it was live.", "Session"),
                    "400": _answer("The body is not JSON."),
                    "401": _UNAUTHORIZED,
                    "403": _SESSION_FORBIDDEN,
                    "404": _NO_BRAND,
                    "413": _answer(f"The body is larger than {MAX_BODY_BYTES:,} bytes."),
                    "422": _answer("The session id or the body is not a session; one problem "
                                   "per bad field, naming it.", "SessionProblems"),
                    "503": _UNAVAILABLE,
                },
            },
            "delete": {
                "operationId": "closeSession",
                "summary": "Close a player session (no more heartbeats)",
                "description": "A heartbeat in flight still finishes and is recorded. A session "
                               "over already (closed, expired, ended by the platform) stays "
                               "as it is, and is answered 204 too.",
                "responses": {
                    "204": {"description": "Closed, or over already."},
                    "401": _UNAUTHORIZED,
                    "403": _SESSION_FORBIDDEN,
                    "404": _answer("No such brand, or no session of this id was ever opened "
                                   "for it."),
                    "503": _UNAVAILABLE,
                },
            },
            "get": {
                "operationId": "session",
                "summary": "A player session and its heartbeats so far",
                "responses": {
                    "200": _answer("The session.", "Session"),
                    "401": _UNAUTHORIZED,
                    "403": _SESSION_FORBIDDEN,
                    "404": _answer("No such brand, or no session of this id was ever opened "
                                   "for it."),
                    "503": _UNAVAILABLE,
                },
            },
        },
        "/v1/brands/{brand}/sessions": {"get": {
            "operationId": "sessions",
            "summary": "A brand's player sessions, the latest opened first",
            "parameters": [
                _BRAND,
                {"name": "state", "in": "query", "required": False,
                 "schema": {"enum": list(contract.SESSION_STATES)},
                 "description": "Only the sessions in this state."},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": sessions.MAX_LIST,
                            "default": 1000}},
            ],
            "responses": {
                "200": _answer("The sessions.", "Sessions"),
                "401": _UNAUTHORIZED,
                "403": _SESSION_FORBIDDEN,
                "404": _NO_BRAND,
                "422": _answer("state or limit is not one that exists.", "SessionProblems"),
                "503": _UNAVAILABLE,
            },
        }},
    }


def _session_schemas() -> dict:
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    nullable_int = {"type": ["integer", "null"]}
    return {
        "SessionRequest": {
            "type": "object", "required": ["foreign_params"], "additionalProperties": False,
            "description": "A player session to open or refresh: its Foreign-Params and, at "
                           "most one of the two, when it ends.",
            "properties": {
                "foreign_params": {
                    "type": "object", "minProperties": 1,
                    "description": "The values the platform knows the player's session by, "
                                   "sent as the heartbeat's Foreign-Params header; at most "
                                   f"{sessions.MAX_FOREIGN_PARAMS_BYTES:,} bytes as JSON. "
                                   "Shown back only masked.",
                    "examples": [{"token": "player-session-token"}]},
                "ttl_s": {"type": "integer", "minimum": 1, "maximum": sessions.MAX_TTL_S,
                          "description": "The session ends this many seconds from now "
                                         "(at most 30 days)."},
                "expires_at": {"type": "string", "format": "date-time",
                               "description": "The session ends at this time: RFC 3339 with "
                                              "its offset, in the future.",
                               "examples": ["2026-12-05T18:00:00Z"]},
            },
            "not": {"required": ["ttl_s", "expires_at"]},
        },
        "Session": {
            "type": "object",
            "required": ["session_id", "brand", "state", "heartbeats_sent", "opened_at"],
            "properties": {
                "session_id": {"type": "string"},
                "brand": {"type": "string"},
                "state": {"enum": list(contract.SESSION_STATES)},
                "heartbeats_sent": {"type": "integer"},
                "last_status": {**nullable_int,
                                "description": "The platform's HTTP status to the last "
                                               "heartbeat (null: none or no answer)."},
                "last_outcome": {"enum": [AttemptOutcome.DELIVERED.value,
                                          AttemptOutcome.REJECTED.value,
                                          AttemptOutcome.FAILED.value,
                                          AttemptOutcome.UNKNOWN.value, None]},
                "last_at": nullable_time,
                "last_error": {"type": ["string", "null"]},
                "opened_at": {"type": "string", "format": "date-time"},
                "refreshed_at": {"type": "string", "format": "date-time"},
                "expires_at": {**nullable_time, "description": "null: until closed"},
                "next_beat_at": {**nullable_time, "description": "null once it is over"},
                "failing_since": nullable_time,
                "failures_in_row": {"type": "integer"},
                "ended_at": nullable_time,
                "foreign_params": {"type": "object",
                                   "description": "Masked: only the brand's visible keys "
                                                  "are shown in clear."},
            },
        },
        "Sessions": {"type": "object", "required": ["sessions"], "properties": {
            "sessions": {"type": "array", "items": _ref("Session")}}},
        "SessionProblems": {
            "type": "object", "required": ["error", "problems"],
            "properties": {
                "error": {"type": "string"},
                "problems": {"type": "array", "items": {
                    "type": "object", "required": ["field", "message"],
                    "properties": {
                        "field": {"type": ["string", "null"], "examples": ["ttl_s"]},
                        "value": {"description": "What was sent (absent for "
                                                 "foreign_params)."},
                        "message": {"type": "string", "description": "What to send "
                                                                     "instead."}}}},
            },
        },
    }


def _webhook(dest: Destination) -> dict:
    if not dest.with_ids:
        return _session_webhook(dest)
    return {
        **_about(dest),
        "parameters": [
            _foreign_params("The callback's foreign_params as JSON (the player's session)."),
            {"name": "X-Request-ID", "in": "header", "required": True,
             "schema": {"type": "string", "format": "uuid"},
             "description": "This attempt's Request ID (new on every retry)."},
        ],
        "requestBody": {"required": True, "content": _json(f"{schema_name(dest)}Payload")},
        "responses": {
            "2XX": {"description": "Applied (or applied already: request_id is the "
                                   "idempotency key). Delivered."},
            "400": _rejected(dest),
            "default": {"description": "Anything else (3xx, other 4xx, 5xx, no answer) is "
                                       "retried on the brand's schedule."},
        },
    }


def _session_webhook(dest: Destination) -> dict:
    """A request about a session, not a bet (the heartbeat): no body, Foreign-Params only."""
    return {
        **_about(dest),
        "parameters": [
            _foreign_params("The player's session values as JSON: all the request carries."),
        ],
        "responses": {
            "204": {"description": "The session is live (and extended)."},
            "400": _rejected(dest),
        },
    }


def _about(dest: Destination) -> dict:
    return {"summary": dest.title,
            "description": f"Sent to the brand's platform at base URL + {dest.path}. "
                           f"{dest.sent_when} {dest.notes}".strip()}


def _foreign_params(description: str) -> dict:
    return {"name": "Foreign-Params", "in": "header", "required": True,
            "schema": {"type": "string"}, "description": description}


def _rejected(dest: Destination) -> dict:
    if not dest.supported_errors:
        return {"description": "No 400 code is a business answer here: every 400 is retried."}
    return {"description": "With a supported code: rejected, not retried. Any other 400 is "
                           "retried.",
            "content": _json(f"{schema_name(dest)}ErrorAnswer")}


def _fixed_schemas() -> dict:
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    return {
        "ForeignParams": {
            "type": "object",
            "description": "The player's session values, sent as the Foreign-Params header. "
                           "Never shown back by this API.",
            "examples": [{"token": "player-session-token"}],
        },
        "CallbackBatch": {
            "type": "object", "required": ["callbacks"], "additionalProperties": False,
            "properties": {"callbacks": {"type": "array", "minItems": 1,
                                         "maxItems": MAX_CALLBACKS,
                                         "items": _ref("Callback")}},
        },
        "Queued": {
            "type": "object", "required": ["request_ids", "callbacks"],
            "properties": {
                "request_ids": {"type": "array", "items": {"type": "string"},
                                "description": "One per callback sent, in the same order."},
                "callbacks": {"type": "array", "items": {
                    "type": "object",
                    "required": ["request_id", "bet_id", "state", "created"],
                    "properties": {
                        "request_id": {"type": "string"},
                        "bet_id": {"type": "string"},
                        "state": {"type": "string", "description": "Queue state now."},
                        "created": {"type": "boolean",
                                    "description": "false: it was queued already"}}}},
            },
        },
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": {"type": "string"}}},
        "Problems": {
            "type": "object", "required": ["error", "problems"],
            "properties": {
                "error": {"type": "string"},
                "problems": {"type": "array", "items": {
                    "type": "object", "required": ["index", "field", "message"],
                    "properties": {
                        "index": {"type": "integer",
                                  "description": "Position in callbacks (0-based)."},
                        "field": {"type": ["string", "null"],
                                  "examples": ["payload.bet_odds[1].odd_ratio"]},
                        "value": {"description": "What was sent (long values cut; absent "
                                                 "for foreign_params)."},
                        "message": {"type": "string", "description": "What is allowed."}}}},
            },
        },
        "Conflicts": {
            "type": "object", "required": ["error", "conflicts"],
            "properties": {
                "error": {"type": "string"},
                "conflicts": {"type": "array", "items": {
                    "type": "object", "required": ["index", "request_id", "differs"],
                    "properties": {
                        "index": {"type": "integer"},
                        "request_id": {"type": "string"},
                        "differs": {"type": "array", "items": {"enum": [
                            "brand", "bet_id", "destination", "payload",
                            "foreign_params"]}}}}},
            },
        },
        "Attempt": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid",
                       "description": "The Request ID (sent as X-Request-ID)."},
                "attempt_no": {"type": "integer"},
                "started_at": {"type": "string", "format": "date-time"},
                "finished_at": {**nullable_time, "description": "null while sending"},
                "duration_ms": {"type": ["number", "null"]},
                "outcome": {"enum": [o.value for o in AttemptOutcome]},
                "response_status": {"type": ["integer", "null"]},
                "error_class": {"type": ["string", "null"]},
                "error_detail": {"type": ["string", "null"]},
                "error_code": {"type": ["string", "null"]},
                "next_attempt_at": nullable_time,
            },
        },
        "CallbackState": {
            "type": "object",
            "properties": {
                "request_id": {"type": "string"},
                "destination": {"type": "string"},
                "state": {"enum": [s.value for s in CallbackState]},
                "origin": {"enum": ["producer", "system", "integration_test"]},
                "attempt_count": {"type": "integer"},
                "next_attempt_at": nullable_time,
                "last_status": {"type": ["integer", "null"]},
                "last_error": {"type": ["string", "null"]},
                "created_at": {"type": "string", "format": "date-time"},
                "finished_at": nullable_time,
                "payload": {"type": "object"},
                "attempts": {"type": "array", "items": _ref("Attempt")},
            },
        },
        "BetCallbacks": {
            "type": "object",
            "properties": {
                "bet_id": {"type": "string"},
                "brand": {"type": "string"},
                "status": {"type": "string"},
                "restrictions": {"type": "array"},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "callbacks": {"type": "array", "items": _ref("CallbackState")},
            },
        },
        "Health": {"type": "object", "required": ["status"],
                   "properties": {"status": {"enum": ["ok", "unavailable"]},
                                  "error": {"type": "string"}}},
    }


_DESCRIPTION = """\
Queue sportsbook bet callbacks for delivery to an operator's platform, and see what became of
them. Every route but /healthz, /metrics and /openapi.json needs
`Authorization: Bearer <token>`. A token is made for some brands or all of them, and may be
read-only: it queues callbacks only for its brands (else 403) and reads only their bets (a bet
of another brand is a 404, like one that does not exist).

A bet is a callback group: its callbacks go out in the order they were queued, one at a time.
Delivery is at-least-once; the payload's request_id is the idempotency key on both sides: a
producer may repeat a request safely, and a platform sees the same request_id on every retry.

A player session is declared with PUT /v1/brands/{brand}/sessions/{session_id} and closed with
DELETE: while it is live, Callback Desk sends the platform its /heartbeat once per the brand's
heartbeat interval.

The `webhooks` below are what Callback Desk sends to the platform for each destination, with
the 400 codes that count as a business answer (rejected, not retried).
"""
