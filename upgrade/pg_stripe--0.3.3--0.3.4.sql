-- pg_stripe 0.3.3 -> 0.3.4 (ALTER EXTENSION pg_stripe UPDATE). Runs in one transaction; instant
-- (a function added, no table touched).
--
-- 0.3.4: an ingesting transaction claims its aggregate shard for the transaction, not for the
-- session (src/pg/ingest.cpp, in the shared library: every session that loads it after the
-- update does so), so a pool of connections no longer multiplies the aggregate rows by its size;
-- stripe.compact_aggregates() folds the rows of the shards written so far. Same figures.
\echo Use "ALTER EXTENSION pg_stripe UPDATE" to load this file. \quit

-- Folding the aggregate shards. An ingesting transaction adds its deltas to aggregate rows of
-- its own shard: the lowest number no other transaction in flight holds (a transaction-level
-- advisory lock, txn_shard in src/pg/ingest.cpp), so concurrent transactions never wait on each
-- other's rows. A bucket thus has a row for every shard that was used in it, and the views sum
-- them: after bursts with many connections, reads scan several rows per bucket (ten shards made
-- the report 1.7x and checkout_funnel_daily 5x slower at 1M events). This folds the rows of every
-- shard that no transaction holds now into the lowest of them, under the same locks, so ingest
-- goes on meanwhile (on other numbers) and never writes a row this moves or deletes. The sums are
-- unchanged; every key stays. Safe to run at any time (e.g. nightly); run it in READ COMMITTED.
CREATE FUNCTION stripe.compact_aggregates()
RETURNS TABLE (aggregate text, shards integer, rows_before bigint, rows_after bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  present smallint[];
  held    smallint[] := '{}';
  s       smallint;
  t       record;
BEGIN
  -- Shared, as every ingesting transaction holds it: add_reporting_zone and drop_reporting_zone
  -- (exclusive) never run while rows of their zone move.
  PERFORM pg_advisory_xact_lock_shared(hashtext('stripe.ingest'), 0);
  SELECT coalesce(array_agg(x.shard ORDER BY x.shard), '{}') INTO present FROM (
    SELECT DISTINCT shard FROM stripe.agg_payments UNION SELECT DISTINCT shard FROM stripe.agg_payments_days
    UNION SELECT DISTINCT shard FROM stripe.agg_cohorts UNION SELECT DISTINCT shard FROM stripe.agg_declines
    UNION SELECT DISTINCT shard FROM stripe.agg_methods UNION SELECT DISTINCT shard FROM stripe.agg_customers
    UNION SELECT DISTINCT shard FROM stripe.agg_checkout) x;
  -- Only shards that have rows: the others stay free for the transactions that ingest meanwhile.
  FOREACH s IN ARRAY present LOOP
    IF pg_try_advisory_xact_lock(hashtext('stripe.shard'), s) THEN
      held := held || s;
    END IF;
  END LOOP;
  shards := cardinality(present);
  FOR t IN SELECT * FROM (VALUES
      ('agg_payments', ARRAY['bucket', 'account', 'livemode', 'currency'],
                       ARRAY['succeeded', 'failed', 'gross', 'refunded', 'disputes', 'lost_disputed']),
      ('agg_payments_days', ARRAY['zone', 'day', 'account', 'livemode', 'currency'],
                            ARRAY['succeeded', 'failed', 'gross', 'refunded', 'disputes', 'lost_disputed']),
      ('agg_cohorts', ARRAY['zone', 'account', 'livemode', 'cohort_month', 'month'], ARRAY['customers', 'repeat_customers']),
      ('agg_declines', ARRAY['account', 'livemode', 'failure_code', 'outcome_reason'], ARRAY['failed']),
      ('agg_methods', ARRAY['account', 'livemode', 'currency', 'payment_method_type', 'card_brand'], ARRAY['succeeded', 'gross']),
      ('agg_customers', ARRAY['bucket', 'account', 'livemode'], ARRAY['new_customers']),
      ('agg_checkout', ARRAY['bucket', 'account', 'livemode'], ARRAY['sessions', 'completed', 'paid', 'expired'])
    ) v(name, keys, measures) LOOP
    aggregate := t.name;
    EXECUTE format('SELECT count(*) FROM stripe.%I', t.name) INTO rows_before;
    IF cardinality(held) > 1 THEN
      -- The moved rows, summed per key, added to the key's row in the lowest held shard.
      EXECUTE format('WITH moved AS (DELETE FROM stripe.%1$I WHERE shard = ANY ($1) RETURNING *) '
                     'INSERT INTO stripe.%1$I AS a (%2$s, shard, %3$s) '
                     'SELECT %2$s, $2, %4$s FROM moved GROUP BY %2$s '
                     'ON CONFLICT (%2$s, shard) DO UPDATE SET %5$s',
                     t.name,
                     (SELECT string_agg(quote_ident(k), ', ') FROM unnest(t.keys) k),
                     (SELECT string_agg(quote_ident(m), ', ') FROM unnest(t.measures) m),
                     (SELECT string_agg(format('sum(%I)::bigint', m), ', ') FROM unnest(t.measures) m),
                     (SELECT string_agg(format('%1$I = a.%1$I + EXCLUDED.%1$I', m), ', ') FROM unnest(t.measures) m))
        USING held[2:], held[1];
    END IF;
    EXECUTE format('SELECT count(*) FROM stripe.%I', t.name) INTO rows_after;
    RETURN NEXT;
  END LOOP;
  -- shards: how many had rows before; the rows of those held by a transaction in flight stay.
END $$;
COMMENT ON FUNCTION stripe.compact_aggregates() IS 'Folds the rows of every aggregate shard no ingesting transaction holds into the lowest of them (sums unchanged, fewer rows for the views to read); safe while ingesting. Returns each aggregate table''s rows before and after, and how many shards had rows.';

REVOKE ALL ON FUNCTION stripe.compact_aggregates() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stripe.compact_aggregates() TO stripe_admin;
