"""Body pieces as the sportsbook's sender writes them, checked by the contract's own checker."""
import contract
from contract import bodies
from contract.checking import PRODUCER, check_body
from contract.payouts import EXPRESS, SINGLE, SYSTEM


def test_system_sizes_follow_the_bet_type():
    assert bodies.system_sizes(SINGLE, 1) == [1]
    assert bodies.system_sizes(EXPRESS, 3) == [3]
    assert bodies.system_sizes(SYSTEM, 3, (2,)) == [2]


def test_a_place_built_from_the_pieces_is_what_the_contract_accepts():
    legs = [bodies.odd(n, "1.85", updated_at="2026-11-23T11:59:00.123456789Z",
                       meta={"provider": "p"}) for n in (1, 2)]
    body = {"request_id": "r-1", "bet_id": "b-1", "bet_player_id": "p-1",
            "bet_type": EXPRESS, "bet_stake": "10", "bet_odds": legs,
            "bet_system_sizes": bodies.system_sizes(EXPRESS, len(legs)),
            "bet_created_at": "2026-11-23T12:00:00.123456789Z"}
    assert check_body(contract.DESTINATIONS[contract.PLACE], body, PRODUCER) is None
