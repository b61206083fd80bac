-- Reads that must stay cheap whatever the planner settings, and the money formatting they use.

-- stripe.to_major against an independent reading: the integer part, a point, and the minor digits
-- zero-padded to the currency's exponent (SPEC §3's table), built as text from integer arithmetic.
CREATE FUNCTION pg_temp.major_text(amount bigint, e integer) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN amount < 0 THEN '-' ELSE '' END
         || (abs(amount) / (10 ^ e)::bigint)::text
         || CASE WHEN e = 0 THEN '' ELSE '.' || lpad((abs(amount) % (10 ^ e)::bigint)::text, e, '0') END $$;
SELECT c.currency, count(*) AS amounts,
       count(*) FILTER (WHERE stripe.to_major(a, c.currency)::text <> pg_temp.major_text(a, c.e)) AS wrong
  FROM (VALUES ('usd', 2), ('eur', 2), ('krw', 0), ('jpy', 0), ('JPY', 0), ('kwd', 3), ('bhd', 3), ('xyz', 2)) c(currency, e),
       (SELECT g * 7919 FROM generate_series(-2000, 2000) g
        UNION ALL VALUES (0), (1), (-1), (9), (10), (99), (100), (999), (1000), (9223372036854775807), (-9223372036854775807)) v(a)
 GROUP BY c.currency ORDER BY c.currency;
SELECT stripe.to_major(NULL, 'usd') IS NULL AS null_amount, stripe.to_major(123456, 'usd') AS usd,
       stripe.to_major(123456, 'krw') AS krw, stripe.to_major(123456, 'kwd') AS kwd;
-- Averages are not whole minor units: rounded half away from zero to the currency's precision.
SELECT stripe.to_major(12345.5, 'usd') AS "123.46", stripe.to_major(-12345.5, 'usd') AS "-123.46",
       stripe.to_major(1000 / 3::numeric, 'usd') AS "3.33", stripe.to_major(12344.9999, 'usd') AS "123.45",
       stripe.to_major(2.5, 'krw') AS "3", stripe.to_major(0.4999, 'jpy') AS "0",
       stripe.to_major(1234.5, 'kwd') AS "1.235", stripe.to_major(2 / 3::numeric, 'bhd') AS "0.001";

-- The payments views never start parallel workers: their quarter-hour branch is skipped by a
-- one-time filter when the zone is rolled up, and a Gather under it started two workers per read
-- for nothing (the planner judged the inlined stripe.payments from its PARALLEL SAFE label).
-- Parallel plans are made as cheap as they get, so any plan that may go parallel does.
-- (plan_lines: how many lines of q's plan match a regular expression)
CREATE FUNCTION pg_temp.plan_lines(q text, pattern text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE line text; n bigint := 0;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    IF line ~ pattern THEN n := n + 1; END IF;
  END LOOP;
  RETURN n;
END $$;
CREATE FUNCTION pg_temp.gathers(q text) RETURNS bigint LANGUAGE sql AS $$
  SELECT pg_temp.plan_lines(q, 'Gather') $$;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET min_parallel_index_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
-- (a control: an ordinary scan of the same table does go parallel under these settings)
SELECT pg_temp.gathers('SELECT sum(succeeded) FROM stripe.agg_payments') > 0 AS control_goes_parallel;
CREATE FUNCTION pg_temp.payments_gathers() RETURNS TABLE (query text, gathers bigint) LANGUAGE sql AS $$
  SELECT q, pg_temp.gathers(q)
    FROM unnest(ARRAY['SELECT * FROM stripe.payments_daily WHERE day >= ''2024-01-01''',
                      'SELECT * FROM stripe.payments_weekly',
                      'SELECT * FROM stripe.payments_monthly',
                      'SELECT * FROM stripe.payments(''day'', ''2024-01-01'', ''2024-03-31'')']) q $$;
-- a rolled-up zone (the rollup branch runs) and one that is not (the quarter-hour branch runs)
SET stripe.timezone = 'UTC';
SELECT * FROM pg_temp.payments_gathers();
SET stripe.timezone = 'Asia/Katmandu';
SELECT * FROM pg_temp.payments_gathers();
RESET ALL;

-- Nor do they carry the cost of the branch they skip: a zone that is not rolled up reads the
-- quarter-hours (payments_*) or the charges (cohort_retention) through a function the planner
-- does not inline, so the views' estimated cost stays that of the rollups. (Inlined, that branch
-- made cohort_retention's estimate pass the default jit_above_cost at 10M events: 0.7 s of JIT
-- compiling per read of a 3 ms view.) The plans must not scan those tables, in either zone.
CREATE FUNCTION pg_temp.scans(q text, rel text) RETURNS bigint LANGUAGE sql AS $$
  SELECT pg_temp.plan_lines(q, ' on ' || rel || '( |$)') $$;
SET stripe.timezone = 'Asia/Katmandu';
SELECT pg_temp.scans('SELECT sum(succeeded) FROM stripe.agg_payments', 'agg_payments') AS control_scans;
SELECT q AS query, pg_temp.scans(q, 'agg_payments') AS quarter_hour_scans, pg_temp.scans(q, 'charges') AS charge_scans
  FROM unnest(ARRAY['SELECT * FROM stripe.payments_daily',
                    'SELECT * FROM stripe.payments_monthly',
                    'SELECT * FROM stripe.cohort_retention']) q;
RESET stripe.timezone;
-- ... and report() and dashboard_html() run their queries with jit = off.
SELECT p.proname, p.proconfig FROM pg_proc p
 WHERE p.pronamespace = 'stripe'::regnamespace
   AND p.proname IN ('report', 'dashboard_html', '_payments_from_quarters', '_cohort_cells_from_charges')
 ORDER BY 1;
