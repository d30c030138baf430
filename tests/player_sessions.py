"""Live player sessions for tests that need some: one row of ``player_sessions`` each, due for
its first heartbeat at once (the heartbeat engine, :func:`delivery.heartbeats.beat_round`, then
takes them through real HTTP like any session)."""
from __future__ import annotations

import json

import sqlalchemy as sa


def live_session(engine: sa.Engine, brand: str, session_id: str, *,
                 foreign_params: dict | None = None, expires_in_s: float | None = None) -> int:
    """A live session of ``brand`` whose first heartbeat is due now; its row id."""
    params = json.dumps(foreign_params or {"token": session_id})
    with engine.begin() as conn:
        return conn.execute(sa.text("""
            INSERT INTO player_sessions (brand_id, session_id, foreign_params, shown_params,
                                         state, expires_at, next_beat_at)
            SELECT b.id, :session_id, CAST(:params AS jsonb), CAST(:params AS jsonb), 'live',
                   now() + make_interval(secs => CAST(:expires_in_s AS double precision)),
                   now() - interval '1 second'
            FROM brands b WHERE b.name = :brand
            RETURNING id"""), dict(session_id=session_id, params=params, brand=brand,
                                   expires_in_s=expires_in_s)).scalar_one()
