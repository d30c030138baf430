"""The producer HTTP API: a sportsbook's services in any language queue callbacks over HTTP.

``callbacks api`` serves it (:mod:`api.cli`). Routes (:mod:`api.app`)::

    POST /v1/brands/{brand}/callbacks    queue 1..1000 callbacks, all or nothing, idempotent
                                         on each payload's request_id
    GET  /v1/bets/{bet_id}/callbacks     a bet's callbacks with their state and attempts
    PUT|DELETE|GET /v1/brands/{brand}/sessions/{session_id}
                                         open or refresh, close, read a player session
    GET  /v1/brands/{brand}/sessions     a brand's player sessions
    GET  /openapi.json                   the OpenAPI 3.1 document, built from the contract
    GET  /healthz                        200 when the database answers, else 503

Every route but the last two asks for ``Authorization: Bearer <token>`` (:mod:`api.auth`);
a token reaches only its brands, and may be read-only (:mod:`api.scopes`, pure).
``callbacks api`` serves it with :mod:`api.server`: a read timeout on headers and bodies,
connection limits per address and in all.
The request body is read by :mod:`api.batch` and :mod:`api.session_request` (pure), the
document built by :mod:`api.openapi` (pure); the queue is only ever touched through
:mod:`delivery.store`.
"""
