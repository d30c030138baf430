"""What the sandbox platform remembers: players with their wallets, bets, cash-out orders, the
first answer to every ``request_id`` and the journal of balance movements — plain records, and
their JSON form for the state file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from contract.payouts import format_amount

#: Bet states. A bet holds its stake while OPEN.
OPEN, DECLINED, SETTLED, CASHED_OUT = "open", "declined", "settled", "cashed_out"
#: Cash-out order states.
ACCEPTED, ANNULLED = "accepted", "declined"

#: Version of the state file's JSON layout (2 added the movement journal).
SNAPSHOT_VERSION = 2
#: Older layouts that still load (version 1: no journal, read as an empty one).
READABLE_VERSIONS = frozenset({1, SNAPSHOT_VERSION})

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of the platform: a status and a JSON body (None for 204)."""

    status: int
    body: dict | None = None

    def to_json(self) -> list:
        return [self.status, self.body]

    @classmethod
    def from_json(cls, data: list) -> Answer:
        return cls(int(data[0]), data[1])


NO_CONTENT = Answer(204)


@dataclass
class Player:
    """A player's wallet. ``available`` can be spent; ``held`` backs open bets."""

    player_id: str
    token: str
    available: Decimal
    held: Decimal = _ZERO
    expired: bool = False

    def view(self) -> dict:
        """The player as JSON, money as decimal strings."""
        return {"player_id": self.player_id, "token": self.token,
                "available": format_amount(self.available), "held": format_amount(self.held),
                "expired": self.expired}

    @classmethod
    def from_json(cls, data: dict) -> Player:
        return cls(data["player_id"], data["token"], Decimal(data["available"]),
                   Decimal(data["held"]), bool(data.get("expired", False)))


@dataclass
class Bet:
    """A bet the platform accepted a place for. ``held_amount`` is what it actually holds now."""

    bet_id: str
    player_id: str
    bet_type: int
    stake: Decimal
    system_sizes: tuple[int, ...]
    held_amount: Decimal
    state: str = OPEN
    credited: Decimal = _ZERO

    def view(self) -> dict:
        """The bet as JSON, money as decimal strings."""
        return {"bet_id": self.bet_id, "player_id": self.player_id, "bet_type": self.bet_type,
                "stake": format_amount(self.stake), "system_sizes": list(self.system_sizes),
                "held_amount": format_amount(self.held_amount), "state": self.state,
                "credited": format_amount(self.credited)}

    @classmethod
    def from_json(cls, data: dict) -> Bet:
        return cls(data["bet_id"], data["player_id"], int(data["bet_type"]),
                   Decimal(data["stake"]), tuple(data["system_sizes"]),
                   Decimal(data["held_amount"]), data["state"], Decimal(data["credited"]))


@dataclass
class CashOut:
    """An accepted cash-out order and what accepting it released from the hold."""

    order_id: str
    bet_id: str
    refund_amount: Decimal
    released_amount: Decimal
    state: str = ACCEPTED

    def view(self) -> dict:
        return {"order_id": self.order_id, "bet_id": self.bet_id,
                "refund_amount": format_amount(self.refund_amount),
                "released_amount": format_amount(self.released_amount), "state": self.state}

    @classmethod
    def from_json(cls, data: dict) -> CashOut:
        return cls(data["order_id"], data["bet_id"], Decimal(data["refund_amount"]),
                   Decimal(data["released_amount"]), data["state"])


@dataclass(frozen=True, slots=True)
class Movement:
    """One change to a player's ``available`` made by one applied callback: ``amount`` is signed
    (a place is the stake negated, a settle the credit). ``at`` is ISO 8601 UTC."""

    at: str
    bet_id: str
    player_id: str
    request_id: str
    amount: Decimal
    destination: str

    def view(self) -> dict:
        """The movement as JSON, the amount as a decimal string with every digit."""
        return {"at": self.at, "bet_id": self.bet_id, "player_id": self.player_id,
                "request_id": self.request_id, "amount": format_amount(self.amount),
                "destination": self.destination}

    def to_json(self) -> list:
        """A compact row for the state file (the journal may hold a million of them)."""
        return [self.at, self.bet_id, self.player_id, self.request_id, str(self.amount),
                self.destination]

    @classmethod
    def from_json(cls, data: list) -> Movement:
        at, bet_id, player_id, request_id, amount, destination = data
        return cls(at, bet_id, player_id, request_id, Decimal(amount), destination)


@dataclass
class Ledger:
    """Everything that must survive a restart."""

    players: dict[str, Player] = field(default_factory=dict)   # by player id
    sessions: dict[str, str] = field(default_factory=dict)     # token → player id
    bets: dict[str, Bet] = field(default_factory=dict)
    cash_outs: dict[str, CashOut] = field(default_factory=dict)
    answers: dict[str, Answer] = field(default_factory=dict)   # request_id → first answer
    movements: list[Movement] = field(default_factory=list)    # append-only, oldest first

    def to_json(self) -> dict:
        """The ledger as a JSON-ready dict (money exact, as strings)."""
        return {
            "version": SNAPSHOT_VERSION,
            "players": [_exact(p.view(), p, ("available", "held")) for p in self.players.values()],
            "bets": [_exact(b.view(), b, ("stake", "held_amount", "credited"))
                     for b in self.bets.values()],
            "cash_outs": [_exact(c.view(), c, ("refund_amount", "released_amount"))
                          for c in self.cash_outs.values()],
            "answers": {key: answer.to_json() for key, answer in self.answers.items()},
            "movements": [movement.to_json() for movement in self.movements],
        }

    @classmethod
    def from_json(cls, data: dict) -> Ledger:
        """A ledger from :meth:`to_json` output of this version or an older readable one;
        KeyError/ValueError when it is not one."""
        version = data.get("version")
        if version not in READABLE_VERSIONS or isinstance(version, bool):
            raise ValueError(f"state version {version!r} is not one of "
                             f"{sorted(READABLE_VERSIONS)}")
        ledger = cls()
        for item in data["players"]:
            player = Player.from_json(item)
            ledger.players[player.player_id] = player
            ledger.sessions[player.token] = player.player_id
        ledger.bets = {b["bet_id"]: Bet.from_json(b) for b in data["bets"]}
        ledger.cash_outs = {c["order_id"]: CashOut.from_json(c) for c in data["cash_outs"]}
        ledger.answers = {k: Answer.from_json(v) for k, v in data["answers"].items()}
        if version >= 2:
            ledger.movements = [Movement.from_json(m) for m in data["movements"]]
        return ledger


def _exact(view: dict, record: object, names: tuple[str, ...]) -> dict:
    """A view whose money keeps every digit (views are for people; the state file is exact)."""
    return {**view, **{name: str(getattr(record, name)) for name in names}}
