"""Pure decisions of the integration manager's actions: which callbacks an action changes, and
to what, or why it is refused.

Every function takes one bet's callbacks in group order (as :class:`Queued` values read under
the bet's lock) and returns the :class:`Change` list an action would make; nothing here does
I/O. :mod:`actions.store` reads the rows, asks these functions and writes the changes in the
same transaction; the dry runs print the same changes.

The rules that keep a bet's order whatever an action does:

- a bet with a callback in flight (claimed or being sent) is never touched;
- a callback sent again becomes its group's head only if nothing before it is still queued,
  and every callback after it that was sent already follows it again (exhausted ones always;
  delivered or rejected ones only with ``include_delivered``, with the same request_id), else
  the action is refused: sending it alone would reach the platform after a later callback;
- callbacks still queued behind wait again behind what is sent again;
- skipped callbacks stay skipped: they were skipped on purpose (a rejected place, a cancel);
- the Integration Test's bets (callbacks of origin ``integration_test``, such as the balance
  probe) are left alone unless ``include_integration_test`` asks for them: they belong to a
  run of the battery, not to the sportsbook's players.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from delivery.records import CallbackState as State

from .errors import GroupBusy, IntegrationTestBet, WrongState

OPEN = (State.WAITING, State.PENDING, State.IN_FLIGHT)
#: States of a callback the platform answered for good.
ANSWERED = (State.DELIVERED, State.REJECTED)
#: The origin of the Integration Test's callbacks.
INTEGRATION_TEST = "integration_test"
#: What ``recover --outcome`` selects.
OUTCOMES = {"exhausted": ("exhausted",), "failed": ("exhausted", "retrying")}


@dataclass(frozen=True)
class Queued:
    """One callback of a bet as an action sees it."""

    id: int
    request_id: str
    bet_id: str
    destination: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    last_error: str | None = None
    lease_expires_at: datetime | None = None
    origin: str = "producer"

    def retrying(self, now: datetime) -> bool:
        """The group's head, failed at least once and waiting for its next try."""
        return (self.state == State.PENDING and self.attempts > 0
                and self.next_attempt_at is not None and self.next_attempt_at > now)


@dataclass(frozen=True)
class Change:
    """What an action does to one callback."""

    callback: Queued
    state: str
    #: The callback goes out now (it becomes its group's head, due at once).
    due_now: bool = False
    #: Its next attempt is marked as sent by this action ("manual retry by ...").
    manual: bool = False
    #: Written as the callback's last error (a cancel's reason).
    note: str | None = None

    @property
    def description(self) -> str:
        after = self.state + (" (due now)" if self.due_now else "")
        return f"{self.callback.state} → {after}"


def _refuse_busy(group: list[Queued]) -> None:
    busy = next((c for c in group if c.state == State.IN_FLIGHT), None)
    if busy is not None:
        until = (f"; its lease runs until {busy.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC"
                 if busy.lease_expires_at else "")
        raise GroupBusy(f"bet {busy.bet_id!r} has a callback being sent right now "
                        f"({busy.destination}, request_id {busy.request_id}){until}; nothing "
                        "was changed — try again in a few seconds")


def _refuse_integration_test(group: list[Queued], include_integration_test: bool) -> None:
    """An action leaves the Integration Test's bets alone unless asked for them."""
    if include_integration_test:
        return
    test = next((c for c in group if c.origin == INTEGRATION_TEST), None)
    if test is not None:
        raise IntegrationTestBet(
            f"bet {test.bet_id!r} is Integration Test traffic (origin {INTEGRATION_TEST}); "
            "actions leave it alone — add --include-integration-test to act on it anyway")


def resend(group: list[Queued], chosen: set[int], now: datetime, *,
           include_delivered: bool = False,
           include_integration_test: bool = False) -> list[Change]:
    """Send the ``chosen`` callbacks (ids) of one bet again, keeping the bet's order.

    Exhausted callbacks are sent again; a retrying head is made due now; delivered and rejected
    ones are sent again (same request_id) only with ``include_delivered``. Raises
    :class:`IntegrationTestBet` (an Integration Test bet without ``include_integration_test``),
    :class:`GroupBusy` or :class:`WrongState`; returns only callbacks that change.
    """
    _refuse_integration_test(group, include_integration_test)
    _refuse_busy(group)
    if not chosen:
        return []
    first = min(chosen)
    again: set[int] = set()
    for cb in group:
        if cb.id < first:
            continue
        if cb.state == State.EXHAUSTED:
            again.add(cb.id)
        elif cb.state in ANSWERED:
            if not include_delivered:
                what = "was sent again" if cb.id in chosen else "follows it"
                raise WrongState(
                    f"bet {cb.bet_id!r}: {cb.destination} (request_id {cb.request_id}) is "
                    f"{cb.state} and {what}; sending "
                    f"{_name(group, first)} again without it would reach the platform out of "
                    "order — add --include-delivered to send it again too (same request_id, "
                    "so a correct platform treats it as a replay)")
            again.add(cb.id)
    forward = {cb.id for cb in group if cb.id in chosen and cb.state == State.PENDING
               and cb.retrying(now)}
    queue = [cb for cb in group if cb.id in again or cb.state in (State.WAITING, State.PENDING)]
    changes = []
    for position, cb in enumerate(queue):
        if position == 0:
            if cb.id in again or cb.id in forward:
                changes.append(Change(cb, State.PENDING, due_now=True, manual=True))
            elif cb.state != State.PENDING:
                changes.append(Change(cb, State.PENDING, due_now=True))
        elif cb.id in again:
            changes.append(Change(cb, State.WAITING, manual=True))
        elif cb.state != State.WAITING:
            changes.append(Change(cb, State.WAITING))
    return changes


def _name(group: list[Queued], callback_id: int) -> str:
    cb = next(c for c in group if c.id == callback_id)
    return f"{cb.destination} (request_id {cb.request_id})"


def retry(group: list[Queued], now: datetime, *, request_id: str | None = None,
          include_delivered: bool = False,
          include_integration_test: bool = False) -> list[Change]:
    """``callbacks retry``: the bet's exhausted callbacks (or its failed head waiting for its
    next try) go out now; with ``request_id``, that callback. Refused when nothing applies, or
    for an Integration Test bet without ``include_integration_test``."""
    _refuse_integration_test(group, include_integration_test)
    _refuse_busy(group)
    bet_id = group[0].bet_id
    if request_id is not None:
        target = next((c for c in group if c.request_id == request_id), None)
        if target is None:
            raise WrongState(f"bet {bet_id!r} has no callback with request_id {request_id!r} "
                             f"(it has {len(group)}: see `callbacks history --group-id "
                             f"{bet_id}`)")
        _can_retry(target, group, now, include_delivered)
        chosen = {target.id}
    else:
        chosen = {c.id for c in group if c.state == State.EXHAUSTED}
        head = next((c for c in group if c.state == State.PENDING), None)
        if not chosen and head is not None and head.retrying(now):
            chosen = {head.id}
        if not chosen and include_delivered:
            chosen = {c.id for c in group if c.state in ANSWERED}
        if not chosen:
            raise WrongState(f"bet {bet_id!r} has nothing to retry: {_summary(group, now)}")
    changes = resend(group, chosen, now, include_delivered=include_delivered,
                     include_integration_test=True)
    if not changes:
        raise WrongState(f"bet {bet_id!r} has nothing to retry: {_summary(group, now)}")
    return changes


def _can_retry(target: Queued, group: list[Queued], now: datetime,
               include_delivered: bool) -> None:
    name = f"{target.destination} (request_id {target.request_id})"
    if target.state in ANSWERED and not include_delivered:
        raise WrongState(f"{name} is {target.state} already; add --include-delivered to send "
                         "it again with the same request_id")
    if target.state == State.SKIPPED:
        raise WrongState(f"{name} was skipped ({target.last_error or 'no reason recorded'}); "
                         "a skipped callback is not sent again")
    if target.state == State.WAITING:
        head = next((c for c in group if c.state == State.PENDING), None)
        raise WrongState(f"{name} waits behind " + (
            f"{head.destination} (request_id {head.request_id})" if head else "its group's head")
            + "; it goes out as soon as that one is done — retry the head instead")
    if target.state == State.PENDING and not target.retrying(now):
        raise WrongState(f"{name} is due now already; the worker sends it within seconds")


def _summary(group: list[Queued], now: datetime) -> str:
    counts: dict[str, int] = {}
    for cb in group:
        state = "due now" if cb.state == State.PENDING and not cb.retrying(now) else cb.state
        counts[state] = counts.get(state, 0) + 1
    said = ", ".join(f"{n} {state}" for state, n in counts.items())
    hint = ("; add --include-delivered to send delivered callbacks again"
            if any(c.state in ANSWERED for c in group) else "")
    return f"its {len(group)} callback(s) are {said}{hint}"


def matches(cb: Queued, since: datetime, now: datetime, *, outcome: str = "exhausted",
            destination: str | None = None, include_delivered: bool = False) -> bool:
    """Whether ``recover`` selects this callback."""
    if cb.created_at < since or (destination and cb.destination != destination):
        return False
    wanted = OUTCOMES[outcome]
    return (("exhausted" in wanted and cb.state == State.EXHAUSTED)
            or ("retrying" in wanted and cb.retrying(now))
            or (include_delivered and cb.state in ANSWERED))


def cancel(group: list[Queued], *, who: str, reason: str, request_id: str | None = None,
           include_integration_test: bool = False) -> tuple[list[Change], bool]:
    """``callbacks cancel``: a queued callback stops being sent. ``(changes, whole_group)``:
    cancelling the group's head (the default) cancels the callbacks behind it too
    (``whole_group`` True: ask before doing it). An Integration Test bet is refused without
    ``include_integration_test``."""
    _refuse_integration_test(group, include_integration_test)
    _refuse_busy(group)
    bet_id = group[0].bet_id
    queued = [c for c in group if c.state in (State.WAITING, State.PENDING)]
    if request_id is None:
        if not queued:
            raise WrongState(f"bet {bet_id!r} has nothing queued to cancel: its "
                             f"{len(group)} callback(s) are all finished")
        target = queued[0]
    else:
        target = next((c for c in group if c.request_id == request_id), None)
        if target is None:
            raise WrongState(f"bet {bet_id!r} has no callback with request_id {request_id!r}")
        if target.state not in (State.WAITING, State.PENDING):
            raise WrongState(f"{target.destination} (request_id {request_id}) is "
                             f"{target.state}, not queued: there is nothing to cancel")
    whole_group = target is queued[0]
    targets = [c for c in queued if c.id >= target.id] if whole_group else [target]
    note = f"cancelled by {who}: {reason}"
    return [Change(c, State.SKIPPED, note=note) for c in targets], whole_group
