-- Ingest: every event family built on Stripe's own object shapes (test/fixtures), the result
-- of stripe.ingest / ingest_event, idempotency, the event log, endpoints and rotation.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_stripe CASCADE;
CREATE EXTENSION pg_stripe;
RESET client_min_messages;
-- Keep rejected body prefixes short in this output.
SET stripe.rejected_body_prefix = 40;
\set fx `cat test/fixtures/stripe_objects.json`
CREATE TEMP TABLE fx AS SELECT :'fx'::jsonb AS o;

-- ev(id, type, created, object [, extra envelope fields]) -> event text
CREATE FUNCTION pg_temp.ev(id text, type text, created bigint, obj jsonb, extra jsonb DEFAULT '{}')
RETURNS text LANGUAGE sql AS $$
  SELECT (jsonb_build_object('id', id, 'object', 'event', 'api_version', '2024-06-20', 'type', type,
          'created', created, 'livemode', false, 'pending_webhooks', 1, 'data', jsonb_build_object('object', obj))
          || extra)::text $$;
-- A fixture object with overrides.
CREATE FUNCTION pg_temp.obj(kind text, patch jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT (SELECT o -> kind FROM fx) || patch $$;
-- sign(body, secret, t) -> Stripe-Signature header
CREATE FUNCTION pg_temp.sig(body text, secret text, t bigint) RETURNS text LANGUAGE sql AS $$
  SELECT 't=' || t || ',v1=' || encode(hmac(t || '.' || body, secret, 'sha256'), 'hex') $$;

-- Every family, from the fixture shapes.
SELECT (stripe.ingest_event(pg_temp.ev('evt_cus', 'customer.created', 1700000000,
          pg_temp.obj('customer', '{"id":"cus_A","created":1700000000,"email":"a@example.com"}')))).status;
SELECT (stripe.ingest_event(pg_temp.ev('evt_pi', 'payment_intent.succeeded', 1700000010,
          pg_temp.obj('payment_intent', '{"id":"pi_A","created":1700000005,"status":"succeeded","amount":5000,"amount_received":5000,"customer":"cus_A","latest_charge":"ch_A"}')))).status;
SELECT (stripe.ingest_event(pg_temp.ev('evt_ch', 'charge.succeeded', 1700000010,
          pg_temp.obj('charge', '{"id":"ch_A","created":1700000008,"amount":5000,"amount_captured":5000,"customer":"cus_A","payment_intent":"pi_A"}')))).status;
SELECT (stripe.ingest_event(pg_temp.ev('evt_re', 'refund.created', 1700000100,
          pg_temp.obj('refund', '{"id":"re_A","created":1700000100,"amount":1500,"charge":"ch_A","reason":"requested_by_customer"}')))).status;
SELECT (stripe.ingest_event(pg_temp.ev('evt_dp', 'charge.dispute.created', 1700000200,
          pg_temp.obj('dispute', '{"id":"dp_A","created":1700000200,"amount":3500,"charge":"ch_A","status":"needs_response"}')))).status;
SELECT (stripe.ingest_event(pg_temp.ev('evt_cs', 'checkout.session.completed', 1700000010,
          pg_temp.obj('checkout.session', '{"id":"cs_A","created":1700000000,"status":"complete","payment_status":"paid","currency":"usd","amount_total":5000,"customer":"cus_A"}')))).status;
SELECT (stripe.ingest_event(pg_temp.ev('evt_sub', 'customer.subscription.created', 1700000300,
          pg_temp.obj('subscription', '{"id":"sub_A","created":1700000300,"customer":"cus_A"}')))).status;
SELECT (stripe.ingest_event(pg_temp.ev('evt_in', 'invoice.paid', 1700000400,
          pg_temp.obj('invoice', '{"id":"in_A","created":1700000390,"status":"paid","customer":"cus_A","amount_paid":5000}')))).status;
-- An unknown event type and an unknown object: logged, never an error.
SELECT * FROM stripe.ingest_event(pg_temp.ev('evt_unknown', 'radar.early_fraud_warning.created', 1700000500,
          '{"id":"issfr_1","object":"radar.early_fraud_warning","brand_new_field":{"x":1}}'));

SELECT id, status, amount, amount_captured, currency, customer, payment_intent, card_brand, payment_method_type,
       created, event_id, deleted, data->>'object' AS object FROM stripe.charges;
SELECT id, status, amount, amount_received, customer, latest_charge FROM stripe.payment_intents;
SELECT id, status, amount, currency, charge, reason, customer FROM stripe.refunds;
SELECT id, status, amount, currency, charge FROM stripe.disputes;
SELECT id, email, created, deleted FROM stripe.customers;
SELECT id, status, payment_status, amount_total, currency, customer FROM stripe.checkout_sessions;
SELECT id, status, customer, currency, cancel_at_period_end FROM stripe.subscriptions;
SELECT id, subscription, price, quantity, unit_amount, currency, interval FROM stripe.subscription_items ORDER BY id;
SELECT id, status, customer, subscription, amount_paid FROM stripe.invoices;
SELECT id, type, created, livemode, account, api_version, object_type, object_id, endpoint
  FROM stripe.events ORDER BY seq;
-- The log keeps the body exactly as received.
SELECT body::text = pg_temp.ev('evt_cus', 'customer.created', 1700000000,
          pg_temp.obj('customer', '{"id":"cus_A","created":1700000000,"email":"a@example.com"}')) AS verbatim
  FROM stripe.events WHERE id = 'evt_cus';

-- Idempotency: the same id again is a duplicate and changes nothing, even with another body.
SELECT * FROM stripe.ingest_event(pg_temp.ev('evt_ch', 'charge.succeeded', 1700000010,
          pg_temp.obj('charge', '{"id":"ch_A","created":1700000008,"amount":9999,"amount_captured":9999}')));
SELECT amount FROM stripe.charges WHERE id = 'ch_A';
SELECT count(*) FROM stripe.events;

-- jsonb overload.
SELECT (stripe.ingest_event(pg_temp.ev('evt_cus2', 'customer.created', 1700000600,
          pg_temp.obj('customer', '{"id":"cus_B","created":1700000600}'))::jsonb)).status;

-- Connect: account on every row; livemode from the event.
SELECT (stripe.ingest_event(pg_temp.ev('evt_conn', 'charge.failed', 1700000700,
          pg_temp.obj('charge', '{"id":"ch_C","created":1700000700,"status":"failed","amount":100,"amount_captured":0,"currency":"KRW","failure_code":"card_declined","outcome":{"type":"issuer_declined","reason":"insufficient_funds"}}'),
          '{"account":"acct_1","livemode":true}'))).status;
SELECT id, account, livemode, currency, status, failure_code, outcome_reason FROM stripe.charges WHERE id = 'ch_C';
SELECT id, account, livemode FROM stripe.events WHERE id = 'evt_conn';

-- Refunds embedded in a charge payload are objects too.
SELECT (stripe.ingest_event(pg_temp.ev('evt_ch_ref', 'charge.refunded', 1700000800,
          pg_temp.obj('charge', '{"id":"ch_A","created":1700000008,"amount":5000,"amount_captured":5000,"amount_refunded":2500,"refunded":false,"customer":"cus_A",
            "refunds":{"object":"list","data":[{"id":"re_A","object":"refund","amount":1500,"status":"succeeded","currency":"usd","charge":"ch_A","created":1700000100},
                                                {"id":"re_B","object":"refund","amount":1000,"status":"succeeded","currency":"usd","charge":"ch_A","created":1700000790}]}}')))).status;
SELECT id, amount, status, customer, event_id FROM stripe.refunds ORDER BY id;
SELECT amount_refunded FROM stripe.charges WHERE id = 'ch_A';

-- Signed ingest through an endpoint. (Functions returning a row are called in FROM: in a
-- select list, (f()).* would call f once per column.)
SELECT stripe.create_endpoint('shop', 'whsec_one');
SELECT name, tolerance, rotated_at, previous_secret_active FROM stripe.endpoint_status;
CREATE TEMP TABLE b AS SELECT
  pg_temp.ev('evt_signed', 'customer.created', 1700000900, pg_temp.obj('customer', '{"id":"cus_S","created":1700000900}')) AS signed,
  pg_temp.ev('evt_bytes', 'customer.created', 1700000901, pg_temp.obj('customer', '{"id":"cus_Y","created":1700000901}')) AS bytes,
  pg_temp.ev('evt_rot1', 'customer.created', 1700001000, pg_temp.obj('customer', '{"id":"cus_R1","created":1700001000}')) AS rot1,
  pg_temp.ev('evt_rot2', 'customer.created', 1700001001, pg_temp.obj('customer', '{"id":"cus_R2","created":1700001001}')) AS rot2,
  pg_temp.ev('evt_rot3', 'customer.created', 1700001002, pg_temp.obj('customer', '{"id":"cus_R3","created":1700001002}')) AS rot3,
  pg_temp.ev('evt_old', 'customer.created', 1700001003, pg_temp.obj('customer', '{"id":"cus_O","created":1700001003}')) AS old,
  extract(epoch FROM now())::bigint AS now;
SELECT r.* FROM b, stripe.ingest(b.signed, pg_temp.sig(b.signed, 'whsec_one', b.now), 'shop') r;
SELECT endpoint FROM stripe.events WHERE id = 'evt_signed';
-- Same delivery again: duplicate.
SELECT r.status FROM b, stripe.ingest(b.signed, pg_temp.sig(b.signed, 'whsec_one', b.now), 'shop') r;
-- bytea body.
SELECT r.status FROM b, stripe.ingest(convert_to(b.bytes, 'UTF8'), pg_temp.sig(b.bytes, 'whsec_one', b.now), 'shop') r;

-- Rotation with overlap: both secrets work until the old one expires.
SELECT stripe.rotate_endpoint_secret('shop', 'whsec_two', '1 hour');
SELECT name, previous_secret_active FROM stripe.endpoint_status;
SELECT r.status AS old_secret FROM b, stripe.ingest(b.rot1, pg_temp.sig(b.rot1, 'whsec_one', b.now), 'shop') r;
SELECT r.status AS new_secret FROM b, stripe.ingest(b.rot2, pg_temp.sig(b.rot2, 'whsec_two', b.now), 'shop') r;
-- Overlap over: the old secret is rejected.
SELECT stripe.rotate_endpoint_secret('shop', 'whsec_three', '0');
SELECT r.* FROM b, stripe.ingest(b.rot3, pg_temp.sig(b.rot3, 'whsec_two', b.now), 'shop') r;

-- Rejections are recorded with the reason, never a secret.
SELECT r.reason FROM stripe.ingest('{"id":"evt_x"}', 't=1,v1=' || repeat('0', 64), 'shop') r;
SELECT r.reason FROM b, stripe.ingest(b.old, pg_temp.sig(b.old, 'whsec_three', b.now - 3600), 'shop') r;
SELECT r.reason FROM stripe.ingest('{}', 't=1,v1=00', 'nope') r;
SELECT r.reason FROM stripe.ingest('', 't=1,v1=00', 'shop') r;
SELECT r.reason FROM stripe.ingest('{}', '', 'shop') r;
SELECT r.reason FROM stripe.ingest(NULL::text, NULL, 'shop') r;
-- Valid signature, body not an event / not JSON.
SELECT r.* FROM b, stripe.ingest('{"id":"evt_nodata","type":"x","created":1}',
  pg_temp.sig('{"id":"evt_nodata","type":"x","created":1}', 'whsec_three', b.now), 'shop') r;
SELECT r.* FROM b, stripe.ingest('not json', pg_temp.sig('not json', 'whsec_three', b.now), 'shop') r;
-- A caller that sends the secret itself as the header: rejected, and not stored.
SELECT r.reason FROM stripe.ingest('{"id":"evt_leak"}', 'whsec_three', 'shop') r;
SELECT sig_header FROM stripe.rejected_deliveries WHERE body_prefix = '{"id":"evt_leak"}';
SELECT endpoint, reason, sqlstate, message, regexp_replace(detail, 'signed \d+ seconds', 'signed N seconds') AS detail, body_size, body_prefix
  FROM stripe.rejected_deliveries ORDER BY id;
SELECT count(*) AS rows_mentioning_a_secret FROM stripe.rejected_deliveries r
 WHERE r::text LIKE '%whsec_%';

-- Size limit.
SET stripe.max_payload_bytes = 1024;
SELECT r.reason FROM stripe.ingest(repeat('x', 2000), 't=1,v1=00', 'shop') r;
SELECT body_size, length(body_prefix) FROM stripe.rejected_deliveries WHERE reason = 'payload_too_large';
RESET stripe.max_payload_bytes;

-- Endpoint management errors never echo the secret.
\set VERBOSITY default
SELECT stripe.create_endpoint('shop', 'whsec_dup');
SELECT stripe.create_endpoint('ws', 'whsec_with space');
SELECT stripe.create_endpoint('ws', '   ');
SELECT stripe.rotate_endpoint_secret('missing', 'whsec_x');
SELECT stripe.drop_endpoint('shop');
SELECT stripe.drop_endpoint('shop');
SELECT count(*) FROM stripe.endpoints;

-- Rebuild gives the same state.
CREATE TEMP TABLE before AS
  SELECT 'charges' t, md5(string_agg(c::text, '|' ORDER BY id)) h FROM stripe.charges c
  UNION ALL SELECT 'refunds', md5(string_agg(r::text, '|' ORDER BY id)) FROM stripe.refunds r
  UNION ALL SELECT 'customers', md5(string_agg(r::text, '|' ORDER BY id)) FROM stripe.customers r
  UNION ALL SELECT 'payments', md5(string_agg(p::text, '|' ORDER BY p::text)) FROM stripe.payments_daily p
  UNION ALL SELECT 'customer_stats', md5(string_agg(p::text, '|' ORDER BY p::text)) FROM stripe.customer_stats p;
SELECT stripe.rebuild();
SELECT b.t, b.h = a.h AS same FROM before b JOIN (
  SELECT 'charges' t, md5(string_agg(c::text, '|' ORDER BY id)) h FROM stripe.charges c
  UNION ALL SELECT 'refunds', md5(string_agg(r::text, '|' ORDER BY id)) FROM stripe.refunds r
  UNION ALL SELECT 'customers', md5(string_agg(r::text, '|' ORDER BY id)) FROM stripe.customers r
  UNION ALL SELECT 'payments', md5(string_agg(p::text, '|' ORDER BY p::text)) FROM stripe.payments_daily p
  UNION ALL SELECT 'customer_stats', md5(string_agg(p::text, '|' ORDER BY p::text)) FROM stripe.customer_stats p) a USING (t)
ORDER BY 1;
