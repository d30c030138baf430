"""The battery's preflight, planned and judged without I/O: before case 1, is every endpoint
there, does the heartbeat answer, and can balance probes work at all?

- **Presence**: ``/heartbeat`` with the run's Foreign-Params and an empty body, then every
  destination but ``/bet/place`` (the balance probe covers it) with a body about a bet that does
  not exist and moves no money (amounts 0.00). Any HTTP answer but 404 or 405 proves the
  endpoint is there; a bare 404 or 405 is the finding ``endpoint missing: /bet/xyz``.
- **Heartbeat**: a live session must be answered with success; a refusal is an error finding.
- **204**: the sportsbook's own test tool accepts only 204 as success. Any other 2xx is a
  delivery, so it is a warning, never a failure (:func:`success_warnings`).
- **Balance probes**: a platform that answers 2xx to a place no player can cover keeps no
  balances (or does not check them); then no money case can be judged, and
  :func:`probes_cannot_work` is the one diagnosis they all get.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import contract
from battery.results import ERROR, WARNING, Finding, StepResult
from battery.steps import (
    CREATED_AT,
    PROBE_STAKE,
    Accepted,
    Present,
    Step,
    new_request_id,
    odds_list,
)
from battery.suite import MIN_BALANCE
from battery.verdicts import Answer, Verdict, endpoint_missing
from contract import payouts
from contract.restrictions import restriction

#: A probe refused with one of these: the Foreign-Params name no live session.
AUTH_CODES = ("auth_session_unknown", "auth_credentials_expired")
#: The only success status the sportsbook's own test tool accepts.
EXPECTED_SUCCESS = 204


def presence_steps(player_id: str, first_position: int = 1) -> list[Step]:
    """The heartbeat and one harmless request per destination but the place, in contract order,
    numbered from ``first_position``."""
    bet_id = f"it00-absent-{uuid.uuid4().hex[:12]}"
    steps = [Step(first_position, "heartbeat", contract.HEARTBEAT, "", {}, Accepted(),
                  "the heartbeat of a live session was not answered with success (204)")]
    for path, found in contract.DESTINATIONS.items():
        if path == contract.PLACE or not found.with_ids:  # the probe covers the place
            continue
        steps.append(Step(first_position + len(steps), f"is {path} there?", path, bet_id,
                          _absent_bet_body(path, bet_id, player_id), Present(),
                          endpoint_missing(path)))
    return steps


def _absent_bet_body(path: str, bet_id: str, player_id: str) -> dict:
    """A well-formed body of ``path`` about ``bet_id``, which no platform knows; no money in it."""
    ids = {"request_id": new_request_id(), "bet_id": bet_id}
    zero = payouts.format_amount(0)
    odds = odds_list(("2.00",))
    bodies = {
        "/bet/accept": lambda: {"bet_player_id": player_id, "bet_type": payouts.SINGLE,
                                "bet_stake": zero, "bet_odds": odds, "bet_system_sizes": [1],
                                "bet_created_at": CREATED_AT},
        contract.DECLINE: lambda: {"bet_player_id": player_id,
                                   "restrictions": [restriction("sport_event_bet_stop")]},
        "/bet/settle": lambda: {"bet_player_id": player_id, "settle_type": payouts.SETTLE_LOST,
                                "settle_amount": zero,
                                "bet_odds": odds_list(("2.00",), (payouts.LOSS,))},
        "/bet/unsettle": lambda: {"bet_player_id": player_id, "unsettle_amount": zero},
        "/bet/cash-out-orders/accepted": lambda: {
            "cash_out_order_id": f"co-absent-{uuid.uuid4().hex[:8]}", "amount": zero,
            "refund_amount": zero},
        "/bet/cash-out-orders/declined": lambda: {
            "cash_out_order_ids": [f"co-absent-{uuid.uuid4().hex[:8]}"]},
    }
    return {**ids, **bodies[path]()}


def presence_findings(checks: Iterable[StepResult]) -> list[Finding]:
    """Errors for every endpoint that answered 404/405, and for a heartbeat that refused."""
    found = []
    for check in checks:
        status = check.response.get("status")
        if Answer(status, check.response.get("body")).endpoint_missing:
            found.append(Finding(ERROR, f"{endpoint_missing(check.destination)} (answered "
                                        f"{status} at {check.request['url']})"))
        elif check.destination == contract.HEARTBEAT and status is not None \
                and not 200 <= status < 300:
            got = Answer(status, check.response.get("body")).describe()
            found.append(Finding(ERROR, f"{contract.HEARTBEAT} answered {got} for the run's "
                                        "Foreign-Params: a live session's heartbeat must be "
                                        f"answered {EXPECTED_SUCCESS}"))
    return found


def success_warnings(steps: Iterable[StepResult]) -> list[Finding]:
    """One warning naming every destination whose success came back as a 2xx other than 204."""
    seen: dict[int, list[str]] = {}
    for step in steps:
        status = step.response.get("status")
        if status is not None and 200 <= status < 300 and status != EXPECTED_SUCCESS:
            paths = seen.setdefault(status, [])
            if step.destination not in paths:
                paths.append(step.destination)
    return [Finding(WARNING, f"success came back as {status}, not {EXPECTED_SUCCESS}, on "
                             f"{', '.join(paths)}: the sportsbook delivers it, but its own test "
                             f"tool accepts only {EXPECTED_SUCCESS}; answer {EXPECTED_SUCCESS} "
                             "No Content")
            for status, paths in sorted(seen.items())]


#: Why the money cases are not run when the platform accepted the balance probe.
PROBES_CANNOT_WORK = "balance probes cannot work"


def not_judged(blocked: str) -> str:
    """The message of a money case that was not run: the diagnosis is stated once, in the
    preflight's findings."""
    return f"not run: {blocked} — see the preflight findings"


def probes_cannot_work(status: int) -> str:
    """The one diagnosis of every money case when the balance probe was accepted."""
    return (f"{PROBES_CANNOT_WORK}: the platform answered {status} to a /bet/place of "
            f"{payouts.format_amount(PROBE_STAKE)} that no player can cover, instead of 400 "
            "not_enough_balance with data.actual_balance. It keeps no balances or does not check "
            "them, so no case that checks money can be judged; the accepted probe was declined "
            "again")


def probe_decline_body(probe: Step) -> dict:
    """The decline that takes back a balance probe a platform wrongly accepted, so no test money
    stays held: a stake of 10^12 is above any maximum bet."""
    return {"request_id": new_request_id(), "bet_id": probe.bet_id,
            "bet_player_id": probe.payload["bet_player_id"],
            "restrictions": [restriction("max_bet", max_bet="100.00")]}


@dataclass(frozen=True)
class ProbeOutcome:
    """What the preflight's balance probe decides: ``reason`` cancels the pipeline, ``blocked``
    is why no money case can be judged, ``findings`` join the run's."""

    reason: str | None = None
    blocked: str | None = None
    findings: list[Finding] = field(default_factory=list)


def probe_outcome(answer: Answer, verdict: Verdict, foreign_params: dict) -> ProbeOutcome:
    """Judge the preflight's balance probe (an answer that arrived)."""
    if answer.status == 400 and answer.error_code in AUTH_CODES:
        return ProbeOutcome(
            f"the platform answered {answer.error_code} for the run's Foreign-Params "
            f"{session_keys(foreign_params)}: they name no live session. Log in as the test "
            "player, copy fresh session values and run again")
    if answer.endpoint_missing:
        return ProbeOutcome(blocked=endpoint_missing(contract.PLACE))
    if 200 <= answer.status < 300:
        return ProbeOutcome(blocked=PROBES_CANNOT_WORK,
                            findings=[Finding(ERROR, probes_cannot_work(answer.status))])
    if verdict.passed and verdict.balance < MIN_BALANCE:
        return ProbeOutcome(
            f"the test player has {payouts.format_amount(verdict.balance)} available; the "
            f"battery needs at least {MIN_BALANCE}. Top up the player and run again")
    return ProbeOutcome()


def session_keys(params: dict) -> str:
    """The keys of a Foreign-Params object, never its values (they are session secrets)."""
    return "{" + ", ".join(f'"{key}": …' for key in params) + "}"
