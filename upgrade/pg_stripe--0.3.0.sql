-- pg_stripe install script. Schema `stripe` is created by CREATE EXTENSION (control file).
\echo Use "CREATE EXTENSION pg_stripe" to load this file. \quit

-------------------------------------------------------------------------------
-- §1 Signature verification: pure functions, no tables.
-------------------------------------------------------------------------------

CREATE FUNCTION stripe.verify_signature(payload text, sig_header text, secret text,
                                        tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS boolean AS 'MODULE_PATHNAME', 'pg_stripe_verify_signature'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.verify_signature(payload bytea, sig_header text, secret text,
                                        tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS boolean AS 'MODULE_PATHNAME', 'pg_stripe_verify_signature'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.verify_signature(payload text, sig_header text, secret text[],
                                        tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS boolean AS 'MODULE_PATHNAME', 'pg_stripe_verify_signature'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.verify_signature(payload bytea, sig_header text, secret text[],
                                        tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS boolean AS 'MODULE_PATHNAME', 'pg_stripe_verify_signature'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.construct_event(payload text, sig_header text, secret text,
                                       tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS jsonb AS 'MODULE_PATHNAME', 'pg_stripe_construct_event'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.construct_event(payload bytea, sig_header text, secret text,
                                       tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS jsonb AS 'MODULE_PATHNAME', 'pg_stripe_construct_event'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.construct_event(payload text, sig_header text, secret text[],
                                       tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS jsonb AS 'MODULE_PATHNAME', 'pg_stripe_construct_event'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.construct_event(payload bytea, sig_header text, secret text[],
                                       tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS jsonb AS 'MODULE_PATHNAME', 'pg_stripe_construct_event'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION stripe.verify_signature(text, text, text, integer, timestamptz) IS
  'True when sig_header (Stripe-Signature) holds a valid v1 HMAC-SHA256 of payload under secret, signed at most tolerance seconds before at. Never raises on bad input.';
COMMENT ON FUNCTION stripe.construct_event(text, text, text, integer, timestamptz) IS
  'Verifies like verify_signature and returns the event as jsonb; raises stripe-node''s message with a pg_stripe SQLSTATE (ST001..ST011) at the first failure.';

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
-- A period's charges (the report's declines and customers): covering, so those reads are
-- index-only and never fetch the wide rows (the verbatim data of every charge).
CREATE INDEX charges_created_idx ON stripe.charges (created)
  INCLUDE (status, account, livemode, currency, customer, failure_code, outcome_reason);
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
-- `shard` spreads concurrent ingest sessions over different rows (pg_backend_pid() % 16) so they
-- do not queue on one hot row until commit; views sum over shards.
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

-------------------------------------------------------------------------------
-- §3 Analytics. Read from the aggregates maintained at every ingest: no refresh step.
-------------------------------------------------------------------------------

CREATE FUNCTION stripe.reporting_timezone() RETURNS text
AS 'MODULE_PATHNAME', 'pg_stripe_reporting_timezone'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stripe.reporting_timezone() IS 'The setting stripe.timezone (default UTC): days, weeks and months of every view are calendar buckets in this zone.';

CREATE FUNCTION stripe._zone_name(zone text) RETURNS text
AS 'MODULE_PATHNAME', 'pg_stripe_zone_name'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stripe._zone_name(text) IS 'The canonical spelling of a time zone name (asia/seoul -> Asia/Seoul), as stripe.timezone keeps it; raises 22023 for an unknown zone.';

CREATE FUNCTION stripe.currency_exponent(currency text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN lower(currency) IN ('bif','clp','djf','gnf','jpy','kmf','krw','mga','pyg','rwf','ugx','vnd','vuv','xaf','xof','xpf') THEN 0
    WHEN lower(currency) IN ('bhd','jod','kwd','omr','tnd') THEN 3
    ELSE 2 END
$$;
COMMENT ON FUNCTION stripe.currency_exponent(text) IS 'Stripe''s minor-unit exponent: 0 for zero-decimal currencies (JPY, KRW, ...), 3 for BHD JOD KWD OMR TND, else 2.';

CREATE FUNCTION stripe.to_major(amount numeric, currency text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT round(amount / (10::numeric ^ stripe.currency_exponent(currency)), stripe.currency_exponent(currency))
$$;
COMMENT ON FUNCTION stripe.to_major(numeric, text) IS 'An amount in minor units (as Stripe sends it) in major units, to the currency''s precision: 1234 usd -> 12.34, 1234 krw -> 1234, 1234 kwd -> 1.234.';

CREATE FUNCTION stripe.ratio(num numeric, den numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN den = 0 THEN NULL ELSE num / den END
$$;
COMMENT ON FUNCTION stripe.ratio(numeric, numeric) IS 'num/den, NULL when den is 0 (SPEC §3: a rate with a zero denominator is NULL).';

-- Is this zone rolled up by day at ingest (stripe.reporting_zones)? The views read the rollups
-- for it and skip the quarter-hours with a one-time filter (a call without column references;
-- a function whose body is a sub-select is not inlined, so it stays one). PARALLEL UNSAFE on
-- purpose: the planner would otherwise start parallel workers for the quarter-hour branch it
-- then skips (~8 ms each time).
CREATE FUNCTION stripe._rolled_up(zone text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL UNSAFE AS $$
  SELECT EXISTS (SELECT FROM stripe.reporting_zones z WHERE z.zone = $1)
$$;

-- One definition for the three grains; `grain` is 'day', 'week' (ISO, Monday) or 'month'.
-- from_date/to_date (days in the reporting zone, inclusive) turn into a range of UTC buckets, so
-- a period reads through the aggregates' index and costs the same however long the history is.
CREATE FUNCTION stripe.payments(grain text, from_date date DEFAULT NULL, to_date date DEFAULT NULL)
RETURNS TABLE (bucket date, account text, livemode boolean, currency text,
               successful_payments bigint, failed_payments bigint, failure_rate numeric,
               gross_volume bigint, gross_volume_major numeric,
               refunded_amount bigint, refunded_amount_major numeric,
               disputes bigint, dispute_rate numeric,
               net_volume bigint, net_volume_major numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT s.bucket, s.account, s.livemode, s.currency,
         s.succeeded, s.failed, stripe.ratio(s.failed, s.succeeded + s.failed),
         s.gross, stripe.to_major(s.gross, s.currency),
         s.refunded, stripe.to_major(s.refunded, s.currency),
         s.disputes, stripe.ratio(s.disputes, s.succeeded),
         s.gross - s.refunded - s.lost, stripe.to_major(s.gross - s.refunded - s.lost, s.currency)
    FROM (-- the reporting zone is rolled up by day (stripe.reporting_zones): one row per day
          SELECT CASE grain WHEN 'day' THEN d.day ELSE date_trunc(grain, d.day::timestamp)::date END AS bucket,
                 d.account, d.livemode, d.currency,
                 sum(d.succeeded)::bigint AS succeeded, sum(d.failed)::bigint AS failed,
                 sum(d.gross)::bigint AS gross, sum(d.refunded)::bigint AS refunded,
                 sum(d.disputes)::bigint AS disputes, sum(d.lost_disputed)::bigint AS lost
            FROM stripe.agg_payments_days d
           WHERE d.zone = stripe.reporting_timezone()
             AND (from_date IS NULL OR d.day >= from_date) AND (to_date IS NULL OR d.day <= to_date)
           GROUP BY 1, 2, 3, 4
          UNION ALL
          -- any other zone: from the UTC quarter-hours (a one-time filter skips this otherwise)
          SELECT date_trunc(grain, a.bucket AT TIME ZONE stripe.reporting_timezone())::date,
                 a.account, a.livemode, a.currency,
                 sum(a.succeeded)::bigint, sum(a.failed)::bigint, sum(a.gross)::bigint, sum(a.refunded)::bigint,
                 sum(a.disputes)::bigint, sum(a.lost_disputed)::bigint
            FROM stripe.agg_payments a
           WHERE NOT stripe._rolled_up(stripe.reporting_timezone())
             AND (from_date IS NULL OR a.bucket >= from_date::timestamp AT TIME ZONE stripe.reporting_timezone())
             AND (to_date IS NULL OR a.bucket < (to_date + 1)::timestamp AT TIME ZONE stripe.reporting_timezone())
           GROUP BY 1, 2, 3, 4) s
   WHERE (s.succeeded, s.failed, s.gross, s.refunded, s.disputes, s.lost) <> (0, 0, 0, 0, 0, 0)
$$;
COMMENT ON FUNCTION stripe.payments(text, date, date) IS 'payments_daily/_weekly/_monthly for a date_trunc grain (day, week, month) in the reporting time zone, optionally only the buckets of the days from_date..to_date (index range scan). Reads one row per day when the zone is in stripe.reporting_zones, UTC quarter-hours otherwise.';

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

CREATE FUNCTION stripe.customer_rfm(as_of timestamptz DEFAULT now())
RETURNS TABLE (account text, livemode boolean, customer text, currency text,
               first_payment_at timestamptz, last_payment_at timestamptz, payments bigint, failed_payments bigint,
               total_spent bigint, refunded bigint, net_spent bigint, avg_order_value numeric,
               avg_days_between_payments numeric, recency_days numeric,
               r_score integer, f_score integer, m_score integer, segment text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT s.account, s.livemode, s.customer, s.currency, s.first_payment_at, s.last_payment_at,
         s.payments, s.failed_payments, s.total_spent, s.refunded, s.net_spent, s.avg_order_value,
         s.avg_days_between_payments, s.recency_days, s.r, s.f, s.m,
         CASE WHEN s.r >= 4 AND s.f >= 4 THEN 'champions'
              WHEN s.f >= 4 THEN 'loyal'
              WHEN s.r <= 2 AND s.f >= 3 THEN 'at_risk'
              WHEN s.r <= 2 AND s.f <= 2 THEN 'hibernating'
              WHEN s.r >= 4 AND s.f <= 2 THEN 'new'
              ELSE 'promising' END
    FROM (SELECT c.*,
                 extract(epoch FROM as_of - c.last_payment_at) / 86400 AS recency_days,
                 least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY c.account, c.livemode, c.currency
                                                             ORDER BY c.last_payment_at)))::int AS r,
                 least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY c.account, c.livemode, c.currency
                                                             ORDER BY c.payments)))::int AS f,
                 least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY c.account, c.livemode, c.currency
                                                             ORDER BY c.total_spent)))::int AS m
            FROM stripe.customer_stats c
           WHERE c.payments >= 1) s
$$;
COMMENT ON FUNCTION stripe.customer_rfm(timestamptz) IS 'Recency/frequency/monetary scores 1..5 per (account, livemode, currency): p = percent_rank() ascending, score = least(5, 1 + floor(5p)), ties share a score; segment = champions, loyal, at_risk, hibernating, new or promising (first rule that matches).';

-- For a reporting zone in stripe.reporting_zones, the cells (cohort x month) come from
-- agg_cohorts, kept at ingest: one row per cohort and month, however many payments.
--
-- Any other zone: read from charges_paid_idx (succeeded charges with a customer; an index-only
-- scan on a vacuumed table). The month of a payment in the reporting zone is computed once per
-- UTC quarter-hour, not once per payment (the time-zone conversion was most of this branch's
-- cost); exact because zone offsets are whole quarter-hours, as for the time-bucketed
-- aggregates. Then one row per customer and month, and a customer's cohort as a window over its
-- own months -- no join of payments to customers. A one-time filter skips this branch for a
-- rolled-up zone.
CREATE VIEW stripe.cohort_retention WITH (security_invoker = true) AS
  WITH paid AS MATERIALIZED (
    SELECT c.account, c.livemode, c.customer, stripe._bucket(c.created) AS quarter
      FROM stripe.charges c
     WHERE c.status = 'succeeded' AND c.customer IS NOT NULL AND c.created IS NOT NULL
       AND NOT stripe._rolled_up(stripe.reporting_timezone())),
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
  cells AS (  -- customers of a cohort active in a month; repeat customers on the cohort's own month
    SELECT a.account, a.livemode, a.cohort_month, a.month, sum(a.customers)::bigint AS active,
           sum(a.repeat_customers)::bigint AS repeaters
      FROM stripe.agg_cohorts a
     WHERE a.zone = stripe.reporting_timezone()
     GROUP BY 1, 2, 3, 4
    UNION ALL
    -- one row per customer and month: count(*) counts distinct customers
    SELECT account, livemode, cohort_month, month, count(*),
           count(*) FILTER (WHERE month = cohort_month AND payments >= 2)
      FROM cm GROUP BY 1, 2, 3, 4),
  cohorts AS (
    SELECT account, livemode, cohort_month, active AS cohort_size, repeaters AS repeat_customers
      FROM cells WHERE month = cohort_month AND active > 0),
  last_month AS (
    SELECT account, livemode, max(month) AS month FROM cells WHERE active > 0 GROUP BY 1, 2)
  SELECT co.cohort_month, co.account, co.livemode, o.month_offset, co.cohort_size,
         coalesce(a.active, 0) AS active_customers,
         stripe.ratio(coalesce(a.active, 0), co.cohort_size) AS retention,
         co.repeat_customers
    FROM cohorts co
    JOIN last_month l ON l.account IS NOT DISTINCT FROM co.account AND l.livemode = co.livemode
   CROSS JOIN LATERAL generate_series(0, ((extract(year FROM l.month) - extract(year FROM co.cohort_month)) * 12
                                          + extract(month FROM l.month) - extract(month FROM co.cohort_month))::int)
         AS o(month_offset)
    LEFT JOIN cells a ON a.account IS NOT DISTINCT FROM co.account AND a.livemode = co.livemode
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

-------------------------------------------------------------------------------
-- §4 Reporting: stripe.report() prints the headline figures of a period for psql, with text bar
-- charts and sparklines; stripe.dashboard_html() returns the same as one self-contained HTML page
-- (inline CSS and SVG; no script, font, image or URL of any kind).
--
-- Both are plain SQL/PL/pgSQL over the §3 views and the object tables, run as the caller (views
-- are security_invoker, so row-level security per connected account applies). Every figure is
-- per (account, livemode) and, where it is money, per currency: amounts in different currencies
-- are never added. Counts of customers and checkout sessions are shown for all currencies.
--
-- Layout of this file: text helpers, period and data helpers (shared by both outputs), the text
-- report, SVG/HTML helpers, the dashboard.
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Text helpers
-------------------------------------------------------------------------------

-- A horizontal bar `width` cells long when value = max_value, drawn in eighths of a cell
-- (█▏▎▍▌▋▊▉). A positive value too small to see still gets the thinnest sliver; zero, negative
-- or NULL gives ''.
CREATE FUNCTION stripe._bar(value numeric, max_value numeric, width integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN value IS NULL OR max_value IS NULL OR value <= 0 OR max_value <= 0 OR width <= 0 THEN ''
    ELSE (SELECT repeat('█', e / 8) || CASE WHEN e % 8 > 0 THEN substr('▏▎▍▌▋▊▉', e % 8, 1) ELSE '' END
            FROM (SELECT greatest(1, round(8 * width * least(value, max_value) / max_value))::int AS e) s)
  END
$$;
COMMENT ON FUNCTION stripe._bar(numeric, numeric, integer) IS 'Text bar in eighths of a cell: width cells at max_value.';

-- A sparkline (▁▂▃▄▅▆▇█) of a series, scaled from 0 to the series' maximum: one cell per value,
-- or, for a series longer than `width`, consecutive values averaged into `width` cells. NULL
-- values are blanks; zero and negative values are the lowest bar.
CREATE FUNCTION stripe._spark(vals numeric[], width integer DEFAULT 90) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH v AS (SELECT u.x, u.i FROM unnest(vals) WITH ORDINALITY AS u(x, i)),
       n AS (SELECT count(*) AS n FROM v),
       g AS (SELECT (v.i - 1) * least(width, n.n) / n.n AS cell, avg(v.x) AS x
               FROM v, n GROUP BY 1),
       m AS (SELECT max(x) AS hi FROM g)
  SELECT coalesce(string_agg(CASE WHEN g.x IS NULL THEN ' '
                                  WHEN m.hi IS NULL OR m.hi <= 0 THEN '▁'
                                  ELSE substr('▁▂▃▄▅▆▇█', 1 + greatest(0, least(7, round(7 * g.x / m.hi)))::int, 1)
                             END, '' ORDER BY g.cell), '')
    FROM g, m
$$;
COMMENT ON FUNCTION stripe._spark(numeric[], integer) IS 'Sparkline of a series from 0 to its maximum, at most width cells (longer series are averaged).';

-- A date as YYYY-MM-DD whatever DateStyle is.
CREATE FUNCTION stripe._d(d date) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_char(d, 'YYYY-MM-DD')
$$;

-- A text cut to at most n characters, with … when cut (for ids and codes in fixed columns).
CREATE FUNCTION stripe._fit(s text, n integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN length(s) <= n THEN s ELSE left(s, n - 1) || '…' END
$$;

-- Amount in minor units -> major units with thousands separators, to the currency's precision:
-- (123456, 'usd') -> '1,234.56', (123456, 'jpy') -> '123,456'. Separators are fixed (',' and
-- '.') so the output does not depend on lc_numeric.
CREATE FUNCTION stripe._fmt_amount(amount numeric, currency text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_char(stripe.to_major(amount, currency),
                 'FM9,999,999,999,999,999,990' || CASE WHEN stripe.currency_exponent(currency) > 0
                                                 THEN '.' || repeat('0', stripe.currency_exponent(currency)) ELSE '' END)
$$;

-- '1,234.56 USD'
CREATE FUNCTION stripe._fmt_money(amount numeric, currency text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT stripe._fmt_amount(amount, currency) || ' ' || upper(currency)
$$;

-- 1234567 -> '1,234,567'
CREATE FUNCTION stripe._fmt_int(n numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_char(n, 'FM9,999,999,999,999,999,990')
$$;

-- A rate in [0,1] as a percentage with one decimal ('15.3%'); '–' for NULL (no denominator).
CREATE FUNCTION stripe._fmt_pct(rate numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(to_char(100 * rate, 'FM9990.0') || '%', '–')
$$;

-------------------------------------------------------------------------------
-- Period and data helpers. Days are calendar days in stripe.timezone; the period is inclusive.
-------------------------------------------------------------------------------

-- The period to report: to_date defaults to the latest day with data of this account and mode
-- (not today, so a shop whose data stopped a while ago still shows its last quarter), from_date
-- to 90 days before to_date. `latest` is that latest day: the last day with a charge, or, for
-- an account without charges, with any activity (NULL: no data at all). Refunds and disputes
-- trail the last sale by weeks; they do not move the default period past it.
CREATE FUNCTION stripe._report_period(p_from date, p_to date, p_account text, p_livemode boolean,
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
COMMENT ON FUNCTION stripe._report_period(date, date, text, boolean) IS 'Reporting period: to_date defaults to the last day with a charge of the account and mode (else with any activity), from_date to 89 days before it.';

-- The UTC instants bounding a period of local days: [from 00:00, to+1 00:00) in stripe.timezone.
CREATE FUNCTION stripe._period_start(d date) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT d::timestamp AT TIME ZONE stripe.reporting_timezone()
$$;

-- Currencies with any payment activity in the period, the busiest (by number of charges) first.
CREATE FUNCTION stripe._report_currencies(p_from date, p_to date, p_account text, p_livemode boolean)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
  SELECT p.currency FROM stripe.payments('day', p_from, p_to) p
   WHERE p.account IS NOT DISTINCT FROM p_account AND p.livemode = p_livemode
   GROUP BY p.currency
   ORDER BY sum(p.successful_payments + p.failed_payments) DESC, p.currency
$$;

-- Every day of the period in one currency, zeros on days without activity: payments_daily plus
-- the amount of the disputes counted there (created that day, status not warning_*) and of
-- those now lost.
CREATE FUNCTION stripe._report_daily(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (day date, succeeded bigint, failed bigint, gross bigint, refunded bigint,
               disputes bigint, disputed bigint, lost bigint, net bigint)
LANGUAGE sql STABLE AS $$
  WITH d AS (
    SELECT (c.created AT TIME ZONE stripe.reporting_timezone())::date AS day,
           sum(c.amount) AS disputed, sum(c.amount) FILTER (WHERE c.status = 'lost') AS lost
      FROM stripe.disputes c
     WHERE c.account IS NOT DISTINCT FROM p_account AND c.livemode = p_livemode AND c.currency = p_currency
       AND c.status NOT LIKE 'warning\_%'
       AND c.created >= stripe._period_start(p_from) AND c.created < stripe._period_start(p_to + 1)
     GROUP BY 1)
  SELECT g.day::date, coalesce(p.successful_payments, 0), coalesce(p.failed_payments, 0),
         coalesce(p.gross_volume, 0), coalesce(p.refunded_amount, 0), coalesce(p.disputes, 0),
         coalesce(d.disputed, 0)::bigint, coalesce(d.lost, 0)::bigint, coalesce(p.net_volume, 0)
    FROM generate_series(p_from, p_to, interval '1 day') AS g(day)
    LEFT JOIN stripe.payments('day', p_from, p_to) p ON p.bucket = g.day::date AND p.account IS NOT DISTINCT FROM p_account
                                      AND p.livemode = p_livemode AND p.currency = p_currency
    LEFT JOIN d ON d.day = g.day::date
   ORDER BY 1
$$;

-- The same by ISO week (Monday), over the days of the period only: `days` < 7 marks a week cut
-- by the period's edge.
CREATE FUNCTION stripe._report_weekly(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (week date, days integer, succeeded bigint, failed bigint, gross bigint, refunded bigint,
               disputes bigint, disputed bigint, lost bigint, net bigint)
LANGUAGE sql STABLE AS $$
  SELECT date_trunc('week', d.day)::date, count(*)::int, sum(d.succeeded)::bigint, sum(d.failed)::bigint,
         sum(d.gross)::bigint, sum(d.refunded)::bigint, sum(d.disputes)::bigint, sum(d.disputed)::bigint,
         sum(d.lost)::bigint, sum(d.net)::bigint
    FROM stripe._report_daily(p_from, p_to, p_account, p_livemode, p_currency) d
   GROUP BY 1 ORDER BY 1
$$;

-- Failed charges of the period by (failure_code, outcome_reason), most frequent first, with
-- their share of the period's failed charges in that currency.
CREATE FUNCTION stripe._report_declines(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (failure_code text, outcome_reason text, failed bigint, share numeric)
LANGUAGE sql STABLE AS $$
  SELECT c.failure_code, c.outcome_reason, count(*),
         stripe.ratio(count(*), sum(count(*)) OVER ())
    FROM stripe.charges c
   WHERE c.account IS NOT DISTINCT FROM p_account AND c.livemode = p_livemode AND c.currency = p_currency
     AND c.status = 'failed'
     AND c.created >= stripe._period_start(p_from) AND c.created < stripe._period_start(p_to + 1)
   GROUP BY 1, 2
   ORDER BY 3 DESC, 1 NULLS LAST, 2 NULLS LAST
$$;

-- Refunds and disputes of the period: how many, the amounts (refunds as in payments_daily:
-- succeeded, not expired_uncaptured_charge), disputes by state.
CREATE FUNCTION stripe._report_refunds_disputes(p_from date, p_to date, p_account text, p_livemode boolean,
                                                p_currency text,
    OUT refunds bigint, OUT refunded bigint, OUT disputes bigint, OUT disputed bigint,
    OUT open bigint, OUT won bigint, OUT lost bigint, OUT lost_amount bigint)
LANGUAGE sql STABLE AS $$
  SELECT r.n, r.amount, d.n, d.amount, d.open, d.won, d.lost, d.lost_amount
    FROM (SELECT count(*) AS n, coalesce(sum(x.amount), 0)::bigint AS amount
            FROM stripe.refunds x
           WHERE x.account IS NOT DISTINCT FROM p_account AND x.livemode = p_livemode AND x.currency = p_currency
             AND stripe.refund_counts(x.status, x.reason)
             AND x.created >= stripe._period_start(p_from) AND x.created < stripe._period_start(p_to + 1)) r,
         (SELECT count(*) AS n, coalesce(sum(x.amount), 0)::bigint AS amount,
                 count(*) FILTER (WHERE x.status NOT IN ('won', 'lost')) AS open,
                 count(*) FILTER (WHERE x.status = 'won') AS won,
                 count(*) FILTER (WHERE x.status = 'lost') AS lost,
                 coalesce(sum(x.amount) FILTER (WHERE x.status = 'lost'), 0)::bigint AS lost_amount
            FROM stripe.disputes x
           WHERE x.account IS NOT DISTINCT FROM p_account AND x.livemode = p_livemode AND x.currency = p_currency
             AND x.status NOT LIKE 'warning\_%'
             AND x.created >= stripe._period_start(p_from) AND x.created < stripe._period_start(p_to + 1)) d
$$;

-- Paying customers per ISO week of the period in one currency: `new` made their first succeeded
-- payment in that currency (customer_stats.first_payment_at) that week, `returning` had paid
-- before. The row with week NULL is the whole period (new = first payment in the period);
-- `guest_payments` are succeeded charges without a customer.
-- (enable_nestloop off: the planner cannot estimate the period's rows through
-- `account IS NOT DISTINCT FROM` and would loop over thousands of CTE rows per row.)
CREATE FUNCTION stripe._report_customers(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (week date, customers bigint, new_customers bigint, returning_customers bigint, guest_payments bigint)
LANGUAGE sql STABLE SET enable_nestloop = off AS $$
  -- The period's payments first (index on created), then the first payment of just those
  -- customers, joined on customer alone (a join on `account IS NOT DISTINCT FROM` cannot hash
  -- and made this quadratic in the number of customers).
  WITH period AS MATERIALIZED (
    SELECT c.customer, date_trunc('week', c.created AT TIME ZONE stripe.reporting_timezone())::date AS week
      FROM stripe.charges c
     WHERE c.account IS NOT DISTINCT FROM p_account AND c.livemode = p_livemode AND c.currency = p_currency
       AND c.status = 'succeeded'
       AND c.created >= stripe._period_start(p_from) AND c.created < stripe._period_start(p_to + 1)),
  firsts AS MATERIALIZED (
    SELECT t.customer, t.first_payment_at
      FROM stripe.customer_totals t
     WHERE t.account IS NOT DISTINCT FROM p_account AND t.livemode = p_livemode AND t.currency = p_currency
       AND t.customer IN (SELECT customer FROM period)),
  pay AS (
    SELECT p.customer, p.week, f.first_payment_at
      FROM period p LEFT JOIN firsts f ON f.customer = p.customer)
  SELECT w.week, count(DISTINCT w.customer),
         count(DISTINCT w.customer) FILTER (WHERE w.is_new),
         count(DISTINCT w.customer) FILTER (WHERE NOT w.is_new),
         count(*) FILTER (WHERE w.customer IS NULL)
    FROM (SELECT p.customer, p.week,
                 date_trunc('week', p.first_payment_at AT TIME ZONE stripe.reporting_timezone())::date >= p.week AS is_new
            FROM pay p
          UNION ALL
          SELECT p.customer, NULL, p.first_payment_at >= stripe._period_start(p_from)
            FROM pay p) w
   GROUP BY w.week
  UNION ALL  -- weeks of the period without a payment
  SELECT g.week::date, 0, 0, 0, 0
    FROM generate_series(date_trunc('week', p_from), p_to, interval '1 week') AS g(week)
   WHERE NOT EXISTS (SELECT 1 FROM pay p WHERE p.week = g.week::date)
   ORDER BY 1 NULLS LAST
$$;

-- RFM segments (stripe.customer_rfm) of the customers who had paid in this currency by the end
-- of the period, in a fixed order, with the segments' customers, share, average spend and
-- average days since the last payment (as of the end of the period).
CREATE FUNCTION stripe._report_rfm(p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (segment text, customers bigint, share numeric, avg_spent numeric, avg_recency_days numeric)
LANGUAGE sql STABLE AS $$
  -- Only the columns used: the CTE is materialized (read twice), and customer_rfm's money and
  -- ratio columns cost more than the ranking itself.
  WITH r AS (
    SELECT r.customer, r.segment, r.total_spent, r.recency_days
      FROM stripe.customer_rfm(stripe._period_start(p_to + 1)) r
     WHERE r.account IS NOT DISTINCT FROM p_account AND r.livemode = p_livemode AND r.currency = p_currency
       AND r.first_payment_at < stripe._period_start(p_to + 1))
  SELECT s.segment, count(r.customer), stripe.ratio(count(r.customer), (SELECT count(*) FROM r)),
         avg(r.total_spent), avg(CASE WHEN r.recency_days < 0 THEN 0 ELSE r.recency_days END)
    FROM unnest(ARRAY['champions', 'loyal', 'promising', 'new', 'at_risk', 'hibernating']) WITH ORDINALITY AS s(segment, ord)
    LEFT JOIN r ON r.segment = s.segment
   GROUP BY s.segment, s.ord
   ORDER BY s.ord
$$;

-- The cohort-retention triangle (stripe.cohort_retention) of the last p_months cohorts up to the
-- month of p_to, cut at that month: one row per cohort, retention[k+1] for month offset k.
CREATE FUNCTION stripe._report_cohorts(p_to date, p_account text, p_livemode boolean, p_months integer)
RETURNS TABLE (cohort_month date, cohort_size bigint, retention numeric[])
LANGUAGE sql STABLE AS $$
  SELECT r.cohort_month, max(r.cohort_size), array_agg(r.retention ORDER BY r.month_offset)
    FROM stripe.cohort_retention r
   WHERE r.account IS NOT DISTINCT FROM p_account AND r.livemode = p_livemode
     AND r.cohort_month >= (date_trunc('month', p_to) - make_interval(months => p_months - 1))::date
     AND r.cohort_month <= p_to
     AND (r.cohort_month + make_interval(months => r.month_offset))::date <= p_to
   GROUP BY r.cohort_month
   ORDER BY r.cohort_month
$$;

-- Checkout sessions created in the period, by ISO week; the row with week NULL is the total.
CREATE FUNCTION stripe._report_funnel(p_from date, p_to date, p_account text, p_livemode boolean)
RETURNS TABLE (week date, sessions bigint, completed bigint, paid bigint, expired bigint, conversion_rate numeric)
LANGUAGE sql STABLE AS $$
  SELECT date_trunc('week', f.day)::date AS week, sum(f.sessions)::bigint, sum(f.completed)::bigint,
         sum(f.paid)::bigint, sum(f.expired)::bigint, stripe.ratio(sum(f.completed), sum(f.completed) + sum(f.expired))
    FROM stripe.checkout_funnel_daily f
   WHERE f.account IS NOT DISTINCT FROM p_account AND f.livemode = p_livemode AND f.day BETWEEN p_from AND p_to
   GROUP BY GROUPING SETS ((1), ())
   ORDER BY 1 NULLS LAST
$$;

-- Customers created per day of the period (stripe.new_customers_daily), zeros included.
CREATE FUNCTION stripe._report_new_customers(p_from date, p_to date, p_account text, p_livemode boolean)
RETURNS TABLE (day date, new_customers bigint)
LANGUAGE sql STABLE AS $$
  SELECT g.day::date, coalesce(sum(n.new_customers), 0)::bigint
    FROM generate_series(p_from, p_to, interval '1 day') AS g(day)
    LEFT JOIN stripe.new_customers_daily n ON n.day = g.day::date AND n.account IS NOT DISTINCT FROM p_account
                                          AND n.livemode = p_livemode
   GROUP BY 1 ORDER BY 1
$$;

-- Where else there is data, for the hint under an empty report: other (account, mode) pairs and
-- their latest data as stripe._report_period sees it.
CREATE FUNCTION stripe._report_elsewhere(p_account text, p_livemode boolean)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
  SELECT coalesce('account ' || p.account, 'the platform account') || ' in ' ||
         CASE WHEN p.livemode THEN 'live' ELSE 'test' END || ' mode (latest data '
         || stripe._d(coalesce(max(p.day) FILTER (WHERE p.successful_payments + p.failed_payments > 0), max(p.day))) || ')'
    FROM stripe.payments_daily p
   WHERE NOT (p.account IS NOT DISTINCT FROM p_account AND p.livemode = p_livemode)
   GROUP BY p.account, p.livemode
   ORDER BY p.account NULLS FIRST, p.livemode DESC
   LIMIT 5
$$;

-------------------------------------------------------------------------------
-- The text report. Every line fits 100 terminal columns (the block characters are one column
-- wide); ids and codes from the data are cut to their column.
-------------------------------------------------------------------------------

-- A section rule: '━━ TITLE ━━━━…' to 100 columns.
CREATE FUNCTION stripe._rule(title text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT rpad('━━ ' || stripe._fit(title, 90) || ' ', 100, '━')
$$;

-- The header: account, mode, time zone, period.
CREATE FUNCTION stripe._report_header(p_from date, p_to date, p_latest date, p_account text, p_livemode boolean)
RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN NEXT stripe._rule('pg_stripe report');
  RETURN NEXT format('  %-11s %s', 'account',
                     coalesce(stripe._fit(p_account, 80), 'platform (own account, not a connected account)'));
  RETURN NEXT format('  %-11s %-30s %-11s %s', 'mode', CASE WHEN p_livemode THEN 'live' ELSE 'test' END,
                     'time zone', stripe._fit(stripe.reporting_timezone(), 44));
  RETURN NEXT format('  %-11s %s – %s (%s days)%s', 'period', stripe._d(p_from), stripe._d(p_to), p_to - p_from + 1,
                     coalesce('; latest data ' || stripe._d(p_latest), '; no data yet'));
  RETURN NEXT '';
END $$;

-- One currency's section: volume, payments, declines, refunds and disputes, customers, RFM.
CREATE FUNCTION stripe._report_currency(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
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
COMMENT ON FUNCTION stripe._report_currency(date, date, text, boolean, text) IS 'The lines of stripe.report() for one currency.';

-- Counts over all currencies: customers created, the checkout funnel, cohort retention.
CREATE FUNCTION stripe._report_shop(p_from date, p_to date, p_account text, p_livemode boolean)
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
COMMENT ON FUNCTION stripe._report_shop(date, date, text, boolean) IS 'The lines of stripe.report() counted over all currencies: customers created, checkout funnel, cohort retention.';

CREATE FUNCTION stripe.report(from_date date DEFAULT NULL, to_date date DEFAULT NULL, account text DEFAULT NULL,
                              livemode boolean DEFAULT true, currency text DEFAULT NULL)
RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
  p_account  text    := report.account;
  p_livemode boolean := coalesce(report.livemode, true);
  p_currency text    := lower(report.currency);
  p          record;
  c          text;
  any_cur    boolean := false;
BEGIN
  SELECT * INTO p FROM stripe._report_period(report.from_date, report.to_date, p_account, p_livemode);
  RETURN QUERY SELECT * FROM stripe._report_header(p.period_from, p.period_to, p.latest, p_account, p_livemode);
  FOR c IN SELECT * FROM stripe._report_currencies(p.period_from, p.period_to, p_account, p_livemode) cc
            WHERE p_currency IS NULL OR cc = p_currency LOOP
    any_cur := true;
    RETURN QUERY SELECT * FROM stripe._report_currency(p.period_from, p.period_to, p_account, p_livemode, c);
  END LOOP;
  IF NOT any_cur THEN
    RETURN NEXT CASE WHEN p_currency IS NULL THEN 'no payments in this period'
                     ELSE format('no %s payments in this period', upper(stripe._fit(p_currency, 10))) END;
    IF p.latest IS NULL THEN  -- nothing at all for this account and mode: say where there is data
      RETURN QUERY SELECT '  there is data for ' || e FROM stripe._report_elsewhere(p_account, p_livemode) e;
      RETURN;
    END IF;
    RETURN NEXT '';
  END IF;
  RETURN QUERY SELECT * FROM stripe._report_shop(p.period_from, p.period_to, p_account, p_livemode);
END $$;
COMMENT ON FUNCTION stripe.report(date, date, text, boolean, text) IS 'Headline figures of a period as text for psql (psql -At -c "select * from stripe.report()"): per currency volume, payments and declines, refunds and disputes, new and returning customers, RFM segments; then customers created, checkout funnel and cohort retention. Period default: the 90 days up to the latest data. account NULL = the platform''s own; livemode true = live data.';

-------------------------------------------------------------------------------
-- HTML and SVG helpers for the dashboard. Every string that comes from data (account ids,
-- decline codes, the time zone setting, currency codes) goes through stripe._html_escape.
-- No chart uses url(), a gradient, an image or a script: a saved page never fetches anything.
-------------------------------------------------------------------------------

-- Text as HTML character data or a double-quoted attribute value: & < > " ' escaped; NULL -> ''.
CREATE FUNCTION stripe._html_escape(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT replace(replace(replace(replace(replace(coalesce(s, ''),
           '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;
COMMENT ON FUNCTION stripe._html_escape(text) IS 'Escapes & < > " and '' for HTML text and attribute values; NULL gives the empty string.';

-- A number in a few characters for axis labels: 950, 2,500, 12k, 1.2M, 3.4B, 0.25.
CREATE FUNCTION stripe._fmt_short(v numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN abs(v) >= 1e9 THEN rtrim(to_char(v / 1e9, 'FM999990.9'), '.') || 'B'
    WHEN abs(v) >= 1e6 THEN rtrim(to_char(v / 1e6, 'FM999990.9'), '.') || 'M'
    WHEN abs(v) >= 1e4 THEN rtrim(to_char(v / 1e3, 'FM999990.9'), '.') || 'k'
    ELSE rtrim(to_char(v, 'FM999,990.99'), '.')  -- FM drops trailing zeros of the fraction
  END
$$;

-- A value as shown to people, by unit: 'money:usd' -> '1,234.56 USD', 'pct' -> '15.3%',
-- anything else -> '1,234'. `short` gives the compact form used on axes.
CREATE FUNCTION stripe._fmt_value(v numeric, unit text, short boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN v IS NULL THEN '–'
    WHEN unit LIKE 'money:%' AND short THEN stripe._fmt_short(stripe.to_major(v, substr(unit, 7)))
    WHEN unit LIKE 'money:%' THEN stripe._fmt_money(v, substr(unit, 7))
    WHEN unit = 'pct' AND short THEN rtrim(to_char(100 * v, 'FM9990.9'), '.') || '%'
    WHEN unit = 'pct' THEN stripe._fmt_pct(v)
    WHEN short THEN stripe._fmt_short(v)
    ELSE stripe._fmt_int(v)
  END
$$;

-- Axis ticks covering [lo, hi] (and 0) in about n steps of 1, 2, 2.5 or 5 times a power of ten
-- (no 2.5 for counts, whose ticks are whole numbers).
CREATE FUNCTION stripe._nice_ticks(lo numeric, hi numeric, n integer DEFAULT 4, integral boolean DEFAULT false)
RETURNS numeric[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  raw  numeric;
  mag  numeric;
  f    numeric;
  step numeric;
  a    numeric;
  b    numeric;
BEGIN
  lo := least(coalesce(lo, 0), 0);
  hi := greatest(coalesce(hi, 0), 0);
  IF hi = lo THEN hi := lo + CASE WHEN integral THEN n ELSE 1 END; END IF;
  raw := (hi - lo) / n;
  mag := 10::numeric ^ floor(log(raw));
  f := raw / mag;
  step := mag * CASE WHEN f <= 1 THEN 1 WHEN f <= 2 THEN 2 WHEN f <= 2.5 AND NOT integral THEN 2.5
                     WHEN f <= 5 THEN 5 ELSE 10 END;
  IF integral THEN step := greatest(1, ceil(step)); END IF;
  a := floor(lo / step) * step;
  b := ceil(hi / step) * step;
  RETURN ARRAY(SELECT trim_scale(a + i * step) FROM generate_series(0, round((b - a) / step)::int) AS i);
END $$;
COMMENT ON FUNCTION stripe._nice_ticks(numeric, numeric, integer, boolean) IS 'Round axis ticks covering lo..hi and 0.';

-- A number for an SVG coordinate: at most one decimal, '.' as separator.
CREATE FUNCTION stripe._n(v numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT round(v, 1)::text
$$;

-- A legend row: a swatch (square for bars, dash for lines) and the name of each series.
CREATE FUNCTION stripe._svg_legend(names text[], colors text[], kinds text[], x integer, y integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  out text := '';
  cx  numeric := x;
BEGIN
  FOR s IN 1 .. coalesce(cardinality(names), 0) LOOP
    IF kinds[s] IN ('line', 'area') THEN
      out := out || format('<rect x="%s" y="%s" width="14" height="3" rx="1.5" fill="%s"/>',
                           stripe._n(cx), y - 5, colors[s]);
    ELSE
      out := out || format('<rect x="%s" y="%s" width="10" height="10" rx="2" fill="%s"/>',
                           stripe._n(cx + 2), y - 9, colors[s]);
    END IF;
    out := out || format('<text x="%s" y="%s" class="legend">%s</text>', stripe._n(cx + 19), y,
                         stripe._html_escape(names[s]));
    cx := cx + 19 + 6.6 * length(names[s]) + 18;
  END LOOP;
  RETURN out;
END $$;

-- A chart of series over evenly spaced dates, as one <svg>:
--   x      the dates (n points), labelled 'Mon D' (grain 'day' or 'week') or 'Mon YYYY' ('month');
--   ys     a 2-D array, one row of n values per series (NULL = no value: a gap in a line);
--   kinds  per series: 'bar' (columns; several bar series stand side by side, or on top of each
--          other when stacked), 'line', or 'area' (a line with a light fill down to zero);
--   unit   'money:<currency>' (values in minor units), 'pct' (rates in [0,1]) or 'count'.
-- Each column slot carries a <title> with the date and every series' value (a hover tooltip,
-- no script). Gridlines and y labels on round ticks; a legend on top.
CREATE FUNCTION stripe._svg_time_chart(x date[], ys numeric[], names text[], colors text[], kinds text[],
                                       unit text, stacked boolean DEFAULT false, grain text DEFAULT 'day',
                                       width integer DEFAULT 560, height integer DEFAULT 240,
                                       label text DEFAULT 'chart', empty_note text DEFAULT 'none in this period')
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  n     integer := coalesce(cardinality(x), 0);
  k     integer := coalesce(array_length(ys, 1), 0);
  ml    integer := 58;  -- left margin: y labels
  mr    integer := 10;
  mt    integer := 30;  -- top: legend
  mb    integer := 24;  -- bottom: dates
  pw    numeric := width - 58 - 10;
  ph    numeric := height - 30 - 24;
  nbar  integer := 0;
  lo    numeric := 0;
  hi    numeric := 0;
  ticks numeric[];
  t_lo  numeric;
  t_hi  numeric;
  sw    numeric;      -- slot width
  gw    numeric;      -- width of a slot's column group
  bw    numeric;      -- width of one column
  svg   text;
  tip   text;
  path  text;
  area  text;
  seg   numeric[];    -- x positions of the current line segment (for the area)
  v     numeric;
  acc   numeric;
  j     integer;
  step  integer;
  cx    numeric;
  y0    numeric;
  prev_null boolean;
  first_x numeric;
  scale numeric := 1;  -- minor units per major unit, for money
BEGIN
  svg := format('<svg viewBox="0 0 %s %s" role="img" aria-label="%s">', width, height, stripe._html_escape(label));
  IF n = 0 OR k = 0 THEN
    RETURN svg || format('<text x="%s" y="%s" text-anchor="middle">no data</text></svg>', width / 2, height / 2);
  END IF;
  FOR s IN 1 .. k LOOP
    IF kinds[s] = 'bar' THEN nbar := nbar + 1; END IF;
  END LOOP;

  -- The value range: stacked columns add up; everything else is per value.
  FOR i IN 1 .. n LOOP
    acc := 0;
    FOR s IN 1 .. k LOOP
      v := ys[s][i];
      CONTINUE WHEN v IS NULL;
      IF stacked AND kinds[s] = 'bar' THEN
        acc := acc + greatest(v, 0);
        hi := greatest(hi, acc);
      ELSE
        hi := greatest(hi, v);
        lo := least(lo, v);
      END IF;
    END LOOP;
  END LOOP;
  IF hi = 0 AND lo = 0 THEN  -- nothing to draw: a baseline and a note
    RETURN svg || format('<line x1="%s" x2="%s" y1="%s" y2="%s" class="axis"/>', ml, ml + pw, mt + ph, mt + ph)
               || format('<text x="%s" y="%s" text-anchor="middle" class="label">%s</text>', stripe._n(ml + pw / 2),
                         stripe._n(mt + ph / 2), stripe._html_escape(empty_note))
               || stripe._svg_legend(names, colors, kinds, ml, 14) || '</svg>';
  END IF;
  -- Round ticks in the unit people read: major units for money (whole ones for JPY and the like).
  IF unit LIKE 'money:%' THEN
    scale := 10::numeric ^ stripe.currency_exponent(substr(unit, 7));
  END IF;
  ticks := ARRAY(SELECT t * scale
                   FROM unnest(stripe._nice_ticks(lo / scale, hi / scale, 4, unit = 'count' OR scale = 1 AND unit LIKE 'money:%')) t);
  t_lo := ticks[1];
  t_hi := ticks[cardinality(ticks)];

  -- Gridlines and y labels.
  FOREACH v IN ARRAY ticks LOOP
    cx := mt + ph * (t_hi - v) / (t_hi - t_lo);
    svg := svg || format('<line x1="%s" x2="%s" y1="%s" y2="%s" class="%s"/>', ml, ml + pw, stripe._n(cx), stripe._n(cx),
                         CASE WHEN v = 0 THEN 'axis' ELSE 'grid' END)
               || format('<text x="%s" y="%s" text-anchor="end">%s</text>', ml - 6, stripe._n(cx + 3.5),
                         stripe._html_escape(stripe._fmt_value(v, unit, true)));
  END LOOP;
  y0 := mt + ph * t_hi / (t_hi - t_lo);

  sw := pw / n;
  gw := sw * CASE WHEN n > 60 THEN 0.8 ELSE 0.7 END;
  bw := CASE WHEN stacked OR nbar = 0 THEN gw ELSE gw / nbar END;

  -- Columns.
  FOR i IN 1 .. n LOOP
    acc := 0;
    j := 0;
    FOR s IN 1 .. k LOOP
      CONTINUE WHEN kinds[s] <> 'bar';
      v := coalesce(ys[s][i], 0);
      IF v <> 0 THEN
        cx := ml + (i - 1) * sw + (sw - gw) / 2 + CASE WHEN stacked THEN 0 ELSE j * bw END;
        IF stacked THEN
          svg := svg || format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>', stripe._n(cx),
                               stripe._n(mt + ph * (t_hi - acc - v) / (t_hi - t_lo)), stripe._n(bw),
                               stripe._n(ph * v / (t_hi - t_lo)), colors[s]);
          acc := acc + v;
        ELSE
          svg := svg || format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>', stripe._n(cx),
                               stripe._n(mt + ph * (t_hi - greatest(v, 0)) / (t_hi - t_lo)), stripe._n(bw),
                               stripe._n(ph * abs(v) / (t_hi - t_lo)), colors[s]);
        END IF;
      END IF;
      j := j + 1;
    END LOOP;
  END LOOP;

  -- Lines (and areas): a path per series, broken where a value is NULL.
  FOR s IN 1 .. k LOOP
    CONTINUE WHEN kinds[s] NOT IN ('line', 'area');
    path := '';
    area := '';
    prev_null := true;
    first_x := NULL;
    FOR i IN 1 .. n + 1 LOOP
      v := CASE WHEN i <= n THEN ys[s][i] END;
      cx := ml + (i - 0.5) * sw;
      IF v IS NULL THEN
        IF NOT prev_null AND kinds[s] = 'area' THEN  -- close the area under the segment just ended
          area := area || format(' L%s,%s L%s,%s Z', stripe._n(cx - sw), stripe._n(y0), stripe._n(first_x), stripe._n(y0));
        END IF;
        prev_null := true;
        CONTINUE;
      END IF;
      IF prev_null THEN
        first_x := cx;
        path := path || format('M%s,%s', stripe._n(cx), stripe._n(mt + ph * (t_hi - v) / (t_hi - t_lo)));
        area := area || format('M%s,%s L%s,%s', stripe._n(cx), stripe._n(y0), stripe._n(cx),
                               stripe._n(mt + ph * (t_hi - v) / (t_hi - t_lo)));
      ELSE
        path := path || format(' L%s,%s', stripe._n(cx), stripe._n(mt + ph * (t_hi - v) / (t_hi - t_lo)));
        area := area || format(' L%s,%s', stripe._n(cx), stripe._n(mt + ph * (t_hi - v) / (t_hi - t_lo)));
      END IF;
      prev_null := false;
    END LOOP;
    IF kinds[s] = 'area' AND area <> '' THEN
      svg := svg || format('<path d="%s" fill="%s" fill-opacity="0.12" stroke="none"/>', area, colors[s]);
    END IF;
    IF path <> '' THEN
      svg := svg || format('<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>',
                           path, colors[s]);
    END IF;
    IF n <= 40 THEN  -- dots on short series
      FOR i IN 1 .. n LOOP
        CONTINUE WHEN ys[s][i] IS NULL;
        svg := svg || format('<circle cx="%s" cy="%s" r="2.6" fill="%s"/>', stripe._n(ml + (i - 0.5) * sw),
                             stripe._n(mt + ph * (t_hi - ys[s][i]) / (t_hi - t_lo)), colors[s]);
      END LOOP;
    END IF;
  END LOOP;

  -- Date labels (about seven) and a transparent hover target per slot with every value.
  step := greatest(1, ceil(n / 7.0)::int);
  FOR i IN 1 .. n LOOP
    IF (i - 1) % step = 0 THEN
      svg := svg || format('<text x="%s" y="%s" text-anchor="middle">%s</text>', stripe._n(ml + (i - 0.5) * sw),
                           height - 7, CASE WHEN grain = 'month' THEN to_char(x[i], 'Mon YYYY') ELSE to_char(x[i], 'Mon FMDD') END);
    END IF;
    tip := CASE grain WHEN 'week' THEN 'week of ' || stripe._d(x[i]) WHEN 'month' THEN to_char(x[i], 'YYYY-MM') ELSE stripe._d(x[i]) END;
    FOR s IN 1 .. k LOOP
      tip := tip || E'\n' || names[s] || ': ' || stripe._fmt_value(ys[s][i], unit);
    END LOOP;
    svg := svg || format('<rect x="%s" y="%s" width="%s" height="%s" class="hover"><title>%s</title></rect>',
                         stripe._n(ml + (i - 1) * sw), mt, stripe._n(sw), stripe._n(ph), stripe._html_escape(tip));
  END LOOP;

  RETURN svg || stripe._svg_legend(names, colors, kinds, ml, 14) || '</svg>';
END $$;
COMMENT ON FUNCTION stripe._svg_time_chart(date[], numeric[], text[], text[], text[], text, boolean, text, integer, integer, text, text) IS 'SVG column/line/area chart of series over dates, with axes, legend and hover titles.';

-- Horizontal bars, one row per label: the label (cut to fit, full text in a hover title), a bar
-- scaled to the largest value, and value_labels[i] after the bar. colors: one per row, or one
-- for all. The label and value columns take the width their texts need.
CREATE FUNCTION stripe._svg_hbars(labels text[], vals numeric[], value_labels text[], colors text[],
                                  width integer DEFAULT 560, label text DEFAULT 'bar chart')
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  n     integer := coalesce(cardinality(labels), 0);
  rh    integer := 30;   -- row height
  lw    numeric;         -- label column: as wide as the longest label, at most 45% of the chart
  vw    numeric;         -- value column: as wide as the longest value label
  bmax  numeric;         -- the longest bar
  top   numeric := 0;
  svg   text;
  y     numeric;
  w     numeric;
BEGIN
  SELECT least(width * 0.45, 14 + 6.8 * max(length(l))) INTO lw FROM unnest(labels) l;
  SELECT 16 + 6.9 * max(length(l)) INTO vw FROM unnest(value_labels) l;
  bmax := greatest(40, width - lw - vw);
  FOR i IN 1 .. n LOOP top := greatest(top, coalesce(vals[i], 0)); END LOOP;
  svg := format('<svg viewBox="0 0 %s %s" role="img" aria-label="%s">', width, n * rh + 6, stripe._html_escape(label));
  FOR i IN 1 .. n LOOP
    y := (i - 1) * rh + 4;
    w := CASE WHEN top > 0 AND vals[i] > 0 THEN greatest(2, bmax * vals[i] / top) ELSE 0 END;
    svg := svg
      || format('<g><title>%s: %s</title>', stripe._html_escape(labels[i]), stripe._html_escape(value_labels[i]))
      || format('<text x="%s" y="%s" text-anchor="end" class="label">%s</text>', stripe._n(lw - 10), stripe._n(y + 16),
                stripe._html_escape(stripe._fit(labels[i], floor((lw - 14) / 6.8)::int)))
      || format('<rect x="%s" y="%s" width="%s" height="20" rx="3" class="track"/>', stripe._n(lw), stripe._n(y + 2), stripe._n(bmax))
      || CASE WHEN w > 0 THEN format('<rect x="%s" y="%s" width="%s" height="20" rx="3" fill="%s"/>', stripe._n(lw), stripe._n(y + 2),
                                     stripe._n(w), colors[least(i, cardinality(colors))]) ELSE '' END
      || format('<text x="%s" y="%s" class="value">%s</text></g>', stripe._n(lw + bmax + 8), stripe._n(y + 16),
                stripe._html_escape(value_labels[i]));
  END LOOP;
  RETURN svg || '</svg>';
END $$;
COMMENT ON FUNCTION stripe._svg_hbars(text[], numeric[], text[], text[], integer, text) IS 'SVG horizontal bar chart with labels, values and hover titles.';

-- The colour of a heat-map cell: white (0) to indigo (1), as rgb(); and whether dark text reads on it.
CREATE FUNCTION stripe._heat_color(r numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT format('rgb(%s,%s,%s)', round(242 - (242 - 79) * c), round(243 - (243 - 70) * c), round(255 - (255 - 229) * c))
    FROM (SELECT least(greatest(coalesce(r, 0), 0), 1) AS c) s
$$;

-- The cohort-retention heat map: a row per cohort (last p_months up to the month of p_to), a
-- column per month offset, each cell the share of the cohort paying in that month.
CREATE FUNCTION stripe._svg_cohort_heatmap(p_to date, p_account text, p_livemode boolean, p_months integer DEFAULT 12,
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
COMMENT ON FUNCTION stripe._svg_cohort_heatmap(date, text, boolean, integer, integer) IS 'SVG heat map of stripe.cohort_retention: cohorts by month of first payment, share paying n months later.';

-------------------------------------------------------------------------------
-- The dashboard page.
-------------------------------------------------------------------------------

-- The page's stylesheet (system fonts only).
CREATE FUNCTION stripe._dashboard_css() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT $css$
:root { --ink: #1a1f36; --muted: #6b7385; --line: #e3e8ee; --bg: #f5f7fa; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Liberation Sans", "DejaVu Sans", Arial, sans-serif; }
header { background: #0a2540; color: #fff; padding: 22px 40px 20px; }
header h1 { margin: 0 0 10px; font-size: 22px; font-weight: 600; letter-spacing: -0.01em; }
.meta { display: flex; flex-wrap: wrap; gap: 6px 28px; font-size: 13px; color: #aab7c9; }
.meta b { color: #fff; font-weight: 600; }
.badge { display: inline-block; padding: 0 9px; border-radius: 10px; font-size: 12px; font-weight: 700; color: #0a2540; }
.badge.live { background: #3ddc97; } .badge.test { background: #ffb020; }
main { max-width: 1240px; margin: 0 auto; padding: 8px 32px 40px; }
section { margin-top: 26px; }
h2 { font-size: 19px; font-weight: 650; margin: 0 0 12px; padding-bottom: 8px; border-bottom: 2px solid var(--line);
     display: flex; align-items: baseline; gap: 12px; }
h2 small { font-size: 13px; font-weight: 400; color: var(--muted); }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-bottom: 14px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.kpi .label { font-size: 11.5px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.05em; font-weight: 600; }
.kpi .value { font-size: 23px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; white-space: nowrap; }
.kpi .value small { font-size: 13px; font-weight: 500; color: var(--muted); margin-left: 3px; }
.kpi .sub { font-size: 12px; color: var(--muted); margin-top: 1px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px 10px; margin: 0; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.card h3 { margin: 0; font-size: 14px; font-weight: 650; }
.card .note { margin: 1px 0 8px; font-size: 12px; color: var(--muted); }
svg { display: block; width: 100%; height: auto; overflow: visible; }
svg text { font-size: 11px; fill: #6b7385; font-variant-numeric: tabular-nums; }
svg text.legend, svg text.label { fill: #3c4257; font-size: 11.5px; }
svg text.value { fill: #1a1f36; font-weight: 600; }
svg text.on-dark { fill: #fff; font-weight: 600; }
svg line.grid { stroke: #edf0f4; stroke-width: 1; }
svg line.axis { stroke: #c1c9d2; stroke-width: 1; }
svg rect.track { fill: #f2f4f7; }
svg rect.hover { fill: transparent; }
svg rect.hover:hover { fill: rgba(99, 91, 255, 0.07); }
.empty { margin: 8px 0; padding: 22px; text-align: center; color: var(--muted); background: var(--card);
         border: 1px dashed #c9d1db; border-radius: 10px; }
.hint { font-size: 13px; color: var(--muted); }
footer { max-width: 1240px; margin: 0 auto; padding: 0 32px 30px; font-size: 12px; color: var(--muted); }
$css$
$$;

-- A KPI tile: label, value (HTML, already escaped), and a line under it (HTML).
CREATE FUNCTION stripe._html_kpi(label text, value_html text, sub_html text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT format('<div class="kpi"><div class="label">%s</div><div class="value">%s</div><div class="sub">%s</div></div>',
                stripe._html_escape(label), value_html, coalesce(sub_html, ''))
$$;

-- A chart card: title, a note under it, the chart (HTML/SVG); wide cards span the grid.
CREATE FUNCTION stripe._html_card(title text, note text, body text, wide boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT format('<figure class="card%s"><h3>%s</h3><div class="note">%s</div>%s</figure>',
                CASE WHEN wide THEN ' wide' ELSE '' END, stripe._html_escape(title), stripe._html_escape(note), body)
$$;

-- A money KPI value: '3,191.40<small>USD</small>'.
CREATE FUNCTION stripe._html_money(amount numeric, currency text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN amount IS NULL THEN '–'
              ELSE stripe._html_escape(stripe._fmt_amount(amount, currency)) || '<small>' || stripe._html_escape(upper(currency)) || '</small>' END
$$;

-- One currency's section of the dashboard.
CREATE FUNCTION stripe._dashboard_currency(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  cur  text := stripe._html_escape(upper(p_currency));
  unit text := 'money:' || p_currency;
  d    record;   -- daily series and period totals
  w    record;   -- weekly series
  rd   record;   -- refunds and disputes
  c    record;   -- customers
  dl   record;   -- declines
  rfm  record;
  html text;
BEGIN
  SELECT array_agg(x.day ORDER BY x.day) AS days, array_agg(x.gross ORDER BY x.day) AS gross,
         array_agg(x.avg7 ORDER BY x.day) AS avg7,
         sum(x.succeeded) AS succeeded, sum(x.failed) AS failed, sum(x.gross) AS total_gross,
         sum(x.net) AS total_net, sum(x.lost) AS lost
    INTO d FROM (SELECT y.*, round(avg(y.gross) OVER (ORDER BY y.day ROWS 6 PRECEDING)) AS avg7
                   FROM stripe._report_daily(p_from, p_to, p_account, p_livemode, p_currency) y) x;
  SELECT array_agg(x.week ORDER BY x.week) AS weeks,
         array_agg(x.succeeded ORDER BY x.week) AS succeeded, array_agg(x.failed ORDER BY x.week) AS failed,
         array_agg(stripe.ratio(x.failed, x.succeeded + x.failed) ORDER BY x.week) AS failure_rate,
         array_agg(x.refunded ORDER BY x.week) AS refunded, array_agg(x.disputed ORDER BY x.week) AS disputed
    INTO w FROM stripe._report_weekly(p_from, p_to, p_account, p_livemode, p_currency) x;
  SELECT * INTO rd FROM stripe._report_refunds_disputes(p_from, p_to, p_account, p_livemode, p_currency);
  SELECT max(x.customers) FILTER (WHERE x.week IS NULL) AS customers,
         max(x.new_customers) FILTER (WHERE x.week IS NULL) AS new_customers,
         max(x.returning_customers) FILTER (WHERE x.week IS NULL) AS returning_customers,
         array_agg(x.week ORDER BY x.week) FILTER (WHERE x.week IS NOT NULL) AS weeks,
         array_agg(x.new_customers ORDER BY x.week) FILTER (WHERE x.week IS NOT NULL) AS new_weekly,
         array_agg(x.returning_customers ORDER BY x.week) FILTER (WHERE x.week IS NOT NULL) AS returning_weekly
    INTO c FROM stripe._report_customers(p_from, p_to, p_account, p_livemode, p_currency) x;
  -- the top 7 decline reasons, and the rest in one row when there are more than 8
  SELECT array_agg(x.label ORDER BY x.rank) AS labels, array_agg(x.failed ORDER BY x.rank) AS failed,
         array_agg(stripe._fmt_int(x.failed) || ' · ' || stripe._fmt_pct(x.share) ORDER BY x.rank) AS value_labels
    INTO dl
    FROM (SELECT least(y.rank, 8) AS rank,
                 CASE WHEN count(*) = 1 THEN min(y.label) ELSE count(*) || ' other reasons' END AS label,
                 sum(y.failed) AS failed, sum(y.share) AS share
            FROM (SELECT coalesce(r.failure_code, '(no code)') || ' · ' || coalesce(r.outcome_reason, '(no reason)') AS label,
                         r.failed, r.share, row_number() OVER (ORDER BY r.failed DESC, r.failure_code, r.outcome_reason) AS rank
                    FROM stripe._report_declines(p_from, p_to, p_account, p_livemode, p_currency) r) y
           GROUP BY 1) x;
  SELECT array_agg(x.segment) AS labels, array_agg(x.customers) AS customers,
         array_agg(stripe._fmt_int(x.customers) || ' · ' || stripe._fmt_pct(x.share)
                   || coalesce(' · avg ' || stripe._fmt_money(round(x.avg_spent), p_currency), '')) AS value_labels
    INTO rfm FROM stripe._report_rfm(p_to, p_account, p_livemode, p_currency) x;

  html := format('<section><h2>%s <small>amounts in %s, never added to other currencies</small></h2>', cur, cur);
  html := html || '<div class="kpis">'
    || stripe._html_kpi('Gross volume', stripe._html_money(d.total_gross, p_currency),
                        stripe._fmt_int(d.succeeded) || ' succeeded payments')
    || stripe._html_kpi('Net volume', stripe._html_money(d.total_net, p_currency), 'after refunds and lost disputes')
    || stripe._html_kpi('Failure rate', stripe._html_escape(stripe._fmt_pct(stripe.ratio(d.failed, d.succeeded + d.failed))),
                        stripe._fmt_int(d.failed) || ' failed of ' || stripe._fmt_int(d.succeeded + d.failed) || ' charges')
    || stripe._html_kpi('Paying customers', stripe._fmt_int(coalesce(c.customers, 0)),
                        stripe._fmt_int(coalesce(c.new_customers, 0)) || ' new · '
                        || stripe._fmt_int(coalesce(c.returning_customers, 0)) || ' returning')
    || stripe._html_kpi('Refunded', stripe._html_money(rd.refunded, p_currency),
                        stripe._fmt_int(rd.refunds) || ' refunds · ' || stripe._fmt_pct(stripe.ratio(rd.refunded, d.total_gross)) || ' of gross')
    || stripe._html_kpi('Disputed', stripe._html_money(rd.disputed, p_currency),
                        stripe._fmt_int(rd.disputes) || ' disputes · ' || stripe._fmt_pct(stripe.ratio(rd.disputes, d.succeeded)) || ' of payments')
    || stripe._html_kpi('Disputes lost', stripe._html_money(rd.lost_amount, p_currency),
                        rd.lost || ' lost · ' || rd.won || ' won · ' || rd.open || ' open')
    || stripe._html_kpi('Average payment', stripe._html_money(round(stripe.ratio(d.total_gross, d.succeeded)), p_currency),
                        'gross volume / succeeded payments')
    || '</div><div class="grid">';

  html := html
    || stripe._html_card('Gross volume per day', format('Captured amount of succeeded charges in %s, and its average over the last 7 days', upper(p_currency)),
         stripe._svg_time_chart(d.days, ARRAY[d.gross, d.avg7], ARRAY['gross volume', '7-day average'],
                                ARRAY['#635bff', '#0a2540'], ARRAY['bar', 'line'], unit, false, 'day', 1160, 260,
                                'volume per day'), true)
    || stripe._html_card('Payments per week', 'Charges by status (week starts Monday)',
         stripe._svg_time_chart(w.weeks, ARRAY[w.succeeded, w.failed]::numeric[], ARRAY['succeeded', 'failed'],
                                ARRAY['#635bff', '#e5484d'], ARRAY['bar', 'bar'], 'count', true, 'week', 560, 240,
                                'payments per week'))
    || stripe._html_card('Failure rate per week', 'failed / (succeeded + failed); gaps are weeks without charges',
         stripe._svg_time_chart(w.weeks, ARRAY[w.failure_rate], ARRAY['failure rate'], ARRAY['#e5484d'], ARRAY['area'],
                                'pct', false, 'week', 560, 240, 'failure rate per week', 'No failed payments in this period'))
    || stripe._html_card('Top decline reasons', 'Failed charges by failure code · outcome reason, with their share',
         CASE WHEN dl.labels IS NULL THEN '<p class="empty">No failed payments in this period.</p>'
              ELSE stripe._svg_hbars(dl.labels, dl.failed, dl.value_labels, ARRAY['#e5484d'], 560, 'decline reasons') END)
    || stripe._html_card('Refunds and disputes per week', format('Refunded and disputed amounts in %s, by the refund''s and dispute''s own date', upper(p_currency)),
         stripe._svg_time_chart(w.weeks, ARRAY[w.refunded, w.disputed]::numeric[], ARRAY['refunded', 'disputed'],
                                ARRAY['#f5a524', '#c2255c'], ARRAY['bar', 'bar'], unit, false, 'week', 560, 240,
                                'refunds and disputes per week', 'No refunds or disputes in this period'))
    || stripe._html_card('New and returning customers per week', format('Paying customers: new = first succeeded %s payment that week', upper(p_currency)),
         stripe._svg_time_chart(c.weeks, ARRAY[c.new_weekly, c.returning_weekly]::numeric[], ARRAY['new', 'returning'],
                                ARRAY['#12b886', '#635bff'], ARRAY['bar', 'bar'], 'count', true, 'week', 560, 240,
                                'new and returning customers per week'))
    || stripe._html_card('RFM segments', format('Customers with a succeeded %s payment by %s, by recency and frequency score', upper(p_currency), stripe._d(p_to)),
         stripe._svg_hbars(rfm.labels, rfm.customers, rfm.value_labels,
                           ARRAY['#12b886', '#635bff', '#4dabf7', '#94d82d', '#f5a524', '#adb5bd'], 560, 'RFM segments'))
    || '</div></section>';
  RETURN html;
END $$;
COMMENT ON FUNCTION stripe._dashboard_currency(date, date, text, boolean, text) IS 'The section of stripe.dashboard_html() for one currency.';

-- The dashboard's section over all currencies: customers created, checkout funnel, cohorts.
CREATE FUNCTION stripe._dashboard_shop(p_from date, p_to date, p_account text, p_livemode boolean)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  f    record;   -- funnel totals
  fw   record;   -- funnel per week
  nc   record;   -- customers created
  html text;
BEGIN
  SELECT * INTO f FROM stripe._report_funnel(p_from, p_to, p_account, p_livemode) x WHERE x.week IS NULL;
  SELECT array_agg(x.week ORDER BY x.week) AS weeks, array_agg(x.conversion_rate ORDER BY x.week) AS conversion
    INTO fw FROM stripe._report_funnel(p_from, p_to, p_account, p_livemode) x WHERE x.week IS NOT NULL;
  SELECT sum(x.new_customers) AS total, array_agg(x.week ORDER BY x.week) AS weeks, array_agg(x.n ORDER BY x.week) AS weekly
    INTO nc FROM (SELECT date_trunc('week', y.day)::date AS week, sum(y.new_customers) AS n, sum(y.new_customers) AS new_customers
                    FROM stripe._report_new_customers(p_from, p_to, p_account, p_livemode) y GROUP BY 1) x;

  html := '<section><h2>All currencies <small>counts of customers and checkout sessions</small></h2><div class="kpis">'
    || stripe._html_kpi('Customers created', stripe._fmt_int(coalesce(nc.total, 0)), 'customer objects created in the period')
    || stripe._html_kpi('Checkout sessions', stripe._fmt_int(coalesce(f.sessions, 0)),
                        stripe._fmt_int(coalesce(f.completed, 0)) || ' completed · ' || stripe._fmt_int(coalesce(f.expired, 0)) || ' expired')
    || stripe._html_kpi('Checkout conversion', stripe._html_escape(stripe._fmt_pct(f.conversion_rate)), 'completed / (completed + expired)')
    || stripe._html_kpi('Checkout paid', stripe._fmt_int(coalesce(f.paid, 0)), 'paid or no payment required')
    || '</div><div class="grid">'
    || stripe._html_card('Cohort retention', 'Customers by month of first succeeded payment; share of each cohort paying again n months later',
                         stripe._svg_cohort_heatmap(p_to, p_account, p_livemode, 12, 560))
    || stripe._html_card('Checkout funnel', 'Checkout sessions created in the period, by outcome',
         CASE WHEN f.sessions IS NULL THEN '<p class="empty">No checkout sessions in this period.</p>'
              ELSE stripe._svg_hbars(ARRAY['sessions', 'completed', 'paid', 'expired'],
                                     ARRAY[f.sessions, f.completed, f.paid, f.expired],
                                     ARRAY[stripe._fmt_int(f.sessions),
                                           stripe._fmt_int(f.completed) || ' · ' || stripe._fmt_pct(stripe.ratio(f.completed, f.sessions)),
                                           stripe._fmt_int(f.paid) || ' · ' || stripe._fmt_pct(stripe.ratio(f.paid, f.sessions)),
                                           stripe._fmt_int(f.expired) || ' · ' || stripe._fmt_pct(stripe.ratio(f.expired, f.sessions))],
                                     ARRAY['#a5b4fc', '#635bff', '#12b886', '#e5484d'], 560, 'checkout funnel')
                   || stripe._svg_time_chart(fw.weeks, ARRAY[fw.conversion], ARRAY['conversion rate per week'],
                                             ARRAY['#635bff'], ARRAY['area'], 'pct', false, 'week', 560, 190,
                                             'checkout conversion per week') END)
    || stripe._html_card('Customers created per week', 'New customer objects (deleted ones included)',
         stripe._svg_time_chart(nc.weeks, ARRAY[nc.weekly]::numeric[], ARRAY['customers created'], ARRAY['#12b886'],
                                ARRAY['bar'], 'count', false, 'week', 1160, 200, 'customers created per week'), true)
    || '</div></section>';
  RETURN html;
END $$;
COMMENT ON FUNCTION stripe._dashboard_shop(date, date, text, boolean) IS 'The section of stripe.dashboard_html() over all currencies.';

CREATE FUNCTION stripe.dashboard_html(from_date date DEFAULT NULL, to_date date DEFAULT NULL, account text DEFAULT NULL,
                                      livemode boolean DEFAULT true)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  p_account  text    := dashboard_html.account;
  p_livemode boolean := coalesce(dashboard_html.livemode, true);
  p          record;
  c          text;
  body       text := '';
  acct_html  text := stripe._html_escape(coalesce(dashboard_html.account, 'platform'));
  hints      text;
BEGIN
  SELECT * INTO p FROM stripe._report_period(dashboard_html.from_date, dashboard_html.to_date, p_account, p_livemode);
  FOR c IN SELECT * FROM stripe._report_currencies(p.period_from, p.period_to, p_account, p_livemode) LOOP
    body := body || stripe._dashboard_currency(p.period_from, p.period_to, p_account, p_livemode, c);
  END LOOP;
  IF body = '' THEN
    SELECT string_agg('<li>' || stripe._html_escape(e) || '</li>', '') INTO hints
      FROM stripe._report_elsewhere(p_account, p_livemode) e;
    body := '<section><div class="empty"><b>No payments in this period.</b>'
            || CASE WHEN p.latest IS NULL AND hints IS NOT NULL
                    THEN '<div class="hint">There is data for:</div><ul class="hint" style="display:inline-block;text-align:left">' || hints || '</ul>'
                    ELSE '' END
            || '</div></section>';
  END IF;
  IF p.latest IS NOT NULL THEN
    body := body || stripe._dashboard_shop(p.period_from, p.period_to, p_account, p_livemode);
  END IF;

  RETURN '<!DOCTYPE html>' || E'\n'
    || '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
    || format('<title>Payments dashboard · %s · %s · %s – %s</title>', acct_html, CASE WHEN p_livemode THEN 'live' ELSE 'test' END,
              stripe._d(p.period_from), stripe._d(p.period_to))
    || '<style>' || stripe._dashboard_css() || '</style></head><body>' || E'\n'
    || '<header><h1>Payments dashboard</h1><div class="meta">'
    || format('<span>Account <b>%s</b></span>', CASE WHEN p_account IS NULL THEN 'platform (own account)' ELSE acct_html END)
    || format('<span>Mode <span class="badge %s">%s</span></span>', CASE WHEN p_livemode THEN 'live' ELSE 'test' END,
              CASE WHEN p_livemode THEN 'LIVE' ELSE 'TEST' END)
    || format('<span>Time zone <b>%s</b></span>', stripe._html_escape(stripe.reporting_timezone()))
    || format('<span>Period <b>%s – %s</b> (%s days)</span>', stripe._d(p.period_from), stripe._d(p.period_to), p.period_to - p.period_from + 1)
    || format('<span>Latest data <b>%s</b></span>', coalesce(stripe._d(p.latest), 'none'))
    || '</div></header>' || E'\n'
    || '<main>' || body || '</main>' || E'\n'
    || format('<footer>pg_stripe · generated %s · days, weeks (Monday) and months in %s · amounts in major units of each currency</footer>',
              to_char(now() AT TIME ZONE stripe.reporting_timezone(), 'YYYY-MM-DD HH24:MI'), stripe._html_escape(stripe.reporting_timezone()))
    || '</body></html>' || E'\n';
END $$;
COMMENT ON FUNCTION stripe.dashboard_html(date, date, text, boolean) IS 'One self-contained HTML page (inline CSS and SVG, no script, font, image or URL) with the period''s charts per currency; save it with psql -XAtc "select stripe.dashboard_html()" > dashboard.html. Same period, account and mode rules as stripe.report().';

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
  stripe.checkout_funnel_daily
TO stripe_reader;
GRANT EXECUTE ON FUNCTION stripe.payments(text, date, date), stripe.customer_rfm(timestamptz), stripe._bucket(timestamptz),
  stripe._rolled_up(text)
TO stripe_reader;

GRANT stripe_reader TO stripe_admin;
GRANT SELECT ON stripe.rejected_deliveries, stripe.endpoint_status TO stripe_admin;
GRANT EXECUTE ON FUNCTION
  stripe.create_endpoint(text, text, integer), stripe.rotate_endpoint_secret(text, text, interval),
  stripe.drop_endpoint(text), stripe.ingest_event(text), stripe.ingest_event(jsonb), stripe.rebuild(),
  stripe.ingest(text, text, text), stripe.ingest(bytea, text, text),
  stripe.add_reporting_zone(text), stripe.drop_reporting_zone(text)
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

-------------------------------------------------------------------------------
-- Privileges of §4 reporting (after 90_privileges.sql, which revokes every function from PUBLIC).
-- stripe.report() and stripe.dashboard_html() run as the caller, so a reader needs EXECUTE on
-- them and on the helpers they call; what they read stays subject to the reader's grants and to
-- row-level security per connected account. stripe_admin has them through stripe_reader.
-------------------------------------------------------------------------------

GRANT EXECUTE ON FUNCTION
  stripe._bar(numeric, numeric, integer),
  stripe._spark(numeric[], integer),
  stripe._d(date),
  stripe._fit(text, integer),
  stripe._fmt_amount(numeric, text),
  stripe._fmt_money(numeric, text),
  stripe._fmt_int(numeric),
  stripe._fmt_pct(numeric),
  stripe._report_period(date, date, text, boolean),
  stripe._period_start(date),
  stripe._report_currencies(date, date, text, boolean),
  stripe._report_daily(date, date, text, boolean, text),
  stripe._report_weekly(date, date, text, boolean, text),
  stripe._report_declines(date, date, text, boolean, text),
  stripe._report_refunds_disputes(date, date, text, boolean, text),
  stripe._report_customers(date, date, text, boolean, text),
  stripe._report_rfm(date, text, boolean, text),
  stripe._report_cohorts(date, text, boolean, integer),
  stripe._report_funnel(date, date, text, boolean),
  stripe._report_new_customers(date, date, text, boolean),
  stripe._report_elsewhere(text, boolean),
  stripe._rule(text),
  stripe._report_header(date, date, date, text, boolean),
  stripe._report_currency(date, date, text, boolean, text),
  stripe._report_shop(date, date, text, boolean),
  stripe.report(date, date, text, boolean, text),
  stripe._html_escape(text),
  stripe._fmt_short(numeric),
  stripe._fmt_value(numeric, text, boolean),
  stripe._nice_ticks(numeric, numeric, integer, boolean),
  stripe._n(numeric),
  stripe._svg_legend(text[], text[], text[], integer, integer),
  stripe._svg_time_chart(date[], numeric[], text[], text[], text[], text, boolean, text, integer, integer, text, text),
  stripe._svg_hbars(text[], numeric[], text[], text[], integer, text),
  stripe._heat_color(numeric),
  stripe._svg_cohort_heatmap(date, text, boolean, integer, integer),
  stripe._dashboard_css(),
  stripe._html_kpi(text, text, text),
  stripe._html_card(text, text, text, boolean),
  stripe._html_money(numeric, text),
  stripe._dashboard_currency(date, date, text, boolean, text),
  stripe._dashboard_shop(date, date, text, boolean),
  stripe.dashboard_html(date, date, text, boolean)
TO stripe_reader;

-- The refund rule of §3 (succeeded, not the release of an expired authorization), used by the
-- report's refund counts: a pure function of its arguments.
GRANT EXECUTE ON FUNCTION stripe.refund_counts(text, text) TO stripe_reader;
