"""The body of ``POST /v1/brands/{brand}/callbacks``: bytes in, validated callbacks out (pure).

:func:`parse_batch` returns the callbacks in input order, each checked by
:func:`delivery.validation.parse_callback`, or raises :class:`BadBatch` with the HTTP status to
answer and one problem per bad item. A problem never shows a Foreign-Params value: those are the
player's session secrets.
"""
from __future__ import annotations

import json

from contract import checking
from delivery.errors import InvalidInput
from delivery.validation import NewCallback, parse_callback

#: Most callbacks one request may carry.
MAX_CALLBACKS = 1000
#: Largest request body read, in bytes (1,000 callbacks of ordinary size take a few MiB).
MAX_BODY_BYTES = 10 * 1024 * 1024
#: A value shown back in a problem is cut to this many characters of JSON.
MAX_SHOWN_VALUE_CHARS = 200
#: Fields whose values are never shown back.
SECRET_FIELD = "foreign_params"

_SHAPE = 'the body must be a JSON object {"callbacks": [...]}'


class BadBatch(InvalidInput):
    """The request cannot be queued as sent; nothing was written.

    ``status`` is the HTTP status to answer: 400 (not JSON), 413 (too large) or 422 (wrong shape,
    bad callbacks). ``problems`` lists the bad callbacks, each
    ``{"index", "field", "value", "message"}`` (no ``value`` for Foreign-Params).
    """

    def __init__(self, status: int, message: str, problems: list[dict] | None = None):
        self.status = status
        self.problems = problems or []
        super().__init__(message)


def too_large(limit_bytes: int) -> BadBatch:
    return BadBatch(413, f"the body is larger than {limit_bytes:,} bytes; send fewer callbacks "
                         "per request")


def parse_batch(body: bytes, *, max_callbacks: int = MAX_CALLBACKS) -> list[NewCallback]:
    """Validate a whole request body; the callbacks in input order, or :class:`BadBatch`.

    Each callback is checked by :func:`parse_callback`, the same rules as ``callbacks enqueue``
    (text, numbers, depth, kinds, ranges)."""
    items = _items(read_json(body), max_callbacks)
    problems: list[dict] = []
    parsed: list[NewCallback | None] = []
    for index, raw in enumerate(items):
        try:
            callback = parse_callback(raw)
        except InvalidInput as exc:
            problems.append(problem(index, exc))
            parsed.append(None)
        else:
            parsed.append(callback)
    problems += _reused_request_ids(parsed)
    if problems:
        problems.sort(key=lambda p: p["index"])
        bad = len({p["index"] for p in problems})
        raise BadBatch(422, f"{bad} of {len(items)} callback(s) cannot be queued; nothing was "
                            "queued", problems)
    return parsed  # type: ignore[return-value]  (no None left when there is no problem)


def problem(index: int, exc: InvalidInput) -> dict:
    """One bad callback as the API shows it: where, what was sent, what is allowed."""
    field = exc.field
    message = str(exc)
    if field is not None and _is_secret(field):
        # Messages end with ", got <value>"; the value of a session field stays unsaid.
        message = message.split(", got ", 1)[0]
        if "value not shown" not in message:
            message += " (value not shown: Foreign-Params hold session secrets)"
        return {"index": index, "field": field, "message": message}
    return {"index": index, "field": field, "value": _shown(exc.value), "message": message}


def read_json(body: bytes, *, shape: str = _SHAPE, what: str = "a callback batch"):
    """The request body as JSON, or a 400 saying why not (``shape``: what the body must be;
    ``what``: what it is meant to be)."""
    if not body.strip():
        raise BadBatch(400, f"the body is empty; {shape}")
    try:
        # NaN and Infinity are not JSON numbers; 1e400 parses as infinity and is refused by the
        # value's own check, naming its field.
        return json.loads(body, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise BadBatch(400, "the body is not UTF-8 text") from None
    except RecursionError:
        raise BadBatch(400, f"the body is nested too deeply to be {what}") from None
    except ValueError as exc:
        raise BadBatch(400, f"the body is not valid JSON: {exc}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _items(document, max_callbacks: int) -> list:
    if isinstance(document, list):
        raise BadBatch(422, f"{_SHAPE}, got an array; wrap the callbacks in "
                            '{"callbacks": [...]}')
    if not isinstance(document, dict):
        raise BadBatch(422, f"{_SHAPE}, got {type(document).__name__}")
    unknown = sorted(set(document) - {"callbacks"})
    if unknown:
        raise BadBatch(422, f"unknown key {unknown[0]!r}; {_SHAPE}")
    items = document.get("callbacks")
    if not isinstance(items, list):
        raise BadBatch(422, f'"callbacks" must be an array of callbacks; {_SHAPE}')
    if not items:
        raise BadBatch(422, '"callbacks" is empty; send 1 to '
                            f"{max_callbacks:,} callbacks per request")
    if len(items) > max_callbacks:
        raise BadBatch(422, f"{len(items):,} callbacks in one request; at most "
                            f"{max_callbacks:,} are accepted: split them over several requests")
    return items


def _reused_request_ids(parsed: list[NewCallback | None]) -> list[dict]:
    """A request_id names one callback: a second, different callback with it is a problem (an
    identical one is the same callback sent twice, queued once)."""
    first: dict[str, tuple[int, NewCallback]] = {}
    problems = []
    for index, callback in enumerate(parsed):
        if callback is None:
            continue
        earlier = first.setdefault(callback.request_id, (index, callback))
        if earlier[1] is not callback and earlier[1] != callback:
            problems.append({
                "index": index, "field": "payload.request_id", "value": callback.request_id,
                "message": f"request_id {callback.request_id!r} is also callback "
                           f"{earlier[0]}'s, which differs; give each callback its own "
                           "request_id"})
    return problems


def _is_secret(field: str) -> bool:
    return field == SECRET_FIELD or field.startswith((SECRET_FIELD + ".", SECRET_FIELD + "["))


def _shown(value):
    """The value as sent, or a cut text of it when its JSON is long or cannot be sent back as
    JSON text (a NUL, an unpaired surrogate, a non-finite number: then its escaped repr)."""
    if checking.check_json_text(value, "value"):
        return checking.show(value, MAX_SHOWN_VALUE_CHARS)
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return repr(value)[:MAX_SHOWN_VALUE_CHARS]
    if len(text) <= MAX_SHOWN_VALUE_CHARS:
        return value
    return text[:MAX_SHOWN_VALUE_CHARS - 1] + "…"
