-- Who may use the back-office, and what each of them sees.
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
                             'attempt_latency_hourly', 'integration_runs'] LOOP
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
