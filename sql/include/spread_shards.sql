-- pg_temp.spread_shards(shards): spreads every row of the sharded aggregate tables over the given
-- shard numbers as concurrent transactions (or, before 0.3.4, a pool of sessions) leave them: each
-- listed shard gets a row with every measure divided by (the number listed + 1), rounded down, and
-- the row in shard 0 keeps the rest, so every sum is unchanged. Expects every row in shard 0.
-- Used by sql/shards.sql and by bench/reads.sh (the reads over spread aggregates).
CREATE FUNCTION pg_temp.spread_shards(shards integer[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t text; keys text; meas text; parts text; keep text; n integer := cardinality(shards) + 1;
BEGIN
  FOR t IN SELECT unnest(ARRAY['agg_payments', 'agg_payments_days', 'agg_cohorts', 'agg_declines',
                               'agg_methods', 'agg_customers', 'agg_checkout']) LOOP
    -- keys: every column but the shard and the (bigint) measures
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FILTER (WHERE atttypid <> 'int8'::regtype AND attname <> 'shard'),
           string_agg(quote_ident(attname), ', ' ORDER BY attnum) FILTER (WHERE atttypid = 'int8'::regtype),
           string_agg(format('%I / %s', attname, n), ', ' ORDER BY attnum) FILTER (WHERE atttypid = 'int8'::regtype),
           string_agg(format('%1$I = %1$I - %2$s * (%1$I / %3$s)', attname, n - 1, n), ', ' ORDER BY attnum) FILTER (WHERE atttypid = 'int8'::regtype)
      INTO keys, meas, parts, keep
      FROM pg_attribute WHERE attrelid = ('stripe.' || t)::regclass AND attnum > 0 AND NOT attisdropped;
    EXECUTE format('INSERT INTO stripe.%I (%s, shard, %s) SELECT %s, s, %s FROM stripe.%I, unnest($1) s',
                   t, keys, meas, keys, parts, t) USING shards;
    EXECUTE format('UPDATE stripe.%I SET %s WHERE shard = 0', t, keep);
  END LOOP;
END $$;
