-- Named queries of the queue (bets, callbacks, attempts), run by delivery/store.py only.
-- Parameters are :named.

-- name: lock_bet
-- Creates the bet on its first callback and locks its row: the group's mutex.
INSERT INTO bets (bet_id, brand_id, player_id, bet_type, stake, odds, system_sizes, status,
                  placed_at)
VALUES (:bet_id, :brand_id, :player_id, :bet_type, :stake, CAST(:odds AS jsonb), :system_sizes,
        :status, :placed_at)
ON CONFLICT (bet_id) DO UPDATE SET updated_at = now()
RETURNING brand_id, status, (xmax = 0) AS created;

-- name: lock_bets_for_enqueue
-- Creates the bets of a batch that are new and locks every one of them, in the order of :rows
-- ({n, bet_id, brand_id, player_id, bet_type, stake, odds (JSON text), system_sizes, status,
-- placed_at}, n ascending with bet_id), the order every writer takes bets in; a row per bet:
-- (bet_id, brand_id, status, created).
INSERT INTO bets (bet_id, brand_id, player_id, bet_type, stake, odds, system_sizes, status,
                  placed_at)
SELECT r.bet_id, r.brand_id, r.player_id, r.bet_type, r.stake, CAST(r.odds AS jsonb),
       r.system_sizes, r.status, r.placed_at
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
    n integer, bet_id text, brand_id integer, player_id text, bet_type smallint, stake numeric,
    odds text, system_sizes integer[], status text, placed_at timestamptz)
ORDER BY r.n
ON CONFLICT (bet_id) DO UPDATE SET updated_at = now()
RETURNING bet_id, brand_id, status, (xmax = 0) AS created;

-- name: set_bet_status
-- The bet's new status, its restrictions added to those it has.
UPDATE bets SET status = :status, restrictions = restrictions || CAST(:restrictions AS jsonb),
                updated_at = now()
WHERE bet_id = :bet_id;

-- name: set_bet_statuses
-- A batch's bets moved on at once: rows of {bet_id, status, restrictions} (added to the bet's).
UPDATE bets b SET status = r.status, restrictions = b.restrictions || r.restrictions,
                  updated_at = now()
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(bet_id text, status text, restrictions jsonb)
WHERE b.bet_id = r.bet_id AND b.bet_id = ANY(CAST(:bet_ids AS text[]));

-- name: queue_callbacks
-- A batch of producer callbacks, their bets locked (lock_bets_for_enqueue), in the order of
-- :rows ({n, request_id, bet_id, destination, payload, foreign_params, skip_reason,
-- first_of_bet}), so that ids, and each group's order, follow it; :statuses ({bet_id, status})
-- moves the bets on. Like queue_callback: stored as skipped with a skip_reason; else a bet's
-- first callback of the batch is its group's head (pending, due now, the schedulers woken) when
-- nothing else of the group is open, and every other one waits behind it.
WITH moved AS (
    UPDATE bets b SET status = m.status, updated_at = now()
    FROM jsonb_to_recordset(CAST(:statuses AS jsonb)) AS m(bet_id text, status text)
    WHERE b.bet_id = m.bet_id
),
r AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        n integer, request_id text, bet_id text, destination text, payload jsonb,
        foreign_params jsonb, skip_reason text, first_of_bet boolean)
),
new AS (
    INSERT INTO callbacks (request_id, brand_id, bet_id, destination, payload, foreign_params,
                           origin, state, next_attempt_at, last_error, finished_at)
    SELECT s.request_id, :brand_id, s.bet_id, s.destination, s.payload, s.foreign_params,
           :origin, s.state, CASE WHEN s.state = 'pending' THEN now() END, s.skip_reason,
           CASE WHEN s.state = 'skipped' THEN now() END
    FROM (SELECT r.*, CASE
                          WHEN r.skip_reason IS NOT NULL THEN 'skipped'
                          WHEN NOT r.first_of_bet THEN 'waiting'
                          WHEN EXISTS (SELECT 1 FROM callbacks c
                                       WHERE c.bet_id = r.bet_id
                                         AND c.state IN ('waiting', 'pending', 'in_flight'))
                              THEN 'waiting'
                          ELSE 'pending'
                      END AS state
          FROM r) s
    ORDER BY s.n
    RETURNING id, request_id, state
)
SELECT id, request_id, state,
       CASE WHEN state = 'pending' THEN pg_notify('callbacks_due', '') END
FROM new;

-- name: insert_callback
-- One callback the queue makes itself (a place's decline): pending and due now,
-- or skipped and finished with its reason.
INSERT INTO callbacks (request_id, brand_id, bet_id, destination, payload, foreign_params,
                       origin, state, next_attempt_at, last_error, finished_at)
VALUES (:request_id, :brand_id, :bet_id, :destination, CAST(:payload AS jsonb),
        CAST(:foreign_params AS jsonb), :origin, :state,
        CASE WHEN :state = 'pending' THEN now() END, :last_error,
        CASE WHEN :state = 'skipped' THEN now() END)
RETURNING id;

-- name: in_flight_by_brand
-- How many callbacks each brand has in flight right now.
SELECT brand_id, count(*) AS in_flight FROM callbacks WHERE state = 'in_flight' GROUP BY brand_id;

-- name: claim_due
-- Leases due group heads of every brand in one statement, at most each brand's room under its
-- max_in_flight. Brands are found by a loose index scan over the pending heads, so idle brands
-- cost nothing however many are registered. :brand_id NULL means every brand. Besides a row per
-- claim, one row with id NULL says in how many seconds the earliest head left pending is due
-- (≤ 0: due now but held back by its brand's cap; NULL: none waits), so the scheduler learns
-- how long it may sleep without another round trip.
WITH RECURSIVE pending_brands AS (
    (SELECT brand_id FROM callbacks WHERE state = 'pending' ORDER BY brand_id LIMIT 1)
    UNION ALL
    SELECT (SELECT c.brand_id FROM callbacks c
            WHERE c.state = 'pending' AND c.brand_id > p.brand_id
            ORDER BY c.brand_id LIMIT 1)
    FROM pending_brands p WHERE p.brand_id IS NOT NULL
),
-- Materialized, so that each brand's callbacks in flight are counted once, and only for the
-- brands found above: the planner would otherwise push "room > 0" down into a scan of every
-- registered brand (seen at 500 brands: 500 counts a claim, 1.6 ms).
room AS MATERIALIZED (
    SELECT b.id AS brand_id,
           b.max_in_flight - brand_in_flight(b.id) AS room
    FROM pending_brands p JOIN brands b ON b.id = p.brand_id
    WHERE CAST(:brand_id AS integer) IS NULL OR b.id = CAST(:brand_id AS integer)
),
due AS (
    SELECT d.id FROM room r CROSS JOIN LATERAL (
        SELECT c.id FROM callbacks c
        WHERE c.state = 'pending' AND c.brand_id = r.brand_id AND c.next_attempt_at <= now()
        ORDER BY c.next_attempt_at
        LIMIT LEAST(r.room, :limit)
        FOR UPDATE SKIP LOCKED
    ) d
    WHERE r.room > 0
)
-- The ids as one array: the rows are then looked up by primary key, never by a hash join
-- over the whole table (which the planner chose for a young table whose statistics were stale).
, claimed AS (
    UPDATE callbacks c
    SET state = 'in_flight', lease_token = gen_random_uuid(),
        lease_expires_at = now() + make_interval(secs => :lease_s)
    WHERE c.id = ANY(ARRAY(SELECT id FROM due))
    RETURNING c.id, c.lease_token::text AS lease_token, c.brand_id
)
SELECT id, lease_token, brand_id, CAST(NULL AS float8) AS next_due_in_s FROM claimed
UNION ALL
-- The statement sees the table as it was before its own update: the heads it claims are left
-- out by id.
SELECT NULL, NULL, NULL, extract(epoch FROM min(p.next_attempt_at) - now())
FROM callbacks p
WHERE p.state = 'pending' AND p.id <> ALL(ARRAY(SELECT id FROM due));

-- name: notify_due
-- Wakes the schedulers (LISTEN callbacks_due); delivered with the transaction's commit.
SELECT pg_notify('callbacks_due', '');

-- name: sweep_expired_leases
-- A lease that ran out means the worker stopped or its message was lost: due again at once.
-- Attempts it had written but never completed are closed as 'unknown' (the platform may have
-- received them) and count as attempts.
WITH expired AS (
    SELECT id, lease_expires_at FROM callbacks
    WHERE state = 'in_flight' AND lease_expires_at < now()
    FOR UPDATE SKIP LOCKED
), closed AS (
    UPDATE attempts a
    SET outcome = 'unknown', error_class = 'unknown', finished_at = now(),
        error_detail = 'the worker stopped before recording the answer; the platform may have '
                       'received request ' || a.id
    FROM expired e
    WHERE a.callback_id = e.id AND a.outcome = 'sending'
      AND a.callback_id = ANY(ARRAY(SELECT id FROM expired))  -- by attempts_callback, always
    RETURNING a.callback_id, a.id, a.error_detail
)
UPDATE callbacks c
SET state = 'pending', next_attempt_at = now(), lease_token = NULL, lease_expires_at = NULL,
    attempts = c.attempts + (SELECT count(*) FROM closed WHERE closed.callback_id = c.id),
    last_error = COALESCE(
        (SELECT max(closed.error_detail) FROM closed WHERE closed.callback_id = c.id)
            || '; sent again',
        'lease expired at ' || to_char(e.lease_expires_at AT TIME ZONE 'UTC',
        'YYYY-MM-DD HH24:MI:SS') || ' UTC before the request went out (worker stopped or '
        'message lost); sent again')
FROM expired e WHERE c.id = e.id
RETURNING c.id;

-- name: start_delivery
-- The worker confirms it holds each lease and stretches it past the HTTP timeout.
UPDATE callbacks c
SET lease_expires_at = clock_timestamp() + make_interval(secs => b.timeout_s + :margin_s)
FROM unnest(CAST(:ids AS bigint[]), CAST(:tokens AS uuid[])) AS t(id, token), brands b
     LEFT JOIN brand_url_credentials k ON k.brand_id = b.id
WHERE c.id = t.id AND c.lease_token = t.token AND c.state = 'in_flight'
  AND c.lease_expires_at > now() AND b.id = c.brand_id
  AND c.id = ANY(CAST(:ids AS bigint[]))  -- by primary key, not by every live lease
RETURNING c.id, c.request_id, c.bet_id, c.brand_id, c.destination, c.payload,
          c.foreign_params, c.origin, c.attempts, c.next_attempt_at, c.created_at,
          c.lease_token::text AS lease_token, b.base_url, b.timeout_s, b.retry_schedule_s,
          b.signing_secret, b.max_in_flight, b.visible_keys, c.manual_action_id,
          k.username || ':' || k.password AS url_credentials;

-- name: keep_leases
-- After a write that took long: the leases of the attempts about to be sent, stretched past the
-- HTTP timeout from now. A lease that ran out meanwhile and was swept (the callback is due
-- again, its attempt closed as 'unknown') is not returned: that attempt must not go out.
UPDATE callbacks c
SET lease_expires_at = clock_timestamp() + make_interval(secs => b.timeout_s + :margin_s)
FROM unnest(CAST(:ids AS bigint[]), CAST(:tokens AS uuid[])) AS t(id, token), brands b
WHERE c.id = t.id AND c.lease_token = t.token AND c.state = 'in_flight' AND b.id = c.brand_id
  AND c.id = ANY(CAST(:ids AS bigint[]))
RETURNING c.id;

-- name: chain_next_in_groups
-- Each listed group's head is done: the worker that finished it leases the group's next
-- callback itself (the head's slot under max_in_flight passes to it) and sends it at once.
-- Each group's next is found by its (bet_id, id) index, one bet at a time.
UPDATE callbacks c
SET state = 'in_flight', next_attempt_at = now(), lease_token = gen_random_uuid(),
    lease_expires_at = clock_timestamp() + make_interval(secs => b.timeout_s + :margin_s)
FROM brands b LEFT JOIN brand_url_credentials k ON k.brand_id = b.id
WHERE b.id = c.brand_id
  AND c.id = ANY(ARRAY(SELECT w.id FROM unnest(CAST(:bet_ids AS text[])) AS g(bet_id)
                       CROSS JOIN LATERAL (
                           SELECT id FROM callbacks
                           WHERE bet_id = g.bet_id AND state = 'waiting'
                           ORDER BY id LIMIT 1) w))
RETURNING c.id, c.request_id, c.bet_id, c.brand_id, c.destination, c.payload,
          c.foreign_params, c.origin, c.attempts, c.next_attempt_at, c.created_at,
          c.lease_token::text AS lease_token, b.base_url, b.timeout_s, b.retry_schedule_s,
          b.signing_secret, b.max_in_flight, b.visible_keys, c.manual_action_id,
          k.username || ':' || k.password AS url_credentials;

-- name: refill_brand
-- A worker whose attempts freed slots of a brand leases that brand's next due heads itself (no
-- more than :limit, nor than the room under its max_in_flight) and sends them at once: leased
-- past the HTTP timeout straight away, as a confirmed claim is, in one statement.
WITH room AS (
    SELECT b.max_in_flight - brand_in_flight(b.id) AS room
    FROM brands b WHERE b.id = :brand_id
),
due AS (
    SELECT c.id FROM callbacks c
    WHERE c.state = 'pending' AND c.brand_id = :brand_id AND c.next_attempt_at <= now()
    ORDER BY c.next_attempt_at
    LIMIT GREATEST(0, LEAST((SELECT room FROM room), :limit))
    FOR UPDATE SKIP LOCKED
)
UPDATE callbacks c
SET state = 'in_flight', lease_token = gen_random_uuid(),
    lease_expires_at = clock_timestamp() + make_interval(secs => b.timeout_s + :margin_s)
FROM brands b LEFT JOIN brand_url_credentials k ON k.brand_id = b.id
WHERE b.id = c.brand_id AND c.id = ANY(ARRAY(SELECT id FROM due))
RETURNING c.id, c.request_id, c.bet_id, c.brand_id, c.destination, c.payload,
          c.foreign_params, c.origin, c.attempts, c.next_attempt_at, c.created_at,
          c.lease_token::text AS lease_token, b.base_url, b.timeout_s, b.retry_schedule_s,
          b.signing_secret, b.max_in_flight, b.visible_keys, c.manual_action_id,
          k.username || ':' || k.password AS url_credentials;

-- name: skip_waiting_in_group
-- Skip every callback still waiting behind the bet's head, with the reason
-- (its place was rejected or never answered).
UPDATE callbacks SET state = 'skipped', last_error = :reason, finished_at = now()
WHERE bet_id = :bet_id AND state = 'waiting'
RETURNING id;

-- name: status
-- Queue figures over the open callbacks: how many, of how many bets, in flight, due
-- now, and the oldest one's age in seconds.
SELECT
    count(*) FILTER (WHERE state IN ('waiting', 'pending', 'in_flight')) AS pending_callbacks,
    count(DISTINCT bet_id) FILTER (WHERE state IN ('waiting', 'pending', 'in_flight'))
        AS groups_waiting,
    count(*) FILTER (WHERE state = 'in_flight') AS in_flight,
    count(*) FILTER (WHERE state = 'pending' AND next_attempt_at <= now()) AS due_now,
    extract(epoch FROM now() - min(created_at)
            FILTER (WHERE state IN ('waiting', 'pending', 'in_flight'))) AS oldest_pending_age_s
FROM callbacks
WHERE state IN ('waiting', 'pending', 'in_flight');

-- name: group_attempts
-- manual_note: an attempt sent by an integration manager's action (migration 009).
SELECT a.*, c.request_id AS callback_request_id, c.payload, c.state AS callback_state,
       'manual retry by ' || act.actor || ': ' || act.reason AS manual_note
FROM attempts a JOIN callbacks c ON c.id = a.callback_id
LEFT JOIN actions act ON act.id = a.action_id
WHERE a.group_id = :group_id
ORDER BY a.started_at, a.attempt_no;

-- name: group_callbacks
-- A bet's callbacks in queue order, with their state and last answer.
SELECT id, request_id, destination, state, attempts, next_attempt_at, last_status, last_error,
       origin, created_at, finished_at, payload
FROM callbacks WHERE bet_id = :group_id ORDER BY id;

-- name: bet
-- The bet's row, every column.
SELECT * FROM bets WHERE bet_id = :bet_id;

-- name: bet_statuses
-- The status of each of these bets that exists.
SELECT bet_id, status FROM bets WHERE bet_id = ANY(CAST(:bet_ids AS text[]));

-- name: lock_finished
-- Locks the bets and callbacks of a batch of finished attempts, in the order every writer takes
-- them (bets, then callbacks, each by key), and returns both in one round trip: a row per bet
-- (kind 'bet': its status) and per callback (kind 'callback': whether the lease still holds).
WITH locked_bets AS (
    SELECT bet_id, status FROM bets WHERE bet_id = ANY(CAST(:bet_ids AS text[]))
    ORDER BY bet_id FOR UPDATE
),
locked_callbacks AS (
    SELECT id, state, lease_token::text AS lease_token FROM callbacks
    WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE
)
SELECT 'bet' AS kind, bet_id, status, NULL::bigint AS id, NULL::text AS state,
       NULL::text AS lease_token
FROM locked_bets
UNION ALL
SELECT 'callback', NULL, NULL, id, state, lease_token FROM locked_callbacks;

-- name: insert_attempts
-- One statement for a whole batch: rows arrive as a JSON array of attempt objects.
INSERT INTO attempts (id, callback_id, group_id, brand_id, destination, origin, attempt_no,
                      callback_created_at, scheduled_at, started_at, finished_at, duration_ms,
                      request_headers, response_status, response_headers, response_body,
                      response_truncated, outcome, error_class, error_detail, error_code,
                      next_attempt_at, action_id)
SELECT id, callback_id, group_id, brand_id, destination, origin, attempt_no,
       callback_created_at, scheduled_at, started_at, finished_at, duration_ms,
       request_headers, response_status, response_headers, response_body,
       response_truncated, outcome, error_class, error_detail, error_code, next_attempt_at,
       action_id
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
    id uuid, callback_id bigint, group_id text, brand_id integer, destination text,
    origin text, attempt_no integer, callback_created_at timestamptz, scheduled_at timestamptz,
    started_at timestamptz, finished_at timestamptz, duration_ms double precision,
    request_headers jsonb, response_status integer, response_headers jsonb,
    response_body text, response_truncated boolean, outcome text, error_class text,
    error_detail text, error_code text, next_attempt_at timestamptz, action_id bigint);

-- name: finish_callbacks
-- The ids come again as an array so that the rows are looked up by primary key: joined to the
-- JSON rows alone (estimated at 100) the planner hashed the whole table for every batch.
UPDATE callbacks c
SET state = r.state, attempts = c.attempts + 1, last_status = r.last_status,
    last_error = r.last_error, next_attempt_at = r.next_attempt_at,
    lease_token = NULL, lease_expires_at = NULL, manual_action_id = NULL,
    finished_at = CASE WHEN r.state IN ('pending', 'waiting') THEN NULL ELSE now() END
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
    id bigint, state text, last_status integer, last_error text, next_attempt_at timestamptz)
WHERE c.id = r.id AND c.id = ANY(CAST(:ids AS bigint[]));

-- name: promote_next_in_groups
-- Each listed group's head is done: its oldest waiting callback becomes due now (for the
-- scheduler to hand out, when the worker that finished the head takes nothing more).
UPDATE callbacks SET state = 'pending', next_attempt_at = now()
WHERE id = ANY(ARRAY(SELECT w.id FROM unnest(CAST(:bet_ids AS text[])) AS g(bet_id)
                     CROSS JOIN LATERAL (
                         SELECT id FROM callbacks
                         WHERE bet_id = g.bet_id AND state = 'waiting'
                         ORDER BY id LIMIT 1) w));

-- name: complete_attempts
-- Fills in the answer of attempts written as 'sending' before their request went out (or
-- closed as 'unknown' meanwhile by the sweeper: the real answer is better). The JSON is read
-- once (a materialised CTE, however the join is planned), and the keys come again as constant
-- arrays so that the planner prunes to the months concerned and looks the rows up by primary
-- key whatever the (often stale) statistics of a young partition say: joined to the JSON rows
-- alone it estimated 100 rows and scanned the whole month for every batch.
WITH r AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        id uuid, started_at timestamptz, finished_at timestamptz, duration_ms double precision,
        response_status integer, response_headers jsonb, response_body text,
        response_truncated boolean, outcome text, error_class text, error_detail text,
        error_code text, next_attempt_at timestamptz)
)
UPDATE attempts a
SET finished_at = r.finished_at, duration_ms = r.duration_ms,
    response_status = r.response_status, response_headers = r.response_headers,
    response_body = r.response_body, response_truncated = r.response_truncated,
    outcome = r.outcome, error_class = r.error_class, error_detail = r.error_detail,
    error_code = r.error_code, next_attempt_at = r.next_attempt_at
FROM r
WHERE a.started_at = r.started_at AND a.id = r.id AND a.outcome IN ('sending', 'unknown')
  AND a.started_at = ANY(CAST(:started_ats AS timestamptz[]))
  AND a.id = ANY(CAST(:ids AS uuid[]));

-- name: queue_by_brand
-- What the metrics endpoints report per brand (every brand, idle ones with zeros): open
-- callbacks, those due now, those in flight, and the age of the oldest open one; live player
-- sessions (the player_sessions gauge), and those of them whose latest heartbeat did not get
-- through. Live sessions are read through the two partial indexes that hold them (waiting for
-- their heartbeat: player_sessions_due; one in flight: player_sessions_in_flight), so sessions
-- that are over, which pile up, are never read.
WITH queue AS (
    SELECT b.id AS brand_id, b.name AS brand,
           count(c.id) AS open,
           count(c.id) FILTER (WHERE c.state = 'pending' AND c.next_attempt_at <= now())
               AS due_now,
           count(c.id) FILTER (WHERE c.state = 'in_flight') AS in_flight,
           coalesce(extract(epoch FROM now() - min(c.created_at)), 0) AS oldest_open_age_s
    FROM brands b
    LEFT JOIN callbacks c ON c.brand_id = b.id AND c.state IN ('waiting', 'pending', 'in_flight')
    GROUP BY b.id, b.name
)
SELECT q.brand, q.open, q.due_now, q.in_flight, q.oldest_open_age_s,
       ps.live AS sessions_live, ps.failing AS sessions_failing
FROM queue q
CROSS JOIN LATERAL (
    SELECT count(*) AS live, count(*) FILTER (WHERE p.failures_in_row > 0) AS failing
    FROM (SELECT s.failures_in_row FROM player_sessions s
          WHERE s.brand_id = q.brand_id AND s.state = 'live' AND s.lease_token IS NULL
          UNION ALL
          SELECT s.failures_in_row FROM player_sessions s
          WHERE s.brand_id = q.brand_id AND s.lease_token IS NOT NULL AND s.state = 'live') p
) ps
ORDER BY q.brand;

-- name: apply_action_changes
-- An integration manager's action (actions/store.py) sets its callbacks' new states.
-- rows: [{id, state, due_in_us, manual, note}]. A callback due now is due a few microseconds
-- apart from the others in the order given (oldest first), so the scheduler hands them out in
-- that order; waiting and finished callbacks have no next attempt time.
UPDATE callbacks c
SET state = r.state,
    next_attempt_at = CASE
        WHEN r.due_in_us IS NOT NULL THEN now() + make_interval(secs => r.due_in_us / 1e6)
        WHEN r.state = 'pending' THEN c.next_attempt_at END,
    finished_at = CASE WHEN r.state IN ('waiting', 'pending') THEN NULL ELSE now() END,
    last_error = COALESCE(r.note, c.last_error),
    manual_action_id = CASE WHEN r.manual THEN CAST(:action_id AS bigint)
                            ELSE c.manual_action_id END
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
    id bigint, state text, due_in_us double precision, manual boolean, note text)
WHERE c.id = r.id;

-- name: record_battery_callback
-- A callback of the Integration Test (battery/store.py), written once its only attempt is
-- decided (the battery never retries). The same request_id sent again (the idempotency case)
-- is one more attempt of that callback.
INSERT INTO callbacks (request_id, brand_id, bet_id, destination, payload, foreign_params,
                       origin, state, attempts, last_status, last_error, created_at, finished_at)
VALUES (:request_id, :brand_id, :bet_id, :destination, CAST(:payload AS jsonb),
        CAST(:foreign_params AS jsonb), 'integration_test', :state, 1, :last_status,
        :last_error, :created_at, :finished_at)
ON CONFLICT (request_id) DO UPDATE
SET attempts = callbacks.attempts + 1, state = EXCLUDED.state,
    last_status = EXCLUDED.last_status, last_error = EXCLUDED.last_error,
    finished_at = EXCLUDED.finished_at
WHERE callbacks.origin = 'integration_test'
RETURNING id, created_at, attempts;

-- name: delete_archived_callbacks
-- The archive's prune (archive/export.py): the same set as archive.sql's archivable_callbacks,
-- deleted; its count and fingerprint must match the exported ones.
WITH gone AS (
    DELETE FROM callbacks c
    WHERE c.state IN ('delivered', 'rejected', 'exhausted', 'skipped')
      AND c.created_at < :month_to
      AND NOT EXISTS (SELECT 1 FROM attempts a
                      WHERE a.callback_id = c.id AND a.started_at >= :month_to)
      AND NOT EXISTS (SELECT 1 FROM attempts_default d WHERE d.callback_id = c.id)
    RETURNING c.id
)
SELECT count(*) AS n, coalesce(md5(string_agg(id::text, ',' ORDER BY id)), '') AS digest
FROM gone;

-- name: delete_archived_bets
-- The archive's prune, after delete_archived_callbacks: the bets created before :month_to that
-- no callback references; count and fingerprint as for the callbacks.
WITH gone AS (
    DELETE FROM bets b
    WHERE b.created_at < :month_to
      AND NOT EXISTS (SELECT 1 FROM callbacks c WHERE c.bet_id = b.bet_id)
    RETURNING b.bet_id
)
SELECT count(*) AS n,
       coalesce(md5(string_agg(bet_id, ',' ORDER BY bet_id COLLATE "C")), '') AS digest
FROM gone;

-- name: delete_archived_rollups
-- The Breakdowns page reads archived months from the archive, so their rollups go too.
WITH h AS (DELETE FROM attempt_rollup_hourly WHERE hour >= :month_from AND hour < :month_to),
     l AS (DELETE FROM attempt_latency_hourly WHERE hour >= :month_from AND hour < :month_to)
SELECT 1;
