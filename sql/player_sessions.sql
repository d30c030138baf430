-- Named queries of player sessions as producers open, refresh, close and list them
-- (delivery/sessions.py). The heartbeats themselves are the engine's (sql/heartbeats.sql).
-- A session's lease (a heartbeat in flight) is never touched here: the engine finishes it,
-- and a session closed meanwhile stays closed.

-- name: insert_session
-- A session never seen: live, its first heartbeat at :next_beat_at. No row when the brand has
-- a session of that id already (the caller then locks it and refreshes or reopens it).
INSERT INTO player_sessions (brand_id, session_id, foreign_params, shown_params, state,
                             expires_at, next_beat_at, opened_at, refreshed_at)
VALUES (:brand_id, :session_id, CAST(:foreign_params AS jsonb), CAST(:shown_params AS jsonb),
        'live', :expires_at, :next_beat_at, :now, :now)
ON CONFLICT (brand_id, session_id) DO NOTHING
RETURNING id;

-- name: lock_session
-- The brand's session of this id, locked while it is refreshed or reopened.
SELECT id, state, expires_at FROM player_sessions
WHERE brand_id = :brand_id AND session_id = :session_id
FOR UPDATE;

-- name: refresh_session
-- A live session: new Foreign-Params and end; its heartbeats go on as scheduled.
UPDATE player_sessions
SET foreign_params = CAST(:foreign_params AS jsonb), shown_params = CAST(:shown_params AS jsonb),
    expires_at = :expires_at, refreshed_at = :now
WHERE id = :id;

-- name: reopen_session
-- A session that was over (closed, expired, ended by the platform) is live again from :now,
-- as if new: its counters start again and its first heartbeat is at :next_beat_at.
UPDATE player_sessions
SET foreign_params = CAST(:foreign_params AS jsonb), shown_params = CAST(:shown_params AS jsonb),
    state = 'live', expires_at = :expires_at, next_beat_at = :next_beat_at,
    heartbeats_sent = 0, failures_in_row = 0, failing_since = NULL, last_status = NULL,
    last_outcome = NULL, last_error = NULL, last_at = NULL, opened_at = :now,
    refreshed_at = :now, ended_at = NULL
WHERE id = :id;

-- name: close_session
-- A live session is closed: no more heartbeats (one in flight finishes and is recorded).
UPDATE player_sessions
SET state = 'closed', ended_at = :now, next_beat_at = NULL
WHERE brand_id = :brand_id AND session_id = :session_id AND state = 'live'
RETURNING id;

-- name: session
-- One session as producers and operators see it: the masked Foreign-Params, never the sent
-- ones.
SELECT s.session_id, b.name AS brand, s.state, s.heartbeats_sent, s.last_status,
       s.last_outcome, s.last_at, s.last_error, s.opened_at, s.refreshed_at, s.expires_at,
       s.next_beat_at, s.failing_since, s.failures_in_row, s.ended_at,
       s.shown_params AS foreign_params
FROM player_sessions s JOIN brands b ON b.id = s.brand_id
WHERE s.brand_id = :brand_id AND s.session_id = :session_id;

-- name: sessions
-- A brand's sessions, those in :state only when it is given, the latest opened first.
SELECT s.session_id, b.name AS brand, s.state, s.heartbeats_sent, s.last_status,
       s.last_outcome, s.last_at, s.last_error, s.opened_at, s.refreshed_at, s.expires_at,
       s.next_beat_at, s.failing_since, s.failures_in_row, s.ended_at,
       s.shown_params AS foreign_params
FROM player_sessions s JOIN brands b ON b.id = s.brand_id
WHERE s.brand_id = :brand_id AND (CAST(:state AS text) IS NULL OR s.state = :state)
ORDER BY s.opened_at DESC, s.id DESC
LIMIT :limit;
