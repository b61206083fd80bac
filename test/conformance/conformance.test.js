'use strict';
// Differential test: pg_stripe's stripe.verify_signature / stripe.construct_event against
// stripe-node 23.x's webhooks.constructEvent, the reference of SPEC.md §1.
//
//  * every case also goes through an independent JavaScript reading of SPEC §1
//    (lib/spec_model.js): pg_stripe must match it on every case, including the differences;
//  * outside the deliberate differences (table in lib/cases.js), stripe-node must agree with
//    pg_stripe on the signature decision, the failure class, the whitespace note and the event;
//  * each deliberate difference is a concrete case whose two results are both asserted.
//
// Run by run.sh inside pg_virtualenv (PG* variables), with the extension installed.
// CONFORMANCE_SEED and CONFORMANCE_CASES change the random part (defaults below).
const test = require('node:test');
const assert = require('node:assert/strict');

const { generateRandom, agreedEdges, differences, touchesDifference } = require('./lib/cases');
const { specOutcome, SIGNATURE_PASSED } = require('./lib/spec_model');
const { stripeNodeOutcome, stripeVersion } = require('./lib/stripe_node');
const { runInPostgres } = require('./lib/db');

const SEED = Number(process.env.CONFORMANCE_SEED || 20240601);
const COUNT = Number(process.env.CONFORMANCE_CASES || 600);
const WHITESPACE_DETAIL = 'The webhook secret contains whitespace; check for a stray space or newline around it.';

// Key order and -0 do not matter to an event; jsonb reorders keys and prints -0 as 0.
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const random = generateRandom(SEED, COUNT);
const diffs = differences();
const all = [...random, ...agreedEdges, ...diffs.map((d) => d.c)];
let ours;

test.before(() => {
  assert.match(stripeVersion, /^23\./, `stripe-node 23.x expected, found ${stripeVersion}`);
  ours = runInPostgres(all);
});

function describe(c) {
  return `${c.name}\n  header: ${c.header.slice(0, 200)}\n  secrets: ${JSON.stringify(c.secrets)} (${c.secretMode})` +
    `\n  payload: ${c.payload.length} bytes as ${c.nodeAs}/${c.sqlAs}, tolerance ${c.tolerance}, atMs ${c.atMs}`;
}

// pg_stripe against the SPEC model, on every case.
function checkAgainstSpec(c, got) {
  const want = specOutcome({ ...c });
  const where = describe(c);
  assert.equal(got.st, want.st, `construct_event class\n${where}\n  got: ${JSON.stringify(got)}`);
  assert.equal(got.verify, SIGNATURE_PASSED.has(want.st), `verify_signature\n${where}`);
  if (want.st === 'ST006') assert.equal(got.detail, want.whitespace ? WHITESPACE_DETAIL : null, `ST006 detail\n${where}`);
  if (want.st === 'ST007') assert.equal(got.detail, want.detail, `ST007 detail\n${where}`);
  if (want.st === '00000') assert.equal(canonical(JSON.parse(got.event)), canonical(want.event), `event\n${where}`);
  return want;
}

test('pg_stripe matches the SPEC §1 model on every case', () => {
  all.forEach((c, i) => checkAgainstSpec(c, ours[i]));
});

test('stripe-node agrees with pg_stripe outside the deliberate differences', (t) => {
  const cases = [...random.map((c, i) => [c, ours[i]]), ...agreedEdges.map((c, i) => [c, ours[random.length + i]])];
  let compared = 0;
  let agreed = 0;
  let excused = 0;
  const classes = {};
  for (const [c, got] of cases) {
    if (touchesDifference(c)) {
      excused++;
      continue;
    }
    compared++;
    const node = stripeNodeOutcome(c);
    const where = describe(c);
    assert.equal(got.verify, node.sigPass, `signature decision\n${where}\n  stripe-node: ${JSON.stringify(node)}\n  ours: ${JSON.stringify(got)}`);
    // stripe-node returns non-objects as events (difference D20); our class for them is ST010.
    const nodeClass = node.cls === 'non-object' ? 'ST010' : node.cls;
    assert.equal(got.st, nodeClass, `failure class\n${where}\n  stripe-node: ${JSON.stringify(node)}\n  ours: ${JSON.stringify(got)}`);
    if (got.st === 'ST006') assert.equal(got.detail !== null, node.whitespace, `whitespace note\n${where}`);
    if (got.st === '00000') assert.equal(canonical(JSON.parse(got.event)), canonical(node.event), `event\n${where}`);
    agreed++;
    classes[got.st] = (classes[got.st] || 0) + 1;
  }
  t.diagnostic(`seed ${SEED}: ${cases.length} cases (${random.length} random, ${agreedEdges.length} hand-written edges); ` +
    `${compared} compared with stripe-node ${stripeVersion}, ${agreed} agreements; ` +
    `${excused} random cases touched a deliberate difference and were checked against SPEC only`);
  t.diagnostic(`outcomes compared: ${Object.entries(classes).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  assert.equal(agreed, compared);
  // The comparison must carry weight: most cases compared, every class represented.
  assert.ok(compared >= 0.9 * cases.length, `only ${compared} of ${cases.length} cases compared`);
  for (const st of ['00000', 'ST001', 'ST002', 'ST003', 'ST004', 'ST005', 'ST006', 'ST007', 'ST010', 'ST011']) {
    assert.ok(classes[st] > 0, `no compared case ends in ${st}`);
  }
  assert.ok(classes['00000'] >= 50, 'too few valid deliveries compared');
});

test('deliberate differences: SPEC is stricter, both sides asserted', (t) => {
  const offset = random.length + agreedEdges.length;
  diffs.forEach((d, i) => {
    const got = ours[offset + i];
    const where = `${d.id} ${d.what}`;
    // pg_stripe: what SPEC requires (also checked against the model above).
    assert.equal(got.verify, d.ours.verify, `${where}: verify_signature`);
    assert.equal(got.st, d.ours.st, `${where}: construct_event class (${JSON.stringify(got)})`);
    if ('whitespace' in d.ours) assert.equal(got.detail !== null, d.ours.whitespace, `${where}: whitespace DETAIL`);
    // stripe-node: still the documented quirk.
    const node = stripeNodeOutcome(d.c);
    assert.equal(node.sigPass, d.node.sigPass, `${where}: stripe-node decision (${JSON.stringify(node)})`);
    assert.equal(node.cls, d.node.cls, `${where}: stripe-node outcome (${JSON.stringify(node)})`);
    if ('whitespace' in d.node) assert.equal(node.whitespace, d.node.whitespace, `${where}: stripe-node whitespace note`);
    // A difference must differ somewhere, or it does not belong in the table.
    const nodeAsOurs = node.cls === 'non-object' ? 'ST010' : node.cls;
    assert.ok(
      got.verify !== node.sigPass || got.st !== nodeAsOurs || (got.detail !== null) !== Boolean(node.whitespace),
      `${where}: listed as a difference but both sides agree`,
    );
  });
  t.diagnostic(`${diffs.length} difference cases (${new Set(diffs.map((d) => d.id)).size} table rows) asserted on both sides`);
});
