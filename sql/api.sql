-- Named queries of the producer HTTP API, run by api/store.py only (as prepared statements).
-- Parameters are :named.

-- name: callbacks_by_request_id
-- The queued callbacks carrying any of these request_ids, to tell repeats from conflicts.
SELECT id, request_id, brand_id, bet_id, destination, payload, foreign_params, state
FROM callbacks
WHERE request_id = ANY(CAST(:request_ids AS text[]));

-- name: bet_with_brand
-- The bet of this id (one row; the caller still picks among them, by brand) and its brand.
SELECT b.bet_id, b.brand_id, br.name AS brand, b.status, b.restrictions, b.created_at,
       b.updated_at
FROM bets b JOIN brands br ON br.id = b.brand_id
WHERE b.bet_id = :bet_id
ORDER BY b.brand_id;

-- name: bet_callbacks
-- A bet's callbacks of its brand in queue order (the order they go out), without their
-- Foreign-Params.
SELECT id, request_id, destination, state, origin, attempts, next_attempt_at, last_status,
       last_error, created_at, finished_at, payload
FROM callbacks
WHERE bet_id = :bet_id AND brand_id = :brand_id
ORDER BY id;

-- name: bet_attempts
-- Every HTTP attempt of a bet of this brand, oldest first; finished_at and duration_ms are NULL
-- while an attempt is 'sending'. A group of another brand with the same id is not this bet, nor
-- the heartbeats of a player session that happens to have the bet's id.
SELECT id::text AS id, callback_id, attempt_no, started_at, finished_at, duration_ms, outcome,
       response_status, error_class, error_detail, error_code, next_attempt_at
FROM attempts
WHERE group_id = :bet_id AND brand_id = :brand_id AND destination <> '/heartbeat'
ORDER BY started_at, attempt_no, id;

-- name: insert_api_token
-- A new API token's hash and scope; a live token of the same name breaks the unique key.
INSERT INTO api_tokens (name, token_sha256, all_brands, read_only)
VALUES (:name, :token_sha256, :all_brands, :read_only)
RETURNING id, name, all_brands, read_only, created_at;

-- name: insert_api_token_brands
-- The brands a new token is scoped to (none for a token of all brands).
INSERT INTO api_token_brands (token_id, brand_id)
SELECT :token_id, unnest(CAST(:brand_ids AS integer[]));

-- name: live_api_tokens
-- The hashes a presented bearer token is compared with, and each token's scope: the ids of its
-- brands (none when it is scoped to all brands).
SELECT t.name, t.token_sha256, t.all_brands, t.read_only,
       ARRAY(SELECT tb.brand_id FROM api_token_brands tb WHERE tb.token_id = t.id
             ORDER BY 1) AS brand_ids
FROM api_tokens t
WHERE t.revoked_at IS NULL
ORDER BY t.id;

-- name: api_tokens
-- Names, scopes and dates, never hashes.
SELECT t.name, t.all_brands,
       ARRAY(SELECT b.name FROM api_token_brands tb JOIN brands b ON b.id = tb.brand_id
             WHERE tb.token_id = t.id ORDER BY 1) AS brands,
       t.read_only, t.created_at, t.revoked_at
FROM api_tokens t
WHERE t.revoked_at IS NULL OR :include_revoked
ORDER BY t.created_at, t.id;

-- name: revoke_api_token
-- Revoke the live token of this name; its scope (brand names) as api_tokens lists it.
UPDATE api_tokens t SET revoked_at = now()
WHERE t.name = :name AND t.revoked_at IS NULL
RETURNING t.name, t.all_brands,
          ARRAY(SELECT b.name FROM api_token_brands tb JOIN brands b ON b.id = tb.brand_id
                WHERE tb.token_id = t.id ORDER BY 1) AS brands,
          t.read_only, t.created_at, t.revoked_at;
