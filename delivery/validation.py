"""Producer input checked against the contract, before anything is written.

``parse_callback`` turns one raw producer item into a :class:`NewCallback` or raises
:class:`~delivery.errors.InvalidInput` naming the field and the value that are wrong.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import contract
from .errors import InvalidInput, UnknownDestination

_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_ITEM_KEYS = {"bet_id", "destination", "payload", "foreign_params"}


@dataclass(frozen=True)
class NewCallback:
    """A validated callback, ready to be queued."""

    bet_id: str
    destination: str
    payload: dict
    foreign_params: dict

    @property
    def request_id(self) -> str:
        return self.payload["request_id"]


def parse_callback(raw: object) -> NewCallback:
    """Validate one producer item ``{"bet_id", "destination", "payload", "foreign_params"}``.

    ``request_id`` and ``bet_id`` inside the payload are filled in when absent; a payload
    ``bet_id`` that differs from the item's is an error.
    """
    if not isinstance(raw, dict):
        raise InvalidInput(f"a callback must be a JSON object, got {_show(raw)}", value=raw)
    unknown = sorted(set(raw) - _ITEM_KEYS)
    if unknown:
        raise InvalidInput(f"unknown key {unknown[0]!r}; a callback has keys "
                           f"{', '.join(sorted(_ITEM_KEYS))}", field=unknown[0])
    bet_id = raw.get("bet_id")
    if not isinstance(bet_id, str) or not bet_id.strip() or len(bet_id) > 200:
        raise InvalidInput(f"bet_id must be a non-empty string of at most 200 characters, "
                           f"got {_show(bet_id)}", field="bet_id", value=bet_id)
    path = raw.get("destination")
    spec = contract.destination(path) if isinstance(path, str) else None
    if spec is None:
        raise UnknownDestination(
            f"destination {_show(path)} is not in the callback contract; expected one of "
            f"{', '.join(contract.DESTINATIONS)}", field="destination", value=path)
    payload = raw.get("payload")
    if not isinstance(payload, dict):
        raise InvalidInput(f"payload must be a JSON object, got {_show(payload)}",
                           field="payload", value=payload)
    foreign_params = raw.get("foreign_params", {})
    if foreign_params is None:
        foreign_params = {}
    if not isinstance(foreign_params, dict):
        raise InvalidInput(f"foreign_params must be a JSON object, got {_show(foreign_params)}",
                           field="foreign_params", value=foreign_params)

    payload = dict(payload)
    payload.setdefault("request_id", str(uuid.uuid4()))
    payload.setdefault("bet_id", bet_id)
    if str(payload["bet_id"]) != bet_id:
        raise InvalidInput(f"payload.bet_id {_show(payload['bet_id'])} differs from bet_id "
                           f"{bet_id!r}", field="payload.bet_id", value=payload["bet_id"])
    for field in contract.COMMON_FIELDS + spec.fields:
        _check(field, payload, "payload")

    size = len(json.dumps(payload, separators=(",", ":")).encode())
    if size > contract.MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"payload is {size} bytes; the limit is {contract.MAX_PAYLOAD_BYTES}",
                           field="payload", value=size)
    return NewCallback(bet_id=bet_id, destination=path, payload=payload,
                       foreign_params=foreign_params)


def _check(field: contract.Field, container: dict, prefix: str) -> None:
    where = f"{prefix}.{field.name}"
    if field.name not in container or container[field.name] is None:
        if field.required:
            raise InvalidInput(f"{where} is required", field=where)
        return
    _check_value(field, container[field.name], where)


def _check_value(field: contract.Field, value: object, where: str) -> None:
    problem = _problem(field, value)
    if problem:
        raise InvalidInput(f"{where} {problem}, got {_show(value)}", field=where, value=value)
    if field.kind == "list" and field.item is not None:
        for i, item in enumerate(value):
            _check_value(field.item, item, f"{where}[{i}]")
    if field.kind == "object":
        for member in field.fields:
            _check(member, value, where)


def _problem(field: contract.Field, value: object) -> str | None:
    """Why ``value`` is not of the field's kind, or None when it is."""
    kind = field.kind
    if kind == "any":
        return None
    if kind == "string":
        return None if isinstance(value, str) and value else "must be a non-empty string"
    if kind == "id":
        ok = (isinstance(value, str) and value) or (isinstance(value, int)
                                                    and not isinstance(value, bool))
        return None if ok else "must be a non-empty string or an integer"
    if kind == "decimal":
        ok = isinstance(value, str) and _DECIMAL.match(value)
        return None if ok else 'must be a decimal string such as "12.50"'
    if kind == "integer":
        return None if _is_int(value) else "must be an integer"
    if kind == "enum":
        if _is_int(value) and value in field.enum:
            return None
        return f"must be one of {', '.join(map(str, field.enum))}"
    if kind == "datetime":
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
                return None
            except ValueError:
                pass
        return "must be an ISO 8601 timestamp such as 2026-11-23T12:00:00Z"
    if kind == "list":
        return None if isinstance(value, list) else "must be a list"
    if kind == "object":
        return None if isinstance(value, dict) else "must be an object"
    raise AssertionError(f"contract field {field.name} has unknown kind {kind}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
