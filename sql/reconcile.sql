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

-- name: add_reconciliation
-- Record a reconciliation someone ran: what was compared, its summary, and the ledger file
-- when they asked to keep it.
INSERT INTO reconciliations (brand_id, run_by, source, run_at, ledger_name, ledger_kind,
                             ledger_rows, by_request, since, until, bets, callbacks, all_match,
                             summary, left_out, seconds, ledger_file)
VALUES (:brand_id, :run_by, :source, :run_at, :ledger_name, :ledger_kind, :ledger_rows,
        :by_request, :since, :until, :bets, :callbacks, :all_match, CAST(:summary AS jsonb),
        :left_out, :seconds, :ledger_file)
RETURNING id;

-- name: add_reconciliation_bets
-- The bets of a recorded reconciliation that did not match (:rows, a JSON array of objects), in
-- one statement.
INSERT INTO reconciliation_bets (reconciliation_id, bet_id, verdict, currency, expected, booked,
                                 difference, player_id, request_ids, attempt_ids, detail)
SELECT :reconciliation_id, r.bet_id, r.verdict, r.currency, r.expected, r.booked, r.difference,
       r.player_id, r.request_ids, r.attempt_ids, r.detail
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r (
    bet_id text, verdict text, currency text, expected numeric, booked numeric,
    difference numeric, player_id text, request_ids text, attempt_ids text, detail text);

-- name: past_reconciliations
-- The newest reconciliations of these brands (:brand_ids NULL: every brand the session sees),
-- without the ledger files themselves.
SELECT r.id, r.brand_id, b.name AS brand, r.run_by, r.source, r.run_at, r.ledger_name,
       r.ledger_kind, r.ledger_rows, r.by_request, r.since, r.until, r.bets, r.callbacks,
       r.all_match, r.summary, r.left_out, r.seconds, r.ledger_file IS NOT NULL AS kept_file
FROM reconciliations r
JOIN brands b ON b.id = r.brand_id
WHERE CAST(:brand_ids AS integer[]) IS NULL OR r.brand_id = ANY(CAST(:brand_ids AS integer[]))
ORDER BY r.run_at DESC, r.id DESC
LIMIT :limit;

-- name: reconciliation_bets
-- The non-matching bets a recorded reconciliation kept.
SELECT bet_id, verdict, currency, expected, booked, difference, player_id, request_ids,
       attempt_ids, detail
FROM reconciliation_bets
WHERE reconciliation_id = :reconciliation_id;

-- name: reconciliation_ledger_file
-- The ledger file kept with a reconciliation, and its name (no row: not visible; NULL file:
-- not kept).
SELECT ledger_name, ledger_file FROM reconciliations WHERE id = :reconciliation_id;
