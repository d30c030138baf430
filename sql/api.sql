-- Named queries of the producer HTTP API (api/), run by the API section of delivery/store.py.
-- Parameters are :named.

-- name: callbacks_by_request_id
-- The queued callbacks carrying any of these request_ids, to tell repeats from conflicts.
SELECT id, request_id, brand_id, bet_id, destination, payload, foreign_params, state
FROM callbacks
WHERE request_id = ANY(CAST(:request_ids AS text[]));

-- name: bet_with_brand
-- One bet and the name of its brand.
SELECT b.bet_id, br.name AS brand, b.status, b.restrictions, b.created_at, b.updated_at
FROM bets b JOIN brands br ON br.id = b.brand_id
WHERE b.bet_id = :bet_id;

-- name: bet_callbacks
-- A bet's callbacks in queue order (the order they go out), without their Foreign-Params.
SELECT id, request_id, destination, state, origin, attempts, next_attempt_at, last_status,
       last_error, created_at, finished_at, payload
FROM callbacks
WHERE bet_id = :bet_id
ORDER BY id;

-- name: bet_attempts
-- Every HTTP attempt of a bet, oldest first; finished_at and duration_ms are NULL while an
-- attempt is 'sending'.
SELECT id::text AS id, callback_id, attempt_no, started_at, finished_at, duration_ms, outcome,
       response_status, error_class, error_detail, error_code, next_attempt_at
FROM attempts
WHERE group_id = :bet_id
ORDER BY started_at, attempt_no, id;

-- name: insert_api_token
INSERT INTO api_tokens (name, token_sha256)
VALUES (:name, :token_sha256)
RETURNING name, created_at;

-- name: live_api_token_hashes
-- The hashes a presented bearer token is compared with.
SELECT name, token_sha256 FROM api_tokens WHERE revoked_at IS NULL ORDER BY id;

-- name: api_tokens
-- Names and dates, never hashes.
SELECT name, created_at, revoked_at FROM api_tokens
WHERE revoked_at IS NULL OR :include_revoked
ORDER BY created_at, id;

-- name: revoke_api_token
UPDATE api_tokens SET revoked_at = now()
WHERE name = :name AND revoked_at IS NULL
RETURNING name;
