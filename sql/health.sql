-- Named queries of brand health (health/figures.py), read by the Health page (as the
-- read-only role) and by the alert evaluator. Integration Test traffic is never counted.

-- name: brand_now
-- One row per brand: the queue now, recent attempts, the alert windows' figures and money at
-- risk by currency. :brand_ids / :rate_windows_s / :exhausted_windows_s /
-- :heartbeat_windows_s give a window per brand (brands not listed use the default windows).
-- Attempts of bet callbacks and heartbeats (destination :heartbeat) are counted apart: the
-- recent and failure-rate figures are the bets' (read by attempts_bets_brand_started, which
-- holds no heartbeat); the heartbeat figures come from heartbeat_minutes and count a heartbeat
-- as failed when it did not keep its session alive (failed, no answer, or lost) — the platform
-- answering that it no longer knows the session is an answer. Money at
-- risk comes from :risk_destinations / :risk_fields / :risk_kinds (health/money.py: a field ''
-- is the bet's stake); see that module for which callbacks count.
WITH windows AS (
    SELECT * FROM unnest(CAST(:brand_ids AS integer[]), CAST(:rate_windows_s AS integer[]),
                         CAST(:exhausted_windows_s AS integer[]),
                         CAST(:heartbeat_windows_s AS integer[]))
        AS w(brand_id, rate_window_s, exhausted_window_s, heartbeat_window_s)
), scope AS (
    SELECT b.id AS brand_id, b.name AS brand, b.currency,
           coalesce(w.rate_window_s, :default_rate_window_s) AS rate_window_s,
           coalesce(w.exhausted_window_s, :default_exhausted_window_s) AS exhausted_window_s,
           coalesce(w.heartbeat_window_s, :default_heartbeat_window_s) AS heartbeat_window_s
    FROM brands b LEFT JOIN windows w ON w.brand_id = b.id
    WHERE CAST(:brand_id AS integer) IS NULL OR b.id = :brand_id
), sources AS (
    SELECT * FROM unnest(CAST(:risk_destinations AS text[]), CAST(:risk_fields AS text[]),
                         CAST(:risk_kinds AS text[])) AS s(destination, amount_field, kind)
)
SELECT s.brand_id, s.brand, s.rate_window_s, s.exhausted_window_s, s.heartbeat_window_s,
       q.backlog, q.retrying, q.groups,
       extract(epoch FROM now() - q.oldest_created) AS oldest_pending_age_s,
       r.finished AS recent_finished, r.failed AS recent_failed,
       r.last_answer_at,
       w.finished AS rate_finished, w.failed AS rate_failed,
       h.finished AS heartbeats_finished, h.failed AS heartbeats_failed,
       (SELECT count(*) FROM callbacks x
        WHERE x.brand_id = s.brand_id AND x.state = 'exhausted'
          AND x.origin <> 'integration_test'
          AND x.finished_at >= now() - make_interval(secs => :recent_exhausted_window_s))
           AS recent_exhausted,
       (SELECT count(*) FROM callbacks x
        WHERE x.brand_id = s.brand_id AND x.state = 'exhausted'
          AND x.origin <> 'integration_test'
          AND x.finished_at >= now() - make_interval(secs => s.exhausted_window_s))
           AS window_exhausted,
       m.money
FROM scope s
LEFT JOIN LATERAL (
    SELECT count(*) AS backlog, count(DISTINCT c.bet_id) AS groups,
           count(*) FILTER (WHERE c.state IN ('pending', 'in_flight') AND c.attempts > 0)
               AS retrying,
           min(c.created_at) AS oldest_created
    FROM callbacks c
    WHERE c.brand_id = s.brand_id AND c.state IN ('waiting', 'pending', 'in_flight')
      AND c.origin <> 'integration_test'
) q ON true
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE a.outcome <> 'sending') AS finished,
           count(*) FILTER (WHERE a.outcome IN ('failed', 'exhausted', 'unknown')) AS failed,
           max(a.started_at) FILTER (WHERE a.outcome IN ('delivered', 'rejected'))
               AS last_answer_at
    FROM attempts a
    WHERE a.brand_id = s.brand_id AND a.origin <> 'integration_test'
      AND a.destination <> :heartbeat
      AND a.started_at >= now() - make_interval(secs => :recent_window_s)
) r ON true
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE a.outcome <> 'sending') AS finished,
           count(*) FILTER (WHERE a.outcome IN ('failed', 'exhausted', 'unknown')) AS failed
    FROM attempts a
    WHERE a.brand_id = s.brand_id AND a.origin <> 'integration_test'
      AND a.destination <> :heartbeat
      AND a.started_at >= now() - make_interval(secs => s.rate_window_s)
) w ON true
LEFT JOIN LATERAL (
    -- The brand's heartbeat counts per minute (migration 025), the window's whole minutes.
    SELECT sum(m.delivered + m.ended + m.failed) AS finished, sum(m.failed) AS failed
    FROM heartbeat_minutes m
    WHERE m.brand_id = s.brand_id
      AND m.minute >= date_trunc('minute', now() - make_interval(secs => s.heartbeat_window_s))
) h ON true
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'currency', g.currency, 'kind', g.kind, 'exhausted', g.exhausted,
               'callbacks', g.callbacks, 'unreadable', g.unreadable,
               'amount', CAST(g.amount AS text))) AS money
    FROM (
        SELECT k.currency, k.kind, k.exhausted, count(*) AS callbacks,
               count(*) FILTER (WHERE k.amount IS NULL) AS unreadable, sum(k.amount) AS amount
        FROM (
            SELECT src.kind, c.state = 'exhausted' AS exhausted,
                   left(regexp_replace(upper(coalesce(
                       nullif(btrim(c.payload ->> 'bet_currency'), ''),
                       nullif(btrim(c.payload ->> 'currency'), ''),
                       (SELECT coalesce(nullif(btrim(p.payload ->> 'bet_currency'), ''),
                                        nullif(btrim(p.payload ->> 'currency'), ''))
                        FROM callbacks p
                        WHERE p.bet_id = c.bet_id AND p.destination = :place
                        ORDER BY p.id LIMIT 1),
                       s.currency, '')), '[^A-Z0-9]', '', 'g'), 12) AS currency,
                   CASE WHEN src.amount_field = '' THEN bt.stake
                        WHEN (c.payload ->> src.amount_field) ~ '^\s*\d+(\.\d+)?\s*$'
                            THEN CAST(btrim(c.payload ->> src.amount_field) AS numeric)
                   END AS amount
            FROM callbacks c
            JOIN sources src ON src.destination = c.destination
            JOIN bets bt ON bt.bet_id = c.bet_id
            WHERE c.brand_id = s.brand_id AND c.origin <> 'integration_test'
              AND (
                  (c.state = 'exhausted' AND c.destination <> :place)
                  OR (c.state IN ('waiting', 'pending', 'in_flight') AND (
                      -- Read through the bet's own few callbacks: a condition on state here
                      -- let the planner combine the bet's index with a whole-table index of
                      -- open callbacks, once per open callback.
                      SELECT bool_or((f.state IN ('pending', 'in_flight') AND f.attempts > 0)
                                     OR f.state = 'exhausted')
                      FROM callbacks f WHERE f.bet_id = c.bet_id))
              )
        ) k
        GROUP BY 1, 2, 3
    ) g
) m ON true
ORDER BY s.brand;
