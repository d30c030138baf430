"""Runs the integration battery against a platform: its cases in order, through the real
delivery path, reporting progress as each case finishes.

Every callback goes out through :func:`delivery.sender.deliver_once` — the same headers, signing,
timeouts and classification as a worker — and is decided by :func:`delivery.dispatch.decide` with
a one-attempt schedule (the battery never retries). Its origin is ``integration_test`` so history
and breakdowns can tell battery traffic apart. Every request carries the run's Foreign-Params
object exactly as given.

Flow: the *preflight* first (:mod:`battery.preflight`): the heartbeat and every destination's
presence, then a balance probe. No answer, an unknown session or too little money cancels the
pipeline with the reason; a missing endpoint is an error finding. A probe the platform accepts
(it keeps no balances) is declined again at once, and every case that checks money gets that one
diagnosis while the cases that need no balance still run, without their probes. Then each case,
step by step, until its first unmet expectation. A failed case gives back what it left held (a
refund settle per open bet, a decline per accepted probe; sent but not judged) so the next case
starts from the player's own money. A step that gets no HTTP answer at all cancels the pipeline:
the remaining cases are ``cancelled``. Success answered with a 2xx other than 204 is a warning.

The runner needs no database. With a recorder (:class:`battery.store.RunRecorder`)
the run, its cases and steps, and every attempt are stored as they happen.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

import httpx

import contract
from battery import preflight
from battery.results import (
    CANCELLED,
    FAILED,
    RUNNING,
    SUCCESS,
    CaseResult,
    Finding,
    RunResult,
    StepResult,
)
from battery.session import check_foreign_params, unknown_session
from battery.steps import (
    DEFAULT_PLAYER_ID,
    Accepted,
    Balance,
    CasePlan,
    Step,
    new_request_id,
    odds_list,
    resolve_payload,
)
from battery.suite import balance_probe_step, plan_battery, without_probes
from battery.verdicts import Answer, Verdict, judge
from contract import payouts
from delivery import dispatch, masking, urls
from delivery.errors import InvalidInput
from delivery.records import Attempt, OutgoingCallback
from delivery.sender import deliver_once, make_transport

#: Per-request timeout: an endpoint that does not answer cancels the pipeline within 5 s.
DEFAULT_TIMEOUT_S = 4.0
#: ``callbacks.origin`` and ``attempts.origin`` of battery traffic.
ORIGIN = "integration_test"


@dataclass(frozen=True)
class Target:
    """The platform under test and the session to test as: ``foreign_params`` is sent as the
    Foreign-Params header of every request, exactly as given."""

    base_url: str
    foreign_params: dict
    player_id: str = DEFAULT_PLAYER_ID
    timeout_s: float = DEFAULT_TIMEOUT_S
    brand_id: int = 0
    signing_secret: str | None = None
    #: How stored and reported copies are masked: every Foreign-Params value but the brand's
    #: visible ones, and the session's values wherever an answer or a message echoes them.
    mask: masking.Mask = masking.KEYLESS
    #: ``user:password`` sent as ``Authorization: Basic`` with every request (``base_url``
    #: itself carries none: it is stored with the run and shown).
    credentials: str | None = field(default=None, repr=False)

    def check(self) -> None:
        """InvalidInput naming the field when the target cannot be tested."""
        if urls.parse(self.base_url, what="the platform URL").credentials is not None:
            raise InvalidInput(f"the platform URL {urls.redact(self.base_url)!r} carries "
                               "credentials; give them apart (Target.credentials), as they "
                               "are never stored with the run", field="url",
                               value=urls.redact(self.base_url))
        check_foreign_params(self.foreign_params)
        if not 0 < self.timeout_s <= 60:
            raise InvalidInput(f"timeout {self.timeout_s!r} s must be above 0 and at most 60",
                               field="timeout_s", value=self.timeout_s)


class Recorder(Protocol):
    """Where a run is stored as it goes (see :mod:`battery.store`)."""

    def start(self, run: RunResult) -> None: ...
    def case_finished(self, run: RunResult, case: CaseResult) -> None: ...
    def finish(self, run: RunResult) -> None: ...


Progress = Callable[[RunResult, CaseResult | None], None]


def run_battery(target: Target, *, client: httpx.Client | httpx.BaseTransport | None = None,
                recorder: Recorder | None = None, on_progress: Progress | None = None,
                plans: list[CasePlan] | None = None, triggered_by: str = "") -> RunResult:
    """Run the battery (or ``plans``) against ``target``; ``on_progress(run, case)`` is called
    after the preflight (case None) and after every case."""
    target.check()
    plans = plan_battery(target.player_id) if plans is None else plans
    run = RunResult(target.base_url, RUNNING, datetime.now(UTC), triggered_by,
                    [CaseResult(p.number, p.group, p.name, p.checks, CANCELLED, len(p.steps))
                     for p in plans], timeout_s=target.timeout_s)
    clock = time.perf_counter()
    own_client = client is None
    # The worker's kind of connections: no cookie jar (a platform's Set-Cookie is never sent
    # back), and the timeout one overall deadline even against a platform that trickles.
    client = client or make_transport(2)
    try:
        if recorder:
            recorder.start(run)
        _Pipeline(target, client, run, recorder, on_progress).run(plans)
    except BaseException as exc:
        run.status, run.reason = CANCELLED, f"the battery stopped unexpectedly: {exc!r}"
        raise
    finally:
        run.finished_at = datetime.now(UTC)
        run.duration_ms = round((time.perf_counter() - clock) * 1000, 1)
        if own_client:
            client.close()
        if recorder:
            recorder.finish(run)
    return run


class _Pipeline:
    """One run in progress: sends steps, judges answers, keeps the run's results."""

    def __init__(self, target: Target, client: httpx.Client | httpx.BaseTransport, run: RunResult,
                 recorder: Recorder | None, on_progress: Progress | None):
        self.target, self.client, self.run_result = target, client, run
        self.recorder, self.on_progress = recorder, on_progress
        #: The session's values, hidden wherever an answer or a message echoes them.
        self.secrets = target.mask.secrets(target.foreign_params)

    def run(self, plans: list[CasePlan]) -> None:
        run = self.run_result
        run.reason, blocked = self._preflight()
        self._notify(None)
        for index, plan in enumerate(plans):
            if run.reason:
                break
            case = run.cases[index]
            if blocked and plan.needs_balance:
                case.status, case.message = FAILED, preflight.not_judged(blocked)
            else:
                run.reason = self._run_case(without_probes(plan) if blocked else plan, case)
            if self.recorder:
                self.recorder.case_finished(run, case)
            self._notify(case)
        run.findings += self._masked(preflight.success_warnings(
            [*run.preflight, *(s for c in run.cases for s in c.steps if not s.cleanup)]))
        if run.reason:
            run.status = CANCELLED
            for case in run.cases:
                if case.status == CANCELLED and self.recorder:
                    self.recorder.case_finished(run, case)
        else:
            run.status = SUCCESS if run.failed == 0 and not run.errors else FAILED

    def _notify(self, case: CaseResult | None) -> None:
        if self.on_progress:
            self.on_progress(self.run_result, case)

    def _preflight(self) -> tuple[str | None, str | None]:
        """``(why the pipeline cannot start, why no money case can be judged)``, each or None;
        the checks go to ``run.preflight``, what they found to ``run.findings``. The balance probe
        goes first: an endpoint that does not answer it cancels before anything else is sent."""
        run, sent = self.run_result, {}
        probe = balance_probe_step(self.target.player_id)
        attempt, answer, verdict = self._send_and_judge(probe, None, {}, sent)
        run.preflight.append(self._result(probe, attempt, verdict, probe.payload))
        if verdict.cancel:
            return self._unreachable(probe, attempt), None
        if 200 <= answer.status < 300:
            run.preflight.append(self._decline_probe(probe, len(run.preflight) + 1, sent))
        for step in preflight.presence_steps(self.target.player_id, len(run.preflight) + 1):
            check, _, checked = self._send_and_judge(step, None, {}, sent)
            run.preflight.append(self._result(step, check, checked, step.payload))
            if checked.cancel:
                return self._unreachable(step, check), None
        run.findings += self._masked(preflight.presence_findings(run.preflight))
        outcome = preflight.probe_outcome(answer, verdict, self.target.foreign_params)
        run.findings += self._masked(outcome.findings)
        return outcome.reason, outcome.blocked

    def _run_case(self, plan: CasePlan, case: CaseResult) -> str | None:
        """Run one case into ``case``; a cancellation reason when the endpoint stopped answering."""
        clock = time.perf_counter()
        start: Decimal | None = None
        earlier: dict[int, Answer] = {}
        sent: dict[str, int] = {}
        open_bets = _OpenBets()
        reason = None
        case.status = SUCCESS
        for step in plan.steps:
            attempt, answer, verdict = self._send_and_judge(step, start, earlier, sent)
            if start is None and isinstance(step.expect, Balance) and verdict.passed:
                start = verdict.balance
            earlier[step.position] = answer
            case.steps.append(self._result(step, attempt, verdict, attempt.callback.payload))
            if verdict.cancel:
                reason = self._unreachable(step, attempt)
            if step.is_probe and answer.reached and 200 <= answer.status < 300:
                case.steps.append(self._decline_probe(step, len(case.steps) + 1, sent))
            if not verdict.passed:
                case.status, case.failed_step = FAILED, step.position
                case.message = self.secrets.text(verdict.message(step))
                break
            open_bets.note(step, answer)
        if case.status == FAILED and not reason:
            self._give_back(case, open_bets, start, sent)
        case.duration_ms = round((time.perf_counter() - clock) * 1000, 1)
        return reason

    def _send_and_judge(self, step: Step, start: Decimal | None, earlier: dict[int, Answer],
                        sent: dict[str, int]) -> tuple[Attempt, Answer, Verdict]:
        payload = resolve_payload(step.payload, start)
        params = self.target.foreign_params
        attempt = self._send(step.destination, step.bet_id, payload,
                             unknown_session(params) if step.unknown_session else params, sent)
        answer = Answer.from_attempt(attempt)
        return attempt, answer, judge(step, answer, start, earlier)

    def _send(self, destination: str, bet_id: str, payload: dict, foreign_params: dict,
              sent: dict[str, int]) -> Attempt:
        # The heartbeat's body is empty: its attempt is keyed by a request id of its own.
        request_id = payload.get("request_id") or new_request_id()
        sent[request_id] = sent.get(request_id, 0) + 1
        callback = OutgoingCallback(
            callback_id=0, request_id=request_id, bet_id=bet_id, brand_id=self.target.brand_id,
            destination=destination, payload=payload, foreign_params=foreign_params,
            attempt_no=sent[request_id], base_url=self.target.base_url,
            timeout_s=self.target.timeout_s, retry_schedule_s=(0,),
            signing_secret=self.target.signing_secret, origin=ORIGIN,
            mask=self.target.mask, url_credentials=self.target.credentials)
        return dispatch.decide(deliver_once(callback, self.client))

    def _decline_probe(self, probe: Step, position: int, sent: dict[str, int]) -> StepResult:
        """Decline a balance probe the platform wrongly accepted, so no test money stays held."""
        body = preflight.probe_decline_body(probe)
        attempt = self._send(contract.DECLINE, probe.bet_id, body, self.target.foreign_params,
                             sent)
        cleanup = Step(position, "cleanup: decline the wrongly accepted balance probe",
                       contract.DECLINE, probe.bet_id, body, Accepted(), "")
        result = self._result(cleanup, attempt, None, body)
        result.cleanup = True
        return result

    def _result(self, step: Step, attempt: Attempt, verdict: Verdict | None,
                payload: dict) -> StepResult:
        """The step's result as reported and stored: what was sent and what came back, the
        session's values masked in the bodies and the message (the judgement is made on the
        answer as it came)."""
        secrets = (self.secrets if attempt.callback.foreign_params is self.target.foreign_params
                   else self.target.mask.secrets(self.target.foreign_params,
                                                 attempt.callback.foreign_params))
        result = _result(step, attempt, verdict, secrets.json(payload))
        result.response["body"] = secrets.text(result.response["body"])
        result.message = secrets.text(result.message)
        return result

    def _masked(self, findings: list[Finding]) -> list[Finding]:
        return [dataclasses.replace(f, text=self.secrets.text(f.text)) for f in findings]

    def _unreachable(self, step: Step, attempt: Attempt) -> str:
        outcome = attempt.outcome
        return (f"{step.destination} at {attempt.callback.url} got no answer "
                f"({outcome.error_class}: {outcome.error_detail}); the endpoint is unreachable or "
                f"does not answer within {self.target.timeout_s:g} s")

    def _give_back(self, case: CaseResult, open_bets: _OpenBets, start: Decimal | None,
                   sent: dict[str, int]) -> None:
        """Refund every bet the failed case left open, so later cases start from real money."""
        for place in open_bets.places():
            bet_id = place.bet_id
            placed = resolve_payload(place.payload, start)
            body = {"request_id": new_request_id(), "bet_id": bet_id,
                    "bet_player_id": placed["bet_player_id"],
                    "settle_type": payouts.SETTLE_REFUND, "settle_amount": placed["bet_stake"],
                    "bet_odds": odds_list(tuple(o["odd_ratio"] for o in placed["bet_odds"]),
                                          (payouts.REFUNDED,) * len(placed["bet_odds"]))}
            attempt = self._send("/bet/settle", bet_id, body, self.target.foreign_params, sent)
            cleanup = Step(len(case.steps) + 1, "cleanup: refund what the case left held",
                           "/bet/settle", bet_id, body, Accepted(), "")
            result = self._result(cleanup, attempt, None, body)
            result.cleanup = True
            case.steps.append(result)


_CLOSES = ("/bet/settle", contract.DECLINE, "/bet/cash-out-orders/accepted")
_REOPENS = ("/bet/unsettle", "/bet/cash-out-orders/declined")


class _OpenBets:
    """The case's bets whose stake a correct platform holds right now."""

    def __init__(self):
        self._placed: dict[str, Step] = {}
        self._open: set[str] = set()

    def note(self, step: Step, answer: Answer) -> None:
        if not isinstance(step.expect, Accepted) or not 200 <= answer.status < 300:
            return
        if step.destination == contract.PLACE:
            self._placed[step.bet_id] = step
            self._open.add(step.bet_id)
        elif step.destination in _CLOSES:
            self._open.discard(step.bet_id)
        elif step.destination in _REOPENS and step.bet_id in self._placed:
            self._open.add(step.bet_id)

    def places(self) -> list[Step]:
        """The place steps of the bets still open, in the order they were placed."""
        return [step for bet_id, step in self._placed.items() if bet_id in self._open]


def _result(step: Step, attempt: Attempt, verdict: Verdict | None, payload: dict) -> StepResult:
    callback = attempt.callback
    response = {
        "status": attempt.response_status, "headers": attempt.response_headers,
        "body": attempt.response_body, "outcome": attempt.final_state or attempt.outcome.kind,
        "error_class": attempt.outcome.error_class, "error_detail": attempt.outcome.error_detail,
        "duration_ms": attempt.duration_ms, "attempt_id": attempt.id,
        "started_at": attempt.started_at.isoformat(),
    }
    return StepResult(
        step.position, step.label, step.destination, step.bet_id, callback.request_id,
        verdict.expected if verdict else "a 2xx answer (cleanup, not judged)",
        verdict.passed if verdict else None, verdict.message(step) if verdict else None,
        {"url": callback.url, "headers": attempt.request_headers, "body": payload}, response,
        attempt=attempt)
