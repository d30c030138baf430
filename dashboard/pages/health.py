"""Brand health — per brand: healthy, degraded or down now, its backlog, money at risk, this
period against the previous one, and alerts."""
from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from alerts import rules as alert_rules
from health.money import combined, format_money, shown_amount
from health.state import DEGRADED, DOWN, HEALTHY, RECENT_WINDOW_S, duration

from .. import charts, components, health_charts, queries
from ..health_shaping import (
    DEFAULT_PERIOD,
    PERIOD_LABELS,
    PERIODS,
    beat_frame,
    compare,
    events_table,
    exhaustions,
    export,
    heartbeat_series,
    money_chart_data,
    money_table,
    now_table,
    period,
    rate_series,
    session_totals,
    sessions_table,
)

_BUCKET_LABELS = {timedelta(hours=1): "hour", timedelta(hours=6): "6 h"}


def render() -> None:
    scope = components.scope()
    components.page_header(
        "Brand health",
        "How each brand's platform is answering now, what players are owed because it is "
        f"not, and how this period compares with the one before. Times in {scope.zone_name}.")
    # The options are the URL's values (?period=7d): a bound widget writes what it shows.
    key = st.segmented_control("Period", list(PERIODS), default=DEFAULT_PERIOD, key="period",
                               bind="query-params", help="Compared with the period just "
                                                         "before it")
    brands = queries.health_now(scope.brand_id)
    if not brands:
        components.no_data("No brands yet: add one with `callbacks brand add`.")
        return
    _now(brands)
    _money(brands)
    p = period(key, components.now_minute())
    _sessions(brands, p, scope)
    _period(brands, p, scope)
    _alerts(scope)


def _now(brands) -> None:
    st.subheader("Now")
    states = [b.verdict.state for b in brands]
    oldest = max((b.oldest_pending_age_s for b in brands if b.oldest_pending_age_s is not None),
                 default=None)
    cols = st.columns(5)
    cols[0].metric("Down", states.count(DOWN))
    cols[1].metric("Degraded", states.count(DEGRADED))
    cols[2].metric("Healthy", states.count(HEALTHY))
    cols[3].metric("Backlog", f"{sum(b.backlog for b in brands):,}",
                   help="Callbacks not delivered yet (waiting, due or being sent)")
    cols[4].metric("Oldest pending", duration(oldest),
                   help="How long the oldest undelivered callback has waited")
    table = now_table(brands)
    minutes = RECENT_WINDOW_S // 60
    st.dataframe(table, hide_index=True, height=_height(len(table)),
                 column_order=[c for c in table.columns if c != "Money at risk"],
                 column_config={
                     "Why": st.column_config.TextColumn(
                         width=380, help=f"From the last {minutes} min of attempts and the "
                                             "queue: down when nothing was answered, degraded "
                                             "on failures, a stuck queue or exhaustions"),
                     })


def _money(brands) -> None:
    st.subheader("Money at risk")
    st.caption("Stakes possibly held: places sent and not answered, declines not delivered. "
               "Owed to players: settles and accepted cash-outs not delivered, or exhausted. "
               "Amounts are per currency and never added across currencies.")
    money = money_table(brands)
    if money.empty:
        st.caption("None: no undelivered callback carries money right now.")
        return
    total = combined(b.money for b in brands).currencies()
    cols = st.columns(max(4, min(len(total), 6)))
    for col, risk in zip(cols, total, strict=False):
        col.metric(f"At risk, {risk.currency or 'no currency'}",
                   shown_amount(risk.total, risk.currency),
                   help=f"Stakes possibly held {format_money(risk.held, risk.currency)}, "
                        f"owed to players {format_money(risk.owed, risk.currency)}; "
                        f"{risk.callbacks:,} callback(s)")
    left, right = st.columns([3, 2], gap="large")
    with left:
        shown = money.drop(columns=["held", "owed"])
        st.dataframe(shown, hide_index=True, height=_height(len(shown), 10), column_config={
            "Held": st.column_config.TextColumn(help="Stakes a platform may be holding: "
                                                     "places sent and not answered, "
                                                     "declines not delivered"),
            "Owed": st.column_config.TextColumn(help="Settles and accepted cash-outs not "
                                                     "delivered"),
            "Exhausted": st.column_config.TextColumn(help="Part of the total whose callbacks "
                                                          "ran out of retries: nobody will "
                                                          "send them unless asked to"),
            "Callbacks": st.column_config.NumberColumn(help="Callbacks counted")})
        exact = money_table(brands, exact=True).drop(columns=["held", "owed"])
        st.download_button("Money at risk CSV", exact.to_csv(index=False).encode(),
                           file_name="money-at-risk.csv", mime="text/csv",
                           icon=":material/download:", key="money_csv")
    with right:
        st.altair_chart(health_charts.money_chart(money_chart_data(money)))


def _sessions(brands, p, scope) -> None:
    label = PERIOD_LABELS[p.key]
    st.subheader("Player sessions")
    st.caption("Heartbeats keep players' sessions alive on the platform: one per live session "
               f"and interval. Heartbeats and sessions ended over the last {label}; live "
               "sessions now. Look a session up on Investigate.")
    figures = queries.session_figures(scope.brand_id, p.split, p.end)
    beats = beat_frame(queries.heartbeat_buckets(scope.brand_id, p.split, p.end, p.bucket,
                                                 p.split), scope.zone)
    table = sessions_table(figures, beats)
    if table.empty:
        st.caption("No player sessions: the sportsbook opens them with "
                   "PUT /v1/brands/{brand}/sessions/{session_id} when players log in.")
        return
    totals = session_totals(table, beats)
    rate = totals["success_rate"]
    cols = st.columns(4)
    cols[0].metric("Live sessions", f"{totals['live']:,}",
                   help="Sessions we send heartbeats for now")
    cols[1].metric(f"Heartbeat success ({label})", "—" if rate is None else f"{rate:.1%}",
                   help=f"Of the {totals['heartbeats']:,} heartbeats sent in the period, the "
                        "share the platform answered as the contract says: 204, or "
                        "auth_session_unknown for a session it no longer knew (counted under "
                        "Ended by platform)")
    cols[2].metric(f"Ended by platform ({label})", f"{totals['ended']:,}",
                   help="Sessions whose platform answered auth_session_unknown to a "
                        "heartbeat: it logged the player out")
    cols[3].metric("Failing now", f"{totals['failing']:,}",
                   help="Live sessions whose latest heartbeat failed")
    series = heartbeat_series(beats)
    names = sorted(b.brand for b in brands)
    bucket_label = _BUCKET_LABELS[p.bucket]
    st.dataframe(table, hide_index=True, height=_height(len(table)), column_config={
        "Live now": st.column_config.NumberColumn(help="Sessions live now"),
        "Failing now": st.column_config.NumberColumn(
            help="Live sessions whose latest heartbeat failed"),
        "Heartbeats": st.column_config.NumberColumn(help=f"Sent in the last {label}"),
        "Success rate": _percent("Heartbeats answered 204 or auth_session_unknown, of "
                                 "those sent"),
        "Ended by platform": st.column_config.NumberColumn(
            help=f"Sessions the platform ended in the last {label} (auth_session_unknown)"),
    })
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Heartbeat success**")
        if series["success_rate"].notna().any():
            st.altair_chart(health_charts.heartbeat_chart(series, bucket_label, names))
        else:
            st.caption("No heartbeat answered in this period.")
    with right:
        st.markdown("**Sessions ended by the platform**")
        if series["ended"].sum():
            st.altair_chart(health_charts.ended_chart(series, bucket_label, names))
        else:
            st.caption("None in this period.")


def _period(brands, p, scope) -> None:
    label = PERIOD_LABELS[p.key]
    st.subheader(f"Last {label} against the {label} before")
    counts, _ = queries.breakdown(scope.brand_id, p.start, p.end, p.bucket, p.split, False)
    frame = charts.prepare(counts, scope.zone)
    compared = compare(frame, p)
    bucket_label = _BUCKET_LABELS[p.bucket]
    if compared.empty:
        st.caption("No attempts in these two periods.")
    else:
        st.dataframe(compared, hide_index=True, height=_height(len(compared)),
                     column_config={
                         "Failure rate": _percent("Failed, exhausted or unknown, of the "
                                                  "attempts with an outcome"),
                         "Previous failure rate": _percent(),
                         "Change": st.column_config.NumberColumn(
                             format="percent", help="Failure rate now minus before, in "
                                                    "percentage points"),
                         "First-attempt success": _percent("First attempts delivered"),
                         "Previous first-attempt success": _percent()})
        series = rate_series(frame, p, scope.zone)
        names = sorted(b.brand for b in brands)
        left, right = st.columns(2, gap="large")
        with left:
            st.markdown("**Failure rate** (dashed: the period before)")
            st.altair_chart(health_charts.rate_chart(series, "failure_rate", "failure rate",
                                                     bucket_label, names))
            st.markdown("**Top unsupported answers**")
            current = frame[_in_current(frame, p)]
            top = charts.unsupported_codes(current)
            if top.empty:
                st.caption("None: every 4xx in this period was a supported error.")
            else:
                st.altair_chart(charts.unsupported_chart(top))
        with right:
            st.markdown("**First-attempt success** (dashed: the period before)")
            st.altair_chart(health_charts.rate_chart(series, "first_success",
                                                     "first-attempt success", bucket_label,
                                                     names))
            st.markdown("**Exhausted callbacks**")
            gone = exhaustions(frame, p, scope.zone)
            if gone.empty:
                st.caption("None in this period.")
            else:
                st.altair_chart(health_charts.exhaustions_chart(gone, bucket_label, names))
    rows = export(now_table(brands), compared)
    st.download_button("Brands CSV", rows.to_csv(index=False).encode(),
                       file_name=f"brand-health-{p.key}.csv", mime="text/csv",
                       icon=":material/download:", key="brands_csv",
                       help="State now and this period's figures against the previous one, "
                            "one row per brand")


def _alerts(scope) -> None:
    st.subheader("Alerts")
    found = queries.alerts(scope.brand_id)
    firing = found["firing"]
    if firing:
        st.error(f"{len(firing)} rule(s) firing now", icon=":material/notifications_active:")
        st.dataframe([{"Brand": f["brand"], "Rule": f["kind"].replace("_", " ")
                       + (" · flapping" if f.get("flapping") else ""),
                       "Since": _when(f["since"], scope.zone), "Value": f["value"],
                       "Threshold": f["threshold"], "What": f["message"]} for f in firing],
                     hide_index=True, height=_height(len(firing), 10))
    else:
        st.success("No rule is firing.", icon=":material/notifications_off:")
    rules = alert_rules.effective(found["rules"], scope.brand_id or -1)
    st.markdown("**Rules**" + (" every brand follows unless it has its own"
                               if scope.brand_id is None else " of this brand"))
    st.dataframe([{"Rule": r.kind.replace("_", " "), "Fires when": r.describe(),
                   "Resolves when": r.resolves(), "Set by": r.source} for r in rules.values()],
                 hide_index=True, height=_height(len(rules)))
    st.caption("Change them with `callbacks alert rule set`; notifications go to the URLs of "
               "`callbacks alert url add`.")
    history = events_table(found["history"], scope.zone)
    st.markdown("**History** (newest first)")
    st.caption(f"A rule that fired {alert_rules.FLAPPING_FIRES} times within an hour is "
               "flapping: one notification says so, then none until it settles.")
    if history.empty:
        st.caption("No alert has fired yet.")
    else:
        st.dataframe(history, hide_index=True, height=_height(len(history), 12),
                     column_config={"What": st.column_config.TextColumn(width="large"),
                                    "Notifications": st.column_config.TextColumn(
                                        width="medium")})


def _in_current(frame, p):
    import pandas as pd

    if frame.empty:
        return pd.Series([], dtype=bool)
    return pd.to_datetime(frame["bucket"], utc=True) >= p.split


def _when(value: datetime | None, zone) -> str:
    from ..shaping import format_time

    return format_time(value, zone) if value else ""


def _percent(help_text: str | None = None):
    return st.column_config.NumberColumn(format="percent", help=help_text)


def _height(rows: int, max_rows: int = 20) -> int:
    return components.table_height(rows, max_rows)
