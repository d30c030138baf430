-- Actions read each callback's origin: the Integration Test's bets (origin integration_test)
-- are left alone unless asked for, so the back-office's role must see the column it decides on.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_operator') THEN
        GRANT SELECT (origin) ON callbacks TO callbacks_operator;
    END IF;
END $$;
