#!/usr/bin/env node
// Mutated Stripe events for the SQL-level fuzz check of test/reliability/run.sh.
//
//   node fuzz.mjs --fixtures test/fixtures/stripe_objects.json --stream events_inorder.jsonl
//                 --cases N --seed S --secret whsec_... --out cases.tsv
//
// Seeds: every fixture object wrapped in the events of its kind, and a sample of generated
// events. Each case takes a seed (usually with a fresh event id, so that a mutant that is still
// valid is accepted and changes state) and applies one mutation. Output, one case per line:
//   n <TAB> mutation <TAB> body in base64 <TAB> Stripe-Signature header (valid, t = now)
// so every body also goes through the signed stripe.ingest as raw bytes.
import crypto from 'node:crypto';
import fs from 'node:fs';

const opt = { cases: 4000, seed: 1 };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

let s = (+opt.seed >>> 0) || 1;
const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1));
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];

// --- seeds
const fixtures = JSON.parse(fs.readFileSync(opt.fixtures, 'utf8'));
const typesOf = {
  charge: ['charge.succeeded', 'charge.failed', 'charge.refunded', 'charge.captured', 'charge.updated'],
  'checkout.session': ['checkout.session.completed', 'checkout.session.expired'],
  customer: ['customer.created', 'customer.updated', 'customer.deleted'],
  dispute: ['charge.dispute.created', 'charge.dispute.closed'],
  invoice: ['invoice.paid', 'invoice.payment_failed', 'invoice.voided'],
  payment_intent: ['payment_intent.succeeded', 'payment_intent.canceled'],
  refund: ['refund.created', 'refund.updated'],
  subscription: ['customer.subscription.created', 'customer.subscription.deleted'],
};
const seeds = [];
for (const [kind, obj] of Object.entries(fixtures)) {
  for (const type of typesOf[kind] || [`${kind}.updated`]) {
    seeds.push({ id: `evt_fx_${type}`, object: 'event', api_version: '2024-06-20', created: 1700000000 + seeds.length,
      livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type, data: { object: obj } });
  }
}
const stream = fs.readFileSync(opt.stream, 'utf8').split('\n').filter(Boolean);
for (let i = 0; i < 300 && stream.length; i++) seeds.push(JSON.parse(stream[Math.floor((i * stream.length) / 300)]));

// --- value and path helpers
const paths = (v, p = [], out = []) => {
  out.push(p);
  if (v && typeof v === 'object') for (const k of Object.keys(v)) paths(v[k], p.concat(Array.isArray(v) ? +k : k), out);
  return out;
};
const get = (v, p) => p.reduce((o, k) => (o == null ? undefined : o[k]), v);
const set = (v, p, x) => { if (!p.length) return x; get(v, p.slice(0, -1))[p[p.length - 1]] = x; return v; };
const del = (v, p) => { const o = get(v, p.slice(0, -1)); if (Array.isArray(o)) o.splice(p[p.length - 1], 1); else delete o[p[p.length - 1]]; return v; };
const bigString = (n) => 'x'.repeat(n);
// Values of every JSON type, and the troublesome ones. Raw JSON text: some are not valid JS numbers.
const oddValues = () => pick([
  'null', 'true', 'false', '0', '-1', '1.5', '-0', '1e400', '-1e400', '1e-400', '9223372036854775807',
  '9223372036854775808', '-9223372036854775809', '18446744073709551616', '253402300800', '-62135596800',
  '123456789012345678901234567890', '""', '"x"', '"123"', '"true"', '"\\u0000"', '"\\ud800"', '"\\udc00\\ud800"',
  '"\\uffff"', '"\\u00e9\\u4e2d\\ud83d\\ude00"', '"é中😀"', '[]', '{}', '[1,2,3]', '{"a":1}', '[null]', '{"object":"list","data":[{}]}',
  '{"object":"list","data":[1]}', '{"object":"list","data":null}', `"${bigString(ri(1000, 10000))}"`,
]);
const envelope = [['id'], ['type'], ['created'], ['livemode'], ['account'], ['api_version'], ['data'], ['data', 'object'],
  ['data', 'object', 'id'], ['data', 'object', 'object'], ['data', 'object', 'created'], ['data', 'object', 'amount'],
  ['data', 'object', 'currency'], ['data', 'object', 'status'], ['data', 'object', 'customer'], ['data', 'object', 'refunds'],
  ['data', 'object', 'items'], ['data', 'object', 'amount_refunded'], ['data', 'object', 'charge'], ['object']];
// Splices raw JSON text in place of the value at path p (so odd numbers survive).
const withRaw = (ev, p, raw) => {
  const marker = `__FUZZ_${ri(0, 1e9)}__`;
  const copy = structuredClone(ev);
  if (!p.length) return raw;
  const parent = get(copy, p.slice(0, -1));
  if (parent == null || typeof parent !== 'object') return JSON.stringify(copy);
  parent[p[p.length - 1]] = marker;
  return JSON.stringify(copy).replace(`"${marker}"`, () => raw);
};
const nest = (depth, open, close, inner = '1') => open.repeat(depth) + inner + close.repeat(depth);

// --- mutations: each returns a Buffer (raw bytes) from a seed event
const bytes = (x) => (Buffer.isBuffer(x) ? x : Buffer.from(x, 'utf8'));
// The big mutants (long strings, deep nesting, many keys) are big only for their first BIG
// cases, so the case file grows with the number of small cases only.
const BIG = 60;
const seen = {};
const big = (name) => (seen[name] = (seen[name] || 0) + 1) <= BIG;
const M = {
  flip_bits(ev) { const b = bytes(JSON.stringify(ev)); for (let i = ri(1, 4); i > 0; i--) b[ri(0, b.length - 1)] ^= 1 << ri(0, 7); return b; },
  flip_byte(ev) { const b = bytes(JSON.stringify(ev)); b[ri(0, b.length - 1)] = ri(0, 255); return b; },
  insert_bytes(ev) {
    const b = bytes(JSON.stringify(ev)); const at = ri(0, b.length);
    const ins = Buffer.from(pick([[0], [0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x22], [0x5c], [0x7b], [0x5d], [0x2c], [0x3a],
      [0xef, 0xbb, 0xbf], [0xf4, 0x90, 0x80, 0x80], [ri(0, 255)], [ri(0, 255), ri(0, 255), ri(0, 255)]]));
    return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
  },
  delete_bytes(ev) { const b = bytes(JSON.stringify(ev)); const at = ri(0, b.length - 1); return Buffer.concat([b.subarray(0, at), b.subarray(at + ri(1, 16))]); },
  truncate(ev) { const b = bytes(JSON.stringify(ev)); return b.subarray(0, ri(0, b.length - 1)); },
  structural_char(ev) {  // swap one structural character for another
    const b = bytes(JSON.stringify(ev)); const idx = [];
    b.forEach((c, i) => { if ('{}[]:,"'.includes(String.fromCharCode(c))) idx.push(i); });
    b[pick(idx)] = pick('{}[]:,"'.split('')).charCodeAt(0); return b;
  },
  change_type_any(ev) { const p = pick(paths(ev).filter((x) => x.length)); return withRaw(ev, p, oddValues()); },
  change_type_envelope(ev) { return withRaw(ev, pick(envelope), oddValues()); },
  delete_field(ev) { const p = pick(paths(ev).filter((x) => x.length)); return JSON.stringify(del(structuredClone(ev), p)); },
  delete_envelope(ev) { const c = structuredClone(ev); const p = pick(envelope); if (get(c, p.slice(0, -1)) != null) del(c, p); return JSON.stringify(c); },
  nest_deep(ev) {
    const d = big('nest') ? pick([64, 100, 1000, 5000, 20000, 50000]) : pick([64, 100, 1000]);  // the reader's limit is far below
    const p = pick(paths(ev).filter((x) => x.length));
    return withRaw(ev, p, rnd() < 0.5 ? nest(d, '[', ']') : nest(d, '{"a":', '}'));
  },
  nest_envelope(ev) { return withRaw(ev, pick(envelope), nest(big('nest_env') ? pick([200, 3000, 50000]) : pick([65, 200, 1000]), '[', ']')); },
  huge_string(ev) {
    const p = pick(paths(ev).filter((x) => x.length && typeof get(ev, x) === 'string'));
    // Large; some beyond stripe.max_payload_bytes (1 MB by default).
    if (!big('huge')) return withRaw(ev, p, `"${bigString(pick([3000, 9000]))}"`);
    return withRaw(ev, p, `"${bigString(rnd() < 0.15 ? pick([1100000, 2500000]) : pick([5000, 60000, 250000, 1000000]))}"`);
  },
  many_keys(ev) { const c = structuredClone(ev); const o = {}; for (let i = big('keys') ? ri(500, 8000) : ri(50, 300); i > 0; i--) o[`k${i}`] = i; c.data.object.metadata = o; return JSON.stringify(c); },
  duplicate_keys(ev) {
    const t = JSON.stringify(ev); const k = pick(['id', 'type', 'created', 'livemode', 'object']);
    return t.replace('{', `{"${k}":${oddValues()},`);
  },
  escapes(ev) {
    const p = pick(paths(ev).filter((x) => x.length && typeof get(ev, x) === 'string'));
    return withRaw(ev, p, `"${pick(['\\u0000', '\\ud800', '\\udfff', '\\uD83D\\uDE00', '\\x41', '\\u12', '\\', '\\q', '\t', '\n', '\u0001', '\\/'])}"`);
  },
  top_level(ev) {
    return pick(['', ' ', 'null', '[]', '"evt"', '123', 'true', '{}', '\ufeff' + JSON.stringify(ev), JSON.stringify(ev) + ' x',
      JSON.stringify(ev) + JSON.stringify(ev), `[${JSON.stringify(ev)}]`, JSON.stringify(ev) + '\u0000', '{"object":"v2.core.event","id":"evt_thin"}',
      JSON.stringify({ ...ev, object: 'v2.core.event' }), JSON.stringify(ev).replace(/ /g, '\u00a0')]);
  },
  numbers(ev) {
    return withRaw(ev, pick([['created'], ['data', 'object', 'created'], ['data', 'object', 'amount'], ['data', 'object', 'amount_captured'],
      ['data', 'object', 'amount_refunded'], ['data', 'object', 'canceled_at'], ['data', 'object', 'current_period_end']]),
    pick(['0', '-1', '1e10', '1E3', '1.0', '0.5', '-0.0', '99999999999999', '9223372036854775807', '9223372036854775808',
      '-9223372036854775808', '-9223372036854775809', '1e19', '253402300799', '253402300800', '9224318015999', '-210866803201', '01', '+1', '.5', 'NaN', 'Infinity']));
  },
  unknown_type_valid(ev) { const c = structuredClone(ev); c.type = `fuzz.${ri(0, 99)}.happened`; c.data.object.object = pick(['fuzz_object', 'charge', 'refund']); return JSON.stringify(c); },
};
const names = Object.keys(M);

const t = Math.floor(Date.now() / 1000);
const out = [];
const counts = {};
for (let n = 1; n <= +opt.cases; n++) {
  const seed = structuredClone(pick(seeds));
  if (rnd() < 0.9) seed.id = `evt_fz_${n}`;
  const name = names[(n - 1) % names.length];
  let body;
  try { body = bytes(M[name](seed)); } catch (e) { body = bytes(JSON.stringify(seed)); }
  const sig = crypto.createHmac('sha256', opt.secret).update(Buffer.concat([Buffer.from(`${t}.`), body])).digest('hex');
  out.push(`${n}\t${name}\t${body.toString('base64')}\tt=${t},v1=${sig}\n`);
  counts[name] = (counts[name] || 0) + 1;
}
fs.writeFileSync(opt.out, out.join(''));
console.log(`${out.length} cases from ${seeds.length} seeds: ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
