"""How the sandbox reads a callback: as a tolerant platform, through the contract's one checker.

A body is checked by :func:`contract.checking.check_body` in reader mode: the ids, and the
destination's ``money_fields`` — nothing else is required, members the contract does not know are
ignored, and what is present is checked only for its outer kind. A body that does not fit is
answered 400 with :data:`INVALID_BODY_CODE`, a code no destination supports, so the sender records
it as a failure of the producer's input, not a business answer.
"""
from __future__ import annotations

import json
from decimal import Decimal

from contract import Destination
from contract.checking import READER, BodyProblem
from contract.checking import check_body as _check

#: Error code of a 400 for a body that is not JSON or does not fit the contract.
INVALID_BODY_CODE = "bad_request"
#: The Foreign-Params key that names a player's session unless the sandbox is told another.
DEFAULT_SESSION_KEY = "token"


def problem_data(problem: BodyProblem) -> dict:
    """The ``data`` of the 400 error body for a problem."""
    found = f", got {problem.found}" if problem.found else ""
    return {"field": problem.field, "problem": problem.problem + found}


class BodyError(Exception):
    """A callback that fits the contract's field kinds but still cannot be applied as sent."""

    def __init__(self, field: str, problem: str):
        self.problem = BodyProblem(field, problem)
        super().__init__(f"{field} {problem}")


def session_id(foreign_params: str | None, key: str = DEFAULT_SESSION_KEY) -> str | None:
    """The session named by ``key`` in a ``Foreign-Params`` header value (None when absent or
    not a non-empty string or number); BodyError when the header is not a JSON object.

    The key is the operator's choice (the sportsbook's tool sends ``session_id``), hence a
    setting rather than a fixed name.
    """
    if not foreign_params:
        return None
    try:
        params = json.loads(foreign_params)
    except (ValueError, RecursionError):
        params = None
    if not isinstance(params, dict):
        # The value is the player's session secret: name the header, not its content.
        raise BodyError("Foreign-Params", "must be a JSON object")
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value) if str(value) else None


def money(body: dict, name: str, positive: bool = False) -> Decimal:
    """The decimal member ``name`` of ``body`` (checked by the reader already: a non-negative
    decimal string); BodyError when ``positive`` and it is zero."""
    amount = Decimal(body[name])
    if positive and amount == 0:
        raise BodyError(name, f"must be above zero, got {body[name]!r}")
    return amount


def check_body(destination: Destination, body: object) -> BodyProblem | None:
    """The first problem of ``body`` for a tolerant reader of ``destination``, or None."""
    return _check(destination, body, READER)
