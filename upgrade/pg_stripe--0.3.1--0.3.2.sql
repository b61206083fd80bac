-- pg_stripe 0.3.1 -> 0.3.2 (ALTER EXTENSION pg_stripe UPDATE). Runs in one transaction; instant
-- (definitions only, no table touched).
--
-- 0.3.2: the views no longer start parallel workers, or the JIT compiler, for the branch they
-- skip (payments_*, cohort_retention), nor do report() and dashboard_html() compile their queries;
-- amounts in major units cost half as much; the cut values of customer_rfm (and the report's RFM
-- segments) are selected in C instead of sorting every paying customer; the report's customer
-- sections hash instead of sorting. Same results.
\echo Use "ALTER EXTENSION pg_stripe UPDATE" to load this file. \quit

-- The planner decides whether a query may use parallel workers before it inlines a
-- set-returning SQL function, from the labels of the functions the query names: the SAFE label
-- of stripe.payments let it run the quarter-hour branch (skipped by the parallel-unsafe
-- stripe._rolled_up) under a Gather, two workers started per read.
-- (stripe.payments is replaced below, with that label.)

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

-- JIT: a view's skipped branch (a zone that is not rolled up) still counted in its estimated cost,
-- and at 10M events that cost passed the default jit_above_cost, so every read of
-- cohort_retention (3 ms) spent 0.7 s compiling, payments_* 20 ms more. Those branches become
-- functions of their own with SET jit = off (not inlined, so not costed in the views), and
-- report() and dashboard_html() run with jit = off.
-- stripe.payments for a zone that is not rolled up: the UTC quarter-hours of the period, summed
-- into the zone's buckets. Not inlined (SET clause), for the reason given at
-- stripe._cohort_cells_from_charges: the planner's estimate of this branch, skipped in a rolled-up
-- zone, set off JIT compilation of every payments_* read (payments_monthly at 10M events: 9 ms,
-- 27-32 ms with JIT).
CREATE FUNCTION stripe._payments_from_quarters(grain text, from_date date, to_date date)
RETURNS TABLE (bucket date, account text, livemode boolean, currency text, succeeded bigint, failed bigint,
               gross bigint, refunded bigint, disputes bigint, lost bigint)
LANGUAGE sql STABLE SET jit = off AS $$
  SELECT date_trunc(grain, a.bucket AT TIME ZONE stripe.reporting_timezone())::date,
         a.account, a.livemode, a.currency,
         sum(a.succeeded)::bigint, sum(a.failed)::bigint, sum(a.gross)::bigint, sum(a.refunded)::bigint,
         sum(a.disputes)::bigint, sum(a.lost_disputed)::bigint
    FROM stripe.agg_payments a
   WHERE (from_date IS NULL OR a.bucket >= from_date::timestamp AT TIME ZONE stripe.reporting_timezone())
     AND (to_date IS NULL OR a.bucket < (to_date + 1)::timestamp AT TIME ZONE stripe.reporting_timezone())
   GROUP BY 1, 2, 3, 4
$$;


CREATE OR REPLACE FUNCTION stripe.payments(grain text, from_date date DEFAULT NULL, to_date date DEFAULT NULL)
RETURNS TABLE (bucket date, account text, livemode boolean, currency text,
               successful_payments bigint, failed_payments bigint, failure_rate numeric,
               gross_volume bigint, gross_volume_major numeric,
               refunded_amount bigint, refunded_amount_major numeric,
               disputes bigint, dispute_rate numeric,
               net_volume bigint, net_volume_major numeric)
LANGUAGE sql STABLE PARALLEL UNSAFE AS $$
  SELECT s.bucket, s.account, s.livemode, s.currency,
         s.succeeded, s.failed, stripe.ratio(s.failed, s.succeeded + s.failed),
         s.gross, stripe.to_major(s.gross, s.currency),
         s.refunded, stripe.to_major(s.refunded, s.currency),
         s.disputes, stripe.ratio(s.disputes, s.succeeded),
         s.gross - s.refunded - s.lost, stripe.to_major(s.gross - s.refunded - s.lost, s.currency)
    FROM (-- the reporting zone is rolled up by day (stripe.reporting_zones): one row per day
          SELECT CASE grain WHEN 'day' THEN d.day ELSE date_trunc(grain, d.day::timestamp)::date END AS bucket,
                 d.account, d.livemode, d.currency,
                 sum(d.succeeded)::bigint AS succeeded, sum(d.failed)::bigint AS failed,
                 sum(d.gross)::bigint AS gross, sum(d.refunded)::bigint AS refunded,
                 sum(d.disputes)::bigint AS disputes, sum(d.lost_disputed)::bigint AS lost
            FROM stripe.agg_payments_days d
           WHERE d.zone = stripe.reporting_timezone()
             AND (from_date IS NULL OR d.day >= from_date) AND (to_date IS NULL OR d.day <= to_date)
           GROUP BY 1, 2, 3, 4
          UNION ALL
          -- any other zone: from the UTC quarter-hours (a one-time filter skips this otherwise)
          SELECT q.bucket, q.account COLLATE "C", q.livemode, q.currency COLLATE "C",
                 q.succeeded, q.failed, q.gross, q.refunded, q.disputes, q.lost
            FROM stripe._payments_from_quarters(grain, from_date, to_date) q
           WHERE NOT stripe._rolled_up(stripe.reporting_timezone())) s
   WHERE (s.succeeded, s.failed, s.gross, s.refunded, s.disputes, s.lost) <> (0, 0, 0, 0, 0, 0)
$$;

CREATE FUNCTION stripe._cohort_cells_from_charges()
RETURNS TABLE (account text, livemode boolean, cohort_month date, month date, active bigint, repeaters bigint)
LANGUAGE sql STABLE SET jit = off AS $$
  WITH paid AS MATERIALIZED (
    SELECT c.account, c.livemode, c.customer, stripe._bucket(c.created) AS quarter
      FROM stripe.charges c
     WHERE c.status = 'succeeded' AND c.customer IS NOT NULL AND c.created IS NOT NULL),
  quarters AS (
    SELECT q.quarter, date_trunc('month', q.quarter AT TIME ZONE stripe.reporting_timezone())::date AS month
      FROM (SELECT DISTINCT quarter FROM paid) q),
  months AS (  -- customer x month of payment, with the payments made
    SELECT p.account, p.livemode, p.customer, q.month, count(*) AS payments
      FROM paid p JOIN quarters q ON q.quarter = p.quarter
     GROUP BY 1, 2, 3, 4),
  cm AS (
    SELECT m.account, m.livemode, m.customer, m.month,
           min(m.month) OVER w AS cohort_month, sum(m.payments) OVER w AS payments
      FROM months m
    WINDOW w AS (PARTITION BY m.account, m.livemode, m.customer))
  -- one row per customer and month: count(*) counts distinct customers
  SELECT account, livemode, cohort_month, month, count(*),
         count(*) FILTER (WHERE month = cohort_month AND payments >= 2)
    FROM cm GROUP BY 1, 2, 3, 4
$$;

CREATE OR REPLACE VIEW stripe.cohort_retention WITH (security_invoker = true) AS
  WITH cells AS (  -- customers of a cohort active in a month; repeat customers on the cohort's own month
    SELECT a.account, a.livemode, a.cohort_month, a.month, sum(a.customers)::bigint AS active,
           sum(a.repeat_customers)::bigint AS repeaters
      FROM stripe.agg_cohorts a
     WHERE a.zone = stripe.reporting_timezone()
     GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT f.account COLLATE "C", f.livemode, f.cohort_month, f.month, f.active, f.repeaters
      FROM stripe._cohort_cells_from_charges() f
     WHERE NOT stripe._rolled_up(stripe.reporting_timezone())),
  cohorts AS (
    SELECT account, livemode, cohort_month, active AS cohort_size, repeaters AS repeat_customers
      FROM cells WHERE month = cohort_month AND active > 0),
  last_month AS (
    SELECT account, livemode, max(month) AS month FROM cells WHERE active > 0 GROUP BY 1, 2)
  SELECT co.cohort_month, co.account, co.livemode, o.month_offset, co.cohort_size,
         coalesce(a.active, 0) AS active_customers,
         stripe.ratio(coalesce(a.active, 0), co.cohort_size) AS retention,
         co.repeat_customers
    FROM cohorts co
    JOIN last_month l ON l.account IS NOT DISTINCT FROM co.account AND l.livemode = co.livemode
   CROSS JOIN LATERAL generate_series(0, ((extract(year FROM l.month) - extract(year FROM co.cohort_month)) * 12
                                          + extract(month FROM l.month) - extract(month FROM co.cohort_month))::int)
         AS o(month_offset)
    LEFT JOIN cells a ON a.account IS NOT DISTINCT FROM co.account AND a.livemode = co.livemode
                     AND a.cohort_month = co.cohort_month
                     AND a.month = (co.cohort_month + make_interval(months => o.month_offset))::date;

ALTER FUNCTION stripe.report(date, date, text, boolean, text) SET jit = off;
ALTER FUNCTION stripe.dashboard_html(date, date, text, boolean) SET jit = off;

REVOKE ALL ON FUNCTION stripe._payments_from_quarters(text, date, date), stripe._cohort_cells_from_charges() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stripe._payments_from_quarters(text, date, date), stripe._cohort_cells_from_charges()
TO stripe_reader;

-- report(): the customer sections hash instead of sorting. _report_customers reduces the period's
-- payments to one row per customer and week first; _report_rfm reads its partition's customers
-- once, for the cuts and the segments. Same output.
CREATE OR REPLACE FUNCTION stripe._report_customers(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (week date, customers bigint, new_customers bigint, returning_customers bigint, guest_payments bigint)
LANGUAGE sql STABLE SET enable_nestloop = off SET enable_sort = off AS $$
  -- The period's payments (index-only, on charges_period_idx) per customer and week, then the
  -- first payment of just those customers, joined on customer alone (a join on
  -- `account IS NOT DISTINCT FROM` cannot hash).
  WITH period AS MATERIALIZED (
    SELECT c.customer, date_trunc('week', c.created AT TIME ZONE stripe.reporting_timezone())::date AS week,
           count(*) AS payments
      FROM stripe.charges c
     WHERE c.account IS NOT DISTINCT FROM p_account AND c.livemode = p_livemode AND c.currency = p_currency
       AND c.status = 'succeeded'
       AND c.created >= stripe._period_start(p_from) AND c.created < stripe._period_start(p_to + 1)
     GROUP BY 1, 2),
  firsts AS MATERIALIZED (
    SELECT t.customer, t.first_payment_at
      FROM stripe.customer_totals t
     WHERE t.account IS NOT DISTINCT FROM p_account AND t.livemode = p_livemode AND t.currency = p_currency
       AND t.customer IN (SELECT customer FROM period)),
  pay AS MATERIALIZED (  -- customer x week (customer NULL: the guests' payments of the week)
    SELECT p.customer, p.week, p.payments, f.first_payment_at,
           date_trunc('week', f.first_payment_at AT TIME ZONE stripe.reporting_timezone())::date >= p.week AS is_new
      FROM period p LEFT JOIN firsts f ON f.customer = p.customer)
  -- every week of the period, zeros for a week without a payment
  SELECT g.week::date, coalesce(w.customers, 0), coalesce(w.new_customers, 0), coalesce(w.returning_customers, 0),
         coalesce(w.guest_payments, 0)
    FROM generate_series(date_trunc('week', p_from), p_to, interval '1 week') AS g(week)
    LEFT JOIN (SELECT p.week, count(p.customer) AS customers, count(p.customer) FILTER (WHERE p.is_new) AS new_customers,
                      count(p.customer) FILTER (WHERE NOT p.is_new) AS returning_customers,
                      coalesce(sum(p.payments) FILTER (WHERE p.customer IS NULL), 0)::bigint AS guest_payments
                 FROM pay p GROUP BY p.week) w ON w.week = g.week::date
  UNION ALL  -- the whole period: one row per customer
  SELECT NULL, count(c.customer), count(c.customer) FILTER (WHERE c.is_new),
         count(c.customer) FILTER (WHERE NOT c.is_new),
         coalesce(sum(c.payments) FILTER (WHERE c.customer IS NULL), 0)::bigint
    FROM (SELECT p.customer, sum(p.payments) AS payments,
                 min(p.first_payment_at) >= stripe._period_start(p_from) AS is_new
            FROM pay p GROUP BY p.customer) c
   ORDER BY 1 NULLS LAST
$$;

CREATE OR REPLACE FUNCTION stripe._report_rfm(p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (segment text, customers bigint, share numeric, avg_spent numeric, avg_recency_days numeric)
LANGUAGE sql STABLE SET enable_sort = off AS $$
  WITH p AS MATERIALIZED (
    SELECT c.last_payment_at, c.payments, c.total_spent, c.first_payment_at
      FROM stripe.customer_totals c
     WHERE c.account IS NOT DISTINCT FROM p_account AND c.livemode = p_livemode AND c.currency = p_currency
       AND c.payments >= 1),
  x AS MATERIALIZED (
    SELECT stripe._rfm_cuts_of(coalesce(p.last_payment_at, 'infinity')) AS r, stripe._rfm_cuts_of(p.payments) AS f
      FROM p),
  seg AS (
    SELECT stripe._rfm_segment(stripe._rfm_score(coalesce(p.last_payment_at, 'infinity'), x.r[1], x.r[2], x.r[3], x.r[4]),
                               stripe._rfm_score(p.payments, x.f[1], x.f[2], x.f[3], x.f[4])) AS segment,
           count(*) AS customers, avg(p.total_spent) AS avg_spent,
           avg(CASE WHEN p.recency_days < 0 THEN 0 ELSE p.recency_days END) AS avg_recency_days
      FROM (SELECT p.*, extract(epoch FROM stripe._period_start(p_to + 1) - p.last_payment_at) / 86400 AS recency_days
              FROM p WHERE p.first_payment_at < stripe._period_start(p_to + 1)) p
     CROSS JOIN x
     GROUP BY 1)
  SELECT s.segment, coalesce(g.customers, 0), stripe.ratio(coalesce(g.customers, 0), (SELECT sum(customers) FROM seg)),
         g.avg_spent, g.avg_recency_days
    FROM unnest(ARRAY['champions', 'loyal', 'promising', 'new', 'at_risk', 'hibernating']) WITH ORDINALITY AS s(segment, ord)
    LEFT JOIN seg g ON g.segment = s.segment
   ORDER BY s.ord
$$;
