"""Investigate's session lookup ("the player says they were logged out"): a player session's
state, its heartbeats and the verdict of :mod:`.session_verdicts`. Layout only."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import streamlit as st

import contract

from . import components, markup, navigation, queries, session_charts, session_verdicts, tables
from .filters import ANY_TIME, format_group_ids
from .shaping import format_time, relative

_TONES = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}
#: How each session state reads on its badge.
STATE_BADGES = {"live": ("live", "green"), "closed": ("closed by the producer", "gray"),
                "expired": ("expired", "orange"),
                "ended_by_platform": ("ended by the platform", "red")}


def session_params(session_id: str, brand: str | None = None) -> dict[str, str]:
    """Query parameters of Investigate showing one player session."""
    params = {"lookup": "session", "session": session_id}
    if brand:
        params["brand"] = brand
    return params


def heartbeat_history_params(session_id: str) -> dict[str, str]:
    """Query parameters of Callback history showing a session's heartbeats."""
    return {"group_ids": format_group_ids([session_id]), "window": ANY_TIME,
            "destination": contract.HEARTBEAT}


def offer(ids: tuple[str, ...], scope, *, note: str) -> bool:
    """Links to the session view for the ids that are player sessions; whether any was."""
    found = queries.sessions_named(tuple(ids), scope.brand_id) if ids else []
    if not found:
        return False
    st.info(note, icon=":material/badge:")
    for s in found[:10]:
        st.page_link(navigation.page("investigate"),
                     label=f"Player session {s['session_id']} · {s['brand']}",
                     icon=":material/troubleshoot:",
                     query_params=session_params(s["session_id"], s["brand"]))
    return True


def render(session_id: str, scope) -> None:
    """The session view for ``session_id`` in the selected brand (or every brand seen)."""
    found = queries.sessions_named((session_id,), scope.brand_id)
    now = datetime.now(UTC)
    if len(found) > 1:
        st.info(f"Player session {markup.code(session_id)} exists in {len(found)} brands: "
                "pick one.", icon=":material/call_split:")
        for s in found:
            st.page_link(navigation.page("investigate"), label=f"{s['brand']}",
                         icon=":material/troubleshoot:",
                         query_params=session_params(session_id, s["brand"]))
        return
    session = found[0] if found else None
    others: tuple[str, ...] = ()
    if session is None and scope.brand_id is not None:
        others = tuple(s["brand"] for s in queries.sessions_named((session_id,), None))
    attempts = (queries.session_heartbeats(session_id, session["brand_id"], session["opened_at"])
                if session else [])
    verdict = session_verdicts.judge(session_id, session, attempts, now,
                                     brand=scope.brand_name, other_brands=others)
    _TONES[verdict.tone](f"### {verdict.title}\n{verdict.explanation}")
    st.markdown(f"**Next step:** {verdict.next_step}")
    if session is None:
        return
    left, right = st.columns([3, 2], gap="large")
    with left:
        _timeline(session, attempts, scope)
    with right:
        _facts(session, now, scope)
    if attempts:
        _table(attempts, scope)
    st.markdown("**Summary** — copy it into the ticket")
    st.code(session_verdicts.summary(session_id, session, verdict, attempts, now),
            language=None, wrap_lines=True)


def _timeline(session: dict, attempts: list[dict], scope) -> None:
    st.markdown(f"**Heartbeats** since the session was opened, by outcome "
                f"({markup.text(scope.zone_name)})")
    if not attempts:
        st.caption("None sent yet." if session["state"] == "live" else
                   "None was sent while the session was open.")
        return
    if len(attempts) >= queries.SESSION_HEARTBEATS:
        st.caption(f"The latest {len(attempts):,} of {session['heartbeats_sent']:,}.")
    st.altair_chart(session_charts.timeline_chart(
        session_charts.timeline_data(attempts, scope.zone)))


def _table(attempts: list[dict], scope) -> None:
    st.markdown("**Heartbeats, newest first** — the Attempt ID is what the platform team "
                "searches their logs for")
    frame = tables.heartbeats_table(attempts, scope.zone)
    st.dataframe(frame, hide_index=True, placeholder="",
                 height=components.table_height(len(frame), 12),
                 column_config={
                     "Sent at": st.column_config.TextColumn(width=140),
                     "Outcome": st.column_config.TextColumn(width=75),
                     "#": st.column_config.NumberColumn(width=45,
                                                        help="The heartbeat's number in the "
                                                             "session"),
                     "Response code": st.column_config.NumberColumn("Code", format="%d",
                                                                    width=50),
                     "Response error": st.column_config.TextColumn(width=150),
                     "Attempt ID": st.column_config.TextColumn(
                         width=265, help="Sent as X-Request-ID: what the platform team "
                                         "searches their logs for"),
                     "Due at": st.column_config.TextColumn(help="When the heartbeat was due; "
                                                                "it went out at Sent at"),
                 })


def _facts(session: dict, now: datetime, scope) -> None:
    label, color = STATE_BADGES.get(session["state"], (session["state"], "gray"))
    st.badge(markup.text(label), color=color)
    components.copyable("Session ID", session["session_id"])
    zone = scope.zone

    def when(value) -> str:
        return f"{format_time(value, zone)} ({relative(value, now)})" if value else "—"

    facts = {
        "Brand": session["brand"],
        "Opened": when(session["opened_at"]),
        "Last refreshed": when(session["refreshed_at"]),
        "Expires": when(session["expires_at"]) if session["expires_at"] else "no end set",
        "Ended": when(session["ended_at"]),
        "Heartbeats sent": f"{session['heartbeats_sent']:,}",
        "Interval": f"{session['heartbeat_interval_s']:g} s (±10 %)",
        "Next heartbeat due": when(session["next_beat_at"]) if session["next_beat_at"] else "—",
    }
    if session["state"] == "live":
        facts["Failing"] = (f"{session['failures_in_row']} in a row since "
                            f"{format_time(session['failing_since'], zone)}"
                            if session["failures_in_row"] else "no")
    st.markdown("  \n".join(f"**{markup.text(k)}** {markup.text(v)}" for k, v in facts.items())
                + f"  \nTimes in {markup.text(scope.zone_name)}")
    with st.expander("Foreign-Params (masked)"):
        st.caption("What each heartbeat carries, with every value but the brand's visible "
                   "keys masked.")
        st.code(json.dumps(session["shown_params"], indent=2, ensure_ascii=False),
                language="json")
    st.page_link(navigation.page("history"), label="Open its heartbeats in Callback history",
                 icon="🕒", query_params=heartbeat_history_params(session["session_id"]))
