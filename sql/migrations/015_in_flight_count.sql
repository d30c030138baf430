-- How many of a brand's callbacks are in flight: every claim and refill asks, to stay under the
-- brand's max_in_flight. Under load thousands of callbacks pass through 'in_flight' between two
-- vacuums, and each leaves an entry in callbacks_in_flight_brand whose row is no longer in
-- flight. Counted with a bitmap scan (the planner's pick for a brand's few rows, depending on
-- the statistics), those entries are never marked dead, so every count visited each of those
-- rows again: at a 60,000-callback backlog, 14,860 entries on 3,229 pages for 63 in flight,
-- 4.7 ms a count. An index scan marks them as it passes and the next count skips them; the
-- function brings the settings that make it one, whatever the caller's session says.
CREATE FUNCTION brand_in_flight(brand integer) RETURNS bigint
LANGUAGE plpgsql STABLE
SET enable_bitmapscan = off SET enable_seqscan = off
SET enable_indexscan = on SET enable_indexonlyscan = on AS $$
BEGIN
    -- PL/pgSQL keeps the plan for the session; an SQL function with settings is planned again
    -- at each statement that calls it.
    RETURN (SELECT count(*) FROM callbacks WHERE brand_id = brand AND state = 'in_flight');
END
$$;
