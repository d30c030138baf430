"""How a worker process stops: one stop signal, a grace period, and leases handed back at once.

A stop begins with the first SIGTERM (or SIGHUP) a worker process receives. From then on:

- claims that arrive are not sent: their leases are handed back at once
  (:func:`hand_back_claims`, :func:`hand_back_beats`), so another worker takes them without
  waiting for the lease to run out;
- requests in flight are waited for — each ends by its own deadline, the brand's timeout — and
  their answers recorded, for up to the grace period (``CALLBACKS_STOP_GRACE_S``);
- a request still in flight when the grace period ends is closed as ``unknown`` and its callback
  is due again at once (:func:`close_unfinished`; a heartbeat likewise,
  :func:`close_unfinished_beats`); an answer that comes later is dropped.

A stop signal repeated during the stop is ignored (:func:`one_stop_signal`): under systemd
(KillMode=control-group) or ``kill -- -PGID`` every process receives SIGTERM at once, and the
Dramatiq master forwards its own as well, so a worker process sees two or three. Dramatiq reads
a repeat as "exit now"; here SIGKILL (or SIGQUIT, which Python leaves to its default: exit at
once) is the way to stop a worker without waiting.

The statements are ``sql/stopping.sql``'s.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable

import sqlalchemy as sa

from . import statements
from .records import Sending

log = logging.getLogger(__name__)

_FILE = "stopping.sql"
#: The signals that begin a worker process's stop (Dramatiq's worker handles both the same).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def one_stop_signal(signals: Iterable[signal.Signals] = STOP_SIGNALS) -> Callable | None:
    """Wrap the stop signals' current handler (Dramatiq's, which exits at once on a second
    signal) so that it runs for the first of them only; repeats are logged and ignored.

    Call from the main thread, after Dramatiq installed its handler; returns the wrapper, or
    None when there is no handler to wrap.
    """
    signals = tuple(signals)
    first = signal.getsignal(signals[0])
    if not callable(first):
        return None
    seen = threading.Event()

    def once(signum, frame):
        if seen.is_set():
            log.info("already stopping; %s ignored (SIGKILL or SIGQUIT stop at once)",
                     signal.Signals(signum).name)
            return
        seen.set()
        first(signum, frame)

    for sig in signals:
        if signal.getsignal(sig) is first:
            signal.signal(sig, once)
    return once


def _run_and_notify(engine: sa.Engine, name: str, params: dict) -> list[int]:
    """Run a statement of ``sql/stopping.sql``, then wake the schedulers (NOTIFY callbacks_due,
    sent with the commit), in one transaction."""
    with engine.begin() as conn:
        ids = list(statements.run(conn, name, params, filename=_FILE).scalars())
        if ids:
            statements.run(conn, "notify_due")
    return ids


def hand_back_claims(engine: sa.Engine, claims: list[tuple[int, str]]) -> list[int]:
    """Give back the leases of claimed callbacks that will not be sent: pending again, due as
    they were. Claims whose lease was lost meanwhile are left as they are. Their ids."""
    if not claims:
        return []
    return _run_and_notify(engine, "hand_back_claims", dict(
        ids=[c[0] for c in claims], tokens=[c[1] for c in claims]))


def hand_back_beats(engine: sa.Engine, claims: list[tuple[int, str]]) -> list[int]:
    """Give back the leases of claimed heartbeats that will not be sent: each session's
    heartbeat is due again when it was. Their session row ids."""
    if not claims:
        return []
    with engine.begin() as conn:
        return list(statements.run(conn, "hand_back_beats", dict(
            ids=[c[0] for c in claims], tokens=[c[1] for c in claims]), filename=_FILE).scalars())


def close_unfinished(engine: sa.Engine, sendings: list[Sending], grace_s: float) -> list[int]:
    """Close the attempts of requests still in flight at the end of the grace period as
    ``unknown``, in one statement, and make their callbacks due again at once (those whose
    lease this worker still holds). Their callback ids."""
    if not sendings:
        return []
    return _run_and_notify(engine, "close_unfinished", dict(
        callback_ids=[s.callback.callback_id for s in sendings],
        tokens=[s.callback.lease_token for s in sendings],
        attempt_ids=[s.id for s in sendings],
        started_ats=[s.started_at for s in sendings], grace_s=grace_s))


def close_unfinished_beats(engine: sa.Engine, beats: list[tuple[int, str]],
                           grace_s: float) -> list[int]:
    """Close heartbeats still in flight at the end of the grace period, given as
    ``(session row id, lease token)``, as the sweeper closes a lost one; their session row
    ids."""
    if not beats:
        return []
    with engine.begin() as conn:
        return list(statements.run(conn, "close_unfinished_beats", dict(
            ids=[b[0] for b in beats], tokens=[b[1] for b in beats], grace_s=grace_s),
            filename=_FILE).scalars())
