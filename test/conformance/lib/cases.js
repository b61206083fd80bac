'use strict';
// The cases: deterministic random deliveries and mutations (seeded PRNG), hand-written edges
// where stripe-node and SPEC agree, and the table of deliberate differences.
//
// A case: { name, payload: Buffer, nodeAs: 'string'|'buffer', sqlAs: 'text'|'bytea',
//           header: string, secrets: (string|null)[], secretMode: 'text'|'array',
//           tolerance: number, atMs: number }
const fs = require('node:fs');
const path = require('node:path');
const { hmacHex } = require('./spec_model');

// mulberry32: small, seedable, the same sequence on every machine.
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    hex: (n) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join(''),
    word: (n) =>
      Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[Math.floor(next() * 62)]).join(''),
  };
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const T0 = 1700000000;

const validUtf8 = (buf) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch {
    return false;
  }
};

// Real event bodies: Stripe's fixture objects wrapped as events (the fuzzer's seed corpus).
function corpusEvents() {
  const dir = path.join(__dirname, '..', '..', 'fuzz', 'corpus', 'json_fuzz');
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('event_'))
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, f)));
}

function syntheticEvent(r, i) {
  const strings = ['Caf\u00e9', 'hot \u2615', 'smile \u{1F600}', 'quote " and \\ backslash', 'tab\tnew\nline', 'plain', ''];
  const obj = {
    id: `ch_${r.word(24)}`,
    object: 'charge',
    amount: r.int(0, 10 ** 6),
    amount_captured: r.int(0, 10 ** 6),
    currency: r.pick(['usd', 'eur', 'jpy', 'krw', 'kwd']),
    description: r.pick(strings),
    metadata: { order: r.word(8), note: r.pick(strings) },
    outcome: r.chance(0.5) ? null : { risk_score: r.int(0, 99), seller_message: r.pick(strings) },
    refunds: { object: 'list', data: [], has_more: false },
    rate: r.pick([0.5, -1.25, 1e-7, 123456.789, 0]),
    paid: r.chance(0.5),
    status: r.pick(['succeeded', 'failed', 'pending']),
  };
  const event = {
    id: `evt_${r.word(24)}`,
    object: 'event',
    api_version: '2024-06-20',
    created: T0 + i,
    data: { object: obj },
    livemode: r.chance(0.2),
    pending_webhooks: r.int(0, 3),
    request: { id: null, idempotency_key: null },
    type: r.pick(['charge.succeeded', 'charge.failed', 'charge.refunded', 'charge.updated']),
  };
  let text = r.chance(0.5) ? JSON.stringify(event, null, 2) : JSON.stringify(event);
  // Stripe escapes nothing beyond JSON's minimum; some senders escape non-ASCII: both are JSON.
  if (r.chance(0.3)) text = text.replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return Buffer.from(text, 'utf8');
}

// Bodies on which JSON.parse and the strict reader agree (no \u0000, lone surrogates, deep nesting).
function bodyPool(r) {
  const bodies = corpusEvents().map((b) => ({ kind: 'event', b }));
  for (let i = 0; i < 16; i++) bodies.push({ kind: 'event', b: syntheticEvent(r, i) });
  const other = [
    ['thin', '{"id":"evt_test_65R9","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","created":"2024-10-01T12:00:00.000Z"}'],
    ['empty object', '{}'],
    ['duplicate keys', '{"id":"evt_a","object":"event","id":"evt_b"}'],
    ['trailing newline', '{"id":"evt_1","object":"event"}\n'],
    ['array', '[{"id":"evt_1"}]'],
    ['number', '42'],
    ['null', 'null'],
    ['string', '"evt_1"'],
    ['not JSON', 'hello'],
    ['truncated', '{"id":"evt_1","object":'],
    ['trailing garbage', '{"id":"evt_1"} x'],
    ['non-ASCII text', 'caf\u00e9 \u{1F600}'],
    ['raw control character', '{"id":"a\tb"}'],
  ];
  for (const [kind, text] of other) bodies.push({ kind, b: Buffer.from(text, 'utf8') });
  bodies.push({ kind: 'NUL byte', b: Buffer.from('{"id":"a\u0000b"}', 'utf8') });
  bodies.push({ kind: 'BOM', b: Buffer.concat([BOM, Buffer.from('{"id":"evt_bom","object":"event"}')]) });
  return bodies;
}

// ---------------------------------------------------------------------------------------------
// Random deliveries and mutations.

function generateRandom(seed, count) {
  const r = prng(seed);
  const bodies = bodyPool(r);
  const S = ['whsec_' + r.word(32), 'whsec_' + r.word(32), 'whsec_caf\u00e9_\u2615_' + r.word(8)];
  const cases = [];
  for (let i = 0; i < count; i++) {
    const { kind, b: body } = r.pick(bodies);
    let payload = body;
    // t: mostly around T0; some extremes that both sides handle identically (|t| < 2^53, t != -1).
    const t = r.chance(0.8)
      ? T0 + r.int(-1e6, 1e6)
      : r.pick([0, 1, -5, 1234567890, 4102444800, 2 ** 53 - 1, -(2 ** 53) + 1]);
    const tolerance = r.pick([300, 300, 300, 300, 0, -1, 1, 60, 86400, 2147483647]);
    const tolRef = tolerance > 0 ? tolerance : 300;
    const age = r.pick([0, 1, tolRef - 1, tolRef, tolRef + 1, -3600, 10 ** 6, r.int(0, 1000), r.int(0, 1000)]);
    const nowSec = Math.abs(t) < 1e11 ? t + age : T0;
    const atMs = nowSec * 1000 + r.int(0, 999);

    // Who signed, and which secrets the receiver holds.
    const signers = r.chance(0.85) ? [S[0]] : r.chance(0.5) ? [S[1]] : [S[0], S[2]];
    let secretMode = r.chance(0.5) ? 'text' : 'array';
    let secrets;
    if (secretMode === 'text') {
      secrets = [r.chance(0.7) ? S[0] : r.pick([S[2], S[0] + '\n', ' ' + S[0], 'whsec_other', '', '   ', '\t', S[1]])];
    } else {
      const pool = [null, '', ' ', '\r\n', S[0], S[1], S[2], 'whsec_x', 'whsec_a b'];
      secrets = Array.from({ length: r.int(0, 4) }, () => r.pick(pool));
      if (r.chance(0.85)) secrets.splice(r.int(0, secrets.length), 0, r.pick([S[0], S[0], S[2]]));
    }

    // The header as Stripe sends it, then mutations.
    let parts = [`t=${t}`, ...signers.map((s) => `v1=${hmacHex(s, t, payload)}`)];
    if (r.chance(0.3)) parts.push(`v0=${r.hex(64)}`);
    const mutations = [];
    // Harmless mutations (the delivery stays valid) are drawn more often than breaking ones.
    const harmless = ['wrong v1', 'v0', 'junk key', 'empty part', 'part without =', 'shuffle', 'earlier t', 'plus t', 'zero-padded t'];
    const breaking = ['later t', 'wrong t', 'uppercase v1', 'short v1', 'drop t', 'drop v1', 'space key', 'truncate', 'empty header'];
    const nMut = r.pick([0, 0, 0, 1, 1, 2, 3]);
    for (let k = 0; k < nMut; k++) {
      const m = r.chance(0.6) ? r.pick(harmless) : r.pick(breaking);
      mutations.push(m);
      const v1idx = parts.findIndex((p) => p.startsWith('v1='));
      const tidx = parts.findIndex((p) => p.startsWith('t='));
      switch (m) {
        case 'wrong v1': parts.splice(r.int(0, parts.length), 0, `v1=${r.hex(64)}`); break;
        case 'v0': parts.splice(r.int(0, parts.length), 0, `v0=${r.hex(64)}`); break;
        case 'junk key': parts.splice(r.int(0, parts.length), 0, r.pick(['x=y', 'v2=abc', 'scheme=v1', 'T=1', 'V1=00'])); break;
        case 'empty part': parts.splice(r.int(0, parts.length), 0, ''); break;
        case 'part without =': parts.splice(r.int(0, parts.length), 0, r.pick(['foo', 'v0', 'tt', 'x'])); break;
        case 'shuffle': parts = parts.map((p) => [r.next(), p]).sort((a, b) => a[0] - b[0]).map((x) => x[1]); break;
        case 'earlier t': parts.unshift(`t=${t + r.int(1, 1000)}`); break;
        case 'later t': parts.push(`t=${t + r.int(1, 1000)}`); break;
        case 'wrong t': if (tidx >= 0) parts[tidx] = `t=${t - r.int(1, 1000)}`; break;
        case 'uppercase v1': if (v1idx >= 0) parts[v1idx] = parts[v1idx].replace(/[a-f]/g, (c) => c.toUpperCase()); break;
        case 'short v1': if (v1idx >= 0) parts[v1idx] = parts[v1idx].slice(0, -1); break;
        case 'drop t': parts = parts.filter((p) => !p.startsWith('t=')); break;
        case 'drop v1': parts = parts.filter((p) => !p.startsWith('v1=')); break;
        case 'plus t': if (tidx >= 0 && t >= 0) parts[tidx] = `t=+${t}`; break;
        case 'zero-padded t': if (tidx >= 0) parts[tidx] = t < 0 ? `t=-000${-t}` : `t=000${t}`; break;
        case 'space key': if (v1idx >= 0) parts[v1idx] = ' ' + parts[v1idx]; break;
        case 'truncate': { const h = parts.join(','); parts = [h.slice(0, r.int(0, h.length))]; break; }
        case 'empty header': parts = ['']; break;
      }
    }
    const header = parts.join(',');

    // Body mutations after signing (ASCII only, so strings stay valid UTF-8).
    if (r.chance(0.08)) {
      const m = r.pick(['append space', 'flip', 'empty']);
      mutations.push(`body: ${m}`);
      if (m === 'append space') payload = Buffer.concat([payload, Buffer.from(' ')]);
      if (m === 'flip') {
        payload = Buffer.from(payload);
        const at = r.int(0, payload.length - 1);
        payload[at] = payload[at] === 0x41 ? 0x42 : 0x41;
      }
      if (m === 'empty') payload = Buffer.alloc(0);
    }

    // How each side receives the body. A Buffer reaches stripe-node only when decoding it is the
    // identity (valid UTF-8, no BOM, not empty): the other Buffers are the table's D11-D13.
    const utf8 = validUtf8(payload);
    const nodeAs = utf8 && payload.length > 0 && !payload.subarray(0, 3).equals(BOM) && r.chance(0.3) ? 'buffer' : 'string';
    const sqlAs = utf8 && !payload.includes(0) && r.chance(0.5) ? 'text' : 'bytea';
    if (secretMode === 'text' && secrets[0] === null) secretMode = 'array';
    cases.push({
      name: `random #${i} (${kind}${mutations.length ? '; ' + mutations.join(', ') : ''})`,
      payload, nodeAs, sqlAs, header, secrets, secretMode, tolerance, atMs,
    });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Hand-written edges on which SPEC and stripe-node agree (uppercase hex is one: stripe-node's
// secureCompare is case-sensitive too, so it is no difference).

const SECRET = 'whsec_conformance_0123456789';
const BODY = Buffer.from('{"id":"evt_edge","object":"event","type":"charge.succeeded","created":1700000000}');

function edge(name, over) {
  return {
    name, payload: BODY, nodeAs: 'string', sqlAs: 'text', header: `t=${T0},v1=${hmacHex(SECRET, T0, BODY)}`,
    secrets: [SECRET], secretMode: 'text', tolerance: 300, atMs: T0 * 1000, ...over,
  };
}
const good = (t = T0, body = BODY, secret = SECRET) => hmacHex(secret, t, body);

const agreedEdges = [
  edge('valid'),
  edge('valid, payload as Buffer', { nodeAs: 'buffer', sqlAs: 'bytea' }),
  edge('exactly at the tolerance', { atMs: (T0 + 300) * 1000 + 999 }),
  edge('one second past the tolerance', { atMs: (T0 + 301) * 1000 }),
  edge('in the future', { atMs: (T0 - 86400) * 1000 }),
  edge('tolerance 0 disables', { tolerance: 0, atMs: (T0 + 10 ** 8) * 1000 }),
  edge('tolerance -1 disables', { tolerance: -1, atMs: (T0 + 10 ** 8) * 1000 }),
  edge('tolerance 1, 2 s old', { tolerance: 1, atMs: (T0 + 2) * 1000 }),
  edge('at before 1970 floors down', { header: `t=-301,v1=${good(-301)}`, atMs: -500 }),
  edge('uppercase hex', { header: `t=${T0},v1=${good().toUpperCase()}` }),
  edge('t=+T', { header: `t=+${T0},v1=${good()}` }),
  edge('t=000T', { header: `t=000${T0},v1=${good()}` }),
  edge('t=-0 signs as 0', { header: `t=-0,v1=${good(0)}`, tolerance: 0 }),
  edge('last t wins', { header: `t=1,v1=${good()},t=${T0}` }),
  edge('v1 first, several candidates', { header: `v1=${'0'.repeat(64)},v1=${good()},t=${T0}` }),
  edge('v0 only', { header: `t=${T0},v0=${good()}` }),
  edge('no t', { header: `v1=${good()}` }),
  edge('space before key', { header: `t=${T0}, v1=${good()}` }),
  edge('empty header', { header: '' }),
  edge('empty string payload', { payload: Buffer.alloc(0) }),
  edge('empty secret', { secrets: [''] }),
  edge('blank secret', { secrets: [' \t\r\n\f\v'] }),
  edge('secret with trailing newline', { secrets: [SECRET + '\n'] }),
  edge('secret with inner space', { secrets: ['whsec_a b'] }),
  edge('wrong secret', { secrets: ['whsec_wrong'] }),
  edge('non-ASCII secret', { secrets: ['whsec_\u00e9\u2615'], header: `t=${T0},v1=${good(T0, BODY, 'whsec_\u00e9\u2615')}` }),
  edge('array: rotation', { secretMode: 'array', secrets: ['whsec_old', SECRET] }),
  edge('array: NULL and blank ignored', { secretMode: 'array', secrets: [null, '', ' ', SECRET] }),
  edge('array: all blank', { secretMode: 'array', secrets: [null, ' ', ''] }),
  edge('array: empty', { secretMode: 'array', secrets: [] }),
  edge('array: one matches, too old', { secretMode: 'array', secrets: ['whsec_x', SECRET], atMs: (T0 + 301) * 1000 }),
  (() => {
    const b = Buffer.concat([BOM, BODY]);
    return edge('BOM in a string payload, signed with it', { payload: b, sqlAs: 'bytea', header: `t=${T0},v1=${good(T0, b)}` });
  })(),
  (() => {
    const b = Buffer.from('{"id":"evt_thin","object":"v2.core.event"}');
    return edge('thin event', { payload: b, header: `t=${T0},v1=${good(T0, b)}` });
  })(),
  (() => {
    const b = Buffer.from('{"a":"caf\u00e9 \u{1F600}","n":[1.50,-0,1e2,12345678901234567890]}');
    return edge('non-ASCII and numbers', { payload: b, header: `t=${T0},v1=${good(T0, b)}` });
  })(),
  (() => {
    const b = Buffer.from('not json');
    return edge('valid signature over non-JSON', { payload: b, header: `t=${T0},v1=${good(T0, b)}` });
  })(),
  (() => {
    // stripe-node's own header generator, as its tests use it.
    const { generateTestHeaderString } = require('./stripe_node');
    return edge('generateTestHeaderString', { header: generateTestHeaderString(BODY.toString(), SECRET, T0) });
  })(),
];

// ---------------------------------------------------------------------------------------------
// DELIBERATE DIFFERENCES: where SPEC §1 is stricter than (or reads differently from)
// stripe-node 23.x constructEvent. Each row is a concrete case with both results asserted:
// `ours` is what SPEC requires of pg_stripe, `node` what stripe-node does today (if stripe-node
// changes, the row fails and the table needs a look).
//
//  id   | input                                   | stripe-node 23.x                          | pg_stripe (SPEC)
//  -----+-----------------------------------------+-------------------------------------------+---------------------------
//  D1   | t=1700000000abc (trailing junk)         | parseInt → 1700000000, signature passes   | ST003 unparsable t
//  D2   | t=1700000000.5 (decimal)                | parseInt → 1700000000, passes             | ST003
//  D3   | t= 1700000000 (leading space)           | parseInt trims, passes                    | ST003 (keys/values exact)
//  D4   | t=0x10 (hex)                            | parseInt(…, 10) → 0, signs "0."           | ST003
//  D5   | t=9223372036854775808 (beyond int64)    | a double; signs "9223372036854776000."    | ST003 (must fit int64)
//  D6   | t=9007199254740993 (> 2^53, in int64)   | rounds to …992, signs that: mismatch      | exact int64: passes
//  D7   | t=-1                                    | its "no timestamp" sentinel: ST003        | a valid t (tolerance 0: passes)
//  D8   | t=-1, tolerance 300                     | ST003                                     | ST007 too old (both fail)
//  D9   | t=abc, v1 = HMAC("NaN.<body>")          | parseInt → NaN, signs "NaN.", passes      | ST003
//  D10  | last t unparsable: t=T,…,t=x            | NaN: ST006 mismatch                       | ST003 (both fail)
//  D11  | a part "t" without '=' after a good t   | t becomes NaN: ST006                      | part ignored: passes
//  D12  | a part "v1" without '=' beside a good v1| candidate undefined: secureCompare throws | part ignored: passes
//  D13  | an empty "v1=" beside a good v1         | secureCompare('') throws                  | no match for it; good one passes
//  D14  | v1=<good>=x (second '=')                | split('=') keeps <good>: passes           | value is "<good>=x": ST006
//  D15  | t=T=x                                   | parseInt(T): passes                       | ST003
//  D16  | empty Buffer payload                    | not "no payload"; signs "T.": passes sig, | ST001 no payload
//       |                                         | then JSON.parse throws                    |
//  D17  | Buffer with BOM, signed with the BOM    | TextDecoder strips the BOM: ST006         | exact bytes: signature valid
//       |                                         |                                           | (construct_event: ST010)
//  D18  | Buffer with BOM, signed without it      | BOM stripped: passes, returns the event   | ST006 (no BOM stripping)
//  D19  | Buffer with invalid UTF-8, signed as is | decoded with U+FFFD first: ST006          | exact bytes: signature valid,
//       |                                         |                                           | construct_event ST010
//  D20  | signed JSON null / array / number /     | returns that value as the "event"         | ST010: not a JSON object
//       | string / boolean                        |                                           |
//  D21  | signed {"a":"\u0000"}                   | JSON.parse accepts                        | ST010 (jsonb refuses \u0000)
//  D22  | signed {"a":"\ud800"} (lone surrogate)  | JSON.parse accepts                        | ST010
//  D23  | signed JSON nested 129 deep             | JSON.parse accepts                        | ST010 (depth limit 128)
//  D24  | signed {"amount":1e1000000}             | JSON.parse → Infinity, returns it         | ST010 (jsonb: numeric overflow)
//  D25  | mismatch, secret with NBSP (U+00A0)     | whitespace note (its /\s/ is Unicode)     | no DETAIL (ASCII whitespace)
//  D26  | secret arrays                           | takes one secret                          | any usable secret may match
//       |                                         | (modelled, not a difference: see          |
//       |                                         |  stripe_node.js stripeNodeOutcome)        |
// Not differences, checked among the agreed edges: uppercase hex (both case-sensitive), t=+T and
// t=000T (parseInt agrees), t=-0, v0 ignored, blank secrets (both ASCII whitespace), BOM in a
// *string* payload (both sign it and both reject the JSON), thin events (its plain Error is ST011).

function differences() {
  const hmac = (t, body = BODY, secret = SECRET) => hmacHex(secret, t, body);
  const signed = (text) => {
    const b = Buffer.from(text, 'utf8');
    return { payload: b, header: `t=${T0},v1=${hmac(T0, b)}`, sqlAs: 'bytea' };
  };
  const rows = [
    ['D1', 't=1700000000abc', { header: `t=${T0}abc,v1=${hmac(T0)}` }, { verify: false, st: 'ST003' }, { sigPass: true, cls: '00000' }],
    ['D2', 't=1700000000.5', { header: `t=${T0}.5,v1=${hmac(T0)}` }, { verify: false, st: 'ST003' }, { sigPass: true, cls: '00000' }],
    ['D3', 't= 1700000000', { header: `t= ${T0},v1=${hmac(T0)}` }, { verify: false, st: 'ST003' }, { sigPass: true, cls: '00000' }],
    ['D4', 't=0x10', { header: `t=0x10,v1=${hmac(0)}`, tolerance: 0 }, { verify: false, st: 'ST003' }, { sigPass: true, cls: '00000' }],
    ['D5', 't=2^63', { header: `t=9223372036854775808,v1=${hmacHex(SECRET, '9223372036854776000', BODY)}` }, { verify: false, st: 'ST003' }, { sigPass: true, cls: '00000' }],
    ['D6', 't=2^53+1', { header: `t=9007199254740993,v1=${hmacHex(SECRET, '9007199254740993', BODY)}` }, { verify: true, st: '00000' }, { sigPass: false, cls: 'ST006' }],
    ['D7', 't=-1, tolerance 0', { header: `t=-1,v1=${hmac(-1)}`, tolerance: 0 }, { verify: true, st: '00000' }, { sigPass: false, cls: 'ST003' }],
    ['D8', 't=-1, tolerance 300', { header: `t=-1,v1=${hmac(-1)}` }, { verify: false, st: 'ST007' }, { sigPass: false, cls: 'ST003' }],
    ['D9', 't=abc signed as NaN', { header: `t=abc,v1=${hmacHex(SECRET, 'NaN', BODY)}` }, { verify: false, st: 'ST003' }, { sigPass: true, cls: '00000' }],
    ['D10', 'last t unparsable', { header: `t=${T0},v1=${hmac(T0)},t=x` }, { verify: false, st: 'ST003' }, { sigPass: false, cls: 'ST006' }],
    ['D11', 'bare "t" part', { header: `t=${T0},v1=${hmac(T0)},t` }, { verify: true, st: '00000' }, { sigPass: false, cls: 'ST006' }],
    ['D12', 'bare "v1" part', { header: `t=${T0},v1,v1=${hmac(T0)}` }, { verify: true, st: '00000' }, { sigPass: false, cls: 'secureCompare-throw' }],
    ['D13', 'empty v1', { header: `t=${T0},v1=,v1=${hmac(T0)}` }, { verify: true, st: '00000' }, { sigPass: false, cls: 'secureCompare-throw' }],
    ['D14', 'v1=<good>=x', { header: `t=${T0},v1=${hmac(T0)}=x` }, { verify: false, st: 'ST006' }, { sigPass: true, cls: '00000' }],
    ['D15', 't=T=x', { header: `t=${T0}=x,v1=${hmac(T0)}` }, { verify: false, st: 'ST003' }, { sigPass: true, cls: '00000' }],
    ['D16', 'empty Buffer', { payload: Buffer.alloc(0), nodeAs: 'buffer', sqlAs: 'bytea', header: `t=${T0},v1=${hmac(T0, Buffer.alloc(0))}` }, { verify: false, st: 'ST001' }, { sigPass: true, cls: 'ST010' }],
    ['D17', 'Buffer with BOM, signed with it', (() => { const b = Buffer.concat([BOM, BODY]); return { payload: b, nodeAs: 'buffer', sqlAs: 'bytea', header: `t=${T0},v1=${hmac(T0, b)}` }; })(), { verify: true, st: 'ST010' }, { sigPass: false, cls: 'ST006' }],
    ['D18', 'Buffer with BOM, signed without it', { payload: Buffer.concat([BOM, BODY]), nodeAs: 'buffer', sqlAs: 'bytea', header: `t=${T0},v1=${hmac(T0)}` }, { verify: false, st: 'ST006' }, { sigPass: true, cls: '00000' }],
    ['D19', 'Buffer with invalid UTF-8', (() => { const b = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]); return { payload: b, nodeAs: 'buffer', sqlAs: 'bytea', header: `t=${T0},v1=${hmac(T0, b)}` }; })(), { verify: true, st: 'ST010' }, { sigPass: false, cls: 'ST006' }],
    ['D20', 'JSON null', signed('null'), { verify: true, st: 'ST010' }, { sigPass: true, cls: 'non-object' }],
    ['D20', 'JSON array', signed('[{"id":"evt_1","object":"event"}]'), { verify: true, st: 'ST010' }, { sigPass: true, cls: 'non-object' }],
    ['D20', 'JSON number', signed('42'), { verify: true, st: 'ST010' }, { sigPass: true, cls: 'non-object' }],
    ['D20', 'JSON string', signed('"evt_1"'), { verify: true, st: 'ST010' }, { sigPass: true, cls: 'non-object' }],
    ['D20', 'JSON boolean', signed('true'), { verify: true, st: 'ST010' }, { sigPass: true, cls: 'non-object' }],
    ['D21', '\\u0000 escape', signed('{"a":"x\\u0000y"}'), { verify: true, st: 'ST010' }, { sigPass: true, cls: '00000' }],
    ['D22', 'lone surrogate', signed('{"a":"\\ud800"}'), { verify: true, st: 'ST010' }, { sigPass: true, cls: '00000' }],
    ['D23', 'nested 129 deep', signed('{"a":' + '['.repeat(128) + ']'.repeat(128) + '}'), { verify: true, st: 'ST010' }, { sigPass: true, cls: '00000' }],
    ['D24', 'number beyond numeric', signed('{"amount":1e1000000}'), { verify: true, st: 'ST010' }, { sigPass: true, cls: '00000' }],
    ['D25', 'NBSP secret', { secrets: ['whsec_\u00a0x'] }, { verify: false, st: 'ST006', whitespace: false }, { sigPass: false, cls: 'ST006', whitespace: true }],
  ];
  return rows.map(([id, what, over, ours, node]) => ({ id, what, c: edge(`${id} ${what}`, over), ours, node }));
}

// Does a random case touch one of the differences above? (The generator avoids them; a header
// truncation or a body mutation can still land on one, e.g. "t=17" is fine but "t=" is D9-like.)
function touchesDifference(c) {
  for (const part of c.header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (part === 't' || part === 'v1') return true; // D11, D12
      continue;
    }
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === 't') {
      if (!/^[+-]?[0-9]+$/.test(value)) return true; // D1-D5, D9, D10, D15
      const t = BigInt(value);
      if (t === -1n || t > 2n ** 53n || t < -(2n ** 53n)) return true; // D5-D8
    }
    if (key === 'v1' && (value === '' || value.includes('='))) return true; // D13, D14
  }
  if (c.nodeAs === 'buffer' && (c.payload.length === 0 || c.payload.subarray(0, 3).equals(BOM) || !validUtf8(c.payload)))
    return true; // D16-D19
  return false;
}

module.exports = { generateRandom, agreedEdges, differences, touchesDifference, validUtf8 };
