"""The integration battery's vocabulary: steps, what each one expects, relative amounts.

A case is planned before anything is sent, as plain data (:class:`CasePlan`). Amounts that depend
on the player's balance — which the battery only learns from the case's first balance probe — are
:class:`Rel` values (``start × k + fixed``), resolved when the step is sent.

Expectations:

- :class:`Accepted` — a 2xx answer;
- :class:`Refused` — 400 with a given error code (and optionally ``data.actual_balance``);
- :class:`Balance` — a *balance probe*: a ``/bet/place`` with an impossible stake, answered
  ``not_enough_balance`` with ``data.actual_balance`` equal to the modelled available balance;
- :class:`Replay` — the same status and body as an earlier step with the same ``request_id``;
- :class:`Present` — any answer but a bare 404 or 405 (the preflight's presence checks).

Every step also names the behaviour that is broken when its expectation is not met, so a failed
case reads as a diagnosis ("the hold was not released on decline"), not only as a diff.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from contract import bodies, payouts

#: Stake of a balance probe: no test player can cover it, so the platform must answer
#: ``not_enough_balance`` and tell the balance.
PROBE_STAKE = Decimal("1000000000000.00")
PROBE_ODDS = "2.00"
#: Sent as ``bet_player_id``; platforms find the player by the session token (place) and by
#: ``bet_id`` (everything later).
DEFAULT_PLAYER_ID = "integration-test-player"
#: Fixed ``bet_created_at`` of battery bets (the platform must not care when a bet was made).
CREATED_AT = "2026-01-01T12:00:00Z"
#: ``odd_updated_at`` of battery legs: the real sender writes nanoseconds.
ODDS_UPDATED_AT = "2026-01-01T11:59:00.123456789Z"
#: Named when a balance probe is not answered as one.
PROBE_BROKEN = ("balance probes do not work: a /bet/place the player cannot cover must be "
                "refused with 400 not_enough_balance carrying data.actual_balance")

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Rel:
    """An amount relative to the case's starting balance: ``start × k + fixed``."""

    k: int = 0
    fixed: Decimal = _ZERO

    def __add__(self, other: Rel | Decimal | str) -> Rel:
        other = rel(other)
        return Rel(self.k + other.k, self.fixed + other.fixed)

    def __sub__(self, other: Rel | Decimal | str) -> Rel:
        return self + (-rel(other))

    def __neg__(self) -> Rel:
        return Rel(-self.k, -self.fixed)

    def resolve(self, start: Decimal | None) -> Decimal:
        """The amount for a starting balance; a relative amount before the start is known is a
        planning error."""
        if self.k and start is None:
            raise ValueError("an amount relative to the starting balance was needed before the "
                             "case's first balance probe")
        return self.k * (start or _ZERO) + self.fixed

    def describe(self) -> str:
        """For people: ``start − 10.00``, ``start``, ``25.00``."""
        if not self.k:
            return payouts.format_amount(self.fixed)
        head = "start" if self.k == 1 else f"{self.k} × start"
        if not self.fixed:
            return head
        sign = "+" if self.fixed > 0 else "−"
        return f"{head} {sign} {payouts.format_amount(abs(self.fixed))}"


def rel(value: Rel | Decimal | str | int) -> Rel:
    """A :class:`Rel` from a fixed amount (or itself)."""
    return value if isinstance(value, Rel) else Rel(0, payouts.to_decimal(value))


START = Rel(1)
Amount = Rel | Decimal


def resolve_payload(value: object, start: Decimal | None) -> object:
    """The payload as sent: every :class:`Rel` replaced by its decimal string."""
    if isinstance(value, Rel):
        return payouts.format_amount(value.resolve(start))
    if isinstance(value, dict):
        return {key: resolve_payload(item, start) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_payload(item, start) for item in value]
    return value


# --- expectations ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Accepted:
    """A 2xx answer."""

    def describe(self) -> str:
        return "a 2xx answer"


@dataclass(frozen=True)
class Refused:
    """400 with error ``code``; with ``actual_balance``, ``data.actual_balance`` must equal it."""

    code: str
    actual_balance: Rel | None = None

    def describe(self) -> str:
        text = f"400 {self.code}"
        if self.actual_balance is not None:
            text += f" with actual_balance {self.actual_balance.describe()}"
        return text


@dataclass(frozen=True)
class Balance:
    """A balance probe: 400 ``not_enough_balance`` whose ``data.actual_balance`` is ``available``
    (None: the case's first probe, which reads the starting balance)."""

    available: Rel | None = None

    def describe(self) -> str:
        if self.available is None:
            return "400 not_enough_balance with data.actual_balance (the starting balance)"
        return f"400 not_enough_balance with actual_balance {self.available.describe()}"


@dataclass(frozen=True)
class Replay:
    """The same status and body as step ``of_position`` (a repeated ``request_id``)."""

    of_position: int

    def describe(self) -> str:
        return f"the same status and body as step {self.of_position}"


@dataclass(frozen=True)
class Present:
    """Any HTTP answer that shows the endpoint exists (not a bare 404 or 405): the preflight's
    presence checks, whose bodies are about a bet no platform knows."""

    def describe(self) -> str:
        return "any answer but 404 or 405 (the endpoint exists)"


Expectation = Accepted | Refused | Balance | Replay | Present


# --- steps and cases ------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One callback to send and what must come back. ``unknown_session`` sends the run's
    Foreign-Params with every value changed (the unknown-session case); ``payload`` may hold
    :class:`Rel` amounts."""

    position: int
    label: str
    destination: str
    bet_id: str
    payload: dict
    expect: Expectation
    broken: str
    unknown_session: bool = False

    @property
    def request_id(self) -> str:
        return self.payload["request_id"]

    @property
    def is_probe(self) -> bool:
        return isinstance(self.expect, Balance)


@dataclass(frozen=True)
class CasePlan:
    """One case of the battery, planned: its steps in order."""

    number: int
    group: str
    name: str
    checks: str
    steps: tuple[Step, ...]
    needs_balance: bool = True


def new_request_id() -> str:
    return str(uuid.uuid4())


def new_bet_id(case_number: int) -> str:
    """Fresh per run, recognisable in a platform's logs: ``it07-<20 hex>``."""
    return f"it{case_number:02d}-{uuid.uuid4().hex[:20]}"


def odds_list(ratios: tuple[str, ...], statuses: tuple[int, ...] | None = None) -> list[dict]:
    """A contract ``bet_odds`` list as the real sender writes it (with ``odd_updated_at`` and
    ``meta``); not resulted unless ``statuses`` are given."""
    statuses = statuses or (payouts.NOT_RESULTED,) * len(ratios)
    return [bodies.odd(i + 1, ratio, status, updated_at=ODDS_UPDATED_AT, meta=ODDS_META)
            for i, (ratio, status) in enumerate(zip(ratios, statuses, strict=False))]


#: ``meta`` of battery legs: provider, sport, tournament and market type, as the sender fills it.
ODDS_META = {"provider": "integration-test", "sport_id": "football",
             "tournament_id": "integration-test-cup", "market_type": 1}
