-- The schema of a fully migrated Callback Desk database (sql/migrations applied in order).
-- GENERATED: do not edit. Refresh it after adding a migration: callbacks db upgrade && callbacks db schema --write
-- (delivery/schema_dump.py reads it from PostgreSQL's catalogs). Left out: the Dramatiq
-- broker's tables, rows, roles and privileges, and the monthly partitions of attempts.

CREATE OR REPLACE FUNCTION public.attempt_latency_bucket(duration_ms double precision)
 RETURNS smallint
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT width_bucket(duration_ms, attempt_latency_edges_ms())::smallint
$function$;

CREATE OR REPLACE FUNCTION public.attempt_latency_edges_ms()
 RETURNS double precision[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT ARRAY[5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000,
                 3000, 5000, 7500, 10000, 15000, 30000]::double precision[]
$function$;

CREATE OR REPLACE FUNCTION public.attempt_partitions_private()
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                WHERE inhparent = 'attempts'::regclass LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', part);
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
            EXECUTE format('REVOKE ALL ON %s FROM callbacks_reader', part);
        END IF;
    END LOOP;
END $function$;

CREATE OR REPLACE FUNCTION public.back_office_account(login text, by_email boolean DEFAULT false)
 RETURNS TABLE(name text, email text, role text, brand_ids integer[], brand_names text[], password_hash text)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT u.name, u.email, u.role,
           CASE WHEN NOT u.all_brands THEN ARRAY(
               SELECT ub.brand_id FROM user_brands ub WHERE ub.user_id = u.id ORDER BY 1) END,
           CASE WHEN NOT u.all_brands THEN ARRAY(
               SELECT b.name FROM user_brands ub JOIN brands b ON b.id = ub.brand_id
               WHERE ub.user_id = u.id ORDER BY 1) END,
           u.password_hash
    FROM users u
    WHERE CASE WHEN by_email THEN lower(u.email) = lower(login) ELSE u.name = login END
$function$;

CREATE OR REPLACE FUNCTION public.back_office_all_brands()
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL RESTRICTED
AS $function$
    SELECT back_office_scope() = '*'
$function$;

CREATE OR REPLACE FUNCTION public.back_office_brand_ids()
 RETURNS integer[]
 LANGUAGE sql
 STABLE PARALLEL RESTRICTED
AS $function$
    SELECT CAST(string_to_array(nullif(nullif(back_office_scope(), ''), '*'), ',')
                AS integer[])
$function$;

CREATE OR REPLACE FUNCTION public.back_office_scope()
 RETURNS text
 LANGUAGE plpgsql
 STABLE PARALLEL RESTRICTED SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
DECLARE
    scope text := current_setting('callbacks.scope', true);
    parts text[] := string_to_array(scope, ';');
    key record;
BEGIN
    -- Cheap refusals first: policies call this once or twice per table of every query.
    IF array_length(parts, 1) IS DISTINCT FROM 5 OR parts[1] <> 'v1'
       OR parts[2] <> pg_backend_pid()::text
       OR parts[3] !~ '^[0-9]{1,12}$' OR parts[3]::bigint < extract(epoch FROM clock_timestamp())
       OR parts[5] !~ '^[0-9a-f]{64}$'
    THEN
        RETURN '';
    END IF;
    SELECT inner_pad, outer_pad INTO key FROM installation_keys WHERE name = 'back_office_scope';
    IF sha256(key.outer_pad || sha256(key.inner_pad
                                      || convert_to(left(scope, length(scope) - 65), 'UTF8')))
       IS DISTINCT FROM decode(parts[5], 'hex')
    THEN
        RETURN '';
    END IF;
    RETURN parts[4];  -- signed by the dashboard: '*', '3,7' or ''
END $function$;

CREATE OR REPLACE FUNCTION public.brand_beats_in_flight(brand integer)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE
 SET enable_bitmapscan TO 'off'
 SET enable_seqscan TO 'off'
 SET enable_indexscan TO 'on'
 SET enable_indexonlyscan TO 'on'
AS $function$
BEGIN
    RETURN (SELECT count(*) FROM player_sessions
            WHERE brand_id = brand AND lease_token IS NOT NULL);
END
$function$;

CREATE OR REPLACE FUNCTION public.brand_in_flight(brand integer)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE
 SET enable_bitmapscan TO 'off'
 SET enable_seqscan TO 'off'
 SET enable_indexscan TO 'on'
 SET enable_indexonlyscan TO 'on'
AS $function$
BEGIN
    -- PL/pgSQL keeps the plan for the session; an SQL function with settings is planned again
    -- at each statement that calls it.
    RETURN (SELECT count(*) FROM callbacks WHERE brand_id = brand AND state = 'in_flight');
END
$function$;

CREATE OR REPLACE FUNCTION public.callbacks_hmac_pad(key bytea, pad integer)
 RETURNS bytea
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE STRICT
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_hmac_sha256(key bytea, message bytea)
 RETURNS bytea
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE STRICT
AS $function$
    SELECT sha256(callbacks_hmac_pad(key, 92) || sha256(callbacks_hmac_pad(key, 54) || message))
$function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_attempt_sessions(headers jsonb, callback_id bigint)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
    SELECT callbacks_mask_sessions_of(headers)
           || coalesce((SELECT jsonb_build_array(c.foreign_params) FROM callbacks c
                        WHERE c.id = callback_id AND c.origin <> 'integration_test'),
                       '[]'::jsonb)
$function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_canonical(value jsonb)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE STRICT
AS $function$
    SELECT CASE jsonb_typeof(value) WHEN 'string' THEN value #>> '{}' ELSE value::text END
$function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_echo(body text, sessions jsonb, visible text[], mask_key bytea)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_echo_json(value jsonb, names text[], secrets jsonb, visible text[], mask_key bytea)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_fingerprint(mask_key bytea, value jsonb)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE WHEN mask_key IS NULL THEN '***'
                ELSE '***#' || left(encode(callbacks_hmac_sha256(
                    mask_key, convert_to(callbacks_mask_canonical(value), 'UTF8')), 'hex'), 4) END
$function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_foreign_params(value jsonb, visible text[], mask_key bytea, shown boolean DEFAULT false)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_headers(headers jsonb, visible text[], mask_key bytea)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_leaves(value jsonb, name text DEFAULT NULL::text)
 RETURNS TABLE(leaf_name text, leaf jsonb)
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_parse(text text)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
BEGIN
    RETURN text::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_preflight(preflight jsonb, mask_key bytea)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_replace(text text, secrets jsonb)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_secrets(sessions jsonb, visible text[], mask_key bytea, OUT names text[], OUT secrets jsonb)
 RETURNS record
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_sessions_of(headers jsonb)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE WHEN jsonb_typeof(p) IN ('object', 'array') THEN jsonb_build_array(p)
                ELSE '[]'::jsonb END
    FROM (SELECT callbacks_mask_parse(coalesce(headers->>'Foreign-Params',
                                               headers->>'foreign-params')) AS p) AS parsed
$function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_step_part(part jsonb, sessions jsonb, mask_key bytea)
 RETURNS jsonb
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_mask_value(mask_key bytea, value jsonb)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE
        WHEN jsonb_typeof(value) = 'string' AND value #>> '{}' ~ '^\*\*\*#[0-9a-f]{4}$'
            THEN value
        WHEN jsonb_typeof(value) = 'string' AND left(value #>> '{}', 3) = '***'
            THEN to_jsonb('***'::text)
        ELSE to_jsonb(callbacks_mask_fingerprint(mask_key, value)) END
$function$;

CREATE OR REPLACE FUNCTION public.callbacks_owner_only(object text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    r text;
BEGIN
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', object);
    FOREACH r IN ARRAY ARRAY['callbacks_reader', 'callbacks_operator', 'callbacks_battery',
                             'callbacks_reconciler'] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('REVOKE ALL ON %s FROM %I', object, r);
        END IF;
    END LOOP;
END $function$;

CREATE OR REPLACE FUNCTION public.callbacks_random_key()
 RETURNS bytea
 LANGUAGE sql
AS $function$
    SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text
                          || gen_random_uuid()::text, '-', ''), 'hex')
$function$;

CREATE OR REPLACE FUNCTION public.end_sessions_on_password_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    DELETE FROM back_office_sessions WHERE user_id = NEW.id;
    RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION public.ensure_attempt_partitions(first_month date, months integer)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE
    month_start date;
    part text;
    created integer := 0;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        month_start := (date_trunc('month', first_month) + make_interval(months => i))::date;
        part := 'attempts_' || to_char(month_start, 'YYYY_MM');
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF attempts FOR VALUES FROM (%L) TO (%L)',
                           part, month_start, (month_start + interval '1 month')::date);
            PERFORM attempt_partitions_private();
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $function$;

CREATE OR REPLACE FUNCTION public.forget_brand_url_credentials()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
BEGIN
    DELETE FROM brand_url_credentials WHERE brand_id = NEW.id;
    RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION public.installation_key(key_name text)
 RETURNS bytea
 LANGUAGE plpgsql
 SET search_path TO 'public', 'pg_temp'
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION public.rebuild_attempt_rollups(from_ts timestamp with time zone, to_ts timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
DECLARE
    lo timestamptz := date_trunc('hour', from_ts);
    hi timestamptz := date_trunc('hour', to_ts + interval '59 minutes 59.999999 seconds');
    written bigint;
    more bigint;
BEGIN
    DELETE FROM attempt_rollup_hourly WHERE hour >= lo AND hour < hi;
    DELETE FROM attempt_latency_hourly WHERE hour >= lo AND hour < hi;
    INSERT INTO attempt_rollup_hourly
    SELECT date_trunc('hour', started_at), brand_id, destination, origin, response_status,
           outcome, error_class, error_code, count(*), count(*) FILTER (WHERE attempt_no = 1),
           count(*) FILTER (WHERE attempt_no > 1),
           coalesce(sum(duration_ms) FILTER (WHERE outcome NOT IN ('sending', 'unknown')), 0)
    FROM attempts WHERE started_at >= lo AND started_at < hi
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
    GET DIAGNOSTICS written = ROW_COUNT;
    INSERT INTO attempt_latency_hourly
    SELECT date_trunc('hour', started_at), brand_id, destination, origin,
           attempt_latency_bucket(duration_ms), count(*)
    FROM attempts
    WHERE started_at >= lo AND started_at < hi
      AND duration_ms IS NOT NULL AND outcome NOT IN ('sending', 'unknown')
    GROUP BY 1, 2, 3, 4, 5;
    GET DIAGNOSTICS more = ROW_COUNT;
    RETURN written + more;
END $function$;

CREATE OR REPLACE FUNCTION public.refresh_attempt_rollups(settle interval DEFAULT '00:15:00'::interval)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
DECLARE
    lo timestamptz;
    hi timestamptz := date_trunc('hour', now() - settle);
    open_since timestamptz;
    written bigint := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(72317002) THEN
        RETURN -1;
    END IF;
    SELECT min(started_at) INTO open_since FROM attempts
    WHERE outcome = 'sending' AND started_at >= now() - interval '1 day';
    IF open_since IS NOT NULL THEN
        hi := LEAST(hi, date_trunc('hour', open_since));
    END IF;
    SELECT rolled_up_to INTO lo FROM attempt_rollup_state;
    IF lo IS NULL THEN
        SELECT date_trunc('hour', min(started_at)) INTO lo FROM attempts;
    END IF;
    IF lo IS NOT NULL AND hi > lo THEN
        written := rebuild_attempt_rollups(lo, hi);
    END IF;
    IF lo IS NOT NULL THEN
        INSERT INTO attempt_rollup_state (rolled_up_to) VALUES (GREATEST(lo, hi))
        ON CONFLICT (singleton) DO UPDATE SET rolled_up_to = EXCLUDED.rolled_up_to;
    END IF;
    RETURN written;
END $function$;

CREATE OR REPLACE FUNCTION public.refuse_audit_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    RAISE EXCEPTION 'the action audit trail (%) is append-only: rows are never updated or '
                    'deleted', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $function$;

CREATE SEQUENCE public.actions_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY public.actions.id;

CREATE SEQUENCE public.alert_events_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY public.alert_events.id;

CREATE SEQUENCE public.alert_notification_attempts_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY public.alert_notification_attempts.id;

CREATE SEQUENCE public.alert_notifications_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY public.alert_notifications.id;

CREATE SEQUENCE public.alert_rules_id_seq AS integer START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 2147483647 CACHE 1 OWNED BY public.alert_rules.id;

CREATE SEQUENCE public.alert_urls_id_seq AS integer START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 2147483647 CACHE 1 OWNED BY public.alert_urls.id;

CREATE SEQUENCE public.api_tokens_id_seq AS integer START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 2147483647 CACHE 1 OWNED BY public.api_tokens.id;

CREATE SEQUENCE public.brands_id_seq AS integer START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 2147483647 CACHE 1 OWNED BY public.brands.id;

CREATE SEQUENCE public.callbacks_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY public.callbacks.id;

CREATE SEQUENCE public.config_changes_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY public.config_changes.id;

CREATE SEQUENCE public.integration_runs_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY public.integration_runs.id;

CREATE SEQUENCE public.player_sessions_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY public.player_sessions.id;

CREATE SEQUENCE public.reconciliations_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY public.reconciliations.id;

CREATE SEQUENCE public.users_id_seq AS integer START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 2147483647 CACHE 1 OWNED BY public.users.id;

CREATE TABLE public.action_callbacks (
    action_id bigint NOT NULL,
    callback_id bigint NOT NULL,
    bet_id text NOT NULL,
    state_before text NOT NULL,
    state_after text NOT NULL
);

ALTER TABLE public.action_callbacks ADD CONSTRAINT action_callbacks_action_id_fkey FOREIGN KEY (action_id) REFERENCES actions(id);
ALTER TABLE public.action_callbacks ADD CONSTRAINT action_callbacks_pkey PRIMARY KEY (action_id, callback_id);
CREATE INDEX action_callbacks_bet ON public.action_callbacks USING btree (bet_id, action_id);
CREATE TRIGGER action_callbacks_append_only BEFORE DELETE OR UPDATE ON public.action_callbacks FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
ALTER TABLE public.action_callbacks ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_act ON public.action_callbacks AS PERMISSIVE FOR INSERT TO callbacks_operator
    WITH CHECK ((EXISTS ( SELECT
   FROM actions a
  WHERE (a.id = action_callbacks.action_id))));
CREATE POLICY back_office_brands ON public.action_callbacks AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((EXISTS ( SELECT
   FROM actions a
  WHERE (a.id = action_callbacks.action_id))));

CREATE TABLE public.actions (
    id bigint DEFAULT nextval('actions_id_seq'::regclass) NOT NULL,
    brand_id integer NOT NULL,
    kind text NOT NULL,
    actor text NOT NULL,
    reason text NOT NULL,
    source text NOT NULL,
    bet_id text,
    parameters jsonb DEFAULT '{}'::jsonb NOT NULL,
    callbacks integer NOT NULL,
    bets integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    os_user text
);

ALTER TABLE public.actions ADD CONSTRAINT actions_actor_check CHECK ((length(btrim(actor)) > 0));
ALTER TABLE public.actions ADD CONSTRAINT actions_bets_check CHECK ((bets >= 0));
ALTER TABLE public.actions ADD CONSTRAINT actions_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id);
ALTER TABLE public.actions ADD CONSTRAINT actions_callbacks_check CHECK ((callbacks >= 0));
ALTER TABLE public.actions ADD CONSTRAINT actions_kind_check CHECK ((kind = ANY (ARRAY['retry'::text, 'recover'::text, 'cancel'::text, 'set_url'::text])));
ALTER TABLE public.actions ADD CONSTRAINT actions_pkey PRIMARY KEY (id);
ALTER TABLE public.actions ADD CONSTRAINT actions_reason_check CHECK ((length(btrim(reason)) > 0));
ALTER TABLE public.actions ADD CONSTRAINT actions_source_check CHECK ((source = ANY (ARRAY['cli'::text, 'dashboard'::text])));
CREATE INDEX actions_brand_created ON public.actions USING btree (brand_id, created_at DESC, id DESC);
CREATE INDEX actions_created ON public.actions USING btree (created_at DESC, id DESC);
CREATE TRIGGER actions_append_only BEFORE DELETE OR UPDATE ON public.actions FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
ALTER TABLE public.actions ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_act ON public.actions AS PERMISSIVE FOR INSERT TO callbacks_operator
    WITH CHECK ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY back_office_brands ON public.actions AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.alert_events (
    id bigint DEFAULT nextval('alert_events_id_seq'::regclass) NOT NULL,
    brand_id integer NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    value text NOT NULL,
    threshold text NOT NULL,
    message text NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    flapping boolean DEFAULT false NOT NULL,
    notified boolean DEFAULT true NOT NULL
);

ALTER TABLE public.alert_events ADD CONSTRAINT alert_events_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;
ALTER TABLE public.alert_events ADD CONSTRAINT alert_events_pkey PRIMARY KEY (id);
ALTER TABLE public.alert_events ADD CONSTRAINT alert_events_status_check CHECK ((status = ANY (ARRAY['firing'::text, 'resolved'::text])));
CREATE INDEX alert_events_at ON public.alert_events USING btree (at DESC, id DESC);
CREATE INDEX alert_events_brand_at ON public.alert_events USING btree (brand_id, at DESC, id DESC);
CREATE INDEX alert_events_fires ON public.alert_events USING btree (brand_id, kind, at) WHERE (status = 'firing'::text);
ALTER TABLE public.alert_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.alert_events AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.alert_firing (
    brand_id integer NOT NULL,
    kind text NOT NULL,
    event_id bigint NOT NULL,
    since timestamp with time zone NOT NULL,
    clear_since timestamp with time zone
);

ALTER TABLE public.alert_firing ADD CONSTRAINT alert_firing_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;
ALTER TABLE public.alert_firing ADD CONSTRAINT alert_firing_pkey PRIMARY KEY (brand_id, kind);
ALTER TABLE public.alert_firing ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.alert_firing AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.alert_flapping (
    brand_id integer NOT NULL,
    kind text NOT NULL,
    since timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.alert_flapping ADD CONSTRAINT alert_flapping_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;
ALTER TABLE public.alert_flapping ADD CONSTRAINT alert_flapping_pkey PRIMARY KEY (brand_id, kind);
ALTER TABLE public.alert_flapping ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.alert_flapping AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.alert_notification_attempts (
    id bigint DEFAULT nextval('alert_notification_attempts_id_seq'::regclass) NOT NULL,
    notification_id bigint NOT NULL,
    attempt_no integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    duration_ms double precision NOT NULL,
    response_status integer,
    error text
);

ALTER TABLE public.alert_notification_attempts ADD CONSTRAINT alert_notification_attempts_notification_id_fkey FOREIGN KEY (notification_id) REFERENCES alert_notifications(id) ON DELETE CASCADE;
ALTER TABLE public.alert_notification_attempts ADD CONSTRAINT alert_notification_attempts_pkey PRIMARY KEY (id);
CREATE INDEX alert_notification_attempts_notification ON public.alert_notification_attempts USING btree (notification_id, attempt_no);
ALTER TABLE public.alert_notification_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.alert_notification_attempts AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((EXISTS ( SELECT
   FROM alert_notifications n
  WHERE (n.id = alert_notification_attempts.notification_id))));

CREATE TABLE public.alert_notifications (
    id bigint DEFAULT nextval('alert_notifications_id_seq'::regclass) NOT NULL,
    event_id bigint NOT NULL,
    url text NOT NULL,
    body jsonb NOT NULL,
    state text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone,
    lease_expires_at timestamp with time zone,
    last_status integer,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone
);

ALTER TABLE public.alert_notifications ADD CONSTRAINT alert_notifications_event_id_fkey FOREIGN KEY (event_id) REFERENCES alert_events(id) ON DELETE CASCADE;
ALTER TABLE public.alert_notifications ADD CONSTRAINT alert_notifications_pkey PRIMARY KEY (id);
ALTER TABLE public.alert_notifications ADD CONSTRAINT alert_notifications_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'sending'::text, 'delivered'::text, 'failed'::text])));
CREATE INDEX alert_notifications_due ON public.alert_notifications USING btree (next_attempt_at) WHERE (state = 'pending'::text);
CREATE INDEX alert_notifications_event ON public.alert_notifications USING btree (event_id);
CREATE INDEX alert_notifications_leases ON public.alert_notifications USING btree (lease_expires_at) WHERE (state = 'sending'::text);
ALTER TABLE public.alert_notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.alert_notifications AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((EXISTS ( SELECT
   FROM alert_events e
  WHERE (e.id = alert_notifications.event_id))));

CREATE TABLE public.alert_rules (
    id integer DEFAULT nextval('alert_rules_id_seq'::regclass) NOT NULL,
    brand_id integer,
    kind text NOT NULL,
    threshold numeric NOT NULL,
    window_s integer,
    enabled boolean DEFAULT true NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    resolve_below numeric,
    quiet_s integer,
    min_attempts integer
);

ALTER TABLE public.alert_rules ADD CONSTRAINT alert_rules_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;
ALTER TABLE public.alert_rules ADD CONSTRAINT alert_rules_kind_check CHECK ((kind = ANY (ARRAY['failure_rate'::text, 'oldest_pending'::text, 'exhausted'::text, 'money_at_risk'::text, 'heartbeat_failure_rate'::text])));
ALTER TABLE public.alert_rules ADD CONSTRAINT alert_rules_min_attempts_check CHECK (((min_attempts IS NULL) OR (min_attempts >= 1)));
ALTER TABLE public.alert_rules ADD CONSTRAINT alert_rules_pkey PRIMARY KEY (id);
ALTER TABLE public.alert_rules ADD CONSTRAINT alert_rules_quiet_s_check CHECK (((quiet_s IS NULL) OR (quiet_s >= 0)));
ALTER TABLE public.alert_rules ADD CONSTRAINT alert_rules_resolve_below_check CHECK (((resolve_below IS NULL) OR (resolve_below >= (0)::numeric)));
ALTER TABLE public.alert_rules ADD CONSTRAINT alert_rules_resolve_below_threshold CHECK (((resolve_below IS NULL) OR (resolve_below <= threshold)));
ALTER TABLE public.alert_rules ADD CONSTRAINT alert_rules_threshold_check CHECK ((threshold >= (0)::numeric));
ALTER TABLE public.alert_rules ADD CONSTRAINT alert_rules_window_s_check CHECK (((window_s IS NULL) OR (window_s > 0)));
CREATE UNIQUE INDEX alert_rules_brand_kind ON public.alert_rules USING btree (COALESCE(brand_id, 0), kind);
ALTER TABLE public.alert_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.alert_rules AS PERMISSIVE FOR SELECT TO PUBLIC
    USING (((brand_id IS NULL) OR ( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.alert_urls (
    id integer DEFAULT nextval('alert_urls_id_seq'::regclass) NOT NULL,
    url text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.alert_urls ADD CONSTRAINT alert_urls_pkey PRIMARY KEY (id);
ALTER TABLE public.alert_urls ADD CONSTRAINT alert_urls_url_check CHECK ((url ~ '^https?://'::text));
ALTER TABLE public.alert_urls ADD CONSTRAINT alert_urls_url_key UNIQUE (url);

CREATE TABLE public.api_token_brands (
    token_id integer NOT NULL,
    brand_id integer NOT NULL
);

ALTER TABLE public.api_token_brands ADD CONSTRAINT api_token_brands_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;
ALTER TABLE public.api_token_brands ADD CONSTRAINT api_token_brands_pkey PRIMARY KEY (token_id, brand_id);
ALTER TABLE public.api_token_brands ADD CONSTRAINT api_token_brands_token_id_fkey FOREIGN KEY (token_id) REFERENCES api_tokens(id) ON DELETE CASCADE;
CREATE INDEX api_token_brands_brand ON public.api_token_brands USING btree (brand_id);

CREATE TABLE public.api_tokens (
    id integer DEFAULT nextval('api_tokens_id_seq'::regclass) NOT NULL,
    name text NOT NULL,
    token_sha256 text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    all_brands boolean NOT NULL,
    read_only boolean DEFAULT false NOT NULL
);

ALTER TABLE public.api_tokens ADD CONSTRAINT api_tokens_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'::text));
ALTER TABLE public.api_tokens ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);
ALTER TABLE public.api_tokens ADD CONSTRAINT api_tokens_token_sha256_check CHECK ((token_sha256 ~ '^[0-9a-f]{64}$'::text));
ALTER TABLE public.api_tokens ADD CONSTRAINT api_tokens_token_sha256_key UNIQUE (token_sha256);
CREATE UNIQUE INDEX api_tokens_live_name ON public.api_tokens USING btree (name) WHERE (revoked_at IS NULL);

CREATE TABLE public.archived_partitions (
    partition_name text NOT NULL,
    month_from timestamp with time zone NOT NULL,
    month_to timestamp with time zone NOT NULL,
    archive_dir text NOT NULL,
    attempts bigint NOT NULL,
    callbacks bigint NOT NULL,
    bets bigint NOT NULL,
    files jsonb NOT NULL,
    exported_at timestamp with time zone NOT NULL,
    dropped_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.archived_partitions ADD CONSTRAINT archived_partitions_pkey PRIMARY KEY (partition_name);

CREATE TABLE public.attempt_latency_hourly (
    hour timestamp with time zone NOT NULL,
    brand_id integer NOT NULL,
    destination text NOT NULL,
    origin text NOT NULL,
    bucket smallint NOT NULL,
    attempts bigint NOT NULL
);

CREATE INDEX attempt_latency_hourly_brand ON public.attempt_latency_hourly USING btree (brand_id, hour);
CREATE INDEX attempt_latency_hourly_hour ON public.attempt_latency_hourly USING btree (hour);
ALTER TABLE public.attempt_latency_hourly ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.attempt_latency_hourly AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.attempt_rollup_hourly (
    hour timestamp with time zone NOT NULL,
    brand_id integer NOT NULL,
    destination text NOT NULL,
    origin text NOT NULL,
    response_status integer,
    outcome text NOT NULL,
    error_class text,
    error_code text,
    attempts bigint NOT NULL,
    first_attempts bigint NOT NULL,
    retries bigint NOT NULL,
    duration_ms_sum double precision NOT NULL
);

CREATE INDEX attempt_rollup_hourly_brand ON public.attempt_rollup_hourly USING btree (brand_id, hour);
CREATE INDEX attempt_rollup_hourly_hour ON public.attempt_rollup_hourly USING btree (hour);
ALTER TABLE public.attempt_rollup_hourly ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.attempt_rollup_hourly AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.attempt_rollup_state (
    singleton boolean DEFAULT true NOT NULL,
    rolled_up_to timestamp with time zone NOT NULL
);

ALTER TABLE public.attempt_rollup_state ADD CONSTRAINT attempt_rollup_state_pkey PRIMARY KEY (singleton);
ALTER TABLE public.attempt_rollup_state ADD CONSTRAINT attempt_rollup_state_singleton_check CHECK (singleton);

CREATE TABLE public.attempts (
    id uuid NOT NULL,
    callback_id bigint,
    group_id text NOT NULL,
    brand_id integer NOT NULL,
    destination text NOT NULL,
    origin text NOT NULL,
    attempt_no integer NOT NULL,
    callback_created_at timestamp with time zone NOT NULL,
    scheduled_at timestamp with time zone,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    duration_ms double precision,
    request_headers jsonb NOT NULL,
    response_status integer,
    response_headers jsonb,
    response_body text,
    response_truncated boolean DEFAULT false NOT NULL,
    outcome text NOT NULL,
    error_class text,
    error_detail text,
    error_code text,
    next_attempt_at timestamp with time zone,
    action_id bigint
) PARTITION BY RANGE (started_at);

ALTER TABLE public.attempts ADD CONSTRAINT attempts_outcome_check CHECK ((outcome = ANY (ARRAY['sending'::text, 'delivered'::text, 'rejected'::text, 'failed'::text, 'exhausted'::text, 'unknown'::text])));
ALTER TABLE public.attempts ADD CONSTRAINT attempts_pkey PRIMARY KEY (started_at, id);
CREATE INDEX attempts_bets_brand_started ON ONLY public.attempts USING btree (brand_id, started_at) WHERE (destination <> '/heartbeat'::text);
CREATE INDEX attempts_brand_created ON ONLY public.attempts USING btree (brand_id, callback_created_at DESC, started_at DESC, id DESC);
CREATE INDEX attempts_brand_problems_created ON ONLY public.attempts USING btree (brand_id, callback_created_at DESC, started_at DESC, id DESC) WHERE (outcome <> 'delivered'::text);
CREATE INDEX attempts_brand_started ON ONLY public.attempts USING btree (brand_id, started_at DESC, id DESC);
CREATE INDEX attempts_callback ON ONLY public.attempts USING btree (callback_id);
CREATE INDEX attempts_created ON ONLY public.attempts USING btree (callback_created_at DESC, started_at DESC, id DESC);
CREATE INDEX attempts_group ON ONLY public.attempts USING btree (group_id, started_at);
CREATE INDEX attempts_problems_created ON ONLY public.attempts USING btree (callback_created_at DESC, started_at DESC, id DESC) WHERE (outcome <> 'delivered'::text);
CREATE INDEX attempts_request ON ONLY public.attempts USING btree (id);
ALTER TABLE public.attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.attempts AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY battery_attempts_add ON public.attempts AS PERMISSIVE FOR INSERT TO callbacks_battery
    WITH CHECK ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY battery_attempts_only ON public.attempts AS RESTRICTIVE FOR ALL TO callbacks_battery
    USING ((origin = 'integration_test'::text))
    WITH CHECK ((origin = 'integration_test'::text));

CREATE TABLE public.attempts_default PARTITION OF public.attempts DEFAULT;

CREATE TABLE public.back_office_sessions (
    id_hash bytea NOT NULL,
    user_id integer NOT NULL,
    address text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

ALTER TABLE public.back_office_sessions ADD CONSTRAINT back_office_sessions_check CHECK ((expires_at > created_at));
ALTER TABLE public.back_office_sessions ADD CONSTRAINT back_office_sessions_id_hash_check CHECK ((length(id_hash) = 32));
ALTER TABLE public.back_office_sessions ADD CONSTRAINT back_office_sessions_pkey PRIMARY KEY (id_hash);
ALTER TABLE public.back_office_sessions ADD CONSTRAINT back_office_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
CREATE INDEX back_office_sessions_expires ON public.back_office_sessions USING btree (expires_at);
CREATE INDEX back_office_sessions_user ON public.back_office_sessions USING btree (user_id);

CREATE TABLE public.bets (
    bet_id text NOT NULL,
    brand_id integer NOT NULL,
    player_id text,
    bet_type smallint,
    stake numeric,
    odds jsonb,
    system_sizes integer[],
    status text NOT NULL,
    restrictions jsonb DEFAULT '[]'::jsonb NOT NULL,
    placed_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.bets ADD CONSTRAINT bets_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id);
ALTER TABLE public.bets ADD CONSTRAINT bets_pkey PRIMARY KEY (bet_id);
CREATE INDEX bets_brand_created ON public.bets USING btree (brand_id, created_at DESC);
CREATE INDEX bets_created ON public.bets USING btree (created_at DESC);
CREATE INDEX bets_player ON public.bets USING btree (player_id);
ALTER TABLE public.bets ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_act ON public.bets AS PERMISSIVE FOR UPDATE TO callbacks_operator
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))))
    WITH CHECK ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY back_office_brands ON public.bets AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY battery_bets_add ON public.bets AS PERMISSIVE FOR INSERT TO callbacks_battery
    WITH CHECK ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY battery_bets_change ON public.bets AS PERMISSIVE FOR UPDATE TO callbacks_battery
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))))
    WITH CHECK ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY battery_bets_only ON public.bets AS RESTRICTIVE FOR ALL TO callbacks_battery
    USING ((bet_id ~ '^it[0-9]{2}-'::text))
    WITH CHECK ((bet_id ~ '^it[0-9]{2}-'::text));

CREATE TABLE public.brand_test_urls (
    brand_id integer NOT NULL,
    url text NOT NULL,
    added_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.brand_test_urls ADD CONSTRAINT brand_test_urls_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;
ALTER TABLE public.brand_test_urls ADD CONSTRAINT brand_test_urls_pkey PRIMARY KEY (brand_id, url);
ALTER TABLE public.brand_test_urls ADD CONSTRAINT brand_test_urls_url_check CHECK ((url ~ '^https?://[^\s]+$'::text));
ALTER TABLE public.brand_test_urls ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.brand_test_urls AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.brand_url_credentials (
    brand_id integer NOT NULL,
    username text NOT NULL,
    password text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.brand_url_credentials ADD CONSTRAINT brand_url_credentials_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;
ALTER TABLE public.brand_url_credentials ADD CONSTRAINT brand_url_credentials_pkey PRIMARY KEY (brand_id);
ALTER TABLE public.brand_url_credentials ENABLE ROW LEVEL SECURITY;

CREATE TABLE public.brands (
    id integer DEFAULT nextval('brands_id_seq'::regclass) NOT NULL,
    name text NOT NULL,
    base_url text NOT NULL,
    retry_schedule_s integer[] NOT NULL,
    timeout_s double precision NOT NULL,
    max_in_flight integer NOT NULL,
    signing_secret text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    mask_keys text[] DEFAULT '{}'::text[] NOT NULL,
    currency text,
    visible_keys text[] DEFAULT '{}'::text[] NOT NULL,
    heartbeat_interval_s integer DEFAULT 60 NOT NULL
);

ALTER TABLE public.brands ADD CONSTRAINT brands_currency_check CHECK (((currency IS NULL) OR (currency ~ '^[A-Za-z0-9]{1,12}$'::text)));
ALTER TABLE public.brands ADD CONSTRAINT brands_heartbeat_interval_s_check CHECK ((heartbeat_interval_s >= 1));
ALTER TABLE public.brands ADD CONSTRAINT brands_max_in_flight_check CHECK ((max_in_flight > 0));
ALTER TABLE public.brands ADD CONSTRAINT brands_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'::text));
ALTER TABLE public.brands ADD CONSTRAINT brands_name_key UNIQUE (name);
ALTER TABLE public.brands ADD CONSTRAINT brands_pkey PRIMARY KEY (id);
ALTER TABLE public.brands ADD CONSTRAINT brands_timeout_s_check CHECK ((timeout_s > (0)::double precision));
CREATE TRIGGER brands_url_changed AFTER UPDATE OF base_url ON public.brands FOR EACH ROW WHEN ((old.base_url IS DISTINCT FROM new.base_url)) EXECUTE FUNCTION forget_brand_url_credentials();
ALTER TABLE public.brands ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_act ON public.brands AS PERMISSIVE FOR UPDATE TO callbacks_operator
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))))
    WITH CHECK ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY back_office_brands ON public.brands AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.callbacks (
    id bigint DEFAULT nextval('callbacks_id_seq'::regclass) NOT NULL,
    request_id text NOT NULL,
    brand_id integer NOT NULL,
    bet_id text NOT NULL,
    destination text NOT NULL,
    payload jsonb NOT NULL,
    foreign_params jsonb DEFAULT '{}'::jsonb NOT NULL,
    origin text DEFAULT 'producer'::text NOT NULL,
    state text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone,
    lease_token uuid,
    lease_expires_at timestamp with time zone,
    last_status integer,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    manual_action_id bigint
);

ALTER TABLE public.callbacks ADD CONSTRAINT callbacks_bet_id_fkey FOREIGN KEY (bet_id) REFERENCES bets(bet_id);
ALTER TABLE public.callbacks ADD CONSTRAINT callbacks_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id);
ALTER TABLE public.callbacks ADD CONSTRAINT callbacks_origin_check CHECK ((origin = ANY (ARRAY['producer'::text, 'system'::text, 'integration_test'::text])));
ALTER TABLE public.callbacks ADD CONSTRAINT callbacks_pkey PRIMARY KEY (id);
ALTER TABLE public.callbacks ADD CONSTRAINT callbacks_request_id_key UNIQUE (request_id);
ALTER TABLE public.callbacks ADD CONSTRAINT callbacks_state_check CHECK ((state = ANY (ARRAY['waiting'::text, 'pending'::text, 'in_flight'::text, 'delivered'::text, 'rejected'::text, 'exhausted'::text, 'skipped'::text])));
CREATE INDEX callbacks_due ON public.callbacks USING btree (brand_id, next_attempt_at) WHERE (state = 'pending'::text);
CREATE INDEX callbacks_exhausted ON public.callbacks USING btree (brand_id, finished_at) WHERE (state = 'exhausted'::text);
CREATE INDEX callbacks_exhausted_created ON public.callbacks USING btree (brand_id, created_at) WHERE (state = 'exhausted'::text);
CREATE INDEX callbacks_group ON public.callbacks USING btree (bet_id, id);
CREATE INDEX callbacks_heads ON public.callbacks USING btree (next_attempt_at, id) WHERE (state = ANY (ARRAY['pending'::text, 'in_flight'::text]));
CREATE INDEX callbacks_in_flight_brand ON public.callbacks USING btree (brand_id) WHERE (state = 'in_flight'::text);
CREATE INDEX callbacks_leases ON public.callbacks USING btree (lease_expires_at) WHERE (state = 'in_flight'::text);
CREATE INDEX callbacks_open ON public.callbacks USING btree (brand_id, created_at) WHERE (state = ANY (ARRAY['waiting'::text, 'pending'::text, 'in_flight'::text]));
CREATE INDEX callbacks_pending_due ON public.callbacks USING btree (next_attempt_at) WHERE (state = 'pending'::text);
CREATE INDEX callbacks_waiting ON public.callbacks USING btree (bet_id, id) WHERE (state = 'waiting'::text);
ALTER TABLE public.callbacks ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_act ON public.callbacks AS PERMISSIVE FOR UPDATE TO callbacks_operator
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))))
    WITH CHECK ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY back_office_brands ON public.callbacks AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY battery_callbacks_add ON public.callbacks AS PERMISSIVE FOR INSERT TO callbacks_battery
    WITH CHECK ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY battery_callbacks_change ON public.callbacks AS PERMISSIVE FOR UPDATE TO callbacks_battery
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))))
    WITH CHECK ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY battery_callbacks_only ON public.callbacks AS RESTRICTIVE FOR ALL TO callbacks_battery
    USING ((origin = 'integration_test'::text))
    WITH CHECK ((origin = 'integration_test'::text));

CREATE TABLE public.config_changes (
    id bigint DEFAULT nextval('config_changes_id_seq'::regclass) NOT NULL,
    kind text NOT NULL,
    actor text NOT NULL,
    os_user text NOT NULL,
    source text NOT NULL,
    brand_id integer,
    subject text NOT NULL,
    before jsonb,
    after jsonb,
    reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.config_changes ADD CONSTRAINT config_changes_actor_check CHECK ((length(btrim(actor)) > 0));
ALTER TABLE public.config_changes ADD CONSTRAINT config_changes_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id);
ALTER TABLE public.config_changes ADD CONSTRAINT config_changes_kind_check CHECK ((kind ~ '^[a-z][a-z_]*\.[a-z][a-z_]*$'::text));
ALTER TABLE public.config_changes ADD CONSTRAINT config_changes_os_user_check CHECK ((length(btrim(os_user)) > 0));
ALTER TABLE public.config_changes ADD CONSTRAINT config_changes_pkey PRIMARY KEY (id);
ALTER TABLE public.config_changes ADD CONSTRAINT config_changes_source_check CHECK ((source = ANY (ARRAY['cli'::text, 'dashboard'::text])));
CREATE INDEX config_changes_brand_created ON public.config_changes USING btree (brand_id, created_at DESC, id DESC);
CREATE INDEX config_changes_created ON public.config_changes USING btree (created_at DESC, id DESC);
CREATE TRIGGER config_changes_append_only BEFORE DELETE OR UPDATE ON public.config_changes FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
ALTER TABLE public.config_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.config_changes AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.heartbeat_minutes (
    brand_id integer NOT NULL,
    minute timestamp with time zone NOT NULL,
    delivered integer DEFAULT 0 NOT NULL,
    ended integer DEFAULT 0 NOT NULL,
    failed integer DEFAULT 0 NOT NULL
) WITH (fillfactor=70);

ALTER TABLE public.heartbeat_minutes ADD CONSTRAINT heartbeat_minutes_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id);
ALTER TABLE public.heartbeat_minutes ADD CONSTRAINT heartbeat_minutes_pkey PRIMARY KEY (brand_id, minute);
CREATE INDEX heartbeat_minutes_minute ON public.heartbeat_minutes USING btree (minute);
ALTER TABLE public.heartbeat_minutes ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.heartbeat_minutes AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.installation_keys (
    name text NOT NULL,
    secret bytea NOT NULL,
    inner_pad bytea GENERATED ALWAYS AS (callbacks_hmac_pad(secret, 54)) STORED,
    outer_pad bytea GENERATED ALWAYS AS (callbacks_hmac_pad(secret, 92)) STORED,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.installation_keys ADD CONSTRAINT installation_keys_name_check CHECK ((name ~ '^[a-z][a-z_]{0,62}$'::text));
ALTER TABLE public.installation_keys ADD CONSTRAINT installation_keys_pkey PRIMARY KEY (name);
ALTER TABLE public.installation_keys ADD CONSTRAINT installation_keys_secret_check CHECK ((length(secret) >= 32));

CREATE TABLE public.integration_cases (
    run_id bigint NOT NULL,
    number smallint NOT NULL,
    case_group text NOT NULL,
    name text NOT NULL,
    checks text NOT NULL,
    status text NOT NULL,
    steps_planned smallint NOT NULL,
    failed_step smallint,
    message text,
    duration_ms double precision DEFAULT 0 NOT NULL
);

ALTER TABLE public.integration_cases ADD CONSTRAINT integration_cases_pkey PRIMARY KEY (run_id, number);
ALTER TABLE public.integration_cases ADD CONSTRAINT integration_cases_run_id_fkey FOREIGN KEY (run_id) REFERENCES integration_runs(id) ON DELETE CASCADE;
ALTER TABLE public.integration_cases ADD CONSTRAINT integration_cases_status_check CHECK ((status = ANY (ARRAY['success'::text, 'failed'::text, 'cancelled'::text])));
ALTER TABLE public.integration_cases ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.integration_cases AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((EXISTS ( SELECT
   FROM integration_runs r
  WHERE (r.id = integration_cases.run_id))));
CREATE POLICY battery_cases ON public.integration_cases AS PERMISSIVE FOR INSERT TO callbacks_battery
    WITH CHECK ((EXISTS ( SELECT
   FROM integration_runs r
  WHERE ((r.id = integration_cases.run_id) AND (r.status = 'running'::text)))));

CREATE TABLE public.integration_runs (
    id bigint DEFAULT nextval('integration_runs_id_seq'::regclass) NOT NULL,
    brand_id integer NOT NULL,
    base_url text NOT NULL,
    triggered_by text NOT NULL,
    source text NOT NULL,
    status text NOT NULL,
    reason text,
    timeout_s double precision NOT NULL,
    cases_total integer NOT NULL,
    cases_passed integer DEFAULT 0 NOT NULL,
    cases_failed integer DEFAULT 0 NOT NULL,
    preflight jsonb,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    duration_ms double precision
);

ALTER TABLE public.integration_runs ADD CONSTRAINT integration_runs_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id);
ALTER TABLE public.integration_runs ADD CONSTRAINT integration_runs_pkey PRIMARY KEY (id);
ALTER TABLE public.integration_runs ADD CONSTRAINT integration_runs_source_check CHECK ((source = ANY (ARRAY['dashboard'::text, 'cli'::text])));
ALTER TABLE public.integration_runs ADD CONSTRAINT integration_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'success'::text, 'failed'::text, 'cancelled'::text])));
CREATE INDEX integration_runs_brand ON public.integration_runs USING btree (brand_id, started_at DESC, id DESC);
ALTER TABLE public.integration_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.integration_runs AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY battery_finish ON public.integration_runs AS PERMISSIVE FOR UPDATE TO callbacks_battery
    USING (((status = 'running'::text) AND (( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[])))))
    WITH CHECK ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY battery_start ON public.integration_runs AS PERMISSIVE FOR INSERT TO callbacks_battery
    WITH CHECK (((status = 'running'::text) AND (source = 'dashboard'::text) AND (( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[])))));

CREATE TABLE public.integration_steps (
    run_id bigint NOT NULL,
    case_number smallint NOT NULL,
    "position" smallint NOT NULL,
    label text NOT NULL,
    destination text NOT NULL,
    bet_id text NOT NULL,
    request_id text NOT NULL,
    attempt_id uuid,
    callback_id bigint,
    expected text NOT NULL,
    passed boolean,
    cleanup boolean DEFAULT false NOT NULL,
    message text,
    request jsonb NOT NULL,
    response jsonb NOT NULL
);

ALTER TABLE public.integration_steps ADD CONSTRAINT integration_steps_pkey PRIMARY KEY (run_id, case_number, "position");
ALTER TABLE public.integration_steps ADD CONSTRAINT integration_steps_run_id_case_number_fkey FOREIGN KEY (run_id, case_number) REFERENCES integration_cases(run_id, number) ON DELETE CASCADE;
ALTER TABLE public.integration_steps ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.integration_steps AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((EXISTS ( SELECT
   FROM integration_runs r
  WHERE (r.id = integration_steps.run_id))));
CREATE POLICY battery_steps ON public.integration_steps AS PERMISSIVE FOR INSERT TO callbacks_battery
    WITH CHECK ((EXISTS ( SELECT
   FROM integration_runs r
  WHERE ((r.id = integration_steps.run_id) AND (r.status = 'running'::text)))));

CREATE TABLE public.player_sessions (
    id bigint DEFAULT nextval('player_sessions_id_seq'::regclass) NOT NULL,
    brand_id integer NOT NULL,
    session_id text NOT NULL,
    foreign_params jsonb NOT NULL,
    shown_params jsonb NOT NULL,
    state text NOT NULL,
    expires_at timestamp with time zone,
    next_beat_at timestamp with time zone,
    lease_token uuid,
    lease_expires_at timestamp with time zone,
    beat_due_at timestamp with time zone,
    beat_attempt_id uuid,
    beat_started_at timestamp with time zone,
    heartbeats_sent integer DEFAULT 0 NOT NULL,
    failures_in_row integer DEFAULT 0 NOT NULL,
    failing_since timestamp with time zone,
    last_status integer,
    last_outcome text,
    last_error text,
    last_at timestamp with time zone,
    opened_at timestamp with time zone DEFAULT now() NOT NULL,
    refreshed_at timestamp with time zone DEFAULT now() NOT NULL,
    ended_at timestamp with time zone
) WITH (fillfactor=80, autovacuum_vacuum_scale_factor=0.02, autovacuum_vacuum_cost_delay=0);

ALTER TABLE public.player_sessions ADD CONSTRAINT player_sessions_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id);
ALTER TABLE public.player_sessions ADD CONSTRAINT player_sessions_brand_id_session_id_key UNIQUE (brand_id, session_id);
ALTER TABLE public.player_sessions ADD CONSTRAINT player_sessions_pkey PRIMARY KEY (id);
ALTER TABLE public.player_sessions ADD CONSTRAINT player_sessions_session_id_check CHECK (((length(session_id) >= 1) AND (length(session_id) <= 200)));
ALTER TABLE public.player_sessions ADD CONSTRAINT player_sessions_state_check CHECK ((state = ANY (ARRAY['live'::text, 'closed'::text, 'expired'::text, 'ended_by_platform'::text])));
CREATE INDEX player_sessions_due ON public.player_sessions USING btree (brand_id, next_beat_at) WHERE ((state = 'live'::text) AND (lease_token IS NULL));
CREATE INDEX player_sessions_ended ON public.player_sessions USING btree (ended_at) WHERE (state <> 'live'::text);
CREATE INDEX player_sessions_expiry ON public.player_sessions USING btree (expires_at) WHERE ((state = 'live'::text) AND (expires_at IS NOT NULL));
CREATE INDEX player_sessions_in_flight ON public.player_sessions USING btree (brand_id, lease_expires_at) WHERE (lease_token IS NOT NULL);
ALTER TABLE public.player_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.player_sessions AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));

CREATE TABLE public.reconciliation_bets (
    reconciliation_id bigint NOT NULL,
    bet_id text NOT NULL,
    verdict text NOT NULL,
    currency text DEFAULT ''::text NOT NULL,
    expected numeric NOT NULL,
    booked numeric NOT NULL,
    difference numeric NOT NULL,
    player_id text DEFAULT ''::text NOT NULL,
    request_ids text DEFAULT ''::text NOT NULL,
    attempt_ids text DEFAULT ''::text NOT NULL,
    detail text DEFAULT ''::text NOT NULL
);

ALTER TABLE public.reconciliation_bets ADD CONSTRAINT reconciliation_bets_pkey PRIMARY KEY (reconciliation_id, bet_id);
ALTER TABLE public.reconciliation_bets ADD CONSTRAINT reconciliation_bets_reconciliation_id_fkey FOREIGN KEY (reconciliation_id) REFERENCES reconciliations(id) ON DELETE CASCADE;
ALTER TABLE public.reconciliation_bets ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.reconciliation_bets AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((EXISTS ( SELECT
   FROM reconciliations r
  WHERE (r.id = reconciliation_bets.reconciliation_id))));
CREATE POLICY reconciler_add ON public.reconciliation_bets AS PERMISSIVE FOR INSERT TO callbacks_reconciler
    WITH CHECK ((EXISTS ( SELECT
   FROM reconciliations r
  WHERE (r.id = reconciliation_bets.reconciliation_id))));

CREATE TABLE public.reconciliations (
    id bigint DEFAULT nextval('reconciliations_id_seq'::regclass) NOT NULL,
    brand_id integer NOT NULL,
    run_by text NOT NULL,
    source text NOT NULL,
    run_at timestamp with time zone DEFAULT now() NOT NULL,
    ledger_name text NOT NULL,
    ledger_kind text NOT NULL,
    ledger_rows bigint NOT NULL,
    by_request boolean NOT NULL,
    since timestamp with time zone,
    until timestamp with time zone,
    bets bigint NOT NULL,
    callbacks bigint NOT NULL,
    all_match boolean NOT NULL,
    summary jsonb NOT NULL,
    left_out bigint DEFAULT 0 NOT NULL,
    seconds double precision NOT NULL,
    ledger_file bytea
);

ALTER TABLE public.reconciliations ADD CONSTRAINT reconciliations_bets_check CHECK ((bets >= 0));
ALTER TABLE public.reconciliations ADD CONSTRAINT reconciliations_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id);
ALTER TABLE public.reconciliations ADD CONSTRAINT reconciliations_callbacks_check CHECK ((callbacks >= 0));
ALTER TABLE public.reconciliations ADD CONSTRAINT reconciliations_ledger_rows_check CHECK ((ledger_rows >= 0));
ALTER TABLE public.reconciliations ADD CONSTRAINT reconciliations_left_out_check CHECK ((left_out >= 0));
ALTER TABLE public.reconciliations ADD CONSTRAINT reconciliations_pkey PRIMARY KEY (id);
ALTER TABLE public.reconciliations ADD CONSTRAINT reconciliations_run_by_check CHECK ((length(btrim(run_by)) > 0));
ALTER TABLE public.reconciliations ADD CONSTRAINT reconciliations_seconds_check CHECK ((seconds >= (0)::double precision));
ALTER TABLE public.reconciliations ADD CONSTRAINT reconciliations_source_check CHECK ((source = ANY (ARRAY['cli'::text, 'dashboard'::text])));
CREATE INDEX reconciliations_brand_run_at ON public.reconciliations USING btree (brand_id, run_at DESC, id DESC);
ALTER TABLE public.reconciliations ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON public.reconciliations AS PERMISSIVE FOR SELECT TO PUBLIC
    USING ((( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[]))));
CREATE POLICY reconciler_add ON public.reconciliations AS PERMISSIVE FOR INSERT TO callbacks_reconciler
    WITH CHECK (((source = 'dashboard'::text) AND (( SELECT back_office_all_brands() AS back_office_all_brands) OR (brand_id = ANY (( SELECT back_office_brand_ids() AS back_office_brand_ids)::integer[])))));

CREATE TABLE public.schema_migrations (
    version text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    checksum text
);

ALTER TABLE public.schema_migrations ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

CREATE TABLE public.user_brands (
    user_id integer NOT NULL,
    brand_id integer NOT NULL
);

ALTER TABLE public.user_brands ADD CONSTRAINT user_brands_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;
ALTER TABLE public.user_brands ADD CONSTRAINT user_brands_pkey PRIMARY KEY (user_id, brand_id);
ALTER TABLE public.user_brands ADD CONSTRAINT user_brands_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

CREATE TABLE public.users (
    id integer DEFAULT nextval('users_id_seq'::regclass) NOT NULL,
    name text NOT NULL,
    email text,
    role text NOT NULL,
    all_brands boolean DEFAULT false NOT NULL,
    password_hash text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.users ADD CONSTRAINT users_email_check CHECK ((email ~ '^[^@\s]+@[^@\s]+$'::text));
ALTER TABLE public.users ADD CONSTRAINT users_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$'::text));
ALTER TABLE public.users ADD CONSTRAINT users_name_key UNIQUE (name);
ALTER TABLE public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE public.users ADD CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['analyst'::text, 'integration_manager'::text, 'admin'::text])));
CREATE UNIQUE INDEX users_email ON public.users USING btree (lower(email));
CREATE TRIGGER users_password_ends_sessions AFTER UPDATE OF password_hash ON public.users FOR EACH ROW WHEN ((old.password_hash IS DISTINCT FROM new.password_hash)) EXECUTE FUNCTION end_sessions_on_password_change();
