-- The durable callback queue, the bets it serves, and the append-only attempt history.

CREATE TABLE brands (
    id               serial PRIMARY KEY,
    name             text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    base_url         text NOT NULL,
    retry_schedule_s integer[] NOT NULL,
    timeout_s        double precision NOT NULL CHECK (timeout_s > 0),
    max_in_flight    integer NOT NULL CHECK (max_in_flight > 0),
    signing_secret   text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per bet; it is also the lock that serialises everything done to the bet's group.
CREATE TABLE bets (
    bet_id        text PRIMARY KEY,
    brand_id      integer NOT NULL REFERENCES brands (id),
    player_id     text,
    bet_type      smallint,
    stake         numeric,
    odds          jsonb,
    system_sizes  integer[],
    status        text NOT NULL,
    restrictions  jsonb NOT NULL DEFAULT '[]',
    placed_at     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bets_brand_created ON bets (brand_id, created_at DESC);
CREATE INDEX bets_created ON bets (created_at DESC);
CREATE INDEX bets_player ON bets (player_id);

-- state: waiting (behind its group's head), pending (the head, due at next_attempt_at),
-- in_flight (claimed, guarded by a lease), then one of delivered, rejected, exhausted, skipped.
CREATE TABLE callbacks (
    id               bigserial PRIMARY KEY,
    request_id       text NOT NULL UNIQUE,
    brand_id         integer NOT NULL REFERENCES brands (id),
    bet_id           text NOT NULL REFERENCES bets (bet_id),
    destination      text NOT NULL,
    payload          jsonb NOT NULL,
    foreign_params   jsonb NOT NULL DEFAULT '{}',
    origin           text NOT NULL DEFAULT 'producer'
                     CHECK (origin IN ('producer', 'system', 'integration_test')),
    state            text NOT NULL
                     CHECK (state IN ('waiting', 'pending', 'in_flight', 'delivered',
                                      'rejected', 'exhausted', 'skipped')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    lease_token      uuid,
    lease_expires_at timestamptz,
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX callbacks_due ON callbacks (brand_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX callbacks_leases ON callbacks (lease_expires_at) WHERE state = 'in_flight';
CREATE INDEX callbacks_group ON callbacks (bet_id, id);
CREATE INDEX callbacks_open ON callbacks (brand_id, created_at)
    WHERE state IN ('waiting', 'pending', 'in_flight');

-- One row per HTTP request, never updated. id is the Request ID (sent as X-Request-ID).
CREATE TABLE attempts (
    id                  uuid NOT NULL,
    callback_id         bigint NOT NULL,
    group_id            text NOT NULL,
    brand_id            integer NOT NULL,
    destination         text NOT NULL,
    origin              text NOT NULL,
    attempt_no          integer NOT NULL,
    callback_created_at timestamptz NOT NULL,
    scheduled_at        timestamptz,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL,
    duration_ms         double precision NOT NULL,
    request_headers     jsonb NOT NULL,
    response_status     integer,
    response_headers    jsonb,
    response_body       text,
    response_truncated  boolean NOT NULL DEFAULT false,
    outcome             text NOT NULL
                        CHECK (outcome IN ('delivered', 'rejected', 'failed', 'exhausted')),
    error_class         text,
    error_detail        text,
    error_code          text,
    next_attempt_at     timestamptz,
    PRIMARY KEY (started_at, id)
) PARTITION BY RANGE (started_at);
CREATE TABLE attempts_default PARTITION OF attempts DEFAULT;
CREATE INDEX attempts_group ON attempts (group_id, started_at);
CREATE INDEX attempts_brand_started ON attempts (brand_id, started_at DESC, id DESC);
CREATE INDEX attempts_started ON attempts (started_at DESC, id DESC);
CREATE INDEX attempts_callback ON attempts (callback_id);
CREATE INDEX attempts_request ON attempts (id);

-- Monthly partitions of attempts, created ahead of time so rows never land in the default one.
CREATE FUNCTION ensure_attempt_partitions(first_month date, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month_start date;
    part text;
    created integer := 0;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        month_start := (date_trunc('month', first_month) + make_interval(months => i))::date;
        part := 'attempts_' || to_char(month_start, 'YYYY_MM');
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF attempts FOR VALUES FROM (%L) TO (%L)',
                           part, month_start, (month_start + interval '1 month')::date);
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

SELECT ensure_attempt_partitions((now() - interval '1 month')::date, 4);
