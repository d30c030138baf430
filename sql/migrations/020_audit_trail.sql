-- One audit trail for configuration changes (`callbacks brand add|set`, `user add|passwd|remove`,
-- `brand test-url add|remove`, `alert url|rule ...`, and whatever else records through
-- delivery/audit.py): who, the OS user always, when, what, the subject, before → after (never a
-- secret: delivery/changes.py masks them before a row is written) and the reason. The queue
-- actions keep their own trail (migration 009); `callbacks audit` and the Actions page list
-- both.

CREATE TABLE config_changes (
    id          bigserial PRIMARY KEY,
    -- 'brand.add', 'user.passwd', 'alert_rule.set', 'api_token.create', ...
    kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z_]*\.[a-z][a-z_]*$'),
    -- the back-office user named with --as, or the OS user
    actor       text NOT NULL CHECK (length(btrim(actor)) > 0),
    -- the OS account the command ran as (read from the process's user id, not $USER)
    os_user     text NOT NULL CHECK (length(btrim(os_user)) > 0),
    source      text NOT NULL CHECK (source IN ('cli', 'dashboard')),
    -- the brand changed; NULL for changes of no one brand (users, alert URLs, default rules)
    brand_id    integer REFERENCES brands (id),
    subject     text NOT NULL,
    before      jsonb,
    after       jsonb,
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX config_changes_created ON config_changes (created_at DESC, id DESC);
CREATE INDEX config_changes_brand_created ON config_changes (brand_id, created_at DESC, id DESC);

-- Append-only like the actions (migration 009's trigger function).
CREATE TRIGGER config_changes_append_only BEFORE UPDATE OR DELETE ON config_changes
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
REVOKE UPDATE, DELETE, TRUNCATE ON config_changes FROM PUBLIC;

-- A queue action run with --as records the OS user beside it (NULL: from the back-office, or
-- taken before this migration).
ALTER TABLE actions ADD COLUMN os_user text;

-- The back-office reads the trail as callbacks_reader, through row-level security: a brand's
-- changes are seen by that brand's users; changes of no one brand only with every brand.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        GRANT SELECT ON config_changes TO callbacks_reader;
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON config_changes FROM callbacks_reader;
    END IF;
END $$;
ALTER TABLE config_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON config_changes FOR SELECT TO PUBLIC
    USING ((SELECT back_office_all_brands())
           OR brand_id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])));
