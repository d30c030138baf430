"""Checks a callback body against the contract's fields, as a strict platform would.

The field list, kinds and enums come from :mod:`contract`; nothing is re-typed here.
A body that does not fit is answered 400 with :data:`INVALID_BODY_CODE`, a code no destination
supports, so the sender records it as a failure of the producer's input, not a business answer.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from contract import COMMON_FIELDS, Destination, Field

#: Error code of a 400 for a body that is not JSON or does not fit the contract.
INVALID_BODY_CODE = "bad_request"


@dataclass(frozen=True)
class BodyProblem:
    """Where a body breaks the contract (a dotted field path) and how."""

    field: str
    problem: str

    def as_data(self) -> dict:
        """The ``data`` of the 400 error body."""
        return {"field": self.field, "problem": self.problem}


class BodyError(Exception):
    """A callback that fits the contract's field kinds but still cannot be applied as sent."""

    def __init__(self, field: str, problem: str):
        self.problem = BodyProblem(field, problem)
        super().__init__(f"{field} {problem}")


def session_token(foreign_params: str | None) -> str | None:
    """The ``token`` of a ``Foreign-Params`` header value (None when absent); BodyError when the
    header is not a JSON object."""
    if not foreign_params:
        return None
    try:
        params = json.loads(foreign_params)
    except ValueError:
        params = None
    if not isinstance(params, dict):
        raise BodyError("Foreign-Params", f"must be a JSON object, got {foreign_params!r}")
    token = params.get("token")
    return token if isinstance(token, str) and token else None


def money(body: dict, name: str, positive: bool = False) -> Decimal:
    """The checked decimal member ``name`` of ``body``; BodyError when it is negative (or zero
    when ``positive``)."""
    amount = Decimal(body[name])
    if amount < 0 or (positive and amount == 0):
        raise BodyError(name, f"must be {'above' if positive else 'at least'} zero, "
                              f"got {body[name]!r}")
    return amount


def check_body(destination: Destination, body: object) -> BodyProblem | None:
    """The first problem of ``body`` for ``destination``, or None when it fits the contract.

    Members the contract does not know are ignored; optional members may be absent or null.
    """
    if not isinstance(body, dict):
        return BodyProblem("body", f"must be a JSON object, got {_kind_of(body)}")
    for field in COMMON_FIELDS + destination.fields:
        problem = _check_member(body, field, field.name)
        if problem:
            return problem
    return None


def _check_member(container: dict, field: Field, path: str) -> BodyProblem | None:
    if field.name not in container or container[field.name] is None:
        return BodyProblem(path, "is required") if field.required else None
    return _check_value(container[field.name], field, path)


def _check_value(value: object, field: Field, path: str) -> BodyProblem | None:
    kind = field.kind
    if kind == "any":
        return None
    if kind in ("string", "datetime") or (kind == "id" and not isinstance(value, int)):
        if not isinstance(value, str) or not value.strip():
            return BodyProblem(path, f"must be a non-empty string, got {value!r}")
        if kind == "datetime" and not _is_datetime(value):
            return BodyProblem(path, f"must be an ISO 8601 timestamp, got {value!r}")
        return None
    if kind in ("integer", "enum", "id"):
        if isinstance(value, bool) or not isinstance(value, int):
            return BodyProblem(path, f"must be an integer, got {value!r}")
        if kind == "enum" and value not in field.enum:
            return BodyProblem(path, f"must be one of {list(field.enum)}, got {value!r}")
        return None
    if kind == "decimal":
        if not isinstance(value, str) or not _is_decimal(value):
            return BodyProblem(path, f"must be a decimal string such as \"12.50\", got {value!r}")
        return None
    if kind == "list":
        if not isinstance(value, list):
            return BodyProblem(path, f"must be a list, got {_kind_of(value)}")
        for index, item in enumerate(value):
            problem = field.item and _check_value(item, field.item, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if kind == "object":
        if not isinstance(value, dict):
            return BodyProblem(path, f"must be an object, got {_kind_of(value)}")
        for member in field.fields:
            problem = _check_member(value, member, f"{path}.{member.name}")
            if problem:
                return problem
        return None
    return BodyProblem(path, f"has a contract kind the sandbox does not know: {kind}")


def _is_decimal(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _kind_of(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)
