-- Named queries of the changes people make to brands (delivery/brands.py), each recorded in
-- the audit trail in the same transaction. (store.add_brand's upsert_brand in queries.sql is
-- for tests, benchmarks and seeding.)

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
SELECT id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
       visible_keys, currency, heartbeat_interval_s
FROM brands WHERE name = :name
FOR UPDATE;

-- name: update_brand
UPDATE brands SET base_url = :base_url, retry_schedule_s = :retry_schedule_s,
                  timeout_s = :timeout_s, max_in_flight = :max_in_flight,
                  signing_secret = :signing_secret, currency = :currency,
                  heartbeat_interval_s = :heartbeat_interval_s, updated_at = now()
WHERE id = :id
RETURNING id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
          visible_keys, currency, heartbeat_interval_s;

-- name: set_visible_keys
UPDATE brands SET visible_keys = CAST(:keys AS text[]), updated_at = now()
WHERE id = :id
RETURNING id, name, base_url, retry_schedule_s, timeout_s, max_in_flight, signing_secret,
          visible_keys, currency, heartbeat_interval_s;
