"""The heartbeat timeline of Investigate's session lookup: one mark per heartbeat, on a lane of
its outcome (pure: rows in, Altair chart out)."""
from __future__ import annotations

from datetime import timedelta

import altair as alt
import pandas as pd

from delivery.records import AttemptOutcome

from .shaping import SENDING, UNKNOWN, measured_ms, to_zone

#: Lanes top to bottom, and their colours (delivered green, failures red, a refusal orange).
OUTCOME_LANES = tuple(o.value for o in (AttemptOutcome.DELIVERED, AttemptOutcome.REJECTED,
                                        AttemptOutcome.FAILED, UNKNOWN, SENDING))
OUTCOME_COLORS = ("#2f9e5b", "#f28e2b", "#d6404e", "#4a4f5c", "#4c78a8")
_COLUMNS = ["time", "outcome", "answer", "attempt", "ms", "attempt_id"]


def timeline_data(attempts: list[dict], zone) -> pd.DataFrame:
    """One row per heartbeat: when it went out (wall-clock time in ``zone``), its outcome and
    answer as the tooltip shows them."""
    rows = []
    for a in attempts:
        status = a.get("response_status")
        answer = (f"HTTP {status}" if status is not None else
                  a.get("error_class") or ("no answer yet" if a["outcome"] == SENDING
                                           else "no answer recorded"))
        if a.get("error_code"):
            answer += f" {a['error_code']}"
        rows.append({"time": to_zone(a["started_at"], zone).replace(tzinfo=None),
                     "outcome": a["outcome"], "answer": answer, "attempt": a["attempt_no"],
                     "ms": measured_ms(a.get("duration_ms"), a["outcome"]),
                     "attempt_id": str(a["attempt_id"])})
    return pd.DataFrame(rows, columns=_COLUMNS)


def time_format(data: pd.DataFrame) -> str:
    """A 24-hour time format fine enough for the span the heartbeats cover."""
    if data.empty:
        return "%H:%M"
    span = data["time"].max() - data["time"].min()
    if span < timedelta(minutes=5):
        return "%H:%M:%S"
    if span < timedelta(days=1):
        return "%H:%M"
    return "%d %b %H:%M"


def timeline_chart(data: pd.DataFrame) -> alt.Chart:
    """Heartbeats over time, one lane per outcome: a run of red shows when they failed, the
    last orange mark when the platform refused one."""
    lanes = [o for o in OUTCOME_LANES if o in set(data["outcome"])] or ["delivered"]
    return alt.Chart(data, height=alt.Step(34)).mark_tick(thickness=3, size=22).encode(
        x=alt.X("time:T", title=None,
                axis=alt.Axis(format=time_format(data), labelOverlap=True, labelFlush=True,
                              grid=True)),
        y=alt.Y("outcome:N", title=None, sort=lanes, scale=alt.Scale(domain=lanes)),
        color=alt.Color("outcome:N", legend=None,
                        scale=alt.Scale(domain=list(OUTCOME_LANES),
                                        range=list(OUTCOME_COLORS))),
        tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M:%S", title="sent at"),
                 alt.Tooltip("attempt:Q", title="heartbeat #"), "outcome:N", "answer:N",
                 alt.Tooltip("ms:Q", format=".0f"), alt.Tooltip("attempt_id:N",
                                                              title="Attempt ID")],
    )
