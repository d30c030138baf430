-- Reconciliation: what a brand's callbacks asked of its players' balances (reconcile/), and the
-- reconciliations people ran.

-- name: brand_callbacks
-- Every callback of the brand's bets created in [:since, :until) (NULL: no bound), with the
-- member that moves money (:amount_fields and :order_fields are JSON objects {destination:
-- member}), the bet's stake and player, its origin and when it finished; read with COPY.
SELECT c.id AS callback_id, c.request_id, c.bet_id, c.destination, c.state,
       c.payload ->> (CAST(:amount_fields AS jsonb) ->> c.destination) AS amount,
       CAST(c.payload -> (CAST(:order_fields AS jsonb) ->> c.destination) AS text) AS orders,
       b.stake, b.player_id, c.last_error AS code, c.origin, c.finished_at
FROM callbacks c
JOIN bets b ON b.bet_id = c.bet_id
WHERE c.brand_id = :brand_id
  AND (CAST(:since AS timestamptz) IS NULL OR b.created_at >= CAST(:since AS timestamptz))
  AND (CAST(:until AS timestamptz) IS NULL OR b.created_at < CAST(:until AS timestamptz));

-- name: attempts_of_callbacks
-- The Request IDs (attempt ids) of these callbacks, oldest first: what a platform engineer
-- looks for in their logs.
SELECT callback_id, CAST(id AS text) AS attempt_id
FROM attempts
WHERE callback_id = ANY(CAST(:ids AS bigint[]))
ORDER BY callback_id, started_at;
