
-------------------------------------------------------------------------------
-- §2 Endpoints, the event log, rejected deliveries.
-------------------------------------------------------------------------------

-- Webhook endpoints and their signing secrets. Readable only by the extension owner: ingest
-- reads it through SECURITY DEFINER functions, nobody else can SELECT it (see 90_privileges).
CREATE TABLE stripe.endpoints (
    name                text PRIMARY KEY CHECK (name <> ''),
    secret              text NOT NULL,
    previous_secret     text,
    previous_expires_at timestamptz,
    tolerance           integer NOT NULL DEFAULT 300,
    created_at          timestamptz NOT NULL DEFAULT now(),
    rotated_at          timestamptz
);
COMMENT ON TABLE stripe.endpoints IS 'Webhook endpoints and their signing secrets (whsec_...). Never granted to anyone; managed with stripe.create_endpoint / rotate_endpoint_secret / drop_endpoint.';
COMMENT ON COLUMN stripe.endpoints.previous_secret IS 'The secret before the last rotation, still accepted until previous_expires_at.';

-- The event log: every accepted event exactly as received (the json type keeps the text
-- verbatim). Ids and types are COLLATE "C", like every Stripe identifier (see below). Object tables and analytics are a pure function of it (stripe.rebuild()).
CREATE TABLE stripe.events (
    id           text COLLATE "C" PRIMARY KEY,
    seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    type         text COLLATE "C" NOT NULL,
    created      timestamptz NOT NULL,
    livemode     boolean NOT NULL,
    account      text COLLATE "C",
    api_version  text COLLATE "C",
    object_type  text COLLATE "C",
    object_id    text COLLATE "C",
    endpoint     text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    body         json NOT NULL
);
CREATE INDEX events_object_idx ON stripe.events (object_id);
-- (No index on type or created: every index costs each ingest a few microseconds, and queries
-- by type over the log are rare; add one if yours are not.)
COMMENT ON TABLE stripe.events IS 'Append-only log of accepted Stripe events, as received. id is Stripe''s event id: a second delivery of the same id is a duplicate and changes nothing.';
COMMENT ON COLUMN stripe.events.seq IS 'Arrival order; stripe.rebuild() replays the log in this order.';
COMMENT ON COLUMN stripe.events.created IS 'The event''s created (Stripe''s clock).';
COMMENT ON COLUMN stripe.events.account IS 'Connected account (Connect) the event belongs to; NULL for the platform''s own.';
COMMENT ON COLUMN stripe.events.endpoint IS 'Endpoint the signed delivery came through; NULL for stripe.ingest_event.';
COMMENT ON COLUMN stripe.events.body IS 'The event exactly as received (cast to jsonb to query it fast).';

-- Deliveries that failed verification or validation, kept so an operator can see why webhooks
-- fail. Never holds a secret: the header carries only t= and signatures, the body is truncated.
CREATE TABLE stripe.rejected_deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    endpoint     text,
    reason       text NOT NULL,
    sqlstate     text NOT NULL,
    message      text NOT NULL,
    detail       text,
    sig_header   text,
    body_size    integer NOT NULL,
    body_prefix  text
);
CREATE INDEX rejected_deliveries_received_idx ON stripe.rejected_deliveries (received_at);
COMMENT ON TABLE stripe.rejected_deliveries IS 'Webhook deliveries stripe.ingest rejected (the caller answered 400): why, when, through which endpoint; the header and a bounded prefix of the body (stripe.rejected_body_prefix bytes), never a secret.';
COMMENT ON COLUMN stripe.rejected_deliveries.reason IS 'signature_mismatch, timestamp_outside_tolerance, unparsable_signature_header, no_v1_signature, no_signature_header, no_payload, no_secret, unknown_endpoint, payload_too_large, invalid_json, invalid_event, thin_event.';
COMMENT ON COLUMN stripe.rejected_deliveries.detail IS 'E.g. the event age for clock skew, or that the secret contains whitespace. Never the secret.';

-------------------------------------------------------------------------------
-- §2 Object state: the latest state of every object, keyed by Stripe id.
-- Common columns: account, livemode (from the event), created (the object's own), typed
-- fields, event_created / event_id (the event that last set the row), deleted (tombstone),
-- data (the full object, verbatim). Rows are written only by the stripe._apply_* statements.
--
-- Stripe's identifiers and codes (ids, references to other objects, account, currency, status,
-- failure codes, ...) are machine strings compared byte for byte: COLLATE "C". Every index and
-- unique key of the extension is on them, and under a linguistic collation (en_US.UTF-8, even
-- C.UTF-8 in PostgreSQL 15) each comparison goes through strcoll(). Equality with text of any
-- other collation works as usual; human text (names, e-mails) keeps the database's collation.
-------------------------------------------------------------------------------

CREATE TABLE stripe.charges (
    id                  text COLLATE "C" PRIMARY KEY,
    account             text COLLATE "C",
    livemode            boolean NOT NULL,
    created             timestamptz,
    status              text COLLATE "C",
    amount              bigint,
    amount_captured     bigint,
    amount_refunded     bigint,
    currency            text COLLATE "C",
    customer            text COLLATE "C",
    payment_intent      text COLLATE "C",
    invoice             text COLLATE "C",
    captured            boolean,
    refunded            boolean,
    disputed            boolean,
    failure_code        text COLLATE "C",
    outcome_type        text COLLATE "C",
    outcome_reason      text COLLATE "C",
    payment_method_type text COLLATE "C",
    card_brand          text COLLATE "C",
    event_created       timestamptz NOT NULL,
    event_id            text COLLATE "C" NOT NULL,
    deleted             boolean NOT NULL,
    data                json NOT NULL
);
CREATE INDEX charges_customer_idx ON stripe.charges (customer, created) WHERE customer IS NOT NULL;
-- A period's charges of one currency and status (the report's declines and customers, which
-- run per currency): covering, so those reads are index-only and never fetch the wide rows (the
-- verbatim data of every charge), and led by currency and status, so each reads only its own
-- entries (an index on created alone made every currency read the period's charges of all).
CREATE INDEX charges_period_idx ON stripe.charges (currency, status, created)
  INCLUDE (account, livemode, customer, failure_code, outcome_reason);
-- Paying customers (stripe.cohort_retention, the report's customer sections): covers the
-- succeeded charges with a customer, in customer order, so those reads never touch the table.
CREATE INDEX charges_paid_idx ON stripe.charges (account, livemode, customer, created)
  WHERE status = 'succeeded' AND customer IS NOT NULL AND created IS NOT NULL;
COMMENT ON TABLE stripe.charges IS 'Latest state of every charge. The unit of a payment: status succeeded or failed.';

CREATE TABLE stripe.payment_intents (
    id                  text COLLATE "C" PRIMARY KEY,
    account             text COLLATE "C",
    livemode            boolean NOT NULL,
    created             timestamptz,
    status              text COLLATE "C",
    amount              bigint,
    amount_received     bigint,
    currency            text COLLATE "C",
    customer            text COLLATE "C",
    latest_charge       text COLLATE "C",
    last_error_code     text COLLATE "C",
    cancellation_reason text COLLATE "C",
    event_created       timestamptz NOT NULL,
    event_id            text COLLATE "C" NOT NULL,
    deleted             boolean NOT NULL,
    data                json NOT NULL
);
COMMENT ON TABLE stripe.payment_intents IS 'Latest state of every payment intent (never counted as a payment: the charge is).';

CREATE TABLE stripe.refunds (
    id              text COLLATE "C" PRIMARY KEY,
    account         text COLLATE "C",
    livemode        boolean NOT NULL,
    created         timestamptz,
    status          text COLLATE "C",
    amount          bigint,
    currency        text COLLATE "C",
    charge          text COLLATE "C",
    payment_intent  text COLLATE "C",
    reason          text COLLATE "C",
    customer        text COLLATE "C",   -- the charge's customer, kept in step by triggers
    event_created   timestamptz NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    deleted         boolean NOT NULL,
    data            json NOT NULL
);
CREATE INDEX refunds_charge_idx ON stripe.refunds (charge);
-- A period's refunds (disputes below) of one currency, index-only: the report's refund and
-- dispute counts.
CREATE INDEX refunds_period_idx ON stripe.refunds (currency, created) INCLUDE (account, livemode, status, reason, amount);
COMMENT ON TABLE stripe.refunds IS 'Latest state of every refund, from refund.* / charge.refund.* events and from the refunds embedded in charge payloads.';
COMMENT ON COLUMN stripe.refunds.customer IS 'Customer of the refunded charge (from stripe.charges), NULL while the charge is unknown.';

CREATE TABLE stripe.disputes (
    id              text COLLATE "C" PRIMARY KEY,
    account         text COLLATE "C",
    livemode        boolean NOT NULL,
    created         timestamptz,
    status          text COLLATE "C",
    amount          bigint,
    currency        text COLLATE "C",
    charge          text COLLATE "C",
    payment_intent  text COLLATE "C",
    reason          text COLLATE "C",
    event_created   timestamptz NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    deleted         boolean NOT NULL,
    data            json NOT NULL
);
CREATE INDEX disputes_period_idx ON stripe.disputes (currency, created) INCLUDE (account, livemode, status, amount);
COMMENT ON TABLE stripe.disputes IS 'Latest state of every dispute (charge.dispute.* events).';

CREATE TABLE stripe.customers (
    id              text COLLATE "C" PRIMARY KEY,
    account         text COLLATE "C",
    livemode        boolean NOT NULL,
    created         timestamptz,
    email           text,
    name            text,
    currency        text COLLATE "C",
    delinquent      boolean,
    event_created   timestamptz NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    deleted         boolean NOT NULL,
    data            json NOT NULL
);
COMMENT ON TABLE stripe.customers IS 'Latest state of every customer; deleted customers stay as tombstones (deleted = true).';

CREATE TABLE stripe.checkout_sessions (
    id              text COLLATE "C" PRIMARY KEY,
    account         text COLLATE "C",
    livemode        boolean NOT NULL,
    created         timestamptz,
    status          text COLLATE "C",
    payment_status  text COLLATE "C",
    mode            text COLLATE "C",
    amount_total    bigint,
    currency        text COLLATE "C",
    customer        text COLLATE "C",
    payment_intent  text COLLATE "C",
    subscription    text COLLATE "C",
    event_created   timestamptz NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    deleted         boolean NOT NULL,
    data            json NOT NULL
);
COMMENT ON TABLE stripe.checkout_sessions IS 'Latest state of every Checkout session.';

CREATE TABLE stripe.subscriptions (
    id                   text COLLATE "C" PRIMARY KEY,
    account              text COLLATE "C",
    livemode             boolean NOT NULL,
    created              timestamptz,
    status               text COLLATE "C",
    customer             text COLLATE "C",
    currency             text COLLATE "C",
    cancel_at_period_end boolean,
    canceled_at          timestamptz,
    ended_at             timestamptz,
    start_date           timestamptz,
    trial_start          timestamptz,
    trial_end            timestamptz,
    event_created        timestamptz NOT NULL,
    event_id             text COLLATE "C" NOT NULL,
    deleted              boolean NOT NULL,
    data                 json NOT NULL
);
COMMENT ON TABLE stripe.subscriptions IS 'Latest state of every subscription; its items are in stripe.subscription_items.';

CREATE TABLE stripe.subscription_items (
    id                   text COLLATE "C" PRIMARY KEY,
    account              text COLLATE "C",
    livemode             boolean NOT NULL,
    created              timestamptz,
    subscription         text COLLATE "C" NOT NULL,
    price                text COLLATE "C",
    product              text COLLATE "C",
    quantity             bigint,
    unit_amount          bigint,
    currency             text COLLATE "C",
    interval             text COLLATE "C",
    interval_count       bigint,
    current_period_start timestamptz,
    current_period_end   timestamptz,
    event_created        timestamptz NOT NULL,
    event_id             text COLLATE "C" NOT NULL,
    deleted              boolean NOT NULL,
    data                 json NOT NULL
);
CREATE INDEX subscription_items_subscription_idx ON stripe.subscription_items (subscription);
COMMENT ON TABLE stripe.subscription_items IS 'Items of the latest state of each subscription (items no longer on it are removed).';

CREATE TABLE stripe.invoices (
    id               text COLLATE "C" PRIMARY KEY,
    account          text COLLATE "C",
    livemode         boolean NOT NULL,
    created          timestamptz,
    status           text COLLATE "C",
    customer         text COLLATE "C",
    subscription     text COLLATE "C",
    currency         text COLLATE "C",
    amount_due       bigint,
    amount_paid      bigint,
    amount_remaining bigint,
    total            bigint,
    billing_reason   text COLLATE "C",
    paid_at          timestamptz,
    event_created    timestamptz NOT NULL,
    event_id         text COLLATE "C" NOT NULL,
    deleted          boolean NOT NULL,
    data             json NOT NULL
);
COMMENT ON TABLE stripe.invoices IS 'Latest state of every invoice (never counted as a payment: its charge is).';

-------------------------------------------------------------------------------
-- §3 Incrementally maintained aggregates (written by the triggers in 20_ingest.sql).
-- Time buckets are UTC quarter-hours: every reporting time zone in use today has an offset that
-- is a multiple of 15 minutes, so a day/week/month in any zone is an exact union of buckets.
-- `shard` spreads concurrent ingest transactions over different rows (each claims the lowest
-- number in 0..63 no other transaction in flight holds) so they do not queue on one hot row until
-- commit; views sum over shards, and stripe.compact_aggregates() folds the shards nobody holds.
-------------------------------------------------------------------------------

CREATE TABLE stripe.agg_payments (
    bucket        timestamptz NOT NULL,
    account       text COLLATE "C",
    livemode      boolean NOT NULL,
    currency      text COLLATE "C" NOT NULL,
    shard         smallint NOT NULL,
    succeeded     bigint NOT NULL DEFAULT 0,
    failed        bigint NOT NULL DEFAULT 0,
    gross         bigint NOT NULL DEFAULT 0,
    refunded      bigint NOT NULL DEFAULT 0,
    disputes      bigint NOT NULL DEFAULT 0,
    lost_disputed bigint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (bucket, account, livemode, currency, shard)
);
COMMENT ON TABLE stripe.agg_payments IS 'Per quarter-hour (UTC) of the object''s created: charges succeeded/failed and captured volume (by charge created), succeeded refunds (by refund created), disputes and lost dispute amounts (by dispute created).';

-- Reporting zones rolled up by day at ingest (stripe.add_reporting_zone). A day in any zone is a
-- union of the quarter-hours above, but a 90-day period is 8,640 quarter-hours per currency and
-- shard: on a busy history payments_* read hundreds of thousands of rows. For the zones listed
-- here every delta to agg_payments is also added to the day its quarter-hour falls on in that
-- zone, so the views read one row per day; any other stripe.timezone still works, from the
-- quarter-hours. UTC (the default stripe.timezone) is always listed.
CREATE TABLE stripe.reporting_zones (
    zone text COLLATE "C" PRIMARY KEY
);
INSERT INTO stripe.reporting_zones VALUES ('UTC');
COMMENT ON TABLE stripe.reporting_zones IS 'Time zones whose days are rolled up at ingest (agg_payments_days); manage with stripe.add_reporting_zone / stripe.drop_reporting_zone. Names in their canonical spelling, as stripe.timezone keeps them.';

CREATE TABLE stripe.agg_payments_days (
    zone          text COLLATE "C" NOT NULL,
    day           date NOT NULL,
    account       text COLLATE "C",
    livemode      boolean NOT NULL,
    currency      text COLLATE "C" NOT NULL,
    shard         smallint NOT NULL,
    succeeded     bigint NOT NULL DEFAULT 0,
    failed        bigint NOT NULL DEFAULT 0,
    gross         bigint NOT NULL DEFAULT 0,
    refunded      bigint NOT NULL DEFAULT 0,
    disputes      bigint NOT NULL DEFAULT 0,
    lost_disputed bigint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (zone, day, account, livemode, currency, shard)
);
COMMENT ON TABLE stripe.agg_payments_days IS 'agg_payments summed by calendar day in each of stripe.reporting_zones (same columns, same deltas, written by the same statements).';

-- cohort_retention for the reporting zones: each customer's succeeded payments (any currency)
-- per month of the zone, and per cohort (the month of a customer's first payment) the number of
-- its customers with a payment in each month. Kept at ingest (cohort_payment in src/pg/ingest.cpp), so
-- the view reads one row per cohort and month instead of every payment.
CREATE TABLE stripe.customer_months (
    zone     text COLLATE "C" NOT NULL,
    account  text COLLATE "C",
    livemode boolean NOT NULL,
    customer text COLLATE "C" NOT NULL,
    month    date NOT NULL,
    payments bigint NOT NULL,
    -- customer first: ingest looks a customer up with `account IS NOT DISTINCT FROM`, which no
    -- index can serve; the customer id alone is nearly unique.
    UNIQUE NULLS NOT DISTINCT (customer, zone, account, livemode, month)
);
COMMENT ON TABLE stripe.customer_months IS 'Succeeded charges of each customer (any currency) per calendar month in each of stripe.reporting_zones; rows with payments > 0 only.';

CREATE TABLE stripe.agg_cohorts (
    zone             text COLLATE "C" NOT NULL,
    account          text COLLATE "C",
    livemode         boolean NOT NULL,
    cohort_month     date NOT NULL,
    month            date NOT NULL,
    shard            smallint NOT NULL,
    customers        bigint NOT NULL DEFAULT 0,
    repeat_customers bigint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (zone, account, livemode, cohort_month, month, shard)
);
COMMENT ON TABLE stripe.agg_cohorts IS 'Per reporting zone and cohort: customers of the cohort with a succeeded payment in month (at month = cohort_month: the cohort size) and, on that row, those with >= 2 succeeded payments in total.';

CREATE TABLE stripe.agg_declines (
    account        text COLLATE "C",
    livemode       boolean NOT NULL,
    failure_code   text COLLATE "C",
    outcome_reason text COLLATE "C",
    shard          smallint NOT NULL,
    failed         bigint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (account, livemode, failure_code, outcome_reason, shard)
);

CREATE TABLE stripe.agg_methods (
    account             text COLLATE "C",
    livemode            boolean NOT NULL,
    currency            text COLLATE "C" NOT NULL,
    payment_method_type text COLLATE "C",
    card_brand          text COLLATE "C",
    shard               smallint NOT NULL,
    succeeded           bigint NOT NULL DEFAULT 0,
    gross               bigint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (account, livemode, currency, payment_method_type, card_brand, shard)
);

CREATE TABLE stripe.agg_customers (
    bucket        timestamptz NOT NULL,
    account       text COLLATE "C",
    livemode      boolean NOT NULL,
    shard         smallint NOT NULL,
    new_customers bigint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (bucket, account, livemode, shard)
);

CREATE TABLE stripe.agg_checkout (
    bucket    timestamptz NOT NULL,
    account   text COLLATE "C",
    livemode  boolean NOT NULL,
    shard     smallint NOT NULL,
    sessions  bigint NOT NULL DEFAULT 0,
    completed bigint NOT NULL DEFAULT 0,
    paid      bigint NOT NULL DEFAULT 0,
    expired   bigint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (bucket, account, livemode, shard)
);

-- One row per customer and currency (exact, not sharded: a customer's own rows are not hot).
CREATE TABLE stripe.customer_totals (
    account          text COLLATE "C",
    livemode         boolean NOT NULL,
    customer         text COLLATE "C" NOT NULL,
    currency         text COLLATE "C" NOT NULL,
    payments         bigint NOT NULL DEFAULT 0,
    failed_payments  bigint NOT NULL DEFAULT 0,
    total_spent      bigint NOT NULL DEFAULT 0,
    refunded         bigint NOT NULL DEFAULT 0,
    first_payment_at timestamptz,
    last_payment_at  timestamptz,
    UNIQUE NULLS NOT DISTINCT (account, livemode, customer, currency)
);

-- Event bodies and object payloads are 1-4 KB JSON: compressed with pglz they cost more CPU on
-- ingest than the rest of the work together. lz4 is several times cheaper (PostgreSQL builds
-- without lz4 keep the default).
DO $$
DECLARE t text;
BEGIN
  EXECUTE 'ALTER TABLE stripe.events ALTER COLUMN body SET COMPRESSION lz4';
  FOREACH t IN ARRAY ARRAY['charges', 'payment_intents', 'refunds', 'disputes', 'customers', 'checkout_sessions',
                           'subscriptions', 'subscription_items', 'invoices'] LOOP
    EXECUTE format('ALTER TABLE stripe.%I ALTER COLUMN data SET COMPRESSION lz4', t);
  END LOOP;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'lz4 is not available in this PostgreSQL build; JSON columns use the default compression';
END $$;
