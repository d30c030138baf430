-- Integration battery runs (SPEC §6): a run, its 20 cases, and every step sent and answered.
-- A run keeps its own copy of each request and answer: attempt partitions are archived after
-- retention, and old runs must stay loadable for before/after comparisons. The battery's
-- callbacks and attempts themselves live in callbacks/attempts with origin 'integration_test'.

CREATE TABLE integration_runs (
    id            bigserial PRIMARY KEY,
    brand_id      integer NOT NULL REFERENCES brands (id),
    base_url      text NOT NULL,
    triggered_by  text NOT NULL,
    source        text NOT NULL CHECK (source IN ('dashboard', 'cli')),
    status        text NOT NULL CHECK (status IN ('running', 'success', 'failed', 'cancelled')),
    reason        text,
    timeout_s     double precision NOT NULL,
    cases_total   integer NOT NULL,
    cases_passed  integer NOT NULL DEFAULT 0,
    cases_failed  integer NOT NULL DEFAULT 0,
    preflight     jsonb,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    duration_ms   double precision
);
CREATE INDEX integration_runs_brand ON integration_runs (brand_id, started_at DESC, id DESC);

-- status: success, failed, or cancelled (not run because the pipeline was cancelled).
CREATE TABLE integration_cases (
    run_id        bigint NOT NULL REFERENCES integration_runs (id) ON DELETE CASCADE,
    number        smallint NOT NULL,
    case_group    text NOT NULL,
    name          text NOT NULL,
    checks        text NOT NULL,
    status        text NOT NULL CHECK (status IN ('success', 'failed', 'cancelled')),
    steps_planned smallint NOT NULL,
    failed_step   smallint,
    message       text,
    duration_ms   double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, number)
);

-- One row per request of a case. passed is NULL for cleanup steps (sent, not judged).
-- attempt_id is the Request ID of the attempt history; callback_id its callbacks row.
CREATE TABLE integration_steps (
    run_id        bigint NOT NULL,
    case_number   smallint NOT NULL,
    position      smallint NOT NULL,
    label         text NOT NULL,
    destination   text NOT NULL,
    bet_id        text NOT NULL,
    request_id    text NOT NULL,
    attempt_id    uuid,
    callback_id   bigint,
    expected      text NOT NULL,
    passed        boolean,
    cleanup       boolean NOT NULL DEFAULT false,
    message       text,
    request       jsonb NOT NULL,
    response      jsonb NOT NULL,
    PRIMARY KEY (run_id, case_number, position),
    FOREIGN KEY (run_id, case_number) REFERENCES integration_cases (run_id, number)
        ON DELETE CASCADE
);

-- Whoever may read the attempt history (the dashboard's read-only role) may read runs too.
DO $$
DECLARE
    reader text;
BEGIN
    FOR reader IN
        SELECT DISTINCT a.grantee::regrole::text
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = 'attempts'::regclass AND a.privilege_type = 'SELECT'
          AND a.grantee <> 0 AND a.grantee <> c.relowner
    LOOP
        EXECUTE 'GRANT SELECT ON integration_runs, integration_cases, integration_steps TO '
                || reader;
    END LOOP;
END $$;
