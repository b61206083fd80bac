
-------------------------------------------------------------------------------
-- §2 Endpoint management. SECURITY DEFINER with a pinned search_path; they never echo a secret,
-- and log_min_error_statement is raised for their duration so a failing call does not write its
-- statement text (which holds the secret) to the server log.
-------------------------------------------------------------------------------

CREATE FUNCTION stripe.create_endpoint(name text, secret text, tolerance integer DEFAULT 300)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET log_min_error_statement = panic AS $$
BEGIN
  IF name IS NULL OR name = '' THEN
    RAISE EXCEPTION 'endpoint name must not be empty' USING ERRCODE = '22023';
  END IF;
  IF secret IS NULL OR btrim(secret, E' \t\n\r\f\v') = '' THEN
    RAISE EXCEPTION 'No webhook secret value was provided. It should start with `whsec_`' USING ERRCODE = 'ST005';
  END IF;
  IF secret ~ '\s' THEN
    RAISE EXCEPTION 'the webhook secret contains whitespace' USING ERRCODE = '22023',
      HINT = 'Copy the secret again without surrounding spaces or newlines.';
  END IF;
  INSERT INTO stripe.endpoints AS e (name, secret, tolerance) VALUES (name, secret, tolerance);
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'endpoint "%" already exists', name USING ERRCODE = '42710',
    HINT = 'Use stripe.rotate_endpoint_secret to change its secret.';
WHEN integrity_constraint_violation THEN
  -- Same error without its DETAIL: "Failing row contains (name, secret, ...)" (a NULL tolerance)
  -- would show the secret to the caller and write it to the server log.
  RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = SQLERRM;
END $$;
COMMENT ON FUNCTION stripe.create_endpoint(text, text, integer) IS 'Creates a named webhook endpoint with its signing secret (whsec_...) and timestamp tolerance in seconds (<= 0 disables the age check).';

CREATE FUNCTION stripe.rotate_endpoint_secret(name text, new_secret text, overlap interval DEFAULT '24 hours')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET log_min_error_statement = panic AS $$
BEGIN
  IF new_secret IS NULL OR btrim(new_secret, E' \t\n\r\f\v') = '' THEN
    RAISE EXCEPTION 'No webhook secret value was provided. It should start with `whsec_`' USING ERRCODE = 'ST005';
  END IF;
  IF new_secret ~ '\s' THEN
    RAISE EXCEPTION 'the webhook secret contains whitespace' USING ERRCODE = '22023';
  END IF;
  UPDATE stripe.endpoints e
     SET previous_secret = e.secret, previous_expires_at = now() + coalesce(overlap, '0'),
         secret = new_secret, rotated_at = now()
   WHERE e.name = rotate_endpoint_secret.name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'endpoint "%" does not exist', name USING ERRCODE = 'ST020';
  END IF;
END $$;
COMMENT ON FUNCTION stripe.rotate_endpoint_secret(text, text, interval) IS 'Replaces an endpoint''s secret; the old one is still accepted for `overlap` (Stripe''s "roll secret" keeps both valid for a while).';

CREATE FUNCTION stripe.drop_endpoint(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM stripe.endpoints e WHERE e.name = drop_endpoint.name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'endpoint "%" does not exist', name USING ERRCODE = 'ST020';
  END IF;
END $$;

-- What an operator may see of endpoints: never the secrets.
CREATE VIEW stripe.endpoint_status AS
SELECT e.name, e.tolerance, e.created_at, e.rotated_at,
       e.previous_secret IS NOT NULL AND e.previous_expires_at > now() AS previous_secret_active,
       CASE WHEN e.previous_expires_at > now() THEN e.previous_expires_at END AS previous_secret_expires_at
  FROM stripe.endpoints e;
COMMENT ON VIEW stripe.endpoint_status IS 'Endpoints without their secrets: tolerance, rotation state.';

-- Internal: the usable secrets of an endpoint, for the C ingest path only (not granted).
-- RETURNS TABLE, so that the planner inlines it into the ingest path's prepared query (a
-- scalar SQL function would be planned again at every call).
CREATE FUNCTION stripe._endpoint_secrets(p_name text) RETURNS TABLE (secrets text[], tolerance integer)
LANGUAGE sql STABLE AS $$
  SELECT ARRAY[e.secret] || CASE WHEN e.previous_expires_at > now() THEN ARRAY[e.previous_secret] ELSE '{}'::text[] END,
         e.tolerance
    FROM stripe.endpoints e WHERE e.name = p_name
$$;

-------------------------------------------------------------------------------
-- §2 Ingest.
-------------------------------------------------------------------------------

CREATE TYPE stripe.ingest_result AS (
    status     text,   -- accepted | duplicate | rejected
    event_id   text,
    event_type text,
    reason     text,   -- for rejected: see stripe.rejected_deliveries.reason
    sqlstate   text    -- for rejected: the SQLSTATE of the failure class
);
COMMENT ON TYPE stripe.ingest_result IS 'What stripe.ingest did: accepted (answer 200), duplicate (200; nothing changed), rejected (answer 400; recorded in stripe.rejected_deliveries).';

CREATE FUNCTION stripe.ingest(payload text, sig_header text, endpoint text DEFAULT 'default')
RETURNS stripe.ingest_result
AS 'MODULE_PATHNAME', 'pg_stripe_ingest'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION stripe.ingest(text, text, text) IS 'Verifies a webhook delivery (raw body, Stripe-Signature header) against the named endpoint''s secret(s), then logs the event idempotently and updates object state and aggregates in the caller''s transaction.';

CREATE FUNCTION stripe.ingest(payload bytea, sig_header text, endpoint text DEFAULT 'default')
RETURNS stripe.ingest_result
AS 'MODULE_PATHNAME', 'pg_stripe_ingest'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION stripe.ingest(bytea, text, text) IS 'stripe.ingest for a raw body as bytes (signed exactly as given; must be UTF-8 JSON).';

CREATE FUNCTION stripe.ingest_event(event text) RETURNS stripe.ingest_result
AS 'MODULE_PATHNAME', 'pg_stripe_ingest_event'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION stripe.ingest_event(text) IS 'Trusted, unsigned ingest (backfill, replay, tests): logs the event idempotently and updates state. Raises on invalid events (SQLSTATE ST010/ST011/ST012/ST013).';

CREATE FUNCTION stripe.ingest_event(event jsonb) RETURNS stripe.ingest_result
AS 'MODULE_PATHNAME', 'pg_stripe_ingest_event'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION stripe.ingest_event(jsonb) IS 'stripe.ingest_event for a jsonb event (stored in jsonb''s text form).';

-- Applies one logged event's body to the object tables (no log insert): the replay step.
-- aggregates = false leaves the aggregates alone (stripe.rebuild() computes them in bulk after).
CREATE FUNCTION stripe._apply_event(body json, aggregates boolean DEFAULT true) RETURNS boolean
AS 'MODULE_PATHNAME', 'pg_stripe_apply_event'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION stripe.rebuild() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  n bigint := 0;
  e record;
BEGIN
  -- Everything derived from the log goes; the log is replayed in arrival order through the same
  -- apply statements as live ingest (object state), then every aggregate is computed in bulk from
  -- the object tables (stripe._aggregate_all). Replaying the incremental aggregate updates inside
  -- one transaction would make every update of a hot aggregate row walk all its earlier versions.
  TRUNCATE stripe.charges, stripe.payment_intents, stripe.refunds, stripe.disputes, stripe.customers,
           stripe.checkout_sessions, stripe.subscriptions, stripe.subscription_items, stripe.invoices;
  FOR e IN SELECT body FROM stripe.events ORDER BY seq LOOP
    PERFORM stripe._apply_event(e.body, false);
    n := n + 1;
  END LOOP;
  PERFORM stripe._aggregate_all();
  RETURN n;
END $$;
COMMENT ON FUNCTION stripe.rebuild() IS 'Recomputes every object table from stripe.events, replayed in arrival order, then every aggregate in bulk from the object tables. Takes exclusive locks (TRUNCATE); returns the number of events replayed.';

-- Reporting zones rolled up at ingest (see stripe.reporting_zones). Adding one fills its days
-- from the quarter-hours and its cohorts from the charges, in the same transaction. Every
-- ingesting transaction holds the "ingest" advisory lock in shared mode from its first event on
-- (lock_event_objects in src/pg/ingest.cpp; its key is the hash of 'stripe.ingest', which
-- hashtext computes alike): taking it exclusively waits for the ingest transactions in flight and
-- holds new ones back until commit, so a change is either in what this reads or written by an
-- ingest that already sees the zone. (Table locks instead could deadlock with an ingest that has
-- written one table and not yet the other.)
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
