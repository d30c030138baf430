"""api.scopes with plain values: what a token may read and write, and how an entry of
CALLBACKS_API_TOKENS says it."""
import pytest

from api.auth import parse_env_tokens
from api.scopes import Access, Decision, TokenScope, decide, parse_env_entry
from delivery.errors import ConfigurationError

READ, WRITE = Access.READ, Access.WRITE
ALLOWED, READ_ONLY, OUT, UNKNOWN = (Decision.ALLOWED, Decision.READ_ONLY, Decision.OUT_OF_SCOPE,
                                    Decision.UNKNOWN_BRAND)

ALL = TokenScope("all", all_brands=True)
ALL_READER = TokenScope("all-ro", all_brands=True, read_only=True)
#: A stored token of brand 1 (acme) and brand 2 (beta), by id.
STORED = TokenScope("feed", all_brands=False, brand_ids=frozenset({1, 2}))
STORED_READER = TokenScope("feed-ro", all_brands=False, brand_ids=frozenset({1}),
                           read_only=True)
#: A stored token whose only brand was removed.
ORPHAN = TokenScope("orphan", all_brands=False)
#: An environment token naming acme, and ghost (which does not exist).
ENV = TokenScope("env#1", all_brands=False, brand_names=frozenset({"acme", "ghost"}))


@pytest.mark.parametrize("token, access, name, brand_id, expected", [
    # every brand, and an unknown one is said to be unknown
    (ALL, WRITE, "acme", 1, ALLOWED), (ALL, READ, "zeta", 9, ALLOWED),
    (ALL, WRITE, "ghost", None, UNKNOWN), (ALL, READ, "ghost", None, UNKNOWN),
    # read-only: every write refused before anything else, reads as its scope says
    (ALL_READER, WRITE, "acme", 1, READ_ONLY), (ALL_READER, WRITE, "ghost", None, READ_ONLY),
    (ALL_READER, READ, "acme", 1, ALLOWED),
    (STORED_READER, WRITE, "acme", 1, READ_ONLY), (STORED_READER, WRITE, "beta", 2, READ_ONLY),
    (STORED_READER, READ, "acme", 1, ALLOWED), (STORED_READER, READ, "beta", 2, OUT),
    # stored tokens go by id: the brand's name now does not matter
    (STORED, WRITE, "acme", 1, ALLOWED), (STORED, READ, "beta", 2, ALLOWED),
    (STORED, WRITE, "zeta", 3, OUT), (STORED, READ, "zeta", 3, OUT),
    (STORED, WRITE, "acme-renamed", 1, ALLOWED),
    (STORED, WRITE, "acme", 7, OUT),  # acme removed, another brand of that name added
    # a brand that does not exist is not confirmed to a token scoped to other brands
    (STORED, WRITE, "ghost", None, OUT), (STORED, READ, "ghost", None, OUT),
    (ORPHAN, WRITE, "acme", 1, OUT), (ORPHAN, READ, "acme", 1, OUT),
    # environment tokens go by name, and may be told that a brand they name is missing
    (ENV, WRITE, "acme", 1, ALLOWED), (ENV, READ, "acme", 5, ALLOWED),
    (ENV, WRITE, "beta", 2, OUT), (ENV, WRITE, "ghost", None, UNKNOWN),
    (ENV, WRITE, "other", None, OUT),
])
def test_decide(token, access, name, brand_id, expected):
    assert decide(token, access, name, brand_id) is expected


def test_a_scope_of_all_brands_names_none():
    with pytest.raises(ValueError):
        TokenScope("x", all_brands=True, brand_ids=frozenset({1}))


@pytest.mark.parametrize("entry, token, scope", [
    ("plain", "plain", TokenScope("env#3", all_brands=True)),
    (" tok:acme ", "tok", TokenScope("env#3", all_brands=False,
                                     brand_names=frozenset({"acme"}))),
    ("tok:acme+acme-eu.2+b_1", "tok", TokenScope(
        "env#3", all_brands=False, brand_names=frozenset({"acme", "acme-eu.2", "b_1"}))),
    ("tok:acme:read-only", "tok", TokenScope("env#3", all_brands=False,
                                             brand_names=frozenset({"acme"}), read_only=True)),
    ("tok:*", "tok", TokenScope("env#3", all_brands=True)),
    ("tok:*:read-only", "tok", TokenScope("env#3", all_brands=True, read_only=True)),
])
def test_environment_entries(entry, token, scope):
    assert parse_env_entry(entry, 3) == (token, scope)


@pytest.mark.parametrize("entry, says", [
    ("s3cret:", "empty brand list"), ("s3cret:acme+", "empty brand list"),
    ("s3cret:acme++beta", "empty brand list"), ("s3cret::read-only", "empty brand list"),
    ("s3cret:ac me", "'ac me', which is no brand name"),
    ("s3cret:-acme", "'-acme', which is no brand name"),
    ("s3cret:acme;drop", "which is no brand name"), ("s3cret:acme/x", "which is no brand name"),
    ("s3cret:acme:ro", "ends in 'ro'"), ("s3cret:acme:read-only:x", "ends in"),
    (":acme", "no token"), ("s3 cret:acme", "no token"),
])
def test_malformed_environment_entries_are_refused_without_showing_the_token(entry, says):
    with pytest.raises(ConfigurationError) as refused:
        parse_env_entry(entry, 2)
    assert "entry 2 of CALLBACKS_API_TOKENS" in str(refused.value)
    assert says in str(refused.value)
    assert "s3cret" not in str(refused.value) and "cret" not in str(refused.value)


def test_one_token_given_twice_is_refused():
    with pytest.raises(ConfigurationError, match="entries 1 and 3 .* same token"):
        parse_env_tokens(["tok:acme", "other", "tok:beta"])
    assert [scope.name for _, scope in parse_env_tokens(["a", "b:acme"])] == ["env#1", "env#2"]
