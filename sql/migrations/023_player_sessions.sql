-- Player sessions and their heartbeats.
--
-- A producer says which player sessions are live (PUT/DELETE /v1/brands/{brand}/sessions/{id},
-- `callbacks session ...`). While a session is live the engine sends POST {base_url}/heartbeat
-- with the session's Foreign-Params once per brand interval (±10 % jitter), one in flight at
-- most, until it is closed, expires, or the platform answers 400 auth_session_unknown.
--
-- - brands.heartbeat_interval_s: the brand's interval (default 60 s, at least 1 s).
-- - player_sessions: one row per (brand, session id). `foreign_params` is what is sent (no
--   back-office role reads it); `shown_params` is the masked copy the back-office shows.
--   The scheduler claims due sessions by `player_sessions_due` (brand, next due time), leasing
--   the row like a callback: `lease_token` set means a heartbeat of the session is in flight
--   (`beat_due_at` when it was due), and `beat_attempt_id`/`beat_started_at` name its attempt
--   row once it is written, so the sweeper can close it as 'unknown' when the worker died.
-- - A heartbeat attempt is a row of `attempts` like any other: destination '/heartbeat', group
--   the session id, no callback (callback_id NULL), attempt_no the beat's number in the session,
--   scheduled_at the time it was due (its lateness is started_at - scheduled_at).

ALTER TABLE brands ADD COLUMN heartbeat_interval_s integer NOT NULL DEFAULT 60
    CHECK (heartbeat_interval_s >= 1);

ALTER TABLE attempts ALTER COLUMN callback_id DROP NOT NULL;

CREATE TABLE player_sessions (
    id               bigserial PRIMARY KEY,
    brand_id         integer NOT NULL REFERENCES brands (id),
    session_id       text NOT NULL CHECK (length(session_id) BETWEEN 1 AND 200),
    foreign_params   jsonb NOT NULL,
    shown_params     jsonb NOT NULL,
    state            text NOT NULL
                     CHECK (state IN ('live', 'closed', 'expired', 'ended_by_platform')),
    expires_at       timestamptz,
    -- When the next heartbeat is due (NULL once the session is over).
    next_beat_at     timestamptz,
    lease_token      uuid,
    lease_expires_at timestamptz,
    -- The heartbeat in flight: when it was due, and its attempt row once written.
    beat_due_at      timestamptz,
    beat_attempt_id  uuid,
    beat_started_at  timestamptz,
    heartbeats_sent  integer NOT NULL DEFAULT 0,
    -- Heartbeats that failed in a row (0 after a success) and since when.
    failures_in_row  integer NOT NULL DEFAULT 0,
    failing_since    timestamptz,
    last_status      integer,
    last_outcome     text,
    last_error       text,
    last_at          timestamptz,
    opened_at        timestamptz NOT NULL DEFAULT now(),
    refreshed_at     timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    UNIQUE (brand_id, session_id)
);
-- Due sessions of a brand, earliest first (the scheduler's claim).
CREATE INDEX player_sessions_due ON player_sessions (brand_id, next_beat_at)
    WHERE state = 'live' AND lease_token IS NULL;
-- Heartbeats in flight: a brand's count (its cap) and the sweeper's expired leases.
CREATE INDEX player_sessions_in_flight ON player_sessions (brand_id, lease_expires_at)
    WHERE lease_token IS NOT NULL;
-- Live sessions with an end, soonest first (the expiry sweep).
CREATE INDEX player_sessions_expiry ON player_sessions (expires_at)
    WHERE state = 'live' AND expires_at IS NOT NULL;
-- (A brand's sessions are listed and counted through the unique index: every index more is
-- written by each claim and each finished heartbeat.)

-- Thousands of updates a second at scale, none of them HOT (the due time is indexed): keep
-- room on each page and vacuum early.
ALTER TABLE player_sessions SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,
                                 autovacuum_vacuum_cost_delay = 0);

-- How many of a brand's heartbeats are in flight (the claim keeps it under max_in_flight). An
-- index scan, whatever the session's settings (see brand_in_flight, migration 015).
CREATE FUNCTION brand_beats_in_flight(brand integer) RETURNS bigint
LANGUAGE plpgsql STABLE
SET enable_bitmapscan = off SET enable_seqscan = off
SET enable_indexscan = on SET enable_indexonlyscan = on AS $$
BEGIN
    RETURN (SELECT count(*) FROM player_sessions
            WHERE brand_id = brand AND lease_token IS NOT NULL);
END
$$;

-- The back-office reads sessions through row-level security, without the Foreign-Params sent.
DO $$
DECLARE
    r text;
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        REVOKE ALL ON player_sessions FROM callbacks_reader;
        GRANT SELECT (id, brand_id, session_id, shown_params, state, expires_at, next_beat_at,
                      lease_expires_at, heartbeats_sent, failures_in_row, failing_since,
                      last_status, last_outcome, last_error, last_at, opened_at, refreshed_at,
                      ended_at) ON player_sessions TO callbacks_reader;
        GRANT SELECT (heartbeat_interval_s) ON brands TO callbacks_reader;
    END IF;
    FOREACH r IN ARRAY ARRAY['callbacks_operator', 'callbacks_battery'] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('REVOKE ALL ON player_sessions FROM %I', r);
        END IF;
    END LOOP;
END $$;
ALTER TABLE player_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON player_sessions FOR SELECT TO PUBLIC
    USING ((SELECT back_office_all_brands())
           OR brand_id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])));
REVOKE ALL ON player_sessions FROM PUBLIC;
REVOKE ALL ON FUNCTION brand_beats_in_flight(integer) FROM PUBLIC;
