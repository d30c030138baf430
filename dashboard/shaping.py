"""Pure functions that turn rows into what people read: times in their zone, bet labels,
answer classes, keyset cursors, latency percentiles. (What they type is :mod:`.filters`.)

Nothing here touches Streamlit or the database, so each rule is tested with plain values.
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from delivery.records import OPEN_STATES, AttemptOutcome, CallbackState
from health.money import shown_amount

from .filters import ANY_TIME, format_group_ids

# --- time -----------------------------------------------------------------------------------

#: Bar widths a time chart offers, finest first, with how each is named on axes and menus.
CHART_BUCKETS: dict[timedelta, str] = {
    timedelta(minutes=1): "minute", timedelta(minutes=5): "5 min",
    timedelta(minutes=15): "15 min", timedelta(hours=1): "hour", timedelta(hours=6): "6 h",
    timedelta(days=1): "day"}
#: Most bars a time chart offers to draw (the automatic choice for a long custom window may
#: draw more: a day is the widest bar).
MAX_BARS = 300
#: Longest window bars under an hour are offered for (a day, with room for the minute a preset
#: window reaches past now): they are counted from the attempts themselves, while wider bars
#: read the hourly rollups.
FINE_SPAN = timedelta(hours=25)
#: The automatic bar width: the widest window each width is chosen for.
_AUTO_BUCKETS = ((timedelta(hours=2), timedelta(minutes=1)),
                 (timedelta(hours=12), timedelta(minutes=5)),
                 (timedelta(days=3), timedelta(hours=1)),
                 (timedelta(days=14), timedelta(hours=6)))


def chart_bucket(span: timedelta) -> timedelta:
    """Bar width for a chart covering ``span``: about 30–150 bars, never finer than a minute;
    a minute up to 2 hours, 5 minutes up to 12."""
    for limit, bucket in _AUTO_BUCKETS:
        if span <= limit:
            return bucket
    return timedelta(days=1)


def chart_buckets(span: timedelta) -> list[timedelta]:
    """The bar widths worth offering for a chart covering ``span``, finest first: at most
    :data:`MAX_BARS` bars and at least two, under an hour only up to :data:`FINE_SPAN`
    (those read every attempt of the window). The automatic width is always among them."""
    offered = [b for b in CHART_BUCKETS
               if span / b <= MAX_BARS and span / b >= 2
               and (b >= timedelta(hours=1) or span <= FINE_SPAN)]
    auto = chart_bucket(span)
    return sorted(set(offered) | {auto})


def to_zone(value: datetime | None, zone) -> datetime | None:
    """A stored UTC time in the viewer's zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def format_time(value: datetime | None, zone, *, seconds: bool = True) -> str:
    """``2026-11-23 14:05:09`` in the viewer's zone, or an empty string."""
    local = to_zone(value, zone)
    if local is None:
        return ""
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def relative(value: datetime | None, now: datetime) -> str:
    """``in 4 min`` / ``12 s ago`` / ``now``."""
    if value is None:
        return ""
    delta = (value - now).total_seconds()
    size = abs(delta)
    if size < 1:
        return "now"
    for unit, seconds in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if size >= seconds:
            amount = f"{size / seconds:.0f} {unit}"
            break
    return f"in {amount}" if delta > 0 else f"{amount} ago"


# --- bets -----------------------------------------------------------------------------------

def bet_type_label(bet_type: int | None, legs: int, system_sizes: list[int] | None) -> str:
    """``S`` for a single, ``E3`` for a three-leg express, ``Sy2/3`` for a 2-of-3 system."""
    if bet_type == 1:
        return "S"
    if bet_type == 2:
        return f"E{legs}"
    if bet_type == 3:
        sizes = ",".join(str(s) for s in (system_sizes or [])) or "?"
        return f"Sy{sizes}/{legs}"
    return ""


def odds_label(bet_type: int | None, odds: list[dict] | None) -> str:
    """Total odds of a single or express (legs multiplied); a system lists its legs."""
    ratios = []
    for leg in odds or []:
        try:
            ratios.append(Decimal(str(leg.get("odd_ratio"))))
        except (InvalidOperation, AttributeError):
            return ""
    if not ratios:
        return ""
    if bet_type == 3:
        return " · ".join(f"{r:.2f}" for r in ratios)
    total = Decimal(1)
    for r in ratios:
        total *= r
    return f"{total:.2f}"


def stake_label(stake, currency: str | None = None) -> str:
    """A stake in its currency's minor units (``5.50``, ``EUR 5.50``, ``JPY 550``); text that
    is not a number is shown as it is."""
    if stake is None:
        return ""
    try:
        amount = Decimal(str(stake))
    except InvalidOperation:
        return str(stake)
    if not amount.is_finite():
        return str(stake)
    shown = shown_amount(amount, currency)
    return f"{currency} {shown}" if currency else shown


def all_time_note(bet_ids: tuple[str, ...] | list[str], found: int) -> str:
    """What the Bets list says when searched by exact Bet IDs: the whole history was searched,
    whatever the Created window says."""
    what = "this Bet ID" if len(bet_ids) == 1 else f"{len(bet_ids)} Bet IDs"
    return (f"Searched all time for {what} (archive included); the Created window does not "
            f"apply to an exact Bet ID. Found {found}.")


def callback_trouble(callbacks: int | None, troubled: int | None, last_state: str | None,
                     last_status: int | None) -> str:
    """How a bet's callbacks went, in a table cell: ``✓ delivered``, ``⚠ delivered after
    retries``, ``⚠ retrying · HTTP 503``, ``✗ gave up · no response``, ``✗ rejected · HTTP 400``,
    ``queued`` (none tried yet) or ``—`` (no callbacks)."""
    if not callbacks:
        return "—"
    if last_state is None:
        return "queued"
    answer = f"HTTP {last_status}" if last_status else "no response"
    if last_state == CallbackState.REJECTED:
        return f"✗ rejected · {answer}"
    if last_state == CallbackState.EXHAUSTED:
        return f"✗ gave up · {answer}"
    if last_state in OPEN_STATES:
        return f"⚠ retrying · {answer}"
    if last_state == CallbackState.DELIVERED:
        return "⚠ delivered after retries" if troubled else "✓ delivered"
    return last_state


# --- responses ------------------------------------------------------------------------------

#: Outcomes of an attempt, in the order filters offer them. ``sending``: the row was written
#: before the request went out and no answer is recorded yet; ``unknown``: the worker stopped
#: before recording the answer, so the platform may or may not have received the request.
OUTCOMES = tuple(o.value for o in (
    AttemptOutcome.DELIVERED, AttemptOutcome.REJECTED, AttemptOutcome.FAILED,
    AttemptOutcome.EXHAUSTED, AttemptOutcome.SENDING, AttemptOutcome.UNKNOWN))
SENDING, UNKNOWN = AttemptOutcome.SENDING, AttemptOutcome.UNKNOWN
#: Outcomes without a measured answer: no status, and a duration that is not the platform's.
UNANSWERED = (SENDING, UNKNOWN)

#: Chart categories of an attempt's answer, in legend order. ``unknown`` and ``sending`` have no
#: status, so they are classes of their own, never a 2xx/4xx/5xx or a timeout.
ANSWER_CLASSES = ("2xx", "3xx", "4xx supported", "4xx other", "5xx", "timeout",
                  "no connection", "unknown", "sending")

#: What the worker's sweeper says about an attempt it closed as unknown, when the row lacks it.
UNKNOWN_DETAIL = "the worker stopped before recording the answer"
#: The Response error of an attempt whose request is still out.
SENDING_ERROR = "sending… (no answer recorded yet)"


def answer_class(status: int | None, outcome: str | None, error_class: str | None) -> str:
    """The chart category of one attempt's answer.

    A 400 with a code the destination supports is a normal business answer (``4xx supported``);
    any other 4xx is something the platform should not have said (``4xx other``). An attempt
    still being sent, or whose answer was never recorded, is ``sending`` / ``unknown``.
    """
    if outcome in UNANSWERED:
        return outcome
    if status is None:
        return "timeout" if error_class == "timeout" else "no connection"
    if 200 <= status < 300:
        return "2xx"
    if 300 <= status < 400:
        return "3xx"
    if 400 <= status < 500:
        return "4xx supported" if outcome == AttemptOutcome.REJECTED else "4xx other"
    return "5xx"


def response_error(error_class: str | None, error_code: str | None,
                   error_detail: str | None, outcome: str | None = None) -> str:
    """The seed's "Response error" column: what went wrong, in one line."""
    if outcome == SENDING:
        return SENDING_ERROR
    if outcome == UNKNOWN:
        return f"outcome unknown: {error_detail or UNKNOWN_DETAIL}"
    if outcome == AttemptOutcome.REJECTED:
        return f"supported: {error_code}" if error_code else "supported error"
    if not error_class:
        return ""
    detail = error_detail or ""
    return f"{error_class}: {detail}" if detail else error_class


#: What an attempt that got no HTTP answer shows as its response code, by error class.
NO_ANSWER = {"timeout": "timeout", "connect": "connection error", "tls": "TLS error",
             "protocol": "protocol error"}


def response_code_label(status: int | None, outcome: str | None,
                        error_class: str | None) -> str:
    """The seed's "Response code" cell: the HTTP status, or why there is none — ``— (timeout)``,
    ``— (connection error)``, ``— (sending)`` for a request still out, ``— (not recorded)``
    when the worker stopped before recording the answer."""
    if status is not None:
        return str(status)
    if outcome == SENDING:
        return "— (sending)"
    if outcome == UNKNOWN:
        return "— (not recorded)"
    return f"— ({NO_ANSWER.get(error_class or '', error_class or 'no response')})"


def measured_ms(duration_ms: float | None, outcome: str | None) -> float | None:
    """How long the platform took, or None: a request still out has no duration yet, and an
    unknown one's duration is only how long its row stayed open."""
    if duration_ms is None or outcome in UNANSWERED:
        return None
    return duration_ms


def attempts_label(attempt_no: int, callback_attempts: int | None) -> str:
    """``2 of 3``: this attempt's number of the callback's attempts so far (an attempt still
    being sent may not be counted on its callback yet)."""
    return f"{attempt_no} of {max(attempt_no, callback_attempts or 0)}"


def pretty_json(text: str | None) -> tuple[str, str]:
    """``(body, language)``: JSON bodies indented, anything else as it came."""
    if text is None or text == "":
        return "null", "json"
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False), "json"
    except (ValueError, TypeError):
        return text, "text"


# --- keyset pagination ----------------------------------------------------------------------

def encode_cursor(values: list) -> str:
    """The last row's sort key as a short URL-safe token."""
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else str(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


#: Longest cursor token a page accepts (a real one is under 200 characters).
MAX_CURSOR_CHARS = 1_000


def decode_cursor(token: str | None, kinds: tuple[str, ...]) -> list[str] | None:
    """The sort key in a cursor token, or None for the first page (or a mangled token).

    ``kinds`` names each value's type — ``time`` (ISO 8601), ``uuid`` or ``text`` — and a token
    whose values are not of those types is mangled too, so it never reaches a query."""
    if not token or len(token) > MAX_CURSOR_CHARS:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(values, list) or len(values) != len(kinds):
        return None
    values = [str(v) for v in values]
    return values if all(map(_is_kind, values, kinds)) else None


def _is_kind(value: str, kind: str) -> bool:
    if "\x00" in value:
        return False
    try:
        if kind == "time":
            datetime.fromisoformat(value)
        elif kind == "uuid":
            uuid.UUID(value)
    except ValueError:
        return False
    return True


def group_by_bet(rows: list[dict]) -> list[dict]:
    """One Callback history page (read newest callback first) shown by bet: the bets in the
    order they first appear in the page — so the bet with the newest callback first — and each
    bet's rows as they were sent: by its callback's creation time, then queue order
    (``callback_order``; 0 for a heartbeat, which has no callback), then attempt number.

    The grouping is per page: the page (at most one page size of rows, PostgreSQL's and the
    archive's merged) is read and paged by the ``history`` query's own key, so a bet whose
    rows straddle a page boundary shows its part on each page."""
    first = {}
    for place, row in enumerate(rows):
        first.setdefault(row["group_id"], place)
    return sorted(rows, key=lambda r: (first[r["group_id"]], r["callback_created_at"],
                                       r["callback_order"], r["attempt_no"], r["started_at"],
                                       str(r["attempt_id"])))


@dataclass
class Page:
    """One page of rows and the cursor of the next one (None on the last page)."""

    rows: list[dict] = field(default_factory=list)
    next_cursor: str | None = None


def history_params(group_id: str) -> dict[str, str]:
    """Query parameters of Callback history showing every attempt of one bet (the clock)."""
    return {"group_ids": format_group_ids([group_id]), "window": ANY_TIME}


# --- latency --------------------------------------------------------------------------------

def histogram_percentile(counts: dict[int, int], edges: list[float], q: float) -> float | None:
    """The q-quantile (0..1) of durations counted in ``width_bucket`` buckets over ``edges``.

    Bucket 0 holds [0, edges[0]), bucket i holds [edges[i-1], edges[i]), the last bucket
    everything from edges[-1] up (reported as edges[-1]). Within a bucket the value is
    interpolated linearly, so the estimate is off by at most one bucket's width.
    """
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for bucket in range(len(edges) + 1):
        n = counts.get(bucket, 0)
        if n and seen + n >= rank:
            if bucket >= len(edges):
                return float(edges[-1])
            low = 0.0 if bucket == 0 else float(edges[bucket - 1])
            high = float(edges[bucket])
            return low + (high - low) * (rank - seen) / n
        seen += n
    return float(edges[-1])
