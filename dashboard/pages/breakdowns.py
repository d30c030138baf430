"""Breakdowns — how platforms answered over time: codes, destinations, brands, retries,
latency."""
from __future__ import annotations

from datetime import datetime

import streamlit as st

from .. import charts, components, queries, tables
from ..filters import ALL_TRAFFIC, BETS
from ..shaping import CHART_BUCKETS, chart_bucket, chart_buckets, histogram_percentile


@components.guarded
def render() -> None:
    scope = components.scope()
    components.page_header(
        "Breakdowns", "How the platform answered our callbacks over time. Times in "
                      f"{scope.zone_name}.")
    controls = st.columns([2, 1, 2, 2])
    with controls[0]:
        window_from, window_to = components.window_picker(
            "Window", presets=("Last hour", "Last 24 h", "Last 7 days", "Last 30 days",
                               "Custom"))
    span = window_to - window_from
    offered = chart_buckets(span)
    with controls[1]:
        # One widget per set of widths: a new window starts from its automatic width.
        bucket = st.selectbox("Bars", offered, index=offered.index(chart_bucket(span)),
                              format_func=lambda b: f"per {CHART_BUCKETS[b]}",
                              key="bars_" + "_".join(str(int(b.total_seconds()))
                                                     for b in offered),
                              help="Bars under an hour count each attempt of the window; "
                                   "wider bars read the hourly totals.")
    with controls[2]:
        st.write("")
        include_tests = st.checkbox("Include Integration Test runs", key="tests",
                                    bind="query-params",
                                    help="Integration Test traffic is left out by default: "
                                         "its errors are on purpose.")
        heartbeats = st.checkbox("Include heartbeats", key="heartbeats", bind="query-params",
                                 help="Player sessions' heartbeats are left out by default: "
                                      "one per live session and interval, they would drown "
                                      "the bets' callbacks. Brand health has their figures.")
    label = CHART_BUCKETS[bucket]
    origin = datetime(2000, 1, 1, tzinfo=scope.zone)
    counts, latency = queries.breakdown(scope.brand_id, window_from, window_to, bucket, origin,
                                        include_tests,
                                        traffic=ALL_TRAFFIC if heartbeats else BETS)
    frame = charts.prepare(counts, scope.zone)
    if frame.empty:
        components.no_data("No attempts in this window.")
        return
    edges = queries.latency_edges_ms()
    _headline(frame, latency, edges)

    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Response codes over time — by class**")
        st.altair_chart(charts.answers_over_time(frame, label))
        st.markdown("**First-attempt success rate**")
        st.altair_chart(charts.first_attempt_success(frame))
        st.markdown("**Top unsupported answers**")
        top = charts.unsupported_codes(frame)
        if top.empty:
            st.caption("None: every 4xx in this window was a supported error.")
        else:
            st.altair_chart(charts.unsupported_chart(top))
    with right:
        st.markdown("**Answers other than 2xx over time — by exact code**")
        st.altair_chart(charts.codes_over_time(frame, label))
        st.markdown("**Retries and exhaustions**")
        st.altair_chart(charts.retries_and_exhaustions(frame, label))
        st.markdown("**Request duration percentiles** (estimated from duration buckets)")
        st.altair_chart(charts.latency_chart(
            charts.latency_percentiles(latency, edges, scope.zone)))
    by = st.columns(2 if scope.brand_id is None else 1, gap="large")
    with by[0]:
        st.altair_chart(charts.answers_by(frame, "destination", "By destination"))
    if scope.brand_id is None:
        with by[1]:
            st.altair_chart(charts.answers_by(frame, "brand", "By brand"))

    export = tables.breakdown_export(frame, scope.zone_name)
    st.download_button("Export CSV", tables.to_csv(export),
                       file_name="callback-breakdowns.csv", mime="text/csv",
                       icon=":material/download:",
                       help=f"Attempt counts per {label}, destination, brand and answer")


def _headline(frame, latency, edges) -> None:
    figures = charts.summary(frame)
    counts = charts.latency_counts(latency)
    p50 = histogram_percentile(counts, edges, 0.5)
    p99 = histogram_percentile(counts, edges, 0.99)
    cols = st.columns(6)
    cols[0].metric("Attempts", f"{figures['attempts']:,}",
                   help=f"Every HTTP request, {figures['sending']:,} of them still sending "
                        "(no answer recorded yet)")
    rate = figures["first_attempt_success"]
    cols[1].metric("First-attempt success", "—" if rate is None else f"{rate:.1%}",
                   help="Share of first attempts delivered, of those no longer sending")
    cols[2].metric("Retries", f"{figures['retries']:,}")
    cols[3].metric("Exhausted", f"{figures['exhausted']:,}",
                   help="Callbacks that reached their retry limit")
    cols[4].metric("Outcome unknown", f"{figures['unknown']:,}",
                   help="Attempts whose worker stopped before recording the answer: the "
                        "platform may have received them; each callback was sent again with "
                        "the same request_id")
    cols[5].metric("Duration p50 / p99, ms", "—" if p50 is None else f"{p50:,.0f} / {p99:,.0f}",
                   help="Estimated from duration buckets; timeouts count at the timeout. "
                        "Attempts still sending or with an unknown outcome have no measured "
                        "duration and are left out")
