-- stripe.construct_event's failures (SPEC §1): every message, SQLSTATE and DETAIL, and the order
-- of the checks (payload, header, t, v1, secret, signature, timestamp, then the body as a JSON
-- event object). SQLSTATEs (src/pg/errors.hpp): ST001 no payload, ST002 no header, ST003
-- unparsable header, ST004 no v1, ST005 no secret, ST006 no match, ST007 too old,
-- ST010 invalid event JSON, ST011 thin event.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_stripe CASCADE;
CREATE EXTENSION pg_stripe;
RESET client_min_messages;
SET timezone = 'UTC';

CREATE FUNCTION pg_temp.sig(payload bytea, t text, secret text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(hmac(convert_to(t, 'UTF8') || '\x2e'::bytea || payload, convert_to(secret, 'UTF8'), 'sha256'), 'hex')
$$;
CREATE FUNCTION pg_temp.hdr(payload bytea, t text, secret text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 't=' || t || ',v1=' || pg_temp.sig(payload, t, secret) $$;
-- b(text): the text's UTF-8 bytes.
CREATE FUNCTION pg_temp.b(s text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT convert_to(s, 'UTF8') $$;

-- try(...): construct_event's outcome as (sqlstate, message, detail); 00000 when it returns.
-- verify_signature's answer is shown next to it: true exactly when only the body is at fault.
CREATE FUNCTION pg_temp.try(payload bytea, header text, secrets text[], tolerance integer DEFAULT 300,
                            at timestamptz DEFAULT to_timestamp(1700000000),
                            OUT st text, OUT msg text, OUT det text) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM stripe.construct_event(payload, header, secrets, tolerance, at);
  st := '00000'; msg := 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  det := NULLIF(det, '');
END $$;

\set secret 'whsec_test_0123456789abcdef'
\set body '{"id":"evt_1","object":"event","type":"charge.succeeded","created":1700000000,"data":{"object":{"id":"ch_1"}}}'
SELECT pg_temp.hdr(pg_temp.b(:'body'), '1700000000', :'secret') AS hdr,
       pg_temp.sig(pg_temp.b(:'body'), '1700000000', :'secret') AS good \gset

CREATE TEMP TABLE cases (n serial, label text, payload bytea, header text, secrets text[],
                         tolerance integer DEFAULT 300, at timestamptz DEFAULT to_timestamp(1700000000));
INSERT INTO cases (label, payload, header, secrets, tolerance, at) VALUES
  -- ST001 no payload; payload is checked first
  ('empty payload',                           '',                  :'hdr', ARRAY[:'secret'], 300, DEFAULT),
  ('empty payload, empty header, no secret',  '',                  '',     ARRAY[' '],       300, DEFAULT),
  -- ST002 no header; before t, v1 and secret
  ('empty header',                            pg_temp.b(:'body'),  '',     ARRAY[:'secret'], 300, DEFAULT),
  ('empty header, no secret',                 pg_temp.b(:'body'),  '',     '{}',             300, DEFAULT),
  -- ST003 no parsable t; before v1 and secret
  ('no t',                                    pg_temp.b(:'body'),  'v1=' || :'good', ARRAY[:'secret'], 300, DEFAULT),
  ('not a Stripe header',                     pg_temp.b(:'body'),  'hello', ARRAY[:'secret'], 300, DEFAULT),
  ('t=abc',                                   pg_temp.b(:'body'),  't=abc,v1=' || :'good', ARRAY[:'secret'], 300, DEFAULT),
  ('t=12.5',                                  pg_temp.b(:'body'),  't=12.5,v1=' || :'good', ARRAY[:'secret'], 300, DEFAULT),
  ('t=123abc',                                pg_temp.b(:'body'),  't=123abc,v1=' || :'good', ARRAY[:'secret'], 300, DEFAULT),
  ('t= (empty)',                              pg_temp.b(:'body'),  't=,v1=' || :'good', ARRAY[:'secret'], 300, DEFAULT),
  ('t=+',                                     pg_temp.b(:'body'),  't=+,v1=' || :'good', ARRAY[:'secret'], 300, DEFAULT),
  ('t=" 1700000000" (not trimmed)',           pg_temp.b(:'body'),  't= 1700000000,v1=' || :'good', ARRAY[:'secret'], 300, DEFAULT),
  ('t=2^63 (beyond int64)',                   pg_temp.b(:'body'),  't=9223372036854775808,v1=' || pg_temp.sig(pg_temp.b(:'body'), '9223372036854775808', :'secret'), ARRAY[:'secret'], 0, DEFAULT),
  ('t=-2^63-1 (beyond int64)',                pg_temp.b(:'body'),  't=-9223372036854775809,v1=' || pg_temp.sig(pg_temp.b(:'body'), '-9223372036854775809', :'secret'), ARRAY[:'secret'], 0, DEFAULT),
  ('good t, then a bad last t',               pg_temp.b(:'body'),  :'hdr' || ',t=x', ARRAY[:'secret'], 300, DEFAULT),
  ('no t and no v1',                          pg_temp.b(:'body'),  'v0=' || :'good', ARRAY[:'secret'], 300, DEFAULT),
  ('bad t, no secret',                        pg_temp.b(:'body'),  't=x,v1=' || :'good', ARRAY[''], 300, DEFAULT),
  -- ST004 no v1; before secret
  ('t only',                                  pg_temp.b(:'body'),  't=1700000000', ARRAY[:'secret'], 300, DEFAULT),
  ('v0 only',                                 pg_temp.b(:'body'),  't=1700000000,v0=' || :'good', ARRAY[:'secret'], 300, DEFAULT),
  ('v1 without =',                            pg_temp.b(:'body'),  't=1700000000,v1', ARRAY[:'secret'], 300, DEFAULT),
  ('no v1, no secret',                        pg_temp.b(:'body'),  't=1700000000', ARRAY[' '], 300, DEFAULT),
  -- ST005 no usable secret; before the signature
  ('secret empty',                            pg_temp.b(:'body'),  :'hdr', ARRAY[''], 300, DEFAULT),
  ('secret blank (all ASCII whitespace)',     pg_temp.b(:'body'),  :'hdr', ARRAY[E' \t\r\n\f\x0b'], 300, DEFAULT),
  ('secrets all NULL',                        pg_temp.b(:'body'),  :'hdr', ARRAY[NULL]::text[], 300, DEFAULT),
  ('secrets NULL and blank',                  pg_temp.b(:'body'),  :'hdr', ARRAY[NULL, '', ' '], 300, DEFAULT),
  ('secrets empty array',                     pg_temp.b(:'body'),  :'hdr', '{}', 300, DEFAULT),
  ('no secret, wrong signature, too old',     pg_temp.b(:'body'),  't=1,v1=00', ARRAY[''], 300, DEFAULT),
  -- ST006 no match; before the timestamp; DETAIL only when a secret contains ASCII whitespace
  ('wrong secret',                            pg_temp.b(:'body'),  :'hdr', ARRAY['whsec_other'], 300, DEFAULT),
  ('body changed',                            pg_temp.b(:'body' || ' '), :'hdr', ARRAY[:'secret'], 300, DEFAULT),
  ('uppercase hex',                           pg_temp.b(:'body'),  't=1700000000,v1=' || upper(:'good'), ARRAY[:'secret'], 300, DEFAULT),
  ('empty v1',                                pg_temp.b(:'body'),  't=1700000000,v1=', ARRAY[:'secret'], 300, DEFAULT),
  ('non-hex v1',                              pg_temp.b(:'body'),  't=1700000000,v1=' || repeat('z', 64), ARRAY[:'secret'], 300, DEFAULT),
  ('secret + newline',                        pg_temp.b(:'body'),  :'hdr', ARRAY[:'secret' || E'\n'], 300, DEFAULT),
  ('secret with a space',                     pg_temp.b(:'body'),  :'hdr', ARRAY['whsec_a b'], 300, DEFAULT),
  ('secret with a tab',                       pg_temp.b(:'body'),  :'hdr', ARRAY[E'whsec_a\tb'], 300, DEFAULT),
  ('array, one secret with whitespace',       pg_temp.b(:'body'),  :'hdr', ARRAY['whsec_other', ' whsec_x'], 300, DEFAULT),
  ('array, a blank element and a wrong one',  pg_temp.b(:'body'),  :'hdr', ARRAY[' ', 'whsec_other'], 300, DEFAULT),
  ('array, an empty element and a wrong one', pg_temp.b(:'body'),  :'hdr', ARRAY['', 'whsec_other'], 300, DEFAULT),
  ('wrong secret and too old',                pg_temp.b(:'body'),  :'hdr', ARRAY['whsec_other'], 300, to_timestamp(1800000000)),
  ('wrong secret, tolerance 0',               pg_temp.b(:'body'),  :'hdr', ARRAY['whsec_other'], 0, DEFAULT),
  ('signed "+1700000000." literally',         pg_temp.b(:'body'),  't=+1700000000,v1=' || pg_temp.sig(pg_temp.b(:'body'), '+1700000000', :'secret'), ARRAY[:'secret'], 300, DEFAULT),
  -- ST007 too old: the last check of the signature; DETAIL gives the age and the tolerance
  ('one second past the tolerance',           pg_temp.b(:'body'),  :'hdr', ARRAY[:'secret'], 300, to_timestamp(1700000301)),
  ('a day old, tolerance 1',                  pg_temp.b(:'body'),  :'hdr', ARRAY[:'secret'], 1, to_timestamp(1700086400)),
  ('one of two secrets matches, too old',     pg_temp.b(:'body'),  :'hdr', ARRAY['whsec_other', :'secret'], 300, to_timestamp(1700000301)),
  ('matching secret with whitespace, too old', pg_temp.b(:'body'), pg_temp.hdr(pg_temp.b(:'body'), '1700000000', 'whsec_a b'), ARRAY['whsec_a b'], 300, to_timestamp(1700000301)),
  ('too old and not JSON',                    pg_temp.b('hello'), pg_temp.hdr(pg_temp.b('hello'), '1700000000', :'secret'), ARRAY[:'secret'], 300, to_timestamp(1700000301)),
  ('t=-2^63',                                 pg_temp.b(:'body'),  't=-9223372036854775808,v1=' || pg_temp.sig(pg_temp.b(:'body'), '-9223372036854775808', :'secret'), ARRAY[:'secret'], 300, DEFAULT);

-- ST010 invalid event JSON and ST011 thin event, each body correctly signed; then bodies that
-- are events.
INSERT INTO cases (label, payload, header, secrets)
SELECT x.label, x.payload, pg_temp.hdr(x.payload, '1700000000', :'secret'), ARRAY[:'secret'] FROM (VALUES
  ('BOM before the object',      '\xefbbbf'::bytea || pg_temp.b(:'body')),
  ('JSON array',                 pg_temp.b('[{"id":"evt_1"}]')),
  ('JSON string',                pg_temp.b('"evt_1"')),
  ('JSON number',                pg_temp.b('42')),
  ('JSON null',                  pg_temp.b('null')),
  ('JSON true',                  pg_temp.b('true')),
  ('not JSON',                   pg_temp.b('hello')),
  ('whitespace only',            pg_temp.b(E' \n')),
  ('truncated',                  pg_temp.b('{"id":"evt_1",')),
  ('trailing garbage',           pg_temp.b(:'body' || ' x')),
  ('two objects',                pg_temp.b('{}{}')),
  ('single quotes',              pg_temp.b('{''id'':1}')),
  ('trailing comma',             pg_temp.b('{"id":1,}')),
  ('NUL byte in a string',       '\x7b226964223a2261'::bytea || '\x00227d'::bytea),
  ('invalid UTF-8 in a string',  '\x7b226964223a22'::bytea || '\xc328227d'::bytea),
  ('invalid UTF-8 outside',      '\x7b7dff'::bytea),
  ('\u0000 escape',              pg_temp.b('{"id":"a\u0000b"}')),
  ('unpaired surrogate',         pg_temp.b('{"id":"\ud800"}')),
  ('nested 200 deep',            pg_temp.b('{"a":' || repeat('[', 200) || repeat(']', 200) || '}')),
  ('number beyond numeric',      pg_temp.b('{"amount":1e1000000}')),
  ('thin event',                 pg_temp.b('{"id":"evt_test_65R9","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","created":"2024-10-01T12:00:00.000Z"}')),
  ('thin event, escaped',        pg_temp.b('{"object":"v2.core.\u0065vent"}')),
  ('thin event, last object wins', pg_temp.b('{"object":"event","object":"v2.core.event"}')),
  ('object v2.core.event + space', pg_temp.b('{"object":"v2.core.event "}')),
  ('object not a string',        pg_temp.b('{"object":{"v2.core.event":1}}')),
  ('empty object',               pg_temp.b('{}')),
  ('the event',                  pg_temp.b(:'body')),
  ('nested 127 deep',            pg_temp.b('{"a":' || repeat('[', 127) || repeat(']', 127) || '}'))
) x(label, payload);

\x on
SELECT c.n, c.label, stripe.verify_signature(c.payload, c.header, c.secrets, c.tolerance, c.at) AS verify_signature,
       r.st AS sqlstate, r.msg AS message, r.det AS detail
FROM cases c, LATERAL pg_temp.try(c.payload, c.header, c.secrets, c.tolerance, c.at) r
ORDER BY c.n;
\x off

-- Every class has its own SQLSTATE, and each SQLSTATE one message.
SELECT r.st AS sqlstate, count(*) AS cases, count(DISTINCT r.msg) AS messages
FROM cases c, LATERAL pg_temp.try(c.payload, c.header, c.secrets, c.tolerance, c.at) r
GROUP BY r.st ORDER BY r.st;

-- The text overloads raise the same way. As psql shows them:
\set SHOW_CONTEXT never
SELECT stripe.construct_event('', :'hdr', :'secret', 300, to_timestamp(1700000000));
SELECT stripe.construct_event(:'body', '', :'secret', 300, to_timestamp(1700000000));
SELECT stripe.construct_event(:'body', 't=123abc,v1=' || :'good', :'secret', 300, to_timestamp(1700000000));
SELECT stripe.construct_event(:'body', 't=1700000000', :'secret', 300, to_timestamp(1700000000));
SELECT stripe.construct_event(:'body', :'hdr', E' \n', 300, to_timestamp(1700000000));
SELECT stripe.construct_event(:'body', :'hdr', 'whsec_other', 300, to_timestamp(1700000000));
SELECT stripe.construct_event(:'body', :'hdr', E'whsec_other\n', 300, to_timestamp(1700000000));
SELECT stripe.construct_event(:'body', :'hdr', :'secret', 300, to_timestamp(1700000301));
SELECT stripe.construct_event('[]', pg_temp.hdr(pg_temp.b('[]'), '1700000000', :'secret'), :'secret', 300,
                              to_timestamp(1700000000));
SELECT stripe.construct_event(convert_from('\xefbbbf7b7d', 'UTF8'), pg_temp.hdr('\xefbbbf7b7d', '1700000000', :'secret'),
                              :'secret', 300, to_timestamp(1700000000));
SELECT stripe.construct_event('{"object":"v2.core.event"}',
                              pg_temp.hdr(pg_temp.b('{"object":"v2.core.event"}'), '1700000000', :'secret'),
                              :'secret', 300, to_timestamp(1700000000));
-- Without a message: the SQLSTATE alone, as an application matching on it would see it.
\set VERBOSITY sqlstate
SELECT stripe.construct_event(:'body', :'hdr', ARRAY['', NULL], 300, to_timestamp(1700000000));
SELECT stripe.construct_event(pg_temp.b(:'body'), :'hdr', :'secret', 300, to_timestamp(1700000301));
\set VERBOSITY default
-- verify_signature on the same inputs: false, never an error.
SELECT stripe.verify_signature('', :'hdr', :'secret', 300, to_timestamp(1700000000)) AS no_payload,
       stripe.verify_signature(:'body', 't=123abc,v1=' || :'good', :'secret', 300, to_timestamp(1700000000)) AS bad_t,
       stripe.verify_signature(:'body', :'hdr', E' \n', 300, to_timestamp(1700000000)) AS no_secret,
       stripe.verify_signature(:'body', :'hdr', :'secret', 300, to_timestamp(1700000301)) AS too_old;
