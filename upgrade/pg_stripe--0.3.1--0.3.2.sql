-- pg_stripe 0.3.1 -> 0.3.2 (ALTER EXTENSION pg_stripe UPDATE). Runs in one transaction; instant
-- (definitions only, no table touched).
--
-- 0.3.2: the payments views (payments_daily, _weekly, _monthly, stripe.payments) no longer start
-- parallel workers for the branch they skip; amounts in major units cost half as much; the cut
-- values of customer_rfm (and the report's RFM segments) are selected in C instead of sorting
-- every paying customer. Same results.
\echo Use "ALTER EXTENSION pg_stripe UPDATE" to load this file. \quit

-- The planner decides whether a query may use parallel workers before it inlines a
-- set-returning SQL function, from the labels of the functions the query names: the SAFE label
-- of stripe.payments let it run the quarter-hour branch (skipped by the parallel-unsafe
-- stripe._rolled_up) under a Gather, two workers started per read.
ALTER FUNCTION stripe.payments(text, date, date) PARALLEL UNSAFE;

-- round(amount / 10^e, e), written as an exact multiplication by 10^-e (a numeric power and a
-- division cost twice as much, and a view shows three amounts per row). The round() matters for
-- averages, which are not whole minor units.
CREATE OR REPLACE FUNCTION stripe.to_major(amount numeric, currency text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE stripe.currency_exponent(currency)
           WHEN 0 THEN round(amount) WHEN 3 THEN round(amount * 0.001, 3) ELSE round(amount * 0.01, 2) END
$$;

-- customer_rfm's cuts: an aggregate that collects a partition's values and selects the four ranks
-- in C (src/pg/rfm.cpp), instead of array_agg(... ORDER BY ...) subscripted at stripe._rfm_cut.
CREATE FUNCTION stripe._rfm_cuts_add(internal, bigint) RETURNS internal
AS 'MODULE_PATHNAME', 'pg_stripe_rfm_cuts_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION stripe._rfm_cuts_add(internal, timestamptz) RETURNS internal
AS 'MODULE_PATHNAME', 'pg_stripe_rfm_cuts_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION stripe._rfm_cuts_bigint(internal) RETURNS bigint[]
AS 'MODULE_PATHNAME', 'pg_stripe_rfm_cuts_final_bigint' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION stripe._rfm_cuts_timestamptz(internal) RETURNS timestamptz[]
AS 'MODULE_PATHNAME', 'pg_stripe_rfm_cuts_final_timestamptz' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE stripe._rfm_cuts_of(bigint) (
  SFUNC = stripe._rfm_cuts_add, STYPE = internal, FINALFUNC = stripe._rfm_cuts_bigint, SSPACE = 8192,
  PARALLEL = SAFE);
CREATE AGGREGATE stripe._rfm_cuts_of(timestamptz) (
  SFUNC = stripe._rfm_cuts_add, STYPE = internal, FINALFUNC = stripe._rfm_cuts_timestamptz, SSPACE = 8192,
  PARALLEL = SAFE);

CREATE OR REPLACE VIEW stripe._rfm_cuts WITH (security_invoker = true) AS
  SELECT c.account, c.livemode, c.currency, c.customers,
         c.r[1] AS r2, c.r[2] AS r3, c.r[3] AS r4, c.r[4] AS r5,
         c.f[1] AS f2, c.f[2] AS f3, c.f[3] AS f4, c.f[4] AS f5,
         c.m[1] AS m2, c.m[2] AS m3, c.m[3] AS m4, c.m[4] AS m5
    FROM (SELECT t.account, t.livemode, t.currency, count(*) AS customers,
                 stripe._rfm_cuts_of(coalesce(t.last_payment_at, 'infinity')) AS r,
                 stripe._rfm_cuts_of(t.payments) AS f, stripe._rfm_cuts_of(t.total_spent) AS m
            FROM stripe.customer_totals t
           WHERE t.payments >= 1
           GROUP BY t.account, t.livemode, t.currency) c;

DROP FUNCTION stripe._rfm_cut(bigint, integer);

-- As src/sql/90_privileges.sql: functions are not executable by PUBLIC; readers call these.
REVOKE ALL ON FUNCTION stripe._rfm_cuts_add(internal, bigint), stripe._rfm_cuts_add(internal, timestamptz),
  stripe._rfm_cuts_bigint(internal), stripe._rfm_cuts_timestamptz(internal),
  stripe._rfm_cuts_of(bigint), stripe._rfm_cuts_of(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stripe._rfm_cuts_of(bigint), stripe._rfm_cuts_of(timestamptz) TO stripe_reader;
