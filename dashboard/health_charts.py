"""Altair charts of the Health page, from :mod:`.health_shaping`'s frames (pure)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from .charts import COUNT, COUNT_AXIS, PERCENT, PERCENT_AXIS
from .health_shaping import CURRENT, PREVIOUS

_HEIGHT = 220
_PERIOD_DASH = alt.Scale(domain=[CURRENT, PREVIOUS], range=[[1, 0], [4, 3]])
#: Held stakes and owed payouts, the same colours everywhere.
MONEY_COLORS = alt.Scale(domain=["stakes possibly held", "owed to players"],
                         range=["#f28e2b", "#d6404e"])


def brand_colors(brands: list[str]) -> alt.Scale:
    """One colour per brand, the same in every chart of the page."""
    return alt.Scale(domain=list(brands), scheme="tableau10")


def rate_chart(series: pd.DataFrame, field: str, title: str, bucket_label: str,
               brands: list[str]) -> alt.Chart:
    """A rate per bucket and brand: this period solid, the previous period dashed, laid over
    the same times."""
    data = series.dropna(subset=[field])
    return alt.Chart(data, height=_HEIGHT).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=alt.X("time:T", title=None),
        y=alt.Y(f"{field}:Q", title=f"{title} per {bucket_label}",
                axis=alt.Axis(format=PERCENT_AXIS),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("brand:N", title="Brand", scale=brand_colors(brands)),
        # The heading says which line is which period; a legend of dashes drew no dashes.
        strokeDash=alt.StrokeDash("period:N", scale=_PERIOD_DASH, legend=None),
        detail="period:N",
        tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M"), "brand:N", "period:N",
                 alt.Tooltip(f"{field}:Q", format=PERCENT, title=title),
                 alt.Tooltip("attempts:Q", title="attempts", format=COUNT)],
    )


def exhaustions_chart(data: pd.DataFrame, bucket_label: str, brands: list[str]) -> alt.Chart:
    return alt.Chart(data, height=_HEIGHT).mark_bar(color="#d6404e").encode(
        x=alt.X("time:T", title=None),
        y=alt.Y("sum(exhausted):Q", title=f"exhausted per {bucket_label}", axis=COUNT_AXIS),
        color=alt.Color("brand:N", title="Brand", scale=brand_colors(brands)),
        tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M"), "brand:N",
                 alt.Tooltip("exhausted:Q", format=COUNT)],
    )


def money_chart(data: pd.DataFrame) -> alt.Chart:
    """One bar per brand and currency, split into stakes possibly held and payouts owed."""
    return alt.Chart(data, height=alt.Step(28)).mark_bar().encode(
        y=alt.Y("label:N", title=None, sort="-x", axis=alt.Axis(labelLimit=260)),
        x=alt.X("sum(amount):Q", title="amount, in each bar's own currency"),
        color=alt.Color("kind:N", title=None, scale=MONEY_COLORS,
                        legend=alt.Legend(orient="bottom", direction="vertical")),
        tooltip=["label:N", "kind:N", alt.Tooltip("shown:N", title="amount")],
    )


def heartbeat_chart(series: pd.DataFrame, bucket_label: str, brands: list[str]) -> alt.Chart:
    """Heartbeat success rate per bucket and brand (this period): the share answered 204 or
    auth_session_unknown."""
    data = series.dropna(subset=["success_rate"])
    return alt.Chart(data, height=_HEIGHT).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=alt.X("time:T", title=None),
        y=alt.Y("success_rate:Q", title=f"heartbeats answered per {bucket_label}",
                axis=alt.Axis(format=PERCENT_AXIS), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("brand:N", title="Brand", scale=brand_colors(brands)),
        tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M"), "brand:N",
                 alt.Tooltip("success_rate:Q", format=PERCENT, title="answered"),
                 alt.Tooltip("heartbeats:Q", format=COUNT)],
    )


def ended_chart(series: pd.DataFrame, bucket_label: str, brands: list[str]) -> alt.Chart:
    """Sessions the platform ended per bucket and brand."""
    data = series[series["ended"] > 0]
    return alt.Chart(data, height=_HEIGHT).mark_bar().encode(
        x=alt.X("time:T", title=None),
        y=alt.Y("sum(ended):Q", title=f"sessions ended per {bucket_label}",
                axis=COUNT_AXIS),
        color=alt.Color("brand:N", title="Brand", scale=brand_colors(brands)),
        tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M"), "brand:N",
                 alt.Tooltip("ended:Q", title="sessions ended", format=COUNT)],
    )
