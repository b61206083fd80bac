'use strict';
// Stripe webhook receiver for pg_stripe.
//
// The whole job of the web tier is to hand Postgres the bytes Stripe sent and the Stripe-Signature
// header, untouched: stripe.ingest() verifies the signature against the endpoint's secret (kept in
// the database, never in this process), logs the event idempotently and updates the analytics in
// one transaction. This process holds no secret and parses no JSON.
//
//   200 {received: true, status: "accepted"|"duplicate"}  the event is stored (or already was)
//   400 {received: false, status: "rejected", reason}     bad signature, stale timestamp, not an event...
//                                                          (recorded in stripe.rejected_deliveries)
//   500 {received: false, error}                           database fault: Stripe retries later
//
// Environment: DATABASE_URL (or the PG* variables), STRIPE_ENDPOINT (default "default"),
// PORT (default 3000; 0 picks a free one), HOST (default: all interfaces), PGPOOL_MAX (default 10),
// PGSTATEMENT_TIMEOUT_MS (default 10000), PGBATCH_MAX (default 1: no batching; see ingestBatched).

const express = require('express');
const { Pool } = require('pg');

const ENDPOINT = process.env.STRIPE_ENDPOINT || 'default';
const PORT = process.env.PORT === undefined || process.env.PORT === '' ? 3000 : Number(process.env.PORT);
const HOST = process.env.HOST || undefined;

const pool = new Pool({
  // Without DATABASE_URL, pg reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
  ...(process.env.DATABASE_URL ? { connectionString: process.env.DATABASE_URL } : {}),
  max: Number(process.env.PGPOOL_MAX || 10),
  // Fail fast when the database is unreachable: Stripe gets a 500 and retries, instead of its
  // delivery timing out while we wait for a connection.
  connectionTimeoutMillis: 5000,
  idleTimeoutMillis: 30000,
  // A delivery stuck behind a lock gets a 500 (and a retry) instead of hanging until Stripe gives
  // up on the request; the ingest transaction is rolled back whole.
  statement_timeout: Number(process.env.PGSTATEMENT_TIMEOUT_MS || 10000),
  application_name: 'pg_stripe-webhook',
});
// An idle pooled connection that dies (server restart, network) emits 'error' on the pool; without
// a listener Node would crash. The pool drops that client and opens a new one when needed.
pool.on('error', (err) => console.error('pg pool: idle client error:', err.message));

// One delivery, one statement, one transaction: the default.
async function ingestOne(payload, signature) {
  // A Buffer parameter travels as binary bytea: the exact bytes, no encoding step.
  const { rows } = await pool.query('SELECT * FROM stripe.ingest($1::bytea, $2, $3)', [payload, signature, ENDPOINT]);
  return rows[0];
}

// PGBATCH_MAX > 1: deliveries that arrive while a statement is running wait for it, then go
// together, up to PGBATCH_MAX per statement and transaction. A delivery that finds nothing running
// goes at once (no timer, no added latency when traffic is light); under a burst the per-
// transaction cost (round trip, commit) is paid once per batch: about half the database CPU per
// delivery (BENCHMARKS.md, peer section). Every delivery still gets its own answer, given after
// the batch commits. One batch runs at a time: two transactions that each take the locks of many
// events, in arrival order, could deadlock; one delivery per transaction never does.
// If a batch fails because of a delivery (one that makes stripe.ingest raise), its deliveries
// are retried one per statement, so only the failing one is answered 500; if the database failed
// it (timeout, lost connection), every delivery of the batch is answered 500 at once.
// At most 1,000: a statement carries two parameters per delivery (Postgres takes 65,535), and a
// transaction past 1,000 object locks makes every other delivery wait for it (README).
const BATCH_MAX = Math.min(1000, Number(process.env.PGBATCH_MAX || 1));
if (!Number.isInteger(BATCH_MAX) || BATCH_MAX < 1) {
  console.error(`PGBATCH_MAX must be a whole number, at least 1 (above 1000 counts as 1000), not "${process.env.PGBATCH_MAX}"`);
  process.exit(2);
}
const waiting = [];  // {payload, signature, resolve, reject}
let batchRunning = false;

function batchStatement(n) {  // ($1::bytea, $2::text, 0), ($3, $4, 1), ...: plain parameters, no arrays to parse
  const rows = Array.from({ length: n }, (_, i) => `($${2 * i + 2}::bytea, $${2 * i + 3}::text, ${i})`);
  return {
    name: `stripe_ingest_batch_${n}`,
    text: `SELECT d.i, r.* FROM (VALUES ${rows.join(', ')}) AS d(payload, signature, i) ` +
          'CROSS JOIN LATERAL stripe.ingest(d.payload, d.signature, $1) r ORDER BY d.i',
  };
}

// Whether a failed batch is worth retrying delivery by delivery: yes when one delivery's data
// may be the cause (an error raised while ingesting it); no when the database itself failed the
// statement -- a timeout or cancellation (class 57), a lost connection (08, or no SQLSTATE at all),
// out of resources (53) -- where each retry would wait or fail the same way, one after another.
function retryAlone(err) {
  return typeof err.code === 'string' && !/^(08|53|57)/.test(err.code);
}

// One waiting delivery in a statement of its own, answered (or failed) on its own.
const answerAlone = (d) => ingestOne(d.payload, d.signature).then(d.resolve, d.reject);

async function runBatches() {
  batchRunning = true;
  try {
    await drainBatches();
  } finally {
    batchRunning = false;  // (a delivery that arrives later starts the loop again)
  }
}

async function drainBatches() {
  while (waiting.length > 0) {
    const batch = waiting.splice(0, BATCH_MAX);
    if (batch.length === 1) {
      await answerAlone(batch[0]);
      continue;
    }
    let rows;
    try {
      ({ rows } = await pool.query({ ...batchStatement(batch.length),
        values: [ENDPOINT, ...batch.flatMap((d) => [d.payload, d.signature])] }));
    } catch (err) {
      if (!retryAlone(err)) {
        console.error(`webhook: a batch of ${batch.length} failed (${err.code || err.message}); all answered 500`);
        for (const d of batch) d.reject(err);
        continue;
      }
      console.error(`webhook: a batch of ${batch.length} failed (${err.code || err.message}); retrying one by one`);
      for (const d of batch) await answerAlone(d);
      continue;
    }
    for (const row of rows) batch[row.i].resolve(row);
    const answered = new Set(rows.map((row) => row.i));  // (stripe.ingest answers every delivery)
    batch.forEach((d, i) => answered.has(i) || d.reject(new Error('no answer for a delivery of the batch')));
  }
}

function ingestBatched(payload, signature) {
  return new Promise((resolve, reject) => {
    waiting.push({ payload, signature, resolve, reject });
    if (!batchRunning) runBatches().catch((err) => console.error('webhook: batch loop:', err));
  });
}

const ingest = BATCH_MAX > 1 ? ingestBatched : ingestOne;

const app = express();
app.disable('x-powered-by');

// Liveness plus a database round trip (for a load balancer or `curl localhost:3000/healthz`).
app.get('/healthz', async (req, res) => {
  try {
    await pool.query('SELECT 1');
    res.json({ status: 'ok', database: 'ok' });
  } catch (err) {
    res.status(503).json({ status: 'degraded', database: 'unreachable' });
  }
});

// express.raw, never express.json(): the signature covers the exact bytes Stripe sent, and a
// parsed and re-serialized body no longer matches it. Mount it on this route only, so no global
// JSON parser can consume the body first.
app.post('/stripe/webhook', express.raw({ type: '*/*', limit: '1mb' }), async (req, res) => {
  // Without a body, body-parser leaves {} here; an empty payload is rejected by stripe.ingest.
  const payload = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const signature = req.get('stripe-signature') ?? null;
  let result;
  try {
    result = await ingest(payload, signature);
  } catch (err) {
    // The database is down, the role lost its grant, a statement timeout...: not the sender's
    // fault, so not a 4xx. Stripe retries 5xx deliveries with backoff for up to three days.
    console.error(`webhook: database error${err.code ? ` ${err.code}` : ''}: ${err.message}`);
    return res.status(500).json({ received: false, error: 'database error' });
  }
  if (result.status === 'rejected') {
    console.warn(`webhook: rejected (${result.reason}, SQLSTATE ${result.sqlstate})`);
    return res.status(400).json({ received: false, status: 'rejected', reason: result.reason, sqlstate: result.sqlstate });
  }
  return res.status(200).json({ received: true, status: result.status, event_id: result.event_id });
});

// Body-parser errors (payload over 1mb → 413, aborted request → 400) and anything unexpected.
// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
  const status = Number.isInteger(err.status) && err.status >= 400 && err.status < 600 ? err.status : 500;
  if (status >= 500) console.error('webhook: unexpected error:', err);
  if (!res.headersSent) res.status(status).json({ received: false, error: err.type || err.message || 'error' });
});

const server = app.listen(PORT, HOST, () => {
  const { address, port } = server.address();
  const host = address.includes(':') ? `[${address}]` : address;
  console.log(`pg_stripe webhook receiver listening on http://${host}:${port} (endpoint "${ENDPOINT}"` +
              `${BATCH_MAX > 1 ? `, up to ${BATCH_MAX} deliveries per transaction` : ''})`);
});
server.on('error', (err) => {
  console.error(`cannot listen: ${err.message}`);
  process.exit(1);
});

// Graceful shutdown: stop accepting, let in-flight deliveries finish, close the pool.
let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  setTimeout(() => {
    console.error('shutdown: timed out, exiting');
    process.exit(1);
  }, 10000).unref();
  server.close(() => {
    pool.end().then(() => process.exit(0), () => process.exit(0));
  });
  // Keep-alive sockets with no request in flight would hold server.close() open.
  if (server.closeIdleConnections) server.closeIdleConnections();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
