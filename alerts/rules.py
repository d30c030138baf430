"""Alert rules and their evaluation (pure).

Five kinds of rule, each per brand with a default every brand follows:

``failure_rate``    more than ``threshold`` % of the bet callbacks' attempts finished in the
                    last ``window_s`` failed (failed, exhausted or unknown; a supported
                    rejection is an answer), counted once at least :data:`MIN_ATTEMPTS` finished
``oldest_pending``  the oldest undelivered callback has waited more than ``threshold`` seconds
``exhausted``       more than ``threshold`` callbacks ran out of retries in the last ``window_s``
                    (the default 0: any exhausted callback)
``money_at_risk``   money at risk above ``threshold`` in any one currency (see
                    :mod:`health.money`; amounts in different currencies are never added)
``heartbeat_failure_rate``
                    more than ``threshold`` % of the heartbeats finished in the last
                    ``window_s`` did not keep their player session alive (failed, no answer,
                    or refused; ``auth_session_unknown`` ends the session and is an answer),
                    counted once at least :data:`MIN_ATTEMPTS` finished

A brand's own rule wins over the default rule (``brand_id`` NULL), which wins over
:data:`BUILT_IN`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from health.figures import BrandNow
from health.money import format_money
from health.state import duration

FAILURE_RATE, OLDEST_PENDING, EXHAUSTED, MONEY_AT_RISK, HEARTBEAT_FAILURE_RATE = (
    "failure_rate", "oldest_pending", "exhausted", "money_at_risk", "heartbeat_failure_rate")
KINDS = (FAILURE_RATE, OLDEST_PENDING, EXHAUSTED, MONEY_AT_RISK, HEARTBEAT_FAILURE_RATE)
#: Kinds whose rule has a time window.
WINDOWED = (FAILURE_RATE, EXHAUSTED, HEARTBEAT_FAILURE_RATE)
#: Kinds whose threshold is a percentage.
PERCENT = (FAILURE_RATE, HEARTBEAT_FAILURE_RATE)
#: A failure rate is judged only over at least this many finished attempts (or heartbeats).
MIN_ATTEMPTS = 5

#: What each kind means, for lists and help.
DESCRIPTIONS = {
    FAILURE_RATE: "failure rate above X % over N minutes",
    OLDEST_PENDING: "oldest undelivered callback waiting longer than T",
    EXHAUSTED: "exhausted callbacks over N minutes above X (0: any)",
    MONEY_AT_RISK: "money at risk above M in any one currency",
    HEARTBEAT_FAILURE_RATE: "heartbeat failure rate above X % over N minutes",
}


@dataclass(frozen=True)
class Rule:
    kind: str
    threshold: Decimal
    window_s: int | None = None
    enabled: bool = True
    source: str = "built-in"   # built-in, default or brand

    def threshold_label(self) -> str:
        if self.kind in PERCENT:
            return f"{_plain(self.threshold)} %"
        if self.kind == OLDEST_PENDING:
            return duration(float(self.threshold))
        return _plain(self.threshold)

    def window_label(self) -> str:
        return duration(self.window_s) if self.window_s else ""

    def describe(self) -> str:
        window = f" over {self.window_label()}" if self.window_s else ""
        text = {FAILURE_RATE: f"failure rate above {self.threshold_label()}{window}",
                OLDEST_PENDING: f"oldest pending above {self.threshold_label()}",
                EXHAUSTED: (f"any exhausted callback{window}" if self.threshold == 0 else
                            f"more than {self.threshold_label()} exhausted{window}"),
                MONEY_AT_RISK: f"money at risk above {self.threshold_label()} in a currency",
                HEARTBEAT_FAILURE_RATE: (f"heartbeat failure rate above "
                                         f"{self.threshold_label()}{window}"),
                }[self.kind]
        return text if self.enabled else f"{text} (off)"


#: The rules every brand follows until a default or brand rule says otherwise.
BUILT_IN: dict[str, Rule] = {
    FAILURE_RATE: Rule(FAILURE_RATE, Decimal(25), 10 * 60),
    OLDEST_PENDING: Rule(OLDEST_PENDING, Decimal(15 * 60)),
    EXHAUSTED: Rule(EXHAUSTED, Decimal(0), 60 * 60),
    MONEY_AT_RISK: Rule(MONEY_AT_RISK, Decimal(1000)),
    HEARTBEAT_FAILURE_RATE: Rule(HEARTBEAT_FAILURE_RATE, Decimal(25), 10 * 60),
}


def effective(rows: Iterable[Mapping], brand_id: int) -> dict[str, Rule]:
    """The rules one brand follows: rows are ``alert_rules`` rows (``brand_id`` None for the
    defaults)."""
    rules = dict(BUILT_IN)
    rows = list(rows)
    for wanted, source in ((None, "default"), (brand_id, "brand")):
        for row in rows:
            if row["brand_id"] == wanted and row["kind"] in rules:
                base = BUILT_IN[row["kind"]]
                window = row.get("window_s")
                rules[row["kind"]] = Rule(
                    row["kind"], Decimal(row["threshold"]),
                    (window or base.window_s) if row["kind"] in WINDOWED else None,
                    bool(row.get("enabled", True)), source)
    return rules


@dataclass(frozen=True)
class Reading:
    """A rule's reading of the figures: broken or not, the value and what it says."""

    kind: str
    broken: bool
    value: str
    threshold: str
    message: str
    details: dict = field(default_factory=dict)


def evaluate(rules: Mapping[str, Rule], figures: BrandNow) -> dict[str, Reading]:
    """Each enabled rule's reading for one brand's figures (a disabled rule reads not broken).
    The figures must be read with each windowed rule's window (see :func:`windows`)."""
    readings = {}
    for kind, rule in rules.items():
        reading = _READERS[kind](rule, figures)
        if not rule.enabled:
            reading = Reading(kind, False, reading.value, reading.threshold,
                              reading.message + " (rule off)", reading.details)
        readings[kind] = reading
    return readings


def windows(rules_by_brand: Mapping[int, Mapping[str, Rule]]) -> dict[str, dict[int, int]]:
    """The per-brand windows :func:`health.figures.read_now` needs for these rules."""
    return {"rate_windows_s": {b: r[FAILURE_RATE].window_s for b, r in rules_by_brand.items()},
            "exhausted_windows_s": {b: r[EXHAUSTED].window_s
                                    for b, r in rules_by_brand.items()},
            "heartbeat_windows_s": {b: r[HEARTBEAT_FAILURE_RATE].window_s
                                    for b, r in rules_by_brand.items()}}


def transitions(firing: Iterable[str], readings: Mapping[str, Reading]
                ) -> tuple[list[Reading], list[Reading]]:
    """``(to_fire, to_resolve)``: rules broken now that were not firing, and firing rules no
    longer broken. A rule that stays broken is in neither: it notified when it started."""
    firing = set(firing)
    to_fire = [r for k, r in readings.items() if r.broken and k not in firing]
    to_resolve = [r for k, r in readings.items() if not r.broken and k in firing]
    return to_fire, to_resolve


# --- one reader per kind ----------------------------------------------------------------------

def _failure_rate(rule: Rule, f: BrandNow) -> Reading:
    window = duration(f.rate_window_s)
    rate = f.rate_failure
    value = "—" if rate is None else f"{rate * 100:.1f} %"
    broken = (f.rate_finished >= MIN_ATTEMPTS and rate is not None
              and Decimal(str(rate * 100)) > rule.threshold)
    if f.rate_finished < MIN_ATTEMPTS:
        message = (f"{f.rate_finished} attempt(s) finished in the last {window} "
                   f"(a rate is judged from {MIN_ATTEMPTS})")
    else:
        message = (f"failure rate {value} over the last {window}: {f.rate_failed} of "
                   f"{f.rate_finished} attempts failed (threshold {rule.threshold_label()})")
    return Reading(FAILURE_RATE, broken, value, rule.threshold_label(), message,
                   {"failed": f.rate_failed, "finished": f.rate_finished,
                    "window_s": f.rate_window_s})


def _oldest_pending(rule: Rule, f: BrandNow) -> Reading:
    age = f.oldest_pending_age_s
    broken = age is not None and Decimal(str(age)) > rule.threshold
    message = ("no undelivered callbacks" if age is None else
               f"oldest undelivered callback waiting {duration(age)} ({f.backlog} undelivered, "
               f"threshold {rule.threshold_label()})")
    return Reading(OLDEST_PENDING, broken, duration(age), rule.threshold_label(), message,
                   {"oldest_pending_age_s": age, "backlog": f.backlog})


def _exhausted(rule: Rule, f: BrandNow) -> Reading:
    count = f.window_exhausted
    broken = Decimal(count) > rule.threshold
    message = (f"{count} callback(s) ran out of retries in the last "
               f"{duration(f.exhausted_window_s)}")
    return Reading(EXHAUSTED, broken, str(count), rule.threshold_label(), message,
                   {"exhausted": count, "window_s": f.exhausted_window_s})


def _money_at_risk(rule: Rule, f: BrandNow) -> Reading:
    over = [r for r in f.money.currencies() if r.total > rule.threshold]
    largest = f.money.largest()
    value = "none" if largest is None else format_money(largest.total, largest.currency)
    if over:
        message = (f"money at risk {', '.join(format_money(r.total, r.currency) for r in over)}"
                   f" (threshold {rule.threshold_label()} in any one currency): "
                   + "; ".join(f"{format_money(r.held, r.currency)} of stakes possibly held, "
                               f"{format_money(r.owed, r.currency)} owed to players"
                               for r in over))
    else:
        message = f"money at risk {f.money.label()}"
    details = {r.currency or "": {"held": str(r.held), "owed": str(r.owed),
                                  "exhausted": str(r.exhausted), "callbacks": r.callbacks}
               for r in f.money.currencies()}
    return Reading(MONEY_AT_RISK, bool(over), value, rule.threshold_label(), message,
                   {"by_currency": details})


def _heartbeat_failure_rate(rule: Rule, f: BrandNow) -> Reading:
    window = duration(f.heartbeat_window_s)
    rate = f.heartbeat_failure
    value = "—" if rate is None else f"{rate * 100:.1f} %"
    enough = f.heartbeats_finished >= MIN_ATTEMPTS
    broken = enough and rate is not None and Decimal(str(rate * 100)) > rule.threshold
    if not enough:
        message = (f"{f.heartbeats_finished} heartbeat(s) finished in the last {window} "
                   f"(a rate is judged from {MIN_ATTEMPTS})")
    else:
        message = (f"heartbeat failure rate {value} over the last {window}: "
                   f"{f.heartbeats_failed} of {f.heartbeats_finished} heartbeats did not keep "
                   f"their player session alive (threshold {rule.threshold_label()}); the "
                   "platform may log those players out")
    return Reading(HEARTBEAT_FAILURE_RATE, broken, value, rule.threshold_label(), message,
                   {"failed": f.heartbeats_failed, "finished": f.heartbeats_finished,
                    "window_s": f.heartbeat_window_s})


_READERS = {FAILURE_RATE: _failure_rate, OLDEST_PENDING: _oldest_pending,
            EXHAUSTED: _exhausted, MONEY_AT_RISK: _money_at_risk,
            HEARTBEAT_FAILURE_RATE: _heartbeat_failure_rate}


def _plain(number: Decimal) -> str:
    text = f"{number.normalize():f}"
    return text
