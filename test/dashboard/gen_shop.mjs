#!/usr/bin/env node
// A small deterministic shop for the dashboard test, used when tools/shopgen.mjs is not there.
// Same command line: node gen_shop.mjs --customers 300 --months 6 --seed 7 --out DIR
// writes DIR/events.jsonl: Stripe-shaped events (customers, charges, refunds, disputes, Checkout
// sessions) in time order, ending on a fixed date so the shop is a historic one.
import fs from 'node:fs';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const CUSTOMERS = Number(args.customers ?? 300);
const MONTHS = Number(args.months ?? 6);
let seed = Number(args.seed ?? 7) >>> 0;
const OUT = args.out ?? '.';

// mulberry32: a tiny seeded PRNG, so the same seed gives the same shop.
function rnd() {
  seed = (seed + 0x6D2B79F5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (items) => {  // items: [[value, weight], ...]
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rnd() * total;
  for (const [v, w] of items) { if ((r -= w) < 0) return v; }
  return items[items.length - 1][0];
};
const expo = (mean) => -Math.log(1 - rnd()) * mean;

const END = Date.UTC(2024, 5, 30, 23, 0, 0) / 1000;           // 2024-06-30
const START = END - Math.round(MONTHS * 30.44 * 86400);
const DAY = 86400;
const events = [];
let evtN = 0;
const ev = (type, obj, created = obj.created, extra = {}) =>
  events.push({ id: `evt_${String(++evtN).padStart(7, '0')}`, object: 'event', api_version: '2024-06-20',
                type, created, livemode: true, pending_webhooks: 1, data: { object: obj }, ...extra });

const DECLINES = [
  [['card_declined', 'insufficient_funds'], 40], [['card_declined', 'generic_decline'], 24],
  [['expired_card', 'expired_card'], 10], [['incorrect_cvc', 'incorrect_cvc'], 9],
  [['processing_error', 'processing_error'], 7], [['card_declined', 'highest_risk_level'], 6],
  [['<img src=x onerror=alert(1)>', 'do_not_honor'], 4],   // hostile code: the page must escape it
];
const CURRENCIES = [['usd', 78], ['eur', 14], ['jpy', 8]];
const amountIn = (cur) => cur === 'jpy' ? 100 * Math.round(20 + expo(60)) : 100 * Math.round(12 + expo(55)) + pick([[0, 1], [99, 2], [49, 1]]);
const BRANDS = [['visa', 55], ['mastercard', 30], ['amex', 10], ['discover', 5]];

let chargeN = 0, reN = 0, dpN = 0, csN = 0;
function charge(cust, cur, t, amount, status, decline) {
  const id = `ch_${String(++chargeN).padStart(6, '0')}`;
  const obj = {
    id, object: 'charge', created: t, status, amount, amount_captured: status === 'succeeded' ? amount : 0,
    amount_refunded: 0, currency: cur, customer: cust, captured: status === 'succeeded', paid: status === 'succeeded',
    failure_code: decline ? decline[0] : null,
    outcome: { type: decline ? 'issuer_declined' : 'authorized', reason: decline ? decline[1] : null },
    payment_method_details: { type: 'card', card: { brand: pick(BRANDS) } },
  };
  ev(status === 'succeeded' ? 'charge.succeeded' : 'charge.failed', obj, t + 2);
  return obj;
}

for (let c = 1; c <= CUSTOMERS; c++) {
  const cust = `cus_${String(c).padStart(5, '0')}`;
  // 15% were customers before the period; the rest join over it, more of them later (growth).
  const created = rnd() < 0.15 ? START - Math.round(rnd() * 60 * DAY)
                               : START + Math.round(Math.sqrt(rnd()) * (END - START - 2 * DAY));
  ev('customer.created', { id: cust, object: 'customer', created, email: `c${c}@example.com`, currency: null });
  const cur = pick(CURRENCIES);
  const kind = pick([['once', 45], ['occasional', 35], ['loyal', 20]]);
  const meanGap = { once: 400, occasional: 45, loyal: 12 }[kind] * DAY;
  const lifetime = expo({ once: 30, occasional: 120, loyal: 300 }[kind]) * DAY;
  let t = Math.max(created, START - 60 * DAY) + Math.round(expo(3 * DAY));
  let orders = 0;
  while (t < END && (orders === 0 || t < created + lifetime)) {
    // weekends sell more
    const dow = new Date(t * 1000).getUTCDay();
    if ((dow === 0 || dow === 6) || rnd() < 0.8) {
      const amount = amountIn(cur);
      const viaCheckout = rnd() < 0.7;
      if (viaCheckout) {
        ev('checkout.session.completed', { id: `cs_${++csN}`, object: 'checkout.session', created: t - 240,
          status: 'complete', payment_status: 'paid', mode: 'payment', currency: cur, amount_total: amount, customer: cust }, t + 5);
      }
      let ch;
      if (rnd() < 0.09) {
        ch = charge(cust, cur, t, amount, 'failed', pick(DECLINES));
        if (rnd() < 0.6) ch = charge(cust, cur, t + 300 + Math.round(rnd() * 3000), amount, 'succeeded');
      } else {
        ch = charge(cust, cur, t, amount, 'succeeded');
      }
      if (ch.status === 'succeeded') {
        orders++;
        if (rnd() < 0.045) {  // refund, full or partial
          const rt = ch.created + Math.round((1 + rnd() * 20) * DAY);
          if (rt < END) {
            const amt = rnd() < 0.6 ? ch.amount : Math.round(ch.amount * (0.2 + 0.5 * rnd()));
            ev('refund.created', { id: `re_${++reN}`, object: 'refund', created: rt, amount: amt, currency: cur,
              charge: ch.id, status: 'succeeded', reason: pick([['requested_by_customer', 6], ['duplicate', 1], ['fraudulent', 1]]) });
          }
        }
        if (rnd() < 0.008) {  // dispute, later won, lost or still open
          const dt = ch.created + Math.round((7 + rnd() * 30) * DAY);
          if (dt < END) {
            const id = `dp_${++dpN}`;
            const base = { id, object: 'dispute', created: dt, amount: ch.amount, currency: cur, charge: ch.id, reason: 'fraudulent' };
            ev('charge.dispute.created', { ...base, status: 'needs_response' });
            const close = dt + Math.round((10 + rnd() * 30) * DAY);
            const outcome = pick([['lost', 4], ['won', 4], ['open', 2]]);
            if (outcome !== 'open' && close < END) ev('charge.dispute.closed', { ...base, status: outcome }, close);
          }
        }
      }
    }
    t += Math.round(expo(meanGap)) + 3600;
  }
}
// Abandoned checkouts: sessions that expired after 24 hours.
const abandoned = Math.round(CUSTOMERS * MONTHS * 0.2);
for (let i = 0; i < abandoned; i++) {
  const t = START + Math.round(Math.sqrt(rnd()) * (END - START - 2 * DAY));
  ev('checkout.session.expired', { id: `cs_${++csN}`, object: 'checkout.session', created: t, status: 'expired',
    payment_status: 'unpaid', mode: 'payment', currency: pick(CURRENCIES), amount_total: 5000, customer: null }, t + DAY);
}
// Test-mode noise that must never show in the live dashboard.
events.push({ id: 'evt_testmode_1', object: 'event', type: 'charge.succeeded', created: END - DAY, livemode: false,
  data: { object: { id: 'ch_test_1', object: 'charge', created: END - DAY, status: 'succeeded', amount: 99999999,
                    amount_captured: 99999999, currency: 'usd', customer: 'cus_00001' } } });

events.sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(path.join(OUT, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
console.log(`gen_shop: ${events.length} events, ${chargeN} charges, ${reN} refunds, ${dpN} disputes, ${csN} checkout sessions -> ${path.join(OUT, 'events.jsonl')}`);
