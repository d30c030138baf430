"""The integration manager's actions in the back-office: Retry and Cancel on a bet, behind a
confirmation that shows the dry run. Layout only: the work is :mod:`actions.store`, the
same code and audit trail as ``callbacks retry`` and ``callbacks cancel``.

Pages show :func:`buttons` only to users allowed to act (integration managers and admins). The
actions run as the ``callbacks_operator`` role (migration 009): the pages' own role only reads.
Data (IDs, reasons, refusals) is shown with ``st.text``/``st.dataframe``, never as Markdown.
"""
from __future__ import annotations

import sqlalchemy as sa
import streamlit as st

from actions import store as actions
from actions.errors import ActionRefused
from delivery.errors import InvalidInput

from . import auth, connection, tables

#: Session key of the message an action leaves for the page it returns to.
_DONE = "_action_done"
#: What the dry run is run with (it is rolled back; the reason is never stored).
_PREVIEW_REASON = "dry run"


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> sa.Engine:
    return connection.make_operator_engine(url)


def engine() -> sa.Engine:
    """The engine actions run on (the callbacks_operator role)."""
    return _engine(connection.operator_url())


def permitted_user() -> str | None:
    """The name of the signed-in user when they may act on the queue (integration managers
    and admins), else None: the pages stay read-only."""
    user = auth.current_user()
    return user.name if auth.can(user, auth.ACT) else None


def buttons(bet_id: str, who: str, *, brand: str | None, key: str) -> None:
    """"Retry…" and "Cancel…" for one bet, each opening its confirmation; and what the last
    action did."""
    done = st.session_state.pop(_DONE, None)
    if done:
        st.success("Done — recorded in the audit trail (Actions page).")
        st.text(done)
    left, right = st.columns(2)
    if left.button("Retry…", key=f"{key}_retry", icon=":material/replay:",
                   help="Send this bet's exhausted callbacks (or its failed head) again now"):
        _retry_dialog(bet_id, who, brand)
    if right.button("Cancel…", key=f"{key}_cancel", icon=":material/block:",
                    help="Stop this bet's queued callbacks from being sent"):
        _cancel_dialog(bet_id, who, brand)


#: What an action's dialog answers itself: a refusal, or the database being unavailable (any
#: other database error is re-raised by :func:`_refused`, for the page's own boundary).
_FAILURES = (ActionRefused, sa.exc.DBAPIError, sa.exc.TimeoutError)


def _refused(exc: Exception) -> None:
    if isinstance(exc, (sa.exc.DBAPIError, sa.exc.TimeoutError)):
        reason = connection.unavailable_reason(exc)
        if reason is None:
            raise exc
        st.error(unavailable_message(reason))
        return
    st.error("Refused — nothing was changed.")
    st.text(str(exc))


def unavailable_message(reason: str) -> str:
    """The one line an action shows when the database is unavailable for ``reason``."""
    return (f"Database unavailable: cannot act as {connection.OPERATOR_ROLE} ({reason}). "
            "Nothing was changed. Try again in a moment; if it lasts, run `callbacks db "
            "upgrade` or set DASHBOARD_OPERATOR_DATABASE_URL.")


def _reason(key: str, example: str) -> str:
    return st.text_input("Reason", key=key, max_chars=500, placeholder=f"e.g. {example}",
                         help="Kept in the audit trail and shown in the callbacks' history")


def _reason_given(reason: str) -> bool:
    """Whether the confirmation may go ahead; else an error under the button. Checked when the
    button is pressed, not by disabling it: a text field commits its value on Enter or when it
    loses focus, so a button disabled until then would swallow the first click after typing."""
    if reason.strip():
        return True
    st.error("Type a reason first: it is kept in the audit trail. Nothing was changed.")
    return False


def _finish(result: actions.Result, what: str) -> None:
    st.session_state[_DONE] = (f"{result.kind} #{result.action_id}: {what} "
                               f"{len(result.changes)} callback(s) of bet "
                               f"{', '.join(result.bets)}")
    st.cache_data.clear()
    st.rerun()


@st.dialog("Retry this bet", width="large")
def _retry_dialog(bet_id: str, who: str, brand: str | None) -> None:
    st.caption("The bet's exhausted callbacks, or its head waiting for its next try, go out "
               "now with the same request_id, in the bet's order. Dry run:")
    include = st.checkbox("Also send delivered callbacks again (same request_id)",
                          key="act_retry_include")
    try:
        preview = actions.retry(engine(), bet_id, actions.Actor(who, _PREVIEW_REASON,
                                                                "dashboard"),
                                include_delivered=include, dry_run=True, brand=brand)
    except _FAILURES as exc:
        _refused(exc)
        return
    st.dataframe(tables.changes_table(preview.changes), hide_index=True, placeholder="")
    reason = _reason("act_retry_reason", "platform back after incident 42")
    count = len(preview.changes)
    if st.button(f"Send {count} callback(s) again", type="primary", key="act_retry_go") \
            and _reason_given(reason):
        try:
            result = actions.retry(engine(), bet_id, actions.Actor(who, reason, "dashboard"),
                                   include_delivered=include, brand=brand, expect=count)
        except (*_FAILURES, InvalidInput) as exc:
            _refused(exc)
            return
        _finish(result, "sent again")


@st.dialog("Cancel queued callbacks", width="large")
def _cancel_dialog(bet_id: str, who: str, brand: str | None) -> None:
    st.caption("Cancelled callbacks are not sent; they are marked skipped with your name and "
               "reason. Cancelling the bet's head cancels the callbacks behind it. Dry run:")
    try:
        preview = actions.cancel(engine(), bet_id, actions.Actor(who, _PREVIEW_REASON,
                                                                 "dashboard"),
                                 dry_run=True, brand=brand)
    except _FAILURES as exc:
        _refused(exc)
        return
    st.dataframe(tables.changes_table(preview.changes), hide_index=True, placeholder="")
    reason = _reason("act_cancel_reason", "duplicate bet, the sportsbook asked")
    count = len(preview.changes)
    if st.button(f"Cancel {count} callback(s)", type="primary", key="act_cancel_go") \
            and _reason_given(reason):
        try:
            result = actions.cancel(engine(), bet_id, actions.Actor(who, reason, "dashboard"),
                                    brand=brand, expect=count)
        except (*_FAILURES, InvalidInput) as exc:
            _refused(exc)
            return
        _finish(result, "cancelled")
