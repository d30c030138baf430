"""Player sessions and their heartbeats for the dashboard tests, made the way the product makes
them: sessions are rows of ``player_sessions`` (as opening one writes them), heartbeats go out
through :func:`delivery.heartbeats.beat_round` to a real HTTP server on 127.0.0.1 that answers
each session as its story says.

Brand ``alpha`` (heartbeat every 60 s) has one session per verdict, and a bet ``shared-1``
whose id is also a live session's: its heartbeats must never count as the bet's.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import httpx
import sqlalchemy as sa
from receiver import Receiver, Reply

import contract
from delivery import heartbeats, store

from brand_traffic import deliver, enqueue

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
#: Heartbeats sent over the three rounds, and how many of them were delivered.
HEARTBEATS_SENT, HEARTBEATS_DELIVERED = 13, 10


def open_session(engine: sa.Engine, brand: str, session_id: str, *, next_beat_at: datetime,
                 expires_at: datetime | None = None) -> None:
    """A live session, as opening it writes it (the Foreign-Params' masked copy beside it)."""
    secret = {"session": session_id, "token": f"secret-{session_id}"}
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO player_sessions (brand_id, session_id, foreign_params, shown_params,"
            "   state, expires_at, next_beat_at)"
            " SELECT id, :sid, CAST(:fp AS jsonb), CAST(:shown AS jsonb), 'live', :expires,"
            "   :due FROM brands WHERE name = :brand"),
            {"sid": session_id, "fp": json.dumps(secret),
             "shown": json.dumps({"session": "***#ab12", "token": "***#cd34"}),
             "expires": expires_at, "due": next_beat_at, "brand": brand})


def close_session(engine: sa.Engine, session_id: str) -> None:
    """What the producer's close writes: closed now, no next heartbeat."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE player_sessions SET state = 'closed', ended_at = now(), next_beat_at = NULL"
            " WHERE session_id = :sid AND state = 'live'"), {"sid": session_id})


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
    now = datetime.now(timezone.utc)
    with Receiver(Platform()) as platform:
        store.add_brand(engine, "alpha", platform.url)
        enqueue(engine, "alpha", SHARED, "/bet/place")
        enqueue(engine, "alpha", SHARED, "/bet/accept")
        deliver(engine)
        due = now - timedelta(seconds=1)
        for sid in ("shared-1", "s-live", "s-failing", "s-ended", "s-closed"):
            open_session(engine, "alpha", sid, next_beat_at=due)
        open_session(engine, "alpha", "s-expired", next_beat_at=due,
                     expires_at=now + timedelta(seconds=0.5))
        with httpx.Client(timeout=5) as client:
            heartbeats.beat_round(engine, client, now=now)
            close_session(engine, "s-closed")
            heartbeats.beat_round(engine, client, now=now + timedelta(seconds=70))
            heartbeats.beat_round(engine, client, now=now + timedelta(seconds=140))
    open_session(engine, "alpha", "s-new", next_beat_at=now + timedelta(seconds=40))
