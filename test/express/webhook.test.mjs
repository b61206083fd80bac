// The Express example over real HTTP: deliveries signed by stripe-node's own
// generateTestHeaderString, answers 200/400/500 as Stripe expects, and the rows they leave.
// Started by test/express/run.sh inside pg_virtualenv, with the server already listening:
//   WEBHOOK_BASE  http://127.0.0.1:<port>
//   WHSEC         the endpoint's secret
//   PG*           the cluster's superuser connection (for checks and for breaking things)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// express, pg and stripe are the example's dependencies (npm ci in examples/express).
const require = createRequire(fileURLToPath(new URL('../../examples/express/package.json', import.meta.url)));
const Stripe = require('stripe');
const pg = require('pg');

const BASE = process.env.WEBHOOK_BASE;
const WHSEC = process.env.WHSEC;
assert.ok(BASE && WHSEC, 'WEBHOOK_BASE and WHSEC must be set (run test/express/run.sh)');
const stripe = new Stripe('sk_test_unused');
const URL_ = `${BASE}/stripe/webhook`;

async function sql(text, params = []) {
  const client = new pg.Client(); // PG* env: the cluster's superuser
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

function sign(payload, { secret = WHSEC, timestamp } = {}) {
  return stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp !== undefined ? { timestamp } : {}) });
}

async function post(body, header, { contentType = 'application/json; charset=utf-8' } = {}) {
  const headers = { 'content-type': contentType, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' };
  if (header !== undefined) headers['stripe-signature'] = header;
  const res = await fetch(URL_, { method: 'POST', headers, body });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = { raw: text }; }
  return { status: res.status, body: json };
}

// Event bodies as Stripe serializes them (pretty-printed with two spaces and a trailing newline
// is what Stripe actually sends; compact works the same: the bytes are what is signed).
const T0 = Math.floor(Date.now() / 1000) - 86400;
const event = (id, type, created, object) =>
  JSON.stringify({ id, object: 'event', api_version: '2024-06-20', created, livemode: false, pending_webhooks: 1,
                   request: { id: null, idempotency_key: null }, type, data: { object } }, null, 2) + '\n';
const customer = event('evt_x_cus_1', 'customer.created', T0,
  { id: 'cus_X1', object: 'customer', created: T0, email: 'ada@example.com', name: 'Ada Lovelace', livemode: false });
const charge = (id, evt, type, status, amount, extra = {}) => event(evt, type, T0 + 60,
  { id, object: 'charge', created: T0 + 60, status, amount, amount_captured: status === 'succeeded' ? amount : 0,
    amount_refunded: 0, captured: status === 'succeeded', currency: 'eur', customer: 'cus_X1', livemode: false,
    paid: status === 'succeeded', refunded: false, disputed: false,
    failure_code: status === 'failed' ? 'card_declined' : null,
    outcome: { type: status === 'failed' ? 'issuer_declined' : 'authorized', reason: status === 'failed' ? 'generic_decline' : null },
    payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242' } }, ...extra });
const chargeOk = charge('ch_X1', 'evt_x_ch_1', 'charge.succeeded', 'succeeded', 4200);
const chargeFailed = charge('ch_X2', 'evt_x_ch_2', 'charge.failed', 'failed', 1999);
// One non-ASCII byte sequence in the body: proves the bytes reach Postgres untouched.
const chargeUtf8 = charge('ch_X3', 'evt_x_ch_3', 'charge.succeeded', 'succeeded', 1500, { description: 'Crème brûlée – 東京 🍮' });

let accepted = 0;
let rejected = 0;

test('GET /healthz answers 200 with the database reachable', async () => {
  const res = await fetch(`${BASE}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok', database: 'ok' });
});

test('a signed event is accepted: 200 {received: true, status: accepted}', async () => {
  for (const body of [customer, chargeOk, chargeFailed, chargeUtf8]) {
    const r = await post(body, sign(body));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.received, true);
    assert.equal(r.body.status, 'accepted');
    assert.equal(r.body.event_id, JSON.parse(body).id);
    accepted++;
  }
});

test('a redelivery (same event, fresh signature) is 200 duplicate', async () => {
  const r = await post(chargeOk, sign(chargeOk, { timestamp: Math.floor(Date.now() / 1000) + 1 }));
  assert.equal(r.status, 200);
  assert.deepEqual({ received: r.body.received, status: r.body.status }, { received: true, status: 'duplicate' });
  // Same signature again (a retry of the very same request) too.
  const h = sign(customer);
  assert.equal((await post(customer, h)).body.status, 'duplicate');
  assert.equal((await post(customer, h)).body.status, 'duplicate');
});

test('the exact bytes are verified, whatever the Content-Type says', async () => {
  const body = event('evt_x_ct', 'customer.updated', T0 + 5,
    { id: 'cus_X1', object: 'customer', created: T0, email: 'ada@example.org', livemode: false });
  const r = await post(body, sign(body), { contentType: 'text/plain' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'accepted');
  accepted++;
});

const badCases = [
  ['a bad signature', () => [chargeOk.replace('evt_x_ch_1', 'evt_x_bad_1'),
    `t=${Math.floor(Date.now() / 1000)},v1=${'ab'.repeat(32)}`], 'signature_mismatch'],
  ['a tampered body', () => { const b = event('evt_x_t', 'charge.succeeded', T0, { id: 'ch_T', object: 'charge', amount: 100 });
    return [b.replace('"amount": 100', '"amount": 100000'), sign(b)]; }, 'signature_mismatch'],
  ['the wrong secret', () => { const b = event('evt_x_ws', 'customer.created', T0, { id: 'cus_WS', object: 'customer', created: T0 });
    return [b, sign(b, { secret: 'whsec_not_the_endpoint_secret' })]; }, 'signature_mismatch'],
  ['a stale timestamp (10 minutes, tolerance 5)', () => { const b = event('evt_x_old', 'customer.created', T0, { id: 'cus_OLD', object: 'customer', created: T0 });
    return [b, sign(b, { timestamp: Math.floor(Date.now() / 1000) - 600 })]; }, 'timestamp_outside_tolerance'],
  ['a re-serialized body (parsed and pretty-printed again, as express.json() + JSON.stringify would)', () => {
    const b = JSON.stringify(JSON.parse(chargeOk.replace('evt_x_ch_1', 'evt_x_re_1')));
    return [JSON.stringify(JSON.parse(b), null, 4), sign(b)]; }, 'signature_mismatch'],
  ['a compact re-serialization of a pretty body', () => {
    const b = chargeOk.replace('evt_x_ch_1', 'evt_x_re_2');
    return [JSON.stringify(JSON.parse(b)), sign(b)]; }, 'signature_mismatch'],
  ['no Stripe-Signature header', () => [customer, undefined], 'no_signature_header'],
  ['an unparsable header', () => [customer, 'v1=abc,t=yesterday'], 'unparsable_signature_header'],
  ['an empty body', () => ['', sign('')], 'no_payload'],
  ['a signed body that is not JSON', () => { const b = 'hello=world'; return [b, sign(b)]; }, 'invalid_json'],
];
for (const [name, make, reason] of badCases) {
  test(`400 for ${name}`, async () => {
    const [body, header] = make();
    const r = await post(body, header);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.received, false);
    assert.equal(r.body.status, 'rejected');
    assert.equal(r.body.reason, reason);
    assert.match(r.body.sqlstate, /^[0-9A-Z]{5}$/);
    assert.ok(!JSON.stringify(r.body).includes(WHSEC), 'the secret never appears in a response');
    rejected++;
  });
}

test('a body over 1mb is refused by express.raw (413) before it reaches the database', async () => {
  const big = '{"pad":"' + 'x'.repeat(1024 * 1024 + 10) + '"}';
  const r = await post(big, sign(big));
  assert.equal(r.status, 413);
});

test('database rows match what was answered', async () => {
  const [{ events }] = await sql('SELECT count(*)::int AS events FROM stripe.events');
  assert.equal(events, accepted);
  const charges = await sql('SELECT id, status, amount, amount_captured, currency, customer, card_brand FROM stripe.charges ORDER BY id');
  assert.deepEqual(charges, [
    { id: 'ch_X1', status: 'succeeded', amount: '4200', amount_captured: '4200', currency: 'eur', customer: 'cus_X1', card_brand: 'visa' },
    { id: 'ch_X2', status: 'failed', amount: '1999', amount_captured: '0', currency: 'eur', customer: 'cus_X1', card_brand: 'visa' },
    { id: 'ch_X3', status: 'succeeded', amount: '1500', amount_captured: '1500', currency: 'eur', customer: 'cus_X1', card_brand: 'visa' },
  ]);
  const [cust] = await sql("SELECT email FROM stripe.customers WHERE id = 'cus_X1'");
  assert.equal(cust.email, 'ada@example.org');
  // The log holds the bytes as received (pretty-printed, non-ASCII intact).
  const [{ body }] = await sql("SELECT body::text AS body FROM stripe.events WHERE id = 'evt_x_ch_3'");
  assert.equal(body, chargeUtf8);
  const [{ rej }] = await sql("SELECT count(*)::int AS rej FROM stripe.rejected_deliveries WHERE endpoint = 'default'");
  assert.equal(rej, rejected);
  const [{ leaked }] = await sql('SELECT count(*)::int AS leaked FROM stripe.rejected_deliveries r, stripe.endpoints e WHERE strpos(r::text, e.secret) > 0');
  assert.equal(leaked, 0);
  const daily = await sql('SELECT currency, successful_payments::int AS ok, failed_payments::int AS failed, gross_volume::bigint AS gross FROM stripe.payments_daily');
  assert.deepEqual(daily, [{ currency: 'eur', ok: 2, failed: 1, gross: '5700' }]);
});

test('500 when the ingest is stuck behind a lock past the statement timeout, nothing half-written', async () => {
  const body = event('evt_x_lock', 'customer.created', T0 + 8, { id: 'cus_L', object: 'customer', created: T0 + 8 });
  const locker = new pg.Client();
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE stripe.events IN ACCESS EXCLUSIVE MODE');
    const t = Date.now();
    const r = await post(body, sign(body));
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.ok(Date.now() - t >= 1000, 'answered only after the statement timeout (1.5 s in this test)');
  } finally {
    await locker.query('ROLLBACK').catch(() => {});
    await locker.end();
  }
  const [{ n }] = await sql("SELECT count(*)::int AS n FROM stripe.customers WHERE id = 'cus_L'");
  assert.equal(n, 0);
  const r = await post(body, sign(body));
  assert.equal(r.body.status, 'accepted');
  accepted++;
});

test('500 while the role has lost its grant (the function errors), 200 again once restored', async () => {
  const body = event('evt_x_grant', 'customer.created', T0 + 10, { id: 'cus_G', object: 'customer', created: T0 + 10 });
  await sql('REVOKE stripe_ingest FROM express_webhook');
  try {
    const r = await post(body, sign(body));
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.received, false);
  } finally {
    await sql('GRANT stripe_ingest TO express_webhook');
  }
  const r = await post(body, sign(body));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'accepted'); // the failed delivery left nothing behind
  accepted++;
});

test('500 while the database is down, accepted after it comes back (Stripe retries)', async () => {
  const cluster = [process.env.PGVERSION || '15', 'regress'];
  const body = event('evt_x_down', 'charge.succeeded', T0 + 20,
    { id: 'ch_DOWN', object: 'charge', created: T0 + 20, status: 'succeeded', amount: 700, amount_captured: 700, currency: 'eur' });
  execFileSync('pg_ctlcluster', [...cluster, 'stop', '-m', 'fast'], { stdio: 'pipe' });
  try {
    const r = await post(body, sign(body));
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.received, false);
    const h = await fetch(`${BASE}/healthz`);
    assert.equal(h.status, 503);
  } finally {
    execFileSync('pg_ctlcluster', [...cluster, 'start'], { stdio: 'pipe' });
  }
  const r = await post(body, sign(body));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'accepted');
  accepted++;
  const [{ events }] = await sql('SELECT count(*)::int AS events FROM stripe.events');
  assert.equal(events, accepted);
});

test('concurrent deliveries of the same events: each stored once', async () => {
  const bodies = Array.from({ length: 20 }, (_, i) => event(`evt_x_par_${i}`, 'charge.succeeded', T0 + 100 + i,
    { id: `ch_PAR_${i}`, object: 'charge', created: T0 + 100 + i, status: 'succeeded', amount: 100 + i,
      amount_captured: 100 + i, currency: 'usd', customer: 'cus_X1' }));
  const all = await Promise.all([...bodies, ...bodies, ...bodies].map((b) => post(b, sign(b))));
  assert.ok(all.every((r) => r.status === 200), JSON.stringify(all.filter((r) => r.status !== 200)));
  const counts = { accepted: 0, duplicate: 0 };
  for (const r of all) counts[r.body.status]++;
  assert.deepEqual(counts, { accepted: 20, duplicate: 40 });
  const [{ n, total }] = await sql("SELECT count(*)::int AS n, sum(amount)::int AS total FROM stripe.charges WHERE id LIKE 'ch_PAR_%'");
  assert.deepEqual({ n, total }, { n: 20, total: 20 * 100 + 190 });
});
