
-------------------------------------------------------------------------------
-- §3 Analytics. Read from the aggregates maintained at every ingest: no refresh step.
-------------------------------------------------------------------------------

CREATE FUNCTION stripe.reporting_timezone() RETURNS text
AS 'MODULE_PATHNAME', 'pg_stripe_reporting_timezone'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stripe.reporting_timezone() IS 'The setting stripe.timezone (default UTC): days, weeks and months of every view are calendar buckets in this zone.';

-- The UTC instants bounding a period of local days: [from 00:00, to+1 00:00) in stripe.timezone.
CREATE FUNCTION stripe._period_start(d date) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT d::timestamp AT TIME ZONE stripe.reporting_timezone()
$$;

CREATE FUNCTION stripe._zone_name(zone text) RETURNS text
AS 'MODULE_PATHNAME', 'pg_stripe_zone_name'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stripe._zone_name(text) IS 'The canonical spelling of a time zone name (asia/seoul -> Asia/Seoul), as stripe.timezone keeps it; raises 22023 for an unknown zone.';

CREATE FUNCTION stripe.currency_exponent(currency text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN lower(currency) IN ('bif','clp','djf','gnf','jpy','kmf','krw','mga','pyg','rwf','ugx','vnd','vuv','xaf','xof','xpf') THEN 0
    WHEN lower(currency) IN ('bhd','jod','kwd','omr','tnd') THEN 3
    ELSE 2 END
$$;
COMMENT ON FUNCTION stripe.currency_exponent(text) IS 'Stripe''s minor-unit exponent: 0 for zero-decimal currencies (JPY, KRW, ...), 3 for BHD JOD KWD OMR TND, else 2.';

-- round(amount / 10^e, e), written as an exact multiplication by 10^-e (a numeric power and a
-- division cost twice as much, and a view shows three amounts per row). The round() matters for
-- averages, which are not whole minor units.
CREATE FUNCTION stripe.to_major(amount numeric, currency text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE stripe.currency_exponent(currency)
           WHEN 0 THEN round(amount) WHEN 3 THEN round(amount * 0.001, 3) ELSE round(amount * 0.01, 2) END
$$;
COMMENT ON FUNCTION stripe.to_major(numeric, text) IS 'An amount in minor units (as Stripe sends it) in major units, to the currency''s precision: 1234 usd -> 12.34, 1234 krw -> 1234, 1234 kwd -> 1.234.';

CREATE FUNCTION stripe.ratio(num numeric, den numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN den = 0 THEN NULL ELSE num / den END
$$;
COMMENT ON FUNCTION stripe.ratio(numeric, numeric) IS 'num/den, NULL when den is 0 (SPEC §3: a rate with a zero denominator is NULL).';

-- Is this zone rolled up by day at ingest (stripe.reporting_zones)? The views read the rollups
-- for it and skip the quarter-hours with a one-time filter (a call without column references;
-- a function whose body is a sub-select is not inlined, so it stays one). PARALLEL UNSAFE on
-- purpose: the planner would otherwise start parallel workers for the quarter-hour branch it
-- then skips (~8 ms each time) -- see stripe.payments for what that takes in an inlined function.
CREATE FUNCTION stripe._rolled_up(zone text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL UNSAFE AS $$
  SELECT EXISTS (SELECT FROM stripe.reporting_zones z WHERE z.zone = $1)
$$;

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

-- One definition for the three grains; `grain` is 'day', 'week' (ISO, Monday) or 'month'.
-- from_date/to_date (days in the reporting zone, inclusive) turn into a range of UTC buckets, so
-- a period reads through the aggregates' index and costs the same however long the history is.
-- PARALLEL UNSAFE like the stripe._rolled_up it calls: the planner decides whether a query may
-- use parallel workers before it inlines a set-returning SQL function, from the labels of the
-- functions the query names -- a SAFE label here let it run the skipped quarter-hour branch
-- under a Gather, starting two workers per read (most of an 18 ms payments_daily at 10M events).
CREATE FUNCTION stripe.payments(grain text, from_date date DEFAULT NULL, to_date date DEFAULT NULL)
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
COMMENT ON FUNCTION stripe.payments(text, date, date) IS 'payments_daily/_weekly/_monthly for a date_trunc grain (day, week, month) in the reporting time zone, optionally only the buckets of the days from_date..to_date (index range scan). Reads one row per day when the zone is in stripe.reporting_zones, UTC quarter-hours otherwise.';

CREATE VIEW stripe.payments_daily WITH (security_invoker = true) AS
  SELECT bucket AS day, account, livemode, currency, successful_payments, failed_payments, failure_rate,
         gross_volume, gross_volume_major, refunded_amount, refunded_amount_major, disputes, dispute_rate,
         net_volume, net_volume_major
    FROM stripe.payments('day');
CREATE VIEW stripe.payments_weekly WITH (security_invoker = true) AS
  SELECT bucket AS week, account, livemode, currency, successful_payments, failed_payments, failure_rate,
         gross_volume, gross_volume_major, refunded_amount, refunded_amount_major, disputes, dispute_rate,
         net_volume, net_volume_major
    FROM stripe.payments('week');
CREATE VIEW stripe.payments_monthly WITH (security_invoker = true) AS
  SELECT bucket AS month, account, livemode, currency, successful_payments, failed_payments, failure_rate,
         gross_volume, gross_volume_major, refunded_amount, refunded_amount_major, disputes, dispute_rate,
         net_volume, net_volume_major
    FROM stripe.payments('month');

CREATE VIEW stripe.decline_reasons WITH (security_invoker = true) AS
  SELECT d.account, d.livemode, d.failure_code, d.outcome_reason, d.failed_payments,
         stripe.ratio(d.failed_payments, sum(d.failed_payments) OVER (PARTITION BY d.account, d.livemode)) AS share
    FROM (SELECT account, livemode, failure_code, outcome_reason, sum(failed)::bigint AS failed_payments
            FROM stripe.agg_declines GROUP BY 1, 2, 3, 4) d
   WHERE d.failed_payments <> 0;

CREATE VIEW stripe.payment_method_mix WITH (security_invoker = true) AS
  SELECT m.account, m.livemode, m.currency, m.payment_method_type, m.card_brand,
         m.successful_payments, m.gross_volume, stripe.to_major(m.gross_volume, m.currency) AS gross_volume_major,
         stripe.ratio(m.gross_volume, sum(m.gross_volume) OVER (PARTITION BY m.account, m.livemode, m.currency)) AS share
    FROM (SELECT account, livemode, currency, payment_method_type, card_brand,
                 sum(succeeded)::bigint AS successful_payments, sum(gross)::bigint AS gross_volume
            FROM stripe.agg_methods GROUP BY 1, 2, 3, 4, 5) m
   WHERE m.successful_payments <> 0 OR m.gross_volume <> 0;

-- new_customers_daily's days from p_from to p_to (days of the reporting zone, inclusive), read
-- from those days' quarter-hours only: a zone's day is a whole number of quarter-hours. The view
-- is every day; the report asks for its period.
CREATE FUNCTION stripe._new_customer_days(p_from date, p_to date)
RETURNS TABLE (day date, account text, livemode boolean, new_customers bigint)
LANGUAGE sql STABLE AS $$
  SELECT (a.bucket AT TIME ZONE stripe.reporting_timezone())::date, a.account, a.livemode, sum(a.new_customers)::bigint
    FROM stripe.agg_customers a
   WHERE a.bucket >= stripe._period_start(p_from) AND a.bucket < stripe._period_start(p_to + 1)
   GROUP BY 1, 2, 3
  HAVING sum(a.new_customers) <> 0
$$;

-- The views keep account in the "C" collation of the tables (a function's text result has the
-- default one).
CREATE VIEW stripe.new_customers_daily WITH (security_invoker = true) AS
  SELECT n.day, n.account COLLATE "C" AS account, n.livemode, n.new_customers
    FROM stripe._new_customer_days('-infinity', 'infinity') n;

CREATE VIEW stripe.customer_stats WITH (security_invoker = true) AS
  SELECT t.account, t.livemode, t.customer, t.currency, t.first_payment_at, t.last_payment_at,
         t.payments, t.failed_payments,
         t.total_spent, stripe.to_major(t.total_spent, t.currency) AS total_spent_major,
         t.refunded, stripe.to_major(t.refunded, t.currency) AS refunded_major,
         t.total_spent - t.refunded AS net_spent, stripe.to_major(t.total_spent - t.refunded, t.currency) AS net_spent_major,
         stripe.ratio(t.total_spent, t.payments) AS avg_order_value,
         stripe.to_major(stripe.ratio(t.total_spent, t.payments), t.currency) AS avg_order_value_major,
         CASE WHEN t.payments >= 2
              THEN extract(epoch FROM t.last_payment_at - t.first_payment_at) / 86400 / (t.payments - 1) END
           AS avg_days_between_payments
    FROM stripe.customer_totals t
   WHERE t.payments <> 0 OR t.failed_payments <> 0 OR t.refunded <> 0;

-- RFM scores without window functions. In one dimension a customer's score depends only on c,
-- the number of customers of its (account, livemode, currency) with a strictly smaller value
-- (percent_rank = c/(n-1)), and it does not decrease as c grows; so score >= k exactly when
-- c >= T(k, n), that is when the value is greater than the T-th smallest value of the partition
-- (the T smallest are then all below it; otherwise at most T-1 are). Ties get the same score
-- because they are compared with the same cut. Four selections per partition and dimension
-- (stripe._rfm_cuts), then four comparisons per customer and dimension, instead of three sorts of
-- every customer row: the sorts spilled to disk and made the query superlinear (4.8 s for 517k
-- customers, 22x its time for 52k).

-- T(k, n): the least c with score >= k (k = 2..5); none when n <= 1 (every score is 1).
-- score >= k  <=>  floor(5c/(n-1)) >= k-1  <=>  5c >= (k-1)(n-1), so T = ceil((k-1)(n-1)/5).
-- percent_rank() works in float8, but at an exact boundary c/(n-1) = (k-1)/5 its quotient is the
-- double nearest (k-1)/5 whatever n is, and 5 times that rounds back to exactly k-1 for k = 2..5;
-- elsewhere the quotient is at least 1/(5(n-1)) away from a boundary. The rfm regression test
-- checks the cuts against the float8 formula for every n up to 600, the unit tests
-- (test/unit/rfm_test.cpp) for every n up to 5,000.

-- Per partition of customers with a payment: the values at the cuts T(2..5) of recency (by
-- last_payment_at, a missing one last, as ORDER BY puts it), frequency and monetary value.
-- stripe._rfm_cuts_of collects a group's values and selects the four ranks in C (src/pg/rfm.cpp,
-- src/core/rfm.cpp): hash aggregation over the few partitions, no sort of the customers.
CREATE FUNCTION stripe._rfm_cuts_add(internal, bigint) RETURNS internal
AS 'MODULE_PATHNAME', 'pg_stripe_rfm_cuts_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION stripe._rfm_cuts_add(internal, timestamptz) RETURNS internal
AS 'MODULE_PATHNAME', 'pg_stripe_rfm_cuts_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION stripe._rfm_cuts_bigint(internal) RETURNS bigint[]
AS 'MODULE_PATHNAME', 'pg_stripe_rfm_cuts_final_bigint' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION stripe._rfm_cuts_timestamptz(internal) RETURNS timestamptz[]
AS 'MODULE_PATHNAME', 'pg_stripe_rfm_cuts_final_timestamptz' LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- The values at ranks T(2..5, n) (1-based: the T-th smallest), T(k, n) = ceil((k-1)(n-1)/5);
-- NULL for fewer than two values. NULLs are skipped.
CREATE AGGREGATE stripe._rfm_cuts_of(bigint) (
  SFUNC = stripe._rfm_cuts_add, STYPE = internal, FINALFUNC = stripe._rfm_cuts_bigint, SSPACE = 8192,
  PARALLEL = SAFE);
CREATE AGGREGATE stripe._rfm_cuts_of(timestamptz) (
  SFUNC = stripe._rfm_cuts_add, STYPE = internal, FINALFUNC = stripe._rfm_cuts_timestamptz, SSPACE = 8192,
  PARALLEL = SAFE);

CREATE VIEW stripe._rfm_cuts WITH (security_invoker = true) AS
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
COMMENT ON VIEW stripe._rfm_cuts IS 'Internal to customer_rfm: per (account, livemode, currency) of customers with a payment, the values at which the recency (r), frequency (f) and monetary (m) scores step up to 2..5.';

-- A value's score against its partition's cuts (NULL cuts, n = 1: score 1).
CREATE FUNCTION stripe._rfm_score(v anyelement, c2 anyelement, c3 anyelement, c4 anyelement, c5 anyelement)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 1 + coalesce(v > c2, false)::int + coalesce(v > c3, false)::int
           + coalesce(v > c4, false)::int + coalesce(v > c5, false)::int
$$;

-- The SPEC's segment rules (first match: champions r>=4 f>=4, loyal f>=4, at_risk r<=2 f>=3,
-- hibernating r<=2 f<=2, new r>=4 f<=2, else promising) as a table of the 25 (r, f) pairs:
-- r and f each appear once, so the planner inlines it (a CASE over them, called with the score
-- expressions, would not be inlined and would cost a function call per customer).
CREATE FUNCTION stripe._rfm_segment(r integer, f integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (ARRAY[-- f = 1        f = 2          f = 3        f = 4        f = 5
                'hibernating', 'hibernating', 'at_risk',   'loyal',     'loyal',      -- r = 1
                'hibernating', 'hibernating', 'at_risk',   'loyal',     'loyal',      -- r = 2
                'promising',   'promising',   'promising', 'loyal',     'loyal',      -- r = 3
                'new',         'new',         'promising', 'champions', 'champions',  -- r = 4
                'new',         'new',         'promising', 'champions', 'champions'   -- r = 5
          ])[(r - 1) * 5 + f]
$$;

-- The cuts are computed once per call (MATERIALIZED: a join the planner misjudges must not
-- recompute them per customer); the join on account is made hashable without merging the
-- platform's NULL account with any account id.
CREATE FUNCTION stripe.customer_rfm(as_of timestamptz DEFAULT now())
RETURNS TABLE (account text, livemode boolean, customer text, currency text,
               first_payment_at timestamptz, last_payment_at timestamptz, payments bigint, failed_payments bigint,
               total_spent bigint, refunded bigint, net_spent bigint, avg_order_value numeric,
               avg_days_between_payments numeric, recency_days numeric,
               r_score integer, f_score integer, m_score integer, segment text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  WITH x AS MATERIALIZED (SELECT * FROM stripe._rfm_cuts)
  SELECT s.account, s.livemode, s.customer, s.currency, s.first_payment_at, s.last_payment_at,
         s.payments, s.failed_payments, s.total_spent, s.refunded, s.net_spent, s.avg_order_value,
         s.avg_days_between_payments, s.recency_days, s.r, s.f, s.m, stripe._rfm_segment(s.r, s.f)
    FROM (SELECT c.*,
                 extract(epoch FROM as_of - c.last_payment_at) / 86400 AS recency_days,
                 stripe._rfm_score(coalesce(c.last_payment_at, 'infinity'), x.r2, x.r3, x.r4, x.r5) AS r,
                 stripe._rfm_score(c.payments, x.f2, x.f3, x.f4, x.f5) AS f,
                 stripe._rfm_score(c.total_spent, x.m2, x.m3, x.m4, x.m5) AS m
            FROM stripe.customer_stats c
            JOIN x ON (x.account IS NULL) = (c.account IS NULL) AND coalesce(x.account, '') = coalesce(c.account, '')
                  AND x.livemode = c.livemode AND x.currency = c.currency
           WHERE c.payments >= 1) s
$$;
COMMENT ON FUNCTION stripe.customer_rfm(timestamptz) IS 'Recency/frequency/monetary scores 1..5 per (account, livemode, currency): p = percent_rank() ascending, score = least(5, 1 + floor(5p)), ties share a score; segment = champions, loyal, at_risk, hibernating, new or promising (first rule that matches).';

-- For a reporting zone in stripe.reporting_zones, the cells (cohort x month) come from
-- agg_cohorts, kept at ingest: one row per cohort and month, however many payments.
--
-- Any other zone: read from charges_paid_idx (succeeded charges with a customer; an index-only
-- scan on a vacuumed table). The month of a payment in the reporting zone is computed once per
-- UTC quarter-hour, not once per payment (the time-zone conversion was most of this branch's
-- cost); exact because zone offsets are whole quarter-hours, as for the time-bucketed
-- aggregates. Then one row per customer and month, and a customer's cohort as a window over its
-- own months -- no join of payments to customers. A one-time filter skips this branch for a
-- rolled-up zone.
--
-- That branch is a function of its own, which the planner does not inline (it has a SET
-- clause): inlined, the skipped branch still counted in the view's estimated cost -- a sort of
-- every paid charge, over a million at 10M events -- and that cost set off Postgres' JIT compiler
-- (jit = on and jit_above_cost = 100000 by default): 0.7 s of compiling per read of a 3 ms view.
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

CREATE VIEW stripe.cohort_retention WITH (security_invoker = true) AS
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

-- checkout_funnel_daily's days from p_from to p_to, as stripe._new_customer_days.
CREATE FUNCTION stripe._checkout_days(p_from date, p_to date)
RETURNS TABLE (day date, account text, livemode boolean, sessions bigint, completed bigint, paid bigint, expired bigint)
LANGUAGE sql STABLE AS $$
  SELECT (a.bucket AT TIME ZONE stripe.reporting_timezone())::date, a.account, a.livemode, sum(a.sessions)::bigint,
         sum(a.completed)::bigint, sum(a.paid)::bigint, sum(a.expired)::bigint
    FROM stripe.agg_checkout a
   WHERE a.bucket >= stripe._period_start(p_from) AND a.bucket < stripe._period_start(p_to + 1)
   GROUP BY 1, 2, 3
  HAVING sum(a.sessions) <> 0
$$;

CREATE VIEW stripe.checkout_funnel_daily WITH (security_invoker = true) AS
  SELECT f.day, f.account COLLATE "C" AS account, f.livemode, f.sessions, f.completed, f.paid, f.expired,
         stripe.ratio(f.completed, f.completed + f.expired) AS conversion_rate
    FROM stripe._checkout_days('-infinity', 'infinity') f;
