#!/usr/bin/env node
// bench/lib/bodies.mjs: a shopgen JSONL stream (one webhook body per line, exactly as delivered)
// -> COPY text rows `n TAB body TAB stripe_signature_header` (n from 0, in stream order), every
// body signed in advance like Stripe does: HMAC-SHA256 of "<t>.<body>" with the endpoint secret.
//
//   node bench/lib/bodies.mjs --in events.jsonl --secret whsec_... --t UNIXSECONDS [--limit N]
//                             [--skip-types checkout.session.] > rows.copy
//
// --skip-types drops events whose type starts with one of the comma-separated prefixes (the peer
// cannot process some types offline). Bytes are kept as they are: the header signs the UTF-8
// body that the database receives.
import crypto from 'node:crypto';
import fs from 'node:fs';
import readline from 'node:readline';

const opt = { limit: '0', 'skip-types': '' };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!opt.in || !opt.secret || !opt.t) {
  console.error('usage: bodies.mjs --in FILE --secret whsec_... --t UNIX [--limit N] [--skip-types P1,P2]');
  process.exit(2);
}
const limit = +opt.limit;
const skip = opt['skip-types'] ? opt['skip-types'].split(',') : [];
const esc = (s) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
const rl = readline.createInterface({ input: fs.createReadStream(opt.in), crlfDelay: Infinity });
const out = [];
let n = 0;
for await (const body of rl) {
  if (!body) continue;
  if (skip.length) {
    const type = JSON.parse(body).type ?? '';
    if (skip.some((p) => type.startsWith(p))) continue;
  }
  const sig = crypto.createHmac('sha256', opt.secret).update(`${opt.t}.${body}`).digest('hex');
  out.push(`${n}\t${esc(body)}\tt=${opt.t},v1=${sig}\n`);
  n++;
  if (out.length >= 2000) { if (!process.stdout.write(out.join(''))) await new Promise((r) => process.stdout.once('drain', r)); out.length = 0; }
  if (limit && n >= limit) break;
}
process.stdout.write(out.join(''));
rl.close();
