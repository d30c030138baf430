-- Every request the platform saw is in the history: a worker writes the attempt (outcome
-- 'sending', with its Request ID) before the request goes out and completes it after. A worker
-- that stopped in between leaves 'sending' rows; the scheduler's sweeper closes them as
-- 'unknown' when the callback's lease runs out.
ALTER TABLE attempts ALTER COLUMN finished_at DROP NOT NULL;
ALTER TABLE attempts ALTER COLUMN duration_ms DROP NOT NULL;
ALTER TABLE attempts DROP CONSTRAINT attempts_outcome_check;
ALTER TABLE attempts ADD CONSTRAINT attempts_outcome_check
    CHECK (outcome IN ('sending', 'delivered', 'rejected', 'failed', 'exhausted', 'unknown'));

-- The sweeper finds the open attempts of callbacks whose lease ran out.
CREATE INDEX attempts_sending ON attempts (callback_id) WHERE outcome = 'sending';

-- The scheduler claims for every brand in one statement: it counts each busy brand's callbacks
-- in flight, and sleeps until the earliest pending head is due.
CREATE INDEX callbacks_in_flight_brand ON callbacks (brand_id) WHERE state = 'in_flight';
CREATE INDEX callbacks_pending_due ON callbacks (next_attempt_at) WHERE state = 'pending';
