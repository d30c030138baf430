"""The session investigator ("the player says they were logged out"): one player session's row
and its latest heartbeats in, one named verdict out. Pure, like :mod:`.verdicts`.

The verdict follows the session's state, then its heartbeats:

- no such session: ``unknown_session`` — Callback Desk was never told it was opened;
- ``ended_by_platform``: the platform answered ``auth_session_unknown`` to a heartbeat;
- ``expired``: its end (``ttl_s`` / ``expires_at``) came and was not pushed back;
- ``closed``: the producer closed it;
- live, and its latest heartbeats failed: ``failing`` (since when, how many in a row);
- live, and its heartbeat is well past due: ``overdue`` (nothing is sending them);
- live, nothing sent yet: ``not_yet`` (the first is due within the first interval);
- live, the latest heartbeat delivered: ``live``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import contract
from delivery.records import AttemptOutcome

from . import markup
from .shaping import SENDING, UNKNOWN, relative

UNKNOWN_SESSION = "unknown_session"
ENDED_BY_PLATFORM = "ended_by_platform"
EXPIRED = "expired"
CLOSED = "closed"
FAILING = "failing"
OVERDUE = "overdue"
NOT_YET = "not_yet"
LIVE = "live"

SESSION_VERDICTS = (UNKNOWN_SESSION, ENDED_BY_PLATFORM, EXPIRED, CLOSED, FAILING, OVERDUE,
                    NOT_YET, LIVE)
#: How each verdict is shown: title and tone (success, info, warning, error).
STYLE = {
    UNKNOWN_SESSION: ("Unknown session", "warning"),
    ENDED_BY_PLATFORM: ("Ended by the platform", "error"),
    EXPIRED: ("Expired — we stopped the heartbeats", "warning"),
    CLOSED: ("Closed by the producer", "info"),
    FAILING: ("Heartbeats failing", "error"),
    OVERDUE: ("Heartbeats overdue", "warning"),
    NOT_YET: ("No heartbeat sent yet", "info"),
    LIVE: ("Live — heartbeats delivered", "success"),
}
#: How long past its due time a live session's heartbeat may stay unsent before the verdict
#: says nothing is sending them (at least this, and at least one interval).
OVERDUE_GRACE_S = 60.0
#: Most Attempt IDs a verdict names as its evidence.
EVIDENCE_MAX = 10
_FAILED = (AttemptOutcome.FAILED, AttemptOutcome.REJECTED, UNKNOWN)
_OPEN = ("PUT /v1/brands/{brand}/sessions/{session_id}",
         "callbacks session open --brand B --id S --foreign-params JSON")


@dataclass(frozen=True)
class SessionVerdict:
    """What the session investigator concluded, why, and what to do next."""

    key: str
    explanation: str
    next_step: str
    #: Attempt IDs of the heartbeats behind the verdict, newest first.
    evidence: tuple[str, ...] = ()
    #: When it happened: the end, the first failure, the last delivery, the first due time.
    at: datetime | None = None

    @property
    def title(self) -> str:
        return STYLE[self.key][0]

    @property
    def tone(self) -> str:
        return STYLE[self.key][1]


@dataclass(frozen=True)
class FailureRun:
    """The latest heartbeats that failed one after the other."""

    count: int
    since: datetime | None
    last: dict | None
    attempt_ids: tuple[str, ...]


def failure_run(session: dict, attempts: list[dict]) -> FailureRun:
    """The heartbeats that failed in a row up to the latest one with an answer (``attempts``
    newest first; one still sending is not counted). The session's own count wins when the
    attempts read do not reach back to the run's start."""
    finished = [a for a in attempts if a["outcome"] != SENDING]
    run = []
    for attempt in finished:
        if attempt["outcome"] not in _FAILED:
            break
        run.append(attempt)
    count = max(len(run), int(session.get("failures_in_row") or 0))
    if session.get("failing_since") and count > len(run):
        since = session["failing_since"]
    else:
        since = run[-1]["started_at"] if run else session.get("failing_since")
    return FailureRun(count, _utc(since) if since else None, run[0] if run else None,
                      tuple(str(a["attempt_id"]) for a in run[:EVIDENCE_MAX]))


def judge(session_id: str, session: dict | None, attempts: list[dict], now: datetime, *,
          brand: str | None = None, other_brands: tuple[str, ...] = ()) -> SessionVerdict:
    """The verdict for one player session from its row (None: no such session in the brands
    looked at) and its latest heartbeat attempts, newest first. ``other_brands``: brands
    outside the selected one that have a session of this id."""
    if session is None:
        return _unknown(session_id, brand, other_brands)
    state = session["state"]
    run = failure_run(session, attempts)
    if state == "ended_by_platform":
        return _ended_by_platform(session_id, session, attempts, run, now)
    if state == "expired":
        return _expired(session, run, now)
    if state == "closed":
        return _closed(session, run, now)
    return _live(session, attempts, run, now)


def _unknown(session_id: str, brand: str | None, other_brands: tuple[str, ...]
             ) -> SessionVerdict:
    if other_brands:
        names = ", ".join(f"**{markup.text(b)}**" for b in other_brands)
        return SessionVerdict(
            UNKNOWN_SESSION,
            f"There is no player session {markup.code(session_id)} in brand "
            f"**{markup.text(brand or '?')}**; brand {names} has one.",
            f"Switch the brand selector to {markup.text(other_brands[0])} (or All brands).")
    where = f"brand **{markup.text(brand)}**" if brand else "the brands you can see"
    return SessionVerdict(
        UNKNOWN_SESSION,
        f"There is no player session {markup.code(session_id)} in {where}: Callback Desk was "
        "never told it was opened, so no heartbeat ever kept it alive on the platform. "
        f"Sessions are opened by the sportsbook with {markup.code(_OPEN[0])} (or "
        f"{markup.code(_OPEN[1])}) when the player logs in.",
        "Check the session id: it is the id the sportsbook gives the session, not the player "
        "id or a Bet ID. If it is right, ask the sportsbook team why the session was never "
        "opened with Callback Desk.")


def _ended_by_platform(session_id: str, session: dict, attempts: list[dict], run: FailureRun,
                       now: datetime) -> SessionVerdict:
    ender = next((a for a in attempts if a.get("error_code") == contract.SESSION_UNKNOWN), None)
    ended = _utc(session.get("ended_at") or (ender or {}).get("finished_at")
                 or session.get("last_at"))
    answered = (f" (answered {markup.code('400 ' + contract.SESSION_UNKNOWN)} to the heartbeat "
                f"at {_utc_text(ender['started_at'])}, Attempt ID "
                f"{markup.code(ender['attempt_id'])})" if ender else
                f" (answered {markup.code('400 ' + contract.SESSION_UNKNOWN)} to a heartbeat)")
    text = (f"The platform ended the session at {_at(ended, now)}{answered}: it no longer "
            "knew the session, so no more heartbeats are sent. "
            f"{_sent(session)}")
    before = [a for a in attempts if ender is not None and a is not ender
              and _utc(a["started_at"]) < _utc(ender["started_at"])]
    failed_before = 0
    for attempt in before:
        if attempt["outcome"] not in _FAILED:
            break
        failed_before += 1
    if failed_before:
        text += (f" Before that, {failed_before} heartbeat(s) in a row had failed: the platform "
                 "may have dropped the session for want of heartbeats.")
    return SessionVerdict(
        ENDED_BY_PLATFORM, text,
        "The logout came from the platform's side. Ask the platform team why session "
        f"{markup.code(session_id)} was unknown to them at {_utc_text(ended)} (their logs for "
        "the Attempt ID below, sent as X-Request-ID). If the player is still playing, the "
        "sportsbook opens the session again.",
        (str(ender["attempt_id"]),) if ender else (), ended)


def _expired(session: dict, run: FailureRun, now: datetime) -> SessionVerdict:
    end = _utc(session.get("expires_at") or session.get("ended_at"))
    refreshed = session.get("refreshed_at")
    text = (f"We stopped sending heartbeats because the session expired at {_at(end, now)}: "
            "the end the sportsbook gave it when it opened or last refreshed it"
            + (f" (at {_utc_text(refreshed)})" if refreshed else "") + f". {_sent(session)}")
    text += _failing_note(run)
    return SessionVerdict(
        EXPIRED, text,
        "The session ran out on our side: the sportsbook did not refresh it (open it again "
        "with a new ttl_s or expires_at) while the player was active, so the platform heard "
        "no more heartbeats after it. Ask the sportsbook team to refresh live sessions before "
        "they end.", run.attempt_ids, end)


def _closed(session: dict, run: FailureRun, now: datetime) -> SessionVerdict:
    ended = _utc(session.get("ended_at"))
    text = (f"The producer (the sportsbook) closed the session at {_at(ended, now)}; no "
            f"heartbeat has been sent since. {_sent(session)}") + _failing_note(run)
    return SessionVerdict(
        CLOSED, text,
        "Nothing is wrong on the platform's side. Ask the sportsbook team why it closed the "
        "session then (the player logged out, another login replaced it, ...).",
        run.attempt_ids, ended)


def _failing_note(run: FailureRun) -> str:
    if not run.count or run.last is None:
        return ""
    return (f" Its last {run.count} heartbeat(s) had failed since {_utc_text(run.since)} "
            f"(last: {_describe(run.last)}).")


def _live(session: dict, attempts: list[dict], run: FailureRun, now: datetime
          ) -> SessionVerdict:
    out = next((a for a in attempts if a["outcome"] == SENDING), None)
    flight = (f" A heartbeat is out right now (Attempt ID {markup.code(out['attempt_id'])}, "
              f"sent {relative(_utc(out['started_at']), now)})." if out else "")
    due = _utc(session.get("next_beat_at")) if session.get("next_beat_at") else None
    interval_s = float(session.get("heartbeat_interval_s") or contract.DEFAULT_HEARTBEAT_INTERVAL_S)
    late_s = (now - due).total_seconds() if due else 0.0
    overdue = due is not None and out is None and late_s > max(OVERDUE_GRACE_S, interval_s)
    if run.count and run.last is not None:
        return SessionVerdict(
            FAILING,
            f"Heartbeats failing since {_at(run.since, now)}: {run.count} in a row; last: "
            f"{_describe(run.last)} at {_utc_text(run.last['started_at'])} (Attempt ID "
            f"{markup.code(run.last['attempt_id'])}). The session is still live on our side "
            f"and one heartbeat goes out per interval ({interval_s:g} s), but the platform "
            "does not take them: it may log the player out for want of heartbeats."
            + flight,
            "Send the Attempt IDs below to the platform team: their /heartbeat endpoint "
            + _fault(run.last) + " A failed heartbeat is not retried; the next one replaces it.",
            run.attempt_ids, run.since)
    delivered = next((a for a in attempts if a["outcome"] == AttemptOutcome.DELIVERED), None)
    last_at = _utc(delivered["finished_at"] or delivered["started_at"]) if delivered else (
        _utc(session["last_at"]) if session.get("last_at") else None)
    if overdue:
        last = (f" The last heartbeat was delivered at {_utc_text(last_at)}." if last_at
                else " No heartbeat has been sent yet.")
        return SessionVerdict(
            OVERDUE,
            f"The session is live but its heartbeat due at {_at(due, now)} has not gone out "
            f"({_duration(late_s)} late).{last} The platform may log the player out if it "
            "hears none.",
            "Check that Callback Desk's scheduler and worker are running (`callbacks status`, "
            "and Brand health for this brand); tell whoever runs Callback Desk.",
            (str(delivered["attempt_id"]),) if delivered else (), due)
    if not int(session.get("heartbeats_sent") or 0) and delivered is None:
        first = (f"the first is due at {_at(due, now)}" if due else "the first is not scheduled")
        return SessionVerdict(
            NOT_YET,
            f"The session was opened at {_utc_text(session['opened_at'])} and no heartbeat "
            f"has been sent yet: {first} (somewhere within the first interval of "
            f"{interval_s:g} s, so sessions opened together do not beat together).{flight}",
            "Nothing to do yet: reload after the first heartbeat is due to see the "
            "platform's answer.", (), due)
    text = (f"The session is live: the last heartbeat was delivered at {_at(last_at, now)}"
            + (f" (HTTP {delivered['response_status']}, Attempt ID "
               f"{markup.code(delivered['attempt_id'])})" if delivered else "")
            + f". {_sent(session)}"
            + (f" The next is due {relative(due, now)} ({_utc_text(due)})." if due else "")
            + flight)
    return SessionVerdict(
        LIVE, text,
        "We are keeping the session alive on the platform. If the player was logged out "
        "anyway, it was not for want of heartbeats: ask the platform team, with the session id "
        "and the Attempt IDs of the heartbeats they answered.",
        (str(delivered["attempt_id"]),) if delivered else (), last_at)


def _sent(session: dict) -> str:
    sent = int(session.get("heartbeats_sent") or 0)
    return (f"{sent:,} heartbeat(s) were sent since it was opened at "
            f"{_utc_text(session['opened_at'])}.")


def _fault(attempt: dict) -> str:
    status = attempt.get("response_status")
    if attempt["outcome"] == UNKNOWN:
        return ("got requests whose answer was never recorded (our worker stopped): ask whether "
                "they arrived.")
    if status is None:
        return ("is not reachable or does not answer within the brand's timeout "
                f"({markup.text(attempt.get('error_class') or 'no response')}).")
    if status >= 500:
        return f"errors (HTTP {status}): ask them to check their logs for these requests."
    return (f"refuses them (HTTP {status}"
            + (f" {markup.code(attempt['error_code'])}" if attempt.get("error_code") else "")
            + "): the contract says to answer 204, or 400 auth_session_unknown for a session "
              "they no longer know.")


def _describe(attempt: dict) -> str:
    if attempt["outcome"] == UNKNOWN:
        return "no recorded answer (our worker stopped before recording it)"
    status = attempt.get("response_status")
    if status is None:
        return f"no response ({markup.text(attempt.get('error_class') or 'error')})"
    code = attempt.get("error_code")
    return f"HTTP {status}" + (f" {markup.code(code)}" if code else "")


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 1:
        return f"{seconds:.0f} s"
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def _at(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "an unknown time"
    return f"{_utc_text(at)} ({relative(_utc(at), now)})"


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _utc_text(at: datetime | None) -> str:
    if at is None:
        return "?"
    return f"{_utc(at).astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def summary(session_id: str, session: dict, verdict: SessionVerdict, attempts: list[dict],
            now: datetime, shown: int = 20) -> str:
    """Plain text for a ticket: the session, the verdict, its Attempt IDs and the latest
    heartbeats (UTC)."""
    lines = [f"Player session: {session_id}",
             f"Brand: {session.get('brand') or '?'}   State: {session['state']}",
             f"Verdict: {verdict.title}", f"Why: {markup.plain(verdict.explanation)}",
             f"Next step: {markup.plain(verdict.next_step)}"]
    if verdict.evidence:
        lines.append("Attempt IDs behind the verdict (X-Request-ID): "
                     + ", ".join(verdict.evidence))
    lines += [f"Opened: {_utc_text(session['opened_at'])}   Heartbeats sent: "
              f"{session.get('heartbeats_sent') or 0}",
              f"Checked at: {_utc_text(now)}", ""]
    if attempts:
        lines.append("Latest heartbeats (Attempt ID = X-Request-ID header), UTC, newest "
                     "first:")
        for a in attempts[:shown]:
            code = a.get("response_status") or "-"
            error = f"  {a['error_class']}" if a.get("error_class") else ""
            error += f" {a['error_code']}" if a.get("error_code") else ""
            lines.append(f"  {_utc(a['started_at']).astimezone(UTC):%Y-%m-%d %H:%M:%S}"
                         f"  #{a['attempt_no']:<5} {code!s:>3} {a['outcome']:<9} "
                         f"request {a['attempt_id']}{error}")
    return "\n".join(lines).rstrip() + "\n"
