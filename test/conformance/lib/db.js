'use strict';
// Runs every case through stripe.verify_signature and stripe.construct_event in one psql session
// (connection from the PG* environment that pg_virtualenv sets). Values travel as hex, so any
// byte reaches the server exactly; the overload (payload text|bytea, secret text|text[]) is the
// case's own.
const { spawnSync } = require('node:child_process');

const hex = (buf) => `'\\x${Buffer.from(buf).toString('hex')}'::bytea`;
const textLit = (s) => `convert_from(${hex(Buffer.from(s, 'utf8'))}, 'UTF8')`;

function atLiteral(atMs) {
  const sec = Math.floor(atMs / 1000);
  const ms = atMs - sec * 1000;
  return `(to_timestamp(0) + interval '${sec} seconds' + interval '${ms} milliseconds')`;
}

function row(c, i) {
  const secrets = c.secrets.length
    ? `ARRAY[${c.secrets.map((s) => (s === null ? 'NULL' : textLit(s))).join(', ')}]::text[]`
    : `'{}'::text[]`;
  return `(${i}, ${hex(c.payload)}, ${c.sqlAs === 'text'}, ${textLit(c.header)}, ${secrets}, ` +
    `${c.secretMode === 'array'}, ${c.tolerance}, ${atLiteral(c.atMs)})`;
}

const PROLOGUE = `
\\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE TEMP TABLE cases (id int PRIMARY KEY, payload bytea, as_text boolean, header text, secrets text[],
                         is_array boolean, tolerance integer, at timestamptz);
CREATE FUNCTION pg_temp.verify(c cases) RETURNS boolean LANGUAGE sql AS $$
  SELECT CASE
    WHEN c.as_text AND NOT c.is_array THEN stripe.verify_signature(convert_from(c.payload, 'UTF8'), c.header, c.secrets[1], c.tolerance, c.at)
    WHEN c.as_text THEN stripe.verify_signature(convert_from(c.payload, 'UTF8'), c.header, c.secrets, c.tolerance, c.at)
    WHEN NOT c.is_array THEN stripe.verify_signature(c.payload, c.header, c.secrets[1], c.tolerance, c.at)
    ELSE stripe.verify_signature(c.payload, c.header, c.secrets, c.tolerance, c.at) END
$$;
CREATE FUNCTION pg_temp.construct(c cases) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE ev jsonb; st text; msg text; det text;
BEGIN
  IF c.as_text AND NOT c.is_array THEN ev := stripe.construct_event(convert_from(c.payload, 'UTF8'), c.header, c.secrets[1], c.tolerance, c.at);
  ELSIF c.as_text THEN ev := stripe.construct_event(convert_from(c.payload, 'UTF8'), c.header, c.secrets, c.tolerance, c.at);
  ELSIF NOT c.is_array THEN ev := stripe.construct_event(c.payload, c.header, c.secrets[1], c.tolerance, c.at);
  ELSE ev := stripe.construct_event(c.payload, c.header, c.secrets, c.tolerance, c.at);
  END IF;
  RETURN jsonb_build_object('st', '00000', 'event', ev::text);
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  RETURN jsonb_build_object('st', st, 'message', msg, 'detail', NULLIF(det, ''));
END $$;
`;

function runInPostgres(cases) {
  const sql = [PROLOGUE];
  for (let i = 0; i < cases.length; i += 200) {
    sql.push(`INSERT INTO cases VALUES\n${cases.slice(i, i + 200).map((c, k) => row(c, i + k)).join(',\n')};`);
  }
  sql.push(`SELECT jsonb_build_object('id', id, 'verify', pg_temp.verify(c), 'construct', pg_temp.construct(c))::text
            FROM cases c ORDER BY id;`);
  const res = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
    input: sql.join('\n'),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`psql failed (${res.status}): ${res.stderr}`);
  const out = res.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  if (out.length !== cases.length) throw new Error(`psql returned ${out.length} rows for ${cases.length} cases`);
  return out.map((r) => ({ verify: r.verify, ...r.construct }));
}

module.exports = { runInPostgres };
