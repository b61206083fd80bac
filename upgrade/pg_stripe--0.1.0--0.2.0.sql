-- pg_stripe 0.1.0 -> 0.2.0 (ALTER EXTENSION pg_stripe UPDATE). Runs in one transaction.
--
-- 0.2.0: Stripe identifiers and codes are COLLATE "C" (faster index lookups at every ingest);
-- a charge's aggregates move by deltas computed in C++ (stripe._apply_charges returns the
-- facts before/after, stripe._add_* apply them); cohort_retention reads a new covering index;
-- stripe.report() runs each of its queries once; events has no (type, created) index any more.
--
-- Changing a column's collation rebuilds the indexes on it (the tables are not rewritten): on a
-- large event log this takes a while and holds ACCESS EXCLUSIVE locks, so ingest waits.
\echo Use "ALTER EXTENSION pg_stripe UPDATE" to load this file. \quit

-- Views and row-level security policies depend on the columns whose collation changes.
DROP VIEW stripe.payments_daily, stripe.payments_weekly, stripe.payments_monthly, stripe.decline_reasons, stripe.payment_method_mix, stripe.new_customers_daily, stripe.customer_stats, stripe.cohort_retention, stripe.checkout_funnel_daily;
DROP POLICY account_scope ON stripe.events;
DROP POLICY account_scope ON stripe.charges;
DROP POLICY account_scope ON stripe.payment_intents;
DROP POLICY account_scope ON stripe.refunds;
DROP POLICY account_scope ON stripe.disputes;
DROP POLICY account_scope ON stripe.customers;
DROP POLICY account_scope ON stripe.checkout_sessions;
DROP POLICY account_scope ON stripe.subscriptions;
DROP POLICY account_scope ON stripe.subscription_items;
DROP POLICY account_scope ON stripe.invoices;
DROP POLICY account_scope ON stripe.agg_payments;
DROP POLICY account_scope ON stripe.agg_declines;
DROP POLICY account_scope ON stripe.agg_methods;
DROP POLICY account_scope ON stripe.agg_customers;
DROP POLICY account_scope ON stripe.agg_checkout;
DROP POLICY account_scope ON stripe.customer_totals;

-- Indexes that 0.2.0 drops (events: one index less to maintain at every ingest) or replaces
-- (charges_created_idx, now covering): dropped before the collation change rebuilds them.
DROP INDEX stripe.events_type_created_idx;
DROP INDEX stripe.charges_created_idx;

ALTER TABLE stripe.events
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN type TYPE text COLLATE "C",
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN api_version TYPE text COLLATE "C",
  ALTER COLUMN object_type TYPE text COLLATE "C",
  ALTER COLUMN object_id TYPE text COLLATE "C";
ALTER TABLE stripe.charges
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN status TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C",
  ALTER COLUMN customer TYPE text COLLATE "C",
  ALTER COLUMN payment_intent TYPE text COLLATE "C",
  ALTER COLUMN invoice TYPE text COLLATE "C",
  ALTER COLUMN failure_code TYPE text COLLATE "C",
  ALTER COLUMN outcome_type TYPE text COLLATE "C",
  ALTER COLUMN outcome_reason TYPE text COLLATE "C",
  ALTER COLUMN payment_method_type TYPE text COLLATE "C",
  ALTER COLUMN card_brand TYPE text COLLATE "C",
  ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE stripe.payment_intents
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN status TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C",
  ALTER COLUMN customer TYPE text COLLATE "C",
  ALTER COLUMN latest_charge TYPE text COLLATE "C",
  ALTER COLUMN last_error_code TYPE text COLLATE "C",
  ALTER COLUMN cancellation_reason TYPE text COLLATE "C",
  ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE stripe.refunds
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN status TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C",
  ALTER COLUMN charge TYPE text COLLATE "C",
  ALTER COLUMN payment_intent TYPE text COLLATE "C",
  ALTER COLUMN reason TYPE text COLLATE "C",
  ALTER COLUMN customer TYPE text COLLATE "C",
  ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE stripe.disputes
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN status TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C",
  ALTER COLUMN charge TYPE text COLLATE "C",
  ALTER COLUMN payment_intent TYPE text COLLATE "C",
  ALTER COLUMN reason TYPE text COLLATE "C",
  ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE stripe.customers
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C",
  ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE stripe.checkout_sessions
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN status TYPE text COLLATE "C",
  ALTER COLUMN payment_status TYPE text COLLATE "C",
  ALTER COLUMN mode TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C",
  ALTER COLUMN customer TYPE text COLLATE "C",
  ALTER COLUMN payment_intent TYPE text COLLATE "C",
  ALTER COLUMN subscription TYPE text COLLATE "C",
  ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE stripe.subscriptions
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN status TYPE text COLLATE "C",
  ALTER COLUMN customer TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C",
  ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE stripe.subscription_items
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN subscription TYPE text COLLATE "C",
  ALTER COLUMN price TYPE text COLLATE "C",
  ALTER COLUMN product TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C",
  ALTER COLUMN interval TYPE text COLLATE "C",
  ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE stripe.invoices
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN status TYPE text COLLATE "C",
  ALTER COLUMN customer TYPE text COLLATE "C",
  ALTER COLUMN subscription TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C",
  ALTER COLUMN billing_reason TYPE text COLLATE "C",
  ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE stripe.agg_payments
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C";
ALTER TABLE stripe.agg_declines
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN failure_code TYPE text COLLATE "C",
  ALTER COLUMN outcome_reason TYPE text COLLATE "C";
ALTER TABLE stripe.agg_methods
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C",
  ALTER COLUMN payment_method_type TYPE text COLLATE "C",
  ALTER COLUMN card_brand TYPE text COLLATE "C";
ALTER TABLE stripe.agg_customers
  ALTER COLUMN account TYPE text COLLATE "C";
ALTER TABLE stripe.agg_checkout
  ALTER COLUMN account TYPE text COLLATE "C";
ALTER TABLE stripe.customer_totals
  ALTER COLUMN account TYPE text COLLATE "C",
  ALTER COLUMN customer TYPE text COLLATE "C",
  ALTER COLUMN currency TYPE text COLLATE "C";

CREATE POLICY account_scope ON stripe.events FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.charges FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.payment_intents FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.refunds FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.disputes FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.customers FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.checkout_sessions FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.subscriptions FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.subscription_items FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.invoices FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.agg_payments FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.agg_declines FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.agg_methods FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.agg_customers FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.agg_checkout FOR SELECT USING (stripe.account_visible(account));
CREATE POLICY account_scope ON stripe.customer_totals FOR SELECT USING (stripe.account_visible(account));

-- A period's charges (the report's declines and customers): covering, so those reads are
-- index-only and never fetch the wide rows (the verbatim data of every charge).
CREATE INDEX charges_created_idx ON stripe.charges (created)
  INCLUDE (status, account, livemode, currency, customer, failure_code, outcome_reason);

-- Paying customers (stripe.cohort_retention, the report's customer sections): covers the
-- succeeded charges with a customer, in customer order, so those reads never touch the table.
CREATE INDEX charges_paid_idx ON stripe.charges (account, livemode, customer, created)
  WHERE status = 'succeeded' AND customer IS NOT NULL AND created IS NOT NULL;

-- Plain upserts: no CTE around them (one row when applied, none when not).
CREATE OR REPLACE FUNCTION stripe._apply_payment_intents(r stripe.payment_intents, p_shard smallint) RETURNS boolean
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

CREATE OR REPLACE FUNCTION stripe._apply_invoices(r stripe.invoices, p_shard smallint) RETURNS boolean
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

-- Charges: the aggregates move by deltas (src/core/charge_deltas.cpp).
DROP FUNCTION stripe._apply_charges(stripe.charges, smallint);

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
  INSERT INTO stripe.agg_payments AS a (bucket, account, livemode, currency, shard, succeeded, failed, gross)
  VALUES (stripe._bucket($1), $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (bucket, account, livemode, currency, shard) DO UPDATE SET
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

REVOKE ALL ON FUNCTION stripe._apply_charges(stripe.charges, smallint),
  stripe._add_payments(timestamptz, text, boolean, text, smallint, bigint, bigint, bigint),
  stripe._add_declines(text, boolean, text, text, smallint, bigint),
  stripe._add_methods(text, boolean, text, text, text, smallint, bigint, bigint),
  stripe._add_customer(text, boolean, text, text, bigint, bigint, bigint, timestamptz),
  stripe._move_refunds(text, smallint) FROM PUBLIC;

-- The views again (cohort_retention rewritten), with their comments and grants.
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

CREATE VIEW stripe.new_customers_daily WITH (security_invoker = true) AS
  SELECT (bucket AT TIME ZONE stripe.reporting_timezone())::date AS day, account, livemode,
         sum(new_customers)::bigint AS new_customers
    FROM stripe.agg_customers
   GROUP BY 1, 2, 3
  HAVING sum(new_customers) <> 0;

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

-- Read from charges_paid_idx (succeeded charges with a customer; an index-only scan on a
-- vacuumed table). The month of a payment in the reporting zone is computed once per UTC
-- quarter-hour, not once per payment (the time-zone conversion was most of this view's cost);
-- exact because zone offsets are whole quarter-hours, as for the time-bucketed aggregates. Then
-- one row per customer and month, and a customer's cohort as a window over its own months -- no
-- join of payments to customers.
CREATE VIEW stripe.cohort_retention WITH (security_invoker = true) AS
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
    WINDOW w AS (PARTITION BY m.account, m.livemode, m.customer)),
  cohorts AS (
    SELECT account, livemode, cohort_month,
           count(*) FILTER (WHERE month = cohort_month) AS cohort_size,
           count(*) FILTER (WHERE month = cohort_month AND payments >= 2) AS repeat_customers
      FROM cm GROUP BY 1, 2, 3),
  active AS (  -- one row per customer and month: count(*) counts distinct customers
    SELECT account, livemode, cohort_month, month, count(*) AS active_customers
      FROM cm GROUP BY 1, 2, 3, 4),
  last_month AS (
    SELECT account, livemode, max(month) AS month FROM months GROUP BY 1, 2)
  SELECT co.cohort_month, co.account, co.livemode, o.month_offset, co.cohort_size,
         coalesce(a.active_customers, 0) AS active_customers,
         stripe.ratio(coalesce(a.active_customers, 0), co.cohort_size) AS retention,
         co.repeat_customers
    FROM cohorts co
    JOIN last_month l ON l.account IS NOT DISTINCT FROM co.account AND l.livemode = co.livemode
   CROSS JOIN LATERAL generate_series(0, ((extract(year FROM l.month) - extract(year FROM co.cohort_month)) * 12
                                          + extract(month FROM l.month) - extract(month FROM co.cohort_month))::int)
         AS o(month_offset)
    LEFT JOIN active a ON a.account IS NOT DISTINCT FROM co.account AND a.livemode = co.livemode
                      AND a.cohort_month = co.cohort_month
                      AND a.month = (co.cohort_month + make_interval(months => o.month_offset))::date;

CREATE VIEW stripe.checkout_funnel_daily WITH (security_invoker = true) AS
  SELECT f.day, f.account, f.livemode, f.sessions, f.completed, f.paid, f.expired,
         stripe.ratio(f.completed, f.completed + f.expired) AS conversion_rate
    FROM (SELECT (bucket AT TIME ZONE stripe.reporting_timezone())::date AS day, account, livemode,
                 sum(sessions)::bigint AS sessions, sum(completed)::bigint AS completed,
                 sum(paid)::bigint AS paid, sum(expired)::bigint AS expired
            FROM stripe.agg_checkout GROUP BY 1, 2, 3) f
   WHERE f.sessions <> 0;

-- `\d+ stripe.<view>` explains every figure (SPEC §3).
DO $$
DECLARE
  v text;
  c record;
  common jsonb := jsonb_build_object(
    'account', 'Connected account (Connect); NULL for the platform''s own.',
    'livemode', 'true for live mode, false for test mode; the two never mix.',
    'currency', 'ISO currency (lowercase). Amounts in different currencies are never added.',
    'day', 'Calendar day in stripe.timezone of the object''s own created.',
    'week', 'Monday of the ISO week in stripe.timezone of the object''s created.',
    'month', 'First day of the calendar month in stripe.timezone of the object''s created.',
    'successful_payments', 'Charges with status succeeded (by charge created).',
    'failed_payments', 'Charges with status failed.',
    'failure_rate', 'failed / (succeeded + failed); NULL when both are 0.',
    'gross_volume', 'Sum of amount_captured of succeeded charges, in minor units.',
    'gross_volume_major', 'gross_volume in major units (Stripe''s currency exponent).',
    'refunded_amount', 'Sum of amount of succeeded refunds, by refund created, excluding reason expired_uncaptured_charge; minor units.',
    'refunded_amount_major', 'refunded_amount in major units.',
    'disputes', 'Disputes created in the bucket whose status does not start with warning_.',
    'dispute_rate', 'disputes / successful_payments; NULL when there are no successful payments.',
    'net_volume', 'gross_volume - refunded_amount - amount of disputes created in the bucket that are now lost; minor units.',
    'net_volume_major', 'net_volume in major units.',
    'failure_code', 'The charge''s failure_code (e.g. card_declined).',
    'outcome_reason', 'The charge''s outcome.reason (e.g. insufficient_funds).',
    'share', 'Share of the total of the partition (account, livemode[, currency]).',
    'payment_method_type', 'payment_method_details.type of the charge (card, sepa_debit, ...).',
    'card_brand', 'payment_method_details.card.brand (visa, mastercard, ...), NULL for non-card methods.',
    'new_customers', 'Customers created that day (deleted ones included).',
    'customer', 'Stripe customer id.',
    'first_payment_at', 'created of the customer''s first succeeded charge in this currency.',
    'last_payment_at', 'created of the customer''s last succeeded charge in this currency.',
    'payments', 'Succeeded charges of the customer in this currency.',
    'total_spent', 'Sum of amount_captured of the customer''s succeeded charges; minor units.',
    'total_spent_major', 'total_spent in major units.',
    'refunded', 'Succeeded refunds of the customer''s charges (excluding expired_uncaptured_charge); minor units.',
    'refunded_major', 'refunded in major units.',
    'net_spent', 'total_spent - refunded; minor units.',
    'net_spent_major', 'net_spent in major units.',
    'avg_order_value', 'total_spent / payments, minor units; NULL without payments.',
    'avg_order_value_major', 'avg_order_value in major units.',
    'avg_days_between_payments', '(last_payment_at - first_payment_at) in days / (payments - 1); NULL below 2 payments.',
    'cohort_month', 'Month (stripe.timezone) of the customer''s first succeeded payment in any currency.',
    'month_offset', 'Months after the cohort month (0 = the cohort month itself).',
    'cohort_size', 'Customers in the cohort.',
    'active_customers', 'Customers of the cohort with at least one succeeded payment in month cohort_month + month_offset.',
    'retention', 'active_customers / cohort_size.',
    'repeat_customers', 'Customers of the cohort with at least 2 succeeded payments in total.',
    'sessions', 'Checkout sessions created that day.',
    'completed', 'Sessions with status complete.',
    'paid', 'Sessions with payment_status paid or no_payment_required.',
    'expired', 'Sessions with status expired.',
    'conversion_rate', 'completed / (completed + expired); NULL when both are 0.');
  views jsonb := jsonb_build_object(
    'payments_daily', 'Payments per calendar day (stripe.timezone) of the object''s created, per account, mode and currency. The unit of a payment is the charge.',
    'payments_weekly', 'payments_daily per ISO week (Monday).',
    'payments_monthly', 'payments_daily per calendar month.',
    'decline_reasons', 'Failed charges per failure_code and outcome.reason, with their share of all failed charges of the account and mode.',
    'payment_method_mix', 'Succeeded charges and captured volume per payment method type and card brand, with the share of gross volume in the currency.',
    'new_customers_daily', 'Customers created per day (stripe.timezone), deleted ones included.',
    'customer_stats', 'Per customer and currency, over charges with a customer.',
    'cohort_retention', 'Monthly cohorts of first succeeded payment and how many come back each month after.',
    'checkout_funnel_daily', 'Checkout sessions per day of creation and how they ended.');
BEGIN
  FOR v IN SELECT jsonb_object_keys(views) LOOP
    EXECUTE format('COMMENT ON VIEW stripe.%I IS %L', v, views->>v);
    FOR c IN SELECT a.attname FROM pg_attribute a
              WHERE a.attrelid = format('stripe.%I', v)::regclass AND a.attnum > 0 AND NOT a.attisdropped LOOP
      IF common ? c.attname THEN
        EXECUTE format('COMMENT ON COLUMN stripe.%I.%I IS %L', v, c.attname, common->>c.attname::text);
      END IF;
    END LOOP;
  END LOOP;
END $$;

GRANT SELECT ON stripe.payments_daily, stripe.payments_weekly, stripe.payments_monthly, stripe.decline_reasons, stripe.payment_method_mix, stripe.new_customers_daily, stripe.customer_stats, stripe.cohort_retention, stripe.checkout_funnel_daily TO stripe_reader;

-- stripe.report() and the dashboard: each query once.
CREATE OR REPLACE FUNCTION stripe._report_period(p_from date, p_to date, p_account text, p_livemode boolean,
                                      OUT period_from date, OUT period_to date, OUT latest date)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  -- The newest quarter-hour with a charge (payments_daily's latest day with one, read backwards
  -- along the aggregates' index instead of summing the whole history): a bucket's count of
  -- charges summed over currencies and shards is never negative, so > 0 means "had a charge".
  SELECT (a.bucket AT TIME ZONE stripe.reporting_timezone())::date INTO latest
    FROM stripe.agg_payments a
   WHERE a.account IS NOT DISTINCT FROM p_account AND a.livemode = p_livemode
   GROUP BY a.bucket
  HAVING sum(a.succeeded + a.failed) > 0
   ORDER BY a.bucket DESC
   LIMIT 1;
  IF latest IS NULL THEN
    SELECT max(d) INTO latest FROM (
      SELECT max(p.day) AS d FROM stripe.payments_daily p
       WHERE p.account IS NOT DISTINCT FROM p_account AND p.livemode = p_livemode
      UNION ALL
      SELECT max(f.day) FROM stripe.checkout_funnel_daily f
       WHERE f.account IS NOT DISTINCT FROM p_account AND f.livemode = p_livemode
      UNION ALL
      SELECT max(n.day) FROM stripe.new_customers_daily n
       WHERE n.account IS NOT DISTINCT FROM p_account AND n.livemode = p_livemode) s;
  END IF;
  period_to := coalesce(p_to, greatest(latest, p_from), (now() AT TIME ZONE stripe.reporting_timezone())::date);
  period_from := coalesce(p_from, period_to - 89);
  IF period_from > period_to THEN
    RAISE EXCEPTION 'from_date % is after to_date %', stripe._d(period_from), stripe._d(period_to) USING ERRCODE = '22023';
  END IF;
END $$;

CREATE OR REPLACE FUNCTION stripe._report_currency(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
  cur   text := upper(p_currency);
  t     record;   -- period totals
  rd    record;   -- refunds and disputes
  x     record;
  top   numeric;
  n     integer := 0;
  rest  bigint := 0;
BEGIN
  SELECT sum(d.succeeded) AS succeeded, sum(d.failed) AS failed, sum(d.gross) AS gross,
         sum(d.refunded) AS refunded, sum(d.disputed) AS disputed, sum(d.lost) AS lost, sum(d.net) AS net,
         array_agg(d.gross ORDER BY d.day) AS daily_gross,
         (array_agg(d.day ORDER BY d.gross DESC, d.day))[1] AS peak_day, max(d.gross) AS peak_gross
    INTO t FROM stripe._report_daily(p_from, p_to, p_account, p_livemode, p_currency) d;
  SELECT * INTO rd FROM stripe._report_refunds_disputes(p_from, p_to, p_account, p_livemode, p_currency);

  RETURN NEXT stripe._rule(cur);
  -- Volume: gross, what came off it, net; one scale for the four bars.
  RETURN NEXT 'Volume';
  top := greatest(t.gross, t.refunded, t.disputed, t.net);
  RETURN NEXT format('  %-14s %20s  %s', 'gross volume', stripe._fmt_money(t.gross, p_currency), stripe._bar(t.gross, top, 50));
  RETURN NEXT format('  %-14s %20s  %s', 'refunded', stripe._fmt_money(t.refunded, p_currency), stripe._bar(t.refunded, top, 50));
  RETURN NEXT format('  %-14s %20s  %s', 'disputed', stripe._fmt_money(t.disputed, p_currency), stripe._bar(t.disputed, top, 50));
  RETURN NEXT format('  %-14s %20s  %s', 'net volume', stripe._fmt_money(t.net, p_currency), stripe._bar(t.net, top, 50));
  RETURN NEXT '  net volume = gross − refunded − disputes now lost ('
              || stripe._fmt_money(t.lost, p_currency) || ')';
  RETURN NEXT format('  gross volume per day%s',
                     CASE WHEN t.peak_gross > 0 THEN format(' (peak %s on %s)', stripe._fmt_money(t.peak_gross, p_currency), stripe._d(t.peak_day)) END);
  RETURN NEXT '  ' || stripe._spark(t.daily_gross, 90);
  RETURN NEXT '';

  -- Payments: counts, failure rate, week by week, top decline reasons.
  RETURN NEXT 'Payments';
  RETURN NEXT format('  %-14s %8s    %-8s %8s    %-13s %s', 'succeeded', stripe._fmt_int(t.succeeded),
                     'failed', stripe._fmt_int(t.failed), 'failure rate',
                     stripe._fmt_pct(stripe.ratio(t.failed, t.succeeded + t.failed)));
  RETURN NEXT format('  %-11s %9s %8s  %s', 'week of', 'succeeded', 'failure', 'gross volume');
  -- (Each section's query runs once; the bars' scale comes with its rows.)
  FOR x IN SELECT w.*, max(w.gross) OVER () AS top FROM stripe._report_weekly(p_from, p_to, p_account, p_livemode, p_currency) w LOOP
    top := x.top;
    RETURN NEXT rtrim(format('  %-11s %9s %8s  %-40s %17s', stripe._d(x.week) || CASE WHEN x.days < 7 THEN '*' ELSE '' END,
                             stripe._fmt_int(x.succeeded), stripe._fmt_pct(stripe.ratio(x.failed, x.succeeded + x.failed)),
                             stripe._bar(x.gross, top, 40), stripe._fmt_money(x.gross, p_currency)));
  END LOOP;
  RETURN NEXT '  * part of the week is outside the period';
  IF t.failed > 0 THEN
    RETURN NEXT format('  top decline reasons (failure code: outcome reason) of %s failed payment%s',
                       stripe._fmt_int(t.failed), CASE WHEN t.failed <> 1 THEN 's' END);
    FOR x IN SELECT d.*, max(d.failed) OVER () AS top
               FROM stripe._report_declines(p_from, p_to, p_account, p_livemode, p_currency) d LOOP
      top := x.top;
      n := n + 1;
      IF n <= 5 THEN
        RETURN NEXT rtrim(format('    %-40s %-30s %6s %7s',
                                 stripe._fit(coalesce(x.failure_code, '(no code)') || ': ' || coalesce(x.outcome_reason, '(no reason)'), 40),
                                 stripe._bar(x.failed, top, 30), stripe._fmt_int(x.failed), stripe._fmt_pct(x.share)));
      ELSE
        rest := rest + x.failed;
      END IF;
    END LOOP;
    IF n > 5 THEN
      RETURN NEXT rtrim(format('    %-40s %-30s %6s %7s', format('%s other reason%s', n - 5, CASE WHEN n - 5 > 1 THEN 's' END),
                               stripe._bar(rest, top, 30), stripe._fmt_int(rest), stripe._fmt_pct(stripe.ratio(rest, t.failed))));
    END IF;
  END IF;
  RETURN NEXT '';

  -- Refunds and disputes.
  RETURN NEXT 'Refunds and disputes';
  RETURN NEXT format('  %-10s %8s %20s   %s of gross volume', 'refunds', stripe._fmt_int(rd.refunds),
                     stripe._fmt_money(rd.refunded, p_currency), stripe._fmt_pct(stripe.ratio(rd.refunded, t.gross)));
  RETURN NEXT format('  %-10s %8s %20s   %s of succeeded payments', 'disputes', stripe._fmt_int(rd.disputes),
                     stripe._fmt_money(rd.disputed, p_currency), stripe._fmt_pct(stripe.ratio(rd.disputes, t.succeeded)));
  IF rd.disputes > 0 THEN
    RETURN NEXT format('  %-10s %8s    open %s · won %s · lost %s (%s)', '', '', rd.open, rd.won, rd.lost,
                       stripe._fmt_money(rd.lost_amount, p_currency));
  END IF;
  RETURN NEXT '';

  -- Customers paying in this currency: new in the period or returning.
  SELECT max(c.customers) FILTER (WHERE c.week IS NULL) AS customers,
         max(c.new_customers) FILTER (WHERE c.week IS NULL) AS new_customers,
         max(c.returning_customers) FILTER (WHERE c.week IS NULL) AS returning_customers,
         max(c.guest_payments) FILTER (WHERE c.week IS NULL) AS guest_payments,
         array_agg(c.new_customers ORDER BY c.week) FILTER (WHERE c.week IS NOT NULL) AS new,
         array_agg(c.returning_customers ORDER BY c.week) FILTER (WHERE c.week IS NOT NULL) AS ret
    INTO x FROM stripe._report_customers(p_from, p_to, p_account, p_livemode, p_currency) c;
  IF x.customers IS NULL THEN
    RETURN NEXT 'Customers';
    RETURN NEXT '  no succeeded payments in this period';
  ELSE
    RETURN NEXT format('Customers paying in %s', cur);
    RETURN NEXT format('  %-14s %8s  %s', 'paying', stripe._fmt_int(x.customers), stripe._bar(x.customers, x.customers, 40));
    RETURN NEXT format('  %-14s %8s  %s', 'new', stripe._fmt_int(x.new_customers), stripe._bar(x.new_customers, x.customers, 40));
    RETURN NEXT format('  %-14s %8s  %s', 'returning', stripe._fmt_int(x.returning_customers), stripe._bar(x.returning_customers, x.customers, 40));
    RETURN NEXT format('  new: first succeeded %s payment in the period; returning: paid before it too', cur);
    IF x.guest_payments > 0 THEN
      RETURN NEXT format('  and %s succeeded payment%s without a customer', stripe._fmt_int(x.guest_payments),
                         CASE WHEN x.guest_payments <> 1 THEN 's' END);
    END IF;
    RETURN NEXT format('  %-24s %s', 'new, per week', stripe._spark(x.new, 70));
    RETURN NEXT format('  %-24s %s', 'returning, per week', stripe._spark(x.ret, 70));
  END IF;
  RETURN NEXT '';

  -- RFM segments as of the end of the period.
  RETURN NEXT format('RFM segments on %s (customers with a succeeded %s payment by then)', stripe._d(p_to), cur);
  RETURN NEXT format('  %-12s %9s  %-30s %6s %18s %10s', 'segment', 'customers', '', 'share', 'avg spent', 'days since');
  FOR x IN SELECT r.*, max(r.customers) OVER () AS top FROM stripe._report_rfm(p_to, p_account, p_livemode, p_currency) r LOOP
    top := x.top;
    RETURN NEXT rtrim(format('  %-12s %9s  %-30s %6s %18s %10s', x.segment, stripe._fmt_int(x.customers),
                             stripe._bar(x.customers, top, 30), stripe._fmt_pct(x.share),
                             coalesce(stripe._fmt_money(round(x.avg_spent), p_currency), ''),
                             coalesce(round(x.avg_recency_days)::text, '')));
  END LOOP;
  RETURN NEXT '';
END $$;

CREATE OR REPLACE FUNCTION stripe._report_shop(p_from date, p_to date, p_account text, p_livemode boolean)
RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
  x    record;
  f    record;
  top  numeric;
  line text;
  k    integer;
  cohorts integer := 0;
BEGIN
  RETURN NEXT stripe._rule('All currencies');
  SELECT sum(n.new_customers) AS total, array_agg(n.new_customers ORDER BY n.day) AS daily
    INTO x FROM stripe._report_new_customers(p_from, p_to, p_account, p_livemode) n;
  RETURN NEXT format('%-24s %8s', 'Customers created', stripe._fmt_int(x.total));
  IF x.total > 0 THEN
    RETURN NEXT '  per day';
    RETURN NEXT '  ' || stripe._spark(x.daily, 90);
  END IF;
  RETURN NEXT '';

  SELECT * INTO f FROM stripe._report_funnel(p_from, p_to, p_account, p_livemode) WHERE week IS NULL;
  RETURN NEXT 'Checkout funnel (sessions created in the period)';
  IF f.sessions IS NULL THEN
    RETURN NEXT '  no checkout sessions in this period';
  ELSE
    RETURN NEXT format('  %-14s %8s  %s', 'sessions', stripe._fmt_int(f.sessions), stripe._bar(f.sessions, f.sessions, 50));
    RETURN NEXT format('  %-14s %8s  %s', 'completed', stripe._fmt_int(f.completed), stripe._bar(f.completed, f.sessions, 50));
    RETURN NEXT format('  %-14s %8s  %s', 'paid', stripe._fmt_int(f.paid), stripe._bar(f.paid, f.sessions, 50));
    RETURN NEXT format('  %-14s %8s  %s', 'expired', stripe._fmt_int(f.expired), stripe._bar(f.expired, f.sessions, 50));
    SELECT array_agg(w.conversion_rate ORDER BY w.week) AS c INTO x
      FROM stripe._report_funnel(p_from, p_to, p_account, p_livemode) w WHERE w.week IS NOT NULL;
    RETURN NEXT format('  %-14s %8s  completed / (completed + expired); per week %s', 'conversion',
                       stripe._fmt_pct(f.conversion_rate), stripe._spark(x.c, 30));
  END IF;
  RETURN NEXT '';

  RETURN NEXT 'Cohort retention: customers by month of first payment, share paying n months later';
  FOR x IN SELECT * FROM stripe._report_cohorts(p_to, p_account, p_livemode, 6) LOOP
      IF cohorts = 0 THEN
        RETURN NEXT '  cohort    customers' || (SELECT string_agg(lpad('+' || o, 8), '' ORDER BY o) FROM generate_series(0, 5) o);
      END IF;
      line := format('  %-9s %9s', to_char(x.cohort_month, 'YYYY-MM'), stripe._fmt_int(x.cohort_size));
      FOR k IN 1 .. least(cardinality(x.retention), 6) LOOP
        -- shade by retention: █ ≥ 75%, ▓ ≥ 50%, ▒ ≥ 25%, ░ above 0
        line := line || lpad(CASE WHEN x.retention[k] >= 0.75 THEN '█' WHEN x.retention[k] >= 0.5 THEN '▓'
                                  WHEN x.retention[k] >= 0.25 THEN '▒' WHEN x.retention[k] > 0 THEN '░' ELSE ' ' END
                             || lpad(round(100 * x.retention[k]) || '%', 5), 8);
      END LOOP;
      RETURN NEXT line;
      cohorts := cohorts + 1;
  END LOOP;
  IF cohorts = 0 THEN
    RETURN NEXT '  no paying customers yet';
  ELSE
    RETURN NEXT '  █ 75% or more  ▓ 50%  ▒ 25%  ░ less';
  END IF;
END $$;

CREATE OR REPLACE FUNCTION stripe._svg_cohort_heatmap(p_to date, p_account text, p_livemode boolean, p_months integer DEFAULT 12,
                                           width integer DEFAULT 560)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  lw   integer := 118;   -- cohort and size labels
  cols integer;          -- month offsets shown: as many as the oldest cohort has, at least 6
  cw   numeric;
  ch   integer := 26;
  rows integer := 0;
  svg  text := '';
  c    record;
  x    numeric;
  y    numeric;
  r    numeric;
BEGIN
  -- (One run of the cohort query: the column count comes with its rows.)
  FOR c IN SELECT x.*, greatest(6, max(cardinality(x.retention)) OVER ()) AS ncols
             FROM stripe._report_cohorts(p_to, p_account, p_livemode, p_months) x LOOP
    IF rows = 0 THEN
      cols := c.ncols;
      cw := (width - lw - 4) / cols::numeric;
      FOR o IN 0 .. cols - 1 LOOP  -- column heads
        svg := svg || format('<text x="%s" y="14" text-anchor="middle">%s</text>', stripe._n(lw + (o + 0.5) * cw),
                             CASE WHEN o = 0 THEN 'M0' ELSE '+' || o END);
      END LOOP;
    END IF;
    y := 22 + rows * ch;
    svg := svg || format('<text x="4" y="%s" class="label">%s</text><text x="%s" y="%s" text-anchor="end">%s</text>',
                         stripe._n(y + 17), to_char(c.cohort_month, 'Mon YYYY'), lw - 8, stripe._n(y + 17),
                         stripe._fmt_int(c.cohort_size));
    FOR o IN 1 .. least(cardinality(c.retention), cols) LOOP
      r := c.retention[o];
      x := lw + (o - 1) * cw;
      svg := svg || format('<g><title>%s cohort, month +%s: %s of %s customers paid (%s)</title>',
                           to_char(c.cohort_month, 'YYYY-MM'), o - 1, stripe._fmt_int(round(r * c.cohort_size)),
                           stripe._fmt_int(c.cohort_size), stripe._fmt_pct(r))
                 || format('<rect x="%s" y="%s" width="%s" height="%s" rx="3" fill="%s"/>', stripe._n(x + 1), stripe._n(y + 1),
                           stripe._n(cw - 2), ch - 2, stripe._heat_color(r))
                 || format('<text x="%s" y="%s" text-anchor="middle" class="%s">%s</text></g>', stripe._n(x + cw / 2),
                           stripe._n(y + 17), CASE WHEN r > 0.55 THEN 'on-dark' ELSE 'value' END, round(100 * r) || '%');
    END LOOP;
    rows := rows + 1;
  END LOOP;
  IF rows = 0 THEN
    RETURN '<p class="empty">No paying customers yet.</p>';
  END IF;
  -- Legend: five swatches from 0% to 100%.
  y := 22 + rows * ch + 12;
  svg := svg || format('<text x="4" y="%s">retention</text>', stripe._n(y + 11));
  FOR i IN 0 .. 4 LOOP
    svg := svg || format('<rect x="%s" y="%s" width="34" height="14" rx="2" fill="%s"/><text x="%s" y="%s" text-anchor="middle">%s</text>',
                         lw + i * 38, stripe._n(y), stripe._heat_color(i / 4.0), lw + i * 38 + 17, stripe._n(y + 27), (i * 25) || '%');
  END LOOP;
  RETURN format('<svg viewBox="0 0 %s %s" role="img" aria-label="cohort retention">', width, stripe._n(y + 34)) || svg || '</svg>';
END $$;

