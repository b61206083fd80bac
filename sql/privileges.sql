-- Privileges: an ingest-only role and a read-only analytics role; neither reads a secret,
-- calls maintenance functions or alters tables. SECURITY DEFINER functions pin search_path,
-- PUBLIC gets only pure functions, and RLS scopes a role to one connected account.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_stripe CASCADE;
CREATE EXTENSION pg_stripe;
DROP ROLE IF EXISTS regress_app;
DROP ROLE IF EXISTS regress_bi;
DROP ROLE IF EXISTS regress_acct1;
RESET client_min_messages;
CREATE ROLE regress_app;  GRANT stripe_ingest TO regress_app;
CREATE ROLE regress_bi;   GRANT stripe_reader TO regress_bi;
CREATE ROLE regress_acct1; GRANT stripe_reader TO regress_acct1;
INSERT INTO stripe.account_access VALUES ('regress_acct1', 'acct_1');

SELECT stripe.create_endpoint('default', 'whsec_priv');
CREATE FUNCTION pg_temp.signed(body text) RETURNS text LANGUAGE sql AS $$
  SELECT 't=' || extract(epoch FROM now())::bigint || ',v1=' ||
         encode(hmac(extract(epoch FROM now())::bigint || '.' || body, 'whsec_priv', 'sha256'), 'hex') $$;
CREATE TEMP TABLE deliveries AS
SELECT b, pg_temp.signed(b) AS h FROM (VALUES
  ('{"id":"evt_p1","type":"charge.succeeded","created":1700000000,"livemode":true,"data":{"object":{"id":"ch_p1","object":"charge","created":1700000000,"status":"succeeded","amount":100,"amount_captured":100,"currency":"usd"}}}'),
  ('{"id":"evt_p2","type":"charge.succeeded","created":1700000000,"livemode":true,"account":"acct_1","data":{"object":{"id":"ch_p2","object":"charge","created":1700000000,"status":"succeeded","amount":200,"amount_captured":200,"currency":"usd"}}}'),
  ('{"id":"evt_p3","type":"charge.succeeded","created":1700000000,"livemode":true,"account":"acct_2","data":{"object":{"id":"ch_p3","object":"charge","created":1700000000,"status":"succeeded","amount":300,"amount_captured":300,"currency":"usd"}}}')
) v(b);
GRANT SELECT ON deliveries TO regress_app;

-- The ingest-only role ingests ...
SET ROLE regress_app;
SELECT r.status, r.event_id FROM deliveries d, stripe.ingest(d.b, d.h) r ORDER BY r.event_id;
-- ... and can do nothing else.
\set VERBOSITY terse
SELECT secret FROM stripe.endpoints;
SELECT * FROM stripe.endpoint_status;
SELECT * FROM stripe.rejected_deliveries;
SELECT count(*) FROM stripe.events;
SELECT count(*) FROM stripe.charges;
SELECT * FROM stripe.payments_daily;
SELECT stripe._endpoint_secrets('default');
SELECT stripe.ingest_event('{}');
SELECT stripe.rebuild();
SELECT stripe.create_endpoint('evil', 'whsec_evil');
SELECT stripe.rotate_endpoint_secret('default', 'whsec_evil');
SELECT stripe.drop_endpoint('default');
SELECT stripe._apply_event('{}');
SELECT stripe._apply_charges(NULL, NULL);
INSERT INTO stripe.events (id, type, created, livemode, body) VALUES ('x', 'x', now(), false, '{}');
UPDATE stripe.charges SET amount = 0;
RESET ROLE;

-- The analytics reader reads figures, objects and the log ...
SET ROLE regress_bi;
SELECT account, livemode, currency, successful_payments, gross_volume FROM stripe.payments_daily ORDER BY account;
SELECT count(*) FROM stripe.charges;
-- ... but no secret, no rejected delivery, no maintenance, no writes.
SELECT secret FROM stripe.endpoints;
SELECT * FROM stripe.rejected_deliveries;
SELECT r.status FROM stripe.ingest('{}', 't=1,v1=00') r;
SELECT stripe.rebuild();
SELECT stripe.create_endpoint('evil', 'whsec_evil');
DELETE FROM stripe.events;
ALTER TABLE stripe.charges ADD COLUMN x int;
DROP VIEW stripe.payments_daily;
RESET ROLE;

-- Row-level security: a role restricted to acct_1 sees only acct_1, in tables and views.
SET ROLE regress_acct1;
SELECT account, gross_volume FROM stripe.payments_daily;
SELECT id, account FROM stripe.charges;
SELECT count(*) FROM stripe.events;
RESET ROLE;
\set VERBOSITY default

-- Every SECURITY DEFINER function pins search_path.
SELECT p.oid::regprocedure AS definer_without_search_path
  FROM pg_proc p WHERE p.pronamespace = 'stripe'::regnamespace AND p.prosecdef
   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false);
SELECT count(*) > 0 AS has_definer_functions FROM pg_proc p
 WHERE p.pronamespace = 'stripe'::regnamespace AND p.prosecdef;
-- What PUBLIC may execute: pure functions only.
SELECT p.oid::regprocedure AS public_function
  FROM pg_proc p WHERE p.pronamespace = 'stripe'::regnamespace
   AND has_function_privilege('public', p.oid, 'EXECUTE') ORDER BY p.oid::regprocedure::text;
-- No table is granted to PUBLIC except the RLS mapping (needed by its predicate).
SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'stripe'::regnamespace AND c.relkind IN ('r', 'v')
   AND has_table_privilege('public', c.oid, 'SELECT') ORDER BY 1;
-- Only the owner can read the secrets.
SELECT r.rolname, has_table_privilege(r.rolname, 'stripe.endpoints', 'SELECT') AS can_read_secrets
  FROM pg_roles r WHERE r.rolname IN ('stripe_ingest', 'stripe_reader', 'stripe_admin', 'regress_app', 'regress_bi')
 ORDER BY 1;

DROP OWNED BY regress_app, regress_bi, regress_acct1;
DROP ROLE regress_app, regress_bi, regress_acct1;
