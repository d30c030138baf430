-- The Breakdowns rollups now that an attempt row is written before its request goes out
-- (outcome 'sending', no finished_at or duration_ms yet) and may be closed as 'unknown'
-- (the worker stopped before recording the answer; its duration is only how long the row
-- stayed open, not how long the platform took).
--
-- - The hourly sums never fail on an hour whose attempts have no duration yet, and add up only
--   durations that were measured (answers and errors, not sending or unknown).
-- - Latency buckets count measured durations only, like the live query on the Breakdowns page.
-- - An hour is rolled up once none of its attempts is still sending (the row will change to
--   the answer, or to unknown); an attempt left sending for over a day is taken as it stands,
--   so one forgotten row cannot stop the rollups for good.

CREATE OR REPLACE FUNCTION rebuild_attempt_rollups(from_ts timestamptz, to_ts timestamptz)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('hour', from_ts);
    hi timestamptz := date_trunc('hour', to_ts + interval '59 minutes 59.999999 seconds');
    written bigint;
    more bigint;
BEGIN
    DELETE FROM attempt_rollup_hourly WHERE hour >= lo AND hour < hi;
    DELETE FROM attempt_latency_hourly WHERE hour >= lo AND hour < hi;
    INSERT INTO attempt_rollup_hourly
    SELECT date_trunc('hour', started_at), brand_id, destination, origin, response_status,
           outcome, error_class, error_code, count(*), count(*) FILTER (WHERE attempt_no = 1),
           count(*) FILTER (WHERE attempt_no > 1),
           coalesce(sum(duration_ms) FILTER (WHERE outcome NOT IN ('sending', 'unknown')), 0)
    FROM attempts WHERE started_at >= lo AND started_at < hi
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
    GET DIAGNOSTICS written = ROW_COUNT;
    INSERT INTO attempt_latency_hourly
    SELECT date_trunc('hour', started_at), brand_id, destination, origin,
           attempt_latency_bucket(duration_ms), count(*)
    FROM attempts
    WHERE started_at >= lo AND started_at < hi
      AND duration_ms IS NOT NULL AND outcome NOT IN ('sending', 'unknown')
    GROUP BY 1, 2, 3, 4, 5;
    GET DIAGNOSTICS more = ROW_COUNT;
    RETURN written + more;
END $$;

CREATE OR REPLACE FUNCTION refresh_attempt_rollups(settle interval DEFAULT interval '15 minutes')
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz;
    hi timestamptz := date_trunc('hour', now() - settle);
    open_since timestamptz;
    written bigint := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(72317002) THEN
        RETURN -1;
    END IF;
    SELECT min(started_at) INTO open_since FROM attempts
    WHERE outcome = 'sending' AND started_at >= now() - interval '1 day';
    IF open_since IS NOT NULL THEN
        hi := LEAST(hi, date_trunc('hour', open_since));
    END IF;
    SELECT rolled_up_to INTO lo FROM attempt_rollup_state;
    IF lo IS NULL THEN
        SELECT date_trunc('hour', min(started_at)) INTO lo FROM attempts;
    END IF;
    IF lo IS NOT NULL AND hi > lo THEN
        written := rebuild_attempt_rollups(lo, hi);
    END IF;
    IF lo IS NOT NULL THEN
        INSERT INTO attempt_rollup_state (rolled_up_to) VALUES (GREATEST(lo, hi))
        ON CONFLICT (singleton) DO UPDATE SET rolled_up_to = EXCLUDED.rolled_up_to;
    END IF;
    RETURN written;
END $$;
