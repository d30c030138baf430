-- The integration manager's actions (`callbacks retry|recover|cancel|brand set-url`, and the
-- same actions in the back-office): an append-only audit trail, the link from a callback and
-- its attempts to the action that sent them again, and a role allowed to perform them.

-- One row per action taken: who, when, what, why, and how many callbacks it changed.
CREATE TABLE actions (
    id          bigserial PRIMARY KEY,
    brand_id    integer NOT NULL REFERENCES brands (id),
    kind        text NOT NULL CHECK (kind IN ('retry', 'recover', 'cancel', 'set_url')),
    actor       text NOT NULL CHECK (length(btrim(actor)) > 0),
    reason      text NOT NULL CHECK (length(btrim(reason)) > 0),
    source      text NOT NULL CHECK (source IN ('cli', 'dashboard')),
    bet_id      text,                 -- retry and cancel: the bet acted on
    parameters  jsonb NOT NULL DEFAULT '{}',  -- the command's options (since, destination, URLs)
    callbacks   integer NOT NULL CHECK (callbacks >= 0),
    bets        integer NOT NULL CHECK (bets >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX actions_brand_created ON actions (brand_id, created_at DESC, id DESC);
CREATE INDEX actions_created ON actions (created_at DESC, id DESC);

-- Every callback an action changed, with its state before and after: what Investigate lists
-- under "actions taken on this bet", recover's included.
CREATE TABLE action_callbacks (
    action_id    bigint NOT NULL REFERENCES actions (id),
    callback_id  bigint NOT NULL,
    bet_id       text NOT NULL,
    state_before text NOT NULL,
    state_after  text NOT NULL,
    PRIMARY KEY (action_id, callback_id)
);
CREATE INDEX action_callbacks_bet ON action_callbacks (bet_id, action_id);

-- The audit trail is never rewritten: no role but the owner may try, and the owner is refused
-- too (TRUNCATE stays the owner's, for throw-away databases).
CREATE FUNCTION refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the action audit trail (%) is append-only: rows are never updated or '
                    'deleted', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER actions_append_only BEFORE UPDATE OR DELETE ON actions
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER action_callbacks_append_only BEFORE UPDATE OR DELETE ON action_callbacks
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
REVOKE UPDATE, DELETE, TRUNCATE ON actions, action_callbacks FROM PUBLIC;

-- A callback sent again by an action carries the action until its next attempt is written;
-- that attempt carries it for good ("manual retry by <who>: <reason>" in every history view).
ALTER TABLE callbacks ADD COLUMN manual_action_id bigint;
ALTER TABLE attempts ADD COLUMN action_id bigint;

-- `callbacks recover` finds a brand's exhausted callbacks since a time without walking the
-- delivered millions.
CREATE INDEX callbacks_exhausted_created ON callbacks (brand_id, created_at)
    WHERE state = 'exhausted';

-- The back-office reads the trail (migration 002's default privileges cover new tables; the
-- callbacks table is granted column by column).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        GRANT SELECT ON actions, action_callbacks TO callbacks_reader;
        REVOKE UPDATE, DELETE, TRUNCATE ON actions, action_callbacks FROM callbacks_reader;
        GRANT SELECT (manual_action_id) ON callbacks TO callbacks_reader;
    END IF;
END $$;

-- The role the back-office performs actions as (integration managers and admins): it reads what
-- an action decides on, changes only the queue columns an action changes and a brand's URL, and
-- appends to the audit trail. Created like callbacks_reader; an administrator may create it
-- instead: CREATE ROLE callbacks_operator LOGIN PASSWORD '...'; then `callbacks db upgrade`.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_operator') THEN
        BEGIN
            CREATE ROLE callbacks_operator LOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'cannot create role callbacks_operator (no CREATEROLE); the '
                    'back-office actions need it: ask an administrator to run CREATE ROLE '
                    'callbacks_operator LOGIN PASSWORD ''...'' and `callbacks db upgrade` again';
        END;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_operator') THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO callbacks_operator', current_database());
        GRANT USAGE ON SCHEMA public TO callbacks_operator;
        GRANT SELECT (id, name, base_url, retry_schedule_s, timeout_s, max_in_flight,
                      created_at, updated_at) ON brands TO callbacks_operator;
        GRANT UPDATE (base_url, updated_at) ON brands TO callbacks_operator;
        -- SELECT ... FOR UPDATE on a bet (the group's lock) needs an UPDATE grant on the row.
        GRANT SELECT (bet_id, brand_id, status) ON bets TO callbacks_operator;
        GRANT UPDATE (updated_at) ON bets TO callbacks_operator;
        GRANT SELECT (id, request_id, brand_id, bet_id, destination, state, attempts,
                      next_attempt_at, lease_expires_at, last_status, last_error, created_at,
                      finished_at, manual_action_id) ON callbacks TO callbacks_operator;
        GRANT UPDATE (state, next_attempt_at, last_error, finished_at, manual_action_id)
            ON callbacks TO callbacks_operator;
        GRANT SELECT, INSERT ON actions, action_callbacks TO callbacks_operator;
        GRANT USAGE ON SEQUENCE actions_id_seq TO callbacks_operator;
    END IF;
END $$;

-- Row-level security (migration 007): a brand's actions are seen by that brand's back-office
-- users only, and the back-office acts only on the brands its signed-in user has (the
-- callbacks_operator engine names them in callbacks.brands, as the reader's does).
ALTER TABLE actions ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON actions FOR SELECT TO PUBLIC
    USING ((SELECT back_office_all_brands())
           OR brand_id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])));
ALTER TABLE action_callbacks ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON action_callbacks FOR SELECT TO PUBLIC
    USING (EXISTS (SELECT FROM actions a WHERE a.id = action_id));

DO $$
DECLARE
    visible text := '(SELECT back_office_all_brands()) '
                    'OR %I = ANY (CAST((SELECT back_office_brand_ids()) AS integer[]))';
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_operator') THEN
        EXECUTE format('CREATE POLICY back_office_act ON brands FOR UPDATE TO '
                       'callbacks_operator USING (' || visible || ') WITH CHECK (' || visible
                       || ')', 'id', 'id');
        EXECUTE format('CREATE POLICY back_office_act ON bets FOR UPDATE TO '
                       'callbacks_operator USING (' || visible || ') WITH CHECK (' || visible
                       || ')', 'brand_id', 'brand_id');
        EXECUTE format('CREATE POLICY back_office_act ON callbacks FOR UPDATE TO '
                       'callbacks_operator USING (' || visible || ') WITH CHECK (' || visible
                       || ')', 'brand_id', 'brand_id');
        EXECUTE format('CREATE POLICY back_office_act ON actions FOR INSERT TO '
                       'callbacks_operator WITH CHECK (' || visible || ')', 'brand_id');
        CREATE POLICY back_office_act ON action_callbacks FOR INSERT TO callbacks_operator
            WITH CHECK (EXISTS (SELECT FROM actions a WHERE a.id = action_id));
    END IF;
END $$;
