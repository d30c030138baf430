"""Producer input checked against the contract, before anything is written.

``parse_callback`` turns one raw producer item into a :class:`NewCallback` or raises
:class:`~delivery.errors.InvalidInput` naming the field and the value that are wrong. The payload
is checked by :func:`contract.checking.check_body` in producer mode; this module adds what is the
producer's own: the item's keys, the bet, the destination, Foreign-Params and the size limit.
Foreign-Params values are never put into a message: they are the player's session secrets.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import contract
from contract import checking

from .errors import InvalidInput, UnknownDestination

_ITEM_KEYS = {"bet_id", "destination", "payload", "foreign_params"}
#: Longest bet id accepted (it is the callbacks' group key).
MAX_BET_ID_CHARS = 200


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
    ``bet_id`` that differs from the item's is an error. Raises only :class:`InvalidInput`,
    whatever ``raw`` holds.
    """
    if not isinstance(raw, dict):
        raise InvalidInput(f"a callback must be a JSON object, got {checking.kind_of(raw)}")
    unknown = sorted(set(raw) - _ITEM_KEYS, key=str)
    if unknown:
        raise InvalidInput(f"unknown key {checking.show(unknown[0])}; a callback has keys "
                           f"{', '.join(sorted(_ITEM_KEYS))}", field=str(unknown[0]))
    bet_id = raw.get("bet_id")
    if (not isinstance(bet_id, str) or not bet_id.strip() or len(bet_id) > MAX_BET_ID_CHARS
            or checking.check_json_text(bet_id, "bet_id")):
        raise InvalidInput(f"bet_id must be a non-blank string of at most {MAX_BET_ID_CHARS} "
                           f"characters without NUL or unpaired surrogates, got "
                           f"{checking.show(bet_id)}", field="bet_id", value=bet_id)
    path = _destination(raw.get("destination"))
    spec = contract.DESTINATIONS[path]
    foreign_params = _foreign_params(raw.get("foreign_params"))
    payload = raw.get("payload")
    if not isinstance(payload, dict):
        raise InvalidInput(f"payload must be a JSON object, got {checking.kind_of(payload)}",
                           field="payload", value=payload)

    payload = dict(payload)
    if "request_id" not in payload:  # a new uuid only when needed: it costs a system call
        payload["request_id"] = str(uuid.uuid4())
    payload.setdefault("bet_id", bet_id)
    if payload["bet_id"] != bet_id and not (
            isinstance(payload["bet_id"], int) and str(payload["bet_id"]) == bet_id):
        raise InvalidInput(f"payload.bet_id {checking.show(payload['bet_id'])} differs from "
                           f"bet_id {bet_id!r}", field="payload.bet_id", value=payload["bet_id"])
    problem = checking.check_body(spec, payload, checking.PRODUCER)
    if problem:
        raise InvalidInput(f"payload.{problem.message()}", field=f"payload.{problem.field}",
                           value=problem.value)

    size = len(json.dumps(payload, separators=(",", ":")).encode())
    if size > contract.MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"payload is {size} bytes; the limit is {contract.MAX_PAYLOAD_BYTES}",
                           field="payload", value=size)
    return NewCallback(bet_id=bet_id, destination=path, payload=payload,
                       foreign_params=foreign_params)


def _destination(path: object) -> str:
    if not isinstance(path, str) or contract.destination(path) is None:
        raise UnknownDestination(
            f"destination {checking.show(path)} is not in the callback contract; expected one "
            f"of {', '.join(p for p in contract.DESTINATIONS if contract.queueable(p))}",
            field="destination", value=path)
    if not contract.queueable(path):
        raise UnknownDestination(
            f"destination {path} cannot be queued: a heartbeat belongs to a player session, "
            "not to a bet, so it has no bet to order it by and no request_id: it is sent per "
            "session, not queued",
            field="destination", value=path)
    return path


def _foreign_params(value: object) -> dict:
    """Foreign-Params as a dict; problems name the key but never show a value."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"foreign_params must be a JSON object, got {checking.kind_of(value)}",
                           field="foreign_params")
    problem = checking.check_json_text(value, "foreign_params")
    if problem:
        raise InvalidInput(f"{problem.field} {problem.problem} (value not shown: Foreign-Params "
                           "hold session secrets)", field=problem.field)
    return value


def heartbeat_interval(value: object, option: str = "heartbeat_interval_s") -> int:
    """A brand's heartbeat interval in whole seconds, at least
    :data:`contract.MIN_HEARTBEAT_INTERVAL_S`; ``option`` is how the caller names it."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{option} must be a whole number of seconds, such as "
                           f"{contract.DEFAULT_HEARTBEAT_INTERVAL_S}, got "
                           f"{checking.show(value)}", field="heartbeat_interval_s", value=value)
    if value < contract.MIN_HEARTBEAT_INTERVAL_S:
        raise InvalidInput(f"{option} must be at least {contract.MIN_HEARTBEAT_INTERVAL_S} s "
                           f"(the default is {contract.DEFAULT_HEARTBEAT_INTERVAL_S}), got "
                           f"{value}", field="heartbeat_interval_s", value=value)
    return value
