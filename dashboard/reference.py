"""The callback contract (``contract``) shaped for people: field tables, example
bodies and example error answers. Pure; the API reference page only lays these out."""
from __future__ import annotations

import contract
from contract import Destination, Field

#: Example value of each field kind when the contract gives none.
_KIND_EXAMPLES = {"string": "text", "id": "id-1", "decimal": "1.00", "integer": 0, "enum": 1,
                  "datetime": "2026-11-23T12:00:00Z", "any": "…"}
_KIND_NAMES = {"id": "string (id)", "decimal": "string (decimal)", "enum": "integer (enum)",
               "datetime": "string (ISO 8601 UTC)", "list": "array", "object": "object"}
_ENUM_MEANINGS = {"bet_type": contract.BET_TYPES, "settle_type": contract.SETTLE_TYPES,
                  "odd_status": contract.ODD_STATUSES}


def example_value(field: Field) -> object:
    """An example for one field: the contract's own example, else one built from its kind."""
    if field.example is not None:
        return field.example
    if field.kind == "object":
        return {f.name: example_value(f) for f in field.fields if f.required}
    if field.kind == "list":
        return [example_value(field.item)] if field.item else []
    return _KIND_EXAMPLES.get(field.kind, None)


def _fields(destination: Destination) -> tuple[Field, ...]:
    """The body's fields: the ids (unless the destination has none, as the heartbeat) and its
    own."""
    return (contract.COMMON_FIELDS if destination.with_ids else ()) + destination.fields


def example_body(destination: Destination) -> dict:
    """A complete, valid request body for ``destination`` (required fields only; ``{}`` for the
    heartbeat, whose request has an empty body)."""
    body = {f.name: example_value(f) for f in _fields(destination) if f in contract.COMMON_FIELDS}
    body.update({f.name: example_value(f) for f in destination.fields if f.required})
    return body


def field_rows(destination: Destination) -> list[dict]:
    """One row per field, nested ones as ``bet_odds[].odd_ratio``, for a table (none for the
    heartbeat: it has no body)."""
    rows: list[dict] = []
    for f in _fields(destination):
        _add(rows, f, f.name)
    return rows


def _add(rows: list[dict], field: Field, name: str) -> None:
    rows.append({"Field": name, "Type": _type(field), "Required": "yes" if field.required else
                 "no", "Description": _describe(field)})
    if field.kind == "object":
        for child in field.fields:
            _add(rows, child, f"{name}.{child.name}")
    elif field.kind == "list" and field.item is not None and field.item.kind == "object":
        for child in field.item.fields:
            _add(rows, child, f"{name}[].{child.name}")


def _type(field: Field) -> str:
    if field.kind == "list" and field.item is not None:
        inner = "object" if field.item.kind == "object" else _KIND_NAMES.get(field.item.kind,
                                                                             field.item.kind)
        return f"array of {inner}"
    return _KIND_NAMES.get(field.kind, field.kind)


def _describe(field: Field) -> str:
    meanings = _ENUM_MEANINGS.get(field.name)
    first = next(iter(meanings.items()), None) if meanings else None
    if first and f"{first[0]} {first[1]}" not in field.description:
        return f"{field.description} Values: " + ", ".join(f"{k} {v}" for k, v in
                                                           meanings.items())
    return field.description


def error_example(error: contract.SupportedError) -> dict:
    """The 400 body a platform sends for a supported error, with example data."""
    data = {name: _DATA_EXAMPLES.get(name, "…") for name in error.data}
    return contract.error_body(error.code, data)


_DATA_EXAMPLES = {"actual_balance": "3.50", "types": ["daily_stake_limit"]}


def schedule_text(schedule_s: tuple[int, ...] | list[int]) -> str:
    """``(0, 5, 30, 120)`` → ``now, 5 s, 30 s, 2 min``."""
    parts = []
    for seconds in schedule_s:
        if seconds == 0:
            parts.append("now")
        elif seconds % 3600 == 0:
            parts.append(f"{seconds // 3600} h")
        elif seconds % 60 == 0:
            parts.append(f"{seconds // 60} min")
        else:
            parts.append(f"{seconds} s")
    return ", ".join(parts)
