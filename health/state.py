"""Is a brand's platform healthy, degraded or down? (pure)

Decided from the last :data:`RECENT_WINDOW_S` of attempts and from the queue:

``down``
    At least :data:`DOWN_MIN_ATTEMPTS` attempts finished recently and none of them got an
    answer (neither delivered nor a supported rejection): the platform is not answering.
``degraded``
    Some recent attempts failed (at least :data:`DEGRADED_MIN_FAILURES`, and at least
    :data:`DEGRADED_FAILURE_RATE` of them), or the oldest undelivered callback has waited over
    :data:`DEGRADED_OLDEST_PENDING_S`, or callbacks ran out of retries in the last
    :data:`RECENT_EXHAUSTED_WINDOW_S`, or callbacks wait for a retry while nothing was answered
    recently.
``healthy``
    Anything else — including a brand with no traffic at all.

Integration Test traffic is never counted: its errors are on purpose.
"""
from __future__ import annotations

from dataclasses import dataclass

HEALTHY, DEGRADED, DOWN = "healthy", "degraded", "down"
STATES = (HEALTHY, DEGRADED, DOWN)

#: How far back "recent attempts" reach.
RECENT_WINDOW_S = 15 * 60
#: A brand is down when this many recent attempts finished and none was answered.
DOWN_MIN_ATTEMPTS = 3
#: Degraded from this share of failed recent attempts...
DEGRADED_FAILURE_RATE = 0.10
#: ...when at least this many failed (one timeout in two attempts is not a trend).
DEGRADED_MIN_FAILURES = 2
#: Degraded when the oldest undelivered callback has waited longer than this.
DEGRADED_OLDEST_PENDING_S = 5 * 60
#: Degraded when a callback was exhausted this recently.
RECENT_EXHAUSTED_WINDOW_S = 60 * 60


@dataclass(frozen=True)
class Recent:
    """What the classification looks at: recent attempts and the queue now."""

    finished: int = 0          # attempts with a recorded outcome in the recent window
    failed: int = 0            # of those: failed, exhausted or unknown
    retrying: int = 0          # undelivered callbacks whose tries have failed so far
    oldest_pending_age_s: float | None = None
    exhausted: int = 0         # callbacks exhausted in the last RECENT_EXHAUSTED_WINDOW_S

    @property
    def answered(self) -> int:
        return self.finished - self.failed

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


@dataclass(frozen=True)
class Verdict:
    state: str
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "answering normally"


def classify(recent: Recent) -> Verdict:
    """The brand's state and why, from recent attempts and the queue."""
    minutes = RECENT_WINDOW_S // 60
    if recent.finished >= DOWN_MIN_ATTEMPTS and recent.answered == 0:
        return Verdict(DOWN, (f"none of the last {recent.finished} attempts in {minutes} min "
                              "was answered",))
    reasons = []
    rate = recent.failure_rate
    if rate is not None and recent.failed >= DEGRADED_MIN_FAILURES \
            and rate >= DEGRADED_FAILURE_RATE:
        reasons.append(f"{recent.failed} of {recent.finished} attempts in {minutes} min failed "
                       f"({rate:.0%})")
    if recent.oldest_pending_age_s is not None \
            and recent.oldest_pending_age_s > DEGRADED_OLDEST_PENDING_S:
        reasons.append("oldest undelivered callback waiting "
                       f"{duration(recent.oldest_pending_age_s)}")
    if recent.exhausted:
        reasons.append(f"{recent.exhausted} callback(s) exhausted in the last "
                       f"{RECENT_EXHAUSTED_WINDOW_S // 60} min")
    if recent.finished == 0 and recent.retrying:
        reasons.append(f"no answer in {minutes} min; {recent.retrying} callback(s) waiting "
                       "for a retry")
    return Verdict(DEGRADED if reasons else HEALTHY, tuple(reasons))


def duration(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(seconds // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
