-- Every Foreign-Params value masked unless its key is declared visible for the brand, and no
-- character of a secret left in what is stored (delivery/masking.py holds the same rules).
--
-- - brands.visible_keys: the brand's Foreign-Params keys whose values are not secret (exact
--   names, lower case; `callbacks brand set-visible-keys NAME KEY...`). brands.mask_keys (the
--   deny-list of migration 008) is no longer read: every value is masked unless visible.
-- - A masked value is '***#' and the first four hex digits of HMAC-SHA-256(the installation's
--   fingerprint key, the value's canonical text): no character of the secret, the same text
--   for the same value in SQL and in Python. Values migration 008 left as '***' and the last
--   four characters lose those characters ('***').
-- - The history already stored is masked the way new rows are (no brand has visible keys
--   yet, so every value is masked): attempts' request headers, and their answers' bodies where
--   they echo the session's values or carry members named like its keys; stored Integration
--   Test steps (request and response), their messages and the cases' messages; preflights;
--   the Integration Test's own callbacks rows. Queued callbacks keep their Foreign-Params as
--   given, since they are what is sent (no back-office role can read that column).
-- - 008's functions, whose rules no longer hold, are dropped.

ALTER TABLE brands ADD COLUMN visible_keys text[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN brands.mask_keys IS
    'Unused since migration 018: every Foreign-Params value is masked unless visible_keys';

DROP FUNCTION callbacks_mask_stored(jsonb);
DROP FUNCTION callbacks_mask_params(jsonb, text[]);
DROP FUNCTION callbacks_default_mask_keys();

-- The text a scalar's fingerprint is taken of (masking.canonical): a string itself, a number
-- in plain notation, true, false, null.
CREATE FUNCTION callbacks_mask_canonical(value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(value) WHEN 'string' THEN value #>> '{}' ELSE value::text END
$$;

-- '***#' and four hex digits of the value's keyed HMAC (masking.Mask.fingerprint); '***'
-- without a key.
CREATE FUNCTION callbacks_mask_fingerprint(mask_key bytea, value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN mask_key IS NULL THEN '***'
                ELSE '***#' || left(encode(callbacks_hmac_sha256(
                    mask_key, convert_to(callbacks_mask_canonical(value), 'UTF8')), 'hex'), 4) END
$$;

-- A masked scalar (masking.Mask.value): a fingerprint is kept, any other '***…' loses what
-- follows the stars, anything else becomes its fingerprint.
CREATE FUNCTION callbacks_mask_value(mask_key bytea, value jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(value) = 'string' AND value #>> '{}' ~ '^\*\*\*#[0-9a-f]{4}$'
            THEN value
        WHEN jsonb_typeof(value) = 'string' AND left(value #>> '{}', 3) = '***'
            THEN to_jsonb('***'::text)
        ELSE to_jsonb(callbacks_mask_fingerprint(mask_key, value)) END
$$;

-- Foreign-Params with every scalar masked unless the nearest key above it is in `visible`
-- (masking.Mask.params); `shown` says whether the top level is under a visible key.
CREATE FUNCTION callbacks_mask_foreign_params(value jsonb, visible text[], mask_key bytea,
                                              shown boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    result jsonb;
BEGIN
    IF jsonb_typeof(value) = 'object' THEN
        SELECT coalesce(jsonb_object_agg(e.key, callbacks_mask_foreign_params(
                   e.value, visible, mask_key, lower(e.key) = ANY(visible))), '{}'::jsonb)
        INTO result FROM jsonb_each(value) AS e;
        RETURN result;
    ELSIF jsonb_typeof(value) = 'array' THEN
        SELECT coalesce(jsonb_agg(callbacks_mask_foreign_params(a.e, visible, mask_key, shown)
                                  ORDER BY a.n), '[]'::jsonb)
        INTO result FROM jsonb_array_elements(value) WITH ORDINALITY AS a(e, n);
        RETURN result;
    ELSIF value IS NULL OR shown THEN
        RETURN value;
    END IF;
    RETURN callbacks_mask_value(mask_key, value);
END $$;

-- Stored headers (masking.Mask.headers): credential, cookie and signature headers masked,
-- a Foreign-Params header masked value by value (whole when it is not a JSON object or list).
CREATE FUNCTION callbacks_mask_headers(headers jsonb, visible text[], mask_key bytea) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    name text;
    member jsonb;
    params jsonb;
    result jsonb := '{}'::jsonb;
BEGIN
    IF jsonb_typeof(headers) IS DISTINCT FROM 'object' THEN
        RETURN headers;
    END IF;
    FOR name, member IN SELECT * FROM jsonb_each(headers) LOOP
        IF lower(name) IN ('authorization', 'proxy-authorization', 'cookie', 'set-cookie',
                           'set-cookie2', 'webhook-signature', 'x-api-key') THEN
            member := to_jsonb('***'::text);
        ELSIF lower(name) = 'foreign-params' THEN
            params := callbacks_mask_parse(member #>> '{}');
            IF jsonb_typeof(params) IN ('object', 'array') THEN
                member := to_jsonb(callbacks_mask_foreign_params(params, visible, mask_key)::text);
            ELSE
                member := callbacks_mask_value(mask_key, to_jsonb(member #>> '{}'));
            END IF;
        END IF;
        result := result || jsonb_build_object(name, member);
    END LOOP;
    RETURN result;
END $$;

-- `text` as JSON, or NULL when it is not JSON.
CREATE FUNCTION callbacks_mask_parse(text text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN text::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;

-- Every scalar of a JSON value with the nearest key above it (NULL at the top or in a
-- top-level list).
CREATE FUNCTION callbacks_mask_leaves(value jsonb, name text DEFAULT NULL)
RETURNS TABLE (leaf_name text, leaf jsonb)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF jsonb_typeof(value) = 'object' THEN
        RETURN QUERY SELECT l.leaf_name, l.leaf FROM jsonb_each(value) AS e,
                            callbacks_mask_leaves(e.value, e.key) AS l;
    ELSIF jsonb_typeof(value) = 'array' THEN
        RETURN QUERY SELECT l.leaf_name, l.leaf FROM jsonb_array_elements(value) AS a(e),
                            callbacks_mask_leaves(a.e, name) AS l;
    ELSIF value IS NOT NULL THEN
        RETURN QUERY SELECT name, value;
    END IF;
END $$;

-- What of these sessions (a JSON list of Foreign-Params objects) must not show in an answer
-- (masking.Mask.secrets): the keys whose values are masked, and the masked values of at least
-- four characters, longest first, as [[text, masked], ...].
CREATE FUNCTION callbacks_mask_secrets(sessions jsonb, visible text[], mask_key bytea,
                                       OUT names text[], OUT secrets jsonb)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH leaves AS (
        SELECT l.leaf_name, l.leaf
        FROM jsonb_array_elements(coalesce(sessions, '[]'::jsonb)) AS s(session),
             callbacks_mask_leaves(s.session) AS l
        WHERE l.leaf_name IS NULL OR NOT lower(l.leaf_name) = ANY(visible)
    ), found AS (
        SELECT DISTINCT ON (callbacks_mask_canonical(leaf)) callbacks_mask_canonical(leaf) AS t,
               callbacks_mask_value(mask_key, leaf) AS masked
        FROM leaves
        WHERE jsonb_typeof(leaf) IN ('string', 'number')
          AND left(callbacks_mask_canonical(leaf), 3) <> '***'
          AND length(callbacks_mask_canonical(leaf)) >= 4
    )
    SELECT (SELECT coalesce(array_agg(DISTINCT lower(leaf_name)), '{}') FROM leaves
            WHERE leaf_name IS NOT NULL),
           (SELECT coalesce(jsonb_agg(jsonb_build_array(t, masked) ORDER BY length(t) DESC, t),
                            '[]'::jsonb) FROM found)
$$;

-- `text` with every secret of `secrets` replaced by its mask (masking.Secrets._replace).
CREATE FUNCTION callbacks_mask_replace(text text, secrets jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    pair jsonb;
BEGIN
    IF text IS NULL THEN
        RETURN NULL;
    END IF;
    FOR pair IN SELECT * FROM jsonb_array_elements(secrets) LOOP
        IF strpos(text, pair->>0) > 0 THEN
            text := replace(text, pair->>0, pair->>1);
        END IF;
    END LOOP;
    RETURN text;
END $$;

-- A parsed answer with the members named like a session key masked as Foreign-Params values
-- are, and the session's values masked wherever they show (masking.Secrets.json).
CREATE FUNCTION callbacks_mask_echo_json(value jsonb, names text[], secrets jsonb,
                                         visible text[], mask_key bytea) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    result jsonb;
BEGIN
    IF jsonb_typeof(value) = 'object' THEN
        SELECT coalesce(jsonb_object_agg(e.key, CASE
                   WHEN lower(e.key) = ANY(names)
                       THEN callbacks_mask_foreign_params(e.value, visible, mask_key)
                   ELSE callbacks_mask_echo_json(e.value, names, secrets, visible, mask_key) END),
                   '{}'::jsonb)
        INTO result FROM jsonb_each(value) AS e;
        RETURN result;
    ELSIF jsonb_typeof(value) = 'array' THEN
        SELECT coalesce(jsonb_agg(callbacks_mask_echo_json(a.e, names, secrets, visible, mask_key)
                                  ORDER BY a.n), '[]'::jsonb)
        INTO result FROM jsonb_array_elements(value) WITH ORDINALITY AS a(e, n);
        RETURN result;
    ELSIF jsonb_typeof(value) = 'string' THEN
        RETURN to_jsonb(callbacks_mask_replace(value #>> '{}', secrets));
    ELSIF jsonb_typeof(value) = 'number' THEN
        RETURN coalesce((SELECT x.pair->1 FROM jsonb_array_elements(secrets) AS x(pair)
                         WHERE x.pair->>0 = value::text LIMIT 1), value);
    END IF;
    RETURN value;
END $$;

-- An answer's text (or a message) with the sessions' secrets masked (masking.Secrets.text):
-- a JSON text is masked member by member (and written again only when something changed),
-- any other text has the session's values replaced.
CREATE FUNCTION callbacks_mask_echo(body text, sessions jsonb, visible text[], mask_key bytea)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    s record;
    parsed jsonb;
    masked jsonb;
BEGIN
    IF body IS NULL OR body = '' THEN
        RETURN body;
    END IF;
    -- Most answers echo nothing: leave them before any fingerprint is computed.
    IF NOT EXISTS (
        SELECT 1
        FROM jsonb_array_elements(coalesce(sessions, '[]'::jsonb)) AS x(session),
             callbacks_mask_leaves(x.session) AS l
        WHERE (l.leaf_name IS NULL OR NOT lower(l.leaf_name) = ANY(visible))
          AND ((l.leaf_name IS NOT NULL AND strpos(lower(body), lower(l.leaf_name)) > 0)
               OR (jsonb_typeof(l.leaf) IN ('string', 'number')
                   AND length(callbacks_mask_canonical(l.leaf)) >= 4
                   AND strpos(body, callbacks_mask_canonical(l.leaf)) > 0))) THEN
        RETURN body;
    END IF;
    s := callbacks_mask_secrets(sessions, visible, mask_key);
    IF cardinality(s.names) = 0 AND jsonb_array_length(s.secrets) = 0 THEN
        RETURN body;
    END IF;
    IF left(ltrim(body), 1) IN ('{', '[') THEN
        parsed := callbacks_mask_parse(body);
        IF parsed IS NOT NULL THEN
            masked := callbacks_mask_echo_json(parsed, s.names, s.secrets, visible, mask_key);
            RETURN CASE WHEN masked = parsed THEN body ELSE masked::text END;
        END IF;
    END IF;
    RETURN callbacks_mask_replace(body, s.secrets);
END $$;

-- The Foreign-Params object of stored headers, when it is one (a JSON list of it, for
-- callbacks_mask_echo's `sessions`).
CREATE FUNCTION callbacks_mask_sessions_of(headers jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p) IN ('object', 'array') THEN jsonb_build_array(p)
                ELSE '[]'::jsonb END
    FROM (SELECT callbacks_mask_parse(coalesce(headers->>'Foreign-Params',
                                               headers->>'foreign-params')) AS p) AS parsed
$$;

-- A stored Integration Test step's request or response ({"headers", "body", ...}): headers as
-- callbacks_mask_headers, the body (text, or JSON as sent) as callbacks_mask_echo.
CREATE FUNCTION callbacks_mask_step_part(part jsonb, sessions jsonb, mask_key bytea) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    s record;
BEGIN
    IF jsonb_typeof(part) IS DISTINCT FROM 'object' THEN
        RETURN part;
    END IF;
    IF part ? 'headers' THEN
        part := jsonb_set(part, '{headers}',
                          callbacks_mask_headers(part->'headers', '{}', mask_key));
    END IF;
    IF jsonb_typeof(part->'body') = 'string' THEN
        part := jsonb_set(part, '{body}', to_jsonb(callbacks_mask_echo(part->>'body', sessions,
                                                                       '{}', mask_key)));
    ELSIF jsonb_typeof(part->'body') IN ('object', 'array') THEN
        s := callbacks_mask_secrets(sessions, '{}', mask_key);
        part := jsonb_set(part, '{body}', callbacks_mask_echo_json(part->'body', s.names,
                                                                   s.secrets, '{}', mask_key));
    END IF;
    RETURN part;
END $$;

-- A stored preflight ({"checks": [step...], "findings": [{"text"...}]}): each check as a stored
-- step, each finding's text without the checks' session values.
CREATE FUNCTION callbacks_mask_preflight(preflight jsonb, mask_key bytea) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    sessions jsonb;
    checks jsonb;
    findings jsonb;
BEGIN
    IF jsonb_typeof(preflight) IS DISTINCT FROM 'object' THEN
        RETURN preflight;
    END IF;
    SELECT coalesce(jsonb_agg(x.p), '[]'::jsonb) INTO sessions
    FROM jsonb_array_elements(coalesce(preflight->'checks', '[]'::jsonb)) AS c(step),
         jsonb_array_elements(callbacks_mask_sessions_of(c.step->'request'->'headers')) AS x(p);
    SELECT coalesce(jsonb_agg(c.step
               || jsonb_build_object('request', callbacks_mask_step_part(c.step->'request',
                                                                        sessions, mask_key),
                                     'response', callbacks_mask_step_part(c.step->'response',
                                                                         sessions, mask_key),
                                     'message', callbacks_mask_echo(c.step->>'message',
                                                                    sessions, '{}', mask_key))
               ORDER BY c.n), '[]'::jsonb)
    INTO checks
    FROM jsonb_array_elements(coalesce(preflight->'checks', '[]'::jsonb))
         WITH ORDINALITY AS c(step, n);
    SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(f.finding->'text') = 'string'
               THEN jsonb_set(f.finding, '{text}', to_jsonb(callbacks_mask_echo(
                   f.finding->>'text', sessions, '{}', mask_key)))
               ELSE f.finding END ORDER BY f.n), '[]'::jsonb)
    INTO findings
    FROM jsonb_array_elements(coalesce(preflight->'findings', '[]'::jsonb))
         WITH ORDINALITY AS f(finding, n);
    RETURN preflight || jsonb_build_object('checks', checks, 'findings', findings);
END $$;

-- The sessions an attempt's answer may echo: what its request's Foreign-Params header kept in
-- clear, and the queued callback's own Foreign-Params when the queue still has them.
CREATE FUNCTION callbacks_mask_attempt_sessions(headers jsonb, callback_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT callbacks_mask_sessions_of(headers)
           || coalesce((SELECT jsonb_build_array(c.foreign_params) FROM callbacks c
                        WHERE c.id = callback_id AND c.origin <> 'integration_test'),
                       '[]'::jsonb)
$$;

-- The history. One key for every row.
UPDATE attempts a
SET request_headers = callbacks_mask_headers(a.request_headers, '{}', k.mask_key),
    response_headers = callbacks_mask_headers(a.response_headers, '{}', k.mask_key),
    response_body = callbacks_mask_echo(
        a.response_body, callbacks_mask_attempt_sessions(a.request_headers, a.callback_id),
        '{}', k.mask_key),
    error_detail = callbacks_mask_echo(
        a.error_detail, callbacks_mask_attempt_sessions(a.request_headers, a.callback_id),
        '{}', k.mask_key),
    error_code = callbacks_mask_echo(
        a.error_code, callbacks_mask_attempt_sessions(a.request_headers, a.callback_id),
        '{}', k.mask_key)
FROM (SELECT installation_key('mask_fingerprint') AS mask_key) AS k
WHERE a.request_headers ?| ARRAY['Foreign-Params', 'foreign-params'];

-- A callback's last error quotes its answer: the queued Foreign-Params name the secrets.
UPDATE callbacks c
SET last_error = callbacks_mask_echo(c.last_error, jsonb_build_array(c.foreign_params), '{}',
                                     k.mask_key)
FROM (SELECT installation_key('mask_fingerprint') AS mask_key) AS k
WHERE c.last_error IS NOT NULL AND c.origin <> 'integration_test';

-- The cases' messages first: the sessions are read from their steps' requests.
UPDATE integration_cases c
SET message = callbacks_mask_echo(
    c.message,
    (SELECT coalesce(jsonb_agg(p.session), '[]'::jsonb)
     FROM integration_steps s,
          jsonb_array_elements(callbacks_mask_sessions_of(s.request->'headers')) AS p(session)
     WHERE s.run_id = c.run_id AND s.case_number = c.number),
    '{}', k.mask_key)
FROM (SELECT installation_key('mask_fingerprint') AS mask_key) AS k
WHERE c.message IS NOT NULL;

UPDATE integration_steps s
SET request = callbacks_mask_step_part(s.request, callbacks_mask_sessions_of(
        s.request->'headers'), k.mask_key),
    response = callbacks_mask_step_part(s.response, callbacks_mask_sessions_of(
        s.request->'headers'), k.mask_key),
    message = callbacks_mask_echo(s.message, callbacks_mask_sessions_of(s.request->'headers'),
                                  '{}', k.mask_key)
FROM (SELECT installation_key('mask_fingerprint') AS mask_key) AS k;

UPDATE integration_runs SET preflight = callbacks_mask_preflight(
    preflight, (SELECT installation_key('mask_fingerprint')))
WHERE preflight IS NOT NULL;

UPDATE callbacks SET foreign_params = callbacks_mask_foreign_params(
    foreign_params, '{}', (SELECT installation_key('mask_fingerprint')))
WHERE origin = 'integration_test';
