-- Brand health (the back-office's Health page) and alerts (rules per brand, notification URLs,
-- what fired and when, and every notification request sent).

-- The currency a brand's platform keeps its wallets in. Money at risk is added up per currency,
-- never across currencies: a callback's own `bet_currency` (or `currency`) wins, then its bet's
-- /bet/place, then this; when none says, the amount is shown as of an unnamed currency.
ALTER TABLE brands ADD COLUMN currency text
    CHECK (currency IS NULL OR currency ~ '^[A-Za-z0-9]{1,12}$');

-- Money at risk reads every exhausted callback of a brand (the player is owed its amount
-- until someone sends it again); exhaustions per window read them by time.
CREATE INDEX callbacks_exhausted ON callbacks (brand_id, finished_at) WHERE state = 'exhausted';

-- One rule per brand and kind; brand_id NULL is the default every brand without its own row
-- follows (and when no default row exists either, the built-in defaults in alerts/rules.py).
--   failure_rate    threshold: percent of finished attempts that failed, over window_s
--   oldest_pending  threshold: seconds the oldest undelivered callback has waited
--   exhausted       threshold: exhausted callbacks over window_s (fires above it; 0 = any)
--   money_at_risk   threshold: amount in any one currency
CREATE TABLE alert_rules (
    id         serial PRIMARY KEY,
    brand_id   integer REFERENCES brands (id) ON DELETE CASCADE,
    kind       text NOT NULL
               CHECK (kind IN ('failure_rate', 'oldest_pending', 'exhausted', 'money_at_risk')),
    threshold  numeric NOT NULL CHECK (threshold >= 0),
    window_s   integer CHECK (window_s IS NULL OR window_s > 0),
    enabled    boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alert_rules_brand_kind ON alert_rules (coalesce(brand_id, 0), kind);

-- Where notifications go: Slack-compatible incoming webhooks or any JSON receiver.
CREATE TABLE alert_urls (
    id         serial PRIMARY KEY,
    url        text NOT NULL UNIQUE CHECK (url ~ '^https?://'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- What is firing now: one row per brand and kind while the rule stays broken. A rule that
-- stays firing sends nothing more; its resolution removes the row.
CREATE TABLE alert_firing (
    brand_id   integer NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    event_id   bigint NOT NULL,
    since      timestamptz NOT NULL,
    PRIMARY KEY (brand_id, kind)
);

-- Alert history: every time a rule started firing and every time it resolved.
CREATE TABLE alert_events (
    id         bigserial PRIMARY KEY,
    brand_id   integer NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    status     text NOT NULL CHECK (status IN ('firing', 'resolved')),
    value      text NOT NULL,
    threshold  text NOT NULL,
    message    text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_events_at ON alert_events (at DESC, id DESC);
CREATE INDEX alert_events_brand_at ON alert_events (brand_id, at DESC, id DESC);

-- The outbox: one row per event and URL, written in the evaluation's transaction, then sent
-- with retries. state: pending (due at next_attempt_at), sending (leased), delivered, failed
-- (every retry used).
CREATE TABLE alert_notifications (
    id               bigserial PRIMARY KEY,
    event_id         bigint NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
    url              text NOT NULL,
    body             jsonb NOT NULL,
    state            text NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    lease_expires_at timestamptz,
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX alert_notifications_due ON alert_notifications (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX alert_notifications_leases ON alert_notifications (lease_expires_at)
    WHERE state = 'sending';
CREATE INDEX alert_notifications_event ON alert_notifications (event_id);

-- One row per notification request.
CREATE TABLE alert_notification_attempts (
    id              bigserial PRIMARY KEY,
    notification_id bigint NOT NULL REFERENCES alert_notifications (id) ON DELETE CASCADE,
    attempt_no      integer NOT NULL,
    started_at      timestamptz NOT NULL,
    duration_ms     double precision NOT NULL,
    response_status integer,
    error           text
);
CREATE INDEX alert_notification_attempts_notification
    ON alert_notification_attempts (notification_id, attempt_no);

-- The back-office's read-only role reads the new column and tables (migration 002 made later
-- tables readable), but not the notification URLs: an incoming-webhook URL is a secret.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        GRANT SELECT (currency) ON brands TO callbacks_reader;
        GRANT SELECT ON alert_rules, alert_firing, alert_events, alert_notification_attempts
            TO callbacks_reader;
        REVOKE ALL ON alert_urls FROM callbacks_reader;
        GRANT SELECT (id, created_at) ON alert_urls TO callbacks_reader;
        REVOKE ALL ON alert_notifications FROM callbacks_reader;
        GRANT SELECT (id, event_id, state, attempts, next_attempt_at, last_status, last_error,
                      created_at, finished_at) ON alert_notifications TO callbacks_reader;
    END IF;
END $$;

-- Brand isolation (migration 007): a back-office user sees the alerts of their brands only;
-- the default rules (brand_id NULL) belong to every brand.
ALTER TABLE alert_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON alert_rules FOR SELECT TO PUBLIC
    USING (brand_id IS NULL OR (SELECT back_office_all_brands())
           OR brand_id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])));
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['alert_firing', 'alert_events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY back_office_brands ON %I FOR SELECT TO PUBLIC USING ('
                       '(SELECT back_office_all_brands()) '
                       'OR brand_id = ANY (CAST((SELECT back_office_brand_ids()) AS integer[])))',
                       t);
    END LOOP;
END $$;
-- A notification and its attempts are visible with their event.
ALTER TABLE alert_notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON alert_notifications FOR SELECT TO PUBLIC
    USING (EXISTS (SELECT FROM alert_events e WHERE e.id = event_id));
ALTER TABLE alert_notification_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY back_office_brands ON alert_notification_attempts FOR SELECT TO PUBLIC
    USING (EXISTS (SELECT FROM alert_notifications n WHERE n.id = notification_id));
