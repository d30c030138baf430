"""Bugs on purpose: named switches that make the sandbox behave like a broken integration.

Each switch is off by default; turn it on with ``--bug NAME`` (repeatable), the profile's
``"bugs": [...]`` list, or ``SandboxConfig(bugs=...)``. What each one does, exactly:

``non_idempotent``
    A repeated ``request_id`` is not answered from the stored first answer: it is applied again,
    without the state checks a correct platform makes (a place holds the stake a second time, a
    settle credits ``settle_amount`` a second time, an unsettle takes ``unsettle_amount`` back a
    second time, a cash-out credits twice). A repeated decline finds nothing held and answers
    ``bet_not_found``.
``no_release_on_decline``
    ``/bet/decline`` answers 204 and marks the bet declined, but the stake stays held forever:
    ``available`` does not get it back.
``ignores_unsettle``
    ``/bet/unsettle`` answers 204 and changes nothing: the winnings stay credited and the bet stays
    settled. The re-settle that follows is then credited again on top (without touching the hold),
    which is the double payout a real platform with this bug pays.
``half_win_as_win``
    On ``/bet/settle`` whose ``bet_odds`` contain half-win legs, the platform recomputes the credit
    itself with :mod:`contract.payouts`, treating those legs as full wins (stake, bet type and
    system sizes as placed), and credits that instead of ``settle_amount``.
``settle_by_type``
    On ``/bet/settle`` with ``settle_type`` 3 (lost) the platform credits nothing, even when
    ``settle_amount`` is above zero. The hold is still released.
``ok_on_insufficient``
    ``/bet/place`` with a stake above ``available`` answers 204 instead of ``not_enough_balance``
    and holds nothing (``available`` and ``held`` unchanged); the bet is recorded as open with a
    zero hold, so a later settle credits ``settle_amount`` in full and a decline releases nothing.
    Balance probes (an impossible stake) therefore get 204 and see no ``actual_balance``.
``wrong_error_shape``
    Every 400 the platform answers has the body ``{"message": "<code>", "data": {...}}`` instead
    of ``{"error": {"code": ..., "data": ...}}``, so no error code can be read from it.
``slow``
    Every callback is applied at once, but answered only after ``slow_s`` seconds (default 15,
    ``--slow-s``), longer than the sender's default timeout.
"""
from __future__ import annotations

from collections.abc import Iterable

from contract.errors import ConfigurationError

NON_IDEMPOTENT = "non_idempotent"
NO_RELEASE_ON_DECLINE = "no_release_on_decline"
IGNORES_UNSETTLE = "ignores_unsettle"
HALF_WIN_AS_WIN = "half_win_as_win"
SETTLE_BY_TYPE = "settle_by_type"
OK_ON_INSUFFICIENT = "ok_on_insufficient"
WRONG_ERROR_SHAPE = "wrong_error_shape"
SLOW = "slow"

#: Every bug switch, with the one-line summary shown by ``--help`` and on the inspection page.
BUGS: dict[str, str] = {
    NON_IDEMPOTENT: "applies a repeated request_id again instead of replaying the first answer",
    NO_RELEASE_ON_DECLINE: "answers 204 to a decline but keeps the stake held",
    IGNORES_UNSETTLE: "answers 204 to an unsettle and changes nothing; the re-settle pays again",
    HALF_WIN_AS_WIN: "credits half-win legs as full wins (recomputes the payout itself)",
    SETTLE_BY_TYPE: "credits nothing for settle_type 3 even when settle_amount > 0",
    OK_ON_INSUFFICIENT: "answers 204 instead of not_enough_balance and holds nothing",
    WRONG_ERROR_SHAPE: "answers 400s as {\"message\": ...} instead of {\"error\": {...}}",
    SLOW: "applies each callback at once but answers after slow_s seconds",
}

#: How long the ``slow`` bug waits before answering, unless told otherwise.
DEFAULT_SLOW_S = 15.0


def parse_bugs(names: Iterable[str], option: str = "--bug") -> frozenset[str]:
    """The set of bug switches, or ConfigurationError naming the first unknown one."""
    chosen = set()
    for name in names:
        if name not in BUGS:
            raise ConfigurationError(
                f"{option} {name!r} is not a bug switch; choose from: {', '.join(BUGS)}")
        chosen.add(name)
    return frozenset(chosen)
