"""What is masked before a request or an answer is stored or shown: secrets in Foreign-Params
(at any depth), credentials in headers, signatures. Pure; the request that goes out is built
before masking and never changes.

A Foreign-Params member is secret when its name contains, case-insensitively, one of
:data:`DEFAULT_MASK_KEYS` or one of the brand's own mask keys (``callbacks brand add NAME
--mask-key KEY``); its value is masked whole, whatever it holds (a string, a number, an object).
"""
from __future__ import annotations

import json
from functools import lru_cache

#: Parts of Foreign-Params member names whose values are always masked.
DEFAULT_MASK_KEYS = ("token", "secret", "password", "passwd", "session", "sid", "jwt", "auth",
                     "key", "cookie", "credential", "bearer")
#: Headers whose values are credentials or signatures, requests' and answers' (lower case).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie",
                            "set-cookie2", "webhook-signature", "x-api-key"})
FOREIGN_PARAMS = "foreign-params"
MASK = "***"


def mask_keys(extra: tuple[str, ...] | list[str] | None = ()) -> tuple[str, ...]:
    """The default keys and a brand's own, lower case, once each."""
    return _mask_keys(tuple(extra or ()))


@lru_cache(maxsize=1024)
def _mask_keys(extra: tuple[str, ...]) -> tuple[str, ...]:
    # Asked twice per attempt (its request's headers and its answer's) with the brand's keys.
    return tuple(dict.fromkeys(k.strip().lower() for k in (*DEFAULT_MASK_KEYS, *extra)
                               if k and k.strip()))


def is_secret(name: object, keys: tuple[str, ...]) -> bool:
    lowered = str(name).lower()
    return any(key in lowered for key in keys)


def mask_value(value: object) -> str:
    """A secret's stand-in: its last four characters when it is long enough to keep them
    unguessable (so a person can tell two sessions apart), else nothing. A value masked
    already stays as it is."""
    if isinstance(value, str) and value.startswith(MASK):
        return value
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return MASK + text[-4:] if len(text) > 12 else MASK


def mask_params(value: object, keys: tuple[str, ...]) -> object:
    """``value`` with the members whose names match ``keys`` masked, in objects at any depth
    (arrays included). Walks without recursion, so any depth is safe."""
    root = [value]
    stack: list[tuple[object, object]] = [(root, 0)]
    while stack:
        parent, at = stack.pop()
        current = parent[at]
        if isinstance(current, dict):
            copy = {}
            for name, member in current.items():
                copy[name] = mask_value(member) if is_secret(name, keys) else member
            parent[at] = copy
            stack.extend((copy, name) for name in copy if not is_secret(name, keys))
        elif isinstance(current, list):
            copy = list(current)
            parent[at] = copy
            stack.extend((copy, i) for i in range(len(copy)))
    return root[0]


def mask_foreign_params(header: str, keys: tuple[str, ...]) -> str:
    """The Foreign-Params header as stored: JSON with secrets masked; anything that is not JSON
    is masked whole (it cannot be told apart from a bare secret)."""
    try:
        params = json.loads(header)
    except ValueError:
        return MASK
    if not isinstance(params, (dict, list)):
        return MASK
    return json.dumps(mask_params(params, keys), separators=(",", ":"), ensure_ascii=False)


def mask_headers(headers: dict | None, keys: tuple[str, ...]) -> dict | None:
    """Request or response headers as stored: credentials, cookies and signatures masked, and
    Foreign-Params masked member by member."""
    if headers is None:
        return None
    shown = {}
    for name, value in headers.items():
        lowered = str(name).lower()
        if lowered in SECRET_HEADERS:
            shown[name] = MASK
        elif lowered == FOREIGN_PARAMS:
            shown[name] = mask_foreign_params(str(value), keys)
        else:
            shown[name] = value
    return shown
