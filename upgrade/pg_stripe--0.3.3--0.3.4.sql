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
  -- The sharded aggregates. Of each, the key is its unique constraint without the shard, and
  -- every other column is a count or a sum (read from the catalog, so a column added to a table
  -- is carried over, never dropped with the rows that move).
  aggs    constant text[] := ARRAY['agg_payments', 'agg_payments_days', 'agg_cohorts', 'agg_declines',
                                   'agg_methods', 'agg_customers', 'agg_checkout'];
  present smallint[] := '{}';
  held    smallint[] := '{}';
  s       smallint;
  keys    text;
  meas    text;
  sums    text;
  adds    text;
BEGIN
  -- Shared, as every ingesting transaction holds it: add_reporting_zone and drop_reporting_zone
  -- (exclusive) never run while rows of their zone move.
  PERFORM pg_advisory_xact_lock_shared(hashtext('stripe.ingest'), 0);
  FOREACH aggregate IN ARRAY aggs LOOP
    EXECUTE format('SELECT array(SELECT DISTINCT shard FROM stripe.%I UNION SELECT unnest($1) ORDER BY 1)', aggregate)
      INTO present USING present;
  END LOOP;
  -- Only shards that have rows: the others stay free for the transactions that ingest meanwhile.
  FOREACH s IN ARRAY present LOOP
    IF pg_try_advisory_xact_lock(hashtext('stripe.shard'), s) THEN
      held := held || s;
    END IF;
  END LOOP;
  shards := cardinality(present);
  FOREACH aggregate IN ARRAY aggs LOOP
    EXECUTE format('SELECT count(*) FROM stripe.%I', aggregate) INTO rows_before;
    IF cardinality(held) > 1 THEN
      SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attnum = ANY (u.conkey)),
             string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attnum <> ALL (u.conkey)),
             string_agg(format('sum(%I)::bigint', a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attnum <> ALL (u.conkey)),
             string_agg(format('%1$I = a.%1$I + EXCLUDED.%1$I', a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attnum <> ALL (u.conkey))
        INTO keys, meas, sums, adds
        FROM pg_constraint u JOIN pg_attribute a ON a.attrelid = u.conrelid
       WHERE u.conrelid = format('stripe.%I', aggregate)::regclass AND u.contype = 'u'
         AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'shard';
      -- The moved rows, summed per key, added to the key's row in the lowest held shard.
      EXECUTE format('WITH moved AS (DELETE FROM stripe.%1$I WHERE shard = ANY ($1) RETURNING *) '
                     'INSERT INTO stripe.%1$I AS a (%2$s, shard, %3$s) '
                     'SELECT %2$s, $2, %4$s FROM moved GROUP BY %2$s '
                     'ON CONFLICT (%2$s, shard) DO UPDATE SET %5$s',
                     aggregate, keys, meas, sums, adds)
        USING held[2:], held[1];
    END IF;
    EXECUTE format('SELECT count(*) FROM stripe.%I', aggregate) INTO rows_after;
    RETURN NEXT;
  END LOOP;
  -- shards: how many had rows before; the rows of those held by a transaction in flight stay.
END $$;
COMMENT ON FUNCTION stripe.compact_aggregates() IS 'Folds the rows of every aggregate shard no ingesting transaction holds into the lowest of them (sums unchanged, fewer rows for the views to read); safe while ingesting. Returns each aggregate table''s rows before and after, and how many shards had rows.';

REVOKE ALL ON FUNCTION stripe.compact_aggregates() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stripe.compact_aggregates() TO stripe_admin;
