-- The heartbeat engine's statements (delivery/heartbeats.py runs them): claims of due player
-- sessions, their leases, the outcome of each heartbeat, expiry and the sweep of lost leases.
-- Opening, closing and listing sessions is delivery/sessions.py's (sql/player_sessions.sql).

-- name: claim_beats
-- Leases due sessions of every brand in one statement, at most each brand's room under its
-- max_in_flight heartbeats in flight (heartbeats have a budget of their own: they never take a
-- bet callback's slot) and :limit. Each claimed session's next heartbeat is due one interval
-- (±:jitter) after :now, whatever happens to this one: a heartbeat that fails is not tried
-- again, the next one replaces it. Besides a row per claim, one row with id NULL says in how
-- many seconds the earliest session left is due (≤ 0: due now but held back by its brand's
-- cap; NULL: no live session).
WITH brand_due AS MATERIALIZED (
    SELECT b.id AS brand_id, b.heartbeat_interval_s, b.max_in_flight, first.next_beat_at
    FROM brands b CROSS JOIN LATERAL (
        SELECT s.next_beat_at FROM player_sessions s
        WHERE s.brand_id = b.id AND s.state = 'live' AND s.lease_token IS NULL
        ORDER BY s.next_beat_at LIMIT 1
    ) first
),
room AS MATERIALIZED (
    SELECT d.brand_id, d.heartbeat_interval_s,
           d.max_in_flight - brand_beats_in_flight(d.brand_id) AS room
    FROM brand_due d WHERE d.next_beat_at <= :now
),
due AS (
    SELECT c.id, r.heartbeat_interval_s FROM room r CROSS JOIN LATERAL (
        SELECT s.id FROM player_sessions s
        WHERE s.brand_id = r.brand_id AND s.state = 'live' AND s.lease_token IS NULL
          AND s.next_beat_at <= :now
        ORDER BY s.next_beat_at
        LIMIT LEAST(r.room, :limit)
        FOR UPDATE SKIP LOCKED
    ) c
    WHERE r.room > 0
),
claimed AS (
    UPDATE player_sessions s
    SET lease_token = gen_random_uuid(), beat_due_at = s.next_beat_at,
        lease_expires_at = CAST(:now AS timestamptz) + make_interval(secs => :lease_s),
        next_beat_at = CAST(:now AS timestamptz) + make_interval(
            secs => d.heartbeat_interval_s
                    * (1 - CAST(:jitter AS float8) + 2 * CAST(:jitter AS float8) * random()))
    FROM due d
    WHERE s.id = d.id AND s.id = ANY(ARRAY(SELECT id FROM due))
    RETURNING s.id, s.lease_token::text AS lease_token, s.brand_id
)
SELECT id, lease_token, brand_id, CAST(NULL AS float8) AS next_due_in_s FROM claimed
UNION ALL
-- A brand whose earliest session was claimed has its next one due later; the earliest left
-- is looked up again for those brands only.
SELECT NULL, NULL, NULL, extract(epoch FROM min(n.next_beat_at) - CAST(:now AS timestamptz))
FROM (
    SELECT d.next_beat_at FROM brand_due d
    WHERE d.brand_id <> ALL(ARRAY(SELECT brand_id FROM room WHERE room > 0))
    UNION ALL
    SELECT (SELECT s.next_beat_at FROM player_sessions s
            WHERE s.brand_id = r.brand_id AND s.state = 'live' AND s.lease_token IS NULL
              AND s.id <> ALL(ARRAY(SELECT id FROM due))
            ORDER BY s.next_beat_at LIMIT 1)
    FROM room r WHERE r.room > 0
) n;

-- name: start_beats
-- The worker confirms it holds each lease and names the attempt it is about to write (the
-- sweeper's way to it). The claim's lease covers the wait for a worker and the request in
-- most cases; it is stretched past the HTTP timeout only when too little of it is left, so the
-- update changes no indexed column and stays a heap-only update. A session closed, expired or
-- ended meanwhile gives its lease back and is returned with state <> 'live': nothing is sent.
UPDATE player_sessions s
SET lease_expires_at = CASE WHEN s.state = 'live' THEN GREATEST(
                                s.lease_expires_at,
                                clock_timestamp() + make_interval(secs => b.timeout_s + :margin_s))
                       END,
    lease_token = CASE WHEN s.state = 'live' THEN s.lease_token END,
    beat_due_at = CASE WHEN s.state = 'live' THEN s.beat_due_at END,
    beat_attempt_id = CASE WHEN s.state = 'live' THEN t.attempt_id END,
    beat_started_at = CASE WHEN s.state = 'live' THEN t.started_at END
FROM unnest(CAST(:ids AS bigint[]), CAST(:tokens AS uuid[]), CAST(:attempt_ids AS uuid[]),
            CAST(:started_ats AS timestamptz[])) AS t(id, token, attempt_id, started_at),
     brands b LEFT JOIN brand_url_credentials k ON k.brand_id = b.id
WHERE s.id = t.id AND s.lease_token = t.token AND s.lease_expires_at > now()
  AND b.id = s.brand_id AND s.id = ANY(CAST(:ids AS bigint[]))
RETURNING s.id, s.session_id, s.brand_id, s.state, s.foreign_params, s.heartbeats_sent,
          s.beat_due_at, s.next_beat_at, s.opened_at, t.token::text AS lease_token,
          t.attempt_id::text AS attempt_id, t.started_at, b.base_url, b.timeout_s,
          b.signing_secret, b.max_in_flight, b.visible_keys,
          k.username || ':' || k.password AS url_credentials;

-- name: keep_beat_leases
-- After a slow write: the leases of heartbeats about to go out, stretched from now; one swept
-- meanwhile is not returned (its heartbeat must not go out).
UPDATE player_sessions s
SET lease_expires_at = clock_timestamp() + make_interval(secs => b.timeout_s + :margin_s)
FROM unnest(CAST(:ids AS bigint[]), CAST(:tokens AS uuid[])) AS t(id, token), brands b
WHERE s.id = t.id AND s.lease_token = t.token AND b.id = s.brand_id
  AND s.id = ANY(CAST(:ids AS bigint[]))
RETURNING s.id;

-- name: finish_beats
-- What each heartbeat came to. A session whose platform answered auth_session_unknown is
-- ended by the platform (no more heartbeats); a session closed or expired meanwhile stays so.
-- A lease lost meanwhile (swept) moves nothing: the sweeper counted the heartbeat already.
WITH r AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        id bigint, token uuid, outcome text, status integer, error text, ended boolean,
        at timestamptz)
)
UPDATE player_sessions s
SET lease_token = NULL, lease_expires_at = NULL, beat_due_at = NULL, beat_attempt_id = NULL,
    beat_started_at = NULL,
    heartbeats_sent = s.heartbeats_sent + 1,
    last_status = r.status, last_outcome = r.outcome, last_error = r.error, last_at = r.at,
    failures_in_row = CASE WHEN r.outcome = 'delivered' THEN 0 ELSE s.failures_in_row + 1 END,
    failing_since = CASE WHEN r.outcome = 'delivered' THEN NULL
                         ELSE coalesce(s.failing_since, r.at) END,
    state = CASE WHEN r.ended AND s.state = 'live' THEN 'ended_by_platform' ELSE s.state END,
    ended_at = CASE WHEN r.ended AND s.state = 'live' THEN r.at ELSE s.ended_at END,
    next_beat_at = CASE WHEN r.ended OR s.state <> 'live' THEN NULL ELSE s.next_beat_at END
FROM r
WHERE s.id = r.id AND s.lease_token = r.token AND s.id = ANY(CAST(:ids AS bigint[]));

-- name: sweep_beat_leases
-- A heartbeat lease that ran out means its worker stopped or its message was lost: the lease
-- is given back (the session's next heartbeat is due as claimed: a lost one is not sent
-- again), and an attempt written but never completed is closed as 'unknown'.
WITH expired AS (
    SELECT id, beat_attempt_id, beat_started_at FROM player_sessions
    WHERE lease_token IS NOT NULL AND lease_expires_at < now()
    FOR UPDATE SKIP LOCKED
), closed AS (
    UPDATE attempts a
    SET outcome = 'unknown', error_class = 'unknown', finished_at = now(),
        error_detail = 'the worker stopped before recording the answer; the platform may have '
                       'received request ' || a.id
    FROM expired e
    WHERE a.started_at = e.beat_started_at AND a.id = e.beat_attempt_id
      AND a.outcome = 'sending'
      AND a.started_at = ANY(ARRAY(SELECT beat_started_at FROM expired
                                   WHERE beat_started_at IS NOT NULL))
      AND a.id = ANY(ARRAY(SELECT beat_attempt_id FROM expired
                           WHERE beat_attempt_id IS NOT NULL))
    RETURNING a.id, a.finished_at, a.error_detail
)
-- Heartbeats lost with their worker count as failed in their brand's minute.
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

-- name: expire_sessions
-- Live sessions whose end has come: expired, no more heartbeats (one in flight finishes).
UPDATE player_sessions
SET state = 'expired', ended_at = expires_at, next_beat_at = NULL
WHERE id = ANY(ARRAY(SELECT id FROM player_sessions
                     WHERE state = 'live' AND expires_at <= :now
                     ORDER BY expires_at LIMIT :limit))
  AND state = 'live'
RETURNING id;

-- name: count_beats
-- Adds a batch's heartbeats to their brands' minutes (rows in brand and minute order, so two
-- recorders never wait on each other in opposite orders).
INSERT INTO heartbeat_minutes AS m (brand_id, minute, delivered, ended, failed)
SELECT brand_id, minute, delivered, ended, failed
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
    brand_id integer, minute timestamptz, delivered integer, ended integer, failed integer)
ORDER BY brand_id, minute
ON CONFLICT (brand_id, minute) DO UPDATE
SET delivered = m.delivered + EXCLUDED.delivered, ended = m.ended + EXCLUDED.ended,
    failed = m.failed + EXCLUDED.failed;

-- name: drop_old_beat_minutes
-- Forget the per-minute heartbeat counts older than 35 days.
DELETE FROM heartbeat_minutes WHERE minute < now() - interval '35 days';

-- name: drop_old_sessions
-- Sessions over for longer than the history is kept, a batch at a time (their heartbeats'
-- attempts go with the history's months).
DELETE FROM player_sessions
WHERE id = ANY(ARRAY(SELECT id FROM player_sessions
                     WHERE state <> 'live'
                       AND ended_at < now() - make_interval(secs => CAST(:days AS float8) * 86400)
                     LIMIT :limit));
