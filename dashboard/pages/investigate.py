"""Investigate — paste a Bet ID, get one verdict with its evidence and the next step; or look
up a player session (the player says they were logged out)."""
from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from .. import acting, components, markup, navigation, queries, session_view, tables, verdicts
from ..filters import format_group_ids
from ..shaping import bet_type_label, format_time, history_params, stake_label

PATH = (
    ("Any callback at all? If not, is it queued?", (verdicts.NO_TRACE, verdicts.QUEUED)),
    ("All 2xx — we did our part; the problem is downstream.", (verdicts.DELIVERED,)),
    ("A supported 4xx — a normal business answer.", (verdicts.SUPPORTED_ERROR,)),
    ("An unsupported 4xx — the platform's handler is wrong.", (verdicts.HANDLER_BUG,)),
    ("A 5xx — the platform's endpoint errored.", (verdicts.PLATFORM_ERROR,)),
    ("No usable answer yet — retrying on schedule.", (verdicts.RETRYING,)),
    ("A request is out now — its answer is not recorded yet.", (verdicts.IN_FLIGHT,)),
    ("The worker stopped before recording the answer — outcome unknown; sent again.",
     (verdicts.OUTCOME_UNKNOWN,)),
    ("Retry limit reached — we gave up.", (verdicts.GAVE_UP,)),
    ("Cancelled by an integration manager — not sent.", (verdicts.CANCELLED,)),
)
_TONES = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}
#: What the page looks up, as in its URL (``?lookup=session``).
BET_LOOKUP, SESSION_LOOKUP = "bet", "session"
_LOOKUPS = {BET_LOOKUP: "A bet's callbacks", SESSION_LOOKUP: "A player session"}


@components.guarded
def render() -> None:
    scope = components.scope()
    # The lookup is in the URL as ?lookup=session (a bound widget would write its label).
    linked = SESSION_LOOKUP if (st.query_params.get("lookup") == SESSION_LOOKUP
                                or st.query_params.get("session")) else BET_LOOKUP
    address = (st.query_params.get("lookup"), st.query_params.get("session"))
    if "_lookup" not in st.session_state or st.session_state.get("_lookup_address") != address:
        st.session_state["_lookup"] = linked  # a link followed: it says what to look up
    st.session_state["_lookup_address"] = address
    if st.session_state["_lookup"] == SESSION_LOOKUP:
        components.page_header(
            "Investigate a logged-out player",
            "Paste a player session's ID: the page shows its heartbeats and says why the "
            "platform may have logged the player out, and what to do next.")
    else:
        components.page_header(
            "Investigate a missing notification",
            "Paste a Bet ID: the page walks the decision path for you and says what happened, "
            "with the rows that prove it and what to do next.")
    lookup = st.segmented_control("Look up", list(_LOOKUPS), format_func=_LOOKUPS.get,
                                  key="_lookup", label_visibility="collapsed",
                                  on_change=_switch_lookup)
    if lookup == SESSION_LOOKUP:
        _session(scope)
        return
    bet_id = components.text_filter("Bet ID", "bet", "e.g. bet-7c1e…", "Bet ID")
    if not bet_id:
        st.caption("The Bet ID comes from the player, or from the Bets list.")
        return
    found = queries.investigation(bet_id, scope.brand_id)
    if (found["bet"] is None and not found["callbacks"] and not found["attempts"]
            and not found["other_brand"]
            and queries.sessions_named((bet_id,), scope.brand_id)):
        st.caption(f"No bet has the ID {markup.code(bet_id)}; a player session has: here it "
                   "is.")
        session_view.render(bet_id, scope)
        return
    now = datetime.now(UTC)
    brand = scope.brand or {}
    max_attempts = len(brand["retry_schedule_s"]) if brand.get("retry_schedule_s") else None
    verdict = verdicts.investigate(bet_id, found["bet"], found["callbacks"], found["attempts"],
                                   now, max_attempts=max_attempts,
                                   other_brand=found["other_brand"],
                                   timeout_s=(found["bet"] or {}).get("timeout_s"))

    _TONES[verdict.tone](f"### {verdict.title}\n{verdict.explanation}")
    if found.get("archived"):
        st.caption("Part of this bet's history is older than the retention and was read from "
                   "the archive.")
    st.markdown(f"**Next step:** {verdict.next_step}")

    left, right = st.columns([3, 2], gap="large")
    with left:
        _evidence(verdict, found, scope)
        _actions_taken(bet_id, scope)
    with right:
        _bet(found["bet"], scope)
        _foreign_params(found["attempts"])
        st.markdown("**Decision path**")
        st.markdown("\n".join(
            f"{i}. {'**→ ' + text + '**' if verdict.key in keys else text}"
            for i, (text, keys) in enumerate(PATH, start=1)))
        if found["callbacks"] or found["attempts"]:
            st.page_link(navigation.page("history"), label="Open in Callback history",
                         icon="🕒", query_params=history_params(bet_id))
        if verdict.key in (verdicts.QUEUED, verdicts.RETRYING, verdicts.PLATFORM_ERROR,
                           verdicts.HANDLER_BUG, verdicts.IN_FLIGHT, verdicts.OUTCOME_UNKNOWN):
            st.page_link(navigation.page("sender"), label="Open in Callback sender",
                         icon=":material/outbox:",
                         query_params={"group_ids": format_group_ids([bet_id])})
        session_view.offer((bet_id,), scope, note="A player session has this ID too; its "
                                                   "heartbeats are not part of this bet.")
        who = acting.permitted_user()
        if who and found["bet"]:
            st.markdown("**Act on this bet**")
            acting.buttons(bet_id, who, brand=found["bet"]["brand"], key="investigate")
    st.markdown("**Escalation summary** — copy it into the ticket")
    st.code(verdicts.escalation_summary(bet_id, verdict, found["bet"], found["callbacks"],
                                        found["attempts"], now, scope.brand_name),
            language=None, wrap_lines=True)


def _switch_lookup() -> None:
    """Keep the chosen lookup in the URL, so a link reproduces it."""
    if st.session_state.get("_lookup") == SESSION_LOOKUP:
        st.query_params["lookup"] = SESSION_LOOKUP
    else:
        st.query_params.pop("lookup", None)
        st.query_params.pop("session", None)


def _session(scope) -> None:
    session_id = components.text_filter("Player session ID", "session", "e.g. sess-4f0a…",
                                        "session id")
    if not session_id:
        st.caption("The session ID is the one the sportsbook opened the session with "
                   "(PUT /v1/brands/{brand}/sessions/{session_id}); ask the sportsbook team "
                   "for the player's.")
        return
    session_view.render(session_id, scope)


def _evidence(verdict: verdicts.Verdict, found: dict, scope) -> None:
    chosen = set(verdict.evidence)
    evidence = [a for a in found["attempts"] if a["attempt_id"] in chosen]
    if evidence:
        st.markdown("**Evidence** — the attempts behind the verdict")
        st.dataframe(tables.evidence_table(evidence, scope.zone), hide_index=True,
                     placeholder="")
    if found["callbacks"]:
        st.markdown("**Callbacks of this bet**, in the order they are delivered")
        st.dataframe(tables.callbacks_table(found["callbacks"], scope.zone), hide_index=True,
                     placeholder="")
    others = [a for a in found["attempts"] if a["attempt_id"] not in chosen]
    if others:
        with st.expander(f"Other attempts of this bet ({len(others)})"):
            st.dataframe(tables.evidence_table(others, scope.zone), hide_index=True,
                         placeholder="")


def _actions_taken(bet_id: str, scope) -> None:
    """The integration manager's actions on this bet (read-only here)."""
    taken = queries.bet_actions(bet_id, scope.brand_id)
    st.markdown("**Actions taken on this bet**")
    if not taken:
        st.caption("None: no retry, recover or cancel has touched this bet's callbacks.")
        return
    st.dataframe(tables.bet_actions_table(taken, scope.zone), hide_index=True,
                 placeholder="", column_config={
                     "Reason": st.column_config.TextColumn(width=260),
                     "#": st.column_config.NumberColumn(help="The action's number in the "
                                                             "audit trail (Actions page)")})


def _bet(bet: dict | None, scope) -> None:
    if not bet:
        return
    components.status_badge(bet["status"])
    components.copyable("Bet ID", bet["bet_id"])
    kind = bet_type_label(bet["bet_type"], len(bet["odds"] or []), bet["system_sizes"])
    st.markdown(f"**Player** {markup.code(bet['player_id'] or '—')} · "
                f"**Type** {markup.text(kind)} · "
                f"**Stake** {markup.text(stake_label(bet['stake'], bet.get('currency')) or '—')}"
                " · "
                f"**Brand** {markup.text(bet['brand'])}  \n"
                f"**Created** {format_time(bet['created_at'], scope.zone)} "
                f"({markup.text(scope.zone_name)})")
    if bet["restrictions"]:
        st.markdown("**Restrictions**")
        restrictions = tables.restrictions_table(bet["restrictions"])
        st.dataframe(restrictions, hide_index=True, placeholder="",
                     height=components.table_height(len(restrictions), 8))


def _foreign_params(attempts: list[dict]) -> None:
    """The Foreign-Params the bet's latest attempt carried, as stored (values masked)."""
    sent = [p for p in (tables.foreign_params(a.get("request_headers")) for a in attempts)
            if p is not None]
    if not sent:
        return
    st.markdown("**Foreign-Params** of the latest attempt")
    params = tables.params_table(sent[-1])
    st.dataframe(params, hide_index=True, placeholder="",
                 height=components.table_height(len(params), 8))
    st.caption("Masked when stored (`***#a1b2`: the same value shows the same four "
               "characters), but the keys the brand declared visible.")
