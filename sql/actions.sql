-- Named queries of the integration manager's actions, run by actions/store.py. Each action
-- is one transaction: the bets are locked first, in bet-id order (the same lock and order the
-- workers take when they record outcomes), then their callbacks.

-- name: lock_bet
-- Lock one bet (the group's lock) and say which brand it belongs to.
SELECT b.bet_id, b.brand_id, br.name AS brand
FROM bets b JOIN brands br ON br.id = b.brand_id
WHERE b.bet_id = :bet_id
FOR UPDATE OF b;

-- name: lock_bets
-- Lock several bets in bet-id order, the order workers take them in.
SELECT bet_id FROM bets WHERE bet_id = ANY (CAST(:bet_ids AS text[]))
ORDER BY bet_id
FOR UPDATE;

-- name: lock_groups
-- Every callback of the locked bets, in group order.
SELECT id, request_id, bet_id, destination, state, attempts, next_attempt_at, created_at,
       last_error, lease_expires_at, origin
FROM callbacks WHERE bet_id = ANY (CAST(:bet_ids AS text[]))
ORDER BY bet_id, id
FOR UPDATE;

-- name: lock_brand
-- Lock a brand row for a re-route, with its current URL.
SELECT id, name, base_url FROM brands WHERE name = :name FOR UPDATE;

-- name: recover_bets
-- The bets that may hold callbacks `recover` selects (the exact choice is made under the lock).
SELECT DISTINCT bet_id FROM callbacks
WHERE brand_id = :brand_id AND created_at >= :since
  AND (CAST(:destination AS text) IS NULL OR destination = :destination)
  AND state = ANY (CAST(:states AS text[]))
ORDER BY bet_id;

-- name: insert_action
-- Append an action to the audit trail; its id and time.
INSERT INTO actions (brand_id, kind, actor, os_user, reason, source, bet_id, parameters,
                     callbacks, bets)
VALUES (:brand_id, :kind, :actor, :os_user, :reason, :source, :bet_id,
        CAST(:parameters AS jsonb), :callbacks, :bets)
RETURNING id, created_at;

-- name: insert_action_callbacks
-- Record each callback an action changed, with its state before and after.
INSERT INTO action_callbacks (action_id, callback_id, bet_id, state_before, state_after)
SELECT CAST(:action_id AS bigint), r.callback_id, r.bet_id, r.state_before, r.state_after
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
    callback_id bigint, bet_id text, state_before text, state_after text);

-- name: may_keep_url_credentials
-- Whether this role reads and writes brands' URL credentials (the owner does; no back-office
-- role may).
SELECT has_table_privilege('brand_url_credentials', 'SELECT')
   AND has_table_privilege('brand_url_credentials', 'INSERT')
   AND has_table_privilege('brand_url_credentials', 'UPDATE')
   AND has_table_privilege('brand_url_credentials', 'DELETE');

-- name: brand_queue
-- What a re-route affects: callbacks still queued (they are sent to the brand's URL of the
-- moment they go out) and those out now (sent to the URL they were prepared with).
SELECT count(*) FILTER (WHERE state IN ('waiting', 'pending')) AS queued,
       count(DISTINCT bet_id) FILTER (WHERE state IN ('waiting', 'pending')) AS bets,
       count(*) FILTER (WHERE state = 'in_flight') AS in_flight
FROM callbacks
WHERE brand_id = :brand_id AND state IN ('waiting', 'pending', 'in_flight');

-- name: notify_due
-- Wake the scheduler: callbacks were made due now.
SELECT pg_notify('callbacks_due', '');

-- name: bet_actions
-- The actions that changed a bet's callbacks (or named the bet), oldest first.
SELECT a.id, a.kind, a.actor, a.reason, a.source, a.parameters, a.callbacks, a.bets,
       a.created_at, br.name AS brand,
       (SELECT count(*) FROM action_callbacks ac
        WHERE ac.action_id = a.id AND ac.bet_id = :bet_id) AS bet_callbacks
FROM actions a JOIN brands br ON br.id = a.brand_id
WHERE a.bet_id = :bet_id
   OR a.id IN (SELECT action_id FROM action_callbacks WHERE bet_id = :bet_id)
ORDER BY a.created_at, a.id;

-- name: action_callbacks
-- The callbacks one action changed, with their states before and after, by bet.
SELECT ac.callback_id, ac.bet_id, ac.state_before, ac.state_after, c.request_id,
       c.destination
FROM action_callbacks ac JOIN callbacks c ON c.id = ac.callback_id
WHERE ac.action_id = :action_id
ORDER BY ac.bet_id, ac.callback_id;

-- name: recent_actions
-- The latest actions, newest first, of one brand or all.
SELECT a.id, a.kind, a.actor, a.reason, a.source, a.bet_id, a.parameters, a.callbacks, a.bets,
       a.created_at, br.name AS brand
FROM actions a JOIN brands br ON br.id = a.brand_id
WHERE CAST(:brand AS text) IS NULL OR br.name = :brand
ORDER BY a.created_at DESC, a.id DESC
LIMIT :limit;
