-- Reconciliations people ran (`callbacks reconcile`, the back-office Reconcile page), kept with
-- who ran them: what was compared, the summary per verdict and currency, and the bets that did
-- not match. The ledger itself is kept only when the person asked for it.

CREATE TABLE reconciliations (
    id           bigserial PRIMARY KEY,
    brand_id     integer NOT NULL REFERENCES brands (id),
    run_by       text NOT NULL CHECK (length(btrim(run_by)) > 0),
    source       text NOT NULL CHECK (source IN ('cli', 'dashboard')),
    run_at       timestamptz NOT NULL DEFAULT now(),
    ledger_name  text NOT NULL,
    ledger_kind  text NOT NULL,
    ledger_rows  bigint NOT NULL CHECK (ledger_rows >= 0),
    by_request   boolean NOT NULL,
    since        timestamptz,
    until        timestamptz,
    bets         bigint NOT NULL CHECK (bets >= 0),
    callbacks    bigint NOT NULL CHECK (callbacks >= 0),
    all_match    boolean NOT NULL,
    summary      jsonb NOT NULL,            -- Summary.rows(): verdict, currency, bets, amounts
    left_out     bigint NOT NULL DEFAULT 0 CHECK (left_out >= 0),
    seconds      double precision NOT NULL CHECK (seconds >= 0),
    ledger_file  bytea                      -- only when the person asked to keep it
);
CREATE INDEX reconciliations_brand_run_at ON reconciliations (brand_id, run_at DESC, id DESC);

-- The bets of a reconciliation that did not match, as its report kept them.
CREATE TABLE reconciliation_bets (
    reconciliation_id bigint NOT NULL REFERENCES reconciliations (id) ON DELETE CASCADE,
    bet_id        text NOT NULL,
    verdict       text NOT NULL,
    currency      text NOT NULL DEFAULT '',
    expected      numeric NOT NULL,
    booked        numeric NOT NULL,
    difference    numeric NOT NULL,
    player_id     text NOT NULL DEFAULT '',
    request_ids   text NOT NULL DEFAULT '',
    attempt_ids   text NOT NULL DEFAULT '',
    detail        text NOT NULL DEFAULT '',
    PRIMARY KEY (reconciliation_id, bet_id)
);

-- A brand's reconciliations are seen by that brand's back-office users only (migration 022).
ALTER TABLE reconciliations ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON reconciliations FOR SELECT TO PUBLIC
    USING ((SELECT back_office_all_brands())
           OR brand_id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])));
ALTER TABLE reconciliation_bets ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON reconciliation_bets FOR SELECT TO PUBLIC
    USING (EXISTS (SELECT FROM reconciliations r WHERE r.id = reconciliation_id));
REVOKE UPDATE, DELETE, TRUNCATE ON reconciliations, reconciliation_bets FROM PUBLIC;

-- The back-office reads them as callbacks_reader (migration 002's default privileges grant
-- SELECT; it never changes them).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        GRANT SELECT ON reconciliations, reconciliation_bets TO callbacks_reader;
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON reconciliations, reconciliation_bets
            FROM callbacks_reader;
    END IF;
END $$;

-- The Reconcile page records a reconciliation as callbacks_reconciler, a role that may add a
-- reconciliation (and its bets) of a brand in its verified scope and nothing else: it reads no
-- callbacks, secrets or accounts, and changes nothing already recorded. Where the migrating user
-- may not create roles, an administrator creates it:
--   CREATE ROLE callbacks_reconciler LOGIN PASSWORD '...';  then run `callbacks db upgrade`
-- again (or point DASHBOARD_RECONCILER_DATABASE_URL at it with its password).
DO $$
DECLARE
    visible constant text := '((SELECT back_office_all_brands()) OR brand_id = ANY '
                             '(CAST((SELECT back_office_brand_ids()) AS integer[])))';
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reconciler') THEN
        BEGIN
            CREATE ROLE callbacks_reconciler LOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'cannot create role callbacks_reconciler (no CREATEROLE); the '
                    'Reconcile page needs it to record reconciliations: ask an administrator '
                    'to run CREATE ROLE callbacks_reconciler LOGIN PASSWORD ''...'', then run '
                    '`callbacks db upgrade` again';
        END;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reconciler') THEN
        RETURN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO callbacks_reconciler', current_database());
    GRANT USAGE ON SCHEMA public TO callbacks_reconciler;
    -- SELECT: INSERT ... RETURNING id, and the bets' check that their reconciliation is visible.
    GRANT SELECT (id, brand_id) ON reconciliations TO callbacks_reconciler;
    GRANT INSERT ON reconciliations, reconciliation_bets TO callbacks_reconciler;
    GRANT USAGE ON SEQUENCE reconciliations_id_seq TO callbacks_reconciler;
    EXECUTE 'CREATE POLICY reconciler_add ON reconciliations FOR INSERT '
            'TO callbacks_reconciler WITH CHECK (source = ''dashboard'' AND ' || visible || ')';
    CREATE POLICY reconciler_add ON reconciliation_bets FOR INSERT TO callbacks_reconciler
        WITH CHECK (EXISTS (SELECT FROM reconciliations r WHERE r.id = reconciliation_id));
END $$;

-- What is the owner's alone stays so for the new role too (migration 016's helper, which later
-- migrations call, now names it).
CREATE OR REPLACE FUNCTION callbacks_owner_only(object text) RETURNS void
LANGUAGE plpgsql AS $$
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
END $$;
REVOKE ALL ON FUNCTION callbacks_owner_only(text) FROM PUBLIC;
