-- Named queries of the integration battery. battery/store.py writes runs and the test URLs
-- (the battery's callbacks go through delivery/store.py); dashboard/integration_queries.py
-- reads. Parameters are :named.

-- name: insert_run
-- Record an Integration Test run as it starts; its id.
INSERT INTO integration_runs (brand_id, base_url, triggered_by, source, status, timeout_s,
                              cases_total, started_at)
VALUES (:brand_id, :base_url, :triggered_by, :source, :status, :timeout_s, :cases_total,
        :started_at)
RETURNING id;

-- name: finish_run
-- Record how a run ended: status, reason, counts, preflight and duration.
UPDATE integration_runs
SET status = :status, reason = :reason, cases_passed = :cases_passed,
    cases_failed = :cases_failed, preflight = CAST(:preflight AS jsonb),
    finished_at = :finished_at, duration_ms = :duration_ms
WHERE id = :id;

-- name: insert_case
-- Record one finished case of a run.
INSERT INTO integration_cases (run_id, number, case_group, name, checks, status, steps_planned,
                               failed_step, message, duration_ms)
VALUES (:run_id, :number, :case_group, :name, :checks, :status, :steps_planned, :failed_step,
        :message, :duration_ms);

-- name: insert_step
-- Record one step of a case: what was sent, what came back, and whether it passed.
INSERT INTO integration_steps (run_id, case_number, position, label, destination, bet_id,
                               request_id, attempt_id, callback_id, expected, passed, cleanup,
                               message, request, response)
VALUES (:run_id, :case_number, :position, :label, :destination, :bet_id, :request_id,
        CAST(:attempt_id AS uuid), :callback_id, :expected, :passed, :cleanup, :message,
        CAST(:request AS jsonb), CAST(:response AS jsonb));

-- name: brand_names
-- Every brand's name, sorted, for the page's brand choice.
SELECT name FROM brands ORDER BY name;

-- name: brand_by_name
-- A brand's id, URL and timeout by name.
SELECT id, name, base_url, timeout_s FROM brands WHERE name = :name;

-- name: runs_of_brand
-- A brand's latest runs, newest first, bounded.
SELECT id, status, reason, triggered_by, source, base_url, started_at, finished_at, duration_ms,
       cases_total, cases_passed, cases_failed
FROM integration_runs
WHERE brand_id = :brand_id
ORDER BY started_at DESC, id DESC
LIMIT :limit;

-- name: run
-- One stored run with its brand's name.
SELECT r.id, r.brand_id, b.name AS brand, r.base_url, r.triggered_by, r.source, r.status,
       r.reason, r.timeout_s, r.cases_total, r.cases_passed, r.cases_failed, r.preflight,
       r.started_at, r.finished_at, r.duration_ms
FROM integration_runs r JOIN brands b ON b.id = r.brand_id
WHERE r.id = :run_id;

-- name: run_cases
-- The cases of a run in order.
SELECT number, case_group, name, checks, status, steps_planned, failed_step, message,
       duration_ms
FROM integration_cases WHERE run_id = :run_id ORDER BY number;

-- name: run_steps
-- The steps of a run, by case and position.
SELECT case_number, position, label, destination, bet_id, request_id, attempt_id::text,
       callback_id, expected, passed, cleanup, message, request, response
FROM integration_steps WHERE run_id = :run_id ORDER BY case_number, position;

-- name: test_urls
-- The URLs the Integration Test page may run a brand's battery against: its own, then those
-- an administrator registered (brand_test_urls, migration 014).
SELECT b.base_url AS url, true AS registered_url, b.created_at AS added_at
FROM brands b WHERE b.id = :brand_id
UNION ALL
SELECT t.url, false, t.added_at
FROM brand_test_urls t WHERE t.brand_id = :brand_id AND t.url <> (
    SELECT base_url FROM brands WHERE id = :brand_id)
ORDER BY registered_url DESC, added_at, url;

-- name: add_test_url
-- Register a test URL for a brand; no row when there is no such brand or it is registered already.
INSERT INTO brand_test_urls (brand_id, url)
SELECT id, :url FROM brands WHERE name = :brand
ON CONFLICT (brand_id, url) DO NOTHING
RETURNING brand_id;

-- name: remove_test_url
-- Stop offering a test URL of a brand; the row removed, or none.
DELETE FROM brand_test_urls t USING brands b
WHERE b.id = t.brand_id AND b.name = :brand AND t.url = :url
RETURNING t.brand_id, t.url;

-- name: all_test_urls
-- Every registered test URL (of one brand, or all), by brand and age.
SELECT b.name AS brand, t.url, t.added_at
FROM brand_test_urls t JOIN brands b ON b.id = t.brand_id
WHERE CAST(:brand AS text) IS NULL OR b.name = :brand
ORDER BY b.name, t.added_at, t.url;
