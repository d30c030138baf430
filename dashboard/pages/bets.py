"""Bets — newest first; the clock in a row opens that bet's Callback history."""
from __future__ import annotations

import streamlit as st

from delivery.lifecycle import BET_STATUSES

from .. import components, markup, navigation, queries, session_view, tables
from ..shaping import all_time_note, history_params

_CLOCK_KEY = "bets_clock"
#: Columns as shown: how the bet's callbacks went right after its id, so trouble is in view
#: without scrolling on a 1280 px screen.
SHOWN_COLUMNS = ("history", "Status", "Bet ID", "Callbacks", "Attempts", "Player", "Placed",
                 "Type", "Stake", "Odds", "Brand")
_TABLE_KEY = "bets_table"


@components.guarded
def render() -> None:
    scope = components.scope()
    components.page_header(
        "Bets", "Newest first. Click 🕒 in a row to open the bet's callbacks in Callback "
                "history; select a row for its IDs.")
    table_col, filter_col = st.columns([4, 1], gap="medium")
    with filter_col:
        st.markdown("**Filters**")
        bet_ids = components.bet_ids_filter(
            "Bet ID", "bet", "exact Bet ID(s)",
            "One or more exact Bet IDs (spaces, commas or new lines between them), searched at "
            "any time, archive included: the Created window does not apply to them")
        player = components.text_filter("Player", "player", "exact player id", "player id")
        statuses = st.multiselect("Status", BET_STATUSES, key="status", bind="query-params")
        created_from, created_to = components.window_picker("Created", key="created",
                                                            default="Last 7 days")

    filters = (scope.brand_id, created_from, created_to, bet_ids, player, tuple(statuses))
    cursor = components.current_cursor(filters, queries.BETS_CURSOR)
    page = queries.bets(*filters, cursor)

    with table_col:
        if bet_ids:
            st.caption(markup.text(all_time_note(bet_ids, len(page.rows)), limit=None))
        if not page.rows:
            if not (bet_ids and session_view.offer(
                    bet_ids, scope, note="No bet has this ID; a player session has:")):
                components.no_data("No bets match these filters." if bet_ids else
                                   "No bets match these filters in this window.")
            return
        frame = tables.bets_table(page.rows, scope.zone)
        event = st.dataframe(
            frame, hide_index=True, key=_TABLE_KEY, on_select="rerun",
            height=components.table_height(len(frame)),
            selection_mode="single-row", placeholder="",
            column_order=[c for c in SHOWN_COLUMNS if c != "Brand" or scope.brand_id is None],
            column_config={
                "history": st.column_config.ButtonColumn(
                    " ", key=_CLOCK_KEY, type="tertiary", width=44,
                    help="Open this bet's Callback history"),
                "Bet ID": st.column_config.TextColumn(width=180),
                "Player": st.column_config.TextColumn(width=140),
                "Status": st.column_config.TextColumn(width=130),
                "Placed": st.column_config.TextColumn(f"Placed ({scope.zone_name})"),
                "Callbacks": st.column_config.TextColumn(
                    width=185, help="How the bet's callbacks went: the latest one tried, and ⚠ "
                                    "when any needed a retry, ✗ when one failed for good"),
                "Attempts": st.column_config.NumberColumn(
                    width=70, help="HTTP attempts for all of the bet's callbacks"),
            })
        clicked = st.session_state.get(_CLOCK_KEY)
        if clicked is not None:
            st.switch_page(navigation.page("history"),
                           query_params=history_params(page.rows[clicked["row"]]["bet_id"]))
        components.pager_buttons(cursor, page.next_cursor)
        selected = event.selection.rows if event else []
        if selected:
            _selected(page.rows[selected[0]])


def _selected(bet: dict) -> None:
    st.divider()
    left, right = st.columns([2, 3])
    with left:
        components.status_badge(bet["status"])
        components.copyable("Bet ID (Group ID)", bet["bet_id"])
        if bet["player_id"]:
            components.copyable("Player", bet["player_id"])
    with right:
        st.page_link(navigation.page("history"), label="Callback history for this bet",
                     icon="🕒", query_params=history_params(bet["bet_id"]))
        st.page_link(navigation.page("investigate"), label="Investigate this bet",
                     icon=":material/troubleshoot:", query_params={"bet": bet["bet_id"]})
