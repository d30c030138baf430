"""Player sessions as producers declare them: the checks of their input (pure), and opening,
refreshing, reopening, closing and listing them on a real database — their schedule (the first
heartbeat within one interval), their end, and the Foreign-Params shown only masked."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import contract
from delivery import brands, sessions
from delivery.audit import Actor
from delivery.errors import InvalidInput, UnknownBrand

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SECRET = "player-token-5f3a9c"
PARAMS = {"token": SECRET, "lang": "en"}
FINGERPRINT = re.compile(r"^\*\*\*#[0-9a-f]{4}$")


# --- the checks -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["", "   ", "a" * 201, "abc\n", "tab\there", "nul\x00",
                                   "\u2028", 42, None])
def test_a_session_id_is_1_to_200_printable_characters(value):
    with pytest.raises(InvalidInput, match="session_id must be 1 to 200 printable") as caught:
        sessions.check_session_id(value)
    assert caught.value.field == "session_id"


@pytest.mark.parametrize("value", ["s-1", "a" * 200, "sess:42/eu", "ünïcode session"])
def test_good_session_ids_pass(value):
    assert sessions.check_session_id(value) == value


@pytest.mark.parametrize("value, message", [
    (None, "must be a JSON object"),
    ([SECRET], "must be a JSON object"),
    (SECRET, "must be a JSON object"),
    ({}, "is empty"),
    ({"token": SECRET * 300}, "at most 4,096 are accepted"),
    ({"token": SECRET + "\x00"}, "value not shown"),
])
def test_foreign_params_are_a_small_non_empty_object_and_never_shown(value, message):
    with pytest.raises(InvalidInput, match=message) as caught:
        sessions.check_foreign_params(value)
    assert caught.value.field.startswith("foreign_params")
    assert SECRET not in str(caught.value)


def test_foreign_params_of_4_kib_pass():
    params = {"t": "x" * (sessions.MAX_FOREIGN_PARAMS_BYTES - len('{"t":""}'))}
    assert sessions.check_foreign_params(params) == params
    with pytest.raises(InvalidInput):
        sessions.check_foreign_params({"t": params["t"] + "x"})


@pytest.mark.parametrize("value", [0, -5, True, 1.5, "60", 30 * 24 * 3600 + 1])
def test_ttl_is_a_whole_number_of_seconds_up_to_30_days(value):
    with pytest.raises(InvalidInput, match="ttl_s must be a whole number of seconds from 1 to "
                                           "2,592,000") as caught:
        sessions.expiry(value, None, NOW)
    assert caught.value.field == "ttl_s"


def test_the_end_of_a_session():
    assert sessions.expiry(None, None, NOW) is None
    assert sessions.expiry(90, None, NOW) == NOW + timedelta(seconds=90)
    assert sessions.expiry(30 * 24 * 3600, None, NOW) == NOW + timedelta(days=30)
    later = NOW + timedelta(hours=2)
    assert sessions.expiry(None, later, NOW) == later
    assert sessions.expiry(None, "2026-12-05T15:00:00+01:00", NOW) == NOW + timedelta(hours=2)
    assert sessions.expiry(None, "2026-12-05T14:00:00.5Z", NOW) == NOW + timedelta(
        hours=2, milliseconds=500)


@pytest.mark.parametrize("ttl_s, expires_at, message", [
    (60, NOW + timedelta(hours=1), "give ttl_s or expires_at, not both"),
    (None, NOW, "is not in the future"),
    (None, NOW - timedelta(seconds=1), "is not in the future"),
    (None, datetime(2026, 12, 6), "with its offset"),
    (None, "2026-12-06T12:00:00", "RFC 3339 time with its offset"),
    (None, "2026-12-06", "RFC 3339 time with its offset"),
    (None, "tomorrow", "RFC 3339 time with its offset"),
    (None, 1796558400, "RFC 3339 time with its offset"),
    (None, "2026-13-06T12:00:00Z", "is no calendar time"),
])
def test_a_bad_end_is_refused_saying_what_to_send(ttl_s, expires_at, message):
    with pytest.raises(InvalidInput, match=message) as caught:
        sessions.expiry(ttl_s, expires_at, NOW)
    assert caught.value.field == "expires_at"


def test_states_to_list_by():
    assert sessions.check_state(None) is None
    for state in contract.SESSION_STATES:
        assert sessions.check_state(state) == state
    with pytest.raises(InvalidInput, match="state must be one of live, closed, expired, "
                                           "ended_by_platform"):
        sessions.check_state("open")


def test_a_session_past_its_end_is_not_live_any_more():
    assert sessions.is_live("live", None, NOW)
    assert sessions.is_live("live", NOW + timedelta(seconds=1), NOW)
    assert not sessions.is_live("live", NOW, NOW)
    assert not sessions.is_live("closed", None, NOW)


# --- on the database ------------------------------------------------------------------------

@pytest.fixture
def acme(clean_db):
    brand = brands.add_brand(clean_db, "acme", "http://127.0.0.1:9", heartbeat_interval_s=30)
    brands.set_brand_visible_keys(clean_db, "acme", ("lang",))
    return brand


def _stored(engine, session_id: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT * FROM player_sessions WHERE session_id = :id"), {"id": session_id}
        ).one()._mapping)


def test_a_new_session_is_live_with_its_first_heartbeat_within_one_interval(clean_db, acme):
    opened = sessions.open(clean_db, "acme", "s-1", PARAMS, ttl_s=3600, now=NOW)
    session = opened.session
    assert opened.created
    assert session["session_id"] == "s-1" and session["brand"] == "acme"
    assert session["state"] == "live" and session["heartbeats_sent"] == 0
    assert session["opened_at"] == session["refreshed_at"] == NOW
    assert session["expires_at"] == NOW + timedelta(hours=1)
    assert NOW <= session["next_beat_at"] < NOW + timedelta(seconds=30)
    assert session["last_status"] is None and session["last_at"] is None
    assert session["ended_at"] is None and session["failures_in_row"] == 0
    assert set(session) == {
        "session_id", "brand", "state", "heartbeats_sent", "last_status", "last_outcome",
        "last_at", "last_error", "opened_at", "refreshed_at", "expires_at", "next_beat_at",
        "failing_since", "failures_in_row", "ended_at", "foreign_params"}


def test_the_first_heartbeats_of_sessions_opened_together_are_spread_over_one_interval(
        clean_db, acme):
    due = [(sessions.open(clean_db, "acme", f"s-{i}", PARAMS, now=NOW).session["next_beat_at"]
            - NOW).total_seconds() for i in range(40)]
    assert all(0 <= d < 30 for d in due)
    assert max(due) - min(due) > 10  # spread, not all at once
    assert sessions.get(clean_db, "acme", "s-0")["expires_at"] is None  # lives until closed


def test_foreign_params_are_sent_as_given_and_shown_masked(clean_db, acme):
    session = sessions.open(clean_db, "acme", "s-1", PARAMS, now=NOW).session
    assert session["foreign_params"]["lang"] == "en"
    assert FINGERPRINT.match(session["foreign_params"]["token"])
    stored = _stored(clean_db, "s-1")
    assert stored["foreign_params"] == PARAMS  # what the heartbeat carries
    assert stored["shown_params"] == session["foreign_params"]
    for shown in (sessions.get(clean_db, "acme", "s-1"),
                  sessions.list_sessions(clean_db, "acme")[0],
                  sessions.close(clean_db, "acme", "s-1", now=NOW)):
        assert SECRET not in repr(shown)


def test_opening_a_live_session_again_refreshes_it_and_keeps_its_schedule(clean_db, acme):
    first = sessions.open(clean_db, "acme", "s-1", PARAMS, ttl_s=60, now=NOW).session
    later = NOW + timedelta(seconds=20)
    again = sessions.open(clean_db, "acme", "s-1", {"token": "renewed-token"}, ttl_s=600,
                          now=later)
    assert not again.created
    session = again.session
    assert session["state"] == "live"
    assert session["opened_at"] == NOW and session["refreshed_at"] == later
    assert session["next_beat_at"] == first["next_beat_at"]
    assert session["expires_at"] == later + timedelta(seconds=600)
    assert _stored(clean_db, "s-1")["foreign_params"] == {"token": "renewed-token"}
    # A refresh with no end makes it live until closed.
    assert sessions.open(clean_db, "acme", "s-1", PARAMS, now=later).session[
        "expires_at"] is None


def test_closing_ends_the_heartbeats_once_and_an_unknown_session_is_none(clean_db, acme):
    sessions.open(clean_db, "acme", "s-1", PARAMS, now=NOW)
    at = NOW + timedelta(seconds=5)
    closed = sessions.close(clean_db, "acme", "s-1", now=at)
    assert closed["state"] == "closed" and closed["ended_at"] == at
    assert closed["next_beat_at"] is None
    assert sessions.close(clean_db, "acme", "s-1", now=at + timedelta(seconds=9)) == closed
    assert sessions.close(clean_db, "acme", "nobody") is None
    assert sessions.get(clean_db, "acme", "nobody") is None


def test_reopening_a_session_that_was_over_starts_it_again(clean_db, acme):
    sessions.open(clean_db, "acme", "s-1", PARAMS, now=NOW)
    with clean_db.begin() as conn:
        conn.execute(sa.text(
            "UPDATE player_sessions SET heartbeats_sent = 7, failures_in_row = 2, "
            "failing_since = :at, last_status = 500, last_outcome = 'failed', "
            "last_error = 'HTTP 500', last_at = :at"), {"at": NOW + timedelta(minutes=3)})
    sessions.close(clean_db, "acme", "s-1", now=NOW + timedelta(minutes=4))
    later = NOW + timedelta(minutes=10)
    reopened = sessions.open(clean_db, "acme", "s-1", PARAMS, ttl_s=60, now=later)
    assert reopened.created
    session = reopened.session
    assert session["state"] == "live" and session["opened_at"] == later
    assert session["heartbeats_sent"] == 0 and session["failures_in_row"] == 0
    assert session["failing_since"] is None and session["last_status"] is None
    assert session["last_outcome"] is None and session["last_error"] is None
    assert session["ended_at"] is None and session["last_at"] is None
    assert later <= session["next_beat_at"] < later + timedelta(seconds=30)


def test_a_session_past_its_end_opens_anew_even_before_it_is_marked_expired(clean_db, acme):
    sessions.open(clean_db, "acme", "s-1", PARAMS, ttl_s=60, now=NOW)
    later = NOW + timedelta(seconds=61)
    assert sessions.open(clean_db, "acme", "s-1", PARAMS, now=later).created


def test_list_by_state_latest_first(clean_db, acme):
    for i in range(3):
        sessions.open(clean_db, "acme", f"s-{i}", PARAMS, now=NOW + timedelta(seconds=i))
    sessions.close(clean_db, "acme", "s-1")
    brands.add_brand(clean_db, "other", "http://127.0.0.1:9")
    sessions.open(clean_db, "other", "s-9", PARAMS, now=NOW)
    assert [s["session_id"] for s in sessions.list_sessions(clean_db, "acme")] == [
        "s-2", "s-1", "s-0"]
    assert [s["session_id"] for s in sessions.list_sessions(clean_db, "acme", state="live")
            ] == ["s-2", "s-0"]
    assert [s["session_id"] for s in sessions.list_sessions(clean_db, "acme", state="closed")
            ] == ["s-1"]
    assert sessions.list_sessions(clean_db, "acme", state="expired") == []
    assert len(sessions.list_sessions(clean_db, "acme", limit=1)) == 1
    with pytest.raises(InvalidInput, match="state must be one of"):
        sessions.list_sessions(clean_db, "acme", state="dead")
    with pytest.raises(InvalidInput, match="limit must be 1 to"):
        sessions.list_sessions(clean_db, "acme", limit=0)


def test_an_unknown_brand_is_named_and_nothing_is_written(clean_db, acme):
    for call in (lambda: sessions.open(clean_db, "ghost", "s-1", PARAMS),
                 lambda: sessions.close(clean_db, "ghost", "s-1"),
                 lambda: sessions.get(clean_db, "ghost", "s-1"),
                 lambda: sessions.list_sessions(clean_db, "ghost")):
        with pytest.raises(UnknownBrand, match="no brand named 'ghost'"):
            call()
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM player_sessions")).scalar() == 0


def test_bad_input_is_refused_before_anything_is_written(clean_db, acme):
    with pytest.raises(InvalidInput, match="not both"):
        sessions.open(clean_db, "acme", "s-1", PARAMS, ttl_s=60, expires_at=NOW, now=NOW)
    with pytest.raises(InvalidInput, match="session_id"):
        sessions.open(clean_db, "acme", "", PARAMS)
    with pytest.raises(InvalidInput, match="foreign_params is empty"):
        sessions.open(clean_db, "acme", "s-1", {})
    assert sessions.list_sessions(clean_db, "acme") == []


# --- the brand's interval -------------------------------------------------------------------

def test_a_brands_heartbeat_interval_defaults_to_60_and_has_a_minimum(clean_db):
    assert brands.add_brand(clean_db, "acme", "http://127.0.0.1:9").heartbeat_interval_s == 60
    assert brands.brand_named(clean_db, "acme").heartbeat_interval_s == 60
    assert brands.add_brand(clean_db, "acme", "http://127.0.0.1:9",
                            heartbeat_interval_s=5).heartbeat_interval_s == 5
    assert [b.heartbeat_interval_s for b in brands.all_brands(clean_db)] == [5]
    for bad in (0, -1, True, 1.5):
        with pytest.raises(InvalidInput, match="heartbeat_interval_s must be") as caught:
            brands.add_brand(clean_db, "acme", "http://127.0.0.1:9", heartbeat_interval_s=bad)
        assert caught.value.field == "heartbeat_interval_s"


def test_the_interval_is_a_brand_setting_changed_with_a_reason_and_audited(clean_db):
    actor = Actor(name="ann", os_user="ann", source="cli")
    brand = brands.add(clean_db, "acme", "http://127.0.0.1:9", actor, heartbeat_interval_s=20)
    assert brand.heartbeat_interval_s == 20
    brand, changed = brands.change(clean_db, "acme", actor, reason="platform asks for 45 s",
                                   heartbeat_interval_s=45)
    assert changed and brand.heartbeat_interval_s == 45
    with pytest.raises(InvalidInput, match="at least 1 s"):
        brands.change(clean_db, "acme", actor, reason="too fast", heartbeat_interval_s=0)
    with clean_db.connect() as conn:
        trail = conn.execute(sa.text(
            "SELECT kind, before, after FROM config_changes ORDER BY id")).all()
    assert [t.kind for t in trail] == ["brand.add", "brand.set"]
    assert trail[0].after["heartbeat_interval_s"] == 20
    assert (trail[1].before, trail[1].after) == ({"heartbeat_interval_s": 20},
                                                 {"heartbeat_interval_s": 45})
