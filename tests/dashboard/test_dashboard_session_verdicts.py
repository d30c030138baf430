"""The session investigator's verdicts from plain values: one session row and its heartbeats,
newest first."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard import markup
from dashboard.session_verdicts import (
    CLOSED,
    ENDED_BY_PLATFORM,
    EXPIRED,
    FAILING,
    LIVE,
    NOT_YET,
    OVERDUE,
    SESSION_VERDICTS,
    STYLE,
    UNKNOWN_SESSION,
    failure_run,
    judge,
    summary,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
OPENED = NOW - timedelta(hours=1)


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def session(**changes) -> dict:
    row = dict(session_id="s-1", brand="alpha", state="live", heartbeat_interval_s=60,
               expires_at=None, next_beat_at=NOW + timedelta(seconds=30), heartbeats_sent=3,
               failures_in_row=0, failing_since=None, last_status=204,
               last_outcome="delivered", last_error=None, last_at=at(0.5), opened_at=OPENED,
               refreshed_at=OPENED, ended_at=None)
    row.update(changes)
    return row


def beat(n: int, minutes_ago: float, outcome: str = "delivered", status: int | None = 204,
         error_code: str | None = None, error_class: str | None = None) -> dict:
    started = at(minutes_ago)
    return dict(attempt_id=f"req-{n}", attempt_no=n, started_at=started,
                finished_at=None if outcome == "sending" else started + timedelta(seconds=0.2),
                scheduled_at=started, response_status=status, outcome=outcome,
                error_code=error_code, error_class=error_class, error_detail=None,
                duration_ms=200.0, next_attempt_at=None)


def plain(text: str) -> str:
    return markup.plain(text)


def test_every_verdict_has_a_title_and_a_tone():
    assert set(STYLE) == set(SESSION_VERDICTS)
    assert {tone for _, tone in STYLE.values()} <= {"success", "info", "warning", "error"}


def test_unknown_session_says_how_sessions_are_opened():
    verdict = judge("s-9", None, [], NOW, brand="alpha")
    assert verdict.key == UNKNOWN_SESSION
    assert "no player session `s-9` in brand **alpha**" in verdict.explanation
    assert "PUT /v1/brands/{brand}/sessions/{session_id}" in verdict.explanation
    assert "callbacks session open" in verdict.explanation
    assert "Check the session id" in verdict.next_step


def test_unknown_session_of_another_brand_says_which():
    verdict = judge("s-9", None, [], NOW, brand="alpha", other_brands=("bravo",))
    assert verdict.key == UNKNOWN_SESSION
    assert "brand **bravo** has one" in verdict.explanation
    assert verdict.next_step.startswith("Switch the brand selector to bravo")


def test_ended_by_platform_names_the_heartbeat_refused_and_when():
    beats = [beat(3, 1, "rejected", 400, "auth_session_unknown"), beat(2, 2), beat(1, 3)]
    row = session(state="ended_by_platform", ended_at=at(1) + timedelta(seconds=0.2),
                  next_beat_at=None, failures_in_row=1, failing_since=at(1))
    verdict = judge("s-1", row, beats, NOW)
    assert verdict.key == ENDED_BY_PLATFORM and verdict.tone == "error"
    text = plain(verdict.explanation)
    assert text.startswith("The platform ended the session at 2026-12-05 11:59:00 UTC")
    assert "(answered 400 auth_session_unknown to the heartbeat at 2026-12-05 11:59:00 UTC, " \
           "Attempt ID req-3)" in text
    assert "3 heartbeat(s) were sent" in text
    assert "Before that" not in text
    assert verdict.evidence == ("req-3",)
    assert "The logout came from the platform's side" in verdict.next_step


def test_ended_by_platform_after_failures_says_the_platform_may_have_missed_them():
    beats = [beat(3, 1, "rejected", 400, "auth_session_unknown"),
             beat(2, 2, "failed", None, error_class="timeout"), beat(1, 3)]
    verdict = judge("s-1", session(state="ended_by_platform", ended_at=at(1)), beats, NOW)
    assert "Before that, 1 heartbeat(s) in a row had failed" in verdict.explanation


def test_failing_says_since_when_how_many_and_the_last_answer():
    beats = [beat(4, 1, "failed", 503), beat(3, 2, "failed", 503),
             beat(2, 3, "failed", None, error_class="timeout"), beat(1, 4)]
    row = session(failures_in_row=3, failing_since=at(3), last_status=503,
                  last_outcome="failed")
    verdict = judge("s-1", row, beats, NOW)
    assert verdict.key == FAILING and verdict.tone == "error"
    text = plain(verdict.explanation)
    assert text.startswith("Heartbeats failing since 2026-12-05 11:57:00 UTC (3 min ago): 3 in "
                           "a row; last: HTTP 503 at 2026-12-05 11:59:00 UTC (Attempt ID "
                           "req-4)")
    assert verdict.evidence == ("req-4", "req-3", "req-2")
    assert verdict.at == at(3)
    assert "errors (HTTP 503)" in verdict.next_step


def test_failing_longer_than_the_heartbeats_read_trusts_the_session_row():
    beats = [beat(900, 1, "failed", None, error_class="timeout")]
    row = session(failures_in_row=400, failing_since=at(400))
    verdict = judge("s-1", row, beats, NOW)
    assert verdict.key == FAILING
    assert "400 in a row" in verdict.explanation
    assert verdict.at == at(400)
    assert "not reachable or does not answer" in verdict.next_step


def test_a_heartbeat_in_flight_is_not_a_failure_nor_the_last_answer():
    beats = [beat(3, 0.1, "sending", None), beat(2, 1), beat(1, 2)]
    run = failure_run(session(), beats)
    assert run.count == 0
    verdict = judge("s-1", session(), beats, NOW)
    assert verdict.key == LIVE
    assert "A heartbeat is out right now (Attempt ID `req-3`" in verdict.explanation


def test_expired_says_we_stopped_when_its_end_came():
    row = session(state="expired", expires_at=at(10), ended_at=at(10), next_beat_at=None)
    verdict = judge("s-1", row, [beat(2, 11), beat(1, 12)], NOW)
    assert verdict.key == EXPIRED
    assert plain(verdict.explanation).startswith(
        "We stopped sending heartbeats because the session expired at 2026-12-05 11:50:00 UTC "
        "(10 min ago)")
    assert "did not refresh it" in verdict.next_step


def test_expired_while_failing_says_so():
    row = session(state="expired", expires_at=at(10), ended_at=at(10), next_beat_at=None,
                  failures_in_row=2, failing_since=at(12))
    beats = [beat(3, 11, "failed", 502), beat(2, 12, "failed", 502), beat(1, 13)]
    verdict = judge("s-1", row, beats, NOW)
    assert verdict.key == EXPIRED
    assert "Its last 2 heartbeat(s) had failed since 2026-12-05 11:48:00 UTC (last: HTTP 502)" \
        in plain(verdict.explanation)


def test_closed_by_the_producer():
    row = session(state="closed", ended_at=at(5), next_beat_at=None)
    verdict = judge("s-1", row, [beat(1, 6)], NOW)
    assert verdict.key == CLOSED and verdict.tone == "info"
    assert plain(verdict.explanation).startswith(
        "The producer (the sportsbook) closed the session at 2026-12-05 11:55:00 UTC (5 min ago)")
    assert "Nothing is wrong on the platform's side" in verdict.next_step


def test_live_names_the_last_heartbeat_delivered():
    verdict = judge("s-1", session(), [beat(3, 0.5), beat(2, 1.5), beat(1, 2.5)], NOW)
    assert verdict.key == LIVE and verdict.tone == "success"
    text = plain(verdict.explanation)
    assert text.startswith("The session is live: the last heartbeat was delivered at "
                           "2026-12-05 11:59:30 UTC")
    assert "(HTTP 204, Attempt ID req-3)" in text
    assert "The next is due in 30 s" in text
    assert verdict.evidence == ("req-3",)


def test_no_heartbeat_yet_says_when_the_first_is_due():
    row = session(heartbeats_sent=0, last_status=None, last_outcome=None, last_at=None,
                  opened_at=at(0.2), next_beat_at=NOW + timedelta(seconds=40))
    verdict = judge("s-1", row, [], NOW)
    assert verdict.key == NOT_YET
    assert "the first is due at 2026-12-05 12:00:40 UTC (in 40 s)" in plain(verdict.explanation)


@pytest.mark.parametrize("sent, beats", [(0, []), (3, [beat(3, 20), beat(2, 21)])])
def test_a_heartbeat_long_past_due_says_nothing_is_sending_them(sent, beats):
    row = session(heartbeats_sent=sent, next_beat_at=at(19))
    verdict = judge("s-1", row, beats, NOW)
    assert verdict.key == OVERDUE
    assert "(19 min late)" in verdict.explanation
    assert "scheduler and worker are running" in verdict.next_step


def test_a_heartbeat_a_little_late_is_still_live():
    row = session(next_beat_at=NOW - timedelta(seconds=20))
    assert judge("s-1", row, [beat(3, 1)], NOW).key == LIVE


def test_summary_for_a_ticket_is_plain_text_with_the_attempt_ids():
    beats = [beat(2, 1, "failed", 503), beat(1, 2)]
    row = session(failures_in_row=1, failing_since=at(1))
    verdict = judge("s-1", row, beats, NOW)
    text = summary("s-1", row, verdict, beats, NOW)
    assert text.splitlines()[:3] == ["Player session: s-1", "Brand: alpha   State: live",
                                     "Verdict: Heartbeats failing"]
    assert "Attempt IDs behind the verdict (X-Request-ID): req-2" in text
    assert "  2026-12-05 11:59:00  #2     503 failed    request req-2" in text
    assert "`" not in text and "**" not in text
