
-------------------------------------------------------------------------------
-- Privileges. Nothing is granted to PUBLIC but the pure verification functions. Three roles
-- (NOLOGIN; grant them to your login roles):
--   stripe_ingest  may call stripe.ingest, nothing else (cannot read secrets or any table)
--   stripe_reader  may read the analytics views, object tables and the event log
--   stripe_admin   stripe_reader + endpoint management, ingest_event, rebuild, rejected deliveries
-- Nobody but the extension owner can read stripe.endpoints (the secrets).
-------------------------------------------------------------------------------

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stripe_ingest') THEN CREATE ROLE stripe_ingest NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stripe_reader') THEN CREATE ROLE stripe_reader NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stripe_admin') THEN CREATE ROLE stripe_admin NOLOGIN; END IF;
END $$;

REVOKE ALL ON SCHEMA stripe FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA stripe FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA stripe FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA stripe FROM PUBLIC;
GRANT USAGE ON SCHEMA stripe TO PUBLIC;

-- Pure functions of their arguments: harmless for anyone.
GRANT EXECUTE ON FUNCTION
  stripe.verify_signature(text, text, text, integer, timestamptz),
  stripe.verify_signature(bytea, text, text, integer, timestamptz),
  stripe.verify_signature(text, text, text[], integer, timestamptz),
  stripe.verify_signature(bytea, text, text[], integer, timestamptz),
  stripe.construct_event(text, text, text, integer, timestamptz),
  stripe.construct_event(bytea, text, text, integer, timestamptz),
  stripe.construct_event(text, text, text[], integer, timestamptz),
  stripe.construct_event(bytea, text, text[], integer, timestamptz),
  stripe.currency_exponent(text), stripe.to_major(numeric, text), stripe.ratio(numeric, numeric),
  stripe.reporting_timezone(), stripe.is_terminal(text, text),
  stripe.supersedes(text, timestamptz, timestamptz, text, text, boolean, boolean)
TO PUBLIC;

GRANT EXECUTE ON FUNCTION stripe.ingest(text, text, text), stripe.ingest(bytea, text, text) TO stripe_ingest;

GRANT SELECT ON stripe.events, stripe.charges, stripe.payment_intents, stripe.refunds, stripe.disputes,
  stripe.customers, stripe.checkout_sessions, stripe.subscriptions, stripe.subscription_items, stripe.invoices,
  stripe.agg_payments, stripe.agg_payments_days, stripe.agg_declines, stripe.agg_methods, stripe.agg_customers,
  stripe.agg_checkout, stripe.customer_totals, stripe.reporting_zones, stripe.customer_months, stripe.agg_cohorts,
  stripe.payments_daily, stripe.payments_weekly, stripe.payments_monthly, stripe.decline_reasons,
  stripe.payment_method_mix, stripe.new_customers_daily, stripe.customer_stats, stripe.cohort_retention,
  stripe.checkout_funnel_daily, stripe._rfm_cuts
TO stripe_reader;
GRANT EXECUTE ON FUNCTION stripe.payments(text, date, date), stripe.customer_rfm(timestamptz), stripe._bucket(timestamptz),
  stripe._rolled_up(text), stripe._period_start(date), stripe._new_customer_days(date, date),
  stripe._checkout_days(date, date), stripe._rfm_cuts_of(bigint), stripe._rfm_cuts_of(timestamptz),
  stripe._payments_from_quarters(text, date, date), stripe._cohort_cells_from_charges(),
  stripe._rfm_score(anyelement, anyelement, anyelement, anyelement, anyelement), stripe._rfm_segment(integer, integer)
TO stripe_reader;

GRANT stripe_reader TO stripe_admin;
GRANT SELECT ON stripe.rejected_deliveries, stripe.endpoint_status TO stripe_admin;
GRANT EXECUTE ON FUNCTION
  stripe.create_endpoint(text, text, integer), stripe.rotate_endpoint_secret(text, text, interval),
  stripe.drop_endpoint(text), stripe.ingest_event(text), stripe.ingest_event(jsonb), stripe.rebuild(),
  stripe.ingest(text, text, text), stripe.ingest(bytea, text, text),
  stripe.add_reporting_zone(text), stripe.drop_reporting_zone(text), stripe.compact_aggregates()
TO stripe_admin;

-------------------------------------------------------------------------------
-- Row-level security for Connect platforms: a role listed in stripe.account_access sees only
-- the rows of the accounts listed for it (NULL account = the platform's own rows); a role not
-- listed (and the owner) sees everything. The views are security_invoker, so this applies to
-- them too. Ingest runs as the owner and is not affected.
-------------------------------------------------------------------------------

CREATE TABLE stripe.account_access (
    role    name NOT NULL,
    account text,
    UNIQUE NULLS NOT DISTINCT (role, account)
);
COMMENT ON TABLE stripe.account_access IS 'Restricts a role (and its members) to the rows of these connected accounts; NULL account = the platform''s own rows. Roles absent from this table are not restricted.';
GRANT SELECT ON stripe.account_access TO stripe_admin;

CREATE FUNCTION stripe.account_visible(acct text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT NOT EXISTS (SELECT 1 FROM stripe.account_access a WHERE pg_has_role(a.role, 'MEMBER'))
      OR EXISTS (SELECT 1 FROM stripe.account_access a
                  WHERE a.account IS NOT DISTINCT FROM acct AND pg_has_role(a.role, 'MEMBER'))
$$;
COMMENT ON FUNCTION stripe.account_visible(text) IS 'Row-level security predicate: may the current user see rows of this account?';
GRANT EXECUTE ON FUNCTION stripe.account_visible(text) TO PUBLIC;
GRANT SELECT ON stripe.account_access TO PUBLIC;  -- needed by the predicate; lists no secret

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['events', 'charges', 'payment_intents', 'refunds', 'disputes', 'customers',
                           'checkout_sessions', 'subscriptions', 'subscription_items', 'invoices',
                           'agg_payments', 'agg_payments_days', 'agg_declines', 'agg_methods', 'agg_customers', 'agg_checkout',
                           'customer_totals', 'customer_months', 'agg_cohorts'] LOOP
    EXECUTE format('ALTER TABLE stripe.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY account_scope ON stripe.%I FOR SELECT USING (stripe.account_visible(account))', t);
  END LOOP;
END $$;

-- pg_dump keeps the rows of extension tables only when they are marked: without these marks a
-- dump would restore an empty event log, empty object tables and empty analytics. The object
-- tables have no triggers (ingest writes objects and aggregates in one statement), so the
-- aggregates are dumped as they are, like everything else derived from the log.
SELECT pg_catalog.pg_extension_config_dump('stripe.endpoints', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.account_access', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.events', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.rejected_deliveries', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.charges', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.payment_intents', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.refunds', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.disputes', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.customers', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.checkout_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.subscriptions', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.subscription_items', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.invoices', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.agg_payments', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.agg_payments_days', '');
-- UTC is inserted by CREATE EXTENSION itself (and cannot be dropped).
SELECT pg_catalog.pg_extension_config_dump('stripe.reporting_zones', 'WHERE zone <> ''UTC''');
SELECT pg_catalog.pg_extension_config_dump('stripe.agg_declines', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.agg_methods', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.agg_customers', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.agg_checkout', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.customer_totals', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.customer_months', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.agg_cohorts', '');
-- ... and the identity sequences, or the first ingest after a restore would take seq 1 again.
SELECT pg_catalog.pg_extension_config_dump('stripe.events_seq_seq', '');
SELECT pg_catalog.pg_extension_config_dump('stripe.rejected_deliveries_id_seq', '');
