"""The test player's session as a Foreign-Params object: read from options, checked, changed."""
import pytest

from battery.session import foreign_params_from, unknown_session
from delivery.errors import InvalidInput


def test_a_token_is_shorthand_for_a_token_key():
    assert foreign_params_from(token=" tok ") == {"token": "tok"}


def test_foreign_params_are_kept_exactly_as_given():
    given = '{"session_id": "s-1", "internal_player_id": 42, "some_token": "x"}'
    assert foreign_params_from(foreign_params=given) == {
        "session_id": "s-1", "internal_player_id": 42, "some_token": "x"}


@pytest.mark.parametrize("kwargs, field, message", [
    ({}, "foreign_params", "the test player's session is needed"),
    ({"foreign_params": "{nope"}, "foreign_params", "is not JSON"),
    ({"foreign_params": "[1]"}, "foreign_params", "must be a non-empty JSON object"),
    ({"foreign_params": "{}"}, "foreign_params", "must be a non-empty JSON object"),
    ({"foreign_params": '{"session_id": " "}'}, "foreign_params.session_id",
     "must be a non-empty string or a number"),
    ({"foreign_params": '{"session_id": true}'}, "foreign_params.session_id",
     "must be a non-empty string or a number"),
    ({"foreign_params": '{"a": "b"}', "token": "t"}, "foreign_params", "not both"),
])
def test_an_unusable_session_names_the_field_and_what_is_allowed(kwargs, field, message):
    with pytest.raises(InvalidInput, match=message) as caught:
        foreign_params_from(**kwargs)
    assert caught.value.field == field


def test_an_unknown_session_keeps_the_keys_and_changes_every_value():
    given = {"session_id": "s-1", "internal_player_id": 42}
    changed = unknown_session(given)
    assert set(changed) == set(given)
    assert all(changed[k] != given[k] for k in given)
    assert unknown_session(given) != changed  # fresh each time
