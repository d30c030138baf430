-- Secrets of this installation that only the owner can read: the key that signs the
-- back-office's brand scopes (which the row-level security policies verify), the key behind
-- masked values' fingerprints, the key that signs back-office session cookies.
--
-- Each key is 32 random bytes made here (gen_random_uuid() draws on the server's strong random
-- source); installation_key(name) makes a key of a new name on first use. No back-office role
-- can read the table or call installation_key(): migration 002's default privileges would let
-- the reader SELECT it, so they are revoked by name.

CREATE TABLE installation_keys (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z][a-z_]{0,62}$'),
    secret     bytea NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION callbacks_random_key() RETURNS bytea
LANGUAGE sql VOLATILE AS $$
    SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text
                          || gen_random_uuid()::text, '-', ''), 'hex')
$$;

INSERT INTO installation_keys (name, secret)
VALUES ('back_office_scope', callbacks_random_key()),
       ('mask_fingerprint', callbacks_random_key()),
       ('session_cookie', callbacks_random_key());

-- The key of this name, made on first use.
CREATE FUNCTION installation_key(key_name text) RETURNS bytea
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
    found bytea;
BEGIN
    SELECT secret INTO found FROM installation_keys WHERE name = key_name;
    IF found IS NULL THEN
        INSERT INTO installation_keys (name, secret) VALUES (key_name, callbacks_random_key())
        ON CONFLICT (name) DO NOTHING;
        SELECT secret INTO found FROM installation_keys WHERE name = key_name;
    END IF;
    RETURN found;
END $$;

-- HMAC-SHA-256 (RFC 2104) with the core sha256(): equal to Python's
-- hmac.new(key, message, 'sha256').digest(). Pure arithmetic, harmless to anyone without a key.
CREATE FUNCTION callbacks_hmac_sha256(key bytea, message bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    k bytea := CASE WHEN length(key) > 64 THEN sha256(key) ELSE key END;
    inner_pad bytea;
    outer_pad bytea;
BEGIN
    k := k || decode(repeat('00', 64 - length(k)), 'hex');
    inner_pad := k;
    outer_pad := k;
    FOR i IN 0 .. 63 LOOP
        inner_pad := set_byte(inner_pad, i, get_byte(k, i) # 54);   -- 0x36
        outer_pad := set_byte(outer_pad, i, get_byte(k, i) # 92);   -- 0x5c
    END LOOP;
    RETURN sha256(outer_pad || sha256(inner_pad || message));
END $$;

REVOKE ALL ON installation_keys FROM PUBLIC;
REVOKE ALL ON FUNCTION installation_key(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION callbacks_random_key() FROM PUBLIC;

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['callbacks_reader', 'callbacks_operator', 'callbacks_battery'] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('REVOKE ALL ON installation_keys FROM %I', r);
        END IF;
    END LOOP;
END $$;
