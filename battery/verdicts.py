"""Pure judgement of one battery step: did the platform's answer meet the step's expectation?

``judge(step, answer, start, earlier)`` returns a :class:`Verdict` that says what was expected,
what came back, and — when they differ — which platform behaviour is broken. No I/O: the answer is
a plain :class:`Answer` (built from a sender :class:`~delivery.records.Attempt`), so every rule is
tested with values.

A step whose request got no HTTP answer at all (timeout, refused connection, TLS or protocol
error) is not judged on its content: its verdict asks to cancel the pipeline, because an
unreachable endpoint makes every later case meaningless.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import contract
from battery.steps import PROBE_BROKEN, Accepted, Balance, Present, Replay, Step
from contract.payouts import format_amount

#: Named when a 400 cannot be read as the contract's error body.
ERROR_SHAPE_BROKEN = ('400 answers do not carry the contract\'s error body '
                      '{"error": {"code": ..., "data": {...}}}')
#: Longest body excerpt quoted in a message.
EXCERPT_CHARS = 200
#: Answers that mean "no such endpoint" (405: the path exists for other methods only).
MISSING_STATUSES = (404, 405)


def endpoint_missing(destination: str) -> str:
    """The diagnosis of a 404/405: said so, rather than as the balance failure it would cause."""
    return f"endpoint missing: {destination}"


@dataclass(frozen=True)
class Answer:
    """What came back for one request: an HTTP answer, or a transport error (no status)."""

    status: int | None
    body: str | None = None
    error_class: str | None = None
    error_detail: str | None = None

    @classmethod
    def from_attempt(cls, attempt) -> Answer:
        """From a :class:`delivery.records.Attempt`."""
        transport = attempt.response_status is None
        return cls(attempt.response_status, attempt.response_body,
                   attempt.outcome.error_class if transport else None,
                   attempt.outcome.error_detail if transport else None)

    @property
    def reached(self) -> bool:
        return self.status is not None

    def json(self) -> object:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def error_code(self) -> str | None:
        return contract.error_code_of(self.json())

    @property
    def endpoint_missing(self) -> bool:
        """A 404 or 405 without the contract's error body: the path is not served at all (a 404
        carrying ``{"error": {"code": ...}}`` is the platform's own answer, so it is there)."""
        return self.status in MISSING_STATUSES and self.error_code is None

    def error_data(self) -> dict:
        """``error.data`` of the contract's error body, or {}."""
        body = self.json()
        error = body.get("error") if isinstance(body, dict) else None
        data = error.get("data") if isinstance(error, dict) else None
        return data if isinstance(data, dict) else {}

    def describe(self) -> str:
        """For people: ``204``, ``400 bet_not_found``, ``no answer (timeout: ...)``."""
        if not self.reached:
            return f"no answer ({self.error_class}: {self.error_detail})"
        if self.status == 400 and self.error_code:
            data = self.error_data()
            return f"400 {self.error_code}" + (f" {json.dumps(data)}" if data else "")
        if self.body:
            return f"{self.status} {_excerpt(self.body)}"
        return str(self.status)


@dataclass(frozen=True)
class Verdict:
    """The judgement of one step. ``balance`` is the available balance the answer showed (probes
    and refused places); ``cancel`` means the endpoint did not answer at all."""

    passed: bool
    expected: str
    got: str
    broken: str | None = None
    balance: Decimal | None = None
    cancel: bool = False

    def message(self, step: Step) -> str | None:
        """``<broken behaviour> — step N <label> (<destination>): expected …; got …``."""
        if self.passed:
            return None
        return (f"{self.broken} — step {step.position} {step.label} ({step.destination}): "
                f"expected {self.expected}; got {self.got}")


def judge(step: Step, answer: Answer, start: Decimal | None,
          earlier: dict[int, Answer] | None = None) -> Verdict:
    """Judge ``answer`` against ``step.expect``; ``start`` is the case's starting balance (None
    before its first probe); ``earlier`` holds the case's previous answers by step position."""
    expect = step.expect
    expected, got = expectation_text(step, start), answer.describe()
    if not answer.reached:
        return Verdict(False, expected, got, "the endpoint did not answer", cancel=True)
    if answer.endpoint_missing:
        return Verdict(False, expected, got, endpoint_missing(step.destination))
    if isinstance(expect, Present):
        return Verdict(True, expected, got)
    if isinstance(expect, Accepted):
        ok = 200 <= answer.status < 300
        return Verdict(ok, expected, got, None if ok else step.broken)
    if isinstance(expect, Replay):
        first = (earlier or {}).get(expect.of_position)
        ok = first is not None and _same_answer(first, answer)
        if not ok and first is not None:
            got = f"{got} (first time: {first.describe()})"
        return Verdict(ok, expected, got, None if ok else step.broken)
    # A refusal or a balance probe: a 400 with a readable code, maybe with a balance.
    probe = isinstance(expect, Balance)
    code = "not_enough_balance" if probe else expect.code
    wanted = expect.available if probe else expect.actual_balance
    mechanics = PROBE_BROKEN if probe else step.broken
    if answer.status == 400 and answer.error_code is None:
        return Verdict(False, expected, got, ERROR_SHAPE_BROKEN)
    if answer.status != 400 or answer.error_code != code:
        return Verdict(False, expected, got, mechanics)
    if not probe and wanted is None:
        return Verdict(True, expected, got)
    shown = _decimal(answer.error_data().get("actual_balance"))
    if shown is None:
        return Verdict(False, expected, got, mechanics)
    if wanted is None:
        return Verdict(True, expected, got, balance=shown)
    ok = shown == wanted.resolve(start)
    return Verdict(ok, expected, got, None if ok else step.broken, balance=shown)


def expectation_text(step: Step, start: Decimal | None) -> str:
    """The expectation for people, relative amounts worked out once the start is known:
    ``400 not_enough_balance with actual_balance 90.00 (start − 10.00)``."""
    expect = step.expect
    text = expect.describe()
    wanted = getattr(expect, "actual_balance", None) or getattr(expect, "available", None)
    if wanted is None or start is None or not wanted.k:
        return text
    worked = format_amount(wanted.resolve(start))
    return text.replace(wanted.describe(), f"{worked} ({wanted.describe()})")


def _same_answer(first: Answer, again: Answer) -> bool:
    if first.status != again.status:
        return False
    one, two = first.json(), again.json()
    if one is not None or two is not None:
        return one == two
    return (first.body or "") == (again.body or "")


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[:EXCERPT_CHARS] + "…"
