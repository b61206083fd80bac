-- stripe.verify_signature and stripe.construct_event (SPEC §1): the decisions.
-- Error messages and SQLSTATEs are in verify_errors.sql.
-- Signatures are made with pgcrypto's hmac(), independently of the extension. Every call passes
-- a fixed `at` (1700000000 = 2023-11-14 22:13:20 UTC) unless it tests the defaults.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_stripe CASCADE;
CREATE EXTENSION pg_stripe;
RESET client_min_messages;
SET timezone = 'UTC';

-- sig(payload, t, secret): lowercase hex HMAC-SHA256 of "<t>.<payload>" keyed by the secret's bytes.
CREATE FUNCTION pg_temp.sig(payload bytea, t text, secret text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(hmac(convert_to(t, 'UTF8') || '\x2e'::bytea || payload, convert_to(secret, 'UTF8'), 'sha256'), 'hex')
$$;
CREATE FUNCTION pg_temp.sig(payload text, t text, secret text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT pg_temp.sig(convert_to(payload, 'UTF8'), t, secret) $$;
-- hdr(payload, t, secret): a Stripe-Signature header as Stripe sends it.
CREATE FUNCTION pg_temp.hdr(payload text, t text, secret text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 't=' || t || ',v1=' || pg_temp.sig(payload, t, secret) || ',v0=' || repeat('0', 64) $$;
CREATE FUNCTION pg_temp.hdr(payload bytea, t text, secret text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 't=' || t || ',v1=' || pg_temp.sig(payload, t, secret) $$;

\set secret 'whsec_test_0123456789abcdef'
\set body '{"id":"evt_1","object":"event","type":"charge.succeeded","created":1700000000,"data":{"object":{"id":"ch_1","object":"charge","amount":2000,"currency":"usd"}},"livemode":false}'
\set at 'to_timestamp(1700000000)'
SELECT pg_temp.hdr(:'body', '1700000000', :'secret') AS hdr \gset
-- The oracle itself: RFC 4231 test case 2 through pgcrypto, and the header's shape.
SELECT encode(hmac('what do ya want for nothing?', 'Jefe', 'sha256'), 'hex')
     = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' AS pgcrypto_rfc4231_tc2;
SELECT :'hdr' ~ '^t=1700000000,v1=[0-9a-f]{64},v0=0{64}$' AS header_shape;

-- 1. A valid delivery, through all four overloads (payload text|bytea, secret text|text[]).
SELECT stripe.verify_signature(:'body', :'hdr', :'secret', 300, :at) AS text_text,
       stripe.verify_signature(convert_to(:'body', 'UTF8'), :'hdr', :'secret', 300, :at) AS bytea_text,
       stripe.verify_signature(:'body', :'hdr', ARRAY[:'secret'], 300, :at) AS text_array,
       stripe.verify_signature(convert_to(:'body', 'UTF8'), :'hdr', ARRAY[:'secret'], 300, :at) AS bytea_array;
SELECT e->>'id' AS id, e->>'type' AS type, e->'data'->'object'->>'amount' AS amount, jsonb_typeof(e) AS kind,
       e = (:'body')::jsonb AS same_as_jsonb_cast
FROM stripe.construct_event(:'body', :'hdr', :'secret', 300, :at) e;
SELECT stripe.construct_event(convert_to(:'body', 'UTF8'), :'hdr', ARRAY['whsec_other', :'secret'], 300, :at)
     = (:'body')::jsonb AS bytea_array_same;
-- Duplicate member names: the last one wins, as in jsonb.
SELECT stripe.construct_event(b, pg_temp.hdr(b, '1700000000', :'secret'), :'secret', 300, :at) AS dup
FROM (VALUES ('{"id":"evt_a","id":"evt_b","object":"event"}')) v(b);

-- 2. Anything changed is a different message: payload, t, secret, signature.
SELECT stripe.verify_signature(:'body' || ' ', :'hdr', :'secret', 300, :at) AS trailing_space,
       stripe.verify_signature(replace(:'body', '2000', '2001'), :'hdr', :'secret', 300, :at) AS amount_changed,
       stripe.verify_signature(:'body', replace(:'hdr', 't=1700000000', 't=1700000001'), :'secret', 300, :at) AS t_changed,
       stripe.verify_signature(:'body', :'hdr', 'whsec_test_0123456789abcdeF', 300, :at) AS secret_changed,
       stripe.verify_signature(:'body', :'hdr', 'test_0123456789abcdef', 300, :at) AS secret_without_prefix,
       stripe.verify_signature(:'body', :'hdr', :'secret' || E'\n', 300, :at) AS secret_newline;

-- 3. NULL in, NULL out (STRICT), for every argument and overload; never an error.
SELECT stripe.verify_signature(NULL::text, :'hdr', :'secret', 300, :at) IS NULL AS payload,
       stripe.verify_signature(NULL::bytea, :'hdr', :'secret', 300, :at) IS NULL AS payload_bytea,
       stripe.verify_signature(:'body', NULL, :'secret', 300, :at) IS NULL AS header,
       stripe.verify_signature(:'body', :'hdr', NULL::text, 300, :at) IS NULL AS secret,
       stripe.verify_signature(:'body', :'hdr', NULL::text[], 300, :at) IS NULL AS secrets,
       stripe.verify_signature(:'body', :'hdr', :'secret', NULL, :at) IS NULL AS tolerance,
       stripe.verify_signature(:'body', :'hdr', :'secret', 300, NULL) IS NULL AS at;
SELECT stripe.construct_event(NULL::text, :'hdr', :'secret', 300, :at) IS NULL AS payload,
       stripe.construct_event(NULL::bytea, :'hdr', ARRAY[:'secret'], 300, :at) IS NULL AS payload_bytea,
       stripe.construct_event(:'body', NULL, :'secret', 300, :at) IS NULL AS header,
       stripe.construct_event(:'body', :'hdr', NULL::text, 300, :at) IS NULL AS secret,
       stripe.construct_event(:'body', :'hdr', NULL::text[], 300, :at) IS NULL AS secrets,
       stripe.construct_event(:'body', :'hdr', :'secret', NULL, :at) IS NULL AS tolerance,
       stripe.construct_event(:'body', :'hdr', :'secret', 300, NULL) IS NULL AS at;
-- NULL wins even over inputs that would otherwise raise.
SELECT stripe.construct_event('', '', NULL::text, 300, :at) IS NULL AS null_beats_errors;

-- 4. Defaults: tolerance 300 and at = now(). A header signed now passes; one from 2023 does not.
SELECT stripe.verify_signature(:'body', pg_temp.hdr(:'body', floor(extract(epoch FROM now()))::bigint::text, :'secret'),
                               :'secret') AS signed_now,
       stripe.verify_signature(:'body', :'hdr', :'secret') AS signed_in_2023,
       stripe.verify_signature(:'body', :'hdr', :'secret', 0) AS signed_in_2023_no_tolerance;

-- 5. Tolerance: reject when floor(at) - t > tolerance.
SELECT x.label, stripe.verify_signature(:'body', :'hdr', :'secret', x.tolerance, x.at) AS valid
FROM (VALUES
  ('same second',                        300, to_timestamp(1700000000)),
  ('exactly at the limit',               300, to_timestamp(1700000300)),
  ('at the limit + 0.999999 s (floor)',  300, to_timestamp(1700000300) + interval '0.999999 s'),
  ('one second past',                    300, to_timestamp(1700000301)),
  ('one day past',                       300, to_timestamp(1700086400)),
  ('future by an hour',                  300, to_timestamp(1699996400)),
  ('future by 50 years',                 300, to_timestamp(122000000)),
  ('tolerance 1, 1 s old',                 1, to_timestamp(1700000001)),
  ('tolerance 1, 2 s old',                 1, to_timestamp(1700000002)),
  ('tolerance 0 disables, 50 years old',   0, to_timestamp(3300000000)),
  ('tolerance -1 disables',               -1, to_timestamp(3300000000)),
  ('tolerance int max, 50 years old', 2147483647, to_timestamp(3300000000)),
  ('at = infinity',                      300, 'infinity'::timestamptz),
  ('at = -infinity',                     300, '-infinity'::timestamptz),
  ('at = infinity, tolerance 0',           0, 'infinity'::timestamptz)
) x(label, tolerance, at);
-- floor(at) before 1970: at = -0.5 s floors to -1, so t = -301 is exactly 300 s old (truncating
-- toward zero would make it 301 s and reject it).
SELECT stripe.verify_signature(:'body', pg_temp.hdr(:'body', '-301', :'secret'), :'secret', 300,
                               to_timestamp(0) - interval '0.5 s') AS pre_epoch_floor,
       stripe.verify_signature(:'body', pg_temp.hdr(:'body', '-302', :'secret'), :'secret', 300,
                               to_timestamp(0) - interval '0.5 s') AS pre_epoch_one_past;

-- 6. The header: t forms, last t wins, exact keys, every v1 a candidate, v0 and junk ignored.
SELECT pg_temp.sig(:'body', '1700000000', :'secret') AS good \gset
SELECT x.label, stripe.verify_signature(:'body', x.header, :'secret', 300, :at) AS valid
FROM (VALUES
  ('plain',                        't=1700000000,v1=' || :'good'),
  ('v1 before t',                  'v1=' || :'good' || ',t=1700000000'),
  ('t=+1700000000 signs as 1700000000',  't=+1700000000,v1=' || :'good'),
  ('t=0001700000000 signs as 1700000000', 't=0001700000000,v1=' || :'good'),
  ('t=+0001700000000',             't=+0001700000000,v1=' || :'good'),
  ('last t wins',                  't=1,v1=' || :'good' || ',t=1700000000'),
  ('last t wins (wrong one last)', 't=1700000000,v1=' || :'good' || ',t=1699999999'),
  ('last t unparsable',            't=1700000000,v1=' || :'good' || ',t=x'),
  ('second v1 matches',            't=1700000000,v1=' || repeat('0', 64) || ',v1=' || :'good'),
  ('third v1 matches after empty and junk', 't=1700000000,v1=,v1=zz,v1=' || :'good'),
  ('v0 ignored',                   't=1700000000,v0=' || :'good' || ',v1=' || :'good'),
  ('unknown keys ignored',         'x=1,t=1700000000,v2=abc,v1=' || :'good' || ',=,foo=bar=baz'),
  ('parts without = ignored',      't,t=1700000000,v1,v1=' || :'good' || ',junk,t'),
  ('empty parts ignored',          ',,t=1700000000,,v1=' || :'good' || ','),
  ('only v0',                      't=1700000000,v0=' || :'good'),
  ('uppercase hex',                't=1700000000,v1=' || upper(:'good')),
  ('63 hex chars',                 't=1700000000,v1=' || left(:'good', 63)),
  ('65 hex chars',                 't=1700000000,v1=' || :'good' || '0'),
  ('space before key',             't=1700000000, v1=' || :'good'),
  ('space after key',              't=1700000000,v1 =' || :'good'),
  ('space in value',               't=1700000000,v1= ' || :'good'),
  ('uppercase key V1',             't=1700000000,V1=' || :'good'),
  ('uppercase key T',              'T=1700000000,v1=' || :'good'),
  ('value split on first = only',  't=1700000000,v1=' || :'good' || '=x'),
  ('t with trailing junk',         't=1700000000abc,v1=' || :'good'),
  ('t decimal',                    't=1700000000.0,v1=' || :'good'),
  ('t with space',                 't= 1700000000,v1=' || :'good'),
  ('semicolon separator',          't=1700000000;v1=' || :'good')
) x(label, header);
-- The literal t text is not what is signed: a signature over "+1700000000.<body>" does not match.
SELECT stripe.verify_signature(:'body', 't=+1700000000,v1=' || pg_temp.sig(:'body', '+1700000000', :'secret'),
                               :'secret', 300, :at) AS literal_plus_signed,
       stripe.verify_signature(:'body', 't=-0,v1=' || pg_temp.sig(:'body', '0', :'secret'), :'secret', 0, :at)
         AS minus_zero_signs_as_0;

-- 7. t at and beyond the int64 range.
SELECT x.label, stripe.verify_signature(:'body', 't=' || x.t || ',v1=' || pg_temp.sig(:'body', x.t, :'secret'),
                                        :'secret', x.tolerance, :at) AS valid
FROM (VALUES
  ('t = -2^63, tolerance 300: too old',     '-9223372036854775808', 300),
  ('t = -2^63, tolerance 0',                '-9223372036854775808', 0),
  ('t = 2^63-1: in the future',             '9223372036854775807', 300),
  ('t = 2^63: unparsable',                  '9223372036854775808', 0),
  ('t = -2^63-1: unparsable',               '-9223372036854775809', 0),
  ('t = 10^20: unparsable',                 '100000000000000000000', 0),
  ('t = -1',                                '-1', 0),
  ('t = 0',                                 '0', 0)
) x(label, t, tolerance);

-- 8. Secrets: NULL and blank array elements are ignored; rotation; no usable secret fails.
SELECT pg_temp.hdr(:'body', '1700000000', 'whsec_old') AS by_old,
       pg_temp.hdr(:'body', '1700000000', 'whsec_new') AS by_new \gset
SELECT x.label, stripe.verify_signature(:'body', x.header, x.secrets, 300, :at) AS valid
FROM (VALUES
  ('old key, [old,new]',                 :'by_old', ARRAY['whsec_old', 'whsec_new']),
  ('new key, [old,new]',                 :'by_new', ARRAY['whsec_old', 'whsec_new']),
  ('new key, [new]',                     :'by_new', ARRAY['whsec_new']),
  ('old key, [new]',                     :'by_old', ARRAY['whsec_new']),
  ('both keys in header, [old]',         :'by_new' || ',v1=' || pg_temp.sig(:'body', '1700000000', 'whsec_old'), ARRAY['whsec_old']),
  ('NULL and blanks ignored',            :'by_new', ARRAY[NULL, '', ' ', E'\t\n', 'whsec_new', NULL]),
  ('all NULL',                           :'by_new', ARRAY[NULL, NULL]::text[]),
  ('all blank',                          :'by_new', ARRAY['', ' ', E'\r\n\t\f\x0b']),
  ('empty array',                        :'by_new', '{}'::text[]),
  ('two-dimensional array',              :'by_new', ARRAY[ARRAY['x', 'whsec_new'], ARRAY['', NULL]]),
  ('secret with padding is not trimmed', :'by_new', ARRAY[' whsec_new'])
) x(label, header, secrets);
-- Secrets are bytes: a secret with whitespace inside signs and verifies like any other.
SELECT stripe.verify_signature(:'body', pg_temp.hdr(:'body', '1700000000', 'whsec_a b'), 'whsec_a b', 300, :at)
  AS secret_with_space;
-- A domain over text[] or bytea is its base type.
CREATE DOMAIN pg_temp.secret_list AS text[];
CREATE DOMAIN pg_temp.raw_body AS bytea;
SELECT stripe.verify_signature(convert_to(:'body', 'UTF8')::pg_temp.raw_body, :'by_new',
                               ARRAY['whsec_old', 'whsec_new']::pg_temp.secret_list, 300, :at) AS domains;

-- 9. Bodies: bytes are signed exactly; verify_signature says true for any correctly signed body.
SELECT x.label,
       stripe.verify_signature(x.body, pg_temp.hdr(x.body, '1700000000', :'secret'), :'secret', 300, :at) AS valid
FROM (VALUES
  ('NUL byte',                     '\x7b2261223a2200227d'::bytea),
  ('invalid UTF-8',                '\x7b2261223a22ff'::bytea || '\xfe227d'::bytea),
  ('UTF-8 BOM, signed with it',    '\xefbbbf7b7d'::bytea),
  ('not JSON',                     convert_to('hello', 'UTF8')),
  ('JSON array',                   convert_to('[1,2,3]', 'UTF8')),
  ('one byte',                     '\x00'::bytea),
  ('CRLF',                         '\x0d0a'::bytea)
) x(label, body);
-- A BOM is not stripped: signed without it, a body with it does not match (and vice versa).
SELECT stripe.verify_signature('\xefbbbf'::bytea || convert_to('{}', 'UTF8'), pg_temp.hdr('{}', '1700000000', :'secret'),
                               :'secret', 300, :at) AS bom_added,
       stripe.verify_signature(convert_to('{}', 'UTF8'), pg_temp.hdr('\xefbbbf7b7d'::bytea, '1700000000', :'secret'),
                               :'secret', 300, :at) AS bom_removed;
-- Text payloads are signed as UTF-8: caf\xc3\xa9 is "café".
SELECT stripe.verify_signature(convert_from('\x7b226e223a22636166c3a9227d', 'UTF8'),
                               pg_temp.hdr('\x7b226e223a22636166c3a9227d'::bytea, '1700000000', :'secret'),
                               :'secret', 300, :at) AS text_signed_as_utf8,
       (stripe.construct_event(convert_from('\x7b226e223a22636166c3a9227d', 'UTF8'),
                               pg_temp.hdr('\x7b226e223a22636166c3a9227d'::bytea, '1700000000', :'secret'),
                               :'secret', 300, :at)->>'n') = convert_from('\x636166c3a9', 'UTF8') AS event_decoded;
-- construct_event on a signed bytea event with escapes and non-ASCII text.
SELECT e->>'description' = convert_from('\x436166c3a920e2989520f09f9880', 'UTF8') AS unescaped, e->'n' AS n
FROM (SELECT convert_to('{"description":"Caf\u00e9 \u2615 \ud83d\ude00","n":[1.50,-0,1e2]}', 'UTF8') AS b) v,
     LATERAL stripe.construct_event(v.b, pg_temp.hdr(v.b, '1700000000', :'secret'), :'secret', 300, :at) e;

-- 10. verify_signature never raises: every failure class is just false.
SELECT x.label, stripe.verify_signature(x.body, x.header, x.secrets, 300, :at) AS valid
FROM (VALUES
  ('empty payload',     '',      :'hdr',                   ARRAY[:'secret']),
  ('empty header',      :'body', '',                       ARRAY[:'secret']),
  ('no t',              :'body', 'v1=' || :'good',         ARRAY[:'secret']),
  ('no v1',             :'body', 't=1700000000',           ARRAY[:'secret']),
  ('no secret',         :'body', :'hdr',                   ARRAY[' ']),
  ('mismatch',          :'body', :'hdr',                   ARRAY['whsec_other']),
  ('BOM body, signed',  convert_from('\xefbbbf7b7d', 'UTF8'), pg_temp.hdr('\xefbbbf7b7d'::bytea, '1700000000', :'secret'), ARRAY[:'secret']),
  ('thin event, signed', '{"object":"v2.core.event"}', pg_temp.hdr('{"object":"v2.core.event"}', '1700000000', :'secret'), ARRAY[:'secret'])
) x(label, body, header, secrets);

-- 11. Non-UTF8 databases. Stripe signs UTF-8: a text payload, header and secret are signed as
-- their UTF-8 bytes (LATIN1 text is converted; SQL_ASCII text, which has no declared encoding, is
-- taken byte for byte, like bytea), and verify_signature still never raises.
SELECT current_database() AS regress_db \gset
CREATE DATABASE pg_stripe_verify_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
CREATE DATABASE pg_stripe_verify_sql_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c pg_stripe_verify_latin1
SET client_min_messages = warning;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION pg_stripe;
-- u(hex): text from UTF-8 bytes, stored in LATIN1 (e.g. c3a9 -> é, one LATIN1 byte).
CREATE FUNCTION pg_temp.u(h text) RETURNS text LANGUAGE sql AS $$ SELECT convert_from(decode(h, 'hex'), 'UTF8') $$;
CREATE FUNCTION pg_temp.hs(msg_hex text, key_hex text) RETURNS text LANGUAGE sql AS $$
  SELECT encode(hmac(decode(msg_hex, 'hex'), decode(key_hex, 'hex'), 'sha256'), 'hex') $$;
-- body {"n":"café"} = 7b226e223a22636166c3a9227d; "1700000000." = 313730303030303030302e
SELECT stripe.verify_signature(pg_temp.u('7b226e223a22636166c3a9227d'),
         't=1700000000,v1=' || pg_temp.hs('313730303030303030302e7b226e223a22636166c3a9227d', '7768736563'),
         'whsec', 300, to_timestamp(1700000000)) AS latin1_text_signed_as_utf8,
       stripe.verify_signature(pg_temp.u('7b226e223a22636166c3a9227d'),
         't=1700000000,v1=' || pg_temp.hs('313730303030303030302e7b226e223a22636166c3a9227d', '776873656320c3a9'),
         pg_temp.u('776873656320c3a9'), 300, to_timestamp(1700000000)) AS latin1_secret_as_utf8,
       stripe.verify_signature(pg_temp.u('7b226e223a22636166c3a9227d'),
         't=1700000000,v1=' || pg_temp.hs('313730303030303030302e7b226e223a22636166c3a9227d', '776873656320c3a9'),
         ARRAY['whsec_other', pg_temp.u('776873656320c3a9')], 300, to_timestamp(1700000000)) AS latin1_secret_array_as_utf8,
       stripe.construct_event(pg_temp.u('7b226e223a22636166c3a9227d'),
         't=1700000000,v1=' || pg_temp.hs('313730303030303030302e7b226e223a22636166c3a9227d', '7768736563'),
         'whsec', 300, to_timestamp(1700000000))->>'n' = pg_temp.u('636166c3a9') AS latin1_event;
-- A signed UTF-8 body with a character LATIN1 lacks (the euro sign) cannot become jsonb here.
\set VERBOSITY sqlstate
SELECT stripe.construct_event(decode('7b226e223a22e282ac227d', 'hex'),
         't=1700000000,v1=' || pg_temp.hs('313730303030303030302e7b226e223a22e282ac227d', '7768736563'),
         'whsec', 300, to_timestamp(1700000000));
\set VERBOSITY default
\c pg_stripe_verify_sql_ascii
SET client_min_messages = warning;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION pg_stripe;
CREATE FUNCTION pg_temp.hs(msg_hex text, key_hex text) RETURNS text LANGUAGE sql AS $$
  SELECT encode(hmac(decode(msg_hex, 'hex'), decode(key_hex, 'hex'), 'sha256'), 'hex') $$;
-- SQL_ASCII text holding the bytes of {"n":"caf\xff"} (not UTF-8), and a header and a secret
-- with a stray 0xff byte: false or true by the signature over the exact bytes, never an error.
SELECT stripe.verify_signature(E'{"n":"caf\xff"}',
         't=1700000000,v1=' || pg_temp.hs('313730303030303030302e7b226e223a22636166ff227d', '7768736563'),
         'whsec', 300, to_timestamp(1700000000)) AS sql_ascii_bytes_signed,
       stripe.verify_signature(E'{"n":"caf\xff"}', E't=1700000000,v1=\xff', 'whsec', 300,
         to_timestamp(1700000000)) AS sql_ascii_bad_header,
       stripe.verify_signature('{}', 't=1700000000,v1=' || pg_temp.hs('313730303030303030302e7b7d', '7768736563ff'),
         E'whsec\xff', 300, to_timestamp(1700000000)) AS sql_ascii_secret_bytes,
       stripe.verify_signature('{}', 't=1700000000,v1=' || pg_temp.hs('313730303030303030302e7b7d', '7768736563ff'),
         ARRAY[E'whsec\xff'], 300, to_timestamp(1700000000)) AS sql_ascii_secret_array_bytes;
-- construct_event: the signature is valid, the body is not UTF-8 JSON.
\set VERBOSITY sqlstate
SELECT stripe.construct_event(E'{"n":"caf\xff"}',
         't=1700000000,v1=' || pg_temp.hs('313730303030303030302e7b226e223a22636166ff227d', '7768736563'),
         'whsec', 300, to_timestamp(1700000000));
\set VERBOSITY default
\c :regress_db
DROP DATABASE pg_stripe_verify_latin1;
DROP DATABASE pg_stripe_verify_sql_ascii;
