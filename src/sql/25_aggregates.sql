
-------------------------------------------------------------------------------
-- §3 Aggregate maintenance. Each object table has an AFTER INSERT OR UPDATE trigger that removes
-- the old row's contribution and adds the new one, so aggregates are exact at every commit and a
-- rebuild from the log gives the same numbers. Only changed contributions touch a row.
-------------------------------------------------------------------------------

CREATE FUNCTION stripe._bucket(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT date_bin('15 minutes', ts, timestamptz '2000-01-01 00:00:00+00')
$$;
COMMENT ON FUNCTION stripe._bucket(timestamptz) IS 'The UTC quarter-hour of a timestamp: the grain of the time-bucketed aggregates.';

CREATE FUNCTION stripe._shard() RETURNS smallint
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT (pg_backend_pid() % 16)::smallint $$;

CREATE FUNCTION stripe._add_payments(p_bucket timestamptz, p_account text, p_livemode boolean, p_currency text,
    d_succeeded bigint, d_failed bigint, d_gross bigint, d_refunded bigint, d_disputes bigint, d_lost bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_bucket IS NULL OR p_currency IS NULL
     OR (d_succeeded = 0 AND d_failed = 0 AND d_gross = 0 AND d_refunded = 0 AND d_disputes = 0 AND d_lost = 0) THEN
    RETURN;
  END IF;
  INSERT INTO stripe.agg_payments AS a
    (bucket, account, livemode, currency, shard, succeeded, failed, gross, refunded, disputes, lost_disputed)
  VALUES (p_bucket, p_account, p_livemode, p_currency, stripe._shard(),
          d_succeeded, d_failed, d_gross, d_refunded, d_disputes, d_lost)
  ON CONFLICT (bucket, account, livemode, currency, shard) DO UPDATE SET
    succeeded = a.succeeded + EXCLUDED.succeeded, failed = a.failed + EXCLUDED.failed,
    gross = a.gross + EXCLUDED.gross, refunded = a.refunded + EXCLUDED.refunded,
    disputes = a.disputes + EXCLUDED.disputes, lost_disputed = a.lost_disputed + EXCLUDED.lost_disputed;
END $$;

-- A customer's per-currency totals. first/last payment only move outward when a payment is
-- added; when one is taken away they are recomputed from stripe.charges (rare: a succeeded
-- charge is terminal), which the AFTER trigger already sees in its new state.
CREATE FUNCTION stripe._add_customer(p_account text, p_livemode boolean, p_customer text, p_currency text,
    d_payments bigint, d_failed bigint, d_spent bigint, d_refunded bigint, p_paid_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_customer IS NULL OR p_currency IS NULL
     OR (d_payments = 0 AND d_failed = 0 AND d_spent = 0 AND d_refunded = 0) THEN
    RETURN;
  END IF;
  INSERT INTO stripe.customer_totals AS t
    (account, livemode, customer, currency, payments, failed_payments, total_spent, refunded,
     first_payment_at, last_payment_at)
  VALUES (p_account, p_livemode, p_customer, p_currency, d_payments, d_failed, d_spent, d_refunded,
          CASE WHEN d_payments > 0 THEN p_paid_at END, CASE WHEN d_payments > 0 THEN p_paid_at END)
  ON CONFLICT (account, livemode, customer, currency) DO UPDATE SET
    payments = t.payments + EXCLUDED.payments,
    failed_payments = t.failed_payments + EXCLUDED.failed_payments,
    total_spent = t.total_spent + EXCLUDED.total_spent,
    refunded = t.refunded + EXCLUDED.refunded,
    first_payment_at = least(t.first_payment_at, EXCLUDED.first_payment_at),
    last_payment_at = greatest(t.last_payment_at, EXCLUDED.last_payment_at);
  IF d_payments < 0 THEN
    UPDATE stripe.customer_totals t SET (first_payment_at, last_payment_at) =
      (SELECT min(c.created), max(c.created) FROM stripe.charges c
        WHERE c.customer = p_customer AND c.account IS NOT DISTINCT FROM p_account
          AND c.livemode = p_livemode AND c.currency = p_currency AND c.status = 'succeeded')
    WHERE t.customer = p_customer AND t.account IS NOT DISTINCT FROM p_account
      AND t.livemode = p_livemode AND t.currency = p_currency;
  END IF;
END $$;

CREATE FUNCTION stripe._add_decline(p_account text, p_livemode boolean, p_code text, p_reason text, d bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stripe.agg_declines AS a (account, livemode, failure_code, outcome_reason, shard, failed)
  VALUES (p_account, p_livemode, p_code, p_reason, stripe._shard(), d)
  ON CONFLICT (account, livemode, failure_code, outcome_reason, shard) DO UPDATE SET failed = a.failed + d;
END $$;

CREATE FUNCTION stripe._add_method(p_account text, p_livemode boolean, p_currency text, p_type text, p_brand text,
    d_succeeded bigint, d_gross bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_currency IS NULL THEN RETURN; END IF;
  INSERT INTO stripe.agg_methods AS a (account, livemode, currency, payment_method_type, card_brand, shard, succeeded, gross)
  VALUES (p_account, p_livemode, p_currency, p_type, p_brand, stripe._shard(), d_succeeded, d_gross)
  ON CONFLICT (account, livemode, currency, payment_method_type, card_brand, shard)
  DO UPDATE SET succeeded = a.succeeded + d_succeeded, gross = a.gross + d_gross;
END $$;

CREATE FUNCTION stripe._charges_aggregate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  o_s int := 0; o_f int := 0; o_g bigint := 0;   -- old contribution
  n_s int := (NEW.status = 'succeeded')::int;
  n_f int := (NEW.status = 'failed')::int;
  n_g bigint := CASE WHEN NEW.status = 'succeeded' THEN coalesce(NEW.amount_captured, 0) ELSE 0 END;
  same_key boolean := false;
BEGIN
  -- Refunds of this charge follow its customer (refunds can arrive before their charge). The
  -- charge's lock (see _refunds_customer) makes a refund inserted concurrently either see this
  -- charge or be seen by this UPDATE; taken first, so every session locks charge, then its
  -- refunds, then the customer's totals.
  IF TG_OP = 'INSERT' OR OLD.customer IS DISTINCT FROM NEW.customer THEN
    PERFORM stripe._lock_charge(NEW.id);
    UPDATE stripe.refunds SET customer = NEW.customer
     WHERE charge = NEW.id AND customer IS DISTINCT FROM NEW.customer;
  END IF;

  n_s := coalesce(n_s, 0); n_f := coalesce(n_f, 0);
  IF TG_OP = 'UPDATE' THEN
    o_s := coalesce((OLD.status = 'succeeded')::int, 0);
    o_f := coalesce((OLD.status = 'failed')::int, 0);
    o_g := CASE WHEN OLD.status = 'succeeded' THEN coalesce(OLD.amount_captured, 0) ELSE 0 END;
    same_key := (OLD.created, OLD.account, OLD.livemode, OLD.currency)
                IS NOT DISTINCT FROM (NEW.created, NEW.account, NEW.livemode, NEW.currency);
  END IF;

  -- payments_*: by the charge's created
  IF same_key THEN
    PERFORM stripe._add_payments(stripe._bucket(NEW.created), NEW.account, NEW.livemode, NEW.currency,
                                 n_s - o_s, n_f - o_f, n_g - o_g, 0, 0, 0);
  ELSE
    IF TG_OP = 'UPDATE' THEN
      PERFORM stripe._add_payments(stripe._bucket(OLD.created), OLD.account, OLD.livemode, OLD.currency,
                                   -o_s, -o_f, -o_g, 0, 0, 0);
    END IF;
    PERFORM stripe._add_payments(stripe._bucket(NEW.created), NEW.account, NEW.livemode, NEW.currency,
                                 n_s, n_f, n_g, 0, 0, 0);
  END IF;

  -- decline_reasons (a shard row may go negative: only the sum over shards means anything)
  IF NOT (o_f = 1 AND n_f = 1 AND (OLD.account, OLD.livemode, OLD.failure_code, OLD.outcome_reason)
                                   IS NOT DISTINCT FROM (NEW.account, NEW.livemode, NEW.failure_code, NEW.outcome_reason)) THEN
    IF o_f = 1 THEN
      PERFORM stripe._add_decline(OLD.account, OLD.livemode, OLD.failure_code, OLD.outcome_reason, -1);
    END IF;
    IF n_f = 1 THEN
      PERFORM stripe._add_decline(NEW.account, NEW.livemode, NEW.failure_code, NEW.outcome_reason, 1);
    END IF;
  END IF;

  -- payment_method_mix
  IF NOT (o_s = 1 AND n_s = 1 AND o_g = n_g
          AND (OLD.account, OLD.livemode, OLD.currency, OLD.payment_method_type, OLD.card_brand)
              IS NOT DISTINCT FROM (NEW.account, NEW.livemode, NEW.currency, NEW.payment_method_type, NEW.card_brand)) THEN
    IF o_s = 1 THEN
      PERFORM stripe._add_method(OLD.account, OLD.livemode, OLD.currency, OLD.payment_method_type, OLD.card_brand, -1, -o_g);
    END IF;
    IF n_s = 1 THEN
      PERFORM stripe._add_method(NEW.account, NEW.livemode, NEW.currency, NEW.payment_method_type, NEW.card_brand, 1, n_g);
    END IF;
  END IF;

  -- customer_totals
  IF TG_OP = 'UPDATE' AND (OLD.account, OLD.livemode, OLD.customer, OLD.currency)
                          IS NOT DISTINCT FROM (NEW.account, NEW.livemode, NEW.customer, NEW.currency) THEN
    PERFORM stripe._add_customer(NEW.account, NEW.livemode, NEW.customer, NEW.currency,
                                 (n_s - coalesce((OLD.status = 'succeeded')::int, 0))::bigint,
                                 (n_f - coalesce((OLD.status = 'failed')::int, 0))::bigint,
                                 n_g - CASE WHEN OLD.status = 'succeeded' THEN coalesce(OLD.amount_captured, 0) ELSE 0 END,
                                 0, NEW.created);
  ELSE
    IF TG_OP = 'UPDATE' THEN
      PERFORM stripe._add_customer(OLD.account, OLD.livemode, OLD.customer, OLD.currency,
                                   -coalesce((OLD.status = 'succeeded')::int, 0)::bigint,
                                   -coalesce((OLD.status = 'failed')::int, 0)::bigint,
                                   -CASE WHEN OLD.status = 'succeeded' THEN coalesce(OLD.amount_captured, 0) ELSE 0 END,
                                   0, OLD.created);
    END IF;
    PERFORM stripe._add_customer(NEW.account, NEW.livemode, NEW.customer, NEW.currency,
                                 n_s::bigint, n_f::bigint, n_g, 0, NEW.created);
  END IF;

  RETURN NULL;
END $$;

CREATE TRIGGER charges_aggregate AFTER INSERT OR UPDATE ON stripe.charges
  FOR EACH ROW EXECUTE FUNCTION stripe._charges_aggregate();

-- Serializes, per charge id, "a refund reads its charge's customer" with "a charge pushes its
-- customer to its refunds": without it, a refund inserted while its charge is being inserted
-- by another session sees no charge, the charge's UPDATE does not see the uncommitted refund,
-- and the refund keeps customer NULL for good. Transaction-scoped advisory lock.
CREATE FUNCTION stripe._lock_charge(charge text) RETURNS void
LANGUAGE sql AS $$
  SELECT pg_advisory_xact_lock(hashtext('stripe.charges'), hashtext(charge))
$$;

-- A refund's customer is its charge's (NULL while the charge is unknown).
CREATE FUNCTION stripe._refunds_customer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.charge IS NOT NULL THEN
    PERFORM stripe._lock_charge(NEW.charge);  -- then read the charge with a fresh snapshot
    NEW.customer := (SELECT c.customer FROM stripe.charges c WHERE c.id = NEW.charge);
  ELSE
    NEW.customer := NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER refunds_customer BEFORE INSERT OR UPDATE ON stripe.refunds
  FOR EACH ROW EXECUTE FUNCTION stripe._refunds_customer();

-- Refunded amount: succeeded refunds, excluding the release of an expired authorization.
CREATE FUNCTION stripe.refund_counts(status text, reason text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(status = 'succeeded' AND reason IS DISTINCT FROM 'expired_uncaptured_charge', false)
$$;

CREATE FUNCTION stripe._refunds_aggregate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  o_r bigint := 0;
  n_r bigint := CASE WHEN stripe.refund_counts(NEW.status, NEW.reason) THEN coalesce(NEW.amount, 0) ELSE 0 END;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    o_r := CASE WHEN stripe.refund_counts(OLD.status, OLD.reason) THEN coalesce(OLD.amount, 0) ELSE 0 END;
    IF (OLD.created, OLD.account, OLD.livemode, OLD.currency, OLD.customer)
       IS NOT DISTINCT FROM (NEW.created, NEW.account, NEW.livemode, NEW.currency, NEW.customer)
       AND o_r = n_r THEN
      RETURN NULL;
    END IF;
    PERFORM stripe._add_payments(stripe._bucket(OLD.created), OLD.account, OLD.livemode, OLD.currency, 0, 0, 0, -o_r, 0, 0);
    PERFORM stripe._add_customer(OLD.account, OLD.livemode, OLD.customer, OLD.currency, 0, 0, 0, -o_r, NULL);
  END IF;
  PERFORM stripe._add_payments(stripe._bucket(NEW.created), NEW.account, NEW.livemode, NEW.currency, 0, 0, 0, n_r, 0, 0);
  PERFORM stripe._add_customer(NEW.account, NEW.livemode, NEW.customer, NEW.currency, 0, 0, 0, n_r, NULL);
  RETURN NULL;
END $$;

CREATE TRIGGER refunds_aggregate AFTER INSERT OR UPDATE ON stripe.refunds
  FOR EACH ROW EXECUTE FUNCTION stripe._refunds_aggregate();

CREATE FUNCTION stripe._disputes_aggregate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  o_d int := 0; o_l bigint := 0;
  n_d int := coalesce((NEW.status NOT LIKE 'warning\_%')::int, 0);
  n_l bigint := CASE WHEN NEW.status = 'lost' THEN coalesce(NEW.amount, 0) ELSE 0 END;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    o_d := coalesce((OLD.status NOT LIKE 'warning\_%')::int, 0);
    o_l := CASE WHEN OLD.status = 'lost' THEN coalesce(OLD.amount, 0) ELSE 0 END;
    IF (OLD.created, OLD.account, OLD.livemode, OLD.currency)
       IS NOT DISTINCT FROM (NEW.created, NEW.account, NEW.livemode, NEW.currency) THEN
      PERFORM stripe._add_payments(stripe._bucket(NEW.created), NEW.account, NEW.livemode, NEW.currency,
                                   0, 0, 0, 0, n_d - o_d, n_l - o_l);
      RETURN NULL;
    END IF;
    PERFORM stripe._add_payments(stripe._bucket(OLD.created), OLD.account, OLD.livemode, OLD.currency, 0, 0, 0, 0, -o_d, -o_l);
  END IF;
  PERFORM stripe._add_payments(stripe._bucket(NEW.created), NEW.account, NEW.livemode, NEW.currency, 0, 0, 0, 0, n_d, n_l);
  RETURN NULL;
END $$;

CREATE TRIGGER disputes_aggregate AFTER INSERT OR UPDATE ON stripe.disputes
  FOR EACH ROW EXECUTE FUNCTION stripe._disputes_aggregate();

-- New customers: every customer counts once, in the bucket of its created, deleted or not.
CREATE FUNCTION stripe._customers_aggregate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF (OLD.created, OLD.account, OLD.livemode) IS NOT DISTINCT FROM (NEW.created, NEW.account, NEW.livemode) THEN
      RETURN NULL;
    END IF;
    IF OLD.created IS NOT NULL THEN
      INSERT INTO stripe.agg_customers AS a (bucket, account, livemode, shard, new_customers)
      VALUES (stripe._bucket(OLD.created), OLD.account, OLD.livemode, stripe._shard(), -1)
      ON CONFLICT (bucket, account, livemode, shard) DO UPDATE SET new_customers = a.new_customers - 1;
    END IF;
  END IF;
  IF NEW.created IS NOT NULL THEN
    INSERT INTO stripe.agg_customers AS a (bucket, account, livemode, shard, new_customers)
    VALUES (stripe._bucket(NEW.created), NEW.account, NEW.livemode, stripe._shard(), 1)
    ON CONFLICT (bucket, account, livemode, shard) DO UPDATE SET new_customers = a.new_customers + 1;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER customers_aggregate AFTER INSERT OR UPDATE ON stripe.customers
  FOR EACH ROW EXECUTE FUNCTION stripe._customers_aggregate();

CREATE FUNCTION stripe._checkout_aggregate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  o record;
  n record;
BEGIN
  SELECT 1 AS s, (NEW.status = 'complete')::int AS c,
         (NEW.payment_status IN ('paid', 'no_payment_required'))::int AS p,
         (NEW.status = 'expired')::int AS e INTO n;
  IF TG_OP = 'UPDATE' THEN
    SELECT 1 AS s, (OLD.status = 'complete')::int AS c,
           (OLD.payment_status IN ('paid', 'no_payment_required'))::int AS p,
           (OLD.status = 'expired')::int AS e INTO o;
    IF (OLD.created, OLD.account, OLD.livemode) IS NOT DISTINCT FROM (NEW.created, NEW.account, NEW.livemode)
       AND (o.c, o.p, o.e) IS NOT DISTINCT FROM (n.c, n.p, n.e) THEN
      RETURN NULL;
    END IF;
    IF OLD.created IS NOT NULL THEN
      INSERT INTO stripe.agg_checkout AS a (bucket, account, livemode, shard, sessions, completed, paid, expired)
      VALUES (stripe._bucket(OLD.created), OLD.account, OLD.livemode, stripe._shard(),
              -1, -coalesce(o.c, 0), -coalesce(o.p, 0), -coalesce(o.e, 0))
      ON CONFLICT (bucket, account, livemode, shard) DO UPDATE SET
        sessions = a.sessions + EXCLUDED.sessions, completed = a.completed + EXCLUDED.completed,
        paid = a.paid + EXCLUDED.paid, expired = a.expired + EXCLUDED.expired;
    END IF;
  END IF;
  IF NEW.created IS NOT NULL THEN
    INSERT INTO stripe.agg_checkout AS a (bucket, account, livemode, shard, sessions, completed, paid, expired)
    VALUES (stripe._bucket(NEW.created), NEW.account, NEW.livemode, stripe._shard(),
            1, coalesce(n.c, 0), coalesce(n.p, 0), coalesce(n.e, 0))
    ON CONFLICT (bucket, account, livemode, shard) DO UPDATE SET
      sessions = a.sessions + EXCLUDED.sessions, completed = a.completed + EXCLUDED.completed,
      paid = a.paid + EXCLUDED.paid, expired = a.expired + EXCLUDED.expired;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER checkout_aggregate AFTER INSERT OR UPDATE ON stripe.checkout_sessions
  FOR EACH ROW EXECUTE FUNCTION stripe._checkout_aggregate();
