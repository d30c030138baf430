-- Secrets masked wherever requests and answers are stored.
--
-- - brands.mask_keys: a brand's own Foreign-Params keys (parts of names, any case) masked
--   besides the defaults of delivery/masking.py (`callbacks brand add NAME --mask-key KEY`).
-- - The history already stored is masked the way new rows are: Authorization, Cookie,
--   Set-Cookie and signature headers of requests and answers, and Foreign-Params members whose
--   names contain a default key, at any depth (before, only top-level token/secret/password/
--   session/auth members were). Attempt rows, stored Integration Test steps and preflights and
--   the Integration Test's own callbacks rows are rewritten; queued callbacks keep their
--   Foreign-Params as given, since they are what is sent.

ALTER TABLE brands ADD COLUMN mask_keys text[] NOT NULL DEFAULT '{}';

-- The default keys of delivery/masking.py (DEFAULT_MASK_KEYS).
CREATE FUNCTION callbacks_default_mask_keys() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['token', 'secret', 'password', 'passwd', 'session', 'sid', 'jwt', 'auth',
                 'key', 'cookie', 'credential', 'bearer']
$$;

-- A Foreign-Params value with the members whose names contain one of `keys` masked, at any
-- depth; values masked before ('***…') are left as they are.
CREATE FUNCTION callbacks_mask_params(value jsonb, keys text[]) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    name text;
    member jsonb;
    shown text;
    result jsonb;
BEGIN
    IF jsonb_typeof(value) = 'object' THEN
        result := '{}'::jsonb;
        FOR name, member IN SELECT * FROM jsonb_each(value) LOOP
            IF EXISTS (SELECT 1 FROM unnest(keys) AS k WHERE strpos(lower(name), k) > 0) THEN
                shown := CASE WHEN jsonb_typeof(member) = 'string' THEN member #>> '{}'
                              ELSE member::text END;
                IF NOT shown LIKE '***%' THEN
                    shown := '***' || CASE WHEN length(shown) > 12 THEN right(shown, 4)
                                           ELSE '' END;
                END IF;
                result := result || jsonb_build_object(name, shown);
            ELSE
                result := result || jsonb_build_object(name, callbacks_mask_params(member, keys));
            END IF;
        END LOOP;
        RETURN result;
    ELSIF jsonb_typeof(value) = 'array' THEN
        SELECT coalesce(jsonb_agg(callbacks_mask_params(e, keys) ORDER BY n), '[]'::jsonb)
        INTO result FROM jsonb_array_elements(value) WITH ORDINALITY AS a(e, n);
        RETURN result;
    END IF;
    RETURN value;
END
$$;

-- Stored headers (or anything holding them, such as an Integration Test step): credential,
-- cookie and signature headers masked, Foreign-Params headers masked member by member.
CREATE FUNCTION callbacks_mask_stored(value jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    name text;
    member jsonb;
    params jsonb;
    result jsonb;
BEGIN
    IF jsonb_typeof(value) = 'object' THEN
        result := '{}'::jsonb;
        FOR name, member IN SELECT * FROM jsonb_each(value) LOOP
            IF lower(name) IN ('authorization', 'proxy-authorization', 'cookie', 'set-cookie',
                               'set-cookie2', 'webhook-signature', 'x-api-key') THEN
                result := result || jsonb_build_object(name, '***');
            ELSIF lower(name) = 'foreign-params' AND jsonb_typeof(member) = 'string' THEN
                BEGIN
                    params := (member #>> '{}')::jsonb;
                    IF jsonb_typeof(params) IN ('object', 'array') THEN
                        result := result || jsonb_build_object(name, callbacks_mask_params(
                            params, callbacks_default_mask_keys())::text);
                    ELSIF member #>> '{}' = '***' THEN
                        result := result || jsonb_build_object(name, member);
                    ELSE
                        result := result || jsonb_build_object(name, '***');
                    END IF;
                EXCEPTION WHEN others THEN
                    result := result || jsonb_build_object(name, '***');
                END;
            ELSE
                result := result || jsonb_build_object(name, callbacks_mask_stored(member));
            END IF;
        END LOOP;
        RETURN result;
    ELSIF jsonb_typeof(value) = 'array' THEN
        SELECT coalesce(jsonb_agg(callbacks_mask_stored(e) ORDER BY n), '[]'::jsonb)
        INTO result FROM jsonb_array_elements(value) WITH ORDINALITY AS a(e, n);
        RETURN result;
    END IF;
    RETURN value;
END
$$;

UPDATE attempts
SET request_headers = callbacks_mask_stored(request_headers),
    response_headers = callbacks_mask_stored(response_headers)
-- Only rows with something left to mask: a nested value or a newly masked name in
-- Foreign-Params, or a credential header.
WHERE request_headers->>'Foreign-Params'
          ~* '"[^"]*(sid|jwt|key|cookie|credential|bearer|passwd)[^"]*"\s*:|:\s*[\[{]'
   OR request_headers ?| ARRAY['Authorization', 'authorization', 'Cookie', 'cookie']
   OR response_headers ?| ARRAY['set-cookie', 'Set-Cookie', 'authorization', 'cookie',
                                'set-cookie2', 'x-api-key'];

UPDATE integration_steps
SET request = callbacks_mask_stored(request), response = callbacks_mask_stored(response);

UPDATE integration_runs SET preflight = callbacks_mask_stored(preflight)
WHERE preflight IS NOT NULL;

UPDATE callbacks SET foreign_params = callbacks_mask_params(foreign_params,
                                                            callbacks_default_mask_keys())
WHERE origin = 'integration_test';
