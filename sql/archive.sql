-- Named queries of the Parquet archive (archive/export.py, archive/reader.py). {partition} is
-- filled in by the caller with a checked partition name (attempts_YYYY_MM); everything else is
-- a :named parameter.

-- name: attempt_partitions
-- The monthly attempt partitions PostgreSQL holds now, oldest first.
SELECT c.relname AS name
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'attempts'::regclass AND c.relname ~ '^attempts_[0-9]{4}_[0-9]{2}$'
ORDER BY c.relname;

-- name: archive_lock
-- One archive run at a time across every process; NULL-free boolean.
SELECT pg_try_advisory_lock(72317010);

-- name: archive_unlock
-- Release the archive run's advisory lock (taken by archive_lock).
SELECT pg_advisory_unlock(72317010);

-- name: partition_attempts
-- Every attempt of one monthly partition, with JSON columns as text, for export to Parquet.
SELECT id::text AS id, callback_id, group_id, brand_id, destination, origin, attempt_no,
       callback_created_at, scheduled_at, started_at, finished_at, duration_ms,
       request_headers::text AS request_headers, response_status,
       response_headers::text AS response_headers, response_body, response_truncated, outcome,
       error_class, error_detail, error_code, next_attempt_at
FROM {partition};

-- name: partition_count
-- How many attempts one monthly partition holds (checked against the exported count).
SELECT count(*) FROM {partition};

-- name: archivable_callbacks
-- Finished callbacks with no attempt at or after :month_to (and none in the default partition,
-- which is never archived): every attempt they have is in the partitions archived by now.
-- Foreign-Params (the player's session secrets) are not archived.
SELECT c.id, c.request_id, c.brand_id, c.bet_id, c.destination, c.payload::text AS payload,
       c.origin, c.state, c.attempts, c.next_attempt_at, c.last_status, c.last_error,
       c.created_at, c.finished_at
FROM callbacks c
WHERE c.state IN ('delivered', 'rejected', 'exhausted', 'skipped')
  AND c.created_at < :month_to
  AND NOT EXISTS (SELECT 1 FROM attempts a
                  WHERE a.callback_id = c.id AND a.started_at >= :month_to)
  AND NOT EXISTS (SELECT 1 FROM attempts_default d WHERE d.callback_id = c.id);

-- name: archivable_bets
-- Bets created before :month_to all of whose callbacks are archivable now (or gone already).
SELECT b.bet_id, b.brand_id, b.player_id, b.bet_type, b.stake::text AS stake,
       b.odds::text AS odds, b.system_sizes, b.status, b.restrictions::text AS restrictions,
       b.placed_at, b.created_at, b.updated_at
FROM bets b
WHERE b.created_at < :month_to
  AND NOT EXISTS (
      SELECT 1 FROM callbacks c
      WHERE c.bet_id = b.bet_id
        AND NOT (c.state IN ('delivered', 'rejected', 'exhausted', 'skipped')
                 AND c.created_at < :month_to
                 AND NOT EXISTS (SELECT 1 FROM attempts a
                                 WHERE a.callback_id = c.id AND a.started_at >= :month_to)
                 AND NOT EXISTS (SELECT 1 FROM attempts_default d
                                 WHERE d.callback_id = c.id)));

-- name: record_archived
-- Record (or add to) what an archive run exported from a partition: counts and files.
INSERT INTO archived_partitions (partition_name, month_from, month_to, archive_dir, attempts,
                                 callbacks, bets, files, exported_at)
VALUES (:name, :month_from, :month_to, :archive_dir, :attempts, :callbacks, :bets,
        CAST(:files AS jsonb), :exported_at)
ON CONFLICT (partition_name) DO UPDATE SET
    attempts = archived_partitions.attempts + EXCLUDED.attempts,
    callbacks = archived_partitions.callbacks + EXCLUDED.callbacks,
    bets = archived_partitions.bets + EXCLUDED.bets,
    files = archived_partitions.files || EXCLUDED.files,
    exported_at = EXCLUDED.exported_at, dropped_at = now();

-- name: archived_partitions
-- Every partition the archive has taken, oldest first: month, counts, files, when exported and
-- dropped.
SELECT partition_name, month_from, month_to, archive_dir, attempts, callbacks, bets, files,
       exported_at, dropped_at
FROM archived_partitions ORDER BY partition_name;
