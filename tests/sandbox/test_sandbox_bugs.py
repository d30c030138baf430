"""Every bug switch, over real HTTP: the sandbox behaves like that broken integration."""
import time
from contextlib import contextmanager
from decimal import Decimal

import httpx
import pytest
from sandbox_testkit import decline, new_id, odds, place, settle, unsettle

import contract
from contract.payouts import HALF_WIN, SETTLE_LOST, SETTLE_WIN, WIN
from delivery.errors import ConfigurationError
from sandbox import bugs
from sandbox.client import SandboxClient
from sandbox.config import SandboxConfig
from sandbox.server import serve_in_thread

D = Decimal


@contextmanager
def sandbox_with(*names, slow_s=bugs.DEFAULT_SLOW_S, timeout_s=5.0):
    """A sandbox with the bug switches ``names`` and a player ``tok`` holding 100.00."""
    with serve_in_thread(SandboxConfig(bugs=frozenset(names), slow_s=slow_s)) as handle:
        handle.platform.add_player("tok", "100.00")
        with SandboxClient.for_handle(handle, timeout_s=timeout_s) as client:
            yield client


def place_ok(client, stake="10.00", legs=None, **kwargs):
    bet_id = new_id("bet")
    assert client.send("/bet/place", place(bet_id, stake, legs, **kwargs),
                       token="tok").status_code == 204
    return bet_id


def test_every_bug_is_documented_in_the_readme_and_module():
    from pathlib import Path
    readme = (Path(bugs.__file__).parent / "README.md").read_text()
    for name in bugs.BUGS:
        assert f"`{name}`" in readme and f"``{name}``" in bugs.__doc__


def test_an_unknown_bug_name_is_refused_with_the_choices():
    with pytest.raises(ConfigurationError) as caught:
        bugs.parse_bugs(["slow", "flaky"])
    assert "'flaky'" in str(caught.value) and "non_idempotent" in str(caught.value)


def test_non_idempotent_applies_a_repeated_request_id_again():
    with sandbox_with(bugs.NON_IDEMPOTENT) as client:
        # Given a place and a settle, each sent twice with the same request_id
        body = place(new_id("bet"), "10.00")
        answers = [client.send("/bet/place", body, token="tok").status_code for _ in range(2)]
        # Then the stake is held twice
        assert answers == [204, 204]
        assert client.balance("tok") == (D("80.00"), D("20.00"))
        won = settle(body["bet_id"], "25.00", SETTLE_WIN)
        assert [client.send("/bet/settle", won).status_code for _ in range(2)] == [204, 204]
        # And the winnings are credited twice
        assert client.balance("tok") == (D("130.00"), D("0"))


def test_no_release_on_decline_keeps_the_stake_held():
    with sandbox_with(bugs.NO_RELEASE_ON_DECLINE) as client:
        bet_id = place_ok(client, "10.00")
        assert client.send("/bet/decline", decline(bet_id)).status_code == 204
        assert client.balance("tok") == (D("90.00"), D("10.00"))
        assert client.bet(bet_id)["state"] == "declined"


def test_ignores_unsettle_keeps_the_winnings_and_pays_the_resettle_again():
    with sandbox_with(bugs.IGNORES_UNSETTLE) as client:
        bet_id = place_ok(client, "10.00")
        client.send("/bet/settle", settle(bet_id, "25.00", SETTLE_WIN))
        assert client.balance("tok") == (D("115.00"), D("0"))
        # When the settlement is reversed, nothing changes
        assert client.send("/bet/unsettle", unsettle(bet_id, "25.00")).status_code == 204
        assert client.balance("tok") == (D("115.00"), D("0"))
        # When it is settled again as a win, it is paid a second time
        assert client.send("/bet/settle", settle(bet_id, "25.00", SETTLE_WIN)).status_code == 204
        assert client.balance("tok") == (D("140.00"), D("0"))


@pytest.mark.parametrize("legs, stake, settle_amount, credited", [
    ([("3.0", HALF_WIN)], "10.00", "20.00", "30.00"),                # single: 10 × 3 not 10 × 2
    ([("2.0", WIN), ("3.0", HALF_WIN)], "10.00", "40.00", "60.00"),  # express
    ([("2.50", WIN)], "10.00", "25.00", "25.00"),                    # no half-win: as sent
])
def test_half_win_as_win_credits_half_win_legs_as_full_wins(legs, stake, settle_amount,
                                                             credited):
    with sandbox_with(bugs.HALF_WIN_AS_WIN) as client:
        bet_id = place_ok(client, stake, odds(*(ratio for ratio, _ in legs)))
        client.send("/bet/settle", settle(bet_id, settle_amount, SETTLE_WIN, odds(*legs)))
        assert client.balance("tok") == (D("90.00") + D(credited), D("0"))


def test_half_win_as_win_recomputes_a_system_with_its_sizes():
    with sandbox_with(bugs.HALF_WIN_AS_WIN) as client:
        # Given a system 2/3 of 9 at 2, 2, 3 where the third leg is a half-win
        bet_id = place_ok(client, "9.00", odds("2", "2", "3"), sizes=[2])
        legs = odds(("2", WIN), ("2", WIN), ("3", HALF_WIN))
        # When it is settled with the correct amount 3×4 + 3×4 + 3×4 = 36
        client.send("/bet/settle", settle(bet_id, "36.00", SETTLE_WIN, legs))
        # Then the platform credits 3×4 + 3×6 + 3×6 = 48 instead
        assert client.balance("tok") == (D("91.00") + D("48"), D("0"))


def test_settle_by_type_credits_nothing_for_type_lost():
    with sandbox_with(bugs.SETTLE_BY_TYPE) as client:
        lost = place_ok(client, "10.00")
        won = place_ok(client, "10.00")
        client.send("/bet/settle", settle(lost, "5.00", SETTLE_LOST))
        client.send("/bet/settle", settle(won, "25.00", SETTLE_WIN))
        assert client.balance("tok") == (D("105.00"), D("0"))


def test_ok_on_insufficient_answers_204_and_holds_nothing():
    with sandbox_with(bugs.OK_ON_INSUFFICIENT) as client:
        # Given a place far above the balance
        bet_id = new_id("bet")
        response = client.send("/bet/place", place(bet_id, "1000.00"), token="tok")
        # Then it is answered 204, nothing is held, and the bet is open with a zero hold
        assert response.status_code == 204
        assert client.balance("tok") == (D("100.00"), D("0"))
        assert client.bet(bet_id)["held_amount"] == "0.00"
        # And a win is credited in full
        client.send("/bet/settle", settle(bet_id, "2500.00", SETTLE_WIN))
        assert client.balance("tok") == (D("2600.00"), D("0"))


def test_ok_on_insufficient_still_holds_what_it_has():
    with sandbox_with(bugs.OK_ON_INSUFFICIENT) as client:
        place_ok(client, "10.00")
        assert client.balance("tok") == (D("90.00"), D("10.00"))


def test_wrong_error_shape_answers_400_without_the_error_object():
    with sandbox_with(bugs.WRONG_ERROR_SHAPE) as client:
        unknown = client.send("/bet/place", place(new_id("bet")), token="nobody")
        broke = client.send("/bet/place", place(new_id("bet"), "1000.00"), token="tok")
        for response, code in ((unknown, "auth_session_unknown"), (broke, "not_enough_balance")):
            assert response.status_code == 400
            assert response.json()["message"] == code and "error" not in response.json()
            assert contract.error_code_of(response.json()) is None


def test_slow_applies_at_once_but_answers_late():
    with sandbox_with(bugs.SLOW, slow_s=0.4, timeout_s=0.15) as impatient:
        body = place(new_id("bet"), "10.00")
        # When a sender with a short timeout posts, it times out
        with pytest.raises(httpx.ReadTimeout):
            impatient.send("/bet/place", body, token="tok")
        # Then the stake was held all the same
        assert impatient.balance("tok") == (D("90.00"), D("10.00"))
        # And the retry is answered 204 after the delay, without holding again
        with SandboxClient(impatient.url, timeout_s=3) as patient:
            started = time.monotonic()
            assert patient.send("/bet/place", body, token="tok").status_code == 204
            assert time.monotonic() - started >= 0.4
        assert impatient.balance("tok") == (D("90.00"), D("10.00"))
