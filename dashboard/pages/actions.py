"""Actions — the audit trail: what integration managers did to the queue, and the
configuration changes (brands, test URLs, alert rules; users and alert URLs for administrators),
per brand."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from delivery import changes
from users.store import ADMIN

from .. import auth, components, queries, tables

_TABLE_KEY = "actions_table"
_CHANGES_KEY = "changes_table"
#: The window this page opens with: actions are rare, a week shows a few.
DEFAULT_WINDOW = "Last 7 days"
#: Configuration changes the filter offers (the queue actions have their own filter).
CHANGE_KINDS = tuple(k for k in changes.LABELS
                     if not k.startswith("queue.") and k != "brand.set_url")


def render() -> None:
    scope = components.scope()
    components.page_header(
        "Actions",
        "What integration managers did to the queue — retries, recovers, cancels and "
        "re-routes: who, when, why and how many callbacks — and the configuration changes "
        "made to brands, test URLs, alert rules and users. The trail is append-only.")
    table_col, filter_col = st.columns([5, 1], gap="small")
    with filter_col:
        st.markdown("**Filters**")
        created_from, created_to = components.window_picker("Taken", default=DEFAULT_WINDOW)
        kinds = st.multiselect("Action", list(tables.ACTION_LABELS), key="kind",
                               bind="query-params", format_func=tables.ACTION_LABELS.get)
        change_kinds = st.multiselect("Change", list(CHANGE_KINDS), key="change",
                                      bind="query-params", format_func=changes.label)
    with table_col:
        _actions(scope, created_from, created_to, tuple(kinds))
        _config_changes(scope, created_from, created_to, tuple(change_kinds))


def _actions(scope, created_from, created_to, kinds: tuple[str, ...]) -> None:
    """The queue actions of the window: figures, a chart per day, the table."""
    rows = queries.actions(scope.brand_id, created_from, created_to, kinds)
    figures = st.columns(3)
    figures[0].metric("Actions", f"{len(rows):,}")
    figures[1].metric("Callbacks changed", f"{sum(r['callbacks'] for r in rows):,}",
                      help="Sent again, cancelled; a re-route counts the callbacks "
                           "queued when it was made")
    figures[2].metric("People", f"{len({r['actor'] for r in rows}):,}")
    if not rows:
        components.no_data("No action was taken in this window" +
                           (" on this brand" if scope.brand_id else "") +
                           ". Actions are taken with `callbacks retry|recover|cancel|brand "
                           "set-url`, or by integration managers in the back-office.")
        return
    st.altair_chart(_per_day(rows, scope.zone))
    frame = tables.actions_table(rows, scope.zone)
    event = st.dataframe(
        frame, hide_index=True, placeholder="", key=_TABLE_KEY, on_select="rerun",
        selection_mode="single-row", height=components.table_height(len(frame)),
        column_order=[c for c in frame.columns if c != "Brand" or scope.brand_id is None],
        column_config={
            "When": st.column_config.TextColumn(width=130, help=scope.zone_name),
            "Action": st.column_config.TextColumn(width=70),
            "Who": st.column_config.TextColumn(width=80),
            "Reason": st.column_config.TextColumn(width=190),
            "Target": st.column_config.TextColumn(
                width=170, help="The bet, the recover's filters, or the old and new URL"),
            "Callbacks": st.column_config.NumberColumn(width=70),
            "Bets": st.column_config.NumberColumn(width=45),
            "From": st.column_config.TextColumn(width=75),
            "Brand": st.column_config.TextColumn(width=70),
            "#": st.column_config.NumberColumn(width=40, help="The action's number"),
        })
    if len(rows) >= queries.ACTIONS_LIMIT:
        st.caption(f"Showing the latest {queries.ACTIONS_LIMIT}; narrow the window.")
    chosen = event.selection.rows if event else []
    if chosen and chosen[0] < len(rows):
        _selected(rows[chosen[0]], scope)


def _config_changes(scope, created_from, created_to, kinds: tuple[str, ...]) -> None:
    """Configuration changes of the window. PostgreSQL shows only the user's brands; changes of
    no one brand (users, alert URLs, default rules) are shown to administrators only."""
    user = auth.current_user()
    st.subheader("Configuration changes")
    rows = queries.config_changes(scope.brand_id, created_from, created_to, kinds,
                                  with_global=user is not None and user.role == ADMIN)
    if not rows:
        components.no_data("No configuration change in this window"
                           + (" on this brand" if scope.brand_id else "") + ". Changes are "
                           "made with `callbacks brand add|set`, `callbacks brand test-url`, "
                           "`callbacks alert rule|url` and `callbacks user`.")
        return
    frame = tables.config_changes_table(rows, scope.zone)
    st.dataframe(
        frame, hide_index=True, placeholder="", key=_CHANGES_KEY,
        height=components.table_height(len(frame)),
        column_order=[c for c in frame.columns if c != "Brand" or scope.brand_id is None],
        column_config={
            "When": st.column_config.TextColumn(width=130, help=scope.zone_name),
            "Change": st.column_config.TextColumn(width=110),
            "Who": st.column_config.TextColumn(width=80, help="The back-office user named "
                                               "with --as, or the OS user"),
            "OS user": st.column_config.TextColumn(width=70, help="The OS account the "
                                                   "command ran as"),
            "Subject": st.column_config.TextColumn(width=150),
            "Before → after": st.column_config.TextColumn(
                width=260, help="What changed; secrets are recorded as ***"),
            "Reason": st.column_config.TextColumn(width=160),
            "Brand": st.column_config.TextColumn(width=70),
            "#": st.column_config.NumberColumn(width=40, help="The change's number"),
        })
    if len(rows) >= queries.ACTIONS_LIMIT:
        st.caption(f"Showing the latest {queries.ACTIONS_LIMIT}; narrow the window.")


def _per_day(rows: list[dict], zone) -> alt.Chart:
    data = pd.DataFrame({
        "day": [pd.Timestamp(r["created_at"]).tz_convert(zone).strftime("%Y-%m-%d")
                for r in rows],
        "action": [tables.ACTION_LABELS.get(r["kind"], r["kind"]) for r in rows],
        "callbacks": [r["callbacks"] for r in rows]})
    data = data.groupby(["day", "action"], as_index=False).agg(
        actions=("callbacks", "size"), callbacks=("callbacks", "sum"))
    return alt.Chart(data, height=160).mark_bar(size=24).encode(
        x=alt.X("day:O", title=None),
        y=alt.Y("actions:Q", title="actions per day"),
        color=alt.Color("action:N", title="Action", scale=alt.Scale(scheme="tableau10")),
        tooltip=["day:O", "action:N", "actions:Q", "callbacks:Q"])


def _selected(action: dict, scope) -> None:
    """One action: its reason as written, and the callbacks it changed."""
    st.divider()
    left, right = st.columns([2, 3])
    with left:
        st.caption(f"{tables.ACTION_LABELS.get(action['kind'], action['kind'])} · action "
                   f"#{action['id']} · from the {action['source']}")
        st.text(f"by {action['actor']} — {action['reason']}")
        st.text(tables.action_target(action))
        if action.get("bet_id"):
            components.copyable("Bet ID", action["bet_id"])
    with right:
        changed = queries.action_callbacks(action["id"], scope.brand_id)
        if changed:
            st.caption(f"The {len(changed):,} callback(s) it changed — state before, after the "
                       "action, and now")
            st.dataframe(tables.action_callbacks_table(changed), hide_index=True,
                         placeholder="", height=components.table_height(len(changed)))
        else:
            st.caption("It changed no callback row (a re-route changes where callbacks go, "
                       "not the callbacks).")
