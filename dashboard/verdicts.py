"""The missing-notification investigator: one bet's rows in, one named verdict out.

It walks the seed's decision path. The *decisive* callback is the bet's first callback that was
not delivered (skipped ones are only consequences of an earlier one):

- none — every callback got a 2xx: ``delivered``, the problem is downstream;
- rejected — a supported 4xx, a normal business answer: ``supported_error``;
- still being retried, last answer an unsupported 4xx: ``handler_bug``; a 5xx:
  ``platform_error``; no answer, a 3xx or a 429: ``retrying``;
- its latest attempt is still out (the row is written before the request goes out):
  ``in_flight``;
- its latest attempt was closed as unknown (the worker stopped before recording the answer, so
  the platform may have received it; the callback goes out again with the same request_id):
  ``outcome_unknown``;
- queued and never tried: ``queued``;
- exhausted: ``gave_up``;
- cancelled by an integration manager (``callbacks cancel``; stored as skipped with "cancelled
  by ..."): ``cancelled``;
- no callback at all: ``no_trace`` — escalate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import contract
from delivery.records import AttemptOutcome, CallbackState

from . import markup
from .shaping import SENDING, UNKNOWN, UNKNOWN_DETAIL, relative

DELIVERED = "delivered"
SUPPORTED_ERROR = "supported_error"
HANDLER_BUG = "handler_bug"
PLATFORM_ERROR = "platform_error"
RETRYING = "retrying"
QUEUED = "queued"
GAVE_UP = "gave_up"
NO_TRACE = "no_trace"
IN_FLIGHT = "in_flight"
OUTCOME_UNKNOWN = "outcome_unknown"
CANCELLED = "cancelled"

VERDICTS = (DELIVERED, SUPPORTED_ERROR, HANDLER_BUG, PLATFORM_ERROR, RETRYING, QUEUED, GAVE_UP,
            NO_TRACE, IN_FLIGHT, OUTCOME_UNKNOWN, CANCELLED)
#: How a cancel's reason starts (actions.plans.cancel writes it).
CANCELLED_PREFIX = "cancelled by "
#: How each verdict is shown: title and tone (success, info, warning, error).
STYLE = {
    DELIVERED: ("Delivered — look downstream", "success"),
    SUPPORTED_ERROR: ("Normal business answer", "info"),
    HANDLER_BUG: ("Platform handler bug", "error"),
    PLATFORM_ERROR: ("Platform error", "error"),
    RETRYING: ("Still retrying", "warning"),
    QUEUED: ("Queued, not sent yet", "info"),
    GAVE_UP: ("Gave up", "error"),
    NO_TRACE: ("No trace — escalate", "warning"),
    IN_FLIGHT: ("A request is in flight right now", "info"),
    OUTCOME_UNKNOWN: ("Outcome unknown", "warning"),
    CANCELLED: ("Cancelled by an integration manager", "info"),
}
#: How long past the brand's HTTP timeout an attempt may stay sending before the investigator
#: says its worker probably stopped (the lease margin, plus the sweeper's own pace).
SENDING_GRACE_S = 60.0


@dataclass(frozen=True)
class Verdict:
    """What the investigator concluded, why, and what to do next."""

    key: str
    explanation: str
    next_step: str
    #: Attempt IDs of the attempts that support the verdict, oldest first.
    evidence: tuple[str, ...] = ()
    decisive: dict | None = field(default=None, compare=False)
    #: A title more precise than the verdict's usual one (e.g. delivered after handler errors).
    headline: str | None = None

    @property
    def title(self) -> str:
        return self.headline or STYLE[self.key][0]

    @property
    def tone(self) -> str:
        return STYLE[self.key][1]


def investigate(bet_id: str, bet: dict | None, callbacks: list[dict], attempts: list[dict],
                now: datetime, *, max_attempts: int | None = None,
                other_brand: str | None = None, timeout_s: float | None = None) -> Verdict:
    """The verdict for one bet from its bet row, its callbacks (in order) and its attempts
    (oldest first). ``timeout_s`` is the brand's HTTP timeout (the default one when None)."""
    if not callbacks and not attempts:
        return _no_trace(bet_id, bet, other_brand)
    decisive = next((c for c in callbacks
                     if c["state"] not in (CallbackState.DELIVERED, CallbackState.SKIPPED)
                     or _cancelled(c)), None)
    if decisive is None:
        return _delivered(callbacks, attempts)
    if _cancelled(decisive):
        return _cancel_verdict(decisive, callbacks, attempts)
    tried = [a for a in attempts if a["callback_id"] == decisive["id"]]
    evidence = tuple(str(a["attempt_id"]) for a in tried)
    dest = decisive["destination"]
    state = decisive["state"]
    last = tried[-1] if tried else None
    when = _when(decisive.get("next_attempt_at"), now)

    if state == CallbackState.REJECTED:
        code = (last or {}).get("error_code") or "?"
        meaning = _meaning(dest, code)
        skipped = sum(1 for c in callbacks if c["state"] == CallbackState.SKIPPED)
        after = (f" The bet became PLACE_ERROR and {skipped} later callback(s) were skipped, "
                 "as the contract says." if dest == contract.PLACE and skipped else
                 " The bet became PLACE_ERROR, as the contract says."
                 if dest == contract.PLACE else "")
        return Verdict(SUPPORTED_ERROR,
                       f"The platform answered {markup.code(dest)} with the supported error "
                       f"{markup.code(code)} "
                       f"({meaning.rstrip('.').lower()}). It is a normal answer and is not "
                       f"retried.{after}",
                       f"Nothing to fix on either side: explain to the player why the platform "
                       f"refused ({meaning.lower().rstrip('.')}).", evidence, decisive)
    if state == CallbackState.EXHAUSTED:
        answer = _describe(last) if last else "no answer"
        extra = (" Because the place was never answered, the bet was declined "
                 "(internal_error / place_retry_limit_reached) and a /bet/decline was queued."
                 if dest == contract.PLACE else "")
        return Verdict(GAVE_UP,
                       f"{markup.code(dest)} failed {len(tried)} time(s) and reached its retry "
                       "limit; the "
                       f"last attempt got {answer}.{extra}",
                       "We stopped retrying. Send the escalation summary to your integration "
                       "manager (a resend needs them) and the Attempt IDs to the platform team.",
                       evidence, decisive)
    if not tried:
        behind = state == CallbackState.WAITING
        return Verdict(QUEUED,
                       f"{markup.code(dest)} is queued and has not been sent yet"
                       + (", waiting behind an earlier callback of this bet." if behind else
                          f"; it is due {when}."),
                       "Nothing to do yet: watch it in Callback sender. If it is still queued "
                       "long after it was due, contact your integration manager with the Bet ID.",
                       evidence, decisive)
    progress = _progress(len(tried), max_attempts)
    if last["outcome"] == SENDING:
        return _in_flight(decisive, tried, now, progress, timeout_s, evidence)
    if last["outcome"] == UNKNOWN:
        return _outcome_unknown(decisive, tried, now, progress, evidence)
    status = last.get("response_status")
    if status is not None and 400 <= status < 500 and status != 429:
        code = last.get("error_code")
        said = f"HTTP {status}" + (f" with error code {markup.code(code)}" if code else "")
        return Verdict(HANDLER_BUG,
                       f"{markup.code(dest)} was answered {said}, which the contract does not "
                       "allow for "
                       f"{dest} ({_allowed(dest)}). We keep retrying{progress}; next try {when}.",
                       f"Send the Attempt IDs and the response below to the platform's "
                       f"engineering team: their {dest} handler needs fixing.",
                       evidence, decisive)
    if status is not None and status >= 500:
        return Verdict(PLATFORM_ERROR,
                       f"The platform's {markup.code(dest)} endpoint errored (HTTP {status}). "
                       "We keep "
                       f"retrying{progress}; next try {when}.",
                       "Expand the attempts below for the response, then ask the platform team "
                       "to check their logs for these Attempt IDs (sent as X-Request-ID).",
                       evidence, decisive)
    return Verdict(RETRYING,
                   f"{markup.code(dest)} has no usable answer yet: the last attempt got "
                   f"{_describe(last)}. "
                   f"We keep retrying{progress}; next try {when}.",
                   "Nothing to do while it retries. If it keeps failing, check with the "
                   "platform team that their endpoint is reachable and answers within the "
                   "timeout.", evidence, decisive)


def _in_flight(decisive: dict, tried: list[dict], now: datetime, progress: str,
               timeout_s: float | None, evidence: tuple[str, ...]) -> Verdict:
    dest = decisive["destination"]
    last = tried[-1]
    started = _utc(last["started_at"])
    age_s = (now - started).total_seconds()
    limit_s = timeout_s or contract.DEFAULT_TIMEOUT_S
    text = (f"A request is in flight right now: {markup.code(dest)} attempt {last['attempt_no']} "
            f"(Attempt ID {markup.code(last['attempt_id'])}) started {relative(started, now)} "
            f"({_utc_text(started)}) and its answer is not recorded yet{progress}.")
    lost = [a for a in tried[:-1] if a["outcome"] == UNKNOWN]
    if lost:
        text += (f" It is the callback sent again after an attempt whose outcome is unknown "
                 f"(Attempt ID {markup.code(lost[-1]['attempt_id'])}): same request_id "
                 f"{markup.code(decisive['request_id'])}, so the platform must apply it only once.")
    if age_s > limit_s + SENDING_GRACE_S:
        text += (f" It has been sending for longer than the {limit_s:g} s timeout: its worker "
                 "probably stopped. It will be closed as outcome unknown and the callback sent "
                 "again with the same request_id.")
        step = ("If it still shows sending in a few minutes, the scheduler that closes stopped "
                "attempts may not be running: contact your integration manager with the Bet ID "
                "and the Attempt ID.")
    else:
        step = ("Nothing to do yet: reload in a few seconds to see the answer (the platform "
                f"has up to {limit_s:g} s).")
    return Verdict(IN_FLIGHT, text, step, evidence, decisive)


def _outcome_unknown(decisive: dict, tried: list[dict], now: datetime, progress: str,
                     evidence: tuple[str, ...]) -> Verdict:
    dest = decisive["destination"]
    last = tried[-1]
    started = _utc(last["started_at"])
    text = (f"Outcome unknown: {UNKNOWN_DETAIL}; the platform may have received request "
            f"{markup.code(last['attempt_id'])} ({markup.code(dest)} attempt "
            f"{last['attempt_no']}) at "
            f"{_utc_text(started)} ({relative(started, now)}).")
    if decisive["state"] == CallbackState.IN_FLIGHT:
        text += (f" The callback is being sent again right now with the same request_id "
                 f"{markup.code(decisive['request_id'])}{progress}.")
    else:
        text += (f" The callback is being sent again with the same request_id "
                 f"{markup.code(decisive['request_id'])}{progress}; next try "
                 f"{_when(decisive.get('next_attempt_at'), now)}.")
    return Verdict(OUTCOME_UNKNOWN, text,
                   f"Ask the platform team to search their logs for Attempt ID "
                   f"{markup.code(last['attempt_id'])} (sent as X-Request-ID) and say whether "
                   "they received "
                   "and applied it. Nothing to resend: the callback goes out again with the "
                   "same request_id, which the platform must apply only once.",
                   evidence, decisive)


def _cancelled(callback: dict) -> bool:
    return (callback["state"] == CallbackState.SKIPPED
            and (callback.get("last_error") or "").startswith(CANCELLED_PREFIX))


def _cancel_verdict(decisive: dict, callbacks: list[dict], attempts: list[dict]) -> Verdict:
    tried = [a for a in attempts if a["callback_id"] == decisive["id"]]
    cancelled = sum(1 for c in callbacks if _cancelled(c))
    also = f" ({cancelled} callback(s) of this bet were cancelled)" if cancelled > 1 else ""
    before = (f" after {len(tried)} attempt(s)" if tried else " before it was ever sent")
    return Verdict(CANCELLED,
                   f"`{decisive['destination']}` was cancelled by an integration manager"
                   f"{before}{also}: it will not be sent. Who cancelled it and why is under "
                   "Actions taken on this bet.",
                   "Nothing is missing on the platform's side. If it should be sent after all, "
                   "the sportsbook queues it again with a new request_id; ask your integration "
                   "manager.", tuple(str(a["attempt_id"]) for a in tried), decisive)


def _no_trace(bet_id: str, bet: dict | None, other_brand: str | None) -> Verdict:
    if other_brand:
        return Verdict(NO_TRACE,
                       f"Bet {markup.code(bet_id)} has no callbacks in the selected brand; it "
                       "belongs to "
                       f"brand **{markup.text(other_brand)}**.",
                       f"Switch the brand selector to {markup.text(other_brand)} (or All brands).")
    known = " The bet is known but has no callbacks." if bet else ""
    return Verdict(NO_TRACE,
                   f"No callback was ever queued for bet {markup.code(bet_id)}, and none is "
                   "queued now."
                   + known,
                   "Check the Bet ID. If it is right, contact your integration manager with the "
                   "Bet ID: the sportsbook never asked us to notify your platform about it.")


def _delivered(callbacks: list[dict], attempts: list[dict]) -> Verdict:
    delivered = [c for c in callbacks if c["state"] == CallbackState.DELIVERED]
    retried = sum(1 for c in delivered if (c.get("attempts") or 0) > 1)
    note = f" {retried} of them needed more than one attempt." if retried else ""
    handler_errors = [a for a in attempts if _handler_error(a)]
    headline = None
    if handler_errors:
        count = len(handler_errors)
        headline = (f"Delivered after {count} handler error{'s' if count > 1 else ''} — "
                    "look downstream")
        codes = ", ".join(dict.fromkeys(_describe(a) for a in handler_errors))
        note += (f" Before that the platform answered {count} time(s) with an error the "
                 f"contract does not allow ({codes}): its handler failed, and the retry "
                 "went through.")
    lost = [str(a["attempt_id"]) for a in attempts if a["outcome"] == UNKNOWN]
    if lost:
        note += (f" {len(lost)} earlier attempt(s) ended with an unknown outcome (Attempt ID "
                 + ", ".join(f"{markup.code(r)}" for r in lost) + "): the platform may have "
                 "received those too, with the same request_id as the delivered one.")
    paths = ", ".join(dict.fromkeys(c["destination"] for c in delivered)) or "nothing"
    return Verdict(DELIVERED,
                   f"Every callback of this bet was delivered with a 2xx "
                   f"({markup.text(paths)}).{note} We did our part.",
                   "Escalate to the platform's engineering team with the Bet ID and the Request "
                   "IDs below, and ask for their logs of these requests (sent as X-Request-ID)."
                   + (" Ask them too why their handler failed before." if handler_errors
                      else ""),
                   tuple(str(a["attempt_id"]) for a in attempts
                         if a["outcome"] in (AttemptOutcome.DELIVERED, UNKNOWN)
                         or _handler_error(a)),
                   headline=headline)


def _handler_error(attempt: dict) -> bool:
    """An answer the contract does not allow: a 4xx other than a supported 400 or a 429."""
    status = attempt.get("response_status")
    return (status is not None and 400 <= status < 500 and status != 429
            and attempt.get("outcome") != AttemptOutcome.REJECTED)


def _meaning(dest: str, code: str) -> str:
    spec = contract.destination(dest)
    for err in spec.supported_errors if spec else ():
        if err.code == code:
            return err.meaning
    return "a supported error"


def _allowed(dest: str) -> str:
    codes = sorted(contract.supported_codes(dest))
    return ("its supported codes are " + ", ".join(f"{markup.code(c)}" for c in codes) if codes
            else "it supports no error codes")


def _describe(attempt: dict) -> str:
    if attempt.get("outcome") == UNKNOWN:
        return ("no recorded answer (the worker stopped before recording it; the platform may "
                f"have received request {markup.code(attempt['attempt_id'])})")
    if attempt.get("outcome") == SENDING:
        return f"no answer yet (request {markup.code(attempt['attempt_id'])} is still out)"
    status = attempt.get("response_status")
    if status is None:
        return f"no response ({attempt.get('error_class') or 'error'})"
    code = attempt.get("error_code")
    return f"HTTP {status}" + (f" {markup.code(code)}" if code else "")


def _progress(tried: int, max_attempts: int | None) -> str:
    return f" ({tried} of {max_attempts} attempts made)" if max_attempts else \
        f" ({tried} attempt(s) made)"


def _when(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "as soon as a worker is free"
    when = _utc(at)
    return f"{relative(when, now)} ({_utc_text(when)})"


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _utc_text(at: datetime) -> str:
    return f"{_utc(at).astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def escalation_summary(bet_id: str, verdict: Verdict, bet: dict | None, callbacks: list[dict],
                       attempts: list[dict], now: datetime, brand: str | None = None) -> str:
    """Plain text for a ticket: bet, verdict, request ids, times (UTC) and codes."""
    lines = [f"Bet ID: {bet_id}"]
    if bet:
        lines.append(f"Brand: {bet.get('brand') or brand or '?'}   Bet status: {bet['status']}")
    lines += [f"Verdict: {verdict.title}", f"Why: {_plain(verdict.explanation)}",
              f"Next step: {_plain(verdict.next_step)}"]
    if verdict.evidence:
        lines.append("Attempt IDs behind the verdict (X-Request-ID): "
                     + ", ".join(verdict.evidence))
    lines += [f"Checked at: {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC", ""]
    if callbacks:
        lines.append("Callbacks (request_id is the same on every retry):")
        for c in callbacks:
            lines.append(f"  {c['destination']:<30} {c['state']:<10} attempts {c['attempts']:<3}"
                         f" request_id {c['request_id']}")
        lines.append("")
    if attempts:
        lines.append("Attempts (Attempt ID = X-Request-ID header), UTC:")
        for a in attempts:
            started = a["started_at"].astimezone(UTC)
            code = a.get("response_status") or "-"
            error = f"  {a['error_class']}" if a.get("error_class") else ""
            error += f" {a['error_code']}" if a.get("error_code") else ""
            error += _NOTES.get(a["outcome"], "")
            lines.append(f"  {started:%Y-%m-%d %H:%M:%S}  {a['destination']:<30} "
                         f"#{a['attempt_no']:<2} {code!s:>3} {a['outcome']:<9} "
                         f"request {a['attempt_id']}{error}")
    return "\n".join(lines).rstrip() + "\n"


#: What an attempt's line in the escalation summary adds for outcomes without an answer.
_NOTES = {SENDING: "  (in flight: no answer recorded yet)",
          UNKNOWN: "  (answer never recorded: the platform may have received this request)"}


def _plain(markdown: str) -> str:
    return markup.plain(markdown)
