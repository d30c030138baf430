"""The test player's session as the sportsbook sends it: the Foreign-Params object.

Foreign-Params is whatever object the operator attached to the player's token, with keys of the
operator's choosing (``token``, ``session_id``, ``internal_player_id``...). The battery sends it
exactly as given, and the unknown-session case sends the same keys with changed values, so a
platform is tested with the key(s) it really reads. Pure functions.
"""
from __future__ import annotations

import json
import uuid

from delivery.errors import InvalidInput

#: The Foreign-Params key ``--token T`` stands for: ``{"token": T}``.
TOKEN_KEY = "token"
#: The test player's session token ``callbacks run`` opens on each of its sandbox platforms
#: (they read the session under TOKEN_KEY), so the Integration Test runs against them as is.
DEMO_TOKEN = "integration-test"
#: That player's balance on each sandbox: plenty for any number of runs.
DEMO_BALANCE = "1000000.00"


def foreign_params_from(*, token: str | None = None, foreign_params: str | None = None,
                        field: str = "foreign_params") -> dict:
    """The Foreign-Params object from its JSON text, or ``{"token": token}``; InvalidInput naming
    ``field`` when neither gives a usable session or both are given."""
    text = (foreign_params or "").strip()
    token = (token or "").strip()
    if text and token:
        raise InvalidInput("give the session either as a token or as Foreign-Params JSON, not "
                           "both", field=field)
    if not text and not token:
        raise InvalidInput("the test player's session is needed: give its Foreign-Params JSON "
                           "(the keys your platform reads, e.g. {\"session_id\": \"...\"}) or "
                           "a session token", field=field)
    if not text:
        params = {TOKEN_KEY: token}
    else:
        try:
            params = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"{field} {text!r} is not JSON ({exc.args[0]}); give an object "
                               "such as {\"session_id\": \"...\"}", field=field,
                               value=text) from None
    check_foreign_params(params, field)
    return params


def check_foreign_params(params: object, field: str = "foreign_params") -> None:
    """InvalidInput unless ``params`` is a non-empty object whose values are non-empty strings or
    numbers (what identifies a session)."""
    if not isinstance(params, dict) or not params:
        raise InvalidInput(f"{field} must be a non-empty JSON object naming the test player's "
                           f"session, such as {{\"session_id\": \"...\"}}; got {params!r}",
                           field=field, value=params)
    for key, value in params.items():
        usable = (isinstance(value, str) and value.strip()) or (
            isinstance(value, (int, float)) and not isinstance(value, bool))
        if not usable:
            raise InvalidInput(f"{field}.{key} must be a non-empty string or a number (a value "
                               f"of the logged-in test player's session), got {value!r}",
                               field=f"{field}.{key}", value=value)


def unknown_session(params: dict) -> dict:
    """The same keys, every value changed to one no platform has issued."""
    marker = uuid.uuid4().hex[:12]
    return {key: f"it-unknown-{marker}-{key}" for key in params}
