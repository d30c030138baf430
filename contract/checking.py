"""One body checker for every reader of the contract (pure; imports only the contract).

:func:`check_body` checks a callback body against a destination's fields in one of two modes:

``PRODUCER``
    What Callback Desk accepts from a producer before anything is queued: every required field,
    every kind, enum and range, all the way down; and a body any JSON reader can take back (no
    NUL characters or unpaired surrogates, no non-finite numbers, nesting at most
    :data:`MAX_DEPTH` deep).
``READER``
    What a tolerant platform requires (the sandbox is one): ``request_id`` and ``bet_id`` when
    the destination has ids, and the destination's ``money_fields`` — fully checked, because
    money moves by them. Any other member the contract knows is checked only for its outer kind
    when present (an id must still be an id, a list a list), never its enum or its items; members
    the contract does not know are ignored.

One rule for both modes wherever they look at the same value: an ``id`` or ``string`` is
non-blank (``" "`` is no player id on either side), a ``decimal`` is a decimal string, never
negative, of at most :data:`MAX_DECIMAL_DIGITS` digits. Every body the producer mode accepts, the
reader mode accepts.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime

from contract.destinations import COMMON_FIELDS, MAX_INTEGER, Destination, Field

PRODUCER = "producer"
READER = "reader"

#: Deepest nesting of arrays and objects a body may have (the contract's own shapes need 5).
MAX_DEPTH = 32
#: Most digits a decimal string may have (money and odds; far above any real stake).
MAX_DECIMAL_DIGITS = 30

_DECIMAL = re.compile(r"^\d+(\.\d+)?$")
#: RFC 3339 / ISO 8601 date-time; any number of fraction digits (the sender sends nanoseconds).
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$")


@dataclass(frozen=True)
class BodyProblem:
    """Where a body breaks the contract (a dotted path such as ``bet_odds[0].odd_ratio``), what
    is allowed there (``problem``), what was found (``found``, shortened for a message) and the
    value itself (``value``, for callers that show it their own way)."""

    field: str
    problem: str
    found: str | None = None
    value: object = dc_field(default=None, compare=False, repr=False)

    def message(self) -> str:
        return f"{self.field} {self.problem}" + (f", got {self.found}" if self.found else "")


def check_body(destination: Destination, body: object, mode: str = PRODUCER
               ) -> BodyProblem | None:
    """The first problem of ``body`` for ``destination`` in ``mode``, or None when it fits."""
    if mode not in (PRODUCER, READER):
        raise ValueError(f"mode must be {PRODUCER!r} or {READER!r}, got {mode!r}")
    if not isinstance(body, dict):
        return BodyProblem("body", "must be a JSON object", kind_of(body))
    if mode == PRODUCER:
        problem = check_json_text(body, "")
        if problem:
            return problem
    fields = (COMMON_FIELDS if destination.with_ids else ()) + destination.fields
    for field in fields:
        if mode == PRODUCER:
            problem = _member(body, field, field.name, deep=True)
        elif field.name in destination.money_fields or field in COMMON_FIELDS:
            problem = _member(body, field, field.name, deep=True, required=True)
        else:
            problem = _member(body, field, field.name, deep=False, required=False)
        if problem:
            return problem
    return None


def check_json_text(value: object, path: str) -> BodyProblem | None:
    """The first place in a parsed JSON value that no JSON store or reader can take back: text
    with NUL or an unpaired surrogate, a non-finite number, nesting deeper than
    :data:`MAX_DEPTH`. Walks without recursion, so any depth is safe."""
    if _fits_json_text(value):
        return None
    # Only a value with a problem is walked again, naming each place on the way: the first
    # problem found is the one reported, always the same one.
    stack: list[tuple[object, str, int]] = [(value, path, 0)]
    while stack:
        current, where, depth = stack.pop()
        if isinstance(current, (dict, list)):
            if depth >= MAX_DEPTH:
                return BodyProblem(where or "body", f"is nested more than {MAX_DEPTH} levels deep")
            if isinstance(current, dict):
                for key, member in current.items():
                    inner = f"{where}.{key}" if where else str(key)
                    if not _storable(key):
                        return BodyProblem(where or "body", "has a member name with a NUL "
                                           "character or an unpaired surrogate")
                    stack.append((member, inner, depth + 1))
            else:
                stack.extend((member, f"{where}[{i}]", depth + 1)
                             for i, member in enumerate(current))
        elif isinstance(current, str) and not _storable(current):
            return BodyProblem(where or "body", "must be text without NUL characters or "
                               "unpaired surrogates", show(current), current)
        elif isinstance(current, float) and not math.isfinite(current):
            return BodyProblem(where or "body", "must be a finite number", show(current),
                               current)
    return None


def _fits_json_text(value: object) -> bool:
    """Whether :func:`check_json_text` finds nothing in ``value``: the same checks, in one walk
    that builds no names of places (most values are fine: naming each place cost more than the
    checks themselves)."""
    if not isinstance(value, (dict, list)):
        return _fits_scalar(value)
    stack: list[tuple[dict | list, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if depth >= MAX_DEPTH:
            return False
        if isinstance(current, dict):
            for key in current:
                if not _storable(key):
                    return False
            members = current.values()
        else:
            members = current
        for member in members:
            if isinstance(member, str):
                # An ASCII text is storable unless it holds NUL (isascii is a flag lookup).
                if not (member.isascii() and "\x00" not in member) and not _storable(member):
                    return False
            elif isinstance(member, (dict, list)):
                stack.append((member, depth + 1))
            elif isinstance(member, float) and not math.isfinite(member):
                return False
    return True


def _fits_scalar(value: object) -> bool:
    if isinstance(value, str):
        return _storable(value)
    return not (isinstance(value, float) and not math.isfinite(value))


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _member(container: dict, field: Field, path: str, *, deep: bool,
            required: bool | None = None) -> BodyProblem | None:
    if container.get(field.name) is None:
        needed = field.required if required is None else required
        return BodyProblem(path, "is required") if needed else None
    return _value(container[field.name], field, path, deep)


def _value(value: object, field: Field, path: str, deep: bool) -> BodyProblem | None:
    problem = kind_problem(field, value, deep)
    if problem:
        return BodyProblem(path, problem, show(value), value)
    if not deep:
        return None
    if field.kind == "list" and field.item is not None:
        for index, item in enumerate(value):
            found = _value(item, field.item, f"{path}[{index}]", deep)
            if found:
                return found
    if field.kind == "object":
        for member in field.fields:
            found = _member(value, member, f"{path}.{member.name}", deep=deep)
            if found:
                return found
    return None


def kind_problem(field: Field, value: object, deep: bool = True) -> str | None:
    """What ``value`` must be to be of the field's kind, or None when it is. With ``deep``
    False (a tolerant reader's look) enums and datetimes are checked only as an integer and a
    string."""
    kind = field.kind
    if kind == "any":
        return None
    if kind == "string":
        return None if _text(value) else "must be a non-blank string"
    if kind == "id":
        ok = _text(value) or (_is_int(value) and 0 <= value <= MAX_INTEGER)
        return None if ok else f"must be a non-blank string or an integer 0..{MAX_INTEGER}"
    if kind == "decimal":
        ok = (isinstance(value, str) and _DECIMAL.match(value)
              and len(value.replace(".", "")) <= MAX_DECIMAL_DIGITS)
        return None if ok else ('must be a decimal string such as "12.50" (not negative, at '
                                f'most {MAX_DECIMAL_DIGITS} digits)')
    if kind == "integer":
        low, high = field.minimum, field.maximum
        ok = _is_int(value) and low <= value <= high
        return None if ok else f"must be an integer {low}..{high}"
    if kind == "enum":
        if not deep:
            return None if _is_int(value) else "must be an integer"
        return None if _is_int(value) and value in field.enum else \
            f"must be one of {', '.join(map(str, field.enum))}"
    if kind == "datetime":
        if not deep:
            return None if isinstance(value, str) else "must be a date-time string"
        return None if _is_datetime(value) else \
            "must be an RFC 3339 date-time such as 2026-11-23T12:00:00Z"
    if kind == "list":
        return None if isinstance(value, list) else "must be a list"
    if kind == "object":
        return None if isinstance(value, dict) else "must be an object"
    raise AssertionError(f"contract field {field.name} has unknown kind {kind}")


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return False
    match = _DATETIME.match(value)
    if not match:
        return False
    # Python reads at most microseconds: the digits past six say nothing about validity.
    fraction = (match.group(2) or "")[:7]
    offset = match.group(3) or ""
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        datetime.fromisoformat(match.group(1).replace("t", "T") + fraction + offset)
    except ValueError:
        return False
    return True


def kind_of(value: object) -> str:
    """A value's JSON kind, for messages."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", float: "a number", int: "an integer"}.get(type(value),
                                                                           type(value).__name__)


def show(value: object, limit: int = 80) -> str:
    """A short, printable rendering of a value for a message (never the whole of a big one)."""
    if _is_int(value) and value.bit_length() > 200:
        # str() of a huge int is slow and refused past 4,300 digits: say its size instead.
        text = f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    elif isinstance(value, (dict, list)):
        try:
            text = json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            text = kind_of(value)
    else:
        # repr escapes NUL and unpaired surrogates, so the message stays printable.
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
