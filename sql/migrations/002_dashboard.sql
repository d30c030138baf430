-- What the back-office needs: a read-only role, indexes for Callback history, and hourly
-- rollups of the attempt history for the Breakdowns page.

-- Callback history lists attempts newest callback first (the seed's "Created at"), the
-- latest attempt of a callback first within it.
CREATE INDEX attempts_created ON attempts (callback_created_at DESC, started_at DESC, id DESC);
CREATE INDEX attempts_brand_created
    ON attempts (brand_id, callback_created_at DESC, started_at DESC, id DESC);
-- The same for the few attempts that did not deliver: filters on failures, codes other than
-- 2xx or error classes read these instead of walking past millions of deliveries.
CREATE INDEX attempts_problems_created
    ON attempts (callback_created_at DESC, started_at DESC, id DESC)
    WHERE outcome <> 'delivered';
CREATE INDEX attempts_brand_problems_created
    ON attempts (brand_id, callback_created_at DESC, started_at DESC, id DESC)
    WHERE outcome <> 'delivered';

-- Callback sender lists group heads, next due first.
CREATE INDEX callbacks_heads ON callbacks (next_attempt_at, id)
    WHERE state IN ('pending', 'in_flight');

-- Request duration buckets (upper edges, ms) shared by the rollup and the live query: bucket n
-- holds durations in [edge n-1, edge n); the last bucket is everything from the last edge up.
CREATE FUNCTION attempt_latency_edges_ms() RETURNS double precision[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000,
                 3000, 5000, 7500, 10000, 15000, 30000]::double precision[]
$$;

CREATE FUNCTION attempt_latency_bucket(duration_ms double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT width_bucket(duration_ms, attempt_latency_edges_ms())::smallint
$$;

-- One row per hour and combination of what the Breakdowns page groups by.
CREATE TABLE attempt_rollup_hourly (
    hour            timestamptz NOT NULL,
    brand_id        integer NOT NULL,
    destination     text NOT NULL,
    origin          text NOT NULL,
    response_status integer,          -- NULL: no response (timeout, connection, TLS, protocol)
    outcome         text NOT NULL,
    error_class     text,
    error_code      text,
    attempts        bigint NOT NULL,
    first_attempts  bigint NOT NULL,  -- attempt_no = 1
    retries         bigint NOT NULL,  -- attempt_no > 1
    duration_ms_sum double precision NOT NULL
);
CREATE INDEX attempt_rollup_hourly_hour ON attempt_rollup_hourly (hour);
CREATE INDEX attempt_rollup_hourly_brand ON attempt_rollup_hourly (brand_id, hour);

CREATE TABLE attempt_latency_hourly (
    hour        timestamptz NOT NULL,
    brand_id    integer NOT NULL,
    destination text NOT NULL,
    origin      text NOT NULL,
    bucket      smallint NOT NULL,
    attempts    bigint NOT NULL
);
CREATE INDEX attempt_latency_hourly_hour ON attempt_latency_hourly (hour);
CREATE INDEX attempt_latency_hourly_brand ON attempt_latency_hourly (brand_id, hour);

-- Every attempt that started before rolled_up_to is counted in the rollups; later ones are read
-- from attempts directly, so the Breakdowns page is exact whether or not a refresh ran lately.
CREATE TABLE attempt_rollup_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    rolled_up_to timestamptz NOT NULL
);

-- Recompute the rollups of the whole hours in [from_ts, to_ts). Returns the rows written.
CREATE FUNCTION rebuild_attempt_rollups(from_ts timestamptz, to_ts timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
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
           count(*) FILTER (WHERE attempt_no > 1), sum(duration_ms)
    FROM attempts WHERE started_at >= lo AND started_at < hi
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
    GET DIAGNOSTICS written = ROW_COUNT;
    INSERT INTO attempt_latency_hourly
    SELECT date_trunc('hour', started_at), brand_id, destination, origin,
           attempt_latency_bucket(duration_ms), count(*)
    FROM attempts WHERE started_at >= lo AND started_at < hi
    GROUP BY 1, 2, 3, 4, 5;
    GET DIAGNOSTICS more = ROW_COUNT;
    RETURN written + more;
END $$;

-- Roll up the hours that closed at least `settle` ago (an attempt row is written when its
-- request ends, so an hour is complete once its slowest request has been recorded).
-- Safe to call from several processes: only one refreshes at a time, the others return -1.
CREATE FUNCTION refresh_attempt_rollups(settle interval DEFAULT interval '15 minutes')
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz;
    hi timestamptz := date_trunc('hour', now() - settle);
    written bigint := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(72317002) THEN
        RETURN -1;
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
END $$;

-- The role the dashboard connects as: it may read every table and write none. Roles belong to
-- the whole server, so another database may have created it already (even at this moment).
-- Where the migrating user may not create roles, an administrator creates it instead:
--   CREATE ROLE callbacks_reader LOGIN PASSWORD '...';  then run `callbacks db upgrade` again.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        BEGIN
            CREATE ROLE callbacks_reader LOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'cannot create role callbacks_reader (no CREATEROLE); the '
                    'dashboard needs it: ask an administrator to run CREATE ROLE '
                    'callbacks_reader LOGIN PASSWORD ''...'' and grant it SELECT, or point '
                    'DASHBOARD_DATABASE_URL at another read-only role';
        END;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO callbacks_reader', current_database());
        GRANT USAGE ON SCHEMA public TO callbacks_reader;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO callbacks_reader;
        -- ...except the secrets: brands' signing secrets and the session tokens callbacks carry.
        REVOKE SELECT ON brands, callbacks FROM callbacks_reader;
        GRANT SELECT (id, name, base_url, retry_schedule_s, timeout_s, max_in_flight,
                      created_at, updated_at) ON brands TO callbacks_reader;
        GRANT SELECT (id, request_id, brand_id, bet_id, destination, payload, origin, state,
                      attempts, next_attempt_at, lease_expires_at, last_status, last_error,
                      created_at, finished_at) ON callbacks TO callbacks_reader;
        -- Tables that later migrations create are readable too.
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO callbacks_reader;
        IF NOT EXISTS (SELECT FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
                       WHERE r.rolname = 'callbacks_reader' AND s.setdatabase = 0
                         AND 'default_transaction_read_only=on' = ANY (s.setconfig)) THEN
            BEGIN
                ALTER ROLE callbacks_reader SET default_transaction_read_only = on;
            EXCEPTION
                WHEN OTHERS THEN  -- no privilege, or another database doing the same now
                    RAISE NOTICE 'callbacks_reader: default_transaction_read_only not set (%); '
                        'its SELECT-only grants still keep it read-only', SQLERRM;
            END;
        END IF;
    END IF;
END $$;
