-- Alerts that do not flap. A brand hovering around a threshold used to fire and resolve every
-- few minutes, each a notification. Now (alerts/rules.py decides):
-- - a rule resolves only at or below resolve_below (NULL: 80 % of its threshold), once its
--   figure has stayed there for quiet_s (NULL: 5 minutes);
-- - a failure rate is judged over at least min_attempts finished attempts (NULL: 20);
-- - a rule that fired 3 times within an hour is flapping: one "flapping" notification, then
--   none until it settles. alert_flapping holds the rules flapping now; every event records
--   whether it was a flapping rule's and whether it was notified.
ALTER TABLE alert_rules
    ADD COLUMN resolve_below numeric CHECK (resolve_below IS NULL OR resolve_below >= 0),
    ADD COLUMN quiet_s integer CHECK (quiet_s IS NULL OR quiet_s >= 0),
    ADD COLUMN min_attempts integer CHECK (min_attempts IS NULL OR min_attempts >= 1),
    ADD CONSTRAINT alert_rules_resolve_below_threshold
        CHECK (resolve_below IS NULL OR resolve_below <= threshold);

-- Firing, and its figure at or below the resolve threshold since (NULL: above it).
ALTER TABLE alert_firing ADD COLUMN clear_since timestamptz;

ALTER TABLE alert_events
    ADD COLUMN flapping boolean NOT NULL DEFAULT false,
    ADD COLUMN notified boolean NOT NULL DEFAULT true;
-- Recent fires of a brand's rule, counted at every evaluation.
CREATE INDEX alert_events_fires ON alert_events (brand_id, kind, at) WHERE status = 'firing';

CREATE TABLE alert_flapping (
    brand_id integer NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    kind     text NOT NULL,
    since    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, kind)
);
ALTER TABLE alert_flapping ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON alert_flapping FOR SELECT TO PUBLIC
    USING ((SELECT back_office_all_brands())
           OR brand_id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])));
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        GRANT SELECT ON alert_flapping TO callbacks_reader;
    END IF;
END $$;
