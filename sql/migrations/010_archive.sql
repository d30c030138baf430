-- The Parquet archive (`callbacks archive`): whole monthly attempt partitions older than the
-- retention are exported to Parquet files, checked, and dropped; the finished callbacks and bets
-- that only they referenced go with them. This table is the database's own record of what left
-- it and where it went (the archive folder keeps a manifest of the same).
CREATE TABLE archived_partitions (
    partition_name text PRIMARY KEY,            -- attempts_YYYY_MM
    month_from     timestamptz NOT NULL,
    month_to       timestamptz NOT NULL,
    archive_dir    text NOT NULL,
    attempts       bigint NOT NULL,
    callbacks      bigint NOT NULL,
    bets           bigint NOT NULL,
    files          jsonb NOT NULL,     -- {stem: {"attempts": "attempts/<stem>.parquet", ...}}
    exported_at    timestamptz NOT NULL,
    dropped_at     timestamptz NOT NULL DEFAULT now()
);

-- The back-office reads it to know which months live in the archive (migration 002's default
-- privileges grant the read-only role SELECT on new tables; granted here too where they did not
-- apply, e.g. when another role ran 002).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        GRANT SELECT ON archived_partitions TO callbacks_reader;
    END IF;
END $$;
