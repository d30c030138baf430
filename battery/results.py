"""What a battery run produced: the preflight's checks and findings; each step's request, answer
and judgement; each case's status; the run's status and reason. Plain records, shared by the
runner, the store, the reports and the page.

Statuses — run: running, success, failed, cancelled; case: success, failed, cancelled (not run,
because the pipeline was cancelled before it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from delivery.records import Attempt

RUNNING, SUCCESS, FAILED, CANCELLED = "running", "success", "failed", "cancelled"
#: Finding levels: an error fails the run, a warning does not.
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    """Something the preflight (or the run as a whole) found, for people: ``endpoint missing:
    /bet/settle``, ``success came back as 201 ...``."""

    level: str
    text: str

    def as_dict(self) -> dict:
        return {"level": self.level, "text": self.text}


@dataclass
class StepResult:
    """One request of a run: what was sent, what came back, and the judgement. ``passed`` is
    None for cleanup steps (sent, not judged)."""

    position: int
    label: str
    destination: str
    bet_id: str
    request_id: str
    expected: str
    passed: bool | None
    message: str | None
    request: dict
    response: dict
    cleanup: bool = False
    attempt: Attempt | None = field(default=None, repr=False, compare=False)


@dataclass
class CaseResult:
    """One case of a run. ``status`` is success, failed or cancelled (not run)."""

    number: int
    group: str
    name: str
    checks: str
    status: str
    steps_planned: int
    steps: list[StepResult] = field(default_factory=list)
    failed_step: int | None = None
    message: str | None = None
    duration_ms: float = 0.0


@dataclass
class RunResult:
    """A pipeline run. ``status`` is running, success, failed or cancelled (``reason`` says why)."""

    base_url: str
    status: str
    started_at: datetime
    triggered_by: str = ""
    cases: list[CaseResult] = field(default_factory=list)
    reason: str | None = None
    #: The preflight's requests in order: heartbeat, presence checks, balance probe (and the
    #: decline of a probe the platform wrongly accepted).
    preflight: list[StepResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    finished_at: datetime | None = None
    duration_ms: float | None = None
    run_id: int | None = None
    timeout_s: float | None = None
    #: The brand's name, on a run read back from the store.
    brand: str | None = None

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.status == SUCCESS)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.cases if c.status == FAILED)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == WARNING]
