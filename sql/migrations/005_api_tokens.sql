-- Bearer tokens of the producer HTTP API (`callbacks api-token create`). Only a token's SHA-256
-- is kept: the token itself is printed once, when it is created, and never stored.
CREATE TABLE api_tokens (
    id           serial PRIMARY KEY,
    name         text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
-- A name belongs to one live token at a time; revoked tokens stay for the record.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- Migration 002 lets the dashboard's read-only role read tables created later; token hashes
-- are none of its business.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        REVOKE ALL ON api_tokens FROM callbacks_reader;
    END IF;
END $$;
