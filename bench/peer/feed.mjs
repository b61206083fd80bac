#!/usr/bin/env node
// bench/peer/feed.mjs: feeds signed webhook deliveries, one at a time, to pg_stripe or to the peer
// (@supabase/stripe-sync-engine), from the same Node process shape, and reports what it took.
//
//   node feed.mjs --mode pgstripe|peer --rows FILE --db postgres://... [--secret whsec_...]
//                 [--migrate] --out RESULT.json
//
// FILE holds COPY text rows `n TAB body TAB Stripe-Signature` (bench/lib/bodies.mjs), signed in
// advance with the endpoint secret. pgstripe: one named (prepared) statement per delivery,
// `SELECT status FROM stripe.ingest($1, $2, 'bench')`, autocommit. peer: StripeSync.processWebhook
// (body, header) — stripe-node's constructEventAsync, then the library's upserts — with every
// option that would call Stripe's API off (revalidateObjectsViaStripeApi empty,
// backfillRelatedEntities and autoExpandLists false) and a dummy API key; its pool has one
// connection, so both sides run as one database session. --migrate runs the peer's migrations.
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
  console.error('usage: feed.mjs --mode pgstripe|peer --rows FILE --db URL [--secret S] [--migrate] --out FILE');
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

let ingestOne, pid, close;
const outcomes = {};
let firstError = null;
if (opt.mode === 'pgstripe') {
  const client = new pg.Client({ connectionString: opt.db, application_name: 'bench_feed_pgstripe' });
  await client.connect();
  pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const q = { name: 'ingest', text: "SELECT status FROM stripe.ingest($1, $2, 'bench')" };
  ingestOne = async (body, header) => {
    const r = await client.query({ ...q, values: [body, header] });
    return r.rows[0].status;
  };
  close = () => client.end();
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
  ingestOne = async (body, header) => { await sync.processWebhook(body, header); return 'processed'; };
  close = () => sync.close();
} else {
  throw new Error(`unknown --mode ${opt.mode}`);
}

const c0 = ticks(pid), u0 = process.cpuUsage(), t0 = process.hrtime.bigint();
for (const [body, header] of rows) {
  let status;
  try {
    status = await ingestOne(body, header);
  } catch (e) {
    status = 'error';
    if (!firstError) firstError = `${e.message} (type ${JSON.parse(body).type})`;
  }
  outcomes[status] = (outcomes[status] ?? 0) + 1;
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
