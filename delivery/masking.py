"""What is masked before a request or an answer is stored or shown: every Foreign-Params value
(at any depth) but those of the brand's visible keys, credentials in headers, signatures, and
the session's values where a platform echoes them back in an answer. Pure; the request that goes
out is built before masking and never changes.

Foreign-Params hold the player's session as the operator chose to shape it, so no key name tells
a secret from a harmless value: every value is masked unless its key is declared non-secret for
the brand (``callbacks brand set-visible-keys NAME lang currency``; exact names, any case). A
scalar is shown when the nearest key above it is visible; objects and lists keep their shape,
so ``{"prefs": {"lang": "en", "pin": 1234}}`` with ``prefs`` and ``lang`` visible keeps ``en``
and masks ``1234``.

A masked value shows no character of the secret: ``***#`` and the first four hex digits of
HMAC-SHA-256(the installation's fingerprint key, the value's canonical text) — stable, so an
analyst can tell two sessions apart, and keyed, so a four-digit PIN cannot be found again by
trying all ten thousand. Without the key (a reader of something stored elsewhere) a masked
value is a bare ``***``. ``callbacks_mask_fingerprint`` of migration 018 gives the same text
for the same value.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from . import keys as installation_keys

#: Headers whose values are credentials or signatures, requests' and answers' (lower case).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie",
                            "set-cookie2", "webhook-signature", "x-api-key"})
FOREIGN_PARAMS = "foreign-params"
#: A masked value whose fingerprint is not known (no key, or masked before fingerprints).
MASK = "***"
#: What starts a fingerprint: ``***#a1b2``.
FINGERPRINT_PREFIX = "***#"
#: Hex digits of the HMAC a fingerprint shows: enough to tell sessions apart at a glance.
FINGERPRINT_HEX = 4
#: Shortest session value looked for inside answers' text: a shorter one (``1``, ``en``) would
#: mask unrelated characters everywhere; members named like a session key are masked whatever
#: their length.
ECHO_MIN_CHARS = 4
#: Most visible keys a brand may declare, and longest key.
MAX_VISIBLE_KEYS, MAX_KEY_CHARS = 100, 100

_FINGERPRINT = re.compile(rf"\*\*\*#[0-9a-f]{{{FINGERPRINT_HEX}}}")


def canonical(value: object) -> str:
    """The text a scalar's fingerprint is taken of: a string itself; ``true``, ``false``,
    ``null``; a number in plain decimal notation as PostgreSQL prints a JSON number (``1e+16``
    → ``10000000000000000``, ``1.50`` read by Python as 1.5 → ``1.5``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def visible_keys(given) -> tuple[str, ...]:
    """Visible keys as kept: stripped, lower case, once each, in the order given. ValueError
    naming the key when one is blank, unprintable or too long."""
    shown = []
    for raw in given or ():
        key = str(raw).strip().lower()
        if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
            raise ValueError(f"visible key {raw!r} must be printable, not blank and at most "
                             f"{MAX_KEY_CHARS} characters")
        if key not in shown:
            shown.append(key)
    if len(shown) > MAX_VISIBLE_KEYS:
        raise ValueError(f"at most {MAX_VISIBLE_KEYS} visible keys, got {len(shown)}")
    return tuple(shown)


@dataclass(frozen=True)
class Mask:
    """How one brand's stored copies are masked: the installation's fingerprint key (None:
    masked values are a bare ``***``) and the brand's visible keys (lower case)."""

    key: bytes | None = field(default=None, repr=False)
    visible: frozenset[str] = frozenset()

    def fingerprint(self, value: object) -> str:
        """``***#`` and four hex digits of the value's keyed HMAC; ``***`` without a key."""
        if self.key is None:
            return MASK
        return _fingerprint(self.key, canonical(value))

    def value(self, value: object) -> str:
        """A masked scalar: its fingerprint, or kept when it is one already; any other text
        masked before (``***`` and the last characters of the secret) loses them."""
        if isinstance(value, str) and value.startswith(MASK):
            return value if _FINGERPRINT.fullmatch(value) else MASK
        return self.fingerprint(value)

    def is_visible(self, name: object) -> bool:
        return str(name).lower() in self.visible

    def params(self, value: object, shown: bool = False) -> object:
        """``value`` with every scalar masked unless the nearest key above it is visible
        (``shown`` says whether the top level counts as under a visible key). Objects and lists
        keep their shape. Walks without recursion, so any depth is safe."""
        root = [value]
        stack: list[tuple[list | dict, object, bool]] = [(root, 0, shown)]
        while stack:
            parent, at, clear = stack.pop()
            current = parent[at]
            if isinstance(current, dict):
                copy = dict(current)
                parent[at] = copy
                stack.extend((copy, name, self.is_visible(name)) for name in copy)
            elif isinstance(current, list):
                copy = list(current)
                parent[at] = copy
                stack.extend((copy, i, clear) for i in range(len(copy)))
            elif not clear:
                parent[at] = self.value(current)
        return root[0]

    def foreign_params(self, header: str) -> str:
        """The Foreign-Params header as stored: JSON with its values masked; anything that is
        not a JSON object or list is masked whole (it cannot be told apart from a bare
        secret)."""
        try:
            params = json.loads(header)
        except ValueError:
            return self.value(header)
        if not isinstance(params, (dict, list)):
            return self.value(header)
        return json.dumps(self.params(params), separators=(",", ":"), ensure_ascii=False)

    def headers(self, headers: dict | None) -> dict | None:
        """Request or response headers as stored: credentials, cookies and signatures masked,
        and Foreign-Params masked value by value."""
        if headers is None:
            return None
        shown = {}
        for name, value in headers.items():
            lowered = str(name).lower()
            if lowered in SECRET_HEADERS:
                shown[name] = MASK
            elif lowered == FOREIGN_PARAMS:
                shown[name] = self.foreign_params(str(value))
            else:
                shown[name] = value
        return shown

    # --- answers that echo the session ---------------------------------------------------------

    def secrets(self, *sessions: object) -> Secrets:
        """What of these Foreign-Params (objects as sent, or Foreign-Params header texts) must
        not show in an answer: the keys whose values are masked, and the masked values."""
        names: set[str] = set()
        values: dict[str, str] = {}
        for session in sessions:
            if isinstance(session, str):
                try:
                    session = json.loads(session)
                except ValueError:
                    continue
            for name, value in _leaves(session):
                if name is None or not self.is_visible(name):
                    if name is not None:
                        names.add(name.lower())
                    if value is None or isinstance(value, bool):
                        continue  # true or null is in every answer; it gives nothing away
                    if isinstance(value, str) and value.startswith(MASK):
                        continue  # masked already: nothing left to find
                    text = canonical(value)
                    if len(text) >= ECHO_MIN_CHARS:
                        values[text] = self.value(value)
        return Secrets(self, frozenset(names),
                       tuple(sorted(values.items(), key=lambda kv: -len(kv[0]))))


@dataclass(frozen=True)
class Secrets:
    """A session's secrets to hide in an answer or a message: :meth:`text` for any text,
    :meth:`json` for a parsed body."""

    mask: Mask
    names: frozenset[str]
    #: ``(canonical text, its masked form)``, longest first.
    values: tuple[tuple[str, str], ...]

    def __bool__(self) -> bool:
        return bool(self.names or self.values)

    def text(self, text: str | None) -> str | None:
        """``text`` with the session's values replaced by their masks; a JSON text also has
        the members named like a session key masked. Left as it is (the very same text) when
        nothing in it is secret."""
        if not text or not self:
            return text
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                parsed = json.loads(text)
            except ValueError:
                pass
            else:
                masked = self.json(parsed)
                return text if masked == parsed else json.dumps(masked, ensure_ascii=False)
        return self._replace(text)

    def json(self, value: object) -> object:
        """A parsed JSON value with the members named like a session key masked (as
        Foreign-Params values are) and the session's values masked wherever they show."""
        root = [value]
        stack: list[tuple[list | dict, object]] = [(root, 0)]
        while stack:
            parent, at = stack.pop()
            current = parent[at]
            if isinstance(current, dict):
                copy = dict(current)
                parent[at] = copy
                for name in copy:
                    if str(name).lower() in self.names:
                        copy[name] = self.mask.params(copy[name])
                    else:
                        stack.append((copy, name))
            elif isinstance(current, list):
                copy = list(current)
                parent[at] = copy
                stack.extend((copy, i) for i in range(len(copy)))
            elif isinstance(current, str):
                parent[at] = self._replace(current)
            elif isinstance(current, (int, float)) and not isinstance(current, bool):
                found = dict(self.values).get(canonical(current))
                if found is not None:
                    parent[at] = found
        return root[0]

    def _replace(self, text: str) -> str:
        for secret, masked in self.values:
            if secret in text:
                text = text.replace(secret, masked)
        return text


def _leaves(value: object):
    """``(nearest key above, scalar)`` of every scalar in a parsed JSON value."""
    stack: list[tuple[str | None, object]] = [(None, value)]
    while stack:
        name, current = stack.pop()
        if isinstance(current, dict):
            stack.extend((str(k), v) for k, v in current.items())
        elif isinstance(current, list):
            stack.extend((name, v) for v in current)
        else:
            yield name, current


@lru_cache(maxsize=4096)
def _fingerprint(key: bytes, text: str) -> str:
    # An attempt fingerprints its session twice (the stored headers, then the echo search),
    # and a player's next callbacks carry the same session.
    digest = installation_keys.hmac_sha256(key, text).hex()
    return FINGERPRINT_PREFIX + digest[:FINGERPRINT_HEX]


@lru_cache(maxsize=1024)
def for_brand(key: bytes | None, visible: tuple[str, ...] = ()) -> Mask:
    """The mask of a brand with these visible keys (one per brand and key: workers build an
    outgoing callback per row)."""
    return Mask(key, frozenset(k.lower() for k in visible))


#: Masks everything, fingerprints nothing: for whoever cannot read the key.
KEYLESS = Mask()
