-- The event log (SPEC §2): each delivery logs its row as received (seq from the identity,
-- received_at = now(), every envelope column from the body, compared here with the body by
-- SQL), a second delivery is a duplicate in the same transaction and after it, a read-only
-- transaction is refused (25006), and what a DBA adds to stripe.events keeps working: triggers,
-- CHECK constraints, columns with defaults, a dropped and re-added column, a primary key rebuilt
-- by REINDEX CONCURRENTLY. (Concurrent deliveries: specs/concurrent_delivery.spec.)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_stripe CASCADE;
CREATE EXTENSION pg_stripe;
RESET client_min_messages;

CREATE FUNCTION pg_temp.ev(id text, created bigint DEFAULT 1700000000) RETURNS text LANGUAGE sql AS $$
  SELECT json_build_object('id', id, 'object', 'event', 'type', 'charge.succeeded', 'created', created,
           'livemode', false, 'api_version', '2024-06-20', 'account', 'acct_1',
           'data', json_build_object('object', json_build_object('id', 'ch_' || id, 'object', 'charge',
             'created', created, 'status', 'succeeded', 'amount', 700, 'amount_captured', 700,
             'currency', 'jpy', 'customer', 'cus_1')))::text $$;
-- Every body delivered, and what the log should hold for it, independently of the C code.
CREATE TABLE pg_temp.sent (id text PRIMARY KEY, body text);
CREATE FUNCTION pg_temp.deliver(body text) RETURNS text LANGUAGE sql AS $$
  INSERT INTO pg_temp.sent VALUES (body::json->>'id', body) ON CONFLICT DO NOTHING;
  SELECT status FROM stripe.ingest_event(body) $$;
CREATE FUNCTION pg_temp.log_ok(p_id text) RETURNS boolean LANGUAGE sql AS $$
  SELECT e.type = b->>'type' AND e.created = to_timestamp((b->>'created')::bigint)
     AND e.livemode = (b->>'livemode')::boolean AND e.account IS NOT DISTINCT FROM b->>'account'
     AND e.api_version IS NOT DISTINCT FROM b->>'api_version'
     AND e.object_type = b->'data'->'object'->>'object' AND e.object_id = b->'data'->'object'->>'id'
     AND e.endpoint IS NULL AND e.body::text = s.body
    FROM stripe.events e JOIN pg_temp.sent s USING (id), LATERAL (SELECT s.body::jsonb) x(b) WHERE e.id = p_id $$;

-- One transaction logs, applies, and answers a second delivery as a duplicate.
BEGIN;
SELECT pg_temp.deliver(pg_temp.ev('evt_1'));
SELECT received_at = now() AS received_now FROM stripe.events WHERE id = 'evt_1';
SELECT pg_temp.deliver(pg_temp.ev('evt_1'));
COMMIT;
SELECT pg_temp.deliver(pg_temp.ev('evt_1'));
SELECT pg_temp.deliver(pg_temp.ev('evt_2', 1700000100));
SELECT id, pg_temp.log_ok(id), seq > lag(seq) OVER (ORDER BY seq) AS seq_grows FROM stripe.events ORDER BY seq;
SELECT count(*) AS charges, sum(amount_captured) AS captured FROM stripe.charges;

-- A read-only transaction is refused (25006).
BEGIN READ ONLY;
\set VERBOSITY sqlstate
SELECT pg_temp.deliver(pg_temp.ev('evt_ro'));
ROLLBACK;

-- A trigger on the log runs.
CREATE TABLE pg_temp.seen (id text);
CREATE FUNCTION pg_temp.note() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN INSERT INTO pg_temp.seen VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER note AFTER INSERT ON stripe.events FOR EACH ROW EXECUTE FUNCTION pg_temp.note();
SELECT pg_temp.deliver(pg_temp.ev('evt_3', 1700000200));
SELECT pg_temp.deliver(pg_temp.ev('evt_3', 1700000200));
SELECT * FROM pg_temp.seen;
DROP TRIGGER note ON stripe.events;
-- ... and after DROP TRIGGER no longer does.
SELECT pg_temp.deliver(pg_temp.ev('evt_4', 1700000300));
SELECT * FROM pg_temp.seen;

-- A CHECK constraint of the DBA's: enforced.
ALTER TABLE stripe.events ADD CONSTRAINT not_acct_2 CHECK (account IS DISTINCT FROM 'acct_2');
\set VERBOSITY terse
SELECT status FROM stripe.ingest_event(replace(pg_temp.ev('evt_5'), 'acct_1', 'acct_2'));
\set VERBOSITY default
ALTER TABLE stripe.events DROP CONSTRAINT not_acct_2;
-- A column of the DBA's with a default: filled for new rows.
ALTER TABLE stripe.events ADD COLUMN source text;
ALTER TABLE stripe.events ALTER COLUMN source SET DEFAULT 'webhook';
SELECT pg_temp.deliver(pg_temp.ev('evt_6', 1700000400));
SELECT id, source FROM stripe.events WHERE id IN ('evt_4', 'evt_6') ORDER BY id;
ALTER TABLE stripe.events DROP COLUMN source;
-- After a dropped column the log is still right.
SELECT pg_temp.deliver(pg_temp.ev('evt_7', 1700000500));
-- A column dropped and added back moves to a new attribute number.
ALTER TABLE stripe.events DROP COLUMN endpoint;
ALTER TABLE stripe.events ADD COLUMN endpoint text;
SELECT pg_temp.deliver(pg_temp.ev('evt_8', 1700000600));
-- A rebuilt primary key (a new index OID) still decides duplicates: a duplicate, not an error.
REINDEX INDEX CONCURRENTLY stripe.events_pkey;
SELECT pg_temp.deliver(pg_temp.ev('evt_8', 1700000600));
SELECT pg_temp.deliver(pg_temp.ev('evt_9', 1700000700));
SELECT id, pg_temp.log_ok(id) FROM stripe.events ORDER BY seq;
SELECT count(*) AS events, count(DISTINCT seq) AS seqs FROM stripe.events;
SELECT count(*) AS charges, sum(amount_captured) AS captured FROM stripe.charges;
