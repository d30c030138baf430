"""Alert rules and their evaluation (pure).

Five kinds of rule, each per brand with a default every brand follows:

``failure_rate``    more than ``threshold`` % of the bet callbacks' attempts finished in the
                    last ``window_s`` failed (failed, exhausted or unknown; a supported
                    rejection is an answer), judged over at least ``min_attempts`` finished
                    (default :data:`MIN_ATTEMPTS`)
``oldest_pending``  the oldest undelivered callback has waited more than ``threshold`` seconds
``exhausted``       more than ``threshold`` callbacks ran out of retries in the last ``window_s``
                    (the default 0: any exhausted callback)
``money_at_risk``   money at risk above ``threshold`` in any one currency (see
                    :mod:`health.money`; amounts in different currencies are never added)
``heartbeat_failure_rate``
                    more than ``threshold`` % of the heartbeats finished in the last
                    ``window_s`` did not keep their player session alive (failed, no answer,
                    or refused; ``auth_session_unknown`` ends the session and is an answer),
                    judged over at least ``min_attempts`` finished

A brand's own rule wins over the default rule (``brand_id`` NULL), which wins over
:data:`BUILT_IN`.

Hysteresis, so that a figure hovering around a threshold does not page anyone every minute
(:func:`decide`): a rule fires above its threshold but resolves only once its figure has stayed
at or below the lower ``resolve_threshold`` (default :data:`RESOLVE_RATIO` of the threshold) for
``quiet_s``; a rule that fired :data:`FLAPPING_FIRES` times within :data:`FLAPPING_WINDOW_S` is
flapping: one "flapping" notification, then nothing until it settles.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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
#: A failure rate is judged only over at least this many finished attempts (or heartbeats),
#: unless the rule says otherwise: a handful of attempts makes any rate noise.
MIN_ATTEMPTS = 20
#: A firing rule resolves at or below this share of its threshold, unless the rule says.
RESOLVE_RATIO = Decimal("0.8")
#: How long a firing rule's figure must stay at or below its resolve threshold to resolve.
QUIET_S = 5 * 60
#: A rule that fired this many times ...
FLAPPING_FIRES = 3
#: ... within this many seconds is flapping.
FLAPPING_WINDOW_S = 60 * 60

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
    #: Resolves at or below this (None: :data:`RESOLVE_RATIO` of the threshold).
    resolve_below: Decimal | None = None
    #: ... after staying there this long.
    quiet_s: int = QUIET_S
    #: Failure rates only: judged over at least this many finished attempts.
    min_attempts: int = MIN_ATTEMPTS

    @property
    def resolve_threshold(self) -> Decimal:
        """The figure a firing rule must stay at or below (for ``quiet_s``) to resolve."""
        if self.resolve_below is not None:
            return self.resolve_below
        return self.threshold * RESOLVE_RATIO

    def threshold_label(self) -> str:
        return self._label(self.threshold)

    def resolve_label(self) -> str:
        return self._label(self.resolve_threshold)

    def _label(self, number: Decimal) -> str:
        if self.kind in PERCENT:
            return f"{_plain(number)} %"
        if self.kind == OLDEST_PENDING:
            return duration(float(number))
        return _plain(number)

    def resolves(self) -> str:
        """When a firing rule resolves, and what it needs to fire at all, in words."""
        quiet = f" for {duration(self.quiet_s)}" if self.quiet_s else ""
        text = f"at or below {self.resolve_label()}{quiet}"
        if self.kind in PERCENT:
            text += f"; judged from {self.min_attempts} attempts"
        return text

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
                resolve_below = row.get("resolve_below")
                quiet_s, min_attempts = row.get("quiet_s"), row.get("min_attempts")
                rules[row["kind"]] = Rule(
                    row["kind"], Decimal(row["threshold"]),
                    (window or base.window_s) if row["kind"] in WINDOWED else None,
                    bool(row.get("enabled", True)), source,
                    None if resolve_below is None else Decimal(resolve_below),
                    base.quiet_s if quiet_s is None else int(quiet_s),
                    base.min_attempts if min_attempts is None else int(min_attempts))
    return rules


@dataclass(frozen=True)
class Reading:
    """A rule's reading of the figures: broken or not, the value and what it says.
    ``cleared``: at or below the rule's resolve threshold (or too few attempts to judge), what
    a firing rule must stay for its quiet period to resolve."""

    kind: str
    broken: bool
    value: str
    threshold: str
    message: str
    details: dict = field(default_factory=dict)
    cleared: bool = True


def evaluate(rules: Mapping[str, Rule], figures: BrandNow) -> dict[str, Reading]:
    """Each enabled rule's reading for one brand's figures (a disabled rule reads not broken).
    The figures must be read with each windowed rule's window (see :func:`windows`)."""
    readings = {}
    for kind, rule in rules.items():
        reading = _READERS[kind](rule, figures)
        if not rule.enabled:
            reading = Reading(kind, False, reading.value, reading.threshold,
                              reading.message + " (rule off)", reading.details, True)
        readings[kind] = reading
    return readings


def windows(rules_by_brand: Mapping[int, Mapping[str, Rule]]) -> dict[str, dict[int, int]]:
    """The per-brand windows :func:`health.figures.read_now` needs for these rules."""
    return {"rate_windows_s": {b: r[FAILURE_RATE].window_s for b, r in rules_by_brand.items()},
            "exhausted_windows_s": {b: r[EXHAUSTED].window_s
                                    for b, r in rules_by_brand.items()},
            "heartbeat_windows_s": {b: r[HEARTBEAT_FAILURE_RATE].window_s
                                    for b, r in rules_by_brand.items()}}


FIRING, RESOLVED, FLAPPING = "firing", "resolved", "flapping"


@dataclass(frozen=True)
class State:
    """What is remembered of one brand's rule between evaluations."""

    #: Firing since (None: not firing).
    firing_since: datetime | None = None
    #: Firing, and its figure has been at or below the resolve threshold since.
    clear_since: datetime | None = None
    #: A "flapping" notification went out and it has not settled yet.
    flapping: bool = False
    #: Times it started firing within the last :data:`FLAPPING_WINDOW_S`.
    recent_fires: int = 0


@dataclass(frozen=True)
class Decision:
    """What one evaluation does with one rule of a brand."""

    #: The event to record: FIRING, RESOLVED or None.
    event: str | None
    #: What its notification says: FIRING, FLAPPING, RESOLVED, or None (none sent).
    notify: str | None
    #: The state to remember.
    state: State
    #: The event is a flapping rule's (marked so in the history).
    flapping: bool = False
    #: RESOLVED sent because a flapping rule settled (its resolution went unsent).
    settled: bool = False


def decide(rule: Rule, reading: Reading, state: State, now: datetime) -> Decision:
    """What one evaluation does with a rule of a brand, from its reading and what was
    remembered.

    Not firing: it fires when the reading is broken; firing: it resolves once the reading has
    been cleared (at or below the resolve threshold) for ``rule.quiet_s`` without a break — a
    reading above the resolve threshold starts that wait again. A fire that is the
    :data:`FLAPPING_FIRES`-th within :data:`FLAPPING_WINDOW_S` sends one FLAPPING notification;
    later fires and resolutions send nothing until fewer fires than that are that recent (it
    settled): then a resolved rule sends RESOLVED once.
    """
    if state.firing_since is None:
        if reading.broken:
            fires = state.recent_fires + 1
            flapping = fires >= FLAPPING_FIRES
            notify = FIRING if not flapping else None if state.flapping else FLAPPING
            return Decision(FIRING, notify, State(now, None, flapping, fires), flapping)
        if state.flapping and state.recent_fires < FLAPPING_FIRES:
            return Decision(RESOLVED, RESOLVED, State(recent_fires=state.recent_fires),
                            settled=True)
        return Decision(None, None, state)
    flapping = state.flapping and state.recent_fires >= FLAPPING_FIRES
    clear_since = (state.clear_since or now) if reading.cleared else None
    if clear_since is not None and (now - clear_since).total_seconds() >= rule.quiet_s:
        return Decision(RESOLVED, None if flapping else RESOLVED,
                        State(None, None, flapping, state.recent_fires), state.flapping)
    return Decision(None, None, State(state.firing_since, clear_since, flapping,
                                      state.recent_fires))


# --- one reader per kind ----------------------------------------------------------------------

def _failure_rate(rule: Rule, f: BrandNow) -> Reading:
    window = duration(f.rate_window_s)
    rate = f.rate_failure
    value = "—" if rate is None else f"{rate * 100:.1f} %"
    enough = f.rate_finished >= rule.min_attempts and rate is not None
    percent = Decimal(str(rate * 100)) if rate is not None else Decimal(0)
    broken = enough and percent > rule.threshold
    if f.rate_finished < rule.min_attempts:
        message = (f"{f.rate_finished} attempt(s) finished in the last {window} "
                   f"(a rate is judged from {rule.min_attempts})")
    else:
        message = (f"failure rate {value} over the last {window}: {f.rate_failed} of "
                   f"{f.rate_finished} attempts failed (threshold {rule.threshold_label()})")
    return Reading(FAILURE_RATE, broken, value, rule.threshold_label(), message,
                   {"failed": f.rate_failed, "finished": f.rate_finished,
                    "window_s": f.rate_window_s},
                   not enough or percent <= rule.resolve_threshold)


def _oldest_pending(rule: Rule, f: BrandNow) -> Reading:
    age = f.oldest_pending_age_s
    broken = age is not None and Decimal(str(age)) > rule.threshold
    message = ("no undelivered callbacks" if age is None else
               f"oldest undelivered callback waiting {duration(age)} ({f.backlog} undelivered, "
               f"threshold {rule.threshold_label()})")
    return Reading(OLDEST_PENDING, broken, duration(age), rule.threshold_label(), message,
                   {"oldest_pending_age_s": age, "backlog": f.backlog},
                   age is None or Decimal(str(age)) <= rule.resolve_threshold)


def _exhausted(rule: Rule, f: BrandNow) -> Reading:
    count = f.window_exhausted
    broken = Decimal(count) > rule.threshold
    message = (f"{count} callback(s) ran out of retries in the last "
               f"{duration(f.exhausted_window_s)}")
    return Reading(EXHAUSTED, broken, str(count), rule.threshold_label(), message,
                   {"exhausted": count, "window_s": f.exhausted_window_s},
                   Decimal(count) <= rule.resolve_threshold)


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
    cleared = all(r.total <= rule.resolve_threshold for r in f.money.currencies())
    return Reading(MONEY_AT_RISK, bool(over), value, rule.threshold_label(), message,
                   {"by_currency": details}, cleared)


def _heartbeat_failure_rate(rule: Rule, f: BrandNow) -> Reading:
    window = duration(f.heartbeat_window_s)
    rate = f.heartbeat_failure
    value = "—" if rate is None else f"{rate * 100:.1f} %"
    enough = f.heartbeats_finished >= rule.min_attempts and rate is not None
    percent = Decimal(str(rate * 100)) if rate is not None else Decimal(0)
    broken = enough and percent > rule.threshold
    if not enough:
        message = (f"{f.heartbeats_finished} heartbeat(s) finished in the last {window} "
                   f"(a rate is judged from {rule.min_attempts})")
    else:
        message = (f"heartbeat failure rate {value} over the last {window}: "
                   f"{f.heartbeats_failed} of {f.heartbeats_finished} heartbeats did not keep "
                   f"their player session alive (threshold {rule.threshold_label()}); the "
                   "platform may log those players out")
    return Reading(HEARTBEAT_FAILURE_RATE, broken, value, rule.threshold_label(), message,
                   {"failed": f.heartbeats_failed, "finished": f.heartbeats_finished,
                    "window_s": f.heartbeat_window_s},
                   not enough or percent <= rule.resolve_threshold)


_READERS = {FAILURE_RATE: _failure_rate, OLDEST_PENDING: _oldest_pending,
            EXHAUSTED: _exhausted, MONEY_AT_RISK: _money_at_risk,
            HEARTBEAT_FAILURE_RATE: _heartbeat_failure_rate}


def _plain(number: Decimal) -> str:
    text = f"{number.normalize():f}"
    return text
