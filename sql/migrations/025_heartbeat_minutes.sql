-- Heartbeats counted per brand and minute, and a brand's bet attempts indexed apart.
--
-- At 100,000 live sessions a brand's heartbeats outnumber its bet callbacks a hundred to one:
-- Brand health and the alert evaluator, which count a brand's recent attempts, read a million
-- heartbeat rows per ten minutes to find them (about 4 s a round). So:
-- - heartbeat_minutes: the workers add each recorded heartbeat to its brand's minute
--   (delivered; ended: the platform no longer knew the session; failed: no answer, an answer
--   that is not a success, or lost with its worker), in the transaction that records it. The
--   heartbeat figures read a few rows per brand. Rows older than 35 days are deleted by the
--   scheduler.
-- - player_sessions_ended: sessions that are over, by when; the scheduler deletes those over
--   for longer than the history is kept (CALLBACKS_RETENTION_DAYS).
-- - attempts_bets_brand_started: a brand's attempts of bet callbacks by start time, without
--   the heartbeats (their figures read only these; heartbeats do not write this index).

CREATE TABLE heartbeat_minutes (
    brand_id  integer NOT NULL REFERENCES brands (id),
    minute    timestamptz NOT NULL,
    delivered integer NOT NULL DEFAULT 0,
    ended     integer NOT NULL DEFAULT 0,
    failed    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (brand_id, minute)
);
CREATE INDEX heartbeat_minutes_minute ON heartbeat_minutes (minute);
ALTER TABLE heartbeat_minutes SET (fillfactor = 70);

ALTER TABLE heartbeat_minutes ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON heartbeat_minutes FOR SELECT TO PUBLIC
    USING ((SELECT back_office_all_brands())
           OR brand_id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])));
REVOKE ALL ON heartbeat_minutes FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        GRANT SELECT ON heartbeat_minutes TO callbacks_reader;
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON heartbeat_minutes FROM callbacks_reader;
    END IF;
END $$;

CREATE INDEX attempts_bets_brand_started ON attempts (brand_id, started_at)
    WHERE destination <> '/heartbeat';

CREATE INDEX player_sessions_ended ON player_sessions (ended_at) WHERE state <> 'live';
