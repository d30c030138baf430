-- Secrets of this installation that only the owner can read: the key that signs the
-- back-office's brand scopes (which the row-level security policies verify), the key behind
-- masked values' fingerprints, the key that signs back-office session cookies.
--
-- Each key is 32 random bytes made here (gen_random_uuid() draws on the server's strong random
-- source); installation_key(name) makes a key of a new name on first use. No back-office role
-- can read the table or call installation_key(): migration 002's default privileges would let
-- the reader SELECT it, so they are revoked by name.

-- HMAC's key padded to the block and XORed with the inner (0x36) or outer (0x5c) byte
-- (RFC 2104). A loop in PL/pgSQL: kept beside each key rather than worked out at every check.
CREATE FUNCTION callbacks_hmac_pad(key bytea, pad integer) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    k bytea := CASE WHEN length(key) > 64 THEN sha256(key) ELSE key END;
    padded bytea;
BEGIN
    k := k || decode(repeat('00', 64 - length(k)), 'hex');
    padded := k;
    FOR i IN 0 .. 63 LOOP
        padded := set_byte(padded, i, get_byte(k, i) # pad);
    END LOOP;
    RETURN padded;
END $$;

CREATE TABLE installation_keys (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z][a-z_]{0,62}$'),
    secret     bytea NOT NULL CHECK (length(secret) >= 32),
    inner_pad  bytea GENERATED ALWAYS AS (callbacks_hmac_pad(secret, 54)) STORED,
    outer_pad  bytea GENERATED ALWAYS AS (callbacks_hmac_pad(secret, 92)) STORED,
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
-- A check against a stored key uses its stored pads instead:
--   sha256(outer_pad || sha256(inner_pad || message))
CREATE FUNCTION callbacks_hmac_sha256(key bytea, message bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT sha256(callbacks_hmac_pad(key, 92) || sha256(callbacks_hmac_pad(key, 54) || message))
$$;

-- Makes a table or function the owner's alone: every privilege revoked from PUBLIC and, by
-- name, from each back-office role that exists (migration 002's default privileges grant the
-- reader SELECT on every new table). ``object`` as REVOKE writes it: 'TABLE t', 'FUNCTION f()'.
CREATE FUNCTION callbacks_owner_only(object text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', object);
    FOREACH r IN ARRAY ARRAY['callbacks_reader', 'callbacks_operator', 'callbacks_battery'] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('REVOKE ALL ON %s FROM %I', object, r);
        END IF;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION callbacks_owner_only(text) FROM PUBLIC;

SELECT callbacks_owner_only('TABLE installation_keys');
SELECT callbacks_owner_only('FUNCTION installation_key(text)');
SELECT callbacks_owner_only('FUNCTION callbacks_random_key()');
