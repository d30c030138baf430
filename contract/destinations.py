"""The callback contract (v1), as data.

Everything that needs to know what a callback looks like reads this module: producer-input
validation (:mod:`delivery.validation`), response classification (:mod:`delivery.decisions`), the
sandbox platform, the investigator's explanations and the API reference page. Change the contract
here and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass

from contract.restrictions import PLACE_RETRY_LIMIT_RESTRICTION  # noqa: F401

CONTRACT_VERSION = "v1"

# --- delivery defaults (a brand may override the schedule and the timeout) -------------------

#: Seconds to wait before each attempt: the first goes out at once, then 5 s, 30 s, 2 min, ...
#: Ten attempts over about 23 hours.
DEFAULT_RETRY_SCHEDULE_S: tuple[int, ...] = (0, 5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200)
#: Each back-off delay is moved by up to this fraction either way, so retries of many callbacks
#: that failed together do not arrive together.
RETRY_JITTER = 0.2
#: A 429's ``Retry-After`` is honoured up to this many seconds.
MAX_RETRY_AFTER_S = 3600
#: Whole-request HTTP timeout for one attempt.
DEFAULT_TIMEOUT_S = 10.0
#: How many of a brand's callbacks may be in flight at once.
DEFAULT_MAX_IN_FLIGHT = 32
#: Largest payload a producer may enqueue (serialized JSON).
MAX_PAYLOAD_BYTES = 256 * 1024
#: How much of a response body is kept in the attempt history.
RESPONSE_BODY_CAP_BYTES = 64 * 1024


#: Largest integer an integer, enum or id field may carry (PostgreSQL's bigint).
MAX_INTEGER = 2**63 - 1


# --- field types ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One body field. ``kind`` is one of: string, id, decimal, integer, enum, datetime, list,
    object, any. ``item`` describes list items; ``fields`` describes object members;
    ``minimum``/``maximum`` bound an integer."""

    name: str
    kind: str
    description: str
    required: bool = True
    enum: tuple[int, ...] = ()
    item: Field | None = None
    fields: tuple[Field, ...] = ()
    example: object = None
    minimum: int = 0
    maximum: int = MAX_INTEGER


BET_TYPES = {1: "single", 2: "express", 3: "system"}
SETTLE_TYPES = {1: "win", 2: "refund", 3: "lost"}
ODD_STATUSES = {
    0: "not resulted", 1: "win", 2: "loss", 3: "half-win", 4: "half-loss",
    5: "refunded", 6: "cancelled", 7: "refunded manually",
}

RESTRICTION = Field("restriction", "object", "Why the bet was restricted.", fields=(
    Field("type", "string", "Restriction type, one of the sportsbook's 23 (see "
          "contract.restrictions), e.g. internal_error.", example="internal_error"),
    Field("context", "object", "Detail: max_bet and sport_event_id, plus the type's own keys.",
          required=False, example={"code": "place_retry_limit_reached", "max_bet": None,
                                   "sport_event_id": None}),
))

ODD = Field("odd", "object", "One leg of the bet.", fields=(
    Field("odd_id", "id", "Selection id.", example="odd-1"),
    Field("odd_ratio", "decimal", "Decimal odds.", example="2.50"),
    Field("odd_status", "enum", "Leg result.", enum=tuple(ODD_STATUSES), example=0),
    Field("match_id", "id", "Match id.", example="match-1"),
    Field("match_status", "integer", "Match status code (0..8).", example=0,
          maximum=8),
    Field("market_id", "id", "Market id.", example="market-1"),
    Field("odd_updated_at", "datetime", "When the odds were last updated.", required=False,
          example="2026-11-23T11:59:00.123456789Z"),
    Field("meta", "object", "Provider, sport, tournament and market-type information.",
          required=False, example={}),
    Field("status_reason", "any", "Why the leg has its status.", required=False),
))

COMPETITOR = Field("competitor", "object", "A competitor of the bet's matches.", fields=(
    Field("id", "id", "Competitor id.", example="c-1"),
    Field("type", "integer", "Competitor type.", example=1),
))

#: Largest combination size (and so number of legs) a system size may name.
MAX_SYSTEM_SIZE = 100

_PLAYER = Field("bet_player_id", "id", "The player on the platform.", example="player-1")
_BET_FIELDS = (
    _PLAYER,
    Field("bet_type", "enum", "1 single, 2 express, 3 system.", enum=tuple(BET_TYPES), example=1),
    Field("bet_stake", "decimal", "Stake to hold.", example="10.00"),
    Field("bet_odds", "list", "The legs.", item=ODD),
    Field("bet_system_sizes", "list", "Combination sizes: [1] for a single, [n] for an n-leg "
          "express, the chosen sizes for a system (e.g. [2] for 2/3).",
          item=Field("size", "integer", "Combination size.", minimum=1, maximum=MAX_SYSTEM_SIZE),
          example=[1]),
    Field("bet_created_at", "datetime", "When the player placed the bet (UTC).",
          example="2026-11-23T12:00:00Z"),
    Field("competitors", "list", "Competitors of the bet's matches (omitted when none).",
          required=False, item=COMPETITOR, example=[{"id": "c-1", "type": 1}]),
    Field("bet_freebet_id", "id", "Free bet used, if any.", required=False),
    Field("bet_insurance_id", "id", "Insurance used, if any.", required=False),
    Field("bet_boost_id", "id", "Boost used, if any.", required=False),
)


# --- destinations ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SupportedError:
    """A 400 error code that is a normal business answer for one destination."""

    code: str
    meaning: str
    data: tuple[str, ...] = ()


@dataclass(frozen=True)
class Destination:
    """One path of the contract. ``fields`` are the body's members besides ``request_id`` and
    ``bet_id`` (``with_ids`` False: the body has none, as for the heartbeat); ``money_fields``
    are the members a platform needs to move money correctly — all a tolerant reader requires."""

    path: str
    title: str
    sent_when: str
    fields: tuple[Field, ...]
    supported_errors: tuple[SupportedError, ...] = ()
    notes: str = ""
    money_fields: tuple[str, ...] = ()
    with_ids: bool = True

    @property
    def supported_codes(self) -> frozenset[str]:
        return frozenset(e.code for e in self.supported_errors)


COMMON_FIELDS = (
    Field("request_id", "string", "Idempotency key: the same on every retry of this callback.",
          example="0b7f6c1e-8a53-4a4e-9a0e-1d2f3c4b5a69"),
    Field("bet_id", "id", "The bet (also the callback group).", example="bet-1"),
)

HEARTBEAT = "/heartbeat"
#: A brand's heartbeat interval unless it says otherwise, and the shortest it may say.
DEFAULT_HEARTBEAT_INTERVAL_S = 60
MIN_HEARTBEAT_INTERVAL_S = 1
#: Each heartbeat's interval is stretched or shrunk by up to this fraction, at random, so that
#: sessions opened together drift apart instead of beating together.
HEARTBEAT_JITTER = 0.1
#: The states of a player session: heartbeats go out while it is live.
SESSION_STATES = ("live", "closed", "expired", "ended_by_platform")
#: The platform's answer that ends a session: it no longer knows it.
SESSION_UNKNOWN = "auth_session_unknown"
#: Sent per player session, not per bet: no ids, no body, nothing to order it by, so producers
#: cannot queue it (:func:`queueable`); platforms must answer it all the same.
HEARTBEAT_DESTINATION = Destination(
    HEARTBEAT, "Heartbeat",
    "Periodically for each active player session, so the platform can extend it "
    "(mandatory for go-live).",
    (),
    (SupportedError("auth_session_unknown", "The session is not known (any more)."),),
    notes="Empty body; the session is in Foreign-Params only. Answer 204.",
    with_ids=False,
)


DESTINATIONS: dict[str, Destination] = {d.path: d for d in (
    Destination(
        "/bet/place", "Place", "The player submits a bet; the platform must hold the stake.",
        _BET_FIELDS,
        (
            SupportedError("not_enough_balance", "The player cannot cover the stake.",
                           ("actual_balance",)),
            SupportedError("player_limit_crossed", "A player limit forbids the bet.", ("types",)),
            SupportedError("auth_session_unknown", "The session token is not known."),
            SupportedError("auth_credentials_expired", "The session token has expired."),
        ),
        notes="A supported error sets the bet to PLACE_ERROR; later callbacks are skipped.",
        money_fields=("bet_stake",),
    ),
    Destination("/bet/accept", "Accept", "The bet was validated and accepted (the place body "
                "again, with a new request_id).", _BET_FIELDS),
    Destination(
        "/bet/decline", "Decline",
        "The bet was rejected (before or after accept); the platform releases the hold.",
        (_PLAYER, Field("restrictions", "list", "Why it was declined.", item=RESTRICTION)),
        (SupportedError("bet_not_found", "Nothing was held for this bet."),),
    ),
    Destination(
        "/bet/settle", "Settle", "The bet was resulted (again after an unsettle).",
        (
            _PLAYER,
            Field("settle_amount", "decimal", "Amount to credit, whatever settle_type says.",
                  example="25.00"),
            Field("settle_type", "enum", "From the payout against the stake: above → 1 win, "
                  "equal → 2 refund, below → 3 lost (a half-loss is 3 with money).",
                  enum=tuple(SETTLE_TYPES), example=1),
            Field("bet_odds", "list", "The legs with their final statuses.", item=ODD,
                  required=False),
            Field("restrictions", "list", "Reasons for a refund, if any.", item=RESTRICTION,
                  required=False),
        ),
        notes="Also sent after an accepted cash-out, with type 3 and amount 0: answer it and "
              "move no money.",
        money_fields=("settle_amount",),
    ),
    Destination(
        "/bet/unsettle", "Unsettle", "A settlement is reversed; the bet is open again.",
        (_PLAYER, Field("unsettle_amount", "decimal", "Amount to take back (the previous "
                        "settle_amount).", example="25.00")),
        money_fields=("unsettle_amount",),
    ),
    Destination(
        "/bet/cash-out-orders/accepted", "Cash-out accepted", "A cash-out was accepted.",
        (
            Field("cash_out_order_id", "id", "The cash-out order.", example="co-1"),
            Field("amount", "decimal", "The stake being cashed out.", example="10.00"),
            Field("refund_amount", "decimal", "What the player is paid.", example="8.00"),
        ),
        money_fields=("cash_out_order_id", "refund_amount"),
    ),
    Destination(
        "/bet/cash-out-orders/declined", "Cash-out declined",
        "An accepted cash-out is annulled (then refunded manually).",
        (Field("cash_out_order_ids", "list", "Annulled cash-out orders.",
               item=Field("cash_out_order_id", "id", "A cash-out order."), example=["co-1"]),),
        money_fields=("cash_out_order_ids",),
    ),
    HEARTBEAT_DESTINATION,
)}

PLACE = "/bet/place"
DECLINE = "/bet/decline"


def destination(path: str) -> Destination | None:
    """The destination for a path, or None if the contract has no such destination."""
    return DESTINATIONS.get(path)


def queueable(path: str) -> bool:
    """Whether producers may queue callbacks to ``path``: a destination about one bet (with
    ``request_id`` and ``bet_id``). The heartbeat is not: it belongs to a session."""
    found = DESTINATIONS.get(path)
    return found is not None and found.with_ids


def supported_codes(path: str) -> frozenset[str]:
    """The 400 error codes that are normal answers for ``path``."""
    found = DESTINATIONS.get(path)
    return found.supported_codes if found else frozenset()


def error_body(code: str, data: dict | None = None) -> dict:
    """The contract's error body: ``{"error": {"code": ..., "data": {...}}}``."""
    return {"error": {"code": code, "data": data or {}}}


def error_code_of(body: object) -> str | None:
    """The error code in a parsed response body, or None if the body is not the contract's shape."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    return code if isinstance(code, str) and code else None
