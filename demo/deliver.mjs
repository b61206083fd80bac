// Delivers a JSONL file of Stripe events to a webhook receiver the way Stripe does: each line is
// one body, sent as is, signed with the endpoint secret at the moment of sending
// (stripe-node's generateTestHeaderString), over HTTP with a few requests in flight, retrying a
// 5xx or a broken connection with backoff. Shows a progress bar with events/s.
//
//   WHSEC=whsec_... node demo/deliver.mjs --url http://127.0.0.1:3000/stripe/webhook \
//       --file out/events.jsonl [--concurrency 8] [--stats out/delivery.json]
//
// Exit status 0 when every delivery got a 200 (accepted or duplicate).
import fs from 'node:fs';
import http from 'node:http';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(fileURLToPath(new URL('../examples/express/package.json', import.meta.url)));
const Stripe = require('stripe');

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    file: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    stats: { type: 'string' },
  },
});
const secret = process.env.WHSEC;
if (!opt.url || !opt.file || !secret) {
  console.error('usage: WHSEC=whsec_... node demo/deliver.mjs --url URL --file EVENTS.jsonl [--concurrency N] [--stats FILE]');
  process.exit(2);
}
const concurrency = Math.max(1, Number(opt.concurrency) || 8);
const url = new URL(opt.url);
const webhooks = new Stripe('sk_test_demo_not_used').webhooks;

// One body per line, byte for byte (no parse/re-serialize: that would break the signature),
// streamed: a big shop's file need not fit in memory. A first pass counts the lines for the bar.
let total = 0;
for await (const chunk of fs.createReadStream(opt.file)) {
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) total++;
}
const lines = readline.createInterface({ input: fs.createReadStream(opt.file), crlfDelay: Infinity })[Symbol.asyncIterator]();
let reading = Promise.resolve();
function nextBody() {  // one reader at a time; skips blank lines; undefined at the end
  const p = reading.then(async () => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) return undefined;
      if (value.length > 0) return value;
    }
  });
  reading = p.catch(() => {});
  return p;
}
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function send(body) {
  const header = webhooks.generateTestHeaderString({ payload: body, secret, timestamp: Math.floor(Date.now() / 1000) });
  const buf = Buffer.from(body, 'utf8');
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'content-length': buf.length,
        'stripe-signature': header,
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let json = {};
        try { json = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(buf);
  });
}

const stats = { deliveries: 0, accepted: 0, duplicate: 0, rejected: 0, failed: 0, retries: 0, reasons: {} };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// A receiver or database that fails every delivery (wrong secret, extension not installed, ...)
// stops the run after this many failures in a row instead of grinding through the whole file.
const GIVE_UP_AFTER = 25;
let streak = 0;
let gaveUp = null;

function outcome(ok, reason) {
  if (ok) { streak = 0; return; }
  stats.reasons[reason] = (stats.reasons[reason] || 0) + 1;
  if (++streak >= GIVE_UP_AFTER && !gaveUp) gaveUp = reason;
}

async function deliver(body) {
  for (let attempt = 0; ; attempt++) {
    let r;
    try {
      r = await send(body);
    } catch (err) {
      r = { status: 0, json: { error: err.message } };
    }
    if (r.status === 200) { stats[r.json.status === 'duplicate' ? 'duplicate' : 'accepted']++; outcome(true); return; }
    if (r.status >= 400 && r.status < 500) {
      stats.rejected++;
      outcome(false, `HTTP ${r.status} ${r.json.reason || r.json.error || ''}`.trim());
      return;
    }
    // 5xx or no answer: Stripe retries with backoff (for days); we retry a few times, briefly.
    if (attempt >= 3 || gaveUp) {
      stats.failed++;
      outcome(false, `${r.status ? `HTTP ${r.status} ` : ''}${r.json.error || ''}`.trim());
      return;
    }
    stats.retries++;
    await sleep(200 * 2 ** attempt);
  }
}

// Progress: a bar redrawn in place on a terminal, a line per 10% otherwise.
const tty = process.stderr.isTTY;
const t0 = process.hrtime.bigint();
const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
let done = 0;
let lastDecile = -1;
let lastLine = 0;
function progress(final = false) {
  const s = elapsed();
  const rate = s > 0 ? done / s : 0;
  const frac = total ? Math.min(1, done / total) : 1;
  const eta = rate > 0 ? Math.ceil(Math.max(0, total - done) / rate) : 0;
  const width = 30;
  const full = Math.round(frac * width);
  const line = `  [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(frac * 100)).padStart(3)}%  ` +
    `${done}/${Math.max(total, done)} events  ${Math.round(rate)} events/s  ` + (final ? `${s.toFixed(1)} s` : `eta ${eta} s`);
  if (tty) {
    process.stderr.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
  } else {
    const decile = Math.floor(frac * 10);
    if (final || decile > lastDecile || s - lastLine >= 15) {
      lastDecile = decile;
      lastLine = s;
      process.stderr.write(line + '\n');
    }
  }
}
const timer = setInterval(progress, tty ? 200 : 500);

async function worker() {
  for (let body = await nextBody(); body !== undefined && !gaveUp; body = await nextBody()) {
    await deliver(body);
    done++;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
clearInterval(timer);
progress(true);
agent.destroy();

const seconds = elapsed();
stats.deliveries = done;
stats.seconds = Number(seconds.toFixed(2));
stats.events_per_second = Math.round(done / seconds);
console.log(`delivered ${done} events in ${seconds.toFixed(1)} s (${stats.events_per_second} events/s, ` +
  `${concurrency} in flight): ${stats.accepted} accepted, ${stats.duplicate} duplicate, ` +
  `${stats.rejected} rejected, ${stats.failed} failed` + (stats.retries ? `, ${stats.retries} retries` : ''));
if (Object.keys(stats.reasons).length) console.log('  not delivered:', JSON.stringify(stats.reasons));
if (gaveUp) console.log(`gave up: ${GIVE_UP_AFTER} deliveries in a row failed (last: ${gaveUp}); the receiver's log says why`);
if (opt.stats) fs.writeFileSync(opt.stats, JSON.stringify(stats, null, 2) + '\n');
process.exit(stats.rejected || stats.failed ? 1 : 0);
