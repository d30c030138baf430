-- Named queries of alerts (alerts/store.py). Parameters are :named.

-- name: rules
-- Every alert rule, defaults (no brand) first, then by brand and kind.
SELECT r.brand_id, b.name AS brand, r.kind, r.threshold, r.window_s, r.enabled,
       r.resolve_below, r.quiet_s, r.min_attempts, r.updated_at
FROM alert_rules r LEFT JOIN brands b ON b.id = r.brand_id
ORDER BY b.name NULLS FIRST, r.kind;

-- name: upsert_rule
-- Set an alert rule of a brand (or the default) of a kind, creating or replacing it.
INSERT INTO alert_rules (brand_id, kind, threshold, window_s, enabled, resolve_below, quiet_s,
                         min_attempts)
VALUES (:brand_id, :kind, :threshold, :window_s, :enabled, :resolve_below, :quiet_s,
        :min_attempts)
ON CONFLICT (coalesce(brand_id, 0), kind) DO UPDATE SET
    threshold = EXCLUDED.threshold, window_s = EXCLUDED.window_s, enabled = EXCLUDED.enabled,
    resolve_below = EXCLUDED.resolve_below, quiet_s = EXCLUDED.quiet_s,
    min_attempts = EXCLUDED.min_attempts, updated_at = now();

-- name: delete_rule
-- Remove a brand's (or the default) alert rule of a kind.
DELETE FROM alert_rules
WHERE coalesce(brand_id, 0) = coalesce(CAST(:brand_id AS integer), 0) AND kind = :kind;

-- name: own_rule
-- A brand's own rule of a kind (or the default's), locked: what the audit trail shows before.
SELECT r.threshold, r.window_s, r.enabled, r.resolve_below, r.quiet_s, r.min_attempts,
       b.name AS brand
FROM alert_rules r LEFT JOIN brands b ON b.id = r.brand_id
WHERE coalesce(r.brand_id, 0) = coalesce(CAST(:brand_id AS integer), 0) AND r.kind = :kind
FOR UPDATE OF r;

-- name: brand_name
-- A brand's name by id.
SELECT name FROM brands WHERE id = :brand_id;

-- name: urls
-- Every alert URL, oldest first.
SELECT id, url, created_at FROM alert_urls ORDER BY id;

-- name: add_url
-- Register an alert URL; no row when it is registered already.
INSERT INTO alert_urls (url) VALUES (:url)
ON CONFLICT (url) DO NOTHING
RETURNING id;

-- name: remove_url
-- Remove an alert URL given as the URL or its id; the row removed, or none.
DELETE FROM alert_urls WHERE url = :url OR CAST(id AS text) = :url RETURNING id, url;

-- name: brand_ids
-- Every brand's id and name, by name.
SELECT id, name FROM brands ORDER BY name;

-- name: firing
-- The alerts firing now: brand, kind, the event that started it, since when, and since when
-- its figure has been at or below the resolve threshold.
SELECT f.brand_id, f.kind, f.event_id, f.since, f.clear_since FROM alert_firing f;

-- name: flapping
-- The brands' rules flapping now.
SELECT brand_id, kind FROM alert_flapping;

-- name: recent_fires
-- How many times each brand's rule started firing within the last :window_s seconds.
SELECT brand_id, kind, count(*) AS fires
FROM alert_events
WHERE status = 'firing' AND at > now() - make_interval(secs => :window_s)
GROUP BY brand_id, kind;

-- name: set_clear_since
-- Remember since when a firing rule's figure has been at or below its resolve threshold.
UPDATE alert_firing SET clear_since = :clear_since WHERE brand_id = :brand_id AND kind = :kind;

-- name: start_flapping
-- Mark a brand's rule as flapping (its "flapping" notification went out).
INSERT INTO alert_flapping (brand_id, kind) VALUES (:brand_id, :kind)
ON CONFLICT DO NOTHING;

-- name: stop_flapping
-- A brand's rule settled: no longer flapping.
DELETE FROM alert_flapping WHERE brand_id = :brand_id AND kind = :kind;

-- name: insert_event
-- Record an alert event (firing or resolved); its id and time.
INSERT INTO alert_events (brand_id, kind, status, value, threshold, message, details,
                          flapping, notified)
VALUES (:brand_id, :kind, :status, :value, :threshold, :message, CAST(:details AS jsonb),
        :flapping, :notified)
RETURNING id, at;

-- name: start_firing
-- Mark an alert of a brand and kind as firing since an event.
INSERT INTO alert_firing (brand_id, kind, event_id, since) VALUES (:brand_id, :kind, :event_id, :at);

-- name: stop_firing
-- Mark an alert of a brand and kind as no longer firing.
DELETE FROM alert_firing WHERE brand_id = :brand_id AND kind = :kind;

-- name: insert_notification
-- Queue the notification of an event to one alert URL, due now.
INSERT INTO alert_notifications (event_id, url, body, state, next_attempt_at)
VALUES (:event_id, :url, CAST(:body AS jsonb), 'pending', now());

-- name: claim_notifications
-- Due notifications, and those whose sender stopped mid-request (lease run out), oldest
-- first; each is leased so that two senders never post the same one at once.
WITH due AS (
    SELECT id FROM alert_notifications
    WHERE (state = 'pending' AND next_attempt_at <= now())
       OR (state = 'sending' AND lease_expires_at < now())
    ORDER BY next_attempt_at, id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE alert_notifications n
SET state = 'sending', lease_expires_at = now() + make_interval(secs => :lease_s)
FROM due WHERE n.id = due.id
RETURNING n.id, n.event_id, n.url, n.body, n.attempts;

-- name: insert_notification_attempt
-- Record one attempt to deliver a notification.
INSERT INTO alert_notification_attempts (notification_id, attempt_no, started_at, duration_ms,
                                         response_status, error)
VALUES (:id, :attempt_no, :started_at, :duration_ms, :response_status, :error);

-- name: finish_notification
-- Record a notification attempt's outcome: its state, next try, and release its lease.
UPDATE alert_notifications
SET state = :state, attempts = :attempt_no, last_status = :response_status, last_error = :error,
    next_attempt_at = :next_attempt_at, lease_expires_at = NULL,
    finished_at = CASE WHEN :state IN ('delivered', 'failed') THEN now() END
WHERE id = :id;

-- name: next_notification_due_in_s
-- Seconds until the next pending notification is due (negative: overdue; NULL: none).
SELECT extract(epoch FROM min(next_attempt_at) - now()) AS due_in_s
FROM alert_notifications WHERE state = 'pending';

-- name: history
-- Alert events newest first, with how their notifications went.
SELECT e.id, e.at, b.name AS brand, e.kind, e.status, e.value, e.threshold, e.message,
       e.flapping, e.notified,
       count(n.id) AS notifications,
       count(n.id) FILTER (WHERE n.state = 'delivered') AS delivered,
       count(n.id) FILTER (WHERE n.state = 'failed') AS failed,
       count(n.id) FILTER (WHERE n.state IN ('pending', 'sending')) AS sending,
       coalesce(sum(n.attempts), 0) AS attempts,
       max(n.last_error) FILTER (WHERE n.state <> 'delivered') AS last_error
FROM alert_events e
JOIN brands b ON b.id = e.brand_id
LEFT JOIN alert_notifications n ON n.event_id = e.id
WHERE (CAST(:brand_id AS integer) IS NULL OR e.brand_id = :brand_id)
GROUP BY e.id, b.name
ORDER BY e.at DESC, e.id DESC
LIMIT :limit;

-- name: notification_attempts
-- The delivery attempts of an event's notifications, in order.
SELECT n.id AS notification_id, n.event_id, n.state, t.attempt_no, t.started_at, t.duration_ms,
       t.response_status, t.error
FROM alert_notification_attempts t JOIN alert_notifications n ON n.id = t.notification_id
WHERE n.event_id = :event_id
ORDER BY n.id, t.attempt_no;

-- name: firing_now
-- Rules firing now, with the event that started each.
SELECT b.name AS brand, f.kind, f.since, e.value, e.threshold, e.message,
       EXISTS (SELECT FROM alert_flapping l
               WHERE l.brand_id = f.brand_id AND l.kind = f.kind) AS flapping
FROM alert_firing f
JOIN brands b ON b.id = f.brand_id
JOIN alert_events e ON e.id = f.event_id
WHERE (CAST(:brand_id AS integer) IS NULL OR f.brand_id = :brand_id)
ORDER BY f.since DESC;
