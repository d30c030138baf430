"""How a configuration change is shaped for the audit trail (pure): what differs, secrets
masked, URLs without their passwords, who may use --as."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from delivery import changes


def test_an_update_keeps_only_what_differs():
    before, after = changes.shape(
        {"timeout_s": 10.0, "max_in_flight": 32, "retry_schedule_s": (0, 5)},
        {"timeout_s": 5.0, "max_in_flight": 32, "retry_schedule_s": (0, 5)})
    assert (before, after) == ({"timeout_s": 10.0}, {"timeout_s": 5.0})


def test_an_addition_and_a_removal_keep_every_key_secrets_masked():
    secret = "whsec_c2VjcmV0LXNpZ25pbmcta2V5"
    added = changes.shape(None, {"base_url": "http://h/cb", "signing_secret": secret,
                                 "mask_keys": ("pin",), "threshold": Decimal("25.000")})
    assert added == (None, {"base_url": "http://h/cb", "signing_secret": "***",
                            "mask_keys": ["pin"], "threshold": "25"})
    removed = changes.shape({"role": "admin", "password": "$argon2id$v=19$..."}, None)
    assert removed == ({"role": "admin", "password": "***"}, None)


def test_no_secret_is_shown_as_none_and_a_replaced_one_says_changed():
    assert changes.shape({"signing_secret": None}, {"signing_secret": "whsec_new_one"}) == (
        {"signing_secret": None}, {"signing_secret": "***"})
    assert changes.shape({"password_hash": "old-hash"}, {"password_hash": "new-hash"}) == (
        {"password_hash": "***"}, {"password_hash": "*** (changed)"})
    assert changes.shape({"token": "same"}, {"token": "same"}) == ({}, {})


@pytest.mark.parametrize("key", ["password", "signing_secret", "token_hash", "api_token",
                                 "client_secret", "db_password", "Secret"])
def test_secret_keys_are_recognised(key):
    assert changes.is_secret_key(key)


@pytest.mark.parametrize("key", ["name", "role", "base_url", "brands", "token_name"])
def test_other_keys_are_not_secrets(key):
    assert not changes.is_secret_key(key)


@pytest.mark.parametrize("url, shown", [
    ("http://ops:pa55w0rd@platform.example/cb", "http://ops:***@platform.example/cb"),
    ("https://platform.example/cb?key=abc123&lang=en",
     "https://platform.example/cb?key=***&lang=***"),
    ("https://user@platform.example:8443/x", "https://user@platform.example:8443/x"),
    ("https://platform.example/cb", "https://platform.example/cb"),
    ("not a url", "not a url"),
])
def test_urls_lose_their_passwords_and_query_values(url, shown):
    assert changes.redact_url(url) == shown


def test_a_url_whose_password_changed_says_changed():
    assert changes.shape({"url": "http://a:one@h/x"}, {"url": "http://a:two@h/x"}) == (
        {"url": "http://a:***@h/x"}, {"url": "http://a:***@h/x (changed)"})


def test_an_alert_url_is_shown_by_its_host_only():
    assert changes.webhook_url("https://hooks.slack.com/services/T0/B0/XXXX") == \
        "https://hooks.slack.com/***"


def test_a_secret_left_in_a_row_is_found():
    assert changes.leaked({"a": ["x", {"b": "whsec_abcdef"}]}, ["whsec_abcdef", "absent-one"]) \
        == ["whsec_abcdef"]
    assert changes.leaked({"a": "abc"}, ["abc"]) == []  # too short to tell


def test_summary_reads_as_one_line():
    assert changes.summary({"timeout_s": 10, "mask_keys": ["pin"]},
                           {"timeout_s": 5, "mask_keys": []}) == \
        "timeout_s: 10 → 5; mask_keys: pin → (none)"
    assert changes.summary(None, {"url": "http://h"}) == "set url=http://h"
    assert changes.summary({"role": "analyst"}, None) == "removed role=analyst"


@pytest.mark.parametrize("os_user, uid, admins, allowed", [
    ("root", 0, "", True),
    ("ops", 1000, "", False),
    ("ops", 1000, "alice, ops", True),
    ("ops", 1000, "alice,opsx", False),
])
def test_an_administrators_shell_is_root_or_listed(os_user, uid, admins, allowed):
    assert changes.admin_shell(os_user, uid, changes.admins(admins)) is allowed


def test_as_is_refused_from_another_shell_and_for_an_unknown_user():
    refused = changes.refusal_of_as("ann", "ops", 1000, frozenset(), True)
    assert "only from an administrator's shell" in refused and "CALLBACKS_ADMINS" in refused
    unknown = changes.refusal_of_as("ghost", "root", 0, frozenset(), False)
    assert "'ghost' is not a back-office user" in unknown
    assert changes.refusal_of_as("ann", "ops", 1000, frozenset({"ops"}), True) is None


def test_a_re_route_is_listed_like_a_change_without_url_passwords():
    at = datetime(2026, 12, 1, tzinfo=UTC)
    entry = changes.action_entry(dict(
        id=3, kind="set_url", actor="ann", os_user="root", reason="moved", source="cli",
        bet_id=None, parameters={"old_url": "http://u:pw@old/cb", "new_url": "http://new/cb",
                                 "queued": 4, "bets": 2, "in_flight": 0},
        callbacks=4, bets=2, created_at=at, brand="acme"))
    assert entry["kind"] == "brand.set_url" and entry["subject"] == "acme"
    assert entry["before"] == {"base_url": "http://u:***@old/cb"}
    assert "pw" not in str(entry)
    retry = changes.action_entry(dict(
        id=4, kind="retry", actor="bob", os_user=None, reason="back", source="dashboard",
        bet_id="b-1", parameters={}, callbacks=2, bets=1, created_at=at + timedelta(1),
        brand="acme"))
    assert retry["kind"] == "queue.retry" and retry["subject"] == "bet b-1"
    assert changes.describe(retry) == "2 callback(s) of 1 bet(s)"
    change = changes.change_entry(dict(
        id=3, kind="brand.set", actor="ann", os_user="root", source="cli", subject="acme",
        before={"timeout_s": 10}, after={"timeout_s": 5}, reason="slow",
        created_at=at - timedelta(hours=1), brand="acme"))
    assert [e["kind"] for e in changes.newest_first([change], [entry, retry], 2)] == [
        "queue.retry", "brand.set_url"]


def test_kinds_read_thing_dot_verb():
    assert changes.check_kind("api_token.create") == "api_token.create"
    with pytest.raises(ValueError):
        changes.check_kind("Brand Add")
