-- What a stopping worker gives back (delivery/stopping.py runs them): claims it took but will
-- not send, and requests still in flight when its stop's grace period ends. Each hands the
-- lease back at once, as the sweepers (sweep_expired_leases, sweep_beat_leases) do for a lease
-- that ran out, so that another worker takes the work without waiting for the lease to run out.

-- name: hand_back_claims
-- Claims taken after the stop began: nothing was written or sent, so the callbacks are simply
-- pending again (still due when they were: their order among the brand's heads is kept).
UPDATE callbacks c
SET state = 'pending', lease_token = NULL, lease_expires_at = NULL
FROM unnest(CAST(:ids AS bigint[]), CAST(:tokens AS uuid[])) AS t(id, token)
WHERE c.id = t.id AND c.lease_token = t.token AND c.state = 'in_flight'
  AND c.id = ANY(CAST(:ids AS bigint[]))  -- by primary key
RETURNING c.id;

-- name: hand_back_beats
-- Heartbeat claims taken after the stop began: nothing was written or sent, so the session's
-- lease is given back and its heartbeat is due again when it was (the claim had moved it one
-- interval on).
UPDATE player_sessions s
SET lease_token = NULL, lease_expires_at = NULL, beat_due_at = NULL,
    next_beat_at = CASE WHEN s.state = 'live' THEN coalesce(s.beat_due_at, s.next_beat_at)
                        ELSE s.next_beat_at END
FROM unnest(CAST(:ids AS bigint[]), CAST(:tokens AS uuid[])) AS t(id, token)
WHERE s.id = t.id AND s.lease_token = t.token AND s.beat_attempt_id IS NULL
  AND s.id = ANY(CAST(:ids AS bigint[]))
RETURNING s.id;

-- name: close_unfinished
-- Requests still in flight when the stop's grace period ended: their attempts are closed as
-- 'unknown' (the platform may have received them; an attempt already completed or swept is
-- left as it is) and count as attempts; the callbacks whose lease this worker still holds are
-- due again at once.
WITH t AS MATERIALIZED (
    SELECT * FROM unnest(CAST(:callback_ids AS bigint[]), CAST(:tokens AS uuid[]),
                         CAST(:attempt_ids AS uuid[]), CAST(:started_ats AS timestamptz[]))
        AS t(callback_id, token, attempt_id, started_at)
), closed AS (
    UPDATE attempts a
    SET outcome = 'unknown', error_class = 'unknown', finished_at = now(),
        error_detail = 'the worker stopped before the answer came (stop grace period of '
                       || CAST(:grace_s AS float8) || ' s); the platform may have received '
                       'request ' || a.id
    FROM t
    WHERE a.started_at = t.started_at AND a.id = t.attempt_id AND a.outcome = 'sending'
      AND a.started_at = ANY(CAST(:started_ats AS timestamptz[]))  -- the months concerned
      AND a.id = ANY(CAST(:attempt_ids AS uuid[]))
    RETURNING a.callback_id, a.error_detail
)
UPDATE callbacks c
SET state = 'pending', next_attempt_at = now(), lease_token = NULL, lease_expires_at = NULL,
    attempts = c.attempts + (SELECT count(*) FROM closed WHERE closed.callback_id = c.id),
    last_error = coalesce(
        (SELECT max(closed.error_detail) FROM closed WHERE closed.callback_id = c.id),
        'the worker stopped before the answer came') || '; sent again'
FROM t
WHERE c.id = t.callback_id AND c.lease_token = t.token AND c.state = 'in_flight'
  AND c.id = ANY(CAST(:callback_ids AS bigint[]))
RETURNING c.id;

-- name: close_unfinished_beats
-- Heartbeats still in flight when the stop's grace period ended: closed as the sweeper closes a
-- lost one (sweep_beat_leases: 'unknown', counted as failed in the brand's minute, the lease
-- given back; the session's next heartbeat is due as claimed), without waiting for the lease.
WITH expired AS (
    SELECT s.id, s.beat_attempt_id, s.beat_started_at FROM player_sessions s
    JOIN unnest(CAST(:ids AS bigint[]), CAST(:tokens AS uuid[])) AS t(id, token)
      ON s.id = t.id AND s.lease_token = t.token
    WHERE s.id = ANY(CAST(:ids AS bigint[]))
    FOR UPDATE OF s
), closed AS (
    UPDATE attempts a
    SET outcome = 'unknown', error_class = 'unknown', finished_at = now(),
        error_detail = 'the worker stopped before the answer came (stop grace period of '
                       || CAST(:grace_s AS float8) || ' s); the platform may have received '
                       'request ' || a.id
    FROM expired e
    WHERE a.started_at = e.beat_started_at AND a.id = e.beat_attempt_id
      AND a.outcome = 'sending'
      AND a.started_at = ANY(ARRAY(SELECT beat_started_at FROM expired
                                   WHERE beat_started_at IS NOT NULL))
      AND a.id = ANY(ARRAY(SELECT beat_attempt_id FROM expired
                           WHERE beat_attempt_id IS NOT NULL))
    RETURNING a.id, a.finished_at, a.error_detail
)
, counted AS (
    INSERT INTO heartbeat_minutes AS m (brand_id, minute, failed)
    SELECT s.brand_id, date_trunc('minute', c.finished_at), count(*)
    FROM closed c JOIN expired e ON e.beat_attempt_id = c.id JOIN player_sessions s ON s.id = e.id
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (brand_id, minute) DO UPDATE SET failed = m.failed + EXCLUDED.failed
)
UPDATE player_sessions s
SET lease_token = NULL, lease_expires_at = NULL, beat_due_at = NULL, beat_attempt_id = NULL,
    beat_started_at = NULL,
    heartbeats_sent = s.heartbeats_sent + (SELECT count(*) FROM closed c WHERE c.id = e.beat_attempt_id),
    last_outcome = coalesce((SELECT 'unknown' FROM closed c WHERE c.id = e.beat_attempt_id),
                            s.last_outcome),
    last_error = coalesce((SELECT c.error_detail FROM closed c WHERE c.id = e.beat_attempt_id),
                          s.last_error),
    last_at = coalesce((SELECT c.finished_at FROM closed c WHERE c.id = e.beat_attempt_id),
                       s.last_at)
FROM expired e
WHERE s.id = e.id
RETURNING s.id;
