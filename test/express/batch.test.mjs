// The Express example with PGBATCH_MAX=50: deliveries that arrive while a statement runs go
// together in the next one. Every delivery must still get its own answer (200 accepted or
// duplicate, 400 rejected with its reason, 500 only for itself), and the database must end as if
// they had come one by one. Started by test/express/run.sh after webhook.test.mjs, against the
// same database, with the server already listening:
//   WEBHOOK_BASE, WHSEC, SERVER_LOG (the server's output), PG* (the cluster's superuser)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(fileURLToPath(new URL('../../examples/express/package.json', import.meta.url)));
const Stripe = require('stripe');
const pg = require('pg');

const BASE = process.env.WEBHOOK_BASE;
const WHSEC = process.env.WHSEC;
assert.ok(BASE && WHSEC && process.env.SERVER_LOG, 'run test/express/run.sh');
const stripe = new Stripe('sk_test_unused');

async function sql(text, params = []) {
  const client = new pg.Client();
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}
const sign = (payload, secret = WHSEC) => stripe.webhooks.generateTestHeaderString({ payload, secret });
async function post(body, header) {
  const res = await fetch(`${BASE}/stripe/webhook`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body });
  return { status: res.status, body: await res.json() };
}

// Sends `first`, then -- while its statement waits behind a lock on stripe.events held for
// holdMs -- the deliveries of `rest`, which queue in the server and go as one batch once the
// first is answered. Returns the answers, first included, in order.
async function behindLockedLog(holdMs, first, rest) {
  const locker = new pg.Client();
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE stripe.events IN EXCLUSIVE MODE');
    const release = new Promise((r) => setTimeout(r, holdMs)).then(() => locker.query('COMMIT'));
    const answerFirst = post(...first);
    await new Promise((r) => setTimeout(r, 150));
    const answers = await Promise.all([answerFirst, ...rest.map((d) => post(...d))]);
    await release;
    return answers;
  } finally {
    await locker.query('ROLLBACK').catch(() => {});
    await locker.end();
  }
}

const T0 = Math.floor(Date.now() / 1000) - 3600;
const event = (id, type, created, object) =>
  JSON.stringify({ id, object: 'event', api_version: '2024-06-20', created, livemode: false, type,
                   data: { object } }, null, 2) + '\n';
// CHF charges of this test only: their sums are computed here, independently of the views.
const charge = (i) => event(`evt_b_ch_${i}`, 'charge.succeeded', T0 + i,
  { id: `ch_B${i}`, object: 'charge', created: T0 + i, status: 'succeeded', amount: 1000 + i,
    amount_captured: 1000 + i, amount_refunded: 0, currency: 'chf', customer: `cus_B${i % 7}`, livemode: false,
    payment_method_details: { type: 'card', card: { brand: 'visa' } } });

test('a burst: every delivery answered as if alone, batches formed, rows as if one by one', async () => {
  const N = 100;
  const deliveries = [];
  for (let i = 0; i < N; i++) {
    const b = charge(i);
    deliveries.push({ body: b, header: sign(b), expect: 'accepted_or_duplicate', id: `evt_b_ch_${i}` });
    deliveries.push({ body: b, header: sign(b), expect: 'accepted_or_duplicate', id: `evt_b_ch_${i}` });
  }
  for (let i = 0; i < 20; i++) {
    const b = event(`evt_b_bad_${i}`, 'customer.created', T0, { id: `cus_BAD${i}`, object: 'customer', created: T0 });
    deliveries.push({ body: b, header: sign(b, 'whsec_not_the_secret'), expect: 'rejected', id: `evt_b_bad_${i}` });
  }
  // Shuffled (deterministically), then all sent at once.
  for (let i = deliveries.length - 1, x = 7; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [deliveries[i], deliveries[j]] = [deliveries[j], deliveries[i]];
  }
  const [{ rej0 }] = await sql("SELECT count(*)::int AS rej0 FROM stripe.rejected_deliveries");
  const answers = await Promise.all(deliveries.map((d) => post(d.body, d.header)));

  const seen = new Map();
  answers.forEach((r, k) => {
    const d = deliveries[k];
    if (d.expect === 'rejected') {
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.reason, 'signature_mismatch');
    } else {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.event_id, d.id, 'each answer is for its own delivery');
      assert.ok(['accepted', 'duplicate'].includes(r.body.status));
      seen.set(d.id, [...(seen.get(d.id) ?? []), r.body.status]);
    }
  });
  for (const [id, statuses] of seen) assert.deepEqual(statuses.sort(), ['accepted', 'duplicate'], id);

  const [ev] = await sql(`SELECT count(*)::int AS n, count(DISTINCT received_at)::int AS transactions
                            FROM stripe.events WHERE id LIKE 'evt_b_ch_%'`);
  assert.equal(ev.n, N);
  // received_at is the transaction's start: fewer distinct values than events = batches formed.
  assert.ok(ev.transactions < N / 2, `${ev.transactions} transactions for ${N} events: the deliveries were not batched`);
  const [{ rej1 }] = await sql("SELECT count(*)::int AS rej1 FROM stripe.rejected_deliveries");
  assert.equal(rej1 - rej0, 20);

  const expectGross = Array.from({ length: N }, (_, i) => 1000 + i).reduce((a, b) => a + b, 0);
  const [c] = await sql(`SELECT count(*)::int AS n, sum(amount_captured)::int AS gross FROM stripe.charges WHERE currency = 'chf'`);
  assert.deepEqual(c, { n: N, gross: expectGross });
  const [d] = await sql(`SELECT sum(successful_payments)::int AS ok, sum(gross_volume)::int AS gross
                           FROM stripe.payments_daily WHERE currency = 'chf'`);
  assert.deepEqual(d, { ok: N, gross: expectGross });
  const cs = await sql(`SELECT customer, payments::int, total_spent::int FROM stripe.customer_stats
                         WHERE currency = 'chf' ORDER BY customer`);
  const expect = new Map();
  for (let i = 0; i < N; i++) {
    const k = `cus_B${i % 7}`;
    const e = expect.get(k) ?? { customer: k, payments: 0, total_spent: 0 };
    e.payments++; e.total_spent += 1000 + i;
    expect.set(k, e);
  }
  assert.deepEqual(cs, [...expect.values()].sort((a, b) => a.customer.localeCompare(b.customer)));
});

test('a delivery that makes its batch fail gets 500; the others of that batch are stored and answered 200', async () => {
  // A DBA's trigger that refuses one event: stripe.ingest raises for it (not a rejection).
  await sql(`CREATE FUNCTION public.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS
             $$BEGIN RAISE EXCEPTION 'refused by a test trigger'; END$$`);
  await sql(`CREATE TRIGGER refuse_poison BEFORE INSERT ON stripe.events FOR EACH ROW
             WHEN (NEW.id = 'evt_b_poison') EXECUTE FUNCTION public.refuse_poison()`);
  const body = (i) => event(`evt_b_p_${i}`, 'customer.created', T0 + i, { id: `cus_P${i}`, object: 'customer', created: T0 + i });
  const poison = event('evt_b_poison', 'customer.created', T0, { id: 'cus_POISON', object: 'customer', created: T0 });
  const logBefore = fs.readFileSync(process.env.SERVER_LOG, 'utf8').length;
  // The first delivery's statement waits behind the lock; the next 39 queue behind it and go as
  // one batch, the poison among them.
  const signed = (b) => [b, sign(b)];
  const answers = await behindLockedLog(450, signed(body(0)),
    Array.from({ length: 39 }, (_, k) => (k + 1 === 20 ? signed(poison) : signed(body(k + 1)))));
  answers.forEach((r, i) => {
    if (i === 20) {
      assert.equal(r.status, 500, JSON.stringify(r.body));
      assert.equal(r.body.received, false);
    } else {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, 'accepted');
      assert.equal(r.body.event_id, `evt_b_p_${i}`);
    }
  });
  const log = fs.readFileSync(process.env.SERVER_LOG, 'utf8').slice(logBefore);
  assert.match(log, /a batch of 39 failed/, 'the poison was in a batch, which was retried one by one');
  const [{ n, poisoned }] = await sql(`SELECT count(*) FILTER (WHERE id LIKE 'evt_b_p_%')::int AS n,
                                              count(*) FILTER (WHERE id = 'evt_b_poison')::int AS poisoned FROM stripe.events`);
  assert.deepEqual({ n, poisoned }, { n: 39, poisoned: 0 });

  // Stripe retries the poison later; once the cause is gone it is accepted.
  await sql('DROP TRIGGER refuse_poison ON stripe.events');
  const retry = await post(poison, sign(poison));
  assert.equal(retry.status, 200, JSON.stringify(retry.body));
  assert.equal(retry.body.status, 'accepted');
});

test('a batch that the database fails (statement timeout) is answered 500 at once, not retried one by one', async () => {
  // The server's statement timeout is 1.5 s (run.sh). The log is held for 4.5 s: the first
  // delivery (alone) times out at ~1.5 s, the nine queued behind it go as one batch, which times
  // out at ~3 s. Retried one by one, the first retry would wait for the lock and be stored at 4.5 s.
  const body = (i) => event(`evt_b_to_${i}`, 'customer.created', T0 + i, { id: `cus_TO${i}`, object: 'customer', created: T0 + i });
  const logBefore = fs.readFileSync(process.env.SERVER_LOG, 'utf8').length;
  const answers = await behindLockedLog(4500, [body(0), sign(body(0))],
    Array.from({ length: 9 }, (_, k) => [body(k + 1), sign(body(k + 1))]));
  answers.forEach((r) => {
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.received, false);
  });
  const log = fs.readFileSync(process.env.SERVER_LOG, 'utf8').slice(logBefore);
  assert.match(log, /a batch of 9 failed \(57014\); all answered 500/);
  const [{ n }] = await sql("SELECT count(*)::int AS n FROM stripe.events WHERE id LIKE 'evt_b_to_%'");
  assert.equal(n, 0);
  // Stripe retries them later: all accepted.
  const again = await Promise.all(Array.from({ length: 10 }, (_, i) => post(body(i), sign(body(i)))));
  assert.ok(again.every((r) => r.status === 200 && r.body.status === 'accepted'), JSON.stringify(again.map((r) => r.body)));
});
