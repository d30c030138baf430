"""Player sessions in the back-office, under AppTest, on sessions whose heartbeats went out
through the real heartbeat engine to a real HTTP server: Investigate's session lookup reaches
each verdict, Brand health shows the Sessions figure, and the bet views leave heartbeats out
unless asked — even those of a session whose id is a bet's."""
from __future__ import annotations

from datetime import UTC

import pandas as pd
import pytest
import sqlalchemy as sa
from dashboard_apptest import ADMIN, make_user, opened, texts
from dashboard_sessions import (
    HEARTBEATS_DELIVERED,
    HEARTBEATS_ENDED,
    HEARTBEATS_SENT,
    SESSION_VERDICTS,
    SHARED,
    build,
)
from databases import empty

from dashboard.session_verdicts import STYLE


@pytest.fixture(scope="module")
def sessions_db(engine):
    empty(engine)
    build(engine)
    make_user(engine, ADMIN)
    yield engine
    empty(engine)


@pytest.fixture
def open_page(sessions_db, reader_env):
    def run(page: str, **params):
        return opened(sessions_db, page, **params)
    return run


def _alerts(app) -> list[str]:
    return [e.value for kind in ("success", "info", "warning", "error")
            for e in getattr(app, kind)]


def _beats(engine, session_id: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(
            "SELECT id, outcome, response_status, error_code, started_at FROM attempts"
            " WHERE group_id = :sid AND destination = '/heartbeat'"
            " ORDER BY started_at DESC, id DESC"), {"sid": session_id})]


# --- Investigate: the session lookup --------------------------------------------------------

@pytest.mark.parametrize("session_id, verdict", sorted(SESSION_VERDICTS.items()))
def test_session_lookup_names_the_verdict(open_page, session_id, verdict):
    app = open_page("investigate", lookup="session", session=session_id)
    assert any(f"### {STYLE[verdict][0]}" in a for a in _alerts(app)), _alerts(app)
    assert f"Player session: {session_id}" in app.code[-1].value  # the ticket summary


def test_ended_by_platform_names_the_heartbeat_the_platform_refused(open_page, sessions_db):
    refused, delivered = _beats(sessions_db, "s-ended")
    assert refused["error_code"] == "auth_session_unknown"
    app = open_page("investigate", lookup="session", session="s-ended")
    [verdict] = [e.value for e in app.error]
    assert "The platform ended the session at" in verdict
    assert "answered `400 auth_session_unknown` to the heartbeat at" in verdict
    assert f"Attempt ID `{refused['id']}`" in verdict
    assert "2 heartbeat(s) were sent" in verdict
    assert "The logout came from the platform's side" in texts(app)
    table = app.dataframe[0].value  # newest first
    assert list(table["Attempt ID"]) == [str(refused["id"]), str(delivered["id"])]
    assert list(table["Outcome"]) == ["rejected", "delivered"]
    assert list(table["Response code"]) == ["400", "204"]
    assert len(app.get("vega_lite_chart")) == 1  # the heartbeat timeline


def test_failing_says_since_when_and_how_many_in_a_row(open_page, sessions_db):
    beats = _beats(sessions_db, "s-failing")
    assert [b["response_status"] for b in beats] == [503, 503, 204]
    app = open_page("investigate", lookup="session", session="s-failing")
    [verdict] = [e.value for e in app.error]
    assert "Heartbeats failing since" in verdict
    assert "2 in a row; last: HTTP 503" in verdict
    assert f"{beats[1]['started_at']:%Y-%m-%d %H:%M:%S} UTC" in verdict  # the first failure
    assert "their /heartbeat endpoint errors (HTTP 503)" in texts(app)
    assert f"{beats[0]['id']}, {beats[1]['id']}" in app.code[-1].value


def test_expired_and_live(open_page):
    expired = open_page("investigate", lookup="session", session="s-expired")
    [verdict] = [w.value for w in expired.warning]
    assert "We stopped sending heartbeats because the session expired at" in verdict
    assert "1 heartbeat(s) were sent" in verdict
    live = open_page("investigate", lookup="session", session="s-live")
    [verdict] = [s.value for s in live.success]
    assert "The session is live: the last heartbeat was delivered at" in verdict
    assert "(HTTP 204" in verdict
    assert "3 heartbeat(s) were sent" in verdict


def test_an_unknown_session_says_how_sessions_are_opened(open_page):
    app = open_page("investigate", lookup="session", session="s-nobody")
    [verdict] = [w.value for w in app.warning]
    assert "There is no player session `s-nobody`" in verdict
    assert "PUT /v1/brands/{brand}/sessions/{session_id}" in verdict
    assert not app.dataframe


def test_a_session_id_in_the_bet_box_leads_to_the_session(open_page):
    app = open_page("investigate", bet="s-failing")
    assert "No bet has the ID `s-failing`; a player session has" in texts(app)
    assert any("### Heartbeats failing" in a for a in _alerts(app))


# --- bet views leave heartbeats out ---------------------------------------------------------

def test_investigating_a_bet_ignores_a_session_of_the_same_id(open_page, sessions_db):
    assert len(_beats(sessions_db, SHARED)) == 3
    app = open_page("investigate", bet=SHARED)
    [verdict] = [s.value for s in app.success]
    assert "### Delivered" in verdict and "/heartbeat" not in verdict
    shown = pd.concat([d.value for d in app.dataframe if "Destination" in d.value.columns])
    assert set(shown["Destination"]) == {"/bet/place", "/bet/accept"}
    assert "/heartbeat" not in app.code[-1].value  # nor in the escalation summary
    links = [link.proto.label for link in app.get("page_link")]
    assert f"Player session {SHARED} · alpha" in links


def test_history_leaves_heartbeats_out_unless_asked(open_page):
    bets = open_page("history", group_ids=SHARED, window="Any time")
    assert sorted(bets.dataframe[0].value["Destination"]) == ["/bet/accept", "/bet/place"]
    assert "A pasted ID is a player session's" in texts(bets)
    every = open_page("history", window="Any time")
    assert "/heartbeat" not in set(every.dataframe[0].value["Destination"])
    both = open_page("history", group_ids=SHARED, window="Any time", heartbeats="true")
    table = both.dataframe[0].value
    assert sorted(table["Destination"]) == ["/bet/accept", "/bet/place"] + ["/heartbeat"] * 3
    assert set(table.loc[table["Destination"] == "/heartbeat", "Attempts"]) == {
        "heartbeat #1", "heartbeat #2", "heartbeat #3"}
    chosen = open_page("history", window="Any time", destination="/heartbeat")
    assert len(chosen.dataframe[0].value) == HEARTBEATS_SENT


def test_history_expands_a_heartbeat(open_page, sessions_db):
    [refused, _] = _beats(sessions_db, "s-ended")
    app = open_page("history", group_ids="s-ended", destination="/heartbeat",
                    attempt=str(refused["id"]))
    shown = texts(app)
    assert "Group ID (player session)" in shown
    assert "Empty body: a heartbeat carries only the session's Foreign-Params" in shown
    assert "secret-s-ended" not in shown
    assert "Investigate this session" in [link.proto.label for link in app.get("page_link")]


def test_breakdowns_count_bets_unless_heartbeats_are_included(open_page):
    bets = open_page("breakdowns")
    assert next(m for m in bets.metric if m.label == "Attempts").value == "2"
    both = open_page("breakdowns", heartbeats="true")
    assert next(m for m in both.metric if m.label == "Attempts").value == \
        f"{2 + HEARTBEATS_SENT:,}"


# --- Brand health: the Sessions figure ------------------------------------------------------

def test_brand_health_shows_sessions_and_bet_figures_without_heartbeats(open_page):
    app = open_page("health")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Live sessions"] == "4"  # shared-1, s-live, s-failing, s-new
    answered = (HEARTBEATS_DELIVERED + HEARTBEATS_ENDED) / HEARTBEATS_SENT  # 2 got a 503
    assert metrics["Heartbeat success (24 h)"] == f"{answered:.1%}"
    assert metrics["Ended by platform (24 h)"] == "1"
    assert metrics["Failing now"] == "1"
    sessions = next(d.value for d in app.dataframe if "Live now" in d.value.columns)
    row = sessions.set_index("Brand").loc["alpha"]
    assert (row["Live now"], row["Heartbeats"], row["Ended by platform"]) == (
        4, HEARTBEATS_SENT, 1)
    assert row["Success rate"] == pytest.approx(answered)
    assert "Player sessions" in [s.value for s in app.subheader]
    # The failed heartbeats do not make the bets' platform look down or failing.
    now = next(d.value for d in app.dataframe if d.value.columns[0] == "State")
    assert list(now["State"]) == ["🟢 healthy"]
    assert now.iloc[0]["Failed (15 min)"] == "0% of 2"
    compared = next(d.value for d in app.dataframe
                    if "Previous failure rate" in d.value.columns)
    assert compared.set_index("Brand").loc["alpha", "Attempts"] == 2


def test_the_lookup_switches_to_a_player_session_and_keeps_it_in_the_link(open_page):
    app = open_page("investigate")
    assert [t.label for t in app.text_input] == ["Bet ID"]
    app.button_group(key="_lookup").set_value("session").run()
    assert [t.label for t in app.text_input] == ["Player session ID"]
    assert dict(app.query_params)["lookup"] in ("session", ["session"])
    app.text_input(key="session").input("s-live").run()
    assert any("### Live" in a for a in _alerts(app))


def test_the_history_export_holds_heartbeats_only_when_asked(sessions_db, reader_env):
    import io
    from datetime import datetime

    from dashboard import queries, tables
    from dashboard.filters import EPOCH, HistoryFilter

    window = (EPOCH, datetime.now(UTC).replace(year=2100))
    bets = pd.read_csv(io.BytesIO(queries.history_csv(
        HistoryFilter(*window), tables.HISTORY_EXPORT, UTC)))
    assert sorted(bets["Destination"]) == ["/bet/accept", "/bet/place"]
    every = pd.read_csv(io.BytesIO(queries.history_csv(
        HistoryFilter(*window, heartbeats=True), tables.HISTORY_EXPORT, UTC)))
    beats = every[every["Destination"] == "/heartbeat"]
    assert len(beats) == HEARTBEATS_SENT
    assert beats["Callback request_id"].isna().all() and beats["Attempts"].isna().all()


def test_a_session_id_in_the_bets_filter_offers_the_session(open_page):
    app = open_page("bets", bet="s-ended")
    assert not app.dataframe
    assert "No bet has this ID; a player session has:" in texts(app)
    links = {link.proto.label: link.proto for link in app.get("page_link")}
    assert "Player session s-ended · alpha" in links
