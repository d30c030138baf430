"""Player sessions and their heartbeats for the dashboard tests, made the way the product makes
them: sessions opened and closed through :mod:`delivery.sessions`, heartbeats sent by
:func:`delivery.heartbeats.beat_round` to a real HTTP server on 127.0.0.1 that answers each
session as its story says.

Brand ``alpha`` (heartbeat every 60 s) has one session per verdict, and a bet ``shared-1``
whose id is also a live session's: its heartbeats must never count as the bet's.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from brand_traffic import deliver, enqueue
from receiver import Receiver, Reply

import contract
from delivery import brands, heartbeats, sessions

#: Session id → the verdict the session view must reach.
SESSION_VERDICTS = {
    "s-live": "live",
    "s-failing": "failing",
    "s-ended": "ended_by_platform",
    "s-expired": "expired",
    "s-closed": "closed",
    "s-new": "not_yet",
    "shared-1": "live",
}
#: The bet whose id a live session shares.
SHARED = "shared-1"
#: Heartbeats sent over the three rounds, how many of them were delivered, and how many
#: answered auth_session_unknown (s-ended's second).
HEARTBEATS_SENT, HEARTBEATS_DELIVERED, HEARTBEATS_ENDED = 13, 10, 1


def open_session(engine: sa.Engine, brand: str, session_id: str, *, now: datetime,
                 expires_at: datetime | None = None) -> None:
    """Open a session at ``now``: its first heartbeat is due within one interval of it."""
    sessions.open(engine, brand, session_id,
                  {"session": session_id, "token": f"secret-{session_id}"},
                  expires_at=expires_at, now=now)


class Platform:
    """Answers heartbeats by session: ``s-failing`` fails after its first, ``s-ended`` is
    forgotten after its first; everything else is answered 204."""

    def __init__(self):
        self.beats: Counter[str] = Counter()

    def __call__(self, seen) -> Reply:
        if seen.path != contract.HEARTBEAT:
            return Reply(204)
        session = json.loads(seen.headers.get("foreign-params") or "{}").get("session", "")
        self.beats[session] += 1
        if session == "s-failing" and self.beats[session] > 1:
            return Reply(503, b"Service Unavailable")
        if session == "s-ended" and self.beats[session] > 1:
            return Reply.json(400, contract.error_body(contract.SESSION_UNKNOWN))
        return Reply(204)


def build(engine: sa.Engine) -> None:
    """The sessions of SESSION_VERDICTS after three heartbeat rounds a little over an interval
    apart (``s-expired`` expires before the second, ``s-closed`` is closed after the first),
    and bet ``shared-1`` (place and accept, delivered)."""
    now = datetime.now(UTC)
    with Receiver(Platform()) as platform:
        brands.add_brand(engine, "alpha", platform.url)
        enqueue(engine, "alpha", SHARED, "/bet/place")
        enqueue(engine, "alpha", SHARED, "/bet/accept")
        deliver(engine)
        # Opened an interval and a second ago: every first heartbeat is due now.
        opened = now - timedelta(seconds=61)
        for sid in ("shared-1", "s-live", "s-failing", "s-ended", "s-closed"):
            open_session(engine, "alpha", sid, now=opened)
        open_session(engine, "alpha", "s-expired", now=opened,
                     expires_at=now + timedelta(seconds=0.5))
        with httpx.Client(timeout=5) as client:
            heartbeats.beat_round(engine, client, now=now)
            sessions.close(engine, "alpha", "s-closed")
            heartbeats.beat_round(engine, client, now=now + timedelta(seconds=70))
            heartbeats.beat_round(engine, client, now=now + timedelta(seconds=140))
    open_session(engine, "alpha", "s-new", now=datetime.now(UTC))
