#!/usr/bin/env node
// Splits a JSONL delivery stream into per-session psql scripts for test/reliability/run.sh.
//
//   node sessions.mjs --in events.jsonl --sessions 8 --out DIR [--signed-pct 20 --endpoint NAME
//                     --secret whsec_... ] [--rotate K] [--limit N]
//
// Delivery i goes to session i % sessions, so the sessions together follow the stream's arrival
// order. A deterministic share (--signed-pct) goes through the signed stripe.ingest (signature
// computed here with the endpoint's secret, t = now), the rest through stripe.ingest_event.
// Every statement prints one line: "<U|S> <status> <event id | rejection reason>".
// --rotate K starts the stream at delivery K (wrapping around), --limit N keeps N deliveries.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const opt = { sessions: 8, 'signed-pct': 0, rotate: 0, limit: 0 };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const sessions = +opt.sessions;
const signedPct = +opt['signed-pct'];
if (!opt.in || !opt.out) throw new Error('usage: sessions.mjs --in FILE --out DIR [...]');
if (signedPct > 0 && !(opt.secret && opt.endpoint)) throw new Error('--signed-pct needs --endpoint and --secret');

let lines = fs.readFileSync(opt.in, 'utf8').split('\n').filter((l) => l.length > 0);
const rot = +opt.rotate % lines.length;
if (rot) lines = lines.slice(rot).concat(lines.slice(0, rot));
if (+opt.limit) lines = lines.slice(0, +opt.limit);

const t = Math.floor(Date.now() / 1000);
const lit = (s) => {  // a dollar-quoted literal whose tag does not occur in s
  let tag = 'b';
  while (s.includes(`$${tag}$`)) tag += 'x';
  return `$${tag}$${s}$${tag}$`;
};
const quote = (s) => `'${s.replace(/'/g, "''")}'`;
// FNV-1a of the delivery's position: which deliveries are signed does not depend on the run.
const fnv = (n) => { let h = 2166136261; for (const c of String(n)) { h ^= c.charCodeAt(0); h = Math.imul(h, 16777619) >>> 0; } return h; };

fs.mkdirSync(opt.out, { recursive: true });
const out = Array.from({ length: sessions }, () => ['\\set VERBOSITY verbose\n']);
let signed = 0;
lines.forEach((body, i) => {
  let stmt;
  if (signedPct > 0 && fnv(i) % 100 < signedPct) {
    const sig = crypto.createHmac('sha256', opt.secret).update(`${t}.${body}`).digest('hex');
    stmt = `SELECT 'S', status, coalesce(event_id, reason) FROM stripe.ingest(${lit(body)}::text, ${quote(`t=${t},v1=${sig}`)}, ${quote(opt.endpoint)});\n`;
    signed++;
  } else {
    stmt = `SELECT 'U', status, event_id FROM stripe.ingest_event(${lit(body)}::text);\n`;
  }
  out[i % sessions].push(stmt);
});
out.forEach((b, i) => fs.writeFileSync(path.join(opt.out, `s${String(i).padStart(2, '0')}.sql`), b.join('')));
console.log(`${lines.length} deliveries in ${sessions} sessions, ${signed} signed`);
