-- Hostile and malformed input: every case gets a clear error (or a `rejected` result) with a
-- SQLSTATE, the backend survives, and nothing already stored changes.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_stripe CASCADE;
CREATE EXTENSION pg_stripe;
RESET client_min_messages;

-- Some state to protect.
SELECT r.status FROM stripe.ingest_event('{"id":"evt_ok","type":"charge.succeeded","created":1700000000,"livemode":false,
  "data":{"object":{"id":"ch_ok","object":"charge","created":1700000000,"status":"succeeded","amount":700,"amount_captured":700,"currency":"usd"}}}') r;
CREATE TEMP TABLE fingerprint AS
  SELECT (SELECT md5(string_agg(e::text, '|' ORDER BY id)) FROM stripe.events e) AS events,
         (SELECT md5(string_agg(c::text, '|' ORDER BY id)) FROM stripe.charges c) AS charges,
         (SELECT md5(string_agg(a::text, '|' ORDER BY a::text)) FROM stripe.agg_payments a) AS aggs,
         pg_backend_pid() AS pid,
         (SELECT pg_postmaster_start_time()) AS started;

-- try(event text): the SQLSTATE and message ingest_event raises, or its status.
CREATE FUNCTION pg_temp.try(body text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text;
BEGIN
  RETURN (SELECT r.status FROM stripe.ingest_event(body) r);
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  RETURN st || ' ' || msg || ': ' || left(det, 80);
END $$;
CREATE FUNCTION pg_temp.wrap(obj text, envelope text DEFAULT '"id":"evt_bad","type":"charge.updated","created":1700000001,"livemode":false')
RETURNS text LANGUAGE sql AS $$ SELECT '{' || envelope || ',"data":{"object":' || obj || '}}' $$;

SELECT t.name, pg_temp.try(t.body) AS result FROM (VALUES
  ('malformed JSON',        '{"id":"evt_bad",'),
  ('trailing garbage',      '{"id":"evt_bad"} x'),
  ('byte order mark',       E'\uFEFF{"id":"evt_bad"}'),
  ('not an object',         '[1,2,3]'),
  ('a string',              '"evt"'),
  ('empty object',          '{}'),
  ('missing id',            '{"type":"charge.updated","created":1,"livemode":false,"data":{"object":{}}}'),
  ('empty id',              '{"id":"","type":"charge.updated","created":1,"livemode":false,"data":{"object":{}}}'),
  ('missing type',          '{"id":"evt_bad","created":1,"livemode":false,"data":{"object":{}}}'),
  ('missing created',       '{"id":"evt_bad","type":"charge.updated","livemode":false,"data":{"object":{}}}'),
  ('created as string',     '{"id":"evt_bad","type":"charge.updated","created":"1","livemode":false,"data":{"object":{}}}'),
  ('created as float',      '{"id":"evt_bad","type":"charge.updated","created":1.5,"livemode":false,"data":{"object":{}}}'),
  ('created huge',          '{"id":"evt_bad","type":"charge.updated","created":99999999999999999999,"livemode":false,"data":{"object":{}}}'),
  ('created out of range',  '{"id":"evt_bad","type":"charge.updated","created":9223372036854775807,"livemode":false,"data":{"object":{}}}'),
  ('missing data.object',   '{"id":"evt_bad","type":"charge.updated","created":1,"livemode":false,"data":{}}'),
  ('data.object an array',  '{"id":"evt_bad","type":"charge.updated","created":1,"livemode":false,"data":{"object":[]}}'),
  ('livemode missing',      '{"id":"evt_bad","type":"charge.updated","created":1,"data":{"object":{}}}'),
  ('livemode a string',     '{"id":"evt_bad","type":"charge.updated","created":1,"livemode":"yes","data":{"object":{}}}'),
  ('thin event',            '{"id":"evt_bad","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","created":1}'),
  ('amount as string',      pg_temp.wrap('{"id":"ch_ok","object":"charge","amount":"700"}')),
  ('amount as float',       pg_temp.wrap('{"id":"ch_ok","object":"charge","amount":7.5}')),
  ('amount as exponent',    pg_temp.wrap('{"id":"ch_ok","object":"charge","amount":7e2}')),
  ('amount overflow',       pg_temp.wrap('{"id":"ch_ok","object":"charge","amount":92233720368547758070}')),
  ('status as number',      pg_temp.wrap('{"id":"ch_ok","object":"charge","status":1}')),
  ('customer as number',    pg_temp.wrap('{"id":"ch_ok","object":"charge","customer":42}')),
  ('object id missing',     pg_temp.wrap('{"object":"charge","status":"failed"}')),
  ('currency too long',     pg_temp.wrap('{"id":"ch_ok","object":"charge","currency":"usdx"}')),
  ('currency not letters',  pg_temp.wrap('{"id":"ch_ok","object":"charge","currency":"u$d"}')),
  ('refunds not a list',    pg_temp.wrap('{"id":"ch_ok","object":"charge","refunds":{"data":5}}')),
  ('embedded refund no id', pg_temp.wrap('{"id":"ch_ok","object":"charge","refunds":{"object":"list","data":[{"amount":5}]}}')),
  ('NUL escape',            pg_temp.wrap('{"id":"ch_ok","object":"charge","description":"a\u0000b"}')),
  ('lone surrogate',        pg_temp.wrap('{"id":"ch_ok","object":"charge","description":"\ud800"}')),
  ('deep nesting 300000',   repeat('[', 300000) || repeat(']', 300000)),
  ('deep object nesting',   pg_temp.wrap(repeat('{"a":', 100000) || '1' || repeat('}', 100000))),
  ('control char',          pg_temp.wrap(E'{"id":"ch_ok","object":"charge","description":"a\tb"}')),
  ('id too long for an id',  pg_temp.wrap('{"id":"' || repeat('c', 3000) || '","object":"charge"}')),
  ('event id too long',      pg_temp.wrap('{"id":"ch_ok","object":"charge"}', '"id":"' || repeat('e', 3000) || '","type":"charge.updated","created":1,"livemode":false')),
  ('amount beyond 10^15',    pg_temp.wrap('{"id":"ch_ok","object":"charge","amount":9223372036854775807}'))
) AS t(name, body);

-- Oversized: refused before parsing (stripe.max_payload_bytes, default 1 MB).
SELECT pg_temp.try(pg_temp.wrap('{"id":"ch_big","object":"charge","description":"' || repeat('x', 3 * 1024 * 1024) || '"}'));
-- A multi-megabyte event under a raised limit is fine.
SET stripe.max_payload_bytes = '8MB';
SELECT pg_temp.try(pg_temp.wrap('{"id":"cus_big","object":"customer","created":1700000000,"metadata":{"notes":"' || repeat('x', 3 * 1024 * 1024) || '"}}',
                                '"id":"evt_big","type":"customer.created","created":1700000002,"livemode":false'));
RESET stripe.max_payload_bytes;
SELECT id, length(data::text) > 3000000 AS big FROM stripe.customers;

-- Unknown but well-formed currency: accepted with Stripe's default exponent (2).
SELECT pg_temp.try(pg_temp.wrap('{"id":"ch_zzz","object":"charge","created":1700000000,"status":"succeeded","amount":150,"amount_captured":150,"currency":"ZZZ"}',
                                '"id":"evt_zzz","type":"charge.succeeded","created":1700000003,"livemode":false'));
SELECT currency, gross_volume, gross_volume_major FROM stripe.payments_daily WHERE currency = 'zzz';
DELETE FROM stripe.events WHERE id IN ('evt_big', 'evt_zzz');
SELECT stripe.rebuild();

-- Signed deliveries: the same hostile bodies, correctly signed, come back `rejected` and are
-- recorded; bytea bodies with invalid UTF-8 or a NUL byte too.
SELECT stripe.create_endpoint('default', 'whsec_bad');
CREATE FUNCTION pg_temp.sig(body bytea) RETURNS text LANGUAGE sql AS $$
  SELECT 't=' || extract(epoch FROM now())::bigint || ',v1=' ||
         encode(hmac(convert_to(extract(epoch FROM now())::bigint::text || '.', 'UTF8') || body, 'whsec_bad', 'sha256'), 'hex') $$;
SELECT t.name, r.status, r.reason, r.sqlstate
  FROM (VALUES ('invalid UTF-8',  '\x7b226964223a22ff227d'::bytea),
               ('NUL byte',       '\x7b226964223a2200227d'::bytea),
               ('deep nesting',   convert_to(repeat('[', 300000), 'UTF8')),
               ('not an event',   convert_to('{"id":"evt_x"}', 'UTF8')),
               ('BOM',            '\xefbbbf7b7d'::bytea)) AS t(name, body),
       LATERAL stripe.ingest(t.body, pg_temp.sig(t.body)) r;
SELECT reason, sqlstate, detail, body_size FROM stripe.rejected_deliveries ORDER BY id;

-- Nothing stored changed, and this backend is still the same one.
SELECT f.events = (SELECT md5(string_agg(e::text, '|' ORDER BY id)) FROM stripe.events e) AS events_unchanged,
       f.charges = (SELECT md5(string_agg(c::text, '|' ORDER BY id)) FROM stripe.charges c) AS charges_unchanged,
       f.aggs = (SELECT md5(string_agg(a::text, '|' ORDER BY a::text)) FROM stripe.agg_payments a) AS aggregates_unchanged,
       f.pid = pg_backend_pid() AS same_backend,
       f.started = pg_postmaster_start_time() AS server_not_restarted
  FROM fingerprint f;
SELECT count(*) AS events FROM stripe.events;
