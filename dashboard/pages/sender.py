"""Callback sender — what is queued to go out next, one row per group; refreshes itself."""
from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from .. import acting, components, markup, navigation, queries, tables
from ..shaping import format_time, history_params, relative

REFRESH_S = 5
_TABLE_KEY = "sender_table"
#: The Group IDs of the rows as last drawn, and the Group ID the analyst selected: the selection
#: follows the group when the refreshed queue puts it on another row (or drops it).
_IDS_KEY = "_sender_ids"
_CHOSEN_KEY = "_sender_group"
#: The Group ID that was selected when it left the queue (said so until another is selected).
_LEFT_KEY = "_sender_left"


@components.guarded
def render() -> None:
    components.page_header(
        "Callback sender",
        "Callbacks queued but not delivered yet — scheduled, or waiting for another retry. "
        "One row per group (bet): the callback being tried and how many wait behind it.")
    table_col, filter_col = st.columns([5, 1], gap="small")
    with filter_col:
        st.markdown("**Filters**")
        group_ids = components.group_ids_filter(120, "Group ID = Bet ID") or ()
    with table_col:
        _queue(group_ids)


@st.fragment(run_every=REFRESH_S)
@components.guarded
def _queue(group_ids: tuple[str, ...]) -> None:
    scope = components.scope()
    now = datetime.now(UTC)
    summary, rows = queries.sender(scope.brand_id, group_ids)
    chosen = _follow_selection([r["group_id"] for r in rows])
    figures = st.columns([1, 1, 1, 1, 2])
    figures[0].metric("Groups queued", f"{summary['groups']:,}")
    figures[1].metric("Due now", f"{summary['due_now']:,}")
    figures[2].metric("Sending now", f"{summary['in_flight']:,}")
    figures[3].metric("Retrying", f"{summary['retrying']:,}",
                      help="Groups whose head has failed at least once")
    # "12 min", not "12 min ago": the label says it, and the figure must fit its column.
    oldest = relative(summary["oldest_created"], now).removesuffix(" ago")
    figures[4].metric("Oldest queued", oldest or "—",
                      help="Age of the oldest undelivered callback")
    left = st.session_state.get(_LEFT_KEY)
    if left is not None:
        _left_queue(left)
    if not rows:
        components.no_data(
            "The queue is empty" + (" for these groups" if group_ids else "") +
            ": everything we tried to send was delivered, or reached its retry limit and "
            "moved to Callback history.")
    else:
        frame = tables.sender_table(rows, scope.zone, now)
        st.dataframe(
            frame, hide_index=True, placeholder="", height=components.table_height(len(frame)),
            key=_TABLE_KEY, on_select=_on_select, selection_mode="single-row",
            column_order=_columns(list(frame.columns), scope.brand_id),
            column_config={
                "Group ID": st.column_config.TextColumn(width=150),
                "Send date": st.column_config.TextColumn(
                    width=190, help=f"When we try (or try next), {scope.zone_name}"),
                "Created": st.column_config.TextColumn(
                    width=140, help="When the group (bet) was first created"),
                "Attempts": st.column_config.NumberColumn(
                    width=70, help="Tries already made for the callback at the head of the "
                                   "group"),
                "Destination": st.column_config.TextColumn(width=110),
                "Last error": st.column_config.TextColumn(width=190),
                "Queued behind": st.column_config.NumberColumn(
                    "Behind", width=60, help="Callbacks of the bet waiting behind this one"),
            })
        if len(rows) >= queries.SENDER_LIMIT:
            st.caption(f"Showing the {queries.SENDER_LIMIT} groups due first; paste Group ids "
                       "to find a specific bet.")
        if chosen is not None:
            _selected(rows[chosen])
    st.caption(f"Refreshes every {REFRESH_S} s · updated {format_time(now, scope.zone)} "
               f"({scope.zone_name})")


def _columns(columns: list[str], brand_id: int | None) -> list[str]:
    """The table's columns: Brand second when the rows may be of more than one brand."""
    if len(queries.visible_brands(brand_id)) <= 1:
        return [c for c in columns if c != "Brand"]
    return ["Group ID", "Brand", *(c for c in columns if c not in ("Group ID", "Brand"))]


def _left_queue(group_id: str) -> None:
    """The selected group is no longer queued: say so, and where to look at it."""
    st.info(f"Bet {markup.code(group_id)} left the queue: its callbacks were delivered, "
            "cancelled or ran out of retries.")
    st.page_link(navigation.page("investigate"), label="Open it in Investigate",
                 icon=":material/troubleshoot:", query_params={"bet": group_id})


def _on_select() -> None:
    rows = _rows_of(st.session_state.get(_TABLE_KEY))
    ids = st.session_state.get(_IDS_KEY) or []
    st.session_state[_CHOSEN_KEY] = ids[rows[0]] if rows and rows[0] < len(ids) else None


def _rows_of(state) -> list[int]:
    """The selected rows in the table's state (an event, or a dict when set by code)."""
    if state is None:
        return []
    if isinstance(state, dict):
        return list((state.get("selection") or {}).get("rows") or [])
    return list(state.selection.rows)


def _follow_selection(ids: list[str]) -> int | None:
    """The row of the selected group in this refresh (None when nothing is selected or the
    group left the queue); the table's selection is moved to it before the table is drawn."""
    drawn = st.session_state.get(_IDS_KEY) or ids
    st.session_state[_IDS_KEY] = ids
    shown = _rows_of(st.session_state.get(_TABLE_KEY))
    chosen = st.session_state.get(_CHOSEN_KEY)
    if chosen is None and shown and shown[0] < len(drawn):
        chosen = drawn[shown[0]]  # a selection made without the callback (a link, a test)
    row = ids.index(chosen) if chosen in ids else None
    if chosen is not None:
        st.session_state[_LEFT_KEY] = None if row is not None else chosen
    st.session_state[_CHOSEN_KEY] = None if row is None else chosen
    wanted = [] if row is None else [row]
    if shown != wanted:
        st.session_state[_TABLE_KEY] = {"selection": {"rows": wanted, "columns": [],
                                                      "cells": []}}
    return row


def _selected(group: dict) -> None:
    """The selected group's IDs to copy, and where to look next."""
    left, middle, right = st.columns([2, 3, 2])
    with left:
        components.copyable("Group ID (Bet ID)", group["group_id"])
    with middle:
        components.copyable(f"request_id of the {group['destination']} being tried",
                            group["request_id"])
    with right:
        st.page_link(navigation.page("history"), label="Callback history", icon="🕒",
                     query_params=history_params(group["group_id"]))
        st.page_link(navigation.page("investigate"), label="Investigate",
                     icon=":material/troubleshoot:", query_params={"bet": group["group_id"]})
    who = acting.permitted_user()
    if who:
        acting.buttons(group["group_id"], who, brand=group["brand"], key="sender")
