
-------------------------------------------------------------------------------
-- §2 Ordering rules (SPEC §2 "Object state and ordering").
-------------------------------------------------------------------------------

-- Statuses after which an object does not go back (SPEC §2).
CREATE FUNCTION stripe.is_terminal(kind text, status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(CASE kind
    WHEN 'charge'           THEN status IN ('succeeded', 'failed')
    WHEN 'payment_intent'   THEN status IN ('succeeded', 'canceled')
    WHEN 'refund'           THEN status IN ('succeeded', 'failed', 'canceled')
    WHEN 'dispute'          THEN status IN ('won', 'lost', 'warning_closed')
    WHEN 'checkout.session' THEN status IN ('complete', 'expired')
    WHEN 'invoice'          THEN status IN ('paid', 'void', 'uncollectible')
  END, false)
$$;
COMMENT ON FUNCTION stripe.is_terminal(text, text) IS 'SPEC §2 terminal statuses: on equal event created, a later-arriving event never moves an object out of one.';

-- Does an incoming state replace the stored one? `new_at`/`old_at` are the created of the
-- incoming event and of the event that last set the row.
--  * strictly newer event: yes;  older: no;
--  * equal: the later-arriving event wins, unless the row is a tombstone, or it would leave a
--    terminal status for another one (invoice uncollectible -> paid excepted), or lower a
--    monotone amount (checked by the caller, see _upsert_charge).
CREATE FUNCTION stripe.supersedes(kind text, new_at timestamptz, old_at timestamptz,
                                  new_status text, old_status text,
                                  new_deleted boolean, old_deleted boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT new_at > old_at
      OR (new_at = old_at
          AND NOT old_deleted
          AND (new_deleted
               OR NOT stripe.is_terminal(kind, old_status)
               OR new_status IS NOT DISTINCT FROM old_status
               OR (kind = 'invoice' AND old_status = 'uncollectible' AND new_status = 'paid')))
$$;
COMMENT ON FUNCTION stripe.supersedes(text, timestamptz, timestamptz, text, text, boolean, boolean) IS 'SPEC §2 ordering: whether an incoming object state replaces the stored one.';

-------------------------------------------------------------------------------
-- Upserts, one per object table. The C layer builds the row from the event and calls these;
-- ON CONFLICT ... WHERE applies the ordering rule under the row lock, so concurrent sessions
-- delivering events of one object serialize on that row only. Return: whether the row changed.
-------------------------------------------------------------------------------

CREATE FUNCTION stripe._upsert_charges(r stripe.charges) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stripe.charges AS o VALUES (r.*)
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, status, amount, amount_captured, amount_refunded, currency, customer,
     payment_intent, invoice, captured, refunded, disputed, failure_code, outcome_type, outcome_reason,
     payment_method_type, card_brand, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.amount,
     EXCLUDED.amount_captured, EXCLUDED.amount_refunded, EXCLUDED.currency, EXCLUDED.customer,
     EXCLUDED.payment_intent, EXCLUDED.invoice, EXCLUDED.captured, EXCLUDED.refunded, EXCLUDED.disputed,
     EXCLUDED.failure_code, EXCLUDED.outcome_type, EXCLUDED.outcome_reason, EXCLUDED.payment_method_type,
     EXCLUDED.card_brand, EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('charge', EXCLUDED.event_created, o.event_created, EXCLUDED.status, o.status,
                          EXCLUDED.deleted, o.deleted)
    -- monotone amounts never go down on a tie
    AND (EXCLUDED.event_created > o.event_created
         OR (coalesce(EXCLUDED.amount_refunded, 0) >= coalesce(o.amount_refunded, 0)
             AND coalesce(EXCLUDED.amount_captured, 0) >= coalesce(o.amount_captured, 0)));
  RETURN FOUND;
END $$;

CREATE FUNCTION stripe._upsert_payment_intents(r stripe.payment_intents) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stripe.payment_intents AS o VALUES (r.*)
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, status, amount, amount_received, currency, customer, latest_charge,
     last_error_code, cancellation_reason, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.amount,
     EXCLUDED.amount_received, EXCLUDED.currency, EXCLUDED.customer, EXCLUDED.latest_charge,
     EXCLUDED.last_error_code, EXCLUDED.cancellation_reason, EXCLUDED.event_created, EXCLUDED.event_id,
     EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('payment_intent', EXCLUDED.event_created, o.event_created, EXCLUDED.status, o.status,
                          EXCLUDED.deleted, o.deleted);
  RETURN FOUND;
END $$;

CREATE FUNCTION stripe._upsert_refunds(r stripe.refunds) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stripe.refunds AS o VALUES (r.*)
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, status, amount, currency, charge, payment_intent, reason,
     event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.amount,
     EXCLUDED.currency, EXCLUDED.charge, EXCLUDED.payment_intent, EXCLUDED.reason,
     EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('refund', EXCLUDED.event_created, o.event_created, EXCLUDED.status, o.status,
                          EXCLUDED.deleted, o.deleted);
  RETURN FOUND;
END $$;

CREATE FUNCTION stripe._upsert_disputes(r stripe.disputes) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stripe.disputes AS o VALUES (r.*)
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, status, amount, currency, charge, payment_intent, reason,
     event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.amount,
     EXCLUDED.currency, EXCLUDED.charge, EXCLUDED.payment_intent, EXCLUDED.reason,
     EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('dispute', EXCLUDED.event_created, o.event_created, EXCLUDED.status, o.status,
                          EXCLUDED.deleted, o.deleted);
  RETURN FOUND;
END $$;

CREATE FUNCTION stripe._upsert_customers(r stripe.customers) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stripe.customers AS o VALUES (r.*)
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, email, name, currency, delinquent, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.email, EXCLUDED.name, EXCLUDED.currency,
     EXCLUDED.delinquent, EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('customer', EXCLUDED.event_created, o.event_created, NULL, NULL,
                          EXCLUDED.deleted, o.deleted);
  RETURN FOUND;
END $$;

CREATE FUNCTION stripe._upsert_checkout_sessions(r stripe.checkout_sessions) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stripe.checkout_sessions AS o VALUES (r.*)
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, status, payment_status, mode, amount_total, currency, customer,
     payment_intent, subscription, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.payment_status,
     EXCLUDED.mode, EXCLUDED.amount_total, EXCLUDED.currency, EXCLUDED.customer, EXCLUDED.payment_intent,
     EXCLUDED.subscription, EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('checkout.session', EXCLUDED.event_created, o.event_created, EXCLUDED.status, o.status,
                          EXCLUDED.deleted, o.deleted);
  RETURN FOUND;
END $$;

CREATE FUNCTION stripe._upsert_subscriptions(r stripe.subscriptions) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stripe.subscriptions AS o VALUES (r.*)
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, status, customer, currency, cancel_at_period_end, canceled_at, ended_at,
     start_date, trial_start, trial_end, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.customer,
     EXCLUDED.currency, EXCLUDED.cancel_at_period_end, EXCLUDED.canceled_at, EXCLUDED.ended_at,
     EXCLUDED.start_date, EXCLUDED.trial_start, EXCLUDED.trial_end, EXCLUDED.event_created,
     EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('subscription', EXCLUDED.event_created, o.event_created, EXCLUDED.status, o.status,
                          EXCLUDED.deleted, o.deleted);
  IF FOUND THEN
    -- The items of this state replace the previous ones; the C layer upserts them right after.
    DELETE FROM stripe.subscription_items WHERE subscription = r.id;
    RETURN true;
  END IF;
  RETURN false;
END $$;

-- Items come only embedded in their subscription, and only when the subscription state was
-- applied (the C layer skips them otherwise): plain insert after the delete above.
CREATE FUNCTION stripe._upsert_subscription_items(r stripe.subscription_items) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stripe.subscription_items VALUES (r.*)
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, subscription, price, product, quantity, unit_amount, currency, interval,
     interval_count, current_period_start, current_period_end, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.subscription, EXCLUDED.price,
     EXCLUDED.product, EXCLUDED.quantity, EXCLUDED.unit_amount, EXCLUDED.currency, EXCLUDED.interval,
     EXCLUDED.interval_count, EXCLUDED.current_period_start, EXCLUDED.current_period_end,
     EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data);
  RETURN true;
END $$;

CREATE FUNCTION stripe._upsert_invoices(r stripe.invoices) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stripe.invoices AS o VALUES (r.*)
  ON CONFLICT (id) DO UPDATE SET
    (account, livemode, created, status, customer, subscription, currency, amount_due, amount_paid,
     amount_remaining, total, billing_reason, paid_at, event_created, event_id, deleted, data)
  = (EXCLUDED.account, EXCLUDED.livemode, EXCLUDED.created, EXCLUDED.status, EXCLUDED.customer,
     EXCLUDED.subscription, EXCLUDED.currency, EXCLUDED.amount_due, EXCLUDED.amount_paid,
     EXCLUDED.amount_remaining, EXCLUDED.total, EXCLUDED.billing_reason, EXCLUDED.paid_at,
     EXCLUDED.event_created, EXCLUDED.event_id, EXCLUDED.deleted, EXCLUDED.data)
  WHERE stripe.supersedes('invoice', EXCLUDED.event_created, o.event_created, EXCLUDED.status, o.status,
                          EXCLUDED.deleted, o.deleted);
  RETURN FOUND;
END $$;
