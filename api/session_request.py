"""The request of ``PUT /v1/brands/{brand}/sessions/{session_id}``: the path's session id and
the body's bytes in, a checked :class:`SessionRequest` out (pure).

The body is ``{"foreign_params": {...}}`` with ``"ttl_s": N`` or ``"expires_at": "RFC 3339"``
(or neither: the session lives until it is closed or ended by the platform). Each field is
checked by :mod:`delivery.sessions`'s rules; every problem is reported at once, as
``{"field", "message"}`` (and ``value`` as sent, never for Foreign-Params), raised as
:class:`api.batch.BadBatch` with the HTTP status to answer. Whether ``expires_at`` is in the
future is checked when the session is opened (:func:`delivery.sessions.open`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from delivery import sessions
from delivery.errors import InvalidInput

from .batch import BadBatch, _is_secret, _shown, read_json

#: The keys of the body.
KEYS = ("foreign_params", "ttl_s", "expires_at")
_SHAPE = ('the body must be a JSON object {"foreign_params": {...}} with "ttl_s": SECONDS or '
          '"expires_at": "RFC 3339 time", or neither for a session that lives until closed')


@dataclass(frozen=True)
class SessionRequest:
    session_id: str
    foreign_params: dict
    ttl_s: int | None
    expires_at: datetime | None


def problem(exc: InvalidInput) -> dict:
    """One problem as the API shows it: the field, what is allowed, and what was sent (never a
    Foreign-Params value)."""
    if exc.field is not None and _is_secret(exc.field):
        return {"field": exc.field, "message": str(exc)}
    return {"field": exc.field, "value": _shown(exc.value), "message": str(exc)}


def parse_session_request(session_id: str, body: bytes) -> SessionRequest:
    """Check the path's session id and the body; :class:`BadBatch` (400 not JSON, 422 with
    one problem per bad field) when they cannot open a session."""
    document = read_json(body, shape=_SHAPE, what="a session")
    if not isinstance(document, dict):
        raise BadBatch(422, f"{_SHAPE}; got {_kind(document)}", [{
            "field": None, "message": f"{_SHAPE}; got {_kind(document)}"}])
    problems: list[dict] = []

    def checked(check, *args):
        try:
            return check(*args)
        except InvalidInput as exc:
            problems.append(problem(exc))
            return None

    checked(sessions.check_session_id, session_id)
    for name in sorted(set(document) - set(KEYS)):
        problems.append({"field": name, "message": f"unknown field {name!r}; a session has "
                                                   f"{', '.join(KEYS)}"})
    if "foreign_params" not in document:
        problems.append({"field": "foreign_params", "message": 'foreign_params is required: '
                         'the values the platform knows the player\'s session by, such as '
                         '{"token": "..."}'})
    else:
        checked(sessions.check_foreign_params, document["foreign_params"])
    ttl_s, expires_at = document.get("ttl_s"), document.get("expires_at")
    if ttl_s is not None and expires_at is not None:
        problems.append({"field": "expires_at", "message": "give ttl_s or expires_at, not "
                         "both: ttl_s counts from now, expires_at names the time"})
    elif ttl_s is not None:
        ttl_s = checked(sessions.check_ttl_s, ttl_s)
    elif expires_at is not None:
        expires_at = checked(sessions.parse_expires_at, expires_at)
    if problems:
        raise BadBatch(422, f"the session cannot be opened ({len(problems)} problem(s): "
                            f"{'; '.join(p['message'] for p in problems[:3])}); nothing was "
                            "written", problems)
    return SessionRequest(session_id, document["foreign_params"], ttl_s, expires_at)


def _kind(value) -> str:
    return "an array" if isinstance(value, list) else type(value).__name__
