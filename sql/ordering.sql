-- SPEC §2 ordering: newer created wins; on a tie the later arrival wins unless it would leave a
-- terminal status or lower a monotone amount; tombstones stay. Each case runs in both arrival
-- orders where that matters.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_stripe CASCADE;
CREATE EXTENSION pg_stripe;
RESET client_min_messages;

CREATE FUNCTION pg_temp.ev(id text, type text, created bigint, obj jsonb)
RETURNS text LANGUAGE sql AS $$
  SELECT jsonb_build_object('id', id, 'object', 'event', 'type', type, 'created', created,
                            'livemode', false, 'data', jsonb_build_object('object', obj))::text $$;
CREATE FUNCTION pg_temp.feed(VARIADIC evs text[]) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg((SELECT r.status FROM stripe.ingest_event(e) r), ',' ORDER BY n)
    FROM unnest(evs) WITH ORDINALITY AS u(e, n) $$;
CREATE FUNCTION pg_temp.charge(id text, status text, captured bigint, refunded bigint DEFAULT 0)
RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('id', id, 'object', 'charge', 'created', 1700000000, 'status', status,
         'amount', 1000, 'amount_captured', captured, 'amount_refunded', refunded, 'currency', 'usd',
         'customer', 'cus_1') $$;

-- 1. charge.succeeded, then a stale charge.pending (older created): stays succeeded.
SELECT pg_temp.feed(pg_temp.ev('e1a', 'charge.succeeded', 1700000010, pg_temp.charge('ch_1', 'succeeded', 1000)),
                    pg_temp.ev('e1b', 'charge.pending', 1700000005, pg_temp.charge('ch_1', 'pending', 0)));
SELECT id, status, amount_captured, event_id FROM stripe.charges WHERE id = 'ch_1';

-- 2. pending and succeeded in the same second, both arrival orders: succeeded (terminal) wins.
SELECT pg_temp.feed(pg_temp.ev('e2a', 'charge.pending', 1700000010, pg_temp.charge('ch_2', 'pending', 0)),
                    pg_temp.ev('e2b', 'charge.succeeded', 1700000010, pg_temp.charge('ch_2', 'succeeded', 1000)));
SELECT pg_temp.feed(pg_temp.ev('e3b', 'charge.succeeded', 1700000010, pg_temp.charge('ch_3', 'succeeded', 1000)),
                    pg_temp.ev('e3a', 'charge.pending', 1700000010, pg_temp.charge('ch_3', 'pending', 0)));
SELECT id, status, amount_captured, event_id FROM stripe.charges WHERE id IN ('ch_2', 'ch_3') ORDER BY id;

-- 3. Same second, terminal to the same terminal status: the later arrival wins (new data).
SELECT pg_temp.feed(pg_temp.ev('e4a', 'charge.succeeded', 1700000010, pg_temp.charge('ch_4', 'succeeded', 1000)),
                    pg_temp.ev('e4b', 'charge.refunded', 1700000010, pg_temp.charge('ch_4', 'succeeded', 1000, 400)));
-- ... but a monotone amount never goes down on a tie.
SELECT pg_temp.feed(pg_temp.ev('e4c', 'charge.updated', 1700000010, pg_temp.charge('ch_4', 'succeeded', 1000, 0)));
SELECT id, status, amount_refunded, event_id FROM stripe.charges WHERE id = 'ch_4';
-- A strictly newer event may set anything.
SELECT pg_temp.feed(pg_temp.ev('e4d', 'charge.updated', 1700000011, pg_temp.charge('ch_4', 'succeeded', 1000, 0)));
SELECT id, amount_refunded, event_id FROM stripe.charges WHERE id = 'ch_4';

-- 4. Terminal to another terminal on a tie is refused (charge failed then succeeded, same second).
SELECT pg_temp.feed(pg_temp.ev('e5a', 'charge.failed', 1700000010, pg_temp.charge('ch_5', 'failed', 0)),
                    pg_temp.ev('e5b', 'charge.succeeded', 1700000010, pg_temp.charge('ch_5', 'succeeded', 1000)));
SELECT id, status, event_id FROM stripe.charges WHERE id = 'ch_5';

-- 5. invoice.paid and invoice.updated (still "open" in its payload) in one second, both orders.
CREATE FUNCTION pg_temp.invoice(id text, status text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('id', id, 'object', 'invoice', 'created', 1700000000, 'status', status,
                            'currency', 'usd', 'amount_due', 500, 'amount_paid',
                            CASE WHEN status = 'paid' THEN 500 ELSE 0 END) $$;
SELECT pg_temp.feed(pg_temp.ev('i1a', 'invoice.paid', 1700000020, pg_temp.invoice('in_1', 'paid')),
                    pg_temp.ev('i1b', 'invoice.updated', 1700000020, pg_temp.invoice('in_1', 'open')));
SELECT pg_temp.feed(pg_temp.ev('i2b', 'invoice.updated', 1700000020, pg_temp.invoice('in_2', 'open')),
                    pg_temp.ev('i2a', 'invoice.paid', 1700000020, pg_temp.invoice('in_2', 'paid')));
-- uncollectible -> paid is allowed on a tie; paid -> uncollectible is not.
SELECT pg_temp.feed(pg_temp.ev('i3a', 'invoice.marked_uncollectible', 1700000020, pg_temp.invoice('in_3', 'uncollectible')),
                    pg_temp.ev('i3b', 'invoice.paid', 1700000020, pg_temp.invoice('in_3', 'paid')));
SELECT pg_temp.feed(pg_temp.ev('i4a', 'invoice.paid', 1700000020, pg_temp.invoice('in_4', 'paid')),
                    pg_temp.ev('i4b', 'invoice.marked_uncollectible', 1700000020, pg_temp.invoice('in_4', 'uncollectible')));
SELECT id, status, amount_paid, event_id FROM stripe.invoices ORDER BY id;

-- 6. Other kinds' terminal statuses on a tie.
SELECT pg_temp.feed(
  pg_temp.ev('p1a', 'payment_intent.canceled', 1700000030, '{"id":"pi_1","object":"payment_intent","status":"canceled"}'),
  pg_temp.ev('p1b', 'payment_intent.processing', 1700000030, '{"id":"pi_1","object":"payment_intent","status":"processing"}'),
  pg_temp.ev('r1a', 'refund.updated', 1700000030, '{"id":"re_1","object":"refund","status":"failed","amount":5,"currency":"usd"}'),
  pg_temp.ev('r1b', 'refund.created', 1700000030, '{"id":"re_1","object":"refund","status":"pending","amount":5,"currency":"usd"}'),
  pg_temp.ev('d1a', 'charge.dispute.closed', 1700000030, '{"id":"dp_1","object":"dispute","status":"lost","amount":5,"currency":"usd"}'),
  pg_temp.ev('d1b', 'charge.dispute.updated', 1700000030, '{"id":"dp_1","object":"dispute","status":"under_review","amount":5,"currency":"usd"}'),
  pg_temp.ev('s1a', 'checkout.session.expired', 1700000030, '{"id":"cs_1","object":"checkout.session","status":"expired"}'),
  pg_temp.ev('s1b', 'checkout.session.async_payment_failed', 1700000030, '{"id":"cs_1","object":"checkout.session","status":"open"}'));
SELECT 'pi' k, status FROM stripe.payment_intents UNION ALL SELECT 're', status FROM stripe.refunds
UNION ALL SELECT 'dp', status FROM stripe.disputes UNION ALL SELECT 'cs', status FROM stripe.checkout_sessions ORDER BY 1;
-- Non-terminal statuses on a tie: the later arrival wins.
SELECT pg_temp.feed(
  pg_temp.ev('d2a', 'charge.dispute.created', 1700000040, '{"id":"dp_2","object":"dispute","status":"needs_response","amount":5,"currency":"usd"}'),
  pg_temp.ev('d2b', 'charge.dispute.updated', 1700000040, '{"id":"dp_2","object":"dispute","status":"under_review","amount":5,"currency":"usd"}'));
SELECT id, status FROM stripe.disputes WHERE id = 'dp_2';

-- 7. Tombstones: customer.deleted, then a stale customer.updated does not bring it back, nor
-- does a same-second one; new_customers still counts it once.
CREATE FUNCTION pg_temp.cus(id text, email text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('id', id, 'object', 'customer', 'created', 1700000000, 'email', email) $$;
SELECT pg_temp.feed(pg_temp.ev('c1a', 'customer.created', 1700000000, pg_temp.cus('cus_9', 'a@x')),
                    pg_temp.ev('c1c', 'customer.deleted', 1700000100, pg_temp.cus('cus_9', 'a@x')),
                    pg_temp.ev('c1b', 'customer.updated', 1700000050, pg_temp.cus('cus_9', 'b@x')),
                    pg_temp.ev('c1d', 'customer.updated', 1700000100, pg_temp.cus('cus_9', 'c@x')));
SELECT id, email, deleted, event_id FROM stripe.customers WHERE id = 'cus_9';
-- Deleted first, created arriving late: still a tombstone, counted once.
SELECT pg_temp.feed(pg_temp.ev('c2c', 'customer.deleted', 1700000100, pg_temp.cus('cus_8', 'a@x')),
                    pg_temp.ev('c2a', 'customer.created', 1700000000, pg_temp.cus('cus_8', 'a@x')));
SELECT id, deleted FROM stripe.customers WHERE id = 'cus_8';
SELECT day, new_customers FROM stripe.new_customers_daily;

-- 8. A refund known before its charge: its amount reaches the customer when the charge arrives.
SELECT pg_temp.feed(
  pg_temp.ev('r9a', 'refund.created', 1700000200, '{"id":"re_9","object":"refund","status":"succeeded","amount":300,"currency":"usd","charge":"ch_9","created":1700000200}'),
  pg_temp.ev('c9a', 'charge.succeeded', 1700000100, jsonb_build_object('id', 'ch_9', 'object', 'charge', 'created', 1700000090,
     'status', 'succeeded', 'amount', 1000, 'amount_captured', 1000, 'currency', 'usd', 'customer', 'cus_R')));
SELECT id, customer FROM stripe.refunds WHERE id = 're_9';
SELECT customer, payments, total_spent, refunded, net_spent FROM stripe.customer_stats WHERE customer = 'cus_R';

-- The aggregates agree with a recomputation from the object tables.
SELECT (SELECT sum(successful_payments) FROM stripe.payments_daily) =
       (SELECT count(*) FROM stripe.charges WHERE status = 'succeeded') AS succeeded_ok,
       (SELECT sum(gross_volume) FROM stripe.payments_daily) =
       (SELECT sum(amount_captured) FROM stripe.charges WHERE status = 'succeeded') AS gross_ok,
       (SELECT sum(refunded_amount) FROM stripe.payments_daily) =
       (SELECT sum(amount) FROM stripe.refunds WHERE status = 'succeeded') AS refunded_ok;
-- And a rebuild from the log (replayed in arrival order) gives the same objects.
CREATE TEMP TABLE snap AS
  SELECT 'charges' t, string_agg(format('%s:%s:%s:%s', id, status, amount_refunded, event_id), ' ' ORDER BY id) s FROM stripe.charges
  UNION ALL SELECT 'invoices', string_agg(format('%s:%s:%s', id, status, event_id), ' ' ORDER BY id) FROM stripe.invoices
  UNION ALL SELECT 'customers', string_agg(format('%s:%s:%s', id, deleted, event_id), ' ' ORDER BY id) FROM stripe.customers
  UNION ALL SELECT 'payments', string_agg(p::text, ' ' ORDER BY p::text) FROM stripe.payments_daily p
  UNION ALL SELECT 'stats', string_agg(p::text, ' ' ORDER BY p::text) FROM stripe.customer_stats p;
SELECT stripe.rebuild() > 0 AS rebuilt;
SELECT t, s = (CASE t
  WHEN 'charges' THEN (SELECT string_agg(format('%s:%s:%s:%s', id, status, amount_refunded, event_id), ' ' ORDER BY id) FROM stripe.charges)
  WHEN 'invoices' THEN (SELECT string_agg(format('%s:%s:%s', id, status, event_id), ' ' ORDER BY id) FROM stripe.invoices)
  WHEN 'customers' THEN (SELECT string_agg(format('%s:%s:%s', id, deleted, event_id), ' ' ORDER BY id) FROM stripe.customers)
  WHEN 'payments' THEN (SELECT string_agg(p::text, ' ' ORDER BY p::text) FROM stripe.payments_daily p)
  WHEN 'stats' THEN (SELECT string_agg(p::text, ' ' ORDER BY p::text) FROM stripe.customer_stats p) END) AS same
FROM snap ORDER BY t;
