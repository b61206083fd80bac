-- Aggregate shards. An ingesting transaction adds to the aggregate rows of the lowest shard no
-- other transaction in flight holds, so this suite's one session at a time always wrote shard 0
-- (specs/shards.spec has concurrent transactions). The data: the shop report.sql ingested and the
-- charges of zones.sql. Here the rows are spread over four shards by hand, as a pool of
-- connections leaves them (sums kept), and stripe.compact_aggregates() must fold them back
-- without changing a row of any view.
SELECT 'agg_payments' AS aggregate, array_agg(DISTINCT shard) AS shards FROM stripe.agg_payments
UNION ALL SELECT 'agg_checkout', array_agg(DISTINCT shard) FROM stripe.agg_checkout;

CREATE FUNCTION pg_temp.views() RETURNS TABLE (v text, r text) LANGUAGE sql AS $$
  SELECT 'daily', p::text FROM stripe.payments_daily p
  UNION ALL SELECT 'weekly', p::text FROM stripe.payments_weekly p
  UNION ALL SELECT 'monthly', p::text FROM stripe.payments_monthly p
  UNION ALL SELECT 'declines', p::text FROM stripe.decline_reasons p
  UNION ALL SELECT 'methods', p::text FROM stripe.payment_method_mix p
  UNION ALL SELECT 'new_customers', p::text FROM stripe.new_customers_daily p
  UNION ALL SELECT 'cohorts', p::text FROM stripe.cohort_retention p
  UNION ALL SELECT 'funnel', p::text FROM stripe.checkout_funnel_daily p
  UNION ALL SELECT 'report', p::text FROM stripe.report() p $$;
CREATE TEMP TABLE truth AS SELECT * FROM pg_temp.views();
SELECT v, count(*) AS rows FROM truth GROUP BY 1 ORDER BY 1;

-- Every aggregate row split over shards 0, 3, 5 and 7: a quarter of each measure (rounded down)
-- in 3, 5 and 7, the rest stays in 0.
\i sql/include/spread_shards.sql
SELECT pg_temp.spread_shards(ARRAY[3, 5, 7]);
SELECT shard, count(*) AS rows, sum(succeeded) AS succeeded, sum(gross) AS gross
  FROM stripe.agg_payments GROUP BY 1 ORDER BY 1;
-- The views sum over shards: still the same rows.
SELECT (SELECT count(*) FROM (SELECT * FROM truth EXCEPT ALL SELECT * FROM pg_temp.views()) x) AS missing,
       (SELECT count(*) FROM (SELECT * FROM pg_temp.views() EXCEPT ALL SELECT * FROM truth) x) AS extra;

-- Only an admin may fold.
CREATE ROLE regress_shard_reader IN ROLE stripe_reader;
SET ROLE regress_shard_reader;
SELECT * FROM stripe.compact_aggregates();
RESET ROLE;
DROP ROLE regress_shard_reader;

-- Folded: four shards had rows, a quarter of the rows stay, all in shard 0, the views unchanged.
SELECT aggregate, shards, rows_before, rows_after, rows_before = 4 * rows_after AS quarter
  FROM stripe.compact_aggregates();
SELECT 'agg_payments' AS aggregate, array_agg(DISTINCT shard) AS shards FROM stripe.agg_payments
UNION ALL SELECT 'agg_payments_days', array_agg(DISTINCT shard) FROM stripe.agg_payments_days
UNION ALL SELECT 'agg_cohorts', array_agg(DISTINCT shard) FROM stripe.agg_cohorts
UNION ALL SELECT 'agg_declines', array_agg(DISTINCT shard) FROM stripe.agg_declines
UNION ALL SELECT 'agg_methods', array_agg(DISTINCT shard) FROM stripe.agg_methods
UNION ALL SELECT 'agg_customers', array_agg(DISTINCT shard) FROM stripe.agg_customers
UNION ALL SELECT 'agg_checkout', array_agg(DISTINCT shard) FROM stripe.agg_checkout;
SELECT (SELECT count(*) FROM (SELECT * FROM truth EXCEPT ALL SELECT * FROM pg_temp.views()) x) AS missing,
       (SELECT count(*) FROM (SELECT * FROM pg_temp.views() EXCEPT ALL SELECT * FROM truth) x) AS extra;
-- The aggregates folded equal the ones computed in bulk from the object tables (stripe.rebuild's
-- second definition of every figure), row for row.
CREATE TEMP TABLE folded AS SELECT 'payments' AS t, to_jsonb(a) - 'shard' AS r FROM stripe.agg_payments a
  UNION ALL SELECT 'days', to_jsonb(a) - 'shard' FROM stripe.agg_payments_days a
  UNION ALL SELECT 'checkout', to_jsonb(a) - 'shard' FROM stripe.agg_checkout a;
SELECT stripe.rebuild() > 0 AS rebuilt;
CREATE TEMP TABLE bulk AS SELECT 'payments' AS t, to_jsonb(a) - 'shard' AS r FROM stripe.agg_payments a
  UNION ALL SELECT 'days', to_jsonb(a) - 'shard' FROM stripe.agg_payments_days a
  UNION ALL SELECT 'checkout', to_jsonb(a) - 'shard' FROM stripe.agg_checkout a;
SELECT t, count(*) AS rows FROM folded GROUP BY 1 ORDER BY 1;
SELECT 'folded only' AS side, * FROM (SELECT * FROM folded EXCEPT ALL SELECT * FROM bulk) x
UNION ALL
SELECT 'bulk only', * FROM (SELECT * FROM bulk EXCEPT ALL SELECT * FROM folded) x;

-- Nothing left to fold.
SELECT aggregate, shards, rows_before = rows_after AS unchanged FROM stripe.compact_aggregates();
