// SPEC §2 property: object state and analytics are a function of the set of events, not of
// their delivery. The same generated stream is ingested
//   A  once each, in created order, one session;
//   B  every event 1-3 times, arrival shuffled within 10 minutes, one session;
//   C  every event 1-3 times, shuffled within 2 days, by two concurrent sessions, one
//      transaction per delivery (a deadlock is retried, as Stripe would redeliver);
// and A, B and C must hold identical object tables, event logs, aggregates and views; then B and
// C are rebuilt from their logs (stripe.rebuild()) and must still be identical to A.
// D pins one interleaving deterministically: a refund ingested while another session's
// transaction has inserted its charge but not committed yet (the refund's customer is copied
// from the charge across sessions: it must end up as a serial ingest or a rebuild has it).
//
// What is compared, and the only columns left out (each legitimately differs between databases):
//   object tables (charges, payment_intents, refunds, disputes, customers, checkout_sessions,
//     subscriptions, subscription_items, invoices): every column, including data, event_id and
//     event_created. No exclusion: every object's events have distinct created, so the event
//     that last set each row is the same whatever the arrival order.
//   stripe.events: every column but seq (the arrival order, which is what differs by design) and
//     received_at (wall-clock time of ingest).
//   aggregates: agg_payments, agg_declines, agg_methods, agg_customers, agg_checkout summed over
//     `shard` (the lowest number no other transaction in flight held, so how a sum is split over
//     shard rows depends on which transactions ran at once), keeping groups whose sums are not all zero (a
//     contribution added then withdrawn leaves a zero row in one database and none in another);
//     customer_totals in full.
//   views: every row of every view and of customer_rfm(as_of), in UTC and Asia/Seoul.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build } from '../../tools/shopgen.mjs';
import { ingestFile, psql, viewSnapshot } from '../reference/reference.mjs';

const { PROP_A: A, PROP_B: B, PROP_C: C, PROP_D: D, PROP_DATA: DATA, PROP_WIDE: WIDE } = process.env;
if (!A || !B || !C || !D || !DATA || !WIDE) throw new Error('PROP_A..PROP_D, PROP_DATA, PROP_WIDE must be set (run test/property/run.sh)');

const truth = JSON.parse(fs.readFileSync(path.join(DATA, 'truth.json'), 'utf8'));
const distinct = truth.meta.events;
const lineCount = (f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length;

const OBJECT_TABLES = ['charges', 'payment_intents', 'refunds', 'disputes', 'customers', 'checkout_sessions',
  'subscriptions', 'subscription_items', 'invoices'];
const AGGREGATES = {
  agg_payments: { key: 'bucket, account, livemode, currency', sums: ['succeeded', 'failed', 'gross', 'refunded', 'disputes', 'lost_disputed'] },
  agg_declines: { key: 'account, livemode, failure_code, outcome_reason', sums: ['failed'] },
  agg_methods: { key: 'account, livemode, currency, payment_method_type, card_brand', sums: ['succeeded', 'gross'] },
  agg_customers: { key: 'bucket, account, livemode', sums: ['new_customers'] },
  agg_checkout: { key: 'bucket, account, livemode', sums: ['sessions', 'completed', 'paid', 'expired'] },
};

/** Fingerprints of everything that must not depend on delivery: { name: 'count md5' }. */
function fingerprint(db) {
  const q = [];
  for (const t of OBJECT_TABLES) q.push([t, `select count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' order by t.id)), '-') from stripe.${t} t`]);
  q.push(['events', `select count(*) || ' ' || coalesce(md5(string_agg(row(id, type, created, livemode, account, api_version, object_type, object_id, endpoint, body::text)::text, '|' order by id)), '-') from stripe.events`]);
  for (const [t, { key, sums }] of Object.entries(AGGREGATES)) {
    const s = sums.map((c) => `sum(${c})::bigint`).join(', ');
    q.push([t, `select count(*) || ' ' || coalesce(md5(string_agg(g::text, '|' order by g::text)), '-') from
                (select ${key}, ${s} from stripe.${t} group by ${key} having (${s}) is distinct from (${sums.map(() => '0::bigint').join(', ')})) g`]);
  }
  q.push(['customer_totals', `select count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '-') from stripe.customer_totals t`]);
  const out = psql(db, q.map(([name, sql]) => `select '${name}', (${sql})`).join(' union all ')).trim().split('\n');
  return Object.fromEntries(out.map((l) => l.split('|')));
}

function assertSame(label, x, y) {
  const diffs = Object.keys(x).filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]));
  if (diffs.length) {
    assert.fail(`${label}: ${diffs.length} differ: ${diffs.map((k) => `\n  ${k}: ${Array.isArray(x[k]) ? `${x[k].length} vs ${y[k].length} rows` : `${x[k]} vs ${y[k]}`}`).join('')}`);
  }
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGTZ: 'UTC' } });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}\n${err}`))));
  });
}

let fpA = null, viewsA = null;

test(`A: ${distinct} events ingested once each, in created order`, () => {
  const counts = ingestFile(A, path.join(DATA, 'events_inorder.jsonl'));
  assert.deepEqual(counts, { accepted: distinct });
  fpA = fingerprint(A);
  viewsA = viewSnapshot(A, truth.meta.as_of);
  const rows = Object.fromEntries(Object.entries(fpA).map(([k, v]) => [k, Number(v.split(' ')[0])]));
  console.log(`# A: ${JSON.stringify(rows)}`);
  assert.ok(rows.charges > 0 && rows.refunds > 0 && rows.disputes > 0 && rows.customers > 0 && rows.checkout_sessions > 0);
});

test('B: every event 1-3 times, shuffled within 10 minutes, one session: identical to A', () => {
  const file = path.join(DATA, 'events.jsonl');
  const n = lineCount(file);
  const counts = ingestFile(B, file);
  assert.deepEqual(counts, { accepted: distinct, duplicate: n - distinct });
  assertSame('B vs A', fingerprint(B), fpA);
  assertSame('B vs A views', viewSnapshot(B, truth.meta.as_of), viewsA);
});

test('C: every event 1-3 times, shuffled within 2 days, two concurrent sessions: identical to A', async () => {
  const file = path.join(WIDE, 'events.jsonl');
  const n = lineCount(file);
  const q = (s) => `'${s.replace(/'/g, "''")}'`;
  psql(C,
    'CREATE TABLE ingest_input (n bigserial PRIMARY KEY, body text NOT NULL)',
    `\\copy ingest_input (body) FROM ${q(file)} WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`,
    'CREATE TABLE ingest_result (n bigint PRIMARY KEY, event_id text, status text, reason text, retries int)',
    // One transaction per delivery, like a webhook endpoint; a deadlock between the two sessions
    // aborts that delivery only, and it is tried again (Stripe redelivers on a 500).
    `CREATE PROCEDURE ingest_part(part int, parts int) LANGUAGE plpgsql AS $$
     DECLARE x record; r stripe.ingest_result; tries int;
     BEGIN
       FOR x IN SELECT i.n, i.body FROM ingest_input i WHERE i.n % parts = part ORDER BY i.n LOOP
         tries := 0;
         LOOP
           BEGIN
             r := stripe.ingest_event(x.body);
             INSERT INTO ingest_result VALUES (x.n, r.event_id, r.status, r.reason, tries);
             EXIT;
           EXCEPTION WHEN deadlock_detected THEN
             tries := tries + 1;
             IF tries > 20 THEN RAISE; END IF;
           END;
         END LOOP;
         COMMIT;
       END LOOP;
     END $$`);
  const t0 = Date.now();
  await Promise.all([0, 1].map((part) => run('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', C, '-c', `CALL ingest_part(${part}, 2)`])));
  const secs = (Date.now() - t0) / 1000;
  const counts = JSON.parse(psql(C, 'select json_object_agg(status, n) from (select status, count(*) n from ingest_result group by 1) s'));
  const retries = psql(C, 'select coalesce(sum(retries), 0) from ingest_result').trim();
  console.log(`# C: ${n} deliveries in ${secs.toFixed(1)} s by 2 sessions, ${retries} deadlock retries`);
  assert.deepEqual(counts, { accepted: distinct, duplicate: n - distinct });
  assertSame('C vs A', fingerprint(C), fpA);
  assertSame('C vs A views', viewSnapshot(C, truth.meta.as_of), viewsA);
});

for (const [name, db] of [['B', B], ['C', C]]) {
  test(`${name} rebuilt from its log (stripe.rebuild()) is still identical to A`, () => {
    assert.equal(psql(db, 'select stripe.rebuild()').trim(), String(distinct));
    assertSame(`${name} rebuilt vs A`, fingerprint(db), fpA);
    assertSame(`${name} rebuilt vs A views`, viewSnapshot(db, truth.meta.as_of), viewsA);
  });
}

test('D: a refund ingested while its charge is being inserted by an uncommitted transaction keeps the charge\'s customer', async () => {
  const T = (x) => Date.parse(x) / 1000;
  const ch = { id: 'ch_3PropRaceCharge0000000001', created: T('2026-03-01T10:00:00Z'), amount: 5000, currency: 'usd', customer: 'cus_PropRace0001', livemode: true };
  const re = { id: 're_3PropRaceRefund0000000001', created: T('2026-03-02T10:00:00Z'), amount: 2000, currency: 'usd', charge: ch.id, status: 'succeeded', reason: 'requested_by_customer' };
  const charge = build.event('charge.succeeded', build.charge(ch), { id: 'evt_1PropRaceCharge000000001', created: ch.created, livemode: true });
  const refund = build.event('refund.created', build.refund(re), { id: 'evt_1PropRaceRefund000000001', created: re.created, livemode: true });
  const lit = (e) => `'${e.body.replace(/'/g, "''")}'`;
  // Session 1 inserts the charge and holds its transaction open; session 2 ingests the refund
  // meanwhile (autocommit); session 1 commits 1.5 s later.
  const s1 = run('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', D, '-c', 'BEGIN', '-c', `SELECT status FROM stripe.ingest_event(${lit(charge)})`,
    '-c', "SELECT 'holding', pg_sleep(1.5)", '-c', 'COMMIT']);
  for (let i = 0; ; i++) {  // wait until session 1 holds the uncommitted charge
    const held = psql(D, "select count(*) from pg_stat_activity where datname = current_database() and query like '%holding%' and pid <> pg_backend_pid()").trim();
    if (held === '1') break;
    if (i > 200) assert.fail('session 1 did not get to its open transaction');
    await new Promise((r) => setTimeout(r, 25));
  }
  await run('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', D, '-c', `SELECT status FROM stripe.ingest_event(${lit(refund)})`]);
  await s1;
  const stats = () => psql(D, "select coalesce((select customer from stripe.refunds where id = 're_3PropRaceRefund0000000001'), 'NULL') || ' ' || " +
    "coalesce((select payments || '/' || total_spent || '/' || refunded from stripe.customer_stats where customer = 'cus_PropRace0001'), 'no row')").trim();
  const incremental = stats();
  psql(D, 'select stripe.rebuild()');
  assert.equal(stats(), 'cus_PropRace0001 1/5000/2000', 'after rebuild');
  assert.equal(incremental, 'cus_PropRace0001 1/5000/2000', 'incremental state differs from the rebuilt one');
});
