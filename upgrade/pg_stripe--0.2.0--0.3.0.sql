-- pg_stripe 0.2.0 -> 0.3.0 (ALTER EXTENSION pg_stripe UPDATE). Runs in one transaction.
--
-- 0.3.0: for the reporting zones listed in stripe.reporting_zones (UTC, plus any added with
-- stripe.add_reporting_zone), payments_daily/_weekly/_monthly and stripe.payments() read a
-- per-day rollup written by the same ingest statements as the quarter-hours, and
-- cohort_retention reads a cohort x month matrix kept at ingest (src/core/cohort.cpp);
-- other zones are computed as before. The UTC rollups are filled here from the quarter-hours
-- and the charges (on a large history this takes a while: about the time of one
-- cohort_retention query in 0.2.0 plus a scan of agg_payments).
\echo Use "ALTER EXTENSION pg_stripe UPDATE" to load this file. \quit

CREATE TABLE stripe.reporting_zones (
    zone text COLLATE "C" PRIMARY KEY
);
INSERT INTO stripe.reporting_zones VALUES ('UTC');
COMMENT ON TABLE stripe.reporting_zones IS 'Time zones whose days are rolled up at ingest (agg_payments_days); manage with stripe.add_reporting_zone / stripe.drop_reporting_zone. Names in their canonical spelling, as stripe.timezone keeps them.';

CREATE TABLE stripe.agg_payments_days (
    zone          text COLLATE "C" NOT NULL,
    day           date NOT NULL,
    account       text COLLATE "C",
    livemode      boolean NOT NULL,
    currency      text COLLATE "C" NOT NULL,
    shard         smallint NOT NULL,
    succeeded     bigint NOT NULL DEFAULT 0,
    failed        bigint NOT NULL DEFAULT 0,
    gross         bigint NOT NULL DEFAULT 0,
    refunded      bigint NOT NULL DEFAULT 0,
    disputes      bigint NOT NULL DEFAULT 0,
    lost_disputed bigint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (zone, day, account, livemode, currency, shard)
);
COMMENT ON TABLE stripe.agg_payments_days IS 'agg_payments summed by calendar day in each of stripe.reporting_zones (same columns, same deltas, written by the same statements).';

-- cohort_retention for the reporting zones: each customer's succeeded payments (any currency)
-- per month of the zone, and per cohort (the month of a customer's first payment) the number of
-- its customers with a payment in each month. Kept at ingest (cohort_payment in src/pg/ingest.cpp), so
-- the view reads one row per cohort and month instead of every payment.
CREATE TABLE stripe.customer_months (
    zone     text COLLATE "C" NOT NULL,
    account  text COLLATE "C",
    livemode boolean NOT NULL,
    customer text COLLATE "C" NOT NULL,
    month    date NOT NULL,
    payments bigint NOT NULL,
    -- customer first: ingest looks a customer up with `account IS NOT DISTINCT FROM`, which no
    -- index can serve; the customer id alone is nearly unique.
    UNIQUE NULLS NOT DISTINCT (customer, zone, account, livemode, month)
);
COMMENT ON TABLE stripe.customer_months IS 'Succeeded charges of each customer (any currency) per calendar month in each of stripe.reporting_zones; rows with payments > 0 only.';

CREATE TABLE stripe.agg_cohorts (
    zone             text COLLATE "C" NOT NULL,
    account          text COLLATE "C",
    livemode         boolean NOT NULL,
    cohort_month     date NOT NULL,
    month            date NOT NULL,
    shard            smallint NOT NULL,
    customers        bigint NOT NULL DEFAULT 0,
    repeat_customers bigint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (zone, account, livemode, cohort_month, month, shard)
);
COMMENT ON TABLE stripe.agg_cohorts IS 'Per reporting zone and cohort: customers of the cohort with a succeeded payment in month (at month = cohort_month: the cohort size) and, on that row, those with >= 2 succeeded payments in total.';

CREATE OR REPLACE FUNCTION stripe._add_payments(p_created timestamptz, p_account text, p_livemode boolean, p_currency text,
    p_shard smallint, p_succeeded bigint, p_failed bigint, p_gross bigint) RETURNS void
LANGUAGE sql AS $$
  WITH quarter AS (
    INSERT INTO stripe.agg_payments AS a (bucket, account, livemode, currency, shard, succeeded, failed, gross)
    VALUES (stripe._bucket($1), $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (bucket, account, livemode, currency, shard) DO UPDATE SET
      succeeded = a.succeeded + EXCLUDED.succeeded, failed = a.failed + EXCLUDED.failed,
      gross = a.gross + EXCLUDED.gross)
  INSERT INTO stripe.agg_payments_days AS a (zone, day, account, livemode, currency, shard, succeeded, failed, gross)
  SELECT z.zone, (stripe._bucket($1) AT TIME ZONE z.zone)::date, $2, $3, $4, $5, $6, $7, $8
    FROM stripe.reporting_zones z
   ORDER BY 1
  ON CONFLICT (zone, day, account, livemode, currency, shard) DO UPDATE SET
    succeeded = a.succeeded + EXCLUDED.succeeded, failed = a.failed + EXCLUDED.failed,
    gross = a.gross + EXCLUDED.gross
$$;

CREATE OR REPLACE FUNCTION stripe._apply_refunds(r stripe.refunds, p_shard smallint) RETURNS boolean
LANGUAGE sql AS $$
  WITH old AS (SELECT * FROM stripe.refunds WHERE id = ($1).id),
  up AS (
    INSERT INTO stripe.refunds AS f
    SELECT (x.r).id, (x.r).account, (x.r).livemode, (x.r).created, (x.r).status, (x.r).amount, (x.r).currency,
           (x.r).charge, (x.r).payment_intent, (x.r).reason,
           (SELECT ch.customer FROM stripe.charges ch WHERE ch.id = (x.r).charge),
           (x.r).event_created, (x.r).event_id, (x.r).deleted, (x.r).data
      FROM (SELECT $1 AS r) x
    ON CONFLICT (id) DO UPDATE SET
      (account, livemode, created, status, amount, currency, charge, payment_intent, reason, customer,
       event_created, event_id, deleted, data)
    = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.amount,
       EXCLUDED.currency, EXCLUDED.charge, EXCLUDED.payment_intent, EXCLUDED.reason, EXCLUDED.customer,
       EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
    WHERE stripe.supersedes('refund', EXCLUDED.event_created, f.event_created, EXCLUDED.status, f.status,
                            EXCLUDED.deleted, f.deleted)
    RETURNING f.*),
  c AS (
    SELECT created, account, livemode, currency, customer,
           sign * CASE WHEN stripe.refund_counts(status, reason) THEN coalesce(amount, 0) ELSE 0 END AS refunded
      FROM (SELECT -1 AS sign, old.* FROM old WHERE EXISTS (SELECT FROM up)
            UNION ALL SELECT 1, up.* FROM up) contrib),
  pd AS (
    SELECT stripe._bucket(created) AS bucket, account, livemode, currency, sum(refunded) AS refunded
      FROM c WHERE created IS NOT NULL AND currency IS NOT NULL AND $2 IS NOT NULL
     GROUP BY 1, 2, 3, 4 HAVING sum(refunded) <> 0),
  payments AS (
    INSERT INTO stripe.agg_payments AS a (bucket, account, livemode, currency, shard, refunded)
    SELECT bucket, account, livemode, currency, $2, refunded FROM pd
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, account, livemode, currency, shard) DO UPDATE SET refunded = a.refunded + EXCLUDED.refunded),
  days AS (
    INSERT INTO stripe.agg_payments_days AS a (zone, day, account, livemode, currency, shard, refunded)
    SELECT z.zone, (pd.bucket AT TIME ZONE z.zone)::date, pd.account, pd.livemode, pd.currency, $2, sum(pd.refunded)
      FROM pd CROSS JOIN stripe.reporting_zones z
     GROUP BY 1, 2, 3, 4, 5 HAVING sum(pd.refunded) <> 0
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (zone, day, account, livemode, currency, shard) DO UPDATE SET refunded = a.refunded + EXCLUDED.refunded),
  customers AS (
    INSERT INTO stripe.customer_totals AS t (account, livemode, customer, currency, refunded)
    SELECT account, livemode, customer, currency, sum(refunded)
      FROM c WHERE customer IS NOT NULL AND currency IS NOT NULL AND $2 IS NOT NULL
     GROUP BY 1, 2, 3, 4 HAVING sum(refunded) <> 0
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (account, livemode, customer, currency) DO UPDATE SET refunded = t.refunded + EXCLUDED.refunded)
  SELECT EXISTS (SELECT FROM up)
$$;

CREATE OR REPLACE FUNCTION stripe._apply_disputes(r stripe.disputes, p_shard smallint) RETURNS boolean
LANGUAGE sql AS $$
  WITH old AS (SELECT * FROM stripe.disputes WHERE id = ($1).id),
  up AS (
    INSERT INTO stripe.disputes AS d SELECT ($1).*
    ON CONFLICT (id) DO UPDATE SET
      (account, livemode, created, status, amount, currency, charge, payment_intent, reason,
       event_created, event_id, deleted, data)
    = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.amount,
       EXCLUDED.currency, EXCLUDED.charge, EXCLUDED.payment_intent, EXCLUDED.reason,
       EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
    WHERE stripe.supersedes('dispute', EXCLUDED.event_created, d.event_created, EXCLUDED.status, d.status,
                            EXCLUDED.deleted, d.deleted)
    RETURNING d.*),
  c AS (
    SELECT created, account, livemode, currency,
           sign * coalesce((status NOT LIKE 'warning\_%')::int, 0) AS disputes,
           sign * CASE WHEN status = 'lost' THEN coalesce(amount, 0) ELSE 0 END AS lost
      FROM (SELECT -1 AS sign, old.* FROM old WHERE EXISTS (SELECT FROM up)
            UNION ALL SELECT 1, up.* FROM up) contrib),
  pd AS (
    SELECT stripe._bucket(created) AS bucket, account, livemode, currency, sum(disputes) AS disputes,
           sum(lost) AS lost
      FROM c WHERE created IS NOT NULL AND currency IS NOT NULL AND $2 IS NOT NULL
     GROUP BY 1, 2, 3, 4 HAVING (sum(disputes), sum(lost)) <> (0, 0)),
  payments AS (
    INSERT INTO stripe.agg_payments AS a (bucket, account, livemode, currency, shard, disputes, lost_disputed)
    SELECT bucket, account, livemode, currency, $2, disputes, lost FROM pd
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, account, livemode, currency, shard) DO UPDATE SET
      disputes = a.disputes + EXCLUDED.disputes, lost_disputed = a.lost_disputed + EXCLUDED.lost_disputed),
  days AS (
    INSERT INTO stripe.agg_payments_days AS a (zone, day, account, livemode, currency, shard, disputes, lost_disputed)
    SELECT z.zone, (pd.bucket AT TIME ZONE z.zone)::date, pd.account, pd.livemode, pd.currency, $2,
           sum(pd.disputes), sum(pd.lost)
      FROM pd CROSS JOIN stripe.reporting_zones z
     GROUP BY 1, 2, 3, 4, 5 HAVING (sum(pd.disputes), sum(pd.lost)) <> (0, 0)
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (zone, day, account, livemode, currency, shard) DO UPDATE SET
      disputes = a.disputes + EXCLUDED.disputes, lost_disputed = a.lost_disputed + EXCLUDED.lost_disputed)
  SELECT EXISTS (SELECT FROM up)
$$;

CREATE FUNCTION stripe._customer_months_of(p_account text, p_livemode boolean, p_customer text, p_created timestamptz)
RETURNS TABLE (zone text, month date, months date[], total bigint, in_month bigint)
LANGUAGE sql STABLE AS $$
  SELECT z.zone, m.month, c.months, c.total, c.in_month
    FROM stripe.reporting_zones z
   CROSS JOIN LATERAL (SELECT date_trunc('month', stripe._bucket($4) AT TIME ZONE z.zone)::date AS month) m
   CROSS JOIN LATERAL (
     SELECT array_agg(cm.month ORDER BY cm.month) AS months, coalesce(sum(cm.payments), 0)::bigint AS total,
            coalesce(sum(cm.payments) FILTER (WHERE cm.month = m.month), 0)::bigint AS in_month
       FROM stripe.customer_months cm
      WHERE cm.customer = $3 AND cm.zone = z.zone AND cm.account IS NOT DISTINCT FROM $1 AND cm.livemode = $2) c
   ORDER BY z.zone
$$;

CREATE FUNCTION stripe._set_customer_month(p_zone text, p_account text, p_livemode boolean, p_customer text,
    p_month date, p_payments bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO stripe.customer_months AS cm (zone, account, livemode, customer, month, payments)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (customer, zone, account, livemode, month) DO UPDATE SET payments = EXCLUDED.payments
$$;

CREATE FUNCTION stripe._drop_customer_month(p_zone text, p_account text, p_livemode boolean, p_customer text,
    p_month date) RETURNS void
LANGUAGE sql AS $$
  DELETE FROM stripe.customer_months cm
   WHERE cm.customer = $4 AND cm.zone = $1 AND cm.account IS NOT DISTINCT FROM $2 AND cm.livemode = $3
     AND cm.month = $5
$$;

CREATE FUNCTION stripe._add_cohort_cell(p_zone text, p_account text, p_livemode boolean, p_cohort_month date,
    p_month date, p_shard smallint, p_customers bigint, p_repeaters bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO stripe.agg_cohorts AS a (zone, account, livemode, cohort_month, month, shard, customers,
                                       repeat_customers)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (zone, account, livemode, cohort_month, month, shard) DO UPDATE SET
    customers = a.customers + EXCLUDED.customers, repeat_customers = a.repeat_customers + EXCLUDED.repeat_customers
$$;

CREATE FUNCTION stripe._aggregate_days(p_zone text) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO stripe.agg_payments_days (zone, day, account, livemode, currency, shard, succeeded, failed, gross,
                                        refunded, disputes, lost_disputed)
  SELECT z.zone, (a.bucket AT TIME ZONE z.zone)::date, a.account, a.livemode, a.currency, 0,
         sum(a.succeeded), sum(a.failed), sum(a.gross), sum(a.refunded), sum(a.disputes), sum(a.lost_disputed)
    FROM stripe.agg_payments a CROSS JOIN stripe.reporting_zones z
   WHERE p_zone IS NULL OR z.zone = p_zone
   GROUP BY 1, 2, 3, 4, 5
  HAVING (sum(a.succeeded), sum(a.failed), sum(a.gross), sum(a.refunded), sum(a.disputes), sum(a.lost_disputed))
         <> (0, 0, 0, 0, 0, 0)
$$;

CREATE FUNCTION stripe._aggregate_cohorts(p_zone text) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO stripe.customer_months (zone, account, livemode, customer, month, payments)
  SELECT z.zone, c.account, c.livemode, c.customer,
         date_trunc('month', stripe._bucket(c.created) AT TIME ZONE z.zone)::date, count(*)
    FROM stripe.charges c CROSS JOIN stripe.reporting_zones z
   WHERE c.status = 'succeeded' AND c.customer IS NOT NULL AND c.created IS NOT NULL
     AND (p_zone IS NULL OR z.zone = p_zone)
   GROUP BY 1, 2, 3, 4, 5;

  INSERT INTO stripe.agg_cohorts (zone, account, livemode, cohort_month, month, shard, customers, repeat_customers)
  SELECT x.zone, x.account, x.livemode, x.cohort_month, x.month, 0, count(*),
         count(*) FILTER (WHERE x.month = x.cohort_month AND x.total >= 2)
    FROM (SELECT cm.zone, cm.account, cm.livemode, cm.month, min(cm.month) OVER w AS cohort_month,
                 sum(cm.payments) OVER w AS total
            FROM stripe.customer_months cm
           WHERE p_zone IS NULL OR cm.zone = p_zone
          WINDOW w AS (PARTITION BY cm.zone, cm.account, cm.livemode, cm.customer)) x
   GROUP BY 1, 2, 3, 4, 5;
$$;

CREATE OR REPLACE FUNCTION stripe._aggregate_all() RETURNS void
LANGUAGE sql AS $$
  TRUNCATE stripe.agg_payments, stripe.agg_payments_days, stripe.customer_months, stripe.agg_cohorts, stripe.agg_declines, stripe.agg_methods, stripe.agg_customers,
           stripe.agg_checkout, stripe.customer_totals;

  INSERT INTO stripe.agg_payments (bucket, account, livemode, currency, shard, succeeded, failed, gross,
                                   refunded, disputes, lost_disputed)
  SELECT stripe._bucket(created), account, livemode, currency, 0,
         sum(succeeded), sum(failed), sum(gross), sum(refunded), sum(disputes), sum(lost)
    FROM (SELECT created, account, livemode, currency,
                 (status = 'succeeded')::int AS succeeded, (status = 'failed')::int AS failed,
                 CASE WHEN status = 'succeeded' THEN coalesce(amount_captured, 0) ELSE 0 END AS gross,
                 0 AS refunded, 0 AS disputes, 0 AS lost
            FROM stripe.charges
          UNION ALL
          SELECT created, account, livemode, currency, 0, 0, 0,
                 CASE WHEN stripe.refund_counts(status, reason) THEN coalesce(amount, 0) ELSE 0 END, 0, 0
            FROM stripe.refunds
          UNION ALL
          SELECT created, account, livemode, currency, 0, 0, 0, 0,
                 coalesce((status NOT LIKE 'warning\_%')::int, 0),
                 CASE WHEN status = 'lost' THEN coalesce(amount, 0) ELSE 0 END
            FROM stripe.disputes) x
   WHERE created IS NOT NULL AND currency IS NOT NULL
   GROUP BY 1, 2, 3, 4
  HAVING (sum(succeeded), sum(failed), sum(gross), sum(refunded), sum(disputes), sum(lost)) <> (0, 0, 0, 0, 0, 0);

  SELECT stripe._aggregate_days(NULL);

  INSERT INTO stripe.agg_declines (account, livemode, failure_code, outcome_reason, shard, failed)
  SELECT account, livemode, failure_code, outcome_reason, 0, count(*)
    FROM stripe.charges WHERE status = 'failed'
   GROUP BY 1, 2, 3, 4;

  INSERT INTO stripe.agg_methods (account, livemode, currency, payment_method_type, card_brand, shard, succeeded, gross)
  SELECT account, livemode, currency, payment_method_type, card_brand, 0, count(*), sum(coalesce(amount_captured, 0))
    FROM stripe.charges WHERE status = 'succeeded' AND currency IS NOT NULL
   GROUP BY 1, 2, 3, 4, 5;

  INSERT INTO stripe.agg_customers (bucket, account, livemode, shard, new_customers)
  SELECT stripe._bucket(created), account, livemode, 0, count(*)
    FROM stripe.customers WHERE created IS NOT NULL
   GROUP BY 1, 2, 3;

  INSERT INTO stripe.agg_checkout (bucket, account, livemode, shard, sessions, completed, paid, expired)
  SELECT stripe._bucket(created), account, livemode, 0, count(*),
         count(*) FILTER (WHERE status = 'complete'),
         count(*) FILTER (WHERE payment_status IN ('paid', 'no_payment_required')),
         count(*) FILTER (WHERE status = 'expired')
    FROM stripe.checkout_sessions WHERE created IS NOT NULL
   GROUP BY 1, 2, 3;

  INSERT INTO stripe.customer_totals (account, livemode, customer, currency, payments, failed_payments,
                                      total_spent, refunded, first_payment_at, last_payment_at)
  SELECT account, livemode, customer, currency, sum(payments), sum(failed), sum(spent), sum(refunded),
         min(paid_at), max(paid_at)
    FROM (SELECT account, livemode, customer, currency, (status = 'succeeded')::int AS payments,
                 (status = 'failed')::int AS failed,
                 CASE WHEN status = 'succeeded' THEN coalesce(amount_captured, 0) ELSE 0 END AS spent,
                 0 AS refunded, CASE WHEN status = 'succeeded' THEN created END AS paid_at
            FROM stripe.charges
          UNION ALL
          SELECT account, livemode, customer, currency, 0, 0, 0,
                 CASE WHEN stripe.refund_counts(status, reason) THEN coalesce(amount, 0) ELSE 0 END, NULL
            FROM stripe.refunds) x
   WHERE customer IS NOT NULL AND currency IS NOT NULL
   GROUP BY 1, 2, 3, 4
  HAVING (sum(payments), sum(failed), sum(spent), sum(refunded)) <> (0, 0, 0, 0);

  SELECT stripe._aggregate_cohorts(NULL);
$$;

CREATE FUNCTION stripe._rolled_up(zone text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL UNSAFE AS $$
  SELECT EXISTS (SELECT FROM stripe.reporting_zones z WHERE z.zone = $1)
$$;

CREATE OR REPLACE FUNCTION stripe.payments(grain text, from_date date DEFAULT NULL, to_date date DEFAULT NULL)
RETURNS TABLE (bucket date, account text, livemode boolean, currency text,
               successful_payments bigint, failed_payments bigint, failure_rate numeric,
               gross_volume bigint, gross_volume_major numeric,
               refunded_amount bigint, refunded_amount_major numeric,
               disputes bigint, dispute_rate numeric,
               net_volume bigint, net_volume_major numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
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
          SELECT date_trunc(grain, a.bucket AT TIME ZONE stripe.reporting_timezone())::date,
                 a.account, a.livemode, a.currency,
                 sum(a.succeeded)::bigint, sum(a.failed)::bigint, sum(a.gross)::bigint, sum(a.refunded)::bigint,
                 sum(a.disputes)::bigint, sum(a.lost_disputed)::bigint
            FROM stripe.agg_payments a
           WHERE NOT stripe._rolled_up(stripe.reporting_timezone())
             AND (from_date IS NULL OR a.bucket >= from_date::timestamp AT TIME ZONE stripe.reporting_timezone())
             AND (to_date IS NULL OR a.bucket < (to_date + 1)::timestamp AT TIME ZONE stripe.reporting_timezone())
           GROUP BY 1, 2, 3, 4) s
   WHERE (s.succeeded, s.failed, s.gross, s.refunded, s.disputes, s.lost) <> (0, 0, 0, 0, 0, 0)
$$;
COMMENT ON FUNCTION stripe.payments(text, date, date) IS 'payments_daily/_weekly/_monthly for a date_trunc grain (day, week, month) in the reporting time zone, optionally only the buckets of the days from_date..to_date (index range scan). Reads one row per day when the zone is in stripe.reporting_zones, UTC quarter-hours otherwise.';

CREATE OR REPLACE VIEW stripe.cohort_retention WITH (security_invoker = true) AS
  WITH paid AS MATERIALIZED (
    SELECT c.account, c.livemode, c.customer, stripe._bucket(c.created) AS quarter
      FROM stripe.charges c
     WHERE c.status = 'succeeded' AND c.customer IS NOT NULL AND c.created IS NOT NULL
       AND NOT stripe._rolled_up(stripe.reporting_timezone())),
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
    WINDOW w AS (PARTITION BY m.account, m.livemode, m.customer)),
  cells AS (  -- customers of a cohort active in a month; repeat customers on the cohort's own month
    SELECT a.account, a.livemode, a.cohort_month, a.month, sum(a.customers)::bigint AS active,
           sum(a.repeat_customers)::bigint AS repeaters
      FROM stripe.agg_cohorts a
     WHERE a.zone = stripe.reporting_timezone()
     GROUP BY 1, 2, 3, 4
    UNION ALL
    -- one row per customer and month: count(*) counts distinct customers
    SELECT account, livemode, cohort_month, month, count(*),
           count(*) FILTER (WHERE month = cohort_month AND payments >= 2)
      FROM cm GROUP BY 1, 2, 3, 4),
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

CREATE FUNCTION stripe._zone_name(zone text) RETURNS text
AS 'MODULE_PATHNAME', 'pg_stripe_zone_name'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stripe._zone_name(text) IS 'The canonical spelling of a time zone name (asia/seoul -> Asia/Seoul), as stripe.timezone keeps it; raises 22023 for an unknown zone.';

CREATE FUNCTION stripe.add_reporting_zone(zone text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF zone IS NULL OR zone = '' THEN
    RAISE EXCEPTION 'a reporting zone needs a name' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  zone := stripe._zone_name(zone);  -- as stripe.timezone spells it; an unknown zone raises (22023)
  PERFORM pg_advisory_xact_lock(hashtext('stripe.ingest'), 0);
  INSERT INTO stripe.reporting_zones AS z VALUES (zone) ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM stripe._aggregate_days(zone);
  PERFORM stripe._aggregate_cohorts(zone);
  RETURN true;
END $$;
COMMENT ON FUNCTION stripe.add_reporting_zone(text) IS 'Rolls payments_* up by day and cohort_retention up by cohort in this time zone, from now on and for the history (filled now): the views read the rollups when stripe.timezone names this zone (in any case: names are kept in their canonical spelling). Returns false if it already was.';

CREATE FUNCTION stripe.drop_reporting_zone(zone text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  zone := stripe._zone_name(zone);
  IF zone = 'UTC' THEN
    RAISE EXCEPTION 'UTC is always a reporting zone' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('stripe.ingest'), 0);
  DELETE FROM stripe.reporting_zones z WHERE z.zone = drop_reporting_zone.zone;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  DELETE FROM stripe.agg_payments_days d WHERE d.zone = drop_reporting_zone.zone;
  DELETE FROM stripe.customer_months d WHERE d.zone = drop_reporting_zone.zone;
  DELETE FROM stripe.agg_cohorts d WHERE d.zone = drop_reporting_zone.zone;
  RETURN true;
END $$;
COMMENT ON FUNCTION stripe.drop_reporting_zone(text) IS 'Stops rolling payments_* and cohort_retention up in this zone (the views then compute it from the quarter-hours and the charges). UTC stays.';

CREATE OR REPLACE FUNCTION stripe._report_rfm(p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (segment text, customers bigint, share numeric, avg_spent numeric, avg_recency_days numeric)
LANGUAGE sql STABLE AS $$
  -- Only the columns used: the CTE is materialized (read twice), and customer_rfm's money and
  -- ratio columns cost more than the ranking itself.
  WITH r AS (
    SELECT r.customer, r.segment, r.total_spent, r.recency_days
      FROM stripe.customer_rfm(stripe._period_start(p_to + 1)) r
     WHERE r.account IS NOT DISTINCT FROM p_account AND r.livemode = p_livemode AND r.currency = p_currency
       AND r.first_payment_at < stripe._period_start(p_to + 1))
  SELECT s.segment, count(r.customer), stripe.ratio(count(r.customer), (SELECT count(*) FROM r)),
         avg(r.total_spent), avg(CASE WHEN r.recency_days < 0 THEN 0 ELSE r.recency_days END)
    FROM unnest(ARRAY['champions', 'loyal', 'promising', 'new', 'at_risk', 'hibernating']) WITH ORDINALITY AS s(segment, ord)
    LEFT JOIN r ON r.segment = s.segment
   GROUP BY s.segment, s.ord
   ORDER BY s.ord
$$;

SELECT stripe._aggregate_days(NULL);
SELECT stripe._aggregate_cohorts(NULL);

REVOKE ALL ON stripe.reporting_zones, stripe.agg_payments_days, stripe.customer_months, stripe.agg_cohorts FROM PUBLIC;
REVOKE ALL ON FUNCTION stripe._customer_months_of(text, boolean, text, timestamptz),
  stripe._set_customer_month(text, text, boolean, text, date, bigint),
  stripe._drop_customer_month(text, text, boolean, text, date),
  stripe._add_cohort_cell(text, text, boolean, date, date, smallint, bigint, bigint),
  stripe._aggregate_days(text), stripe._aggregate_cohorts(text), stripe._rolled_up(text), stripe._zone_name(text),
  stripe.add_reporting_zone(text), stripe.drop_reporting_zone(text) FROM PUBLIC;
GRANT SELECT ON stripe.agg_payments_days, stripe.reporting_zones, stripe.customer_months, stripe.agg_cohorts
  TO stripe_reader;
GRANT EXECUTE ON FUNCTION stripe._rolled_up(text) TO stripe_reader;
GRANT EXECUTE ON FUNCTION stripe.add_reporting_zone(text), stripe.drop_reporting_zone(text) TO stripe_admin;
ALTER TABLE stripe.agg_payments_days ENABLE ROW LEVEL SECURITY;
CREATE POLICY account_scope ON stripe.agg_payments_days FOR SELECT USING (stripe.account_visible(account));
ALTER TABLE stripe.customer_months ENABLE ROW LEVEL SECURITY;
CREATE POLICY account_scope ON stripe.customer_months FOR SELECT USING (stripe.account_visible(account));
ALTER TABLE stripe.agg_cohorts ENABLE ROW LEVEL SECURITY;
CREATE POLICY account_scope ON stripe.agg_cohorts FOR SELECT USING (stripe.account_visible(account));
SELECT pg_catalog.pg_extension_config_dump('stripe.agg_payments_days', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.reporting_zones', 'WHERE zone <> ''UTC''');
SELECT pg_catalog.pg_extension_config_dump('stripe.customer_months', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.agg_cohorts', '');
