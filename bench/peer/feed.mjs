#!/usr/bin/env node
// bench/peer/feed.mjs: feeds signed webhook deliveries, one at a time, to pg_stripe or to the peer
// (@supabase/stripe-sync-engine), from the same Node process shape, and reports what it took.
//
//   node feed.mjs --mode pgstripe|peer|floor|batch --rows FILE --db postgres://... [--secret whsec_...]
//                 [--migrate] [--batch N] --out RESULT.json
//
// FILE holds COPY text rows `n TAB body TAB Stripe-Signature` (bench/lib/bodies.mjs), signed in
// advance with the endpoint secret. pgstripe: one named (prepared) statement per delivery,
// `SELECT status FROM stripe.ingest($1, $2, 'bench')`, autocommit. peer: StripeSync.processWebhook
// (body, header) — stripe-node's constructEventAsync, then the library's upserts — with every
// option that would call Stripe's API off (revalidateObjectsViaStripeApi empty,
// backfillRelatedEntities and autoExpandLists false) and a dummy API key; its pool has one
// connection, so both sides run as one database session. --migrate runs the peer's migrations.
// floor: the pgstripe client and statement shape with no work on the server,
// `SELECT octet_length($1) + octet_length($2)`: the same bodies sent, one round trip and one
// transaction each. What this client pays per delivery whatever the server does, so
// peer_time / floor_time bounds the events/s ratio any ingest can reach over the peer from it.
// batch: pg_stripe with --batch deliveries (default 100) per statement and transaction.
//
// RESULT: deliveries, wall seconds, the Node process's CPU seconds (user+system), the database
// backend's CPU seconds (/proc/<pid>/stat of the one session), outcomes, the first error.
import fs from 'node:fs';
import readline from 'node:readline';
import pg from 'pg';

const opt = {};
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, '');
  if (k === 'migrate') opt.migrate = true; else opt[k] = process.argv[++i];
}
if (!opt.mode || !opt.rows || !opt.db || !opt.out) {
  console.error('usage: feed.mjs --mode pgstripe|peer|floor|batch --rows FILE --db URL [--secret S] [--migrate] [--batch N] --out FILE');
  process.exit(2);
}

const unescape = (s) => s.replace(/\\(.)/g, (_, c) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));
const rows = [];
const rl = readline.createInterface({ input: fs.createReadStream(opt.rows), crlfDelay: Infinity });
for await (const line of rl) {
  if (!line) continue;
  const [, body, header] = line.split('\t');
  rows.push([unescape(body), header]);
}

const hz = 100;  // USER_HZ: /proc/<pid>/stat counts clock ticks
const ticks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const a = f.slice(f.lastIndexOf(')') + 2).split(' ');  // fields from 3 on
  return +a[11] + +a[12];                                  // utime (14) + stime (15)
};

// ingest(group) answers a group of deliveries ([body, header] pairs) with their statuses: one
// delivery at a time in every mode but batch.
let ingest, pid, close;
let size = 1;
const outcomes = {};
let firstError = null;
if (opt.mode === 'pgstripe' || opt.mode === 'floor' || opt.mode === 'batch') {
  const client = new pg.Client({ connectionString: opt.db, application_name: `bench_feed_${opt.mode}` });
  await client.connect();
  pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  close = () => client.end();
  // pgstripe and floor: one named statement per delivery. batch: what a receiver that groups
  // the deliveries arriving together can do -- --batch deliveries per statement and transaction,
  // each answered with its own status, one parameter per body and header (plain text, no array
  // literal for the server to parse): VALUES ($1::text, $2::text, 0), ($3, $4, 1), ..., a
  // statement per group size.
  const statement = opt.mode === 'pgstripe' ? () => ({ name: 'ingest', text: "SELECT status FROM stripe.ingest($1, $2, 'bench')" })
    : opt.mode === 'floor' ? () => ({ name: 'floor', text: "SELECT CASE WHEN octet_length($1) + octet_length($2) > 0 THEN 'sent' END AS status" })
    : (k) => ({
      name: `ingest_batch_${k}`,
      text: 'SELECT r.status FROM (VALUES ' +
            Array.from({ length: k }, (_, i) => `($${2 * i + 1}::text, $${2 * i + 2}::text, ${i})`).join(', ') +
            ") AS d(body, header, i) CROSS JOIN LATERAL stripe.ingest(d.body, d.header, 'bench') r ORDER BY d.i",
    });
  if (opt.mode === 'batch') size = Number(opt.batch ?? 100);
  ingest = async (group) => {
    const r = await client.query({ ...statement(group.length), values: size === 1 ? group[0] : group.flat() });
    return r.rows.map((x) => x.status);
  };
} else if (opt.mode === 'peer') {
  // The package's ESM build calls __dirname in runMigrations (a ReferenceError under ESM): use
  // its CommonJS build.
  const { createRequire } = await import('node:module');
  const { StripeSync, runMigrations } = createRequire(import.meta.url)('@supabase/stripe-sync-engine');
  if (opt.migrate) {
    const logger = { info() {}, warn: console.error, error: (e, m) => { console.error(m, e); process.exitCode = 1; } };
    await runMigrations({ databaseUrl: opt.db, schema: 'stripe', logger });
    if (process.exitCode) process.exit(1);
  }
  const sync = new StripeSync({
    poolConfig: { connectionString: opt.db, max: 1 },
    schema: 'stripe',
    stripeSecretKey: 'sk_test_dummy_no_api_calls',
    stripeWebhookSecret: opt.secret,
    backfillRelatedEntities: false,
    autoExpandLists: false,
    revalidateObjectsViaStripeApi: [],
  });
  pid = (await sync.postgresClient.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  ingest = async ([[body, header]]) => { await sync.processWebhook(body, header); return ['processed']; };
  close = () => sync.close();
} else {
  throw new Error(`unknown --mode ${opt.mode}`);
}

const c0 = ticks(pid), u0 = process.cpuUsage(), t0 = process.hrtime.bigint();
for (let i = 0; i < rows.length; i += size) {
  const group = rows.slice(i, i + size);
  let statuses;
  try {
    statuses = await ingest(group);
  } catch (e) {
    statuses = group.map(() => 'error');
    if (!firstError) firstError = `${e.message}${size === 1 ? ` (type ${JSON.parse(group[0][0]).type})` : ''}`;
  }
  for (const status of statuses) outcomes[status] = (outcomes[status] ?? 0) + 1;
}
const t1 = process.hrtime.bigint(), u1 = process.cpuUsage(u0), c1 = ticks(pid);
await close();

const result = {
  mode: opt.mode, deliveries: rows.length, wall_s: Number(t1 - t0) / 1e9,
  node_cpu_s: (u1.user + u1.system) / 1e6, backend_cpu_s: (c1 - c0) / hz, backend_pid: pid,
  outcomes, first_error: firstError,
};
fs.writeFileSync(opt.out, JSON.stringify(result, null, 1));
console.log(JSON.stringify(result));
