-- Named queries of the back-office (dashboard/queries.py runs them as callbacks_reader).
-- Parameters are :named. An optional filter is written `(CAST(:x AS type) IS NULL OR ...)`: the
-- driver sends literals, so the planner drops the filters that are not set.

-- name: brands
-- Every brand with its delivery settings and currency, by name.
SELECT id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, currency
FROM brands ORDER BY name;

-- name: bets
-- With each bet, how its callbacks went: attempts in all, how many callbacks needed more than
-- one attempt or failed, and the state and last HTTP status of the latest callback tried.
-- Exact Bet IDs (:bet_ids) are searched at any time: the Created window applies only without.
SELECT b.bet_id, b.status, b.player_id, b.bet_type, b.stake, b.odds, b.system_sizes,
       b.placed_at, b.created_at, br.name AS brand,
       cb.callbacks, cb.attempts, cb.troubled, cb.last_state, cb.last_status
FROM bets b JOIN brands br ON br.id = b.brand_id
LEFT JOIN LATERAL (
    SELECT count(*) AS callbacks, coalesce(sum(c.attempts), 0) AS attempts,
           count(*) FILTER (WHERE c.attempts > 1
                              OR c.state IN ('rejected', 'exhausted')) AS troubled,
           (array_agg(c.state ORDER BY c.id DESC) FILTER (WHERE c.attempts > 0))[1]
               AS last_state,
           (array_agg(c.last_status ORDER BY c.id DESC) FILTER (WHERE c.attempts > 0))[1]
               AS last_status
    FROM callbacks c WHERE c.bet_id = b.bet_id
) cb ON true
WHERE (cardinality(CAST(:bet_ids AS text[])) > 0
       OR (b.created_at >= :created_from AND b.created_at < :created_to))
  AND (CAST(:brand_id AS integer) IS NULL OR b.brand_id = :brand_id)
  AND (cardinality(CAST(:bet_ids AS text[])) = 0
       OR b.bet_id = ANY (CAST(:bet_ids AS text[])))
  AND (CAST(:player_id AS text) IS NULL OR b.player_id = :player_id)
  AND (cardinality(CAST(:statuses AS text[])) = 0 OR b.status = ANY (CAST(:statuses AS text[])))
  AND (CAST(:after_created AS timestamptz) IS NULL
       OR (b.created_at, b.bet_id) < (CAST(:after_created AS timestamptz), :after_key))
ORDER BY b.created_at DESC, b.bet_id DESC
LIMIT :limit;

-- name: bets_held
-- Which of these Bet IDs PostgreSQL holds (within the selected brand); the others may be
-- archived.
SELECT bet_id FROM bets
WHERE bet_id = ANY (CAST(:bet_ids AS text[]))
  AND (CAST(:brand_id AS integer) IS NULL OR brand_id = :brand_id);

-- name: sender_groups
-- One row per group with undelivered callbacks: its head (the one being tried) and how many
-- wait behind it.
SELECT h.bet_id AS group_id, h.next_attempt_at AS send_date, b.created_at AS created,
       h.attempts, h.destination, h.state, h.last_status, h.last_error, h.request_id,
       (SELECT count(*) FROM callbacks w WHERE w.bet_id = h.bet_id AND w.state = 'waiting')
           AS waiting,
       br.name AS brand
FROM callbacks h
JOIN bets b ON b.bet_id = h.bet_id
JOIN brands br ON br.id = h.brand_id
WHERE h.state IN ('pending', 'in_flight')
  AND (CAST(:brand_id AS integer) IS NULL OR h.brand_id = :brand_id)
  AND (cardinality(CAST(:group_ids AS text[])) = 0
       OR h.bet_id = ANY (CAST(:group_ids AS text[])))
ORDER BY h.next_attempt_at, h.id
LIMIT :limit;

-- name: sender_summary
-- Callback sender's figures: open callbacks by state, those due now and the oldest, of one brand
-- or all.
SELECT count(*) FILTER (WHERE state IN ('pending', 'in_flight')) AS groups,
       count(*) FILTER (WHERE state = 'pending' AND next_attempt_at <= now()) AS due_now,
       count(*) FILTER (WHERE state = 'in_flight') AS in_flight,
       count(*) FILTER (WHERE state IN ('pending', 'in_flight') AND attempts > 0) AS retrying,
       count(*) FILTER (WHERE state = 'waiting') AS waiting,
       min(created_at) AS oldest_created
FROM callbacks
WHERE state IN ('waiting', 'pending', 'in_flight')
  AND (CAST(:brand_id AS integer) IS NULL OR brand_id = :brand_id);

-- name: history
-- One row per attempt, newest callback first; within a callback, its latest attempt first.
-- The page is read with the index and LIMIT; the dashboard then shows each page grouped by
-- bet (dashboard.shaping.group_by_bet), which callback_order (queue order) serves.
-- :hidden_destinations are left out (heartbeats, unless asked for: a heartbeat has no callback,
-- its group is the player session and its "created at" the time the session was opened).
-- An attempt starts after its callback was created, so the window on callback_created_at also
-- bounds started_at (with an hour of slack for clock skew), which prunes older partitions.
-- The sort key is set when the row is written, before the request goes out: an attempt still
-- sending (no finished_at, duration_ms or response yet) sorts and pages like any other. The
-- keyset cursor holds the whole key (callback_created_at, started_at, id); the archive's twin
-- is archive.reader.Archive.history.
SELECT a.id AS attempt_id, a.group_id, a.destination, a.callback_created_at, a.started_at,
       a.attempt_no, c.attempts AS callback_attempts, c.state AS callback_state,
       left(a.response_body, 2000) AS response_data, a.response_truncated, a.response_status,
       a.outcome, a.error_class, a.error_code, a.error_detail, a.duration_ms, a.finished_at,
       a.next_attempt_at, c.request_id AS callback_request_id, br.name AS brand,
       'manual retry by ' || act.actor || ': ' || act.reason AS manual_note,
       coalesce(a.callback_id, 0) AS callback_order
FROM attempts a
LEFT JOIN callbacks c ON c.id = a.callback_id
JOIN brands br ON br.id = a.brand_id
LEFT JOIN actions act ON act.id = a.action_id
WHERE a.callback_created_at >= :created_from AND a.callback_created_at < :created_to
  AND a.started_at >= CAST(:created_from AS timestamptz) - interval '1 hour'
  AND (CAST(:brand_id AS integer) IS NULL OR a.brand_id = :brand_id)
  AND (cardinality(CAST(:group_ids AS text[])) = 0
       OR a.group_id = ANY (CAST(:group_ids AS text[])))
  AND (cardinality(CAST(:destinations AS text[])) = 0
       OR a.destination = ANY (CAST(:destinations AS text[])))
  AND a.destination <> ALL (CAST(:hidden_destinations AS text[]))
  AND (cardinality(CAST(:outcomes AS text[])) = 0
       OR a.outcome = ANY (CAST(:outcomes AS text[])))
  AND (cardinality(CAST(:error_classes AS text[])) = 0
       OR a.error_class = ANY (CAST(:error_classes AS text[])))
  AND (NOT CAST(:problems_only AS boolean) OR a.outcome <> 'delivered')
  AND (NOT CAST(:filter_codes AS boolean)
       OR a.response_status = ANY (CAST(:codes AS integer[]))
       OR a.response_status / 100 = ANY (CAST(:code_classes AS integer[]))
       OR (CAST(:no_response AS boolean) AND a.response_status IS NULL))
  AND (CAST(:after_created AS timestamptz) IS NULL
       OR (a.callback_created_at, a.started_at, a.id)
          < (CAST(:after_created AS timestamptz), CAST(:after_started AS timestamptz),
             CAST(:after_id AS uuid)))
ORDER BY a.callback_created_at DESC, a.started_at DESC, a.id DESC
LIMIT :limit;

-- name: attempt_detail
-- Everything recorded about one attempt, with its callback, brand and any manual action.
SELECT a.id AS attempt_id, a.callback_id, a.group_id, a.destination, a.origin, a.attempt_no,
       a.callback_created_at, a.scheduled_at, a.started_at, a.finished_at, a.duration_ms,
       a.request_headers, a.response_status, a.response_headers, a.response_body,
       a.response_truncated, a.outcome, a.error_class, a.error_detail, a.error_code,
       a.next_attempt_at, c.request_id AS callback_request_id, c.state AS callback_state,
       c.attempts AS callback_attempts, c.payload, br.name AS brand, br.base_url,
       a.action_id, 'manual retry by ' || act.actor || ': ' || act.reason AS manual_note
FROM attempts a
LEFT JOIN callbacks c ON c.id = a.callback_id
JOIN brands br ON br.id = a.brand_id
LEFT JOIN actions act ON act.id = a.action_id
WHERE a.id = CAST(:attempt_id AS uuid)
  AND (CAST(:brand_id AS integer) IS NULL OR a.brand_id = :brand_id);

-- name: investigate_bet
-- The bet Investigate looks at, with its brand's name, timeout and currency (within the
-- selected brand).
SELECT b.bet_id, b.status, b.player_id, b.bet_type, b.stake, b.odds, b.system_sizes,
       b.restrictions, b.placed_at, b.created_at, b.updated_at, br.name AS brand,
       br.timeout_s, br.currency
FROM bets b JOIN brands br ON br.id = b.brand_id
WHERE b.bet_id = :bet_id AND (CAST(:brand_id AS integer) IS NULL OR b.brand_id = :brand_id);

-- name: bet_brand
-- The brand a bet belongs to, whatever brand is selected (to say it is elsewhere).
SELECT br.name FROM bets b JOIN brands br ON br.id = b.brand_id WHERE b.bet_id = :bet_id;

-- name: investigate_callbacks
-- The bet's callbacks in queue order, bounded.
SELECT id, request_id, destination, state, attempts, next_attempt_at, last_status, last_error,
       origin, created_at, finished_at
FROM callbacks
WHERE bet_id = :bet_id AND (CAST(:brand_id AS integer) IS NULL OR brand_id = :brand_id)
ORDER BY id
LIMIT :limit;

-- name: investigate_attempts
-- The bet's attempts (request headers as stored: masked); a player session's heartbeats
-- share its group id only by chance.
SELECT a.id AS attempt_id, a.callback_id, a.destination, a.attempt_no, a.callback_created_at,
       a.started_at, a.finished_at, a.duration_ms, a.request_headers, a.response_status,
       left(a.response_body, 2000) AS response_body, a.outcome, a.error_class, a.error_detail,
       a.error_code, a.next_attempt_at,
       'manual retry by ' || act.actor || ': ' || act.reason AS manual_note
FROM attempts a
LEFT JOIN actions act ON act.id = a.action_id
WHERE a.group_id = :bet_id AND (CAST(:brand_id AS integer) IS NULL OR a.brand_id = :brand_id)
  AND a.destination <> :heartbeat
ORDER BY a.started_at, a.attempt_no
LIMIT :limit;

-- name: bet_actions
-- The integration manager's actions that changed this bet's callbacks, oldest first.
SELECT a.id, a.kind, a.actor, a.reason, a.source, a.created_at, a.callbacks, a.bets,
       a.parameters, br.name AS brand,
       (SELECT count(*) FROM action_callbacks ac
        WHERE ac.action_id = a.id AND ac.bet_id = :bet_id) AS bet_callbacks
FROM actions a JOIN brands br ON br.id = a.brand_id
WHERE (a.bet_id = :bet_id
       OR a.id IN (SELECT action_id FROM action_callbacks WHERE bet_id = :bet_id))
  AND (CAST(:brand_id AS integer) IS NULL OR a.brand_id = :brand_id)
ORDER BY a.created_at, a.id
LIMIT :limit;

-- name: actions
-- The Actions page: actions taken in a window, newest first.
SELECT a.id, a.kind, a.actor, a.reason, a.source, a.bet_id, a.parameters, a.callbacks,
       a.bets, a.created_at, br.name AS brand
FROM actions a JOIN brands br ON br.id = a.brand_id
WHERE a.created_at >= :created_from AND a.created_at < :created_to
  AND (CAST(:brand_id AS integer) IS NULL OR a.brand_id = :brand_id)
  AND (cardinality(CAST(:kinds AS text[])) = 0 OR a.kind = ANY (CAST(:kinds AS text[])))
ORDER BY a.created_at DESC, a.id DESC
LIMIT :limit;

-- name: config_changes
-- The Actions page: configuration changes in a window, newest first. Row-level security
-- (migration 020) shows only the signed-in user's brands, and changes of no one brand (users,
-- alert URLs, default rules) only to a session of every brand; :with_global asks for those
-- (administrators).
SELECT c.id, c.kind, c.actor, c.os_user, c.source, c.subject, c.before, c.after, c.reason,
       c.created_at, c.brand_id, b.name AS brand
FROM config_changes c LEFT JOIN brands b ON b.id = c.brand_id
WHERE c.created_at >= :created_from AND c.created_at < :created_to
  AND (CAST(:brand_id AS integer) IS NULL OR c.brand_id = :brand_id)
  AND (c.brand_id IS NOT NULL OR CAST(:with_global AS boolean))
  AND (cardinality(CAST(:kinds AS text[])) = 0 OR c.kind = ANY (CAST(:kinds AS text[])))
ORDER BY c.created_at DESC, c.id DESC
LIMIT :limit;

-- name: action_callbacks
-- The callbacks one action changed.
SELECT ac.bet_id, c.destination, c.request_id, ac.state_before, ac.state_after,
       c.state AS state_now
FROM action_callbacks ac JOIN callbacks c ON c.id = ac.callback_id
WHERE ac.action_id = :action_id
  AND (CAST(:brand_id AS integer) IS NULL OR c.brand_id = :brand_id)
ORDER BY ac.bet_id, ac.callback_id
LIMIT :limit;

-- name: rollup_state
-- How far the Breakdowns rollups reach.
SELECT rolled_up_to FROM attempt_rollup_state;

-- name: latency_edges
-- The latency bucket edges (ms) the rollups count by.
SELECT attempt_latency_edges_ms() AS edges;

-- name: breakdown_counts
-- Hours before :rollup_to come from the hourly rollup, the rest from attempts themselves.
-- Destinations in :left_out are not counted, and only those in :only when it is not empty
-- (bet figures leave heartbeats out; the Sessions figures count them alone).
-- Attempts still sending and those closed as unknown are counted under their own outcome;
-- duration_ms_sum adds up measured durations only (as the rollup does, migration 006).
WITH rolled AS (
    SELECT hour AS at, brand_id, destination, response_status, outcome, error_class,
           error_code, attempts, first_attempts, retries, duration_ms_sum
    FROM attempt_rollup_hourly
    WHERE hour >= :window_from AND hour < :rollup_to
      AND (CAST(:brand_id AS integer) IS NULL OR brand_id = :brand_id)
      AND (CAST(:include_tests AS boolean) OR origin <> 'integration_test')
      AND destination <> ALL (CAST(:left_out AS text[]))
      AND (cardinality(CAST(:only AS text[])) = 0 OR destination = ANY (CAST(:only AS text[])))
), live AS (
    SELECT started_at AS at, brand_id, destination, response_status, outcome, error_class,
           error_code, 1 AS attempts, (attempt_no = 1)::int AS first_attempts,
           (attempt_no > 1)::int AS retries,
           CASE WHEN outcome NOT IN ('sending', 'unknown') THEN duration_ms END
               AS duration_ms_sum
    FROM attempts
    WHERE started_at >= :rollup_to AND started_at < :window_to
      AND (CAST(:brand_id AS integer) IS NULL OR brand_id = :brand_id)
      AND (CAST(:include_tests AS boolean) OR origin <> 'integration_test')
      AND destination <> ALL (CAST(:left_out AS text[]))
      AND (cardinality(CAST(:only AS text[])) = 0 OR destination = ANY (CAST(:only AS text[])))
)
SELECT date_bin(CAST(:bucket AS interval), u.at, CAST(:bucket_origin AS timestamptz)) AS bucket,
       br.name AS brand, u.destination, u.response_status, u.outcome, u.error_class,
       u.error_code, sum(u.attempts)::bigint AS attempts,
       sum(u.first_attempts)::bigint AS first_attempts, sum(u.retries)::bigint AS retries,
       coalesce(sum(u.duration_ms_sum), 0) AS duration_ms_sum
FROM (SELECT * FROM rolled UNION ALL SELECT * FROM live) u
JOIN brands br ON br.id = u.brand_id
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1;

-- name: breakdown_latency
-- Measured request durations only: an attempt still sending has none yet, and an unknown one's
-- is how long its row stayed open, not how long the platform took (the rollup counts the
-- same since migration 006).
WITH rolled AS (
    SELECT hour AS at, destination, bucket AS lat, attempts
    FROM attempt_latency_hourly
    WHERE hour >= :window_from AND hour < :rollup_to
      AND (CAST(:brand_id AS integer) IS NULL OR brand_id = :brand_id)
      AND (CAST(:include_tests AS boolean) OR origin <> 'integration_test')
      AND destination <> ALL (CAST(:left_out AS text[]))
      AND (cardinality(CAST(:only AS text[])) = 0 OR destination = ANY (CAST(:only AS text[])))
), live AS (
    SELECT started_at AS at, destination, attempt_latency_bucket(duration_ms) AS lat,
           1 AS attempts
    FROM attempts
    WHERE started_at >= :rollup_to AND started_at < :window_to
      AND duration_ms IS NOT NULL AND outcome NOT IN ('sending', 'unknown')
      AND (CAST(:brand_id AS integer) IS NULL OR brand_id = :brand_id)
      AND (CAST(:include_tests AS boolean) OR origin <> 'integration_test')
      AND destination <> ALL (CAST(:left_out AS text[]))
      AND (cardinality(CAST(:only AS text[])) = 0 OR destination = ANY (CAST(:only AS text[])))
)
SELECT date_bin(CAST(:bucket AS interval), at, CAST(:bucket_origin AS timestamptz)) AS bucket,
       destination, lat AS latency_bucket, sum(attempts)::bigint AS attempts
FROM (SELECT * FROM rolled UNION ALL SELECT * FROM live) u
GROUP BY 1, 2, 3
ORDER BY 1;

-- name: sessions_named
-- Player sessions of these ids (the brands a session id is known in), without the
-- Foreign-Params sent (the back-office reads only their masked copy, shown_params).
SELECT s.session_id, s.brand_id, br.name AS brand, br.heartbeat_interval_s, s.shown_params,
       s.state, s.expires_at, s.next_beat_at, s.heartbeats_sent, s.failures_in_row,
       s.failing_since, s.last_status, s.last_outcome, s.last_error, s.last_at, s.opened_at,
       s.refreshed_at, s.ended_at
FROM player_sessions s JOIN brands br ON br.id = s.brand_id
WHERE s.session_id = ANY (CAST(:session_ids AS text[]))
  AND (CAST(:brand_id AS integer) IS NULL OR s.brand_id = :brand_id)
ORDER BY s.session_id, br.name
LIMIT :limit;

-- name: session_heartbeats
-- A session's heartbeats since it was (last) opened, newest first. A heartbeat's group is its
-- session id; earlier openings of the same id are left out.
SELECT a.id AS attempt_id, a.attempt_no, a.scheduled_at, a.started_at, a.finished_at,
       a.duration_ms, a.response_status, left(a.response_body, 2000) AS response_body,
       a.outcome, a.error_class, a.error_code, a.error_detail, a.next_attempt_at
FROM attempts a
WHERE a.group_id = :session_id AND a.brand_id = :brand_id AND a.destination = :heartbeat
  AND a.started_at >= :opened_at
ORDER BY a.started_at DESC, a.id DESC
LIMIT :limit;

-- name: session_figures
-- Per brand: player sessions live now (and how many of them have failing heartbeats), and
-- sessions the platform ended in [:window_from, :window_to).
SELECT br.id AS brand_id, br.name AS brand,
       count(s.id) FILTER (WHERE s.state = 'live') AS live,
       count(s.id) FILTER (WHERE s.state = 'live' AND s.failures_in_row > 0) AS failing,
       count(s.id) FILTER (WHERE s.state = 'ended_by_platform') AS ended_by_platform
FROM brands br
LEFT JOIN player_sessions s ON s.brand_id = br.id
     AND (s.state = 'live'
          OR (s.state = 'ended_by_platform' AND s.ended_at >= :window_from
              AND s.ended_at < :window_to))
WHERE CAST(:brand_id AS integer) IS NULL OR br.id = :brand_id
GROUP BY br.id, br.name
ORDER BY br.name;

-- name: heartbeat_buckets
-- Heartbeats per time bucket and brand in [:window_from, :window_to), from the workers' counts
-- per minute (migration 025): delivered, ended (the platform no longer knew the session) and
-- failed (no answer, an answer that is not a success, or lost with its worker).
SELECT date_bin(CAST(:bucket AS interval), m.minute, CAST(:bucket_origin AS timestamptz))
           AS bucket,
       br.name AS brand, sum(m.delivered)::bigint AS delivered, sum(m.ended)::bigint AS ended,
       sum(m.failed)::bigint AS failed
FROM heartbeat_minutes m JOIN brands br ON br.id = m.brand_id
WHERE m.minute >= :window_from AND m.minute < :window_to
  AND (CAST(:brand_id AS integer) IS NULL OR m.brand_id = :brand_id)
GROUP BY 1, 2
ORDER BY 1, 2;
