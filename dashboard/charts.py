"""Altair charts of the Breakdowns page, built from the breakdown query's frames (pure)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from delivery.records import AttemptOutcome

from .shaping import ANSWER_CLASSES, SENDING, UNKNOWN, answer_class, histogram_percentile

#: One colour per answer class, the same in every chart.
ANSWER_COLORS = ("#2f9e5b", "#9aa5b8", "#4c78a8", "#f28e2b", "#d6404e", "#8e6cc0", "#4a4f5c",
                 "#c9a227", "#cdd5e0")
_ANSWER_SCALE = alt.Scale(domain=list(ANSWER_CLASSES), range=list(ANSWER_COLORS))
_HEIGHT = 240
#: Time axes on a 24-hour clock: the hour and minute, or the day at midnight. The times are
#: wall-clock times of the chosen zone already (see prepare), so the browser's zone plays no part.
TIME_AXIS = alt.Axis(labelExpr="timeFormat(datum.value, '%H:%M') == '00:00' ? "
                               "timeFormat(datum.value, '%d %b') : "
                               "timeFormat(datum.value, '%H:%M')", labelOverlap=True)
#: Shares on axes: one decimal at most (``87.7%``, ``90%``), whatever the ticks; d3's bare
#: ``%`` writes six decimals when the axis spans a single value.
PERCENT_AXIS = ".1~%"
#: Shares in tooltips: always one decimal.
PERCENT = ".1%"
#: Counts: whole numbers with thousands separators (``12,345``).
COUNT = ",d"
#: An axis of counts: no fractional ticks, thousands separated.
COUNT_AXIS = alt.Axis(format=COUNT, tickMinStep=1)
TIME_TOOLTIP = alt.Tooltip("time:T", title="time", format="%Y-%m-%d %H:%M")


def _count(field: str) -> alt.Tooltip:
    return alt.Tooltip(f"{field}:Q", format=COUNT)


def prepare(counts: pd.DataFrame, zone) -> pd.DataFrame:
    """Adds ``answer`` (chart class), ``code`` (exact code; ``none`` for no response,
    ``unknown`` / ``sending`` when no answer was recorded) and ``time`` (wall-clock time in
    ``zone``, so the browser draws it as the viewer's zone)."""
    frame = counts.copy()
    if frame.empty:
        return frame.assign(answer=[], code=[], time=[])
    frame["answer"] = [answer_class(None if pd.isna(s) else int(s), o, e) for s, o, e in
                       zip(frame["response_status"], frame["outcome"], frame["error_class"],
                           strict=False)]
    frame["code"] = [a if a in (UNKNOWN, SENDING) else "none" if pd.isna(s) else str(int(s))
                     for s, a in zip(frame["response_status"], frame["answer"], strict=False)]
    frame["time"] = (pd.to_datetime(frame["bucket"], utc=True).dt.tz_convert(zone)
                     .dt.tz_localize(None))
    for name in ("attempts", "first_attempts", "retries"):
        frame[name] = frame[name].astype("int64")
    return frame


def summary(frame: pd.DataFrame) -> dict:
    """Headline figures: attempts, first-attempt success rate, retries, exhaustions, attempts
    whose outcome is unknown and attempts still sending.

    An attempt still sending has no outcome yet: it is left out of the success rate (neither a
    success nor a failure). An unknown one counts as a first attempt that did not succeed.
    """
    if frame.empty:
        return {"attempts": 0, "first_attempt_success": None, "retries": 0, "exhausted": 0,
                "unknown": 0, "sending": 0}
    answered = frame[frame["outcome"] != SENDING]
    first = answered["first_attempts"].sum()
    first_ok = answered.loc[answered["outcome"] == AttemptOutcome.DELIVERED, "first_attempts"].sum()

    def outcome_attempts(outcome: str) -> int:
        return int(frame.loc[frame["outcome"] == outcome, "attempts"].sum())

    return {"attempts": int(frame["attempts"].sum()),
            "first_attempt_success": float(first_ok / first) if first else None,
            "retries": int(frame["retries"].sum()),
            "exhausted": outcome_attempts(AttemptOutcome.EXHAUSTED),
            "unknown": outcome_attempts(UNKNOWN),
            "sending": outcome_attempts(SENDING)}


def answers_over_time(frame: pd.DataFrame, bucket_label: str) -> alt.Chart:
    """Stacked bars: attempts per time bucket by answer class."""
    data = frame.groupby(["time", "answer"], as_index=False)["attempts"].sum()
    return alt.Chart(data, height=_HEIGHT).mark_bar().encode(
        x=alt.X("time:T", title=None, axis=TIME_AXIS),
        y=alt.Y("attempts:Q", title=f"attempts per {bucket_label}", axis=COUNT_AXIS),
        color=alt.Color("answer:N", scale=_ANSWER_SCALE, title="Answer",
                        sort=list(ANSWER_CLASSES)),
        order=alt.Order("order:Q"),
        tooltip=[TIME_TOOLTIP, "answer:N", _count("attempts")],
    ).transform_calculate(order=f"indexof({list(ANSWER_CLASSES)!r}, datum.answer)")


def codes_over_time(frame: pd.DataFrame, bucket_label: str, top: int = 8) -> alt.Chart:
    """Stacked bars of the answers that were not 2xx, by exact code (``none`` = no response,
    ``unknown`` = never recorded); codes beyond the ``top`` most common are "other". 2xx volume
    is the class chart's job, and attempts still sending have no answer yet."""
    frame = frame[~frame["answer"].isin(("2xx", SENDING))]
    totals = frame.groupby("code")["attempts"].sum().sort_values(ascending=False)
    keep = set(totals.index[:top])
    data = frame.assign(code=[c if c in keep else "other" for c in frame["code"]])
    data = data.groupby(["time", "code"], as_index=False)["attempts"].sum()
    return alt.Chart(data, height=_HEIGHT).mark_bar().encode(
        x=alt.X("time:T", title=None, axis=TIME_AXIS),
        y=alt.Y("attempts:Q", title=f"attempts per {bucket_label}", axis=COUNT_AXIS),
        color=alt.Color("code:N", title="Code", scale=alt.Scale(scheme="tableau10")),
        tooltip=[TIME_TOOLTIP, "code:N", _count("attempts")],
    )


def answers_by(frame: pd.DataFrame, dimension: str, title: str) -> alt.Chart:
    """Horizontal stacked bars: attempts per ``dimension`` (destination, brand) by answer."""
    data = frame.groupby([dimension, "answer"], as_index=False)["attempts"].sum()
    return alt.Chart(data, height=alt.Step(26)).mark_bar().encode(
        y=alt.Y(f"{dimension}:N", title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("sum(attempts):Q", title="attempts", stack="normalize",
                axis=alt.Axis(format=PERCENT_AXIS)),
        color=alt.Color("answer:N", scale=_ANSWER_SCALE, title="Answer"),
        tooltip=[f"{dimension}:N", "answer:N", _count("attempts")],
    ).properties(title=title)


def first_attempt_success(frame: pd.DataFrame) -> alt.Chart:
    """Share of first attempts delivered, per time bucket (of those no longer sending)."""
    frame = frame[frame["outcome"] != SENDING]
    first = frame.groupby("time")["first_attempts"].sum()
    ok = frame[frame["outcome"] == AttemptOutcome.DELIVERED].groupby("time")["first_attempts"].sum()
    data = pd.DataFrame({"time": first.index,
                         "rate": (ok.reindex(first.index, fill_value=0) / first).values})
    data = data[first.values > 0]
    return alt.Chart(data, height=_HEIGHT).mark_line(point=True, color="#2f9e5b").encode(
        x=alt.X("time:T", title=None, axis=TIME_AXIS),
        y=alt.Y("rate:Q", title="first attempts delivered",
                axis=alt.Axis(format=PERCENT_AXIS), scale=alt.Scale(zero=False)),
        tooltip=[TIME_TOOLTIP, alt.Tooltip("rate:Q", title="delivered", format=PERCENT)],
    )


def retries_and_exhaustions(frame: pd.DataFrame, bucket_label: str) -> alt.Chart:
    """Retries (attempts after the first) and exhausted callbacks per time bucket."""
    retries = frame.groupby("time")["retries"].sum().rename("Retries")
    exhausted = (frame[frame["outcome"] == AttemptOutcome.EXHAUSTED]
                 .groupby("time")["attempts"].sum().rename("Exhausted"))
    data = (pd.concat([retries, exhausted], axis=1).fillna(0).reset_index()
            .melt("time", var_name="kind", value_name="count"))
    return alt.Chart(data, height=_HEIGHT).mark_line(point=True).encode(
        x=alt.X("time:T", title=None, axis=TIME_AXIS),
        y=alt.Y("count:Q", title=f"per {bucket_label}", axis=COUNT_AXIS),
        color=alt.Color("kind:N", title=None,
                        scale=alt.Scale(domain=["Retries", "Exhausted"],
                                        range=["#f28e2b", "#d6404e"])),
        tooltip=[TIME_TOOLTIP, "kind:N", _count("count")],
    )


def unsupported_codes(frame: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The most frequent answers a destination does not allow: error code (or HTTP status).
    A 429 is left out: it asks us to slow down, which the schedule honours."""
    wrong = frame[(frame["answer"] == "4xx other") & (frame["code"] != "429")]
    if wrong.empty:
        return pd.DataFrame(columns=["error", "destination", "attempts"])
    labels = [c if isinstance(c, str) and c else f"HTTP {s}" for c, s in
              zip(wrong["error_code"], wrong["code"], strict=False)]
    data = (wrong.assign(error=labels).groupby(["error", "destination"], as_index=False)
            ["attempts"].sum().sort_values("attempts", ascending=False).head(top))
    return data.reset_index(drop=True)


def unsupported_chart(data: pd.DataFrame) -> alt.Chart:
    return alt.Chart(data, height=alt.Step(24)).mark_bar(color="#f28e2b").encode(
        y=alt.Y("label:N", title=None, sort="-x", axis=alt.Axis(labelLimit=320)),
        x=alt.X("attempts:Q", title="attempts", axis=COUNT_AXIS),
        tooltip=["error:N", "destination:N", _count("attempts")],
    ).transform_calculate(label="datum.error + ' · ' + datum.destination")


def latency_percentiles(latency: pd.DataFrame, edges: list[float], zone,
                        quantiles=(0.5, 0.9, 0.99)) -> pd.DataFrame:
    """p50/p90/p99 request duration (ms) per time bucket, estimated from the duration buckets.
    Attempts without a measured duration (no bucket) are left out."""
    latency = latency.dropna(subset=["latency_bucket"])
    if latency.empty:
        return pd.DataFrame(columns=["time", "percentile", "ms"])
    rows = []
    for bucket, part in latency.groupby("bucket"):
        counts = latency_counts(part)
        for q in quantiles:
            rows.append({"bucket": bucket, "percentile": f"p{round(q * 100)}",
                         "ms": histogram_percentile(counts, edges, q)})
    data = pd.DataFrame(rows)
    data["time"] = (pd.to_datetime(data["bucket"], utc=True).dt.tz_convert(zone)
                    .dt.tz_localize(None))
    return data[["time", "percentile", "ms"]]


def latency_counts(latency: pd.DataFrame) -> dict[int, int]:
    """Attempts per duration bucket, for :func:`~.shaping.histogram_percentile`; rows without a
    bucket (no measured duration) are left out."""
    known = latency.dropna(subset=["latency_bucket"])
    if known.empty:
        return {}
    return {int(k): int(v) for k, v in
            known.groupby("latency_bucket")["attempts"].sum().items()}


def latency_chart(data: pd.DataFrame) -> alt.Chart:
    return alt.Chart(data, height=_HEIGHT).mark_line(point=True).encode(
        x=alt.X("time:T", title=None, axis=TIME_AXIS),
        y=alt.Y("ms:Q", title="request duration, ms (log scale)",
                scale=alt.Scale(type="log"), axis=alt.Axis(format=",~r")),
        color=alt.Color("percentile:N", title=None,
                        scale=alt.Scale(domain=["p50", "p90", "p99"],
                                        range=["#4c78a8", "#f28e2b", "#d6404e"])),
        tooltip=[TIME_TOOLTIP, "percentile:N", alt.Tooltip("ms:Q", format=",.0f")],
    )


#: Colour of each reconciliation verdict: a match green, the rest warm (the most telling
#: darkest), the platform's refusals and our own queue muted.
VERDICT_COLORS = {"match": "#2f9e5b", "unknown_to_us": "#b2182b", "booked_twice": "#d6404e",
                  "missing_on_platform": "#e8603c", "amount_differs": "#f28e2b",
                  "not_delivered_yet": "#c9a227", "rejected_by_platform": "#e3b778"}


def verdict_bars(summary_rows: list[dict]) -> alt.Chart:
    """Bets per verdict (all currencies together), one bar each, in report order."""
    order = list(VERDICT_COLORS)
    counts: dict[str, int] = {}
    for row in summary_rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + int(row["bets"])
    frame = pd.DataFrame({"verdict": list(counts), "bets": list(counts.values())})
    shown = [v for v in order if v in counts] + [v for v in counts if v not in order]
    scale = alt.Scale(domain=shown, range=[VERDICT_COLORS.get(v, "#9aa5b8") for v in shown])
    return (alt.Chart(frame, height=40 + 32 * len(shown))
            .mark_bar()
            .encode(y=alt.Y("verdict:N", sort=shown, title=None,
                            scale=alt.Scale(paddingInner=0.25)),
                    x=alt.X("bets:Q", title="bets",
                            axis=COUNT_AXIS),
                    color=alt.Color("verdict:N", scale=scale, legend=None),
                    tooltip=["verdict:N", _count("bets")]))
