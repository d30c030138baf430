-- Named queries of the audit trail of configuration changes (delivery/audit.py). Rows are
-- only ever appended (migration 020); what goes into before/after is shaped, secrets masked,
-- by delivery/changes.py.

-- name: insert_change
-- Append one configuration change to the trail: who, from where, what before and
-- after (secrets masked by the caller), and why.
INSERT INTO config_changes (kind, actor, os_user, source, brand_id, subject, before, after,
                            reason)
VALUES (:kind, :actor, :os_user, :source, :brand_id, :subject, CAST(:before AS jsonb),
        CAST(:after AS jsonb), :reason)
RETURNING id, created_at;

-- name: back_office_user
-- Whether a back-office user has this name (--as must name one).
SELECT EXISTS (SELECT FROM users WHERE name = :name);

-- name: recent_changes
-- The latest configuration changes, newest first (of one brand, or all; since a time).
SELECT c.id, c.kind, c.actor, c.os_user, c.source, c.subject, c.before, c.after, c.reason,
       c.created_at, b.name AS brand
FROM config_changes c LEFT JOIN brands b ON b.id = c.brand_id
WHERE (CAST(:since AS timestamptz) IS NULL OR c.created_at >= :since)
  AND (CAST(:brand_id AS integer) IS NULL OR c.brand_id = :brand_id)
ORDER BY c.created_at DESC, c.id DESC
LIMIT :limit;

-- name: recent_actions
-- The latest queue actions (migration 009's trail), shaped in Python like changes.
SELECT a.id, a.kind, a.actor, a.os_user, a.reason, a.source, a.bet_id, a.parameters,
       a.callbacks, a.bets, a.created_at, b.name AS brand
FROM actions a JOIN brands b ON b.id = a.brand_id
WHERE (CAST(:since AS timestamptz) IS NULL OR a.created_at >= :since)
  AND (CAST(:brand_id AS integer) IS NULL OR a.brand_id = :brand_id)
ORDER BY a.created_at DESC, a.id DESC
LIMIT :limit;
