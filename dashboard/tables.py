"""Rows from the queries → the tables pages show: labels, the viewer's time zone, seed column
names. Pure (pandas only), so the column rules are tested without Streamlit."""
from __future__ import annotations

import json
from datetime import datetime

import pandas as pd

import contract
from delivery import changes
from delivery.records import CallbackState

from .shaping import (
    answer_class,
    attempts_label,
    bet_type_label,
    callback_trouble,
    format_time,
    measured_ms,
    odds_label,
    relative,
    response_code_label,
    response_error,
    stake_label,
)

CLOCK = "🕒"

STATUS_DOTS = {"NEW": "⚪", "PLACED": "🔵", "ACCEPTED": "🔵", "SETTLED": "🟢", "UNSETTLED": "🟠",
               "CASHED_OUT": "🟣", "DECLINED": "🔴", "PLACE_ERROR": "🔴"}

#: Callback history's columns as exported to CSV (query column → CSV header). An attempt still
#: sending has no Finished at; neither it nor an unknown one has a Duration (see measured_ms).
HISTORY_EXPORT = {
    "group_id": "Group ID", "attempt_id": "Attempt ID", "destination": "Destination",
    "callback_created_at": "Created at", "started_at": "Sent at", "attempt_no": "Attempt",
    "callback_attempts": "Attempts", "response_data": "Response data",
    "response_status": "Response code", "error_class": "Error class",
    "error_code": "Error code", "error_detail": "Response error", "outcome": "Outcome",
    "duration_ms": "Duration ms", "finished_at": "Finished at",
    "next_attempt_at": "Next attempt at",
    "callback_request_id": "Callback request_id", "brand": "Brand",
}


#: Time columns of the export, shown in the viewer's zone.
_EXPORT_TIMES = ("callback_created_at", "started_at", "finished_at", "next_attempt_at")
#: Whole-number columns of the export (kept whole where some rows have none).
_EXPORT_INTEGERS = ("response_status", "attempt_no", "callback_attempts")
#: First characters that make a spreadsheet read a cell as a formula (or hide it).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a CSV export writes it: a text cell that a spreadsheet would take for a
    formula gets a leading apostrophe, so it is shown, never computed."""
    safe = frame.copy()
    for name in safe.columns:
        column = safe[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            safe[name] = pd.Series(
                [f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v
                 for v in column], index=safe.index, dtype=column.dtype)
    return safe


def to_csv(frame: pd.DataFrame) -> bytes:
    """A frame as CSV for spreadsheets: RFC 4180 line ends, so a cell holding a line break
    (CR or LF) is quoted and stays one cell."""
    return frame.to_csv(index=False, lineterminator="\r\n").encode()


def history_export(rows: list[dict], columns: dict[str, str], zone) -> pd.DataFrame:
    """Callback history rows as the CSV export's frame: ``columns`` renamed, times in
    ``zone``, durations only where they were measured."""
    frame = pd.DataFrame(rows, columns=list(columns))
    for name in _EXPORT_TIMES:
        if name in frame:
            frame[name] = pd.to_datetime(frame[name], utc=True).dt.tz_convert(zone)
    if "duration_ms" in frame and "outcome" in frame:
        frame["duration_ms"] = [measured_ms(d, o) for d, o in
                                zip(frame["duration_ms"], frame["outcome"], strict=False)]
    for name in _EXPORT_INTEGERS:
        if name in frame:
            frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
    return csv_safe(frame.rename(columns=columns))


def breakdown_export(frame: pd.DataFrame, zone_name: str) -> pd.DataFrame:
    """The Breakdowns counts as exported: wall-clock time in the chosen zone, whole codes."""
    export = frame.drop(columns=["bucket"]).rename(columns={"time": f"time ({zone_name})"})
    if "response_status" in export:
        export["response_status"] = pd.array(
            [None if pd.isna(v) else int(v) for v in export["response_status"]], dtype="Int64")
    return csv_safe(export)


def status_cell(status: str | None) -> str:
    """A bet status with a coloured dot (tables hold text, not badges)."""
    return f"{STATUS_DOTS.get(status or '', '⚪')} {status or '?'}"


def bets_table(rows: list[dict], zone) -> pd.DataFrame:
    """The Bets list: clock, status, Bet ID, player, time, type, stake, odds, brand."""
    return pd.DataFrame([{
        "history": CLOCK,
        "Status": status_cell(r["status"]),
        "Bet ID": r["bet_id"],
        "Player": r["player_id"] or "",
        "Placed": format_time(r["placed_at"] or r["created_at"], zone),
        "Type": bet_type_label(r["bet_type"], len(r["odds"] or []), r["system_sizes"]),
        "Stake": stake_label(r["stake"]),
        "Odds": odds_label(r["bet_type"], r["odds"]),
        "Callbacks": callback_trouble(r.get("callbacks"), r.get("troubled"), r.get("last_state"),
                                      r.get("last_status")),
        "Attempts": r.get("attempts") or 0,
        "Brand": r["brand"],
    } for r in rows], columns=["history", "Status", "Bet ID", "Player", "Placed", "Type",
                               "Stake", "Odds", "Callbacks", "Attempts", "Brand"])


def sender_table(rows: list[dict], zone, now: datetime) -> pd.DataFrame:
    """Callback sender: one row per group, the seed's columns first."""
    return pd.DataFrame([{
        "Group ID": r["group_id"],
        "Send date": ("sending now" if r["state"] == CallbackState.IN_FLIGHT else
                      f"{format_time(r['send_date'], zone)} ({relative(r['send_date'], now)})"),
        "Created": format_time(r["created"], zone),
        "Attempts": r["attempts"],
        "Destination": r["destination"],
        "Last error": r["last_error"] or "",
        "Queued behind": r["waiting"],
        "Brand": r["brand"],
    } for r in rows], columns=["Group ID", "Send date", "Created", "Attempts", "Destination",
                               "Last error", "Queued behind", "Brand"])


def history_table(rows: list[dict], zone) -> pd.DataFrame:
    """Callback history: one row per attempt with the seed's columns; an attempt without an
    HTTP answer says why in its Response code (``— (timeout)``), never ``null``."""
    return pd.DataFrame([{
        "Group ID": r["group_id"],
        "Attempt ID": r["attempt_id"],
        "Destination": r["destination"],
        # to the minute, to keep the seed's columns in view (Sent at has the seconds)
        "Created at": format_time(r["callback_created_at"], zone, seconds=False),
        "Sent at": format_time(r["started_at"], zone),
        "Attempts": (f"heartbeat #{r['attempt_no']}" if r["destination"] == contract.HEARTBEAT
                     else attempts_label(r["attempt_no"], r["callback_attempts"])),
        # The seed's "null" for an empty body; nothing when there was no answer at all.
        "Response data": ("null" if r["response_data"] in (None, "")
                          and r["response_status"] is not None
                          else _one_line(r["response_data"]) or ""),
        "Response code": response_code_label(r["response_status"], r["outcome"],
                                             r["error_class"]),
        "Response error": response_error(r["error_class"], r["error_code"], r["error_detail"],
                                         r["outcome"]),
        "Outcome": r["outcome"],
        "ms": _round(measured_ms(r["duration_ms"], r["outcome"])),
        "Brand": r["brand"],
        "Sent by": r.get("manual_note") or "",
    } for r in rows], columns=["Group ID", "Attempt ID", "Destination", "Created at",
                               "Attempts", "Response data", "Response code", "Response error",
                               "Outcome", "Sent at", "ms", "Brand", "Sent by"])


def evidence_table(attempts: list[dict], zone) -> pd.DataFrame:
    """The investigator's attempts, oldest first; an attempt without an HTTP answer says why
    in its Response code (``— (timeout)``)."""
    return pd.DataFrame([{
        "Sent at": format_time(a["started_at"], zone),
        "Destination": a["destination"],
        "Attempt": a["attempt_no"],
        "Response code": response_code_label(a["response_status"], a["outcome"],
                                             a["error_class"]),
        "Answer": answer_class(a["response_status"], a["outcome"], a["error_class"]),
        "Outcome": a["outcome"],
        "Response error": response_error(a["error_class"], a["error_code"], a["error_detail"],
                                         a["outcome"]),
        "Response data": _one_line(a["response_body"]),
        "Attempt ID": a["attempt_id"],
        "Sent by": a.get("manual_note") or "",
    } for a in attempts], columns=["Sent at", "Destination", "Attempt", "Response code",
                                   "Answer", "Outcome", "Response error", "Response data",
                                   "Attempt ID", "Sent by"])


def heartbeats_table(attempts: list[dict], zone) -> pd.DataFrame:
    """A player session's heartbeats, newest first: when each went out, how it was answered,
    and its Attempt ID to send to the platform team."""
    return pd.DataFrame([{
        "Sent at": format_time(a["started_at"], zone),
        "#": a["attempt_no"],
        "Outcome": a["outcome"],
        "Response code": response_code_label(a["response_status"], a["outcome"],
                                             a["error_class"]),
        "Response error": response_error(a["error_class"], a["error_code"], a["error_detail"],
                                         a["outcome"]),
        "Attempt ID": a["attempt_id"],
        "ms": _round(measured_ms(a["duration_ms"], a["outcome"])),
        "Due at": format_time(a["scheduled_at"], zone),
    } for a in attempts], columns=["Sent at", "#", "Outcome", "Response code",
                                   "Response error", "Attempt ID", "ms", "Due at"])


def callbacks_table(callbacks: list[dict], zone) -> pd.DataFrame:
    """A bet's callbacks in group order with their queue state."""
    return pd.DataFrame([{
        "Destination": c["destination"],
        "State": c["state"],
        "Attempts": c["attempts"],
        "Created": format_time(c["created_at"], zone),
        "Next try": format_time(c["next_attempt_at"], zone),
        "Last error": c["last_error"] or "",
        "request_id": c["request_id"],
    } for c in callbacks], columns=["Destination", "State", "Attempts", "Created", "Next try",
                                    "Last error", "request_id"])


#: How each kind of action is named on the pages.
ACTION_LABELS = {"retry": "Retry", "recover": "Recover", "cancel": "Cancel",
                 "set_url": "Re-route"}


def action_target(row: dict) -> str:
    """What an action was aimed at, in a few words: a bet, a recover's filters, two URLs."""
    p = row.get("parameters") or {}
    if row["kind"] == "set_url":
        credentials = p.get("credentials")
        return (f"{p.get('old_url', '?')} → {p.get('new_url', '?')}"
                + (f" (Basic credentials {credentials})" if credentials else ""))
    if row["kind"] == "recover":
        parts = [f"since {p.get('since', '?')}", p.get("destination"),
                 p.get("outcome"), "incl. delivered" if p.get("include_delivered") else None]
        return " · ".join(x for x in parts if x)
    parts = [f"bet {row.get('bet_id')}", f"request_id {p['request_id']}"
             if p.get("request_id") else None,
             "incl. delivered" if p.get("include_delivered") else None]
    return " · ".join(x for x in parts if x)


def actions_table(rows: list[dict], zone) -> pd.DataFrame:
    """The audit trail: one row per action, newest first."""
    return pd.DataFrame([{
        "When": format_time(r["created_at"], zone),
        "Action": ACTION_LABELS.get(r["kind"], r["kind"]),
        "Who": r["actor"],
        "Reason": r["reason"],
        "Target": action_target(r),
        "Callbacks": r["callbacks"],
        "Bets": r["bets"],
        "From": r["source"],
        "Brand": r["brand"],
        "#": r["id"],
    } for r in rows], columns=["When", "Action", "Who", "Reason", "Target", "Callbacks",
                               "Bets", "From", "Brand", "#"])


def config_changes_table(rows: list[dict], zone) -> pd.DataFrame:
    """The configuration changes: one row each, newest first; before → after as recorded
    (secrets were masked before they were written)."""
    return pd.DataFrame([{
        "When": format_time(r["created_at"], zone),
        "Change": changes.label(r["kind"]),
        "Who": r["actor"],
        "OS user": r["os_user"],
        "Subject": r["subject"],
        "Before → after": changes.summary(r["before"], r["after"]),
        "Reason": r["reason"] or "",
        "Brand": r["brand"] or "(all)",
        "#": r["id"],
    } for r in rows], columns=["When", "Change", "Who", "OS user", "Subject", "Before → after",
                               "Reason", "Brand", "#"])


def bet_actions_table(rows: list[dict], zone) -> pd.DataFrame:
    """Investigate: the actions taken on one bet, oldest first."""
    return pd.DataFrame([{
        "When": format_time(r["created_at"], zone),
        "Action": ACTION_LABELS.get(r["kind"], r["kind"]),
        "Who": r["actor"],
        "Reason": r["reason"],
        "Callbacks of this bet": r["bet_callbacks"],
        "Of": r["callbacks"],
        "From": r["source"],
        "#": r["id"],
    } for r in rows], columns=["When", "Action", "Who", "Reason", "Callbacks of this bet",
                               "Of", "From", "#"])


def action_callbacks_table(rows: list[dict]) -> pd.DataFrame:
    """The callbacks one action changed: state before, after the action, and now."""
    return pd.DataFrame([{
        "Group ID": r["bet_id"], "Destination": r["destination"],
        "request_id": r["request_id"], "Before": r["state_before"],
        "After": r["state_after"], "Now": r["state_now"],
    } for r in rows], columns=["Group ID", "Destination", "request_id", "Before", "After",
                               "Now"])


def changes_table(changes) -> pd.DataFrame:
    """An action's dry run (``actions.plans.Change`` values): each callback it would change."""
    return pd.DataFrame([{
        "Group ID": c.callback.bet_id, "Destination": c.callback.destination,
        "request_id": c.callback.request_id, "Now": c.callback.state,
        "After": c.state + (" (due now)" if c.due_now else ""),
        "Attempts": c.callback.attempts,
    } for c in changes], columns=["Group ID", "Destination", "request_id", "Now", "After",
                                  "Attempts"])


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)


def _one_line(text: str | None, limit: int = 160) -> str | None:
    if text is None:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


# --- structures: restrictions and Foreign-Params --------------------------------------------

#: The Foreign-Params header, whatever case it was sent in.
FOREIGN_PARAMS_HEADER = "foreign-params"


def value_text(value: object) -> str:
    """A JSON value as a table cell: text as it is, ``null``/``true``/numbers as JSON, objects
    and lists as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def restrictions_table(restrictions: object) -> pd.DataFrame:
    """A bet's restrictions, one row per key of each one's context: Restriction (its type),
    Key, Value. A restriction in another shape is shown whole, under no key."""
    rows = []
    for item in restrictions if isinstance(restrictions, list) else [restrictions]:
        if isinstance(item, dict) and "type" in item:
            kind, context = item.get("type"), item.get("context")
        else:
            kind, context = "", item
        if isinstance(context, dict) and context:
            rows += [{"Restriction": value_text(kind), "Key": str(key), "Value": value_text(v)}
                     for key, v in context.items()]
        else:
            rows.append({"Restriction": value_text(kind), "Key": "",
                         "Value": "" if context is None else value_text(context)})
    return pd.DataFrame(rows, columns=["Restriction", "Key", "Value"])


def foreign_params(headers: object) -> object | None:
    """The Foreign-Params of stored request headers: the object (values masked as stored), the
    header's text when it is not JSON, or None when the request carried none."""
    if not isinstance(headers, dict):
        return None
    found = next((v for k, v in headers.items()
                  if str(k).lower() == FOREIGN_PARAMS_HEADER), None)
    if not isinstance(found, str):
        return found
    try:
        return json.loads(found)
    except ValueError:
        return found


def params_table(params: object) -> pd.DataFrame:
    """Foreign-Params as Key / Value rows: nested keys joined with dots (``player.pin``), list
    items by index (``devices[0]``); a header that is not an object is one row under no key."""
    rows = []
    stack: list[tuple[str, object]] = [("", params)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict) and value:
            stack.extend((f"{path}.{k}" if path else str(k), v)
                         for k, v in reversed(list(value.items())))
        elif isinstance(value, list) and value:
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))
        else:
            rows.append({"Key": path, "Value": value_text(value)})
    return pd.DataFrame(rows, columns=["Key", "Value"])


# --- reconciliations ------------------------------------------------------------------------

#: Columns of a reconciliation's bets CSV: the report's (reconcile.run.CSV_COLUMNS) and the
#: Request IDs of the callbacks named.
RECONCILE_CSV = ("bet_id", "verdict", "currency", "expected", "booked", "difference",
                 "player_id", "callbacks", "ledger_rows", "request_ids", "attempt_ids", "detail")


def reconcile_summary_table(summary_rows: list[dict]) -> pd.DataFrame:
    """A reconciliation's summary: one row per verdict and currency."""
    return pd.DataFrame(summary_rows, columns=["verdict", "currency", "bets", "expected",
                                               "booked", "difference"])


def reconcile_bets_table(bet_rows: list[dict], links: dict[str, dict[str, str]]
                         ) -> pd.DataFrame:
    """The bets that do not match, most telling first, with the links of each (``links``:
    ``{bet_id: {"investigate": url, "history": url}}``)."""
    return pd.DataFrame([{
        "Investigate": links.get(r["bet_id"], {}).get("investigate"),
        "History": links.get(r["bet_id"], {}).get("history"),
        "Bet ID": r["bet_id"], "Verdict": r["verdict"], "Currency": r["currency"],
        "Expected": r["expected"], "Booked": r["booked"], "Difference": r["difference"],
        "Player": r["player_id"], "Request IDs": r["attempt_ids"] or r["request_ids"],
        "Detail": r["detail"],
    } for r in bet_rows], columns=["Investigate", "History", "Bet ID", "Verdict", "Currency",
                                   "Expected", "Booked", "Difference", "Player", "Request IDs",
                                   "Detail"])


def reconcile_csv(bet_rows: list[dict]) -> bytes:
    """The bets CSV (spreadsheet-safe): the report's columns that the rows carry."""
    columns = [c for c in RECONCILE_CSV if not bet_rows or c in bet_rows[0]]
    return to_csv(csv_safe(pd.DataFrame(bet_rows, columns=columns)))


def reconciliations_table(past, zone) -> pd.DataFrame:
    """Past reconciliations, newest first (``past``: reconcile.store.Reconciliation)."""
    return pd.DataFrame([{
        "When": format_time(r.run_at, zone), "Who": r.run_by, "Ledger": r.ledger_name,
        "Rows": r.ledger_rows, "Bets": r.bets, "Match": r.matching,
        "Not matching": r.not_matching, "All match": r.all_match, "Brand": r.brand,
        "From": r.source, "#": r.id,
    } for r in past], columns=["When", "Who", "Ledger", "Rows", "Bets", "Match",
                               "Not matching", "All match", "Brand", "From", "#"])
