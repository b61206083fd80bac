-- bench/sql/naive_reads.sql: the dashboard's figures computed naively, at query time, from the
-- jsonb event log (naive.events: id, type, created, body jsonb — what bench/sql/naive_ingest.sql
-- keeps; bench/reads.sh fills it from stripe.events). Each query first derives the latest state
-- of every object it needs from the log (the newest event that carries it: shopgen's events of
-- one object have strictly increasing created, so no tie rule is needed), then aggregates
-- exactly as SPEC §3 says. bench/reads.sh checks that they give the same rows as pg_stripe's
-- views, so both are the same figures.

CREATE SCHEMA IF NOT EXISTS naive;

-- Latest state of every charge / refund (own events and the lists embedded in charges) /
-- dispute, with the event's account and livemode.
CREATE FUNCTION naive.charges() RETURNS TABLE (o jsonb, account text, livemode boolean)
LANGUAGE sql STABLE AS $$
  SELECT DISTINCT ON (e.body->'data'->'object'->>'id')
         e.body->'data'->'object', e.body->>'account', (e.body->>'livemode')::boolean
    FROM naive.events e
   WHERE e.type LIKE 'charge.%' AND e.body->'data'->'object'->>'object' = 'charge'
   ORDER BY e.body->'data'->'object'->>'id', e.created DESC
$$;

CREATE FUNCTION naive.refunds() RETURNS TABLE (o jsonb, account text, livemode boolean)
LANGUAGE sql STABLE AS $$
  SELECT DISTINCT ON (r.o->>'id') r.o, r.account, r.livemode
    FROM (SELECT e.body->'data'->'object' AS o, e.created, e.body->>'account' AS account,
                 (e.body->>'livemode')::boolean AS livemode
            FROM naive.events e
           WHERE (e.type LIKE 'refund.%' OR e.type = 'charge.refund.updated')
          UNION ALL
          SELECT x.o, e.created, e.body->>'account', (e.body->>'livemode')::boolean
            FROM naive.events e, jsonb_array_elements(e.body->'data'->'object'->'refunds'->'data') x(o)
           WHERE e.type LIKE 'charge.%' AND e.body->'data'->'object'->>'object' = 'charge') r
   ORDER BY r.o->>'id', r.created DESC
$$;

CREATE FUNCTION naive.disputes() RETURNS TABLE (o jsonb, account text, livemode boolean)
LANGUAGE sql STABLE AS $$
  SELECT DISTINCT ON (e.body->'data'->'object'->>'id')
         e.body->'data'->'object', e.body->>'account', (e.body->>'livemode')::boolean
    FROM naive.events e
   WHERE e.type LIKE 'charge.dispute.%'
   ORDER BY e.body->'data'->'object'->>'id', e.created DESC
$$;

CREATE FUNCTION naive.local_day(unix text) RETURNS date
LANGUAGE sql STABLE AS $$
  SELECT (to_timestamp(unix::bigint) AT TIME ZONE stripe.reporting_timezone())::date
$$;

-- payments_daily for the days p_from .. p_to.
CREATE FUNCTION naive.payments_daily(p_from date, p_to date)
RETURNS TABLE (day date, account text, livemode boolean, currency text, successful_payments bigint,
               failed_payments bigint, gross_volume bigint, refunded_amount bigint, disputes bigint,
               net_volume bigint)
LANGUAGE sql STABLE AS $$
  WITH rows AS (
    SELECT naive.local_day(c.o->>'created') AS day, c.account, c.livemode, c.o->>'currency' AS currency,
           (c.o->>'status' = 'succeeded')::int AS succeeded, (c.o->>'status' = 'failed')::int AS failed,
           CASE WHEN c.o->>'status' = 'succeeded' THEN coalesce((c.o->>'amount_captured')::bigint, 0) ELSE 0 END AS gross,
           0::bigint AS refunded, 0 AS disputes, 0::bigint AS lost
      FROM naive.charges() c
    UNION ALL
    SELECT naive.local_day(r.o->>'created'), r.account, r.livemode, r.o->>'currency', 0, 0, 0,
           coalesce((r.o->>'amount')::bigint, 0), 0, 0
      FROM naive.refunds() r
     WHERE r.o->>'status' = 'succeeded' AND r.o->>'reason' IS DISTINCT FROM 'expired_uncaptured_charge'
    UNION ALL
    SELECT naive.local_day(d.o->>'created'), d.account, d.livemode, d.o->>'currency', 0, 0, 0, 0,
           (d.o->>'status' NOT LIKE 'warning\_%')::int,
           CASE WHEN d.o->>'status' = 'lost' THEN coalesce((d.o->>'amount')::bigint, 0) ELSE 0 END
      FROM naive.disputes() d)
  SELECT day, account, livemode, currency, sum(succeeded)::bigint, sum(failed)::bigint, sum(gross)::bigint,
         sum(refunded)::bigint, sum(disputes)::bigint, (sum(gross) - sum(refunded) - sum(lost))::bigint
    FROM rows
   WHERE day BETWEEN p_from AND p_to
   GROUP BY 1, 2, 3, 4
  HAVING (sum(succeeded), sum(failed), sum(gross), sum(refunded), sum(disputes), sum(lost)) <> (0, 0, 0, 0, 0, 0)
$$;

-- customer_rfm(as_of): customer_stats over the latest charges with a customer, refunds by the
-- refunded charge's customer, then the scores.
CREATE FUNCTION naive.customer_rfm(as_of timestamptz)
RETURNS TABLE (account text, livemode boolean, customer text, currency text, payments bigint,
               failed_payments bigint, total_spent bigint, refunded bigint, last_payment_at timestamptz,
               r_score integer, f_score integer, m_score integer, segment text)
LANGUAGE sql STABLE AS $$
  WITH ch AS MATERIALIZED (SELECT * FROM naive.charges()),
  pay AS (
    SELECT c.account, c.livemode, c.o->>'customer' AS customer, c.o->>'currency' AS currency,
           count(*) FILTER (WHERE c.o->>'status' = 'succeeded') AS payments,
           count(*) FILTER (WHERE c.o->>'status' = 'failed') AS failed_payments,
           coalesce(sum((c.o->>'amount_captured')::bigint) FILTER (WHERE c.o->>'status' = 'succeeded'), 0) AS total_spent,
           max(to_timestamp((c.o->>'created')::bigint)) FILTER (WHERE c.o->>'status' = 'succeeded') AS last_payment_at
      FROM ch c WHERE c.o->>'customer' IS NOT NULL
     GROUP BY 1, 2, 3, 4),
  ref AS (
    SELECT c.account, c.livemode, c.o->>'customer' AS customer, r.o->>'currency' AS currency,
           sum(coalesce((r.o->>'amount')::bigint, 0)) AS refunded
      FROM naive.refunds() r JOIN ch c ON c.o->>'id' = r.o->>'charge'
     WHERE r.o->>'status' = 'succeeded' AND r.o->>'reason' IS DISTINCT FROM 'expired_uncaptured_charge'
       AND c.o->>'customer' IS NOT NULL
     GROUP BY 1, 2, 3, 4),
  s AS (
    SELECT p.*, coalesce(f.refunded, 0) AS refunded,
           least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY p.account, p.livemode, p.currency ORDER BY p.last_payment_at)))::int AS r,
           least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY p.account, p.livemode, p.currency ORDER BY p.payments)))::int AS f,
           least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY p.account, p.livemode, p.currency ORDER BY p.total_spent)))::int AS m
      FROM pay p LEFT JOIN ref f ON f.account IS NOT DISTINCT FROM p.account AND f.livemode = p.livemode
                                 AND f.customer = p.customer AND f.currency = p.currency
     WHERE p.payments >= 1)
  SELECT account, livemode, customer, currency, payments, failed_payments, total_spent, refunded, last_payment_at,
         r, f, m,
         CASE WHEN r >= 4 AND f >= 4 THEN 'champions' WHEN f >= 4 THEN 'loyal'
              WHEN r <= 2 AND f >= 3 THEN 'at_risk' WHEN r <= 2 AND f <= 2 THEN 'hibernating'
              WHEN r >= 4 AND f <= 2 THEN 'new' ELSE 'promising' END
    FROM s
$$;

-- cohort_retention over the latest charges.
CREATE FUNCTION naive.cohort_retention()
RETURNS TABLE (cohort_month date, account text, livemode boolean, month_offset integer, cohort_size bigint,
               active_customers bigint, retention numeric, repeat_customers bigint)
LANGUAGE sql STABLE AS $$
  WITH pay AS MATERIALIZED (
    SELECT c.account, c.livemode, c.o->>'customer' AS customer,
           date_trunc('month', to_timestamp((c.o->>'created')::bigint) AT TIME ZONE stripe.reporting_timezone())::date AS month
      FROM naive.charges() c
     WHERE c.o->>'status' = 'succeeded' AND c.o->>'customer' IS NOT NULL),
  cust AS (SELECT account, livemode, customer, min(month) AS cohort_month, count(*) AS payments FROM pay GROUP BY 1, 2, 3),
  cohorts AS (SELECT account, livemode, cohort_month, count(*) AS cohort_size,
                     count(*) FILTER (WHERE payments >= 2) AS repeat_customers FROM cust GROUP BY 1, 2, 3),
  active AS (SELECT cu.account, cu.livemode, cu.cohort_month, p.month, count(DISTINCT p.customer) AS n
               FROM pay p JOIN cust cu ON cu.account IS NOT DISTINCT FROM p.account AND cu.livemode = p.livemode
                                      AND cu.customer = p.customer
              GROUP BY 1, 2, 3, 4),
  last_month AS (SELECT account, livemode, max(month) AS month FROM pay GROUP BY 1, 2)
  SELECT co.cohort_month, co.account, co.livemode, o.k, co.cohort_size, coalesce(a.n, 0),
         CASE WHEN co.cohort_size = 0 THEN NULL ELSE coalesce(a.n, 0)::numeric / co.cohort_size END,
         co.repeat_customers
    FROM cohorts co
    JOIN last_month l ON l.account IS NOT DISTINCT FROM co.account AND l.livemode = co.livemode
   CROSS JOIN LATERAL generate_series(0, ((extract(year FROM l.month) - extract(year FROM co.cohort_month)) * 12
                                          + extract(month FROM l.month) - extract(month FROM co.cohort_month))::int) o(k)
    LEFT JOIN active a ON a.account IS NOT DISTINCT FROM co.account AND a.livemode = co.livemode
                      AND a.cohort_month = co.cohort_month AND a.month = (co.cohort_month + make_interval(months => o.k))::date
$$;

-- The figures of stripe.report() for a period, naively: the naive queries above composed (daily
-- payments of the period, RFM segment sizes as of its end, the last 6 cohorts), plus the
-- period's declines and checkout funnel and the customers created in it, from the log too.
CREATE FUNCTION naive.report(p_from date, p_to date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'payments_daily', (SELECT jsonb_agg(to_jsonb(p) ORDER BY p.currency, p.day) FROM naive.payments_daily(p_from, p_to) p
                        WHERE p.account IS NULL AND p.livemode),
    'declines', (SELECT jsonb_object_agg(coalesce(k, '-'), n) FROM (
                   SELECT c.o->>'failure_code' AS k, count(*) AS n FROM naive.charges() c
                    WHERE c.account IS NULL AND c.livemode AND c.o->>'status' = 'failed'
                      AND naive.local_day(c.o->>'created') BETWEEN p_from AND p_to GROUP BY 1) d),
    'rfm_segments', (SELECT jsonb_object_agg(segment || ' ' || currency, n) FROM (
                       SELECT r.segment, r.currency, count(*) AS n
                         FROM naive.customer_rfm(((p_to + 1)::timestamp AT TIME ZONE stripe.reporting_timezone())) r
                        WHERE r.account IS NULL AND r.livemode GROUP BY 1, 2) s),
    'cohorts', (SELECT jsonb_agg(to_jsonb(c)) FROM naive.cohort_retention() c
                 WHERE c.account IS NULL AND c.livemode AND c.cohort_month > p_to - 186
                   AND (c.cohort_month + make_interval(months => c.month_offset))::date <= p_to),
    'funnel', (SELECT jsonb_build_object('sessions', count(*), 'completed', count(*) FILTER (WHERE s.o->>'status' = 'complete'),
                                         'expired', count(*) FILTER (WHERE s.o->>'status' = 'expired'))
                 FROM (SELECT DISTINCT ON (e.body->'data'->'object'->>'id') e.body->'data'->'object' AS o, e.body->>'account' AS account,
                              (e.body->>'livemode')::boolean AS livemode
                         FROM naive.events e WHERE e.type LIKE 'checkout.session.%'
                        ORDER BY e.body->'data'->'object'->>'id', e.created DESC) s
                WHERE s.account IS NULL AND s.livemode AND naive.local_day(s.o->>'created') BETWEEN p_from AND p_to),
    'new_customers', (SELECT count(DISTINCT e.body->'data'->'object'->>'id') FROM naive.events e
                       WHERE e.type LIKE 'customer.%' AND e.body->'data'->'object'->>'object' = 'customer'
                         AND e.body->>'account' IS NULL AND (e.body->>'livemode')::boolean
                         AND naive.local_day(e.body->'data'->'object'->>'created') BETWEEN p_from AND p_to))
$$;
