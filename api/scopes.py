"""What a producer API token may do (pure): its brand scope, and the one decision every route
asks — may this token read, or write to, this brand?

A token is scoped to all brands or to some, and may be read-only. Stored tokens (``callbacks
api-token create``) name their brands by id, so renaming a brand, or removing it and adding
another of the same name, never gives a token a brand it was not made for; a removed brand
simply leaves the token's scope. Tokens of ``CALLBACKS_API_TOKENS`` can only name brands by
name (:func:`parse_env_entry`), so they follow the name.

The routes resolve the brand of a request (a path's brand, a bet's brand) against the stored
brands at request time and pass its id and name to :func:`decide`; what to answer for each
:class:`Decision` is theirs (a write out of scope is a 403, a read out of scope is answered like
an unknown resource, so that no token learns what another brand holds).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from delivery.errors import ConfigurationError

#: What a brand name looks like (the ``brands.name`` check of migration 001).
BRAND_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
#: In ``CALLBACKS_API_TOKENS``, separates a token from its brands, and the brands from a flag.
SCOPE_SEPARATOR = ":"
#: Separates the brands of an environment token's scope (``token:acme+acme-eu``).
BRAND_SEPARATOR = "+"
#: An environment token's scope naming every brand (so that a flag can follow it).
ALL_BRANDS = "*"
#: The flag that makes an environment token read-only (``token:acme:read-only``).
READ_ONLY_FLAG = "read-only"


class Access(Enum):
    """What a request does to a brand."""

    #: Reads the brand's bets and callbacks.
    READ = "read"
    #: Queues or changes something of the brand.
    WRITE = "write"


class Decision(Enum):
    """The answer of :func:`decide`."""

    #: The token may do it.
    ALLOWED = "allowed"
    #: A write by a read-only token (whatever the brand).
    READ_ONLY = "read_only"
    #: The brand is not one of the token's — or does not exist, which this token is not told.
    OUT_OF_SCOPE = "out_of_scope"
    #: No brand has this name, and the token may know it: it is scoped to all brands, or names
    #: this brand itself.
    UNKNOWN_BRAND = "unknown_brand"


@dataclass(frozen=True)
class TokenScope:
    """A valid token's name and what it may reach."""

    #: The stored token's name, or ``env#N`` for the N-th entry of ``CALLBACKS_API_TOKENS``.
    name: str
    all_brands: bool
    #: Brands of a stored token, by id.
    brand_ids: frozenset[int] = frozenset()
    #: Brands of an environment token, by name.
    brand_names: frozenset[str] = frozenset()
    read_only: bool = False

    def __post_init__(self):
        if self.all_brands and (self.brand_ids or self.brand_names):
            raise ValueError("a token scoped to all brands names no brands")


def decide(token: TokenScope, access: Access, brand_name: str,
           brand_id: int | None) -> Decision:
    """May ``token`` read or write the brand called ``brand_name``? ``brand_id`` is the id of
    the stored brand of that name now, None when there is none."""
    if access is Access.WRITE and token.read_only:
        return Decision.READ_ONLY
    if brand_id is None:
        knows_it = token.all_brands or brand_name in token.brand_names
        return Decision.UNKNOWN_BRAND if knows_it else Decision.OUT_OF_SCOPE
    if token.all_brands or brand_id in token.brand_ids or brand_name in token.brand_names:
        return Decision.ALLOWED
    return Decision.OUT_OF_SCOPE


def parse_env_entry(entry: str, number: int) -> tuple[str, TokenScope]:
    """One entry of ``CALLBACKS_API_TOKENS``: ``(token, scope)``.

    ``token`` is valid for all brands; ``token:acme+acme-eu`` for those brands;
    ``token:acme:read-only`` or ``token:*:read-only`` reads and never writes. ``number`` is the
    entry's 1-based position, used in its name and in errors (which never show the token).
    :class:`ConfigurationError` when the entry is malformed.
    """
    where = f"entry {number} of CALLBACKS_API_TOKENS"
    secret, scoped, rest = entry.strip().partition(SCOPE_SEPARATOR)
    name = f"env#{number}"
    if not secret or any(c.isspace() for c in secret):
        raise ConfigurationError(f"{where} has no token before its scope, or a token with a "
                                 "space in it; write TOKEN, TOKEN:BRAND+BRAND or "
                                 "TOKEN:BRAND:read-only")
    if not scoped:
        return secret, TokenScope(name, all_brands=True)
    brands, _, flags = rest.partition(SCOPE_SEPARATOR)
    if flags and flags != READ_ONLY_FLAG:
        raise ConfigurationError(f"{where} ends in {flags!r}; the only flag after the brands is "
                                 f"{READ_ONLY_FLAG!r} (TOKEN:BRAND:read-only)")
    read_only = flags == READ_ONLY_FLAG
    if brands == ALL_BRANDS:
        return secret, TokenScope(name, all_brands=True, read_only=read_only)
    names = brands.split(BRAND_SEPARATOR)
    if not brands or "" in names:
        raise ConfigurationError(f"{where} has an empty brand list after {SCOPE_SEPARATOR!r}; "
                                 "name one brand or more (TOKEN:acme+acme-eu), or drop the "
                                 "scope for all brands")
    bad = [b for b in names if not BRAND_NAME.fullmatch(b)]
    if bad:
        raise ConfigurationError(f"{where} names brand {bad[0]!r}, which is no brand name: "
                                 "letters, digits, '_', '.' or '-', starting with a letter or "
                                 "digit, at most 63; brands are separated by '+'")
    return secret, TokenScope(name, all_brands=False, brand_names=frozenset(names),
                              read_only=read_only)
