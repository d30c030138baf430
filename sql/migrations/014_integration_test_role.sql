-- The Integration Test page made safe: it runs only against a brand's registered URL or URLs an
-- administrator registered for that brand, and it writes its runs through a role that can
-- record a run and nothing else.

-- URLs besides the brand's own that the Integration Test page may run against, registered by
-- an administrator (`callbacks brand test-url add BRAND URL`): a staging platform, say. The
-- page offers these and the brand's base_url, never a typed one.
CREATE TABLE brand_test_urls (
    brand_id   integer NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    url        text NOT NULL CHECK (url ~ '^https?://[^\s]+$'),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, url)
);

ALTER TABLE brand_test_urls ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON brand_test_urls FOR SELECT TO PUBLIC USING (
    (SELECT back_office_all_brands())
    OR brand_id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])));

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
