
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
