
-------------------------------------------------------------------------------
-- §2/§3 Applying an object state: one statement per object.
--
-- stripe._apply_<table>(r, shard) upserts the row under the ordering rule (stripe.supersedes)
-- and, in the same statement, moves the row's contribution to the aggregates from its old
-- state to its new one (charges: in the same transaction, see below). One statement instead of a cascade of triggers keeps ingest cheap (a
-- statement costs about as much as the whole rest of an event), and every number is written
-- by the same statement that changed the object, so aggregates are exact at every commit.
--
-- They are SQL functions so that they read, and can be called, as SQL; but the C ingest path
-- does not call them: it prepares each body once per session as a statement of its own (a
-- SQL function with data-modifying CTEs is planned again at every call), which is why the
-- bodies name their arguments $1 (r, the incoming row) and $2 (the aggregate shard). A NULL
-- shard applies the object state only: stripe.rebuild() replays the log that way and then
-- computes the aggregates in bulk (stripe._aggregate_all), an independent second definition
-- of every figure that the tests compare with the incremental one.
--
-- Concurrency: the C caller holds a transaction advisory lock on the object (and, for a refund,
-- on its charge) before calling, so `old` below -- read with this statement's snapshot -- is the
-- latest committed state, and nobody else changes the row until commit. `shard` is a number no
-- other live session uses (claimed by the C layer), so concurrent sessions never wait on, or
-- deadlock over, one another's aggregate rows; views sum over shards. Rows of customer_totals
-- are per customer and written in key order.
-------------------------------------------------------------------------------

CREATE FUNCTION stripe._bucket(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT date_bin('15 minutes', ts, timestamptz '2000-01-01 00:00:00+00')
$$;
COMMENT ON FUNCTION stripe._bucket(timestamptz) IS 'The UTC quarter-hour of a timestamp: the grain of the time-bucketed aggregates.';

-- Refunded amount: succeeded refunds, excluding the release of an expired authorization.
CREATE FUNCTION stripe.refund_counts(status text, reason text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(status = 'succeeded' AND reason IS DISTINCT FROM 'expired_uncaptured_charge', false)
$$;
COMMENT ON FUNCTION stripe.refund_counts(text, text) IS 'SPEC §3: a refund counts in refunded amounts when it succeeded and is not the release of an expired authorization.';

-- Recomputes a customer's first/last payment after a succeeded payment was taken away (rare: a
-- succeeded charge is terminal). Adding a payment only ever moves them outward.
CREATE FUNCTION stripe._recompute_customer_span(p_account text, p_livemode boolean, p_customer text, p_currency text)
RETURNS void LANGUAGE sql AS $$
  UPDATE stripe.customer_totals t SET (first_payment_at, last_payment_at) =
    (SELECT min(c.created), max(c.created) FROM stripe.charges c
      WHERE c.customer = p_customer AND c.account IS NOT DISTINCT FROM p_account
        AND c.livemode = p_livemode AND c.currency = p_currency AND c.status = 'succeeded')
  WHERE t.customer = p_customer AND t.account IS NOT DISTINCT FROM p_account
    AND t.livemode = p_livemode AND t.currency = p_currency
$$;

-------------------------------------------------------------------------------
-- Charges: payments_* (succeeded, failed, captured volume), decline_reasons,
-- payment_method_mix, customer_totals; and refunds that arrived before their charge join its
-- customer.
--
-- A charge feeds four aggregates, so the all-in-one statement of the other objects would carry
-- six data-modifying CTEs, and its executor start-up alone cost more than the rest of an event.
-- For charges the statement below only applies the state and returns the facts the aggregates
-- read, before and after; the C layer computes the deltas (src/core/charge_deltas.cpp) and runs
-- only the small upserts that change something (stripe._add_* below), in the same transaction.
-------------------------------------------------------------------------------
CREATE TYPE stripe._charge_facts AS (
    account text, livemode boolean, created timestamptz, status text, amount_captured bigint,
    currency text, customer text, failure_code text, outcome_reason text, payment_method_type text,
    card_brand text);
COMMENT ON TYPE stripe._charge_facts IS 'The columns of a charge the aggregates read (internal).';

CREATE FUNCTION stripe._apply_charges(r stripe.charges, p_shard smallint,
    OUT applied boolean, OUT old_state stripe._charge_facts, OUT new_state stripe._charge_facts,
    OUT refunds_to_move boolean)
LANGUAGE sql AS $$
  WITH old AS (
    SELECT ROW(account, livemode, created, status, amount_captured, currency, customer, failure_code,
               outcome_reason, payment_method_type, card_brand)::stripe._charge_facts AS f
      FROM stripe.charges WHERE id = ($1).id),
  up AS (
    INSERT INTO stripe.charges AS c SELECT ($1).*
    ON CONFLICT (id) DO UPDATE SET
      (account, livemode, created, status, amount, amount_captured, amount_refunded, currency, customer,
       payment_intent, invoice, captured, refunded, disputed, failure_code, outcome_type, outcome_reason,
       payment_method_type, card_brand, event_created, event_id, deleted, data)
    = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.amount,
       EXCLUDED.amount_captured, EXCLUDED.amount_refunded, EXCLUDED.currency, EXCLUDED.customer,
       EXCLUDED.payment_intent, EXCLUDED.invoice, EXCLUDED.captured, EXCLUDED.refunded, EXCLUDED.disputed,
       EXCLUDED.failure_code, EXCLUDED.outcome_type, EXCLUDED.outcome_reason, EXCLUDED.payment_method_type,
       EXCLUDED.card_brand, EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
    WHERE stripe.supersedes('charge', EXCLUDED.event_created, c.event_created, EXCLUDED.status, c.status,
                            EXCLUDED.deleted, c.deleted)
      -- monotone amounts never go down on a tie
      AND (EXCLUDED.event_created > c.event_created
           OR (coalesce(EXCLUDED.amount_refunded, 0) >= coalesce(c.amount_refunded, 0)
               AND coalesce(EXCLUDED.amount_captured, 0) >= coalesce(c.amount_captured, 0)))
    RETURNING c.id, c.customer,
              ROW(c.account, c.livemode, c.created, c.status, c.amount_captured, c.currency, c.customer,
                  c.failure_code, c.outcome_reason, c.payment_method_type, c.card_brand)::stripe._charge_facts AS f)
  -- Refunds known before this charge (or under another customer) must follow its customer:
  -- stripe._move_refunds, run by the caller when this says so.
  SELECT u.id IS NOT NULL, o.f, u.f,
         u.id IS NOT NULL AND EXISTS (SELECT FROM stripe.refunds x
                                       WHERE x.charge = u.id AND x.customer IS DISTINCT FROM u.customer)
    FROM (SELECT) one LEFT JOIN up u ON true LEFT JOIN old o ON true
$$;

-- The aggregate deltas of a charge change, one row each (computed by src/core/charge_deltas.cpp).
CREATE FUNCTION stripe._add_payments(p_created timestamptz, p_account text, p_livemode boolean, p_currency text,
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

CREATE FUNCTION stripe._add_declines(p_account text, p_livemode boolean, p_failure_code text,
    p_outcome_reason text, p_shard smallint, p_failed bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO stripe.agg_declines AS a (account, livemode, failure_code, outcome_reason, shard, failed)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (account, livemode, failure_code, outcome_reason, shard) DO UPDATE SET
    failed = a.failed + EXCLUDED.failed
$$;

CREATE FUNCTION stripe._add_methods(p_account text, p_livemode boolean, p_currency text,
    p_payment_method_type text, p_card_brand text, p_shard smallint, p_succeeded bigint, p_gross bigint)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO stripe.agg_methods AS a (account, livemode, currency, payment_method_type, card_brand, shard,
                                       succeeded, gross)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (account, livemode, currency, payment_method_type, card_brand, shard) DO UPDATE SET
    succeeded = a.succeeded + EXCLUDED.succeeded, gross = a.gross + EXCLUDED.gross
$$;

-- cohort_retention: a succeeded payment of a customer arrives or leaves (the cohort deltas of
-- src/core/charge_deltas.cpp). The C layer holds the customer's lock, reads the customer's months
-- in every reporting zone (_customer_months_of), computes what changes (src/core/cohort.cpp:
-- usually one cell or none) and writes it (_set/_drop_customer_month, _add_cohort_cell). The
-- zones are read under the ingest lock: stripe.add_reporting_zone has either committed (the zone
-- is listed) or waits for this transaction.
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

-- p_paid_at: the created of a succeeded payment added (NULL if none); first/last only move out.
CREATE FUNCTION stripe._add_customer(p_account text, p_livemode boolean, p_customer text, p_currency text,
    p_payments bigint, p_failed bigint, p_spent bigint, p_paid_at timestamptz) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO stripe.customer_totals AS t (account, livemode, customer, currency, payments, failed_payments,
                                           total_spent, first_payment_at, last_payment_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
  ON CONFLICT (account, livemode, customer, currency) DO UPDATE SET
    payments = t.payments + EXCLUDED.payments, failed_payments = t.failed_payments + EXCLUDED.failed_payments,
    total_spent = t.total_spent + EXCLUDED.total_spent,
    first_payment_at = least(t.first_payment_at, EXCLUDED.first_payment_at),
    last_payment_at = greatest(t.last_payment_at, EXCLUDED.last_payment_at)
$$;

-- Refunds of a charge filed under another customer (they arrived first, or the charge changed
-- customer) follow the charge's customer now; their refunded amounts move with them in
-- customer_totals (unless p_shard is NULL: replay, no aggregates).
CREATE FUNCTION stripe._move_refunds(p_charge text, p_shard smallint) RETURNS bigint
LANGUAGE sql AS $$
  WITH ch AS (SELECT id, customer FROM stripe.charges WHERE id = $1),
  before AS (
    SELECT f.id, f.customer, f.account, f.livemode, f.currency,
           CASE WHEN stripe.refund_counts(f.status, f.reason) THEN coalesce(f.amount, 0) ELSE 0 END AS refunded
      FROM stripe.refunds f JOIN ch ON f.charge = ch.id
     WHERE f.customer IS DISTINCT FROM ch.customer),
  moved AS (
    UPDATE stripe.refunds f SET customer = ch.customer FROM ch, before b WHERE f.id = b.id RETURNING f.id),
  customers AS (
    INSERT INTO stripe.customer_totals AS t (account, livemode, customer, currency, refunded)
    SELECT account, livemode, customer, currency, sum(refunded)
      FROM (SELECT b.account, b.livemode, b.customer, b.currency, -b.refunded AS refunded FROM before b
            UNION ALL
            SELECT b.account, b.livemode, ch.customer, b.currency, b.refunded FROM before b, ch) d
     WHERE customer IS NOT NULL AND currency IS NOT NULL AND $2 IS NOT NULL
     GROUP BY 1, 2, 3, 4 HAVING sum(refunded) <> 0
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (account, livemode, customer, currency) DO UPDATE SET refunded = t.refunded + EXCLUDED.refunded)
  SELECT count(*) FROM moved
$$;

-------------------------------------------------------------------------------
-- Refunds: refunded amounts in payments_* (by the refund's created) and customer_totals (the
-- customer of the refunded charge, looked up here; NULL while the charge is unknown).
-------------------------------------------------------------------------------
CREATE FUNCTION stripe._apply_refunds(r stripe.refunds, p_shard smallint) RETURNS boolean
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

-------------------------------------------------------------------------------
-- Disputes: payments_* disputes (status not warning_*) and lost amounts, by dispute created.
-------------------------------------------------------------------------------
CREATE FUNCTION stripe._apply_disputes(r stripe.disputes, p_shard smallint) RETURNS boolean
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

-------------------------------------------------------------------------------
-- Customers: new_customers_daily counts every customer once, by its created, deleted or not.
-------------------------------------------------------------------------------
CREATE FUNCTION stripe._apply_customers(r stripe.customers, p_shard smallint) RETURNS boolean
LANGUAGE sql AS $$
  WITH old AS (SELECT * FROM stripe.customers WHERE id = ($1).id),
  up AS (
    INSERT INTO stripe.customers AS u SELECT ($1).*
    ON CONFLICT (id) DO UPDATE SET
      (account, livemode, created, email, name, currency, delinquent, event_created, event_id, deleted, data)
    = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.email, EXCLUDED.name, EXCLUDED.currency,
       EXCLUDED.delinquent, EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
    WHERE stripe.supersedes('customer', EXCLUDED.event_created, u.event_created, NULL, NULL,
                            EXCLUDED.deleted, u.deleted)
    RETURNING u.*),
  c AS (SELECT -1 AS n, created, account, livemode FROM old WHERE EXISTS (SELECT FROM up)
        UNION ALL SELECT 1, created, account, livemode FROM up),
  counts AS (
    INSERT INTO stripe.agg_customers AS a (bucket, account, livemode, shard, new_customers)
    SELECT stripe._bucket(created), account, livemode, $2, sum(n)
      FROM c WHERE created IS NOT NULL AND $2 IS NOT NULL
     GROUP BY 1, 2, 3 HAVING sum(n) <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT (bucket, account, livemode, shard) DO UPDATE SET new_customers = a.new_customers + EXCLUDED.new_customers)
  SELECT EXISTS (SELECT FROM up)
$$;

-------------------------------------------------------------------------------
-- Checkout sessions: checkout_funnel_daily by session created.
-------------------------------------------------------------------------------
CREATE FUNCTION stripe._apply_checkout_sessions(r stripe.checkout_sessions, p_shard smallint) RETURNS boolean
LANGUAGE sql AS $$
  WITH old AS (SELECT * FROM stripe.checkout_sessions WHERE id = ($1).id),
  up AS (
    INSERT INTO stripe.checkout_sessions AS s SELECT ($1).*
    ON CONFLICT (id) DO UPDATE SET
      (account, livemode, created, status, payment_status, mode, amount_total, currency, customer,
       payment_intent, subscription, event_created, event_id, deleted, data)
    = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.payment_status,
       EXCLUDED.mode, EXCLUDED.amount_total, EXCLUDED.currency, EXCLUDED.customer, EXCLUDED.payment_intent,
       EXCLUDED.subscription, EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
    WHERE stripe.supersedes('checkout.session', EXCLUDED.event_created, s.event_created, EXCLUDED.status, s.status,
                            EXCLUDED.deleted, s.deleted)
    RETURNING s.*),
  c AS (
    SELECT created, account, livemode, sign AS sessions,
           sign * coalesce((status = 'complete')::int, 0) AS completed,
           sign * coalesce((payment_status IN ('paid', 'no_payment_required'))::int, 0) AS paid,
           sign * coalesce((status = 'expired')::int, 0) AS expired
      FROM (SELECT -1 AS sign, old.* FROM old WHERE EXISTS (SELECT FROM up)
            UNION ALL SELECT 1, up.* FROM up) contrib),
  funnel AS (
    INSERT INTO stripe.agg_checkout AS a (bucket, account, livemode, shard, sessions, completed, paid, expired)
    SELECT stripe._bucket(created), account, livemode, $2, sum(sessions), sum(completed), sum(paid), sum(expired)
      FROM c WHERE created IS NOT NULL AND $2 IS NOT NULL
     GROUP BY 1, 2, 3 HAVING (sum(sessions), sum(completed), sum(paid), sum(expired)) <> (0, 0, 0, 0)
     ORDER BY 1, 2, 3
    ON CONFLICT (bucket, account, livemode, shard) DO UPDATE SET
      sessions = a.sessions + EXCLUDED.sessions, completed = a.completed + EXCLUDED.completed,
      paid = a.paid + EXCLUDED.paid, expired = a.expired + EXCLUDED.expired)
  SELECT EXISTS (SELECT FROM up)
$$;

-------------------------------------------------------------------------------
-- Objects without aggregates (yet): plain upserts under the ordering rule. They return one row
-- (true) when the state was applied and none when it was not (the C caller counts the rows).
-------------------------------------------------------------------------------
CREATE FUNCTION stripe._apply_payment_intents(r stripe.payment_intents, p_shard smallint) RETURNS boolean
LANGUAGE sql AS $$
  INSERT INTO stripe.payment_intents AS o SELECT ($1).*
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, status, amount, amount_received, currency, customer, latest_charge,
     last_error_code, cancellation_reason, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.amount,
     EXCLUDED.amount_received, EXCLUDED.currency, EXCLUDED.customer, EXCLUDED.latest_charge,
     EXCLUDED.last_error_code, EXCLUDED.cancellation_reason, EXCLUDED.event_created, EXCLUDED.event_id,
     EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('payment_intent', EXCLUDED.event_created, o.event_created, EXCLUDED.status, o.status,
                          EXCLUDED.deleted, o.deleted)
  RETURNING true
$$;

CREATE FUNCTION stripe._apply_subscriptions(r stripe.subscriptions, p_shard smallint) RETURNS boolean
LANGUAGE sql AS $$
  WITH up AS (
  INSERT INTO stripe.subscriptions AS o SELECT ($1).*
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, status, customer, currency, cancel_at_period_end, canceled_at, ended_at,
     start_date, trial_start, trial_end, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.customer,
     EXCLUDED.currency, EXCLUDED.cancel_at_period_end, EXCLUDED.canceled_at, EXCLUDED.ended_at,
     EXCLUDED.start_date, EXCLUDED.trial_start, EXCLUDED.trial_end, EXCLUDED.event_created,
     EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('subscription', EXCLUDED.event_created, o.event_created, EXCLUDED.status, o.status,
                          EXCLUDED.deleted, o.deleted)
  RETURNING 1),
  -- The items of this state replace the previous ones; the C layer applies them right after.
  items AS (DELETE FROM stripe.subscription_items WHERE subscription = ($1).id AND EXISTS (SELECT FROM up))
  SELECT EXISTS (SELECT FROM up)
$$;

-- Items come only embedded in their subscription, and only when the subscription state was
-- applied (the C layer skips them otherwise).
CREATE FUNCTION stripe._apply_subscription_items(r stripe.subscription_items, p_shard smallint) RETURNS boolean
LANGUAGE sql AS $$
  INSERT INTO stripe.subscription_items SELECT ($1).*
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, subscription, price, product, quantity, unit_amount, currency, interval,
     interval_count, current_period_start, current_period_end, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.subscription, EXCLUDED.price,
     EXCLUDED.product, EXCLUDED.quantity, EXCLUDED.unit_amount, EXCLUDED.currency, EXCLUDED.interval,
     EXCLUDED.interval_count, EXCLUDED.current_period_start, EXCLUDED.current_period_end,
     EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
  RETURNING true
$$;

CREATE FUNCTION stripe._apply_invoices(r stripe.invoices, p_shard smallint) RETURNS boolean
LANGUAGE sql AS $$
  INSERT INTO stripe.invoices AS o SELECT ($1).*
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, status, customer, subscription, currency, amount_due, amount_paid,
     amount_remaining, total, billing_reason, paid_at, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.customer,
     EXCLUDED.subscription, EXCLUDED.currency, EXCLUDED.amount_due, EXCLUDED.amount_paid,
     EXCLUDED.amount_remaining, EXCLUDED.total, EXCLUDED.billing_reason, EXCLUDED.paid_at,
     EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('invoice', EXCLUDED.event_created, o.event_created, EXCLUDED.status, o.status,
                          EXCLUDED.deleted, o.deleted)
  RETURNING true
$$;

-------------------------------------------------------------------------------
-- The aggregates of the object tables as they stand, in bulk: the same definitions as the
-- apply statements above, written as plain GROUP BYs. Used by stripe.rebuild().
-------------------------------------------------------------------------------
-- agg_payments_days of one reporting zone (NULL: of every zone) from agg_payments as it stands.
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

-- customer_months and agg_cohorts of one reporting zone (NULL: of every zone) from the charges.
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

CREATE FUNCTION stripe._aggregate_all() RETURNS void
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
