-- Named queries of the brands and their URL credentials, run by delivery/brands.py only.
-- People's changes (insert_brand, lock_brand, update_brand, set_visible_keys) are recorded in
-- the audit trail in the same transaction; upsert_brand, set_visible_keys_by_name and
-- set_brand_currency are for tests, benchmarks and seeding and record nothing.
-- Parameters are :named.

-- name: insert_brand
-- A new brand; no row when the name is taken (the caller refuses: nothing is changed).
INSERT INTO brands (name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
                    currency, heartbeat_interval_s)
VALUES (:name, :base_url, :retry_schedule_s, :timeout_s, :max_in_flight, :signing_secret,
        :currency, :heartbeat_interval_s)
ON CONFLICT (name) DO NOTHING
RETURNING id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
          visible_keys, currency, heartbeat_interval_s;

-- name: lock_brand
-- The brand of this name with all its settings, locked until the change to it is recorded.
SELECT id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
       visible_keys, currency, heartbeat_interval_s
FROM brands WHERE name = :name
FOR UPDATE;

-- name: update_brand
-- Every delivery setting of the brand of this id at once (the caller kept those not changed).
UPDATE brands SET base_url = :base_url, retry_schedule_s = :retry_schedule_s,
                  timeout_s = :timeout_s, max_in_flight = :max_in_flight,
                  signing_secret = :signing_secret, currency = :currency,
                  heartbeat_interval_s = :heartbeat_interval_s, updated_at = now()
WHERE id = :id
RETURNING id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
          visible_keys, currency, heartbeat_interval_s;

-- name: set_visible_keys
-- The Foreign-Params keys shown in clear in the stored history of the brand of this id.
UPDATE brands SET visible_keys = CAST(:keys AS text[]), updated_at = now()
WHERE id = :id
RETURNING id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
          visible_keys, currency, heartbeat_interval_s;

-- name: upsert_brand
-- Create the brand or overwrite its delivery settings; its visible keys are kept (none for a
-- new brand).
INSERT INTO brands (name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
                    heartbeat_interval_s)
VALUES (:name, :base_url, :retry_schedule_s, :timeout_s, :max_in_flight, :signing_secret,
        :heartbeat_interval_s)
ON CONFLICT (name) DO UPDATE SET
    base_url = EXCLUDED.base_url,
    retry_schedule_s = EXCLUDED.retry_schedule_s,
    timeout_s = EXCLUDED.timeout_s,
    max_in_flight = EXCLUDED.max_in_flight,
    signing_secret = EXCLUDED.signing_secret,
    heartbeat_interval_s = EXCLUDED.heartbeat_interval_s,
    updated_at = now()
RETURNING id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
          visible_keys, heartbeat_interval_s;

-- name: set_visible_keys_by_name
-- The brand's Foreign-Params keys shown in clear in the stored history (lower case); no row
-- when no brand has the name.
UPDATE brands SET visible_keys = CAST(:keys AS text[]), updated_at = now() WHERE name = :name
RETURNING id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
          visible_keys, heartbeat_interval_s;

-- name: set_brand_currency
-- The currency the brand's platform keeps wallets in (NULL clears it); no row changed when no
-- brand has the name.
UPDATE brands SET currency = :currency, updated_at = now() WHERE name = :name;

-- name: brands
-- Every brand with the settings a worker sends with, by name.
SELECT id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret, visible_keys,
       heartbeat_interval_s
FROM brands ORDER BY name;

-- name: brand_named
-- The brand of this name with the settings a worker sends with; no row when there is none.
SELECT id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret, visible_keys,
       heartbeat_interval_s
FROM brands WHERE name = :name;

-- name: brands_by_name
-- The ids of the stored brands among these names.
SELECT id, name FROM brands WHERE name = ANY (CAST(:names AS text[]));

-- name: url_credentials
-- The user:password split off a brand's URL (owner only: no back-office role reads the table).
SELECT username || ':' || password AS credentials FROM brand_url_credentials
WHERE brand_id = :brand_id;

-- name: brands_with_url_credentials
-- The ids of the brands whose URL carries credentials (owner only).
SELECT brand_id FROM brand_url_credentials;

-- name: set_url_credentials
-- Store or replace the user name and password split off the brand's URL (owner only).
INSERT INTO brand_url_credentials (brand_id, username, password)
VALUES (:brand_id, :username, :password)
ON CONFLICT (brand_id) DO UPDATE SET
    username = EXCLUDED.username, password = EXCLUDED.password, updated_at = now();

-- name: drop_url_credentials
-- Forget the brand's URL credentials (its URL has none any more).
DELETE FROM brand_url_credentials WHERE brand_id = :brand_id;

-- name: set_base_url
-- A new URL drops the brand's credentials (trigger brands_url_changed, migration 019).
UPDATE brands SET base_url = :base_url, updated_at = now() WHERE id = :brand_id;

-- name: brand_currency
-- The currency the brand's platform keeps wallets in (NULL when not set); no row for an unknown
-- brand id.
SELECT currency FROM brands WHERE id = :brand_id;
