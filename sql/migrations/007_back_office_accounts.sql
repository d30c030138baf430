-- Who may use the back-office, what each of them sees, and what the Integration Test page may
-- do on their behalf.
--
-- Users: built-in accounts (argon2 password hashes) managed with `callbacks user add|list|
-- remove|passwd`, never by the dashboard. With OIDC sign-in the same rows give an identity its
-- role and brands, matched by e-mail address. Each user has one or more brands, or all.

CREATE TABLE users (
    id            serial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$'),
    email         text CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    role          text NOT NULL CHECK (role IN ('analyst', 'integration_manager', 'admin')),
    all_brands    boolean NOT NULL DEFAULT false,
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE user_brands (
    user_id  integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    brand_id integer NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, brand_id)
);

-- URLs besides the brand's own that the Integration Test page may run against, registered by
-- an administrator (`callbacks brand test-url add BRAND URL`): a staging platform, say. The
-- page offers these and the brand's base_url, never a typed one.
CREATE TABLE brand_test_urls (
    brand_id   integer NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    url        text NOT NULL CHECK (url ~ '^https?://[^\s]+$'),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, url)
);

-- The account behind a sign-in: by user name (built-in passwords) or by e-mail address (OIDC).
-- The dashboard's read-only role reads accounts only through these functions; it cannot list
-- users. brand_ids and brand_names are NULL for a user of all brands.
CREATE FUNCTION back_office_account(login text, by_email boolean DEFAULT false)
RETURNS TABLE (name text, email text, role text, brand_ids integer[], brand_names text[],
               password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.name, u.email, u.role,
           CASE WHEN NOT u.all_brands THEN ARRAY(
               SELECT ub.brand_id FROM user_brands ub WHERE ub.user_id = u.id ORDER BY 1) END,
           CASE WHEN NOT u.all_brands THEN ARRAY(
               SELECT b.name FROM user_brands ub JOIN brands b ON b.id = ub.brand_id
               WHERE ub.user_id = u.id ORDER BY 1) END,
           u.password_hash
    FROM users u
    WHERE CASE WHEN by_email THEN lower(u.email) = lower(login) ELSE u.name = login END
$$;
REVOKE ALL ON FUNCTION back_office_account(text, boolean) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        -- Migration 002's default privileges would let the reader list users and hashes.
        REVOKE ALL ON users, user_brands FROM callbacks_reader;
        GRANT EXECUTE ON FUNCTION back_office_account(text, boolean) TO callbacks_reader;
    END IF;
END $$;

-- Brand isolation in the database. Every role but the owner (which the delivery engine, the
-- API and the CLI use) sees only the rows of the brands named by the setting callbacks.brands,
-- which the dashboard sets in each transaction from the signed-in user:
--   SELECT set_config('callbacks.brands', '3,7', true)   -- brands 3 and 7
--   SELECT set_config('callbacks.brands', '*', true)     -- every brand
-- Without the setting (or with '') nothing is visible. The setting is read once per query
-- (the scalar subqueries become init plans), so brand_id = ANY (...) can use indexes.
CREATE FUNCTION back_office_all_brands() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('callbacks.brands', true) = '*', false)
$$;

CREATE FUNCTION back_office_brand_ids() RETURNS integer[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CAST(string_to_array(nullif(nullif(current_setting('callbacks.brands', true), ''),
                                       '*'), ',') AS integer[])
$$;

ALTER TABLE brands ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON brands FOR SELECT TO PUBLIC
    USING ((SELECT back_office_all_brands())
           OR id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])));

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['bets', 'callbacks', 'attempts', 'attempt_rollup_hourly',
                             'attempt_latency_hourly', 'integration_runs',
                             'brand_test_urls'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY back_office_brands ON %I FOR SELECT TO PUBLIC USING ('
                       '(SELECT back_office_all_brands()) '
                       'OR brand_id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])))',
                       t);
    END LOOP;
END $$;

-- A run's cases and steps are visible with their run.
ALTER TABLE integration_cases ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON integration_cases FOR SELECT TO PUBLIC
    USING (EXISTS (SELECT FROM integration_runs r WHERE r.id = run_id));
ALTER TABLE integration_steps ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON integration_steps FOR SELECT TO PUBLIC
    USING (EXISTS (SELECT FROM integration_runs r WHERE r.id = run_id));

-- Policies of a partitioned table apply to queries through it, not to its partitions read
-- directly: no one but the owner reads partitions of attempts (today's or those made later).
CREATE OR REPLACE FUNCTION ensure_attempt_partitions(first_month date, months integer)
RETURNS integer
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION attempt_partitions_private() RETURNS void
LANGUAGE plpgsql AS $$
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
END $$;

SELECT attempt_partitions_private();

-- The Integration Test page writes its runs as callbacks_battery, a role that can record a run
-- of the brand named by callbacks.brands and nothing else: the run row (then its outcome, while
-- it is running), its cases and steps, and the battery's own traffic — bets whose ids the
-- battery makes (it01-...), callbacks and attempts of origin integration_test. It reads the
-- brand (with its signing secret, to sign what it sends) and the brand's test URLs. Where the
-- migrating user may not create roles, an administrator creates it:
--   CREATE ROLE callbacks_battery LOGIN PASSWORD '...';  then run `callbacks db upgrade` again
-- (or point DASHBOARD_BATTERY_DATABASE_URL at it with its password).
DO $$
DECLARE
    visible constant text := '((SELECT back_office_all_brands()) OR brand_id = ANY '
                             '(CAST((SELECT back_office_brand_ids()) AS integer[])))';
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        GRANT SELECT ON brand_test_urls TO callbacks_reader;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_battery') THEN
        BEGIN
            CREATE ROLE callbacks_battery LOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'cannot create role callbacks_battery (no CREATEROLE); the '
                    'Integration Test page needs it to record runs: ask an administrator to '
                    'run CREATE ROLE callbacks_battery LOGIN PASSWORD ''...'', then run '
                    '`callbacks db upgrade` again';
        END;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_battery') THEN
        RETURN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO callbacks_battery', current_database());
    GRANT USAGE ON SCHEMA public TO callbacks_battery;
    GRANT SELECT ON brands, brand_test_urls TO callbacks_battery;
    GRANT SELECT, INSERT ON integration_runs TO callbacks_battery;
    GRANT UPDATE (status, reason, cases_passed, cases_failed, preflight, finished_at,
                  duration_ms) ON integration_runs TO callbacks_battery;
    GRANT INSERT ON integration_cases, integration_steps TO callbacks_battery;
    GRANT SELECT, INSERT, UPDATE (status, restrictions, updated_at) ON bets
        TO callbacks_battery;
    GRANT SELECT (id, request_id, brand_id, bet_id, destination, origin, state, attempts,
                  last_status, last_error, created_at, finished_at),
          INSERT (request_id, brand_id, bet_id, destination, payload, foreign_params, origin,
                  state, attempts, last_status, last_error, created_at, finished_at),
          UPDATE (attempts, state, last_status, last_error, finished_at)
        ON callbacks TO callbacks_battery;
    GRANT INSERT ON attempts TO callbacks_battery;
    GRANT USAGE ON SEQUENCE integration_runs_id_seq, callbacks_id_seq TO callbacks_battery;

    -- Its runs: new ones of the brand in hand, and their outcome while they run.
    EXECUTE 'CREATE POLICY battery_start ON integration_runs FOR INSERT TO callbacks_battery '
            'WITH CHECK (status = ''running'' AND source = ''dashboard'' AND ' || visible || ')';
    EXECUTE 'CREATE POLICY battery_finish ON integration_runs FOR UPDATE TO callbacks_battery '
            'USING (status = ''running'' AND ' || visible || ') WITH CHECK (' || visible || ')';
    CREATE POLICY battery_cases ON integration_cases FOR INSERT TO callbacks_battery
        WITH CHECK (EXISTS (SELECT FROM integration_runs r
                            WHERE r.id = run_id AND r.status = 'running'));
    CREATE POLICY battery_steps ON integration_steps FOR INSERT TO callbacks_battery
        WITH CHECK (EXISTS (SELECT FROM integration_runs r
                            WHERE r.id = run_id AND r.status = 'running'));
    -- Its traffic only: restrictive policies, so nothing else it may read or write widens them.
    CREATE POLICY battery_bets_only ON bets AS RESTRICTIVE FOR ALL TO callbacks_battery
        USING (bet_id ~ '^it[0-9]{2}-') WITH CHECK (bet_id ~ '^it[0-9]{2}-');
    CREATE POLICY battery_callbacks_only ON callbacks AS RESTRICTIVE FOR ALL
        TO callbacks_battery
        USING (origin = 'integration_test') WITH CHECK (origin = 'integration_test');
    CREATE POLICY battery_attempts_only ON attempts AS RESTRICTIVE FOR ALL TO callbacks_battery
        USING (origin = 'integration_test') WITH CHECK (origin = 'integration_test');
    EXECUTE 'CREATE POLICY battery_bets_add ON bets FOR INSERT TO callbacks_battery '
            'WITH CHECK (' || visible || ')';
    EXECUTE 'CREATE POLICY battery_bets_change ON bets FOR UPDATE TO callbacks_battery '
            'USING (' || visible || ') WITH CHECK (' || visible || ')';
    EXECUTE 'CREATE POLICY battery_callbacks_add ON callbacks FOR INSERT '
            'TO callbacks_battery WITH CHECK (' || visible || ')';
    EXECUTE 'CREATE POLICY battery_callbacks_change ON callbacks FOR UPDATE '
            'TO callbacks_battery USING (' || visible || ') WITH CHECK (' || visible || ')';
    EXECUTE 'CREATE POLICY battery_attempts_add ON attempts FOR INSERT '
            'TO callbacks_battery WITH CHECK (' || visible || ')';
END $$;
