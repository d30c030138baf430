"""Callbacks → Reconcile: compare an operator's ledger with what we delivered to one brand, bet by
bet, and browse the brand's past reconciliations.

The ledger is uploaded, written to a temporary file that is deleted right after the run, and
compared through the page's scoped reader (:func:`reconcile.run.reconcile`). The report is kept
in the brand's history as the signed-in user's, through the ``callbacks_reconciler`` role, which
may add reconciliations of that brand and nothing else; the ledger file is kept with it only
when asked. ``?reconciliation=ID`` shows a recorded one. Every signed-in role may reconcile its
brands.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
import streamlit as st

from dashboard import auth, charts, components, connection, markup, navigation, queries, tables
from dashboard.shaping import format_time, history_params
from delivery import brands as delivery_brands
from reconcile import ledger as ledger_file
from reconcile import run as reconciliation
from reconcile import store
from reconcile.verdicts import MEANINGS, Verdict

#: The ledger columns a person may map to other names, with what each holds.
MAPPED = {"bet_id": "the bet's id (required)", "amount": "signed movement (required)",
          "request_id": "the callback's request id", "player_id": "the player",
          "at": "when it was booked", "currency": "the wallet's currency"}
_SHOWN_KEY = "reconcile_shown"
_PAST_KEY = "reconcile_past"


@dataclass(frozen=True)
class Shown:
    """A reconciliation as the page shows it: a fresh report or a recorded one."""

    brand: str
    ledger_name: str
    ledger_rows: int
    by_request: bool
    summary: list[dict]
    bets: list[dict]
    left_out: int
    run_by: str
    run_at: datetime
    reconciliation_id: int | None = None
    kept_file: bool = False


@st.cache_resource(show_spinner=False)
def _reconciler_engine(url: str, brand_id: int):
    return connection.reconciler_engine(url, brand_id)


@components.guarded
def render() -> None:
    """The page body."""
    scope = components.scope()
    components.page_header(
        "Reconcile", "Compare the operator's ledger of balance movements with what our callbacks "
                     "asked, bet by bet. Files are processed without being stored beyond the "
                     "report unless asked.")
    engine = queries.engine()
    if scope.brand_id is None:
        st.info("Pick one brand in the sidebar: a reconciliation compares one brand's ledger.")
        _past(engine, None, scope)
        return
    _form(engine, scope)
    shown = st.session_state.get(_SHOWN_KEY)
    if shown is not None and shown.brand == scope.brand_name:
        _show(shown, scope, engine)
    _past(engine, scope.brand_id, scope)


def _form(engine: sa.Engine, scope) -> None:
    with st.form("reconcile_form", border=True):
        upload = st.file_uploader("Ledger (CSV or Parquet)", type=["csv", "parquet"],
                                  key="reconcile_ledger",
                                  help="One row per balance movement: bet_id and a signed "
                                       "amount, and optionally request_id, player_id, at, "
                                       "currency.")
        with st.expander("Column names, when the ledger calls them otherwise"):
            cols = st.columns(3)
            mapped = {name: cols[i % 3].text_input(name, key=f"reconcile_col_{name}",
                                                   placeholder=name, help=what)
                      for i, (name, what) in enumerate(MAPPED.items())}
        left, middle, right = st.columns(3)
        since = left.datetime_input("Bets created since", value=None, key="reconcile_since",
                                    format="YYYY-MM-DD", help=f"In {scope.zone_name}; empty: "
                                                              "from the first")
        until = middle.datetime_input("…and before", value=None, key="reconcile_until",
                                      format="YYYY-MM-DD", help="Empty: up to now")
        exported = right.datetime_input(
            "Ledger exported at", value=None, key="reconcile_exported", format="YYYY-MM-DD",
            help=f"In {scope.zone_name}. A callback we delivered after it is not expected in "
                 "this ledger (not_delivered_yet); empty: every delivered callback must be "
                 "in it.")
        keep = st.checkbox("Keep the ledger file with the report", key="reconcile_keep",
                           help="Otherwise the file is deleted as soon as it is read; the "
                                "report (summary and the bets that do not match) is kept.")
        pressed = st.form_submit_button("Run", type="primary", icon=":material/balance:")
    if not pressed:
        return
    if upload is None:
        st.warning("Choose a ledger file first.")
        return
    since = since.replace(tzinfo=scope.zone) if since else None
    exported = exported.replace(tzinfo=scope.zone) if exported else None
    until = until.replace(tzinfo=scope.zone) if until else None
    if since and until and until <= since:
        st.warning("“…and before” must be after “Bets created since”.")
        return
    columns = {ours: theirs.strip() for ours, theirs in mapped.items()
               if theirs and theirs.strip() and theirs.strip() != ours}
    _run(engine, scope, upload.name, upload.getvalue(), columns, since, until, exported, keep)


def _run(engine: sa.Engine, scope, name: str, data: bytes, columns: dict[str, str],
         since, until, exported, keep: bool) -> None:
    user = auth.current_user()
    target = reconciliation.Scope(scope.brand_id, scope.brand_name,
                                  delivery_brands.currency_of(engine, scope.brand_id))
    bar = st.progress(0.0, text="starting")
    suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in (".csv",
                                                                         ".parquet") else ""
    handle, path = tempfile.mkstemp(prefix="callbacks-ledger-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        report = reconciliation.reconcile(
            engine, target, path, columns=columns or None, since=since, until=until,
            exported_at=exported, archive=queries.archive(), ledger_name=name,
            progress=lambda fraction, text: bar.progress(min(1.0, fraction), text=text))
    except ledger_file.LedgerError as exc:
        bar.empty()
        st.error(markup.text(str(exc).splitlines()[0], limit=600))
        return
    finally:
        Path(path).unlink(missing_ok=True)
    bar.empty()
    recorded = None
    try:
        recorded = store.save(_reconciler_engine(connection.reconciler_url(), scope.brand_id),
                              target, report, user.name, data if keep else None)
    except sa.exc.SQLAlchemyError as exc:
        components.log.warning("a reconciliation could not be recorded: %s", exc)
        st.warning("The report is shown but could not be kept in the brand's history (the "
                   "callbacks_reconciler role is missing or refused): run `callbacks db "
                   "upgrade`, or set DASHBOARD_RECONCILER_DATABASE_URL.")
    st.session_state[_SHOWN_KEY] = Shown(
        scope.brand_name, name, report.ledger.rows, report.by_request, report.summary.rows(),
        [report.bet_row(r) for r in report.mismatches], report.left_out, user.name,
        report.started_at, recorded, keep and recorded is not None)
    st.session_state.pop(_PAST_KEY, None)


def _show(shown: Shown, scope, engine: sa.Engine) -> None:
    st.subheader(f"{markup.text(shown.ledger_name)}: "
                 + ("every bet matches" if all(r["verdict"] == Verdict.MATCH
                                                for r in shown.summary) else
                    "some bets do not match"))
    st.caption(f"{shown.ledger_rows:,} ledger rows · run by {markup.text(shown.run_by)} · "
               f"{format_time(shown.run_at, scope.zone)} ({scope.zone_name})")
    if not shown.summary:
        components.no_data("No bets: the ledger and our callbacks are both empty for this "
                           "brand in this window.")
        return
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.dataframe(tables.reconcile_summary_table(shown.summary), hide_index=True,
                     height=components.table_height(len(shown.summary)))
    with right:
        chart = charts.verdict_bars(shown.summary)
        st.altair_chart(chart, width="stretch", height=chart.height)
    method = ("movements paired with our callbacks by request_id" if shown.by_request else
              "the ledger has no request_id: each bet's net amounts compared")
    st.text(f"Compared: {method}.")
    if shown.bets:
        st.markdown("**Bets that do not match**, most telling first")
        for verdict in sorted({b["verdict"] for b in shown.bets}):
            meaning = MEANINGS.get(verdict)
            if meaning:
                st.text(f"{verdict}: {meaning}")
        frame = tables.reconcile_bets_table(shown.bets, _links(shown.bets, shown.brand))
        st.dataframe(frame, hide_index=True, height=components.table_height(len(frame)),
                     column_config={
                         "Investigate": st.column_config.LinkColumn(
                             " ", display_text="Investigate", width=90),
                         "History": st.column_config.LinkColumn(
                             " ", display_text="History", width=70),
                         "Bet ID": st.column_config.TextColumn(width=160),
                         "Detail": st.column_config.TextColumn(width="large")})
        if shown.left_out:
            st.caption(f"… and {shown.left_out:,} more bets that do not match, not kept in the "
                       "report (run `callbacks reconcile --csv OUT` for every bet).")
    key = shown.reconciliation_id or "new"
    cols = st.columns([1, 1, 3])
    cols[0].download_button("Download report (CSV)", tables.reconcile_csv(shown.bets),
                            file_name=f"reconciliation-{key}.csv", mime="text/csv",
                            icon=":material/download:", key=f"reconcile_csv_{key}")
    if shown.kept_file and shown.reconciliation_id is not None:
        kept = store.ledger_file_of(engine, shown.reconciliation_id)
        if kept is not None:
            cols[1].download_button("Download the ledger file", kept[1], file_name=kept[0],
                                    icon=":material/download:",
                                    key=f"reconcile_ledger_{key}")


def _links(bets: list[dict], brand: str | None) -> dict[str, dict[str, str]]:
    keep = {"brand": brand} if brand else {}
    return {b["bet_id"]: {
        "investigate": navigation.href("investigate", {**keep, "bet": b["bet_id"]}),
        "history": navigation.href("history", {**keep, **history_params(b["bet_id"])})}
        for b in bets}


def _past(engine: sa.Engine, brand_id: int | None, scope) -> None:
    st.divider()
    st.subheader("Past reconciliations")
    past = store.past(engine, None if brand_id is None else [brand_id])
    if not past:
        components.no_data("No reconciliations yet" + (" of this brand." if brand_id else
                                                       " of your brands."))
        return
    frame = tables.reconciliations_table(past, scope.zone)
    event = st.dataframe(frame, hide_index=True, key=_PAST_KEY, on_select="rerun",
                         selection_mode="single-row",
                         height=components.table_height(len(frame), 10),
                         column_order=[c for c in frame.columns
                                       if c != "Brand" or brand_id is None],
                         column_config={"When": st.column_config.TextColumn(
                             f"When ({scope.zone_name})")})
    selected = event.selection.rows if event else []
    if selected:
        st.query_params["reconciliation"] = str(past[selected[0]].id)
    wanted = st.query_params.get("reconciliation")
    if not wanted:
        st.caption("Select a row to see its summary and bets.")
        return
    chosen = next((r for r in past if str(r.id) == wanted), None)
    if chosen is None:
        st.warning(f"Reconciliation {markup.code(wanted)} is not one of "
                   + ("this brand's." if brand_id else "your brands'."))
        return
    st.divider()
    _show(Shown(chosen.brand, chosen.ledger_name, chosen.ledger_rows, chosen.by_request,
                chosen.summary, store.bets_of(engine, chosen.id), chosen.left_out,
                chosen.run_by, chosen.run_at, chosen.id, chosen.kept_file), scope, engine)
