"""Callback history — one row per HTTP attempt; select a row to expand it."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import streamlit as st

import contract
from delivery import urls
from delivery.records import ERROR_CLASSES

from .. import auth, components, markup, navigation, queries, session_view, tables
from ..filters import FilterError, HistoryFilter, parse_codes
from ..shaping import (
    OUTCOMES,
    SENDING,
    SENDING_ERROR,
    UNKNOWN,
    UNKNOWN_DETAIL,
    format_time,
    measured_ms,
    pretty_json,
    relative,
)

_TABLE_KEY = "history_table"
#: Columns as shown: the seed's first (Group ID, Request ID, Destination, Created at, Attempts,
#: Response code, Response error — and Brand when several brands are shown), narrow enough to
#: be in view without scrolling on a 1280 px screen with the sidebar open; then the rest.
SHOWN_COLUMNS = ("Group ID", "Attempt ID", "Destination", "Created at", "Attempts",
                 "Response code", "Response error", "Brand", "Outcome", "Sent at",
                 "Response data", "ms")
#: Width of each shown column (px).
WIDTHS = {"Group ID": 105, "Attempt ID": 85, "Destination": 92, "Created at": 115,
          "Attempts": 52, "Response code": 90, "Response error": 112, "Brand": 60,
          "Outcome": 80, "Sent at": 140, "Response data": 170, "ms": 55, "Sent by": 200}
_IDS_KEY = "_history_ids"
#: Error classes to filter on: the sender's, and ``unknown`` for attempts whose answer was never
#: recorded (the worker stopped in between).
FILTER_ERROR_CLASSES = tuple(dict.fromkeys((*ERROR_CLASSES, UNKNOWN)))


@components.guarded
def render() -> None:
    scope = components.scope()
    components.page_header(
        "Callback history",
        "Every HTTP request we sent, newest first and grouped by bet on each page: each "
        "bet's requests in the order they were sent. Select a row to expand it: the payload "
        "sent, the request headers and the full response.")
    table_col, filter_col = st.columns([6, 1], gap="small")
    with filter_col:
        filters = _filters(scope)
    with table_col:
        if filters is None:
            return
        cursor = components.current_cursor(filters, queries.HISTORY_CURSOR)
        page = queries.history(filters, cursor)
        if filters.group_ids and not filters.shows_heartbeats:
            session_view.offer(filters.group_ids, scope,
                               note="A pasted ID is a player session's: its heartbeats are "
                                    "left out here unless you tick Include heartbeats (or "
                                    "choose /heartbeat). Or investigate the session:")
        if not page.rows:
            components.no_data(
                "No attempts match these filters. " +
                ("Widen Created at to Any time, or check the Callback sender: the callback may "
                 "still be queued." if filters.group_ids else "Try a wider window."))
        else:
            _table(page.rows, scope)
            components.pager_buttons(cursor, page.next_cursor)
            _export(filters, scope)
        chosen = st.query_params.get("attempt")
        if chosen:
            _expanded(chosen, scope)


def _filters(scope) -> HistoryFilter | None:
    st.markdown("**Filters**")
    created_from, created_to = components.window_picker("Created at")
    group_ids = components.group_ids_filter(
        110, "Group ID = Bet ID. The clock in the Bets list fills this in.")
    destinations = st.multiselect("Destination", list(contract.DESTINATIONS),
                                  key="destination", bind="query-params",
                                  help=f"{contract.HEARTBEAT}: player sessions' heartbeats, "
                                       "left out unless chosen here or included below")
    heartbeats = st.checkbox("Include heartbeats", key="heartbeats", bind="query-params",
                             help="Player sessions' heartbeats (group: the session ID) are "
                                  "left out by default: one per live session and interval, "
                                  "they would bury the bets' callbacks")
    codes_text = st.text_input("Response code", key="code", bind="query-params",
                               placeholder="e.g. 5xx, 404, none",
                               help="Exact codes (404), classes (5xx) or none for no response "
                                    "(timeouts, connection errors, and attempts still sending "
                                    "or whose answer was never recorded)")
    outcomes = st.multiselect("Outcome", OUTCOMES, key="outcome", bind="query-params",
                              help="sending: the request is out and its answer not recorded "
                                   "yet; unknown: the worker stopped before recording the "
                                   "answer (the platform may have received the request)")
    error_classes = st.multiselect("Error class", FILTER_ERROR_CLASSES, key="error_class",
                                   bind="query-params")
    try:
        codes = parse_codes(codes_text)
    except FilterError as exc:
        components.warn(exc)
        return None
    if group_ids is None:
        return None
    return HistoryFilter(created_from, created_to, scope.brand_id, tuple(group_ids),
                         tuple(destinations), tuple(outcomes), tuple(error_classes), codes,
                         heartbeats)


def _table(rows: list[dict], scope) -> None:
    ids = [r["attempt_id"] for r in rows]
    st.session_state[_IDS_KEY] = ids
    chosen = st.query_params.get("attempt")
    frame = tables.history_table(rows, scope.zone)
    st.dataframe(
        frame, hide_index=True, key=_TABLE_KEY, on_select=_on_select,
        selection_mode="single-row", placeholder="",
        selection_default={"selection": {"rows": [ids.index(chosen)]}}
        if chosen in ids else None,
        column_order=[c for c in SHOWN_COLUMNS + ("Sent by",)
                      if (c != "Brand" or scope.brand_id is None)
                      and (c != "Sent by" or frame["Sent by"].any())],
        column_config={
            "Group ID": st.column_config.TextColumn(width=WIDTHS["Group ID"], help="The Bet ID",
                                                    pinned=True),
            "Attempt ID": st.column_config.TextColumn(
                "Request ID", width=WIDTHS["Attempt ID"],
                help="This HTTP attempt's ID (sent as X-Request-ID; the Attempt ID when the row "
                     "is expanded). Click the cell and copy (Ctrl+C / ⌘C), or select the row"),
            "Destination": st.column_config.TextColumn(width=WIDTHS["Destination"]),
            "Created at": st.column_config.TextColumn(
                width=WIDTHS["Created at"],
                help=f"When the callback was created ({scope.zone_name})"),
            "Sent at": st.column_config.TextColumn(
                width=WIDTHS["Sent at"], help=f"When this attempt was sent ({scope.zone_name})"),
            "Attempts": st.column_config.TextColumn(
                width=WIDTHS["Attempts"],
                help="This attempt's number, of the callback's attempts so far"),
            "Response data": st.column_config.TextColumn(
                width=WIDTHS["Response data"],
                help="The body the platform sent back (null when empty, normal for a 204)"),
            "Response code": st.column_config.TextColumn(
                width=WIDTHS["Response code"],
                help="The HTTP status, or why there is none: — (timeout), — (connection "
                     "error), — (sending) while the request is out, — (not recorded) when the "
                     "worker stopped before recording the answer"),
            "Response error": st.column_config.TextColumn(width=WIDTHS["Response error"]),
            "Brand": st.column_config.TextColumn(width=WIDTHS["Brand"]),
            "Outcome": st.column_config.TextColumn(width=WIDTHS["Outcome"]),
            "ms": st.column_config.NumberColumn(
                width=WIDTHS["ms"], help="Duration of the request, ms (none while it is still "
                                         "sending, or when its answer was never recorded)"),
            "Sent by": st.column_config.TextColumn(
                width=WIDTHS["Sent by"], help="Attempts sent again by an integration manager's "
                                              "action: who and why"),
        })


def _on_select() -> None:
    rows = st.session_state[_TABLE_KEY].selection.rows
    ids = st.session_state.get(_IDS_KEY) or []
    if rows and rows[0] < len(ids):
        st.query_params["attempt"] = ids[rows[0]]
    else:
        st.query_params.pop("attempt", None)


def _export(filters: HistoryFilter, scope) -> None:
    st.download_button(
        "Export CSV", auth.deferred(
            lambda: queries.history_csv(filters, tables.HISTORY_EXPORT, scope.zone)),
        file_name="callback-history.csv", mime="text/csv", icon=":material/download:",
        help=f"Every attempt matching the filters (at most {queries.EXPORT_LIMIT:,}), times in "
             f"{scope.zone_name}")


def _expanded(attempt_id: str, scope) -> None:
    found = queries.attempt(attempt_id, scope.brand_id)
    st.divider()
    if found is None:
        st.warning(f"No attempt with Attempt ID {markup.code(attempt_id)} in this brand.")
        return
    a = found
    sending, unknown = a["outcome"] == SENDING, a["outcome"] == UNKNOWN
    answer = ("no answer yet" if sending else "answer not recorded" if unknown else
              a["response_status"] or "no response")
    st.subheader(markup.text(
        f"{a['destination']} · attempt {a['attempt_no']} of "
        f"{max(a['attempt_no'], a['callback_attempts'] or 0)} · {answer} · {a['outcome']}"))
    beat = a["destination"] == contract.HEARTBEAT
    ids = st.columns(3)
    with ids[0]:
        components.copyable("Group ID (player session)" if beat else "Group ID (Bet ID)",
                            a["group_id"])
    with ids[1]:
        components.copyable("Attempt ID (X-Request-ID)", a["attempt_id"])
    with ids[2]:
        if beat:
            st.page_link(navigation.page("investigate"), label="Investigate this session",
                         icon=":material/troubleshoot:",
                         query_params=session_view.session_params(a["group_id"], a["brand"]))
        else:
            components.copyable("request_id (same on every retry)",
                                a["callback_request_id"] or "")
    zone = scope.zone
    st.markdown(f"{markup.code('POST ' + urls.join(a['base_url'], a['destination']))} · "
                f"brand **{markup.text(a['brand'])}** · origin {markup.text(a['origin'])} · "
                f"times in {markup.text(scope.zone_name)}")
    if a.get("manual_note"):
        st.caption(f"Sent again by action #{a['action_id']} (see the Actions page)")
        st.text(a["manual_note"])
    facts = {
        "Created at": format_time(a["callback_created_at"], zone),
        "Scheduled for": format_time(a["scheduled_at"], zone) or "—",
        "Sent at": format_time(a["started_at"], zone),
        "Finished at": format_time(a["finished_at"], zone) or "—",
        "Duration": _duration(a),
        "Next attempt": format_time(a["next_attempt_at"], zone) or "—",
        "Callback now": a["callback_state"] or "—",
    }
    if beat:
        del facts["Callback now"], facts["Next attempt"]
        facts["Next heartbeat"] = format_time(a["next_attempt_at"], zone) or "— (none after it)"
    for column, (name, value) in zip(st.columns(len(facts)), facts.items(), strict=False):
        column.caption(name)
        column.markdown(markup.text(value))
    if sending:
        st.info(f"**{SENDING_ERROR}** — the attempt started "
                f"{relative(a['started_at'], datetime.now(UTC))} and its answer is not "
                "recorded yet. The row is completed when the answer arrives; if the worker "
                "stops first, it is closed as outcome unknown and the callback is sent again "
                "with the same request_id.")
    elif unknown:
        st.warning(f"**Outcome unknown** — {markup.text(a['error_detail'] or UNKNOWN_DETAIL)}. "
                   "Ask the platform team to search their logs for Attempt ID "
                   f"{markup.code(a['attempt_id'])} (sent as X-Request-ID) and say whether they "
                   "received and applied it. " + (
                       "A heartbeat is not sent again: the session's next one replaces it."
                       if beat else _sent_again(a)))
    elif a["error_class"] or a["outcome"] == "rejected":
        st.error(f"**{markup.text(a['error_class'] or 'supported error')}** — "
                 f"{markup.text(a['error_detail'] or '')}"
                 + (f" (code {markup.code(a['error_code'])})" if a["error_code"] else ""))
    sent, headers, response = st.tabs(["Payload sent", "Request headers", "Response"])
    with sent:
        if beat:
            st.caption("Empty body: a heartbeat carries only the session's Foreign-Params "
                       "(under Request headers).")
        else:
            st.code(json.dumps(a["payload"], indent=2, ensure_ascii=False), language="json")
    with headers:
        st.caption("As sent, except what is masked when stored: the signature, credential "
                   "and cookie headers, and every Foreign-Params value but the brand's visible "
                   "keys, at any depth (`***#a1b2`: the same value shows the same four "
                   "characters, none of them the secret's).")
        headers = a["request_headers"] or {}
        params = tables.foreign_params(headers)
        st.code(json.dumps({k: v for k, v in headers.items()
                            if str(k).lower() != tables.FOREIGN_PARAMS_HEADER},
                           indent=2, ensure_ascii=False), language="json")
        if params is not None:
            st.markdown("**Foreign-Params**")
            shown = tables.params_table(params)
            st.dataframe(shown, hide_index=True, placeholder="",
                         height=components.table_height(len(shown), 10))
    with response:
        if sending:
            st.info("No answer recorded yet: the request is still out.")
        elif unknown:
            st.info("No answer was recorded: the worker stopped before it could write one.")
        elif a["response_status"] is None:
            st.info("No HTTP response: "
                    + markup.text(a["error_detail"] or a["error_class"] or ""))
        else:
            st.markdown(f"**HTTP {a['response_status']}** · Set-Cookie and credential headers "
                        "masked, and the session's values wherever the answer echoes them")
            st.code(json.dumps(a["response_headers"] or {}, indent=2), language="json")
            body, language = pretty_json(a["response_body"])
            st.code(body, language=language)
            if a["response_truncated"]:
                st.caption(f"Body cut at {contract.RESPONSE_BODY_CAP_BYTES // 1024} KiB.")


def _sent_again(attempt: dict) -> str:
    """What became of the callback after an attempt whose outcome is unknown."""
    same = "the same request_id" + (f" ({markup.code(attempt['callback_request_id'])})"
                                    if attempt["callback_request_id"] else "")
    state = attempt["callback_state"]
    if state in ("pending", "in_flight", "waiting"):
        return f"The callback is being sent again with {same}; the platform must apply it once."
    if state == "delivered":
        return f"The callback was sent again with {same} and delivered."
    return f"The callback was sent again with {same}" + (
        f"; it is now {markup.text(state)}." if state else ".")


def _duration(attempt: dict) -> str:
    """The request's duration, or why there is none."""
    measured = measured_ms(attempt["duration_ms"], attempt["outcome"])
    if measured is not None:
        return f"{measured:.1f} ms"
    if attempt["outcome"] == SENDING:
        return "— (in progress)"
    if attempt["outcome"] == UNKNOWN:
        return "— (not recorded)"
    return "—"
