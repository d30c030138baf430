-- Brand scopes of the producer API's tokens (`callbacks api-token create --brand B` or
-- `--all-brands`, and `--read-only`). A token queues callbacks only for its brands and reads
-- only their bets; a read-only token queues nothing.
--
-- Tokens stored before this migration were valid for every brand, so they become all-brands
-- and read-write. From now on every new token must say which it is: all_brands has no default,
-- so an insert that names no scope fails instead of opening every brand.
ALTER TABLE api_tokens
    ADD COLUMN all_brands boolean NOT NULL DEFAULT true,
    ADD COLUMN read_only  boolean NOT NULL DEFAULT false;
ALTER TABLE api_tokens ALTER COLUMN all_brands DROP DEFAULT;

-- The brands of a token not scoped to all brands, by id: renaming a brand, or removing it and
-- adding another of the same name, never gives a token a brand it was not made for. A removed
-- brand leaves the scopes it was in; a token left with no brand reaches nothing.
CREATE TABLE api_token_brands (
    token_id integer NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    brand_id integer NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, brand_id)
);
CREATE INDEX api_token_brands_brand ON api_token_brands (brand_id);

-- Migration 002's default privileges would let the dashboard's reader read the new table;
-- which brands a token reaches is none of any back-office role's business.
SELECT callbacks_owner_only('TABLE api_tokens');
SELECT callbacks_owner_only('TABLE api_token_brands');
