#!/usr/bin/env node
/**
 * tools/shopgen.mjs: a deterministic generator of a realistic shop's Stripe event stream.
 * Node 20 ESM, no dependencies. The same seed and options always give the same bytes.
 *
 * THE SHOP
 *   A platform account (no `account` on its events) and two Connect accounts (a Korean and a
 *   Japanese shop, `account` on the event), each in live and test mode. Customers sign up over
 *   the period and behave differently: one-time buyers, occasional ones, regulars who keep coming
 *   back, drifters who buy a few times and vanish, browsers who never pay; some subscribe to a
 *   monthly or yearly plan. Guests pay with no customer at all. Currencies usd, eur, kwd
 *   (3 decimals), krw and jpy (0 decimals), amounts in minor units as Stripe sends them. Cards
 *   of several brands (some in Apple/Google Pay wallets) and non-card methods (sepa_debit,
 *   us_bank_account, ideal, bancontact, link, cashapp, kr_card, kakao_pay, naver_pay, konbini,
 *   paypay). Orders go through Checkout or straight through the PaymentIntents API and produce:
 *     - payment_intent.created/processing/requires_action... succeeded, payment_failed, canceled,
 *       amount_capturable_updated;
 *     - charge.succeeded / charge.failed (failure_code + outcome.type/reason: issuer declines,
 *       Radar blocks, expired card, incorrect CVC, processing errors) and retries: a failed
 *       charge then a new charge on the same payment intent;
 *     - async methods: charge.pending, then charge.succeeded or charge.failed days later, with
 *       checkout.session.async_payment_succeeded/failed;
 *     - manual capture: charge.succeeded with captured=false, amount_captured=0, then either
 *       charge.captured or, 7 days later, charge.expired whose embedded refund has reason
 *       expired_uncaptured_charge (no refund.* event: the refund is known only from the charge);
 *     - refunds, full and partial, sometimes two partial ones, often after the month ended:
 *       charge.refunded with the refunds list embedded, refund.created, refund.updated,
 *       charge.refund.updated, refund.failed (pending refunds of bank debits);
 *     - disputes: charge.dispute.created/updated/closed/funds_withdrawn/funds_reinstated, won,
 *       lost, lost without a response, inquiries (warning_needs_response -> warning_closed) and
 *       inquiries that escalate; some on charges that were refunded before;
 *     - checkout.session.completed (paid, unpaid-then-async, no_payment_required) and
 *       checkout.session.expired (abandoned before paying, or after failed attempts);
 *     - customer.created/updated/deleted (deleted after paying, and browsers deleted unpaid);
 *     - subscriptions: customer.subscription.created/updated/deleted/trial_will_end,
 *       invoice.created/finalized/paid/payment_succeeded/payment_failed/voided/
 *       marked_uncollectible, renewals, failed renewals with retries, cancellations.
 *   Object bodies follow Stripe's object shapes (/work/shared/stripe/fixtures3.json, from
 *   stripe/openapi, MIT) with the fields that matter overridden; events are 1-4 KB.
 *
 * TIME RULES
 *   Every object has its own `created` (Stripe's clock). Every event of one object, and every
 *   event that embeds it (a charge embeds its refunds), has a strictly increasing event
 *   `created`, at least 1 s apart, and carries the object's state at that moment: the final
 *   state of every object is therefore independent of the order the events arrive in.
 *   Delivery then duplicates events (1..dupMax copies) and shuffles arrival within a window.
 *
 * CLI
 *   node tools/shopgen.mjs --customers N --months M --seed S [--start 2026-01-01]
 *                          [--dup-max 3 --shuffle-window-sec 600] --out DIR
 *     writes DIR/events.jsonl         delivery order: each event 1..dup-max times, shuffled
 *            DIR/events_inorder.jsonl each event once, by created
 *            DIR/truth.json           final state of every object + metadata (see Truth)
 *   node tools/shopgen.mjs --count N [--months 12] [--seed S] --out DIR [--truth]
 *     about N distinct events (exactly N unless the shop runs dry), streamed with bounded
 *     memory: the live heap stays under ~100 MB (1M events: ~2 min on one core, 2.1 GB
 *     events_inorder.jsonl + 3.4 GB events.jsonl; --no-inorder / --no-deliveries skip one);
 *     truth.json only with --truth. Progress and a summary go to stderr.
 *   Other flags: --guest-share F (guest orders per customer, default 0.35), --test-share F
 *   (share of test-mode customers, default 0.08), --no-inorder, --no-deliveries.
 *
 * MODULE API
 *   import { shopEvents, deliveries, Truth, writeDataset, build, Rng, ACCOUNTS } from './shopgen.mjs'
 *
 *   shopEvents(opts) -> Generator<Ev>             distinct events in `created` order
 *     opts: { customers=300, months=6, seed=1, start='2026-01-01', count (stop after count
 *             events; when customers is not given it is sized from count), guestShare=0.35,
 *             testShare=0.08 }
 *     Ev = { id, type, created (unix s), account (string|null), livemode, body (the event JSON
 *            text, exactly what to deliver), objects: [{ kind, state }] }
 *       objects = summaries of the object the event carries plus the objects embedded in it
 *       (kind: charge, refund, dispute, customer, checkout_session, payment_intent,
 *       subscription, invoice), see summarize().
 *   deliveries(events, { seed=1, dupMax=3, windowSec=600 }) -> Generator<{ ev, arrival, copy }>
 *     at-least-once delivery: every event 1..dupMax times (60% once), each copy arriving at
 *     created + U[0, windowSec); yields in arrival order with O(window) memory.
 *   new Truth() ; truth.add(ev) for each event in created order ; truth.toJSON(meta)
 *     final state of every object: { meta, charges, refunds, disputes, customers,
 *     checkout_sessions, payment_intents, subscriptions, invoices }, each an array of states,
 *     every state with account, livemode, created, last_event_id, last_event_created.
 *   writeDataset({ out, customers, months, seed, start, dupMax, windowSec, count, truth=true,
 *                  inorder=true, deliveries=true }) -> stats (sync; writes the files above)
 *   build: hand-built objects and events for scenario tests, using the same renderers:
 *     build.customer({id, created, email, name, ...}), build.charge({...}), build.refund,
 *     build.dispute, build.paymentIntent, build.checkoutSession, build.event(type, object,
 *     {id, created, account, livemode}) -> Ev. Unspecified fields get realistic defaults.
 *   Rng: the seeded PRNG (sfc32 seeded by cyrb128 of "seed/label").
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------------
function cyrb128(str) {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0, k; i < str.length; i++) {
    k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  return [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0];
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const HEX = '0123456789abcdef';

export class Rng {
  constructor(seed, label = '') {
    [this.a, this.b, this.c, this.d] = cyrb128(`${seed}/${label}`);
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32() {  // sfc32
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a; this.b = b; this.c = c; this.d = d;
    return t >>> 0;
  }
  next() { return this.u32() / 4294967296; }
  int(lo, hi) { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  chance(p) { return this.next() < p; }
  pick(arr) { return arr[Math.floor(this.next() * arr.length)]; }
  /** pairs: [[value, weight], ...] */
  weighted(pairs) {
    let total = 0;
    for (const p of pairs) total += p[1];
    let x = this.next() * total;
    for (const p of pairs) if ((x -= p[1]) < 0) return p[0];
    return pairs[pairs.length - 1][0];
  }
  exp(mean) { return -Math.log(1 - this.next()) * mean; }
  str(n, alphabet = B62) {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
  fork(label) { return new Rng(this.u32(), label); }
}

// ---------------------------------------------------------------------------------------------
// The shop's world
// ---------------------------------------------------------------------------------------------
export const API_VERSION = '2025-09-30.clover';
const DAY = 86400, HOUR = 3600, MIN = 60;

export const ACCOUNTS = [
  { id: null, name: 'Northwind Goods', country: 'US', descriptor: 'NORTHWIND GOODS', weight: 60,
    currencies: [['usd', 55], ['eur', 25], ['kwd', 8], ['krw', 6], ['jpy', 6]] },
  { id: 'acct_1QkSeoulMarket01', name: 'Seoul Market', country: 'KR', descriptor: 'SEOUL MARKET', weight: 25,
    currencies: [['krw', 85], ['usd', 15]] },
  { id: 'acct_1QkTokyoGoods002', name: 'Tokyo Goods', country: 'JP', descriptor: 'TOKYO GOODS', weight: 15,
    currencies: [['jpy', 85], ['usd', 15]] },
];

// Shelf prices in minor units (KWD amounts end in 0, as Stripe requires for 3-decimal currencies).
const PRICES = {
  usd: [999, 1499, 1999, 2499, 2999, 3900, 4999, 7500, 9900, 12900, 19900, 34900],
  eur: [890, 1290, 1990, 2490, 3450, 4900, 6990, 8900, 11900, 18900, 29900],
  kwd: [1500, 2750, 4500, 7000, 9950, 12500, 18000, 25000, 39500],
  krw: [9900, 15000, 19800, 29000, 39000, 45000, 59000, 89000, 129000, 249000],
  jpy: [500, 980, 1480, 2200, 3300, 4980, 7800, 12800, 19800],
};
const PLANS = {  // monthly price; yearly = 10x
  usd: 1500, eur: 1290, kwd: 4500, krw: 12900, jpy: 1480,
};

const CARD_BRANDS = {
  usd: [['visa', 45], ['mastercard', 30], ['amex', 15], ['discover', 7], ['unionpay', 2], ['jcb', 1]],
  eur: [['visa', 47], ['mastercard', 40], ['amex', 7], ['cartes_bancaires', 6]],
  kwd: [['visa', 60], ['mastercard', 35], ['amex', 5]],
  krw: [['visa', 40], ['mastercard', 35], ['amex', 10], ['jcb', 8], ['unionpay', 7]],
  jpy: [['visa', 40], ['jcb', 35], ['mastercard', 20], ['amex', 5]],
};
const METHODS = {  // payment method type mix per currency
  usd: [['card', 84], ['link', 5], ['us_bank_account', 6], ['cashapp', 5]],
  eur: [['card', 70], ['sepa_debit', 12], ['ideal', 10], ['bancontact', 8]],
  kwd: [['card', 100]],
  krw: [['card', 62], ['kr_card', 16], ['kakao_pay', 13], ['naver_pay', 9]],
  jpy: [['card', 76], ['konbini', 14], ['paypay', 10]],
};
const ASYNC_METHODS = new Set(['sepa_debit', 'us_bank_account', 'konbini']);

// Card declines: failure_code, message, outcome. Radar blocks are outcome.type "blocked".
const DECLINES = [
  [{ code: 'card_declined', decline: 'generic_decline', type: 'issuer_declined', reason: 'generic_decline', msg: 'Your card was declined.' }, 33],
  [{ code: 'card_declined', decline: 'insufficient_funds', type: 'issuer_declined', reason: 'insufficient_funds', msg: 'Your card has insufficient funds.' }, 24],
  [{ code: 'card_declined', decline: 'do_not_honor', type: 'issuer_declined', reason: 'do_not_honor', msg: 'Your card was declined.' }, 5],
  [{ code: 'card_declined', decline: 'lost_card', type: 'issuer_declined', reason: 'lost_card', msg: 'Your card was declined.' }, 3],
  [{ code: 'card_declined', decline: 'stolen_card', type: 'issuer_declined', reason: 'stolen_card', msg: 'Your card was declined.' }, 2],
  [{ code: 'card_declined', decline: null, type: 'blocked', reason: 'highest_risk_level', msg: 'Your card was declined.' }, 7],
  [{ code: 'card_declined', decline: null, type: 'blocked', reason: 'rule', msg: 'Your card was declined.' }, 3],
  [{ code: 'expired_card', decline: 'expired_card', type: 'issuer_declined', reason: 'expired_card', msg: 'Your card has expired.' }, 8],
  [{ code: 'incorrect_cvc', decline: 'incorrect_cvc', type: 'issuer_declined', reason: 'incorrect_cvc', msg: "Your card's security code is incorrect." }, 7],
  [{ code: 'incorrect_number', decline: 'incorrect_number', type: 'invalid', reason: 'incorrect_number', msg: 'Your card number is incorrect.' }, 2],
  [{ code: 'authentication_required', decline: 'authentication_required', type: 'issuer_declined', reason: 'authentication_required', msg: 'Your card was declined. This transaction requires authentication.' }, 4],
  [{ code: 'processing_error', decline: null, type: 'issuer_declined', reason: null, msg: 'An error occurred while processing your card. Try again in a little bit.' }, 2],
];
const NONCARD_DECLINES = {
  sepa_debit: { code: 'insufficient_funds', decline: null, type: 'issuer_declined', reason: null, msg: 'The account has insufficient funds to cover this payment.' },
  us_bank_account: { code: 'account_closed', decline: null, type: 'issuer_declined', reason: null, msg: 'The bank account has been closed.' },
  konbini: { code: 'payment_intent_payment_attempt_expired', decline: null, type: 'invalid', reason: null, msg: 'The payment was not completed at the store before it expired.' },
  default: { code: 'payment_method_provider_decline', decline: null, type: 'issuer_declined', reason: null, msg: 'The payment was declined by the payment method provider.' },
};
const REFUND_REASONS = [[null, 30], ['requested_by_customer', 55], ['duplicate', 8], ['fraudulent', 7]];
const DISPUTE_REASONS = [['fraudulent', 40], ['product_not_received', 20], ['subscription_canceled', 8],
  ['duplicate', 6], ['product_unacceptable', 12], ['credit_not_processed', 8], ['general', 6]];

const NAMES = {
  US: [['Jenny', 'Rosen'], ['Michael', 'Chen'], ['Sarah', "O'Brien"], ['David', 'Miller'], ['Emily', 'Johnson'],
    ['James', 'Garcia'], ['Olivia', 'Martinez'], ['Daniel', 'Nguyen'], ['Sophia', 'Brown'], ['Liam', 'Davis'],
    ['Ava', 'Wilson'], ['Noah', 'Anderson'], ['Mia', 'Thomas'], ['Ethan', 'Moore'], ['Zoë', 'Clarke']],
  EU: [['Lena', 'Müller'], ['Lucas', 'Dubois'], ['Sofia', 'Rossi'], ['Jan', 'de Vries'], ['Marta', 'García'],
    ['Élodie', 'Martin'], ['Pieter', 'Janssens'], ['Anna', 'Schmidt'], ['Luca', 'Bianchi'], ['Inès', 'Lefèvre']],
  KR: [['민준', '김', 'minjun.kim'], ['서연', '이', 'seoyeon.lee'], ['지호', '박', 'jiho.park'], ['하은', '최', 'haeun.choi'],
    ['도윤', '정', 'doyoon.jung'], ['수아', '강', 'sua.kang'], ['예준', '조', 'yejun.cho'], ['지우', '윤', 'jiwoo.yoon']],
  JP: [['花子', '佐藤', 'hanako.sato'], ['太郎', '鈴木', 'taro.suzuki'], ['陽菜', '高橋', 'hina.takahashi'],
    ['蓮', '田中', 'ren.tanaka'], ['結衣', '伊藤', 'yui.ito'], ['大翔', '渡辺', 'hiroto.watanabe']],
  KW: [['Fatima', 'Al-Sabah'], ['Ahmad', 'Al-Mutairi'], ['Noura', 'Al-Enezi'], ['Yousef', 'Al-Rashidi']],
};
const REGION_OF_CURRENCY = { usd: 'US', eur: 'EU', krw: 'KR', jpy: 'JP', kwd: 'KW' };
const COUNTRY_OF_REGION = { US: 'US', EU: 'DE', KR: 'KR', JP: 'JP', KW: 'KW' };
const LOCALE_OF_REGION = { US: 'en-US', EU: 'de-DE', KR: 'ko-KR', JP: 'ja-JP', KW: 'ar-KW' };
const CITIES = {
  US: [['San Francisco', 'CA', '94107'], ['Austin', 'TX', '78701'], ['Brooklyn', 'NY', '11201']],
  EU: [['Berlin', null, '10115'], ['München', null, '80331'], ['Hamburg', null, '20095']],
  KR: [['서울특별시', null, '04524'], ['부산광역시', null, '48058']],
  JP: [['東京都', null, '100-0001'], ['大阪府', null, '530-0001']],
  KW: [['Kuwait City', null, '13001']],
};

// ---------------------------------------------------------------------------------------------
// Renderers: model -> Stripe object (shapes of fixtures3.json, fields that matter overridden)
// ---------------------------------------------------------------------------------------------
const nullAddress = () => ({ city: null, country: null, line1: null, line2: null, postal_code: null, state: null });

function address(p) {
  if (!p) return nullAddress();
  return { city: p.city, country: p.country, line1: p.line1, line2: null, postal_code: p.postal_code, state: p.state };
}

function renderCustomer(c) {
  return {
    id: c.id, object: 'customer',
    address: address(c.address),
    balance: 0, created: c.created, currency: c.currency ?? null, default_source: null,
    delinquent: c.delinquent ?? false, description: null, discount: null, email: c.email,
    invoice_prefix: c.invoice_prefix,
    invoice_settings: { custom_fields: null, default_payment_method: c.default_payment_method ?? null, footer: null,
      rendering_options: null },
    livemode: c.livemode, metadata: c.metadata ?? {}, name: c.name,
    next_invoice_sequence: c.next_invoice_sequence ?? 1, phone: c.phone ?? null,
    preferred_locales: c.locale ? [c.locale] : [], shipping: null, tax_exempt: 'none', test_clock: null,
    customer_account: null,
  };
}

function renderPaymentMethodDetails(pm, amount) {
  if (pm.type === 'card') {
    return {
      card: {
        amount_authorized: amount, authorization_code: pm.authorization_code ?? null, brand: pm.brand,
        checks: { address_line1_check: null, address_postal_code_check: pm.postal_check ?? null, cvc_check: 'pass' },
        country: pm.country, exp_month: pm.exp_month, exp_year: pm.exp_year,
        extended_authorization: { status: 'disabled' }, fingerprint: pm.fingerprint, funding: pm.funding,
        incremental_authorization: { status: 'unavailable' }, installments: null, last4: pm.last4, mandate: null,
        multicapture: { status: 'unavailable' }, network: pm.brand === 'cartes_bancaires' ? 'cartes_bancaires' : pm.brand,
        network_token: { used: false }, network_transaction_id: pm.network_transaction_id ?? null,
        overcapture: { maximum_amount_capturable: amount, status: 'unavailable' },
        regulated_status: 'unregulated', three_d_secure: pm.three_d_secure ?? null,
        wallet: pm.wallet ? { dynamic_last4: pm.last4, type: pm.wallet, [pm.wallet]: {} } : null,
      },
      type: 'card',
    };
  }
  const d = { type: pm.type };
  switch (pm.type) {
    case 'sepa_debit': d.sepa_debit = { bank_code: '37040044', branch_code: '', country: 'DE', fingerprint: pm.fingerprint, last4: pm.last4, mandate: pm.mandate }; break;
    case 'us_bank_account': d.us_bank_account = { account_holder_type: 'individual', account_type: 'checking', bank_name: 'STRIPE TEST BANK', fingerprint: pm.fingerprint, last4: pm.last4, mandate: pm.mandate, payment_reference: null, routing_number: '110000000' }; break;
    case 'ideal': d.ideal = { bank: 'ing', bic: 'INGBNL2A', generated_sepa_debit: null, generated_sepa_debit_mandate: null, iban_last4: pm.last4, verified_name: pm.holder }; break;
    case 'bancontact': d.bancontact = { bank_code: 'VAPE', bank_name: 'VAN DE PUT & CO', bic: 'VAPEBE22', generated_sepa_debit: null, generated_sepa_debit_mandate: null, iban_last4: pm.last4, preferred_language: 'fr', verified_name: pm.holder }; break;
    case 'link': d.link = { country: 'US' }; break;
    case 'cashapp': d.cashapp = { buyer_id: pm.buyer_id, cashtag: pm.cashtag }; break;
    case 'kr_card': d.kr_card = { brand: pm.kr_brand, buyer_id: pm.buyer_id, last4: pm.last4 }; break;
    case 'kakao_pay': d.kakao_pay = { buyer_id: pm.buyer_id }; break;
    case 'naver_pay': d.naver_pay = { buyer_id: pm.buyer_id, funding: 'points' }; break;
    case 'konbini': d.konbini = { store: { chain: pm.store ?? null } }; break;
    case 'paypay': d.paypay = {}; break;
    default: d[pm.type] = {};
  }
  return d;
}

function renderRefund(r) {
  return {
    id: r.id, object: 'refund', amount: r.amount, balance_transaction: r.status === 'succeeded' ? r.txn : null,
    charge: r.charge, created: r.created, currency: r.currency,
    destination_details: r.method === 'card'
      ? { card: { reference: r.reference ?? null, reference_status: r.reference ? 'available' : 'pending', reference_type: 'acquirer_reference_number', type: 'refund' }, type: 'card' }
      : { type: r.method, [r.method]: {} },
    failure_balance_transaction: r.status === 'failed' ? r.failure_txn : undefined,
    failure_reason: r.status === 'failed' ? r.failure_reason : undefined,
    metadata: r.metadata ?? {}, payment_intent: r.payment_intent, reason: r.reason,
    receipt_number: null, source_transfer_reversal: null, status: r.status, transfer_reversal: null,
    customer: r.customer ?? null, customer_account: null, payment_method: r.payment_method ?? null,
  };
}

function renderCharge(c) {
  const pmd = renderPaymentMethodDetails(c.pm, c.amount);
  return {
    id: c.id, object: 'charge', amount: c.amount, amount_captured: c.amount_captured, amount_refunded: c.amount_refunded,
    application: null, application_fee: null, application_fee_amount: null,
    balance_transaction: c.status === 'succeeded' && c.captured ? c.txn : null,
    billing_details: { address: address(c.billing_address), email: c.email ?? null, name: c.holder ?? null, phone: null, tax_id: null },
    calculated_statement_descriptor: c.descriptor, captured: c.captured, created: c.created, currency: c.currency,
    customer: c.customer, description: c.description ?? null, destination: null, dispute: c.dispute ?? null,
    disputed: c.disputed, failure_balance_transaction: null, failure_code: c.failure?.code ?? null,
    failure_message: c.failure?.msg ?? null, fraud_details: {}, livemode: c.livemode,
    metadata: c.metadata ?? {}, on_behalf_of: null,
    outcome: c.status === 'pending' ? null : c.failure
      ? { advice_code: c.failure.type === 'issuer_declined' ? 'try_again_later' : null, network_advice_code: null,
          network_decline_code: null,
          network_status: c.failure.type === 'blocked' ? 'not_sent_to_network' : 'declined_by_network',
          reason: c.failure.reason, risk_level: c.failure.type === 'blocked' ? 'highest' : 'normal',
          risk_score: c.risk_score, seller_message: c.failure.type === 'blocked' ? 'Stripe blocked this payment as too risky.' : 'The bank did not return any further details with this decline.',
          type: c.failure.type }
      : { advice_code: null, network_advice_code: null, network_decline_code: null, network_status: 'approved_by_network',
          reason: null, risk_level: 'normal', risk_score: c.risk_score, seller_message: 'Payment complete.', type: 'authorized' },
    paid: c.status === 'succeeded', payment_intent: c.payment_intent, payment_method: c.pm.id,
    payment_method_details: pmd, radar_options: {}, receipt_email: c.email ?? null,
    receipt_number: null, receipt_url: c.status === 'succeeded' ? `https://pay.stripe.com/receipts/payment/${c.receipt}` : null,
    refunded: c.refunded,
    refunds: { object: 'list', data: c.refunds.map(renderRefund), has_more: false, total_count: c.refunds.length, url: `/v1/charges/${c.id}/refunds` },
    review: null, shipping: null, source_transfer: null, statement_descriptor: null, statement_descriptor_suffix: null,
    status: c.status, transfer_data: null, transfer_group: null,
  };
}

function renderPaymentIntent(p) {
  const types = p.pm_types ?? ['card'];
  return {
    id: p.id, object: 'payment_intent', amount: p.amount, amount_capturable: p.amount_capturable ?? 0,
    amount_details: { tip: {} }, amount_received: p.amount_received ?? 0, application: null, application_fee_amount: null,
    automatic_payment_methods: p.checkout ? null : { allow_redirects: 'always', enabled: true },
    canceled_at: p.canceled_at ?? null, cancellation_reason: p.cancellation_reason ?? null,
    capture_method: p.capture_method ?? 'automatic_async', client_secret: `${p.id}_secret_${p.secret}`,
    confirmation_method: 'automatic', created: p.created, currency: p.currency, customer: p.customer,
    description: p.description ?? null, excluded_payment_method_types: null,
    last_payment_error: p.last_error ? {
      charge: p.last_error.charge, code: p.last_error.code, decline_code: p.last_error.decline ?? undefined,
      doc_url: `https://stripe.com/docs/error-codes/${p.last_error.code.replace(/_/g, '-')}`,
      message: p.last_error.msg, payment_method: { id: p.last_error.pm, object: 'payment_method', type: p.last_error.pm_type },
      type: 'card_error',
    } : null,
    latest_charge: p.latest_charge ?? null, livemode: p.livemode, metadata: p.metadata ?? {}, next_action: null,
    on_behalf_of: null, payment_method: p.payment_method ?? null,
    payment_method_configuration_details: p.checkout ? null : { id: p.pmc, parent: null },
    payment_method_options: types.includes('card')
      ? { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' } } : {},
    payment_method_types: types, processing: p.status === 'processing' ? { type: types[0] } : null,
    receipt_email: p.email ?? null, review: null, setup_future_usage: null, shipping: null, source: null,
    statement_descriptor: null, statement_descriptor_suffix: null, status: p.status, transfer_data: null,
    transfer_group: null,
  };
}

function renderDispute(d) {
  return {
    id: d.id, object: 'dispute', amount: d.amount,
    balance_transactions: d.txns.map((t) => ({ id: t.id, object: 'balance_transaction', amount: t.amount, available_on: t.at + 2 * DAY,
      created: t.at, currency: d.currency, description: t.amount < 0 ? `Chargeback withdrawal for ${d.charge}` : `Chargeback reversal for ${d.charge}`,
      exchange_rate: null, fee: t.fee, fee_details: t.fee ? [{ amount: t.fee, application: null, currency: d.currency, description: 'Dispute fee', type: 'stripe_fee' }] : [],
      net: t.amount - t.fee, reporting_category: t.amount < 0 ? 'dispute' : 'dispute_reversal', source: d.id, status: 'available', type: 'adjustment' })),
    charge: d.charge, created: d.created, currency: d.currency,
    evidence: {
      access_activity_log: null, billing_address: null, cancellation_policy: null, cancellation_policy_disclosure: null,
      cancellation_rebuttal: null, customer_communication: null, customer_email_address: d.evidence ? d.email ?? null : null,
      customer_name: d.evidence ? d.holder ?? null : null, customer_purchase_ip: null, customer_signature: null,
      duplicate_charge_documentation: null, duplicate_charge_explanation: null, duplicate_charge_id: null,
      product_description: d.evidence ? 'Goods shipped with tracking.' : null, receipt: null, refund_policy: null,
      refund_policy_disclosure: null, refund_refusal_explanation: null, service_date: null, service_documentation: null,
      shipping_address: null, shipping_carrier: d.evidence ? 'UPS' : null, shipping_date: null, shipping_documentation: null,
      shipping_tracking_number: d.evidence ? d.tracking : null, uncategorized_file: null, uncategorized_text: null,
      enhanced_evidence: {},
    },
    evidence_details: { due_by: d.due_by, has_evidence: !!d.evidence, past_due: d.past_due ?? false,
      submission_count: d.evidence ? 1 : 0, enhanced_eligibility: {} },
    is_charge_refundable: d.refundable, livemode: d.livemode, metadata: {}, payment_intent: d.payment_intent,
    payment_method_details: { card: { brand: d.brand, case_type: d.inquiry ? 'inquiry' : 'chargeback', network_reason_code: d.network_reason_code }, type: 'card' },
    reason: d.reason, status: d.status, enhanced_eligibility_types: [],
  };
}

function renderSession(s) {
  return {
    id: s.id, object: 'checkout.session', adaptive_pricing: { enabled: false }, after_expiration: null,
    allow_promotion_codes: true, amount_subtotal: s.amount_subtotal, amount_total: s.amount_total,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null, cancel_url: `${s.site}/cart`, client_reference_id: s.client_reference_id ?? null,
    client_secret: null, collected_information: s.status === 'complete' ? { business_name: null, individual_name: null, shipping_details: null } : null,
    consent: null, consent_collection: null, created: s.created, currency: s.currency, currency_conversion: null,
    custom_fields: [], custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: s.customer, customer_creation: s.customer ? null : 'if_required',
    customer_details: s.status === 'complete' || s.email
      ? { address: address(s.address), business_name: null, email: s.email ?? null, individual_name: null, name: s.holder ?? null, phone: null, tax_exempt: 'none', tax_ids: [] }
      : null,
    customer_email: s.customer ? null : s.email ?? null, discounts: s.discount ? [{ coupon: s.discount, promotion_code: null }] : [],
    expires_at: s.expires_at, invoice: s.invoice ?? null, invoice_creation: s.mode === 'payment' ? { enabled: false, invoice_data: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: null, metadata: {}, rendering_options: null } } : null,
    livemode: s.livemode, locale: s.locale ?? null, metadata: s.metadata ?? {}, mode: s.mode,
    origin_context: null, payment_intent: s.payment_intent ?? null, payment_link: null,
    payment_method_collection: s.mode === 'subscription' ? 'always' : 'if_required',
    payment_method_configuration_details: { id: s.pmc, parent: null }, payment_method_options: { card: { request_three_d_secure: 'automatic' } },
    payment_method_types: s.pm_types, payment_status: s.payment_status, permissions: null,
    phone_number_collection: { enabled: false }, recovered_from: null, saved_payment_method_options: null,
    setup_intent: null, shipping_address_collection: null, shipping_cost: null, shipping_options: [],
    status: s.status, submit_type: null, subscription: s.subscription ?? null, success_url: `${s.site}/thanks?session_id={CHECKOUT_SESSION_ID}`,
    total_details: { amount_discount: s.amount_discount ?? 0, amount_shipping: 0, amount_tax: 0 }, ui_mode: 'hosted',
    url: s.status === 'open' ? `https://checkout.stripe.com/c/pay/${s.id}` : null, wallet_options: null,
  };
}

function renderPrice(p, livemode) {
  return {
    id: p.id, object: 'price', active: true, billing_scheme: 'per_unit', created: p.created, currency: p.currency,
    custom_unit_amount: null, livemode, lookup_key: null, metadata: {}, nickname: p.nickname, product: p.product,
    recurring: { interval: p.interval, interval_count: 1, meter: null, trial_period_days: null, usage_type: 'licensed' },
    tax_behavior: 'unspecified', tiers_mode: null, transform_quantity: null, type: 'recurring',
    unit_amount: p.unit_amount, unit_amount_decimal: String(p.unit_amount),
  };
}

function renderSubscription(s) {
  const item = {
    id: s.item_id, object: 'subscription_item', billing_thresholds: null, created: s.created,
    current_period_end: s.period_end, current_period_start: s.period_start, discounts: [], metadata: {},
    plan: { id: s.price.id, object: 'plan', active: true, amount: s.price.unit_amount, amount_decimal: String(s.price.unit_amount),
      billing_scheme: 'per_unit', created: s.price.created, currency: s.currency, interval: s.price.interval, interval_count: 1,
      livemode: s.livemode, metadata: {}, meter: null, nickname: s.price.nickname, product: s.price.product, tiers_mode: null,
      transform_usage: null, trial_period_days: null, usage_type: 'licensed' },
    price: renderPrice(s.price, s.livemode), quantity: s.quantity, subscription: s.id, tax_rates: [],
  };
  return {
    id: s.id, object: 'subscription', application: null, application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null }, billing_cycle_anchor: s.anchor,
    billing_cycle_anchor_config: null, billing_mode: { type: 'classic' }, billing_thresholds: null,
    cancel_at: s.cancel_at_period_end ? s.period_end : null, cancel_at_period_end: s.cancel_at_period_end,
    canceled_at: s.canceled_at ?? null, cancellation_details: { comment: null, feedback: s.feedback ?? null, reason: s.cancel_reason ?? null },
    collection_method: 'charge_automatically', created: s.created, currency: s.currency, customer: s.customer,
    days_until_due: null, default_payment_method: s.pm_id, default_source: null, default_tax_rates: [], description: null,
    discounts: [], ended_at: s.ended_at ?? null, invoice_settings: { account_tax_ids: null, issuer: { type: 'self' } },
    items: { object: 'list', data: [item], has_more: false, total_count: 1, url: `/v1/subscription_items?subscription=${s.id}` },
    latest_invoice: s.latest_invoice ?? null, livemode: s.livemode, metadata: {}, next_pending_invoice_item_invoice: null,
    on_behalf_of: null, pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
    pending_invoice_item_interval: null, pending_setup_intent: null, pending_update: null, schedule: null,
    start_date: s.start_date, status: s.status, test_clock: null, transfer_data: null, trial_end: s.trial_end ?? null,
    trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } }, trial_start: s.trial_start ?? null,
  };
}

function renderInvoice(i) {
  return {
    id: i.id, object: 'invoice', account_country: i.country, account_name: i.account_name, account_tax_ids: null,
    amount_due: i.amount_due, amount_overpaid: 0, amount_paid: i.amount_paid, amount_remaining: i.amount_due - i.amount_paid,
    amount_shipping: 0, application: null, attempt_count: i.attempt_count, attempted: i.attempt_count > 0,
    auto_advance: !['paid', 'void', 'uncollectible'].includes(i.status),
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: i.status === 'draft' ? i.created + HOUR : null,
    billing_reason: i.billing_reason, collection_method: 'charge_automatically', created: i.created, currency: i.currency,
    custom_fields: null, customer: i.customer, customer_account: null, customer_address: null, customer_email: i.email,
    customer_name: i.holder, customer_phone: null, customer_shipping: null, customer_tax_exempt: 'none', customer_tax_ids: [],
    default_payment_method: null, default_source: null, default_tax_rates: [], description: null, discounts: [],
    due_date: null, effective_at: i.finalized_at ?? null, ending_balance: i.status === 'draft' ? null : 0, footer: null,
    from_invoice: null, hosted_invoice_url: i.status === 'draft' ? null : `https://invoice.stripe.com/i/${i.hosted}`,
    invoice_pdf: i.status === 'draft' ? null : `https://pay.stripe.com/invoice/${i.hosted}/pdf`,
    issuer: { type: 'self' }, last_finalization_error: null, latest_revision: null,
    lines: { object: 'list', data: [{ id: i.line_id, object: 'line_item', amount: i.amount_due, currency: i.currency,
      description: i.line_description, discount_amounts: [], discountable: true, discounts: [], invoice: i.id, livemode: i.livemode,
      metadata: {}, parent: { invoice_item_details: null, subscription_item_details: { invoice_item: null, proration: false,
        proration_details: { credited_items: null }, subscription: i.subscription, subscription_item: i.item_id }, type: 'subscription_item_details' },
      period: { end: i.period_end, start: i.period_start }, pretax_credit_amounts: [],
      pricing: { price_details: { price: i.price_id, product: i.product }, type: 'price_details', unit_amount_decimal: String(i.amount_due) },
      quantity: 1, subtotal: i.amount_due, taxes: [] }], has_more: false, total_count: 1, url: `/v1/invoices/${i.id}/lines` },
    livemode: i.livemode, metadata: {}, next_payment_attempt: i.next_payment_attempt ?? null, number: i.number,
    on_behalf_of: null,
    parent: { quote_details: null, subscription_details: { metadata: {}, subscription: i.subscription }, type: 'subscription_details' },
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: i.period_end, period_start: i.period_start, post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0, receipt_number: null,
    rendering: { amount_tax_display: null, pdf: { page_size: 'auto' }, template: null, template_version: null },
    shipping_cost: null, shipping_details: null, starting_balance: 0, statement_descriptor: null, status: i.status,
    status_transitions: { finalized_at: i.finalized_at ?? null, marked_uncollectible_at: i.uncollectible_at ?? null,
      paid_at: i.paid_at ?? null, voided_at: i.voided_at ?? null },
    subscription: i.subscription, subtotal: i.amount_due, subtotal_excluding_tax: i.amount_due, test_clock: null,
    total: i.amount_due, total_discount_amounts: [], total_excluding_tax: i.amount_due, total_pretax_credit_amounts: [],
    total_taxes: [], webhooks_delivered_at: i.created,
  };
}

// ---------------------------------------------------------------------------------------------
// Truth summaries: the fields a reference computation needs, read from the object as sent.
// ---------------------------------------------------------------------------------------------
const ref = (v) => (v && typeof v === 'object' ? v.id : v ?? null);

/** The summary of a Stripe object (plus the event's account/livemode) kept in truth.json. */
export function summarize(kind, o, account, livemode) {
  const base = { id: o.id, account, livemode, created: o.created ?? null };
  switch (kind) {
    case 'charge':
      return { ...base, status: o.status, amount: o.amount, amount_captured: o.amount_captured,
        amount_refunded: o.amount_refunded, currency: o.currency, customer: ref(o.customer),
        payment_intent: ref(o.payment_intent), captured: o.captured, refunded: o.refunded, disputed: o.disputed,
        failure_code: o.failure_code, outcome_type: o.outcome?.type ?? null, outcome_reason: o.outcome?.reason ?? null,
        payment_method_type: o.payment_method_details?.type ?? null,
        card_brand: o.payment_method_details?.card?.brand ?? null };
    case 'refund':
      return { ...base, status: o.status, amount: o.amount, currency: o.currency, charge: ref(o.charge),
        payment_intent: ref(o.payment_intent), reason: o.reason };
    case 'dispute':
      return { ...base, status: o.status, amount: o.amount, currency: o.currency, charge: ref(o.charge),
        payment_intent: ref(o.payment_intent), reason: o.reason };
    case 'customer':
      return { ...base, email: o.email, name: o.name };
    case 'checkout_session':
      return { ...base, status: o.status, payment_status: o.payment_status, mode: o.mode, amount_total: o.amount_total,
        currency: o.currency, customer: ref(o.customer), payment_intent: ref(o.payment_intent),
        subscription: ref(o.subscription) };
    case 'payment_intent':
      return { ...base, status: o.status, amount: o.amount, amount_received: o.amount_received, currency: o.currency,
        customer: ref(o.customer), latest_charge: ref(o.latest_charge), last_error_code: o.last_payment_error?.code ?? null,
        cancellation_reason: o.cancellation_reason };
    case 'subscription':
      return { ...base, status: o.status, customer: ref(o.customer), currency: o.currency,
        cancel_at_period_end: o.cancel_at_period_end, canceled_at: o.canceled_at, ended_at: o.ended_at,
        items: o.items.data.map((it) => ({ id: it.id, price: it.price.id, unit_amount: it.price.unit_amount,
          current_period_start: it.current_period_start, current_period_end: it.current_period_end })) };
    case 'invoice':
      return { ...base, status: o.status, customer: ref(o.customer), subscription: ref(o.subscription),
        currency: o.currency, amount_due: o.amount_due, amount_paid: o.amount_paid, total: o.total,
        billing_reason: o.billing_reason, paid_at: o.status_transitions?.paid_at ?? null };
  }
  throw new Error(`summarize: unknown kind ${kind}`);
}

const KIND_OF_OBJECT = { charge: 'charge', refund: 'refund', dispute: 'dispute', customer: 'customer',
  'checkout.session': 'checkout_session', payment_intent: 'payment_intent', subscription: 'subscription',
  invoice: 'invoice' };

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------
/**
 * An event envelope around `object` (a rendered Stripe object) -> Ev. `opts`: id, created,
 * account, livemode, request (null for automatic events), previous (previous_attributes).
 */
function makeEvent(type, object, { id, created, account = null, livemode, request = null, previous, pending = 1 }) {
  const env = { id, object: 'event' };
  if (account) env.account = account;
  env.api_version = API_VERSION;
  env.created = created;
  env.data = previous ? { object, previous_attributes: previous } : { object };
  env.livemode = livemode;
  env.pending_webhooks = pending;
  env.request = request ?? { id: null, idempotency_key: null };
  env.type = type;
  const kind = KIND_OF_OBJECT[object.object];
  const objects = [];
  if (kind) {
    const s = summarize(kind, object, account, livemode);
    s.deleted = type.endsWith('.deleted');  // SPEC §2: *.deleted leaves a tombstone
    objects.push({ kind, state: s });
    if (kind === 'charge') for (const r of object.refunds?.data ?? []) objects.push({ kind: 'refund', state: summarize('refund', r, account, livemode) });
  }
  return { id, type, created, account, livemode, body: JSON.stringify(env), objects };
}

// ---------------------------------------------------------------------------------------------
// Actors: each is a generator yielding items in non-decreasing time:
//   { t, ev }        an event (ev.created === t)
//   { t, spawn }     start another actor (a generator) at time t
// ---------------------------------------------------------------------------------------------

class Clock {  // a story's clock: every event at least 1 s after the previous one
  constructor(t) { this.t = Math.floor(t); }
  step(dt = 1) { this.t += Math.max(1, Math.floor(dt)); return this.t; }
  until(t) { this.t = Math.max(this.t + 1, Math.floor(t)); return this.t; }
}

function priceOf(rng, currency) {
  const list = PRICES[currency];
  let total = 0;
  const n = rng.weighted([[1, 70], [2, 22], [3, 8]]);
  for (let i = 0; i < n; i++) total += rng.pick(list) * rng.weighted([[1, 85], [2, 15]]);
  return total;
}

function newCardPm(rng, currency, region) {
  const brand = rng.weighted(CARD_BRANDS[currency]);
  return {
    type: 'card', id: 'pm_1' + rng.str(23), brand, last4: String(rng.int(0, 9999)).padStart(4, '0'),
    exp_month: rng.int(1, 12), exp_year: rng.int(2026, 2032), fingerprint: rng.str(16),
    funding: rng.weighted([['credit', 60], ['debit', 36], ['prepaid', 4]]),
    country: brand === 'jcb' ? 'JP' : brand === 'unionpay' ? 'CN' : COUNTRY_OF_REGION[region],
    wallet: rng.weighted([[null, 80], ['apple_pay', 13], ['google_pay', 7]]),
    postal_check: region === 'US' ? 'pass' : null,
    three_d_secure: region === 'EU' || rng.chance(0.1)
      ? { authentication_flow: rng.pick(['frictionless', 'challenge']), electronic_commerce_indicator: '05',
          exemption_indicator: null, result: 'authenticated', result_reason: null, transaction_id: rng.str(8, HEX) + '-' + rng.str(4, HEX) + '-' + rng.str(4, HEX) + '-' + rng.str(4, HEX) + '-' + rng.str(12, HEX), version: '2.2.0' }
      : null,
  };
}

function newPm(rng, type, currency, region, holder) {
  if (type === 'card') return newCardPm(rng, currency, region);
  return {
    type, id: 'pm_1' + rng.str(23), last4: String(rng.int(0, 9999)).padStart(4, '0'), fingerprint: rng.str(16),
    mandate: 'mandate_1' + rng.str(23), holder, buyer_id: rng.str(12, HEX), cashtag: '$' + rng.str(8).toLowerCase(),
    kr_brand: rng.pick(['hyundai', 'shinhan', 'kb', 'samsung', 'lotte']), store: rng.pick(['lawson', 'familymart', 'seicomart', 'ministop']),
  };
}

/** Shared per-order context. */
function orderContext(rng, shop, { account, livemode, currency, customer, start }) {
  const region = customer?.region ?? REGION_OF_CURRENCY[currency];
  const names = NAMES[region];
  const nm = customer ? null : rng.pick(names);
  const holder = customer?.name ?? (region === 'KR' || region === 'JP' ? nm[1] + nm[0] : `${nm[0]} ${nm[1]}`);
  const email = customer?.email ?? `${(nm[2] ?? (nm[0] + '.' + nm[1])).normalize('NFD').toLowerCase().replace(/[^a-z.]/g, '')}${rng.int(1, 999)}@example.com`;
  return { rng, shop, account, livemode, currency, customer: customer?.id ?? null, region, holder, email,
    address: customer?.address ?? null, clock: new Clock(start) };
}

function req(rng) {
  return { id: 'req_' + rng.str(14), idempotency_key: rng.str(8, HEX) + '-' + rng.str(4, HEX) + '-4' + rng.str(3, HEX) + '-' + rng.str(4, HEX) + '-' + rng.str(12, HEX) };
}

/** Emits an event from a story: the context supplies ids, account, livemode. */
function emitter(ctx) {
  return (type, object, { request = null, previous, at } = {}) => {
    const t = at ?? ctx.clock.t;
    const ev = makeEvent(type, object, { id: 'evt_' + ctx.rng.pick(['1', '3']) + ctx.rng.str(24), created: t, account: ctx.account,
      livemode: ctx.livemode, request: request === true ? req(ctx.rng) : request, previous,
      pending: ctx.rng.weighted([[1, 85], [2, 15]]) });
    return { t, ev };
  };
}

/**
 * One order: (checkout session ->) payment intent -> charge attempts -> refunds/disputes.
 * Returns (via generator) events in time order on the story's own clock.
 */
function* orderStory(ctx, opts = {}) {
  const { rng, currency } = ctx;
  const clock = ctx.clock;
  const emit = emitter(ctx);
  const amount = opts.amount ?? priceOf(rng, currency);
  const viaCheckout = opts.checkout ?? rng.chance(0.6);
  let session = null;

  if (viaCheckout) {
    const free = rng.chance(0.015);
    session = {
      id: (ctx.livemode ? 'cs_live_' : 'cs_test_') + 'a1' + rng.str(56), created: clock.t, expires_at: clock.t + DAY,
      livemode: ctx.livemode, mode: 'payment', currency, amount_subtotal: amount, amount_total: free ? 0 : amount,
      amount_discount: free ? amount : 0, discount: free ? 'FREEBIE100' : null, customer: ctx.customer,
      email: ctx.customer ? ctx.email : rng.chance(0.5) ? ctx.email : null, holder: ctx.holder, address: ctx.address,
      status: 'open', payment_status: 'unpaid', pm_types: METHODS[currency].map((m) => m[0]),
      pmc: 'pmc_1' + rng.str(23), site: 'https://shop.example.com', locale: 'auto',
      client_reference_id: rng.chance(0.3) ? 'cart_' + rng.str(10) : null,
    };
    if (free) {  // 100% coupon: no payment at all
      clock.step(rng.int(40, 400));
      session.status = 'complete'; session.payment_status = 'no_payment_required';
      yield emit('checkout.session.completed', renderSession(session));
      return;
    }
    if (opts.abandon || rng.chance(0.18)) {  // abandoned before paying
      clock.until(session.expires_at + rng.int(0, 300));
      session.status = 'expired';
      yield emit('checkout.session.expired', renderSession(session));
      return;
    }
    clock.step(rng.int(30, 600));  // filling in the form
  }

  const methodType = opts.method ?? rng.weighted(METHODS[currency]);
  let pm = newPm(rng, methodType, currency, ctx.region, ctx.holder);
  const isAsync = ASYNC_METHODS.has(methodType);
  const manual = !viaCheckout && methodType === 'card' && (opts.manual ?? rng.chance(0.07));
  const pi = {
    id: 'pi_3' + rng.str(24), created: clock.t, amount, currency, customer: ctx.customer, livemode: ctx.livemode,
    status: 'requires_payment_method', secret: rng.str(25), pmc: 'pmc_1' + rng.str(23), checkout: !!session,
    capture_method: manual ? 'manual' : 'automatic_async', pm_types: session ? [methodType] : ['card', 'link'],
    email: ctx.email, metadata: session ? {} : { order_id: 'ord_' + rng.str(10) },
    description: session ? null : `Order ${rng.int(10000, 99999)}`,
  };
  yield emit('payment_intent.created', renderPaymentIntent(pi), { request: true });

  const newCharge = () => ({
    id: 'ch_3' + rng.str(24), created: clock.t, amount, amount_captured: 0, amount_refunded: 0, captured: false,
    currency, customer: ctx.customer, livemode: ctx.livemode, payment_intent: pi.id, pm, status: 'pending',
    refunds: [], refunded: false, disputed: false, failure: null, email: ctx.email, holder: ctx.holder,
    billing_address: ctx.address, descriptor: ctx.shop.descriptor, txn: 'txn_3' + rng.str(24),
    receipt: rng.str(40), risk_score: rng.int(1, 64), description: pi.description,
  });

  let ch = null;
  const maxAttempts = opts.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    clock.step(rng.int(2, 25));
    ch = newCharge();
    pi.payment_method = pm.id; pi.latest_charge = ch.id;
    if (isAsync) {
      yield emit('charge.pending', renderCharge(ch), { request: true });
      clock.step(1);
      pi.status = 'processing';
      yield emit('payment_intent.processing', renderPaymentIntent(pi));
      if (session) {
        clock.step(1);
        session.status = 'complete'; session.payment_intent = pi.id;
        yield emit('checkout.session.completed', renderSession(session));
      }
      clock.step(rng.int(DAY, 5 * DAY));
      if (!(opts.fail ?? rng.chance(0.08))) {
        ch.status = 'succeeded'; ch.captured = true; ch.amount_captured = amount;
        yield emit('charge.succeeded', renderCharge(ch));
        clock.step(1);
        pi.status = 'succeeded'; pi.amount_received = amount;
        yield emit('payment_intent.succeeded', renderPaymentIntent(pi));
        if (session) {
          clock.step(1);
          session.payment_status = 'paid';
          yield emit('checkout.session.async_payment_succeeded', renderSession(session));
        }
        break;
      }
      ch.status = 'failed';
      ch.failure = NONCARD_DECLINES[methodType] ?? NONCARD_DECLINES.default;
      yield emit('charge.failed', renderCharge(ch));
      clock.step(1);
      pi.status = 'requires_payment_method';
      pi.last_error = { ...ch.failure, charge: ch.id, pm: pm.id, pm_type: pm.type };
      yield emit('payment_intent.payment_failed', renderPaymentIntent(pi));
      if (session) {
        clock.step(1);
        yield emit('checkout.session.async_payment_failed', renderSession(session));
      }
      return;
    }

    const failRate = methodType === 'card' ? 0.14 : 0.05;
    const fail = opts.failFirst && attempt === 1 ? true : opts.failFirst ? false : rng.chance(failRate);
    if (fail) {
      ch.status = 'failed';
      ch.failure = methodType === 'card' ? rng.weighted(DECLINES) : NONCARD_DECLINES.default;
      ch.risk_score = ch.failure.type === 'blocked' ? rng.int(76, 99) : ch.risk_score;
      yield emit('charge.failed', renderCharge(ch), { request: true });
      clock.step(1);
      pi.status = 'requires_payment_method';
      pi.last_error = { ...ch.failure, charge: ch.id, pm: pm.id, pm_type: pm.type };
      yield emit('payment_intent.payment_failed', renderPaymentIntent(pi));
      if (attempt < maxAttempts && (opts.failFirst || rng.chance(0.55))) {
        clock.step(rng.int(20, 900));  // tries again, often with another card
        if (rng.chance(0.4)) pm = newPm(rng, methodType, currency, ctx.region, ctx.holder);
        continue;
      }
      // gives up
      if (session) {
        clock.until(session.expires_at + rng.int(0, 300));
        session.status = 'expired';
        yield emit('checkout.session.expired', renderSession(session));
        clock.step(1);
        pi.status = 'canceled'; pi.canceled_at = clock.t; pi.cancellation_reason = 'automatic';
        yield emit('payment_intent.canceled', renderPaymentIntent(pi));
      } else if (rng.chance(0.5)) {
        clock.step(rng.int(HOUR, 2 * DAY));
        pi.status = 'canceled'; pi.canceled_at = clock.t; pi.cancellation_reason = 'abandoned';
        yield emit('payment_intent.canceled', renderPaymentIntent(pi), { request: true });
      }
      return;
    }

    ch.status = 'succeeded';
    pm.authorization_code = String(rng.int(100000, 999999));
    pm.network_transaction_id = String(rng.int(1e14, 9e14));
    if (manual) {
      ch.captured = false; ch.amount_captured = 0;
      yield emit('charge.succeeded', renderCharge(ch), { request: true });
      clock.step(1);
      pi.status = 'requires_capture'; pi.amount_capturable = amount;
      yield emit('payment_intent.amount_capturable_updated', renderPaymentIntent(pi));
      if (opts.expire ?? rng.chance(0.3)) {
        // the authorization lapses: Stripe refunds it in full with reason expired_uncaptured_charge
        clock.until(ch.created + 7 * DAY + rng.int(0, HOUR));
        ch.refunds.unshift({ id: 're_3' + rng.str(24), created: clock.t, amount, currency, charge: ch.id,
          payment_intent: pi.id, reason: 'expired_uncaptured_charge', status: 'succeeded', method: 'card',
          txn: 'txn_3' + rng.str(24), customer: ctx.customer, payment_method: pm.id });
        ch.amount_refunded = amount; ch.refunded = true;
        yield emit('charge.expired', renderCharge(ch));
        clock.step(1);
        pi.status = 'canceled'; pi.amount_capturable = 0; pi.canceled_at = clock.t; pi.cancellation_reason = 'automatic';
        yield emit('payment_intent.canceled', renderPaymentIntent(pi));
        return;
      }
      clock.step(rng.int(HOUR, 3 * DAY));
      ch.captured = true; ch.amount_captured = amount;
      yield emit('charge.captured', renderCharge(ch), { request: true });
      clock.step(1);
      pi.status = 'succeeded'; pi.amount_capturable = 0; pi.amount_received = amount;
      yield emit('payment_intent.succeeded', renderPaymentIntent(pi));
      break;
    }
    ch.captured = true; ch.amount_captured = amount;
    yield emit('charge.succeeded', renderCharge(ch), { request: !session });
    clock.step(1);
    pi.status = 'succeeded'; pi.amount_received = amount; pi.last_error = pi.last_error ?? null;
    yield emit('payment_intent.succeeded', renderPaymentIntent(pi));
    if (session) {
      clock.step(1);
      session.status = 'complete'; session.payment_status = 'paid'; session.payment_intent = pi.id;
      yield emit('checkout.session.completed', renderSession(session));
    }
    break;
  }

  if (ch.status !== 'succeeded' || !ch.captured) return;
  yield* afterPayment(ctx, ch, pm, opts);
}

/** Refunds and disputes of a captured charge, on a small agenda of future actions. */
function* afterPayment(ctx, ch, pm, opts = {}) {
  const { rng } = ctx;
  const clock = ctx.clock;
  const emit = emitter(ctx);
  const agenda = [];
  const at = (t, fn) => { agenda.push({ t, fn }); agenda.sort((a, b) => a.t - b.t); };
  const isCard = pm.type === 'card';
  const async = ASYNC_METHODS.has(pm.type);

  const refundPlan = opts.refunds ?? (rng.chance(0.09) ? (rng.chance(0.55) ? ['full'] : rng.chance(0.7) ? ['partial'] : ['partial', 'partial']) : []);
  const disputeP = isCard ? (pm.brand === 'amex' ? 0.05 : 0.03) : 0;
  const dispute = opts.dispute ?? (rng.chance(disputeP) ? rng.weighted([['inquiry', 25], ['chargeback', 75]]) : null);
  let tRefund = ch.created + HOUR + rng.exp(6 * DAY);
  if (dispute && refundPlan.length === 0 && rng.chance(0.25)) refundPlan.push('partial');  // disputes on refunded charges
  for (const kind of refundPlan) {
    at(tRefund, () => refund(kind));
    tRefund += DAY + rng.exp(8 * DAY);
  }
  if (dispute) at(ch.created + (opts.disputeAfter ?? 5 * DAY + rng.exp(20 * DAY)), () => openDispute(dispute));

  function* refund(kind) {
    const left = ch.amount_captured - ch.amount_refunded;
    if (left <= 0) return;
    let amount = kind === 'full' ? left : Math.max(1, Math.floor(left * (0.2 + 0.5 * rng.next())));
    if (ch.currency === 'kwd') amount = Math.max(10, amount - (amount % 10));
    if (amount > left) amount = left;
    const r = { id: 're_3' + rng.str(24), created: clock.t, amount, currency: ch.currency, charge: ch.id,
      payment_intent: ch.payment_intent, reason: rng.weighted(REFUND_REASONS), status: async ? 'pending' : 'succeeded',
      method: isCard ? 'card' : pm.type, txn: 'txn_3' + rng.str(24), failure_txn: 'txn_3' + rng.str(24),
      customer: ch.customer, payment_method: pm.id,
      metadata: rng.chance(0.4) ? { support_ticket: 'T-' + rng.int(100000, 999999), refunded_by: rng.pick(['dashboard', 'support-bot', 'api']) } : {} };
    ch.refunds.unshift(r);
    ch.amount_refunded += amount;
    ch.refunded = ch.amount_refunded === ch.amount_captured;
    yield emit('charge.refunded', renderCharge(ch), { request: true, previous: { amount_refunded: ch.amount_refunded - amount } });
    clock.step(1);
    yield emit('refund.created', renderRefund(r), { request: true });
    if (async) {
      at(clock.t + DAY + rng.int(0, 4 * DAY), function* () {
        const before = r.status;
        if (rng.chance(0.12)) {
          r.status = 'failed'; r.failure_reason = rng.pick(['insufficient_funds', 'declined', 'expired_or_canceled_card']);
          yield emit('refund.failed', renderRefund(r), { previous: { status: before } });
        } else {
          r.status = 'succeeded';
          yield emit('refund.updated', renderRefund(r), { previous: { status: before } });
        }
        clock.step(1);
        yield emit('charge.refund.updated', renderRefund(r), { previous: { status: before } });
      });
    } else if (rng.chance(0.4)) {  // the acquirer reference arrives later; status unchanged
      at(clock.t + DAY + rng.int(0, 3 * DAY), function* () {
        r.reference = String(rng.int(1e14, 9e14)) + String(rng.int(1e8, 9e8));
        yield emit('charge.refund.updated', renderRefund(r), { previous: { destination_details: { card: { reference: null } } } });
      });
    }
  }

  function* openDispute(kind) {
    const d = {
      id: 'dp_1' + rng.str(24), created: clock.t, amount: ch.amount_captured, currency: ch.currency, charge: ch.id,
      payment_intent: ch.payment_intent, livemode: ch.livemode, reason: rng.weighted(DISPUTE_REASONS),
      status: kind === 'inquiry' ? 'warning_needs_response' : 'needs_response', inquiry: kind === 'inquiry',
      brand: pm.brand ?? 'visa', network_reason_code: rng.pick(['10.4', '13.1', '13.3', '4837', '4853', 'F29']),
      due_by: clock.t + rng.int(7, 21) * DAY, txns: [], refundable: ch.amount_refunded < ch.amount_captured,
      email: ch.email, holder: ch.holder, tracking: '1Z' + rng.str(16, '0123456789ABCDEFGHJKLMNPRSTUVWXYZ'),
    };
    const outcome = opts.disputeOutcome ?? (kind === 'inquiry'
      ? rng.weighted([['warning_closed', 70], ['escalate', 30]])
      : rng.weighted([['won', 40], ['lost', 42], ['no_response', 18]]));
    ch.disputed = true;
    yield emit('charge.dispute.created', renderDispute(d));
    const withdraw = function* () {
      clock.step(rng.int(1, 90));
      d.txns.push({ id: 'txn_1' + rng.str(24), amount: -d.amount, fee: d.currency === 'usd' ? 1500 : 0, at: clock.t });
      d.refundable = false;
      yield emit('charge.dispute.funds_withdrawn', renderDispute(d));
    };
    const chargeback = function* (result) {
      if (result === 'no_response') {
        clock.until(d.due_by + rng.int(HOUR, DAY));
        const before = d.status;
        d.status = 'lost'; d.past_due = true;
        yield emit('charge.dispute.closed', renderDispute(d), { previous: { status: before } });
        return;
      }
      clock.step(rng.int(2 * DAY, 10 * DAY));
      let before = d.status;
      d.status = 'under_review'; d.evidence = true;
      yield emit('charge.dispute.updated', renderDispute(d), { request: true, previous: { status: before } });
      clock.step(rng.int(30 * DAY, 75 * DAY));
      before = d.status;
      d.status = result;
      yield emit('charge.dispute.closed', renderDispute(d), { previous: { status: before } });
      if (result === 'won') {
        clock.step(rng.int(1, 3600));
        d.txns.push({ id: 'txn_1' + rng.str(24), amount: d.amount, fee: 0, at: clock.t });
        yield emit('charge.dispute.funds_reinstated', renderDispute(d));
      }
    };
    if (kind === 'inquiry') {
      clock.step(rng.int(DAY, 8 * DAY));
      let before = d.status;
      d.status = 'warning_under_review'; d.evidence = true;
      yield emit('charge.dispute.updated', renderDispute(d), { request: true, previous: { status: before } });
      clock.step(rng.int(10 * DAY, 40 * DAY));
      if (outcome === 'escalate') {  // the inquiry becomes a chargeback (same dispute object)
        before = d.status;
        d.status = 'needs_response'; d.inquiry = false; d.evidence = false; d.due_by = clock.t + 14 * DAY;
        yield emit('charge.dispute.updated', renderDispute(d), { previous: { status: before } });
        yield* withdraw();
        yield* chargeback(rng.weighted([['won', 45], ['lost', 55]]));
        return;
      }
      before = d.status;
      d.status = 'warning_closed';
      yield emit('charge.dispute.closed', renderDispute(d), { previous: { status: before } });
      return;
    }
    yield* withdraw();
    yield* chargeback(outcome);
  }

  while (agenda.length) {
    const { t, fn } = agenda.shift();
    clock.until(t);
    yield* fn();
  }
}

/** A subscription: start (maybe trial), renewals, failed renewals, cancellation. */
function* subscriptionStory(ctx, cust, end) {
  const { rng, currency } = ctx;
  const clock = ctx.clock;
  const emit = emitter(ctx);
  const yearly = rng.chance(0.2);
  const unit = PLANS[currency] * (yearly ? 10 : 1);
  const shopPriceCreated = ctx.shop.priceCreated;
  const price = { id: `price_1${currency.toUpperCase()}${yearly ? 'Yr' : 'Mo'}` + (ctx.account ? ctx.account.slice(-6) : 'Platfm') + (ctx.livemode ? 'L' : 'T') + 'x'.repeat(6),
    product: 'prod_' + (ctx.account ? ctx.account.slice(-6) : 'Platfm') + 'Member', nickname: yearly ? 'Membership (yearly)' : 'Membership (monthly)',
    unit_amount: unit, currency, interval: yearly ? 'year' : 'month', created: shopPriceCreated };
  const addPeriod = (t) => {
    const d = new Date(t * 1000);
    if (yearly) d.setUTCFullYear(d.getUTCFullYear() + 1); else d.setUTCMonth(d.getUTCMonth() + 1);
    return Math.floor(d.getTime() / 1000);
  };
  const trial = rng.chance(0.25);
  const pm = newCardPm(rng, currency, ctx.region);
  const s = {
    id: 'sub_1' + rng.str(23), item_id: 'si_' + rng.str(14), created: clock.t, start_date: clock.t, anchor: clock.t,
    currency, customer: cust.id, livemode: ctx.livemode, price, quantity: 1, pm_id: pm.id, status: 'incomplete',
    cancel_at_period_end: false, period_start: clock.t, period_end: trial ? clock.t + 14 * DAY : addPeriod(clock.t),
  };
  if (trial) { s.trial_start = clock.t; s.trial_end = s.period_end; s.status = 'trialing'; s.anchor = s.trial_end; }
  let invoiceNo = 1;
  const newInvoice = (reason, amount, ps, pe) => ({
    id: 'in_1' + rng.str(23), created: clock.t, status: 'draft', amount_due: amount, amount_paid: 0, attempt_count: 0,
    billing_reason: reason, currency, customer: cust.id, subscription: s.id, item_id: s.item_id, price_id: price.id,
    product: price.product, livemode: ctx.livemode, email: cust.email, holder: cust.name, country: ctx.shop.country,
    account_name: ctx.shop.name, number: `${cust.invoice_prefix}-${String(invoiceNo++).padStart(4, '0')}`,
    hosted: rng.str(40), line_id: 'il_1' + rng.str(23), line_description: `1 × ${price.nickname}`,
    period_start: ps, period_end: pe,
  });
  const subEvent = (type, previous, request) => emit(type, renderSubscription(s), { previous, request });

  // Pays an invoice with a new payment intent + charge; returns whether it succeeded.
  const pay = function* (inv, failP) {
    clock.step(rng.int(1, 30));
    const pi = { id: 'pi_3' + rng.str(24), created: clock.t, amount: inv.amount_due, currency, customer: cust.id,
      livemode: ctx.livemode, status: 'requires_payment_method', secret: rng.str(25), pmc: 'pmc_1' + rng.str(23),
      pm_types: ['card'], description: inv.billing_reason === 'subscription_create' ? 'Subscription creation' : 'Subscription update',
      payment_method: pm.id, email: cust.email };
    yield emit('payment_intent.created', renderPaymentIntent(pi));
    clock.step(rng.int(1, 5));
    const ch = { id: 'ch_3' + rng.str(24), created: clock.t, amount: inv.amount_due, amount_captured: 0, amount_refunded: 0,
      captured: false, currency, customer: cust.id, livemode: ctx.livemode, payment_intent: pi.id, pm, status: 'succeeded',
      refunds: [], refunded: false, disputed: false, failure: null, email: cust.email, holder: cust.name,
      billing_address: cust.address, descriptor: ctx.shop.descriptor, txn: 'txn_3' + rng.str(24), receipt: rng.str(40),
      risk_score: rng.int(1, 64), description: pi.description };
    pi.latest_charge = ch.id;
    inv.attempt_count++;
    if (rng.chance(failP)) {
      ch.status = 'failed'; ch.failure = rng.weighted(DECLINES);
      yield emit('charge.failed', renderCharge(ch));
      clock.step(1);
      pi.last_error = { ...ch.failure, charge: ch.id, pm: pm.id, pm_type: 'card' };
      yield emit('payment_intent.payment_failed', renderPaymentIntent(pi));
      clock.step(1);
      inv.next_payment_attempt = clock.t + 3 * DAY;
      yield emit('invoice.payment_failed', renderInvoice(inv));
      return false;
    }
    ch.captured = true; ch.amount_captured = inv.amount_due;
    yield emit('charge.succeeded', renderCharge(ch));
    clock.step(1);
    pi.status = 'succeeded'; pi.amount_received = inv.amount_due;
    yield emit('payment_intent.succeeded', renderPaymentIntent(pi));
    clock.step(1);
    inv.status = 'paid'; inv.amount_paid = inv.amount_due; inv.paid_at = clock.t; inv.next_payment_attempt = null;
    yield emit('invoice.paid', renderInvoice(inv));
    clock.step(1);
    yield emit('invoice.payment_succeeded', renderInvoice(inv));
    // later refunds/disputes of subscription charges are rare; leave them to one-off orders
    return true;
  };

  // creation
  let inv = newInvoice('subscription_create', trial ? 0 : unit, s.period_start, s.period_end);
  s.latest_invoice = inv.id;
  yield subEvent('customer.subscription.created', undefined, req(rng));
  clock.step(1);
  yield emit('invoice.created', renderInvoice(inv));
  clock.step(1);
  inv.status = 'open'; inv.finalized_at = clock.t;
  yield emit('invoice.finalized', renderInvoice(inv));
  if (trial) {
    clock.step(1);
    inv.status = 'paid'; inv.paid_at = clock.t;
    yield emit('invoice.paid', renderInvoice(inv));
  } else {
    let ok = yield* pay(inv, 0.08);
    if (!ok && rng.chance(0.5)) { clock.step(rng.int(60, 1800)); ok = yield* pay(inv, 0.3); }
    if (!ok) {  // incomplete subscription expires after 23 h, its invoice is voided
      clock.until(s.created + 23 * HOUR);
      let before = s.status;
      s.status = 'incomplete_expired'; s.ended_at = clock.t;
      yield subEvent('customer.subscription.deleted', { status: before });
      clock.step(1);
      inv.status = 'void'; inv.voided_at = clock.t;
      yield emit('invoice.voided', renderInvoice(inv));
      return;
    }
    clock.step(1);
    s.status = 'active';
    yield subEvent('customer.subscription.updated', { status: 'incomplete' });
  }

  // periods
  const churn = yearly ? 0.02 : rng.pick([0.03, 0.06, 0.12]);
  for (;;) {
    if (s.status === 'trialing') {
      clock.until(s.trial_end - 3 * DAY);
      yield subEvent('customer.subscription.trial_will_end');
    }
    if (!s.cancel_at_period_end && rng.chance(churn * (yearly ? 12 : 1))) {  // decides to cancel at period end
      const when = s.period_start + (s.period_end - s.period_start) * (0.1 + 0.8 * rng.next());
      if (when > end) return;  // beyond the dataset
      clock.until(when);
      s.cancel_at_period_end = true; s.canceled_at = clock.t;
      s.cancel_reason = 'cancellation_requested'; s.feedback = rng.pick([null, 'too_expensive', 'unused', 'switched_service']);
      yield subEvent('customer.subscription.updated', { cancel_at_period_end: false }, true);
    }
    if (s.period_end > end) return;  // beyond the dataset
    clock.until(s.period_end);
    if (s.cancel_at_period_end) {
      const before = s.status;
      s.status = 'canceled'; s.ended_at = clock.t;
      yield subEvent('customer.subscription.deleted', { status: before });
      return;
    }
    // renewal
    const ps = s.period_end, pe = addPeriod(s.period_end);
    const was = s.status;
    s.period_start = ps; s.period_end = pe;
    if (was === 'trialing') s.status = 'active';
    inv = newInvoice('subscription_cycle', unit, ps, pe);
    s.latest_invoice = inv.id;
    yield subEvent('customer.subscription.updated', { status: was, items: { data: [{ current_period_start: null }] } });
    clock.step(1);
    yield emit('invoice.created', renderInvoice(inv));
    clock.step(HOUR);
    inv.status = 'open'; inv.finalized_at = clock.t;
    yield emit('invoice.finalized', renderInvoice(inv));
    let ok = yield* pay(inv, 0.07);
    for (let retry = 0; !ok && retry < 3; retry++) {
      if (s.status !== 'past_due') {
        clock.step(1);
        s.status = 'past_due';
        yield subEvent('customer.subscription.updated', { status: 'active' });
      }
      clock.step([3 * DAY, 5 * DAY, 7 * DAY][retry]);
      ok = yield* pay(inv, 0.5);
    }
    if (!ok) {  // gives up: invoice uncollectible, subscription canceled; sometimes paid later by hand
      clock.step(HOUR);
      inv.status = 'uncollectible'; inv.uncollectible_at = clock.t; inv.next_payment_attempt = null;
      yield emit('invoice.marked_uncollectible', renderInvoice(inv));
      clock.step(1);
      s.status = 'canceled'; s.ended_at = clock.t; s.canceled_at = clock.t; s.cancel_reason = 'payment_failed';
      yield subEvent('customer.subscription.deleted', { status: 'past_due' });
      if (rng.chance(0.2)) {
        clock.step(rng.int(2 * DAY, 20 * DAY));
        yield* pay(inv, 0);
      }
      return;
    }
    if (s.status === 'past_due') {
      clock.step(1);
      s.status = 'active';
      yield subEvent('customer.subscription.updated', { status: 'past_due' });
    }
  }
}

const BEHAVIOURS = [['one_time', 38], ['occasional', 27], ['regular', 13], ['drifter', 12], ['browser', 10]];

/** A customer's life: signup, orders (spawned stories), profile updates, maybe deletion. */
function* customerActor(shop, idx, signup, end) {
  const rng = new Rng(shop.seed, `customer/${idx}`);
  const acc = rng.weighted(ACCOUNTS.map((a) => [a, a.weight]));
  const livemode = !rng.chance(shop.testShare);
  const currency = rng.weighted(acc.currencies);
  const region = REGION_OF_CURRENCY[currency];
  const nm = rng.pick(NAMES[region]);
  const name = region === 'KR' || region === 'JP' ? nm[1] + nm[0] : `${nm[0]} ${nm[1]}`;
  const local = (nm[2] ?? `${nm[0]}.${nm[1]}`).normalize('NFD').toLowerCase().replace(/[^a-z.]/g, '');
  const city = rng.pick(CITIES[region]);
  const cust = {
    id: 'cus_' + rng.str(14), created: Math.floor(signup), livemode, email: `${local}${rng.int(1, 9999)}@example.com`,
    name, region, locale: LOCALE_OF_REGION[region], invoice_prefix: rng.str(8, '0123456789ABCDEF'),
    phone: rng.chance(0.4) ? `+1${rng.int(2000000000, 9899999999)}` : null,
    address: { city: city[0], state: city[1], postal_code: city[2], country: COUNTRY_OF_REGION[region], line1: `${rng.int(1, 999)} Main St` },
    metadata: rng.chance(0.3) ? { crm_id: 'crm_' + rng.str(8) } : {},
  };
  const ctxBase = { rng, shop, account: acc.id, livemode, currency, customer: cust };
  const emitCtx = { rng, account: acc.id, livemode, clock: new Clock(cust.created) };
  const emit = emitter(emitCtx);

  // plan the customer's agenda
  const behaviour = rng.weighted(BEHAVIOURS);
  const orders = [];
  let t = cust.created + rng.int(2 * MIN, 3 * DAY);
  switch (behaviour) {
    case 'one_time': orders.push(t); break;
    case 'occasional': for (let n = rng.int(2, 4); n > 0 && t < end; n--, t += DAY + rng.exp(40 * DAY)) orders.push(t); break;
    case 'regular': for (; t < end; t += DAY + rng.exp(14 * DAY)) orders.push(t); break;
    case 'drifter': for (let n = rng.int(3, 6); n > 0 && t < end; n--, t += HOUR + rng.exp(7 * DAY)) orders.push(t); break;
    case 'browser': break;
  }
  const agenda = [];
  for (const o of orders) if (o < end) agenda.push({ t: o, what: 'order' });
  if (behaviour === 'browser') for (let n = rng.int(0, 2); n > 0; n--) agenda.push({ t: cust.created + rng.int(HOUR, 20 * DAY), what: 'browse' });
  const subscribes = behaviour !== 'browser' && rng.chance(0.12);
  if (subscribes) agenda.push({ t: cust.created + rng.int(MIN, 10 * DAY), what: 'subscribe' });
  agenda.sort((a, b) => a.t - b.t);
  const lastActivity = agenda.length ? agenda[agenda.length - 1].t : cust.created;
  const deleted = !subscribes && (behaviour === 'browser' ? rng.chance(0.1) : rng.chance(0.05));
  const deleteAt = lastActivity + rng.int(DAY, 30 * DAY);
  // a profile update, always before a deletion (Stripe sends nothing about a deleted customer)
  const updateBy = Math.min(deleted ? deleteAt - 1 : lastActivity + 30 * DAY, end);
  if (rng.chance(0.25) && updateBy > cust.created + HOUR) agenda.push({ t: rng.int(cust.created + HOUR, updateBy), what: 'update' });
  if (deleted) agenda.push({ t: deleteAt, what: 'delete' });
  agenda.sort((a, b) => a.t - b.t);

  yield emit('customer.created', renderCustomer(cust), { request: true });
  let n = 0;
  for (const a of agenda) {
    a.t = Math.max(Math.floor(a.t), emitCtx.clock.t);
    switch (a.what) {
      case 'order': case 'browse': {
        // 6% of orders in another currency than the customer's usual one
        const cur = rng.chance(0.06) ? (currency === 'usd' ? 'eur' : 'usd') : currency;
        const ctx = orderContext(rng.fork(`order/${n++}`), shop, { ...ctxBase, currency: cur, start: a.t });
        yield { t: a.t, spawn: orderStory(ctx, a.what === 'browse' ? { checkout: true, abandon: true } : {}) };
        break;
      }
      case 'subscribe': {
        const ctx = orderContext(rng.fork('subscription'), shop, { ...ctxBase, start: a.t });
        yield { t: a.t, spawn: subscriptionStory(ctx, cust, end) };
        break;
      }
      case 'update': {
        emitCtx.clock.until(a.t);
        const prev = { email: cust.email };
        cust.email = cust.email.replace('@example.com', `+${rng.int(1, 99)}@example.com`);
        yield emit('customer.updated', renderCustomer(cust), { request: true, previous: prev });
        break;
      }
      case 'delete':
        emitCtx.clock.until(a.t);
        // Stripe sends the customer as it was, in full, with the customer.deleted event
        yield emit('customer.deleted', renderCustomer(cust), { request: true });
        break;
    }
  }
}

/** The shop: customers sign up over the period (growing), guests pay now and then. */
function* shopActor(shop, start, end, customers, guests) {
  const rng = new Rng(shop.seed, 'shop');
  // signups and guest orders: sorted times with a growth trend (density rises from 1 to 2)
  const span = end - start;
  const warp = (u) => start + span * (Math.sqrt(1 + 3 * u) - 1);  // inverse CDF of density ~ 1 + x on [0,1]
  // Interleave customers and guests by generating both as sorted streams of uniforms.
  let nc = 0, ng = 0;
  // sorted uniforms without storing them: exponential spacings (Rényi) normalised on the fly
  const sortedUniforms = function* (n, r) {
    let acc = 0; const gaps = []; // for n up to a few 100k storing gaps is fine (8 bytes each)
    for (let i = 0; i <= n; i++) { const g = -Math.log(1 - r.next()); gaps.push(g); acc += g; }
    let s = 0;
    for (let i = 0; i < n; i++) { s += gaps[i]; yield s / acc; }
  };
  const cu = sortedUniforms(customers, rng.fork('signup-times'));
  const gu = sortedUniforms(guests, rng.fork('guest-times'));
  let c = cu.next(), g = gu.next();
  while (!c.done || !g.done) {
    if (!c.done && (g.done || c.value <= g.value)) {
      const t = Math.floor(warp(c.value));
      yield { t, spawn: customerActor(shop, nc++, t, end) };
      c = cu.next();
    } else {
      const t = Math.floor(warp(g.value));
      const gr = new Rng(shop.seed, `guest/${ng++}`);
      const acc = gr.weighted(ACCOUNTS.map((a) => [a, a.weight]));
      const ctx = orderContext(gr, shop, { account: acc.id, livemode: !gr.chance(shop.testShare),
        currency: gr.weighted(acc.currencies), customer: null, start: t });
      yield { t, spawn: orderStory(ctx, { checkout: gr.chance(0.7) }) };
      g = gu.next();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Driver: merge all actors by time
// ---------------------------------------------------------------------------------------------
class Heap {
  constructor(less) { this.a = []; this.less = less; }
  get size() { return this.a.length; }
  peek() { return this.a[0]; }
  push(x) {
    const a = this.a; a.push(x);
    let i = a.length - 1;
    while (i > 0) { const p = (i - 1) >> 1; if (!this.less(a[i], a[p])) break; [a[i], a[p]] = [a[p], a[i]]; i = p; }
  }
  pop() {
    const a = this.a; const top = a[0]; const last = a.pop();
    if (a.length) {
      a[0] = last; let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1; let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]]; i = m;
      }
    }
    return top;
  }
}

const EVENTS_PER_CUSTOMER = 19;  // measured average incl. guest orders (used to size --count runs)

export function parseStart(start) {
  const t = typeof start === 'number' ? start : Date.parse(/T/.test(start) ? start : `${start}T00:00:00Z`) / 1000;
  if (!Number.isFinite(t)) throw new Error(`bad start date ${start}`);
  return Math.floor(t);
}

export function periodEnd(start, months) {
  const d = new Date(parseStart(start) * 1000);
  d.setUTCMonth(d.getUTCMonth() + months);
  return Math.floor(d.getTime() / 1000);
}

/** Distinct events of the shop in created order (ties: deterministic). See the header. */
export function* shopEvents(opts = {}) {
  const seed = opts.seed ?? 1;
  const months = opts.months ?? (opts.count ? 12 : 6);
  const start = parseStart(opts.start ?? '2026-01-01');
  const end = periodEnd(start, months);
  const customers = opts.customers ?? (opts.count ? Math.ceil(opts.count / EVENTS_PER_CUSTOMER * 1.1) : 300);
  const guests = Math.round(customers * (opts.guestShare ?? 0.35));
  const shop = { seed, testShare: opts.testShare ?? 0.08, descriptor: 'NORTHWIND GOODS', name: 'Northwind Goods',
    country: 'US', priceCreated: start - 90 * DAY };
  const limit = opts.count ?? Infinity;
  let seq = 0;
  const heap = new Heap((x, y) => x.t < y.t || (x.t === y.t && x.seq < y.seq));
  // entry: { t, seq, gen, item } ; item null = not started yet
  heap.push({ t: start, seq: seq++, gen: shopActor(shop, start, end, customers, guests), item: null });
  let emitted = 0;
  while (heap.size && emitted < limit) {
    const e = heap.pop();
    if (e.item) {
      if (e.item.ev) { emitted++; yield e.item.ev; }
      else heap.push({ t: e.item.t, seq: seq++, gen: e.item.spawn, item: null });
    }
    const r = e.gen.next();
    if (r.done) continue;
    if (r.value.t < e.t) throw new Error(`actor went back in time: ${r.value.t} < ${e.t}`);
    heap.push({ t: r.value.t, seq: seq++, gen: e.gen, item: r.value });
  }
}

/**
 * At-least-once, out-of-order delivery: every event 1..dupMax times (60% once, the rest spread
 * evenly), each copy at created + U[0, windowSec). Yields { ev, arrival, copy } by arrival.
 */
export function* deliveries(events, { seed = 1, dupMax = 3, windowSec = 600 } = {}) {
  const rng = new Rng(seed, 'delivery');
  const heap = new Heap((x, y) => x.arrival < y.arrival || (x.arrival === y.arrival && x.seq < y.seq));
  let seq = 0;
  const copies = [[1, 60]];
  for (let k = 2; k <= dupMax; k++) copies.push([k, 40 / (dupMax - 1)]);
  for (const ev of events) {
    while (heap.size && heap.peek().arrival < ev.created) { const d = heap.pop(); yield { ev: d.ev, arrival: d.arrival, copy: d.copy }; }
    const k = dupMax <= 1 ? 1 : rng.weighted(copies);
    for (let c = 0; c < k; c++) heap.push({ ev, arrival: ev.created + rng.next() * windowSec, seq: seq++, copy: c });
  }
  while (heap.size) { const d = heap.pop(); yield { ev: d.ev, arrival: d.arrival, copy: d.copy }; }
}

/** Final state of every object, fed with events in created order. */
export class Truth {
  constructor() {
    this.kinds = { charge: new Map(), refund: new Map(), dispute: new Map(), customer: new Map(), checkout_session: new Map(),
      payment_intent: new Map(), subscription: new Map(), invoice: new Map() };
    this.events = 0;
  }
  add(ev) {
    this.events++;
    for (const { kind, state } of ev.objects) {
      const m = this.kinds[kind];
      const prev = m.get(state.id);
      if (prev && prev.last_event_created >= ev.created) {
        throw new Error(`generator bug: ${kind} ${state.id} got event ${ev.id} at ${ev.created}, not after ${prev.last_event_created}`);
      }
      m.set(state.id, { ...state, last_event_id: ev.id, last_event_created: ev.created });
    }
  }
  toJSON(meta = {}) {
    const arr = (k) => [...this.kinds[k].values()];
    return { meta: { ...meta, events: this.events }, charges: arr('charge'), refunds: arr('refund'), disputes: arr('dispute'),
      customers: arr('customer'), checkout_sessions: arr('checkout_session'), payment_intents: arr('payment_intent'),
      subscriptions: arr('subscription'), invoices: arr('invoice') };
  }
}

/** Buffered synchronous line writer. */
class LineWriter {
  constructor(file) { this.fd = fs.openSync(file, 'w'); this.buf = []; this.len = 0; this.bytes = 0; this.lines = 0; }
  write(line) {
    this.buf.push(line); this.len += line.length + 1; this.lines++;
    if (this.len > 1 << 20) this.flush();
  }
  flush() {
    if (!this.buf.length) return;
    const b = Buffer.from(this.buf.join('\n') + '\n', 'utf8');
    fs.writeSync(this.fd, b); this.bytes += b.length; this.buf = []; this.len = 0;
  }
  close() { this.flush(); fs.closeSync(this.fd); }
}

/** Writes events.jsonl / events_inorder.jsonl / truth.json into opts.out. Returns stats. */
export function writeDataset(opts) {
  const out = opts.out;
  fs.mkdirSync(out, { recursive: true });
  const seed = opts.seed ?? 1;
  const wantTruth = opts.truth ?? !opts.count;
  const truth = wantTruth ? new Truth() : null;
  const inorder = opts.inorder === false ? null : new LineWriter(path.join(out, 'events_inorder.jsonl'));
  const deliv = opts.deliveries === false ? null : new LineWriter(path.join(out, 'events.jsonl'));
  const t0 = Date.now();
  let n = 0, firstCreated = null, lastCreated = null, maxBody = 0, totalBody = 0;
  const progress = opts.progress ?? (() => {});
  const evs = (function* () {
    for (const ev of shopEvents(opts)) {
      n++;
      if (firstCreated === null) firstCreated = ev.created;
      lastCreated = ev.created;
      totalBody += ev.body.length; if (ev.body.length > maxBody) maxBody = ev.body.length;
      if (truth) truth.add(ev);
      if (inorder) inorder.write(ev.body);
      if (n % 100000 === 0) progress(n);
      yield ev;
    }
  })();
  let deliveriesN = 0;
  if (deliv) {
    for (const d of deliveries(evs, { seed, dupMax: opts.dupMax ?? 3, windowSec: opts.windowSec ?? 600 })) {
      deliv.write(d.ev.body); deliveriesN++;
    }
  } else {
    for (const _ of evs) { /* drain */ }
  }
  inorder?.close(); deliv?.close();
  const start = parseStart(opts.start ?? '2026-01-01');
  const months = opts.months ?? (opts.count ? 12 : 6);
  const end = periodEnd(start, months);
  const stats = { events: n, deliveries: deliveriesN, duplicates: deliveriesN - (deliv ? n : 0),
    avg_body_bytes: n ? Math.round(totalBody / n) : 0, max_body_bytes: maxBody,
    bytes_inorder: inorder?.bytes ?? 0, bytes_deliveries: deliv?.bytes ?? 0, seconds: (Date.now() - t0) / 1000 };
  if (truth) {
    const meta = { generator: 'tools/shopgen.mjs', seed, customers: opts.customers ?? null, months,
      start, end, as_of: end + 7 * DAY, first_event_created: firstCreated, last_event_created: lastCreated,
      dup_max: opts.dupMax ?? 3, shuffle_window_sec: opts.windowSec ?? 600, deliveries: deliveriesN, accounts: ACCOUNTS.map((a) => a.id) };
    fs.writeFileSync(path.join(out, 'truth.json'), JSON.stringify(truth.toJSON(meta)));
  }
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Builders for hand-made scenarios (same shapes as the generator)
// ---------------------------------------------------------------------------------------------
const bRng = new Rng('builders');
export const build = {
  /** {id, created, email, name, livemode} */
  customer(o) {
    return renderCustomer({ invoice_prefix: 'EDGE0001', locale: 'en-US', livemode: false, email: null, name: null, ...o });
  },
  /** {id, created, amount, currency, status, customer, payment_intent, captured, amount_captured,
   *   amount_refunded, refunds: [refund models], failure: {code, type, reason, msg}, method, brand, livemode, disputed} */
  charge(o) {
    const method = o.method ?? 'card';
    const pm = method === 'card'
      ? { type: 'card', id: 'pm_1Edge', brand: o.brand ?? 'visa', last4: '4242', exp_month: 12, exp_year: 2030, fingerprint: 'EdgeFingerprint1', funding: 'credit', country: 'US', wallet: null }
      : newPm(bRng, method, o.currency, 'US', 'Edge Case');
    const status = o.status ?? 'succeeded';
    const captured = o.captured ?? status === 'succeeded';
    return renderCharge({
      amount_captured: captured ? o.amount : 0, amount_refunded: 0, captured, customer: null, payment_intent: null,
      refunds: [], refunded: false, disputed: false, failure: null, descriptor: 'EDGE SHOP', txn: 'txn_3Edge', receipt: 'edge',
      risk_score: 10, livemode: false, ...o, status, pm,
      refunds: (o.refunds ?? []).map((r) => ({ method: 'card', txn: 'txn_3EdgeRefund', ...r })),
    });
  },
  /** {id, created, amount, currency, charge, payment_intent, reason, status} */
  refund(o) { return renderRefund({ method: 'card', txn: 'txn_3EdgeRefund', status: 'succeeded', reason: null, payment_intent: null, ...o }); },
  /** {id, created, amount, currency, charge, payment_intent, reason, status, livemode} */
  dispute(o) {
    return renderDispute({ txns: [], due_by: o.created + 14 * DAY, refundable: false, brand: 'visa', network_reason_code: '10.4',
      reason: 'fraudulent', payment_intent: null, livemode: false, inquiry: (o.status ?? '').startsWith('warning_'), ...o });
  },
  /** {id, created, amount, currency, customer, status, latest_charge, last_error, cancellation_reason, livemode} */
  paymentIntent(o) {
    return renderPaymentIntent({ secret: 'edge', pmc: 'pmc_1Edge', livemode: false, customer: null, status: 'requires_payment_method', ...o });
  },
  /** {id, created, status, payment_status, amount_total, currency, customer, payment_intent, livemode} */
  checkoutSession(o) {
    return renderSession({ mode: 'payment', pm_types: ['card'], pmc: 'pmc_1Edge', site: 'https://edge.example.com',
      expires_at: o.created + DAY, amount_subtotal: o.amount_total, customer: null, livemode: false, ...o });
  },
  /** An Ev around a rendered object. opts: {id, created, account, livemode, previous} */
  event(type, object, opts) {
    return makeEvent(type, object, { livemode: object.livemode ?? false, ...opts });
  },
};

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (['truth', 'noInorder', 'noDeliveries', 'help'].includes(key)) { o[key] = true; continue; }
    if (!['out', 'seed', 'months', 'customers', 'count', 'start', 'dupMax', 'shuffleWindowSec', 'guestShare', 'testShare'].includes(key)) {
      throw new Error(`unknown option ${a} (see --help)`);
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    o[key] = v;
  }
  return o;
}

function main() {
  let a;
  try { a = parseArgs(process.argv.slice(2)); } catch (e) { console.error(`shopgen: ${e.message}`); process.exit(2); }
  if (a.help || !a.out) {
    const src = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8');
    const head = src.slice(src.indexOf('/**'), src.indexOf('*/'));
    console.error(head.split('\n').slice(1).map((l) => l.replace(/^ \* ?/, '')).join('\n'));
    process.exit(a.help ? 0 : 2);
  }
  const num = (v, d) => (v === undefined ? d : Number(v));
  const opts = {
    out: a.out, seed: a.seed ?? 1, months: a.months !== undefined ? num(a.months) : undefined,
    customers: a.customers !== undefined ? num(a.customers) : undefined, count: a.count !== undefined ? num(a.count) : undefined,
    start: a.start ?? '2026-01-01', dupMax: num(a.dupMax, 3), windowSec: num(a.shuffleWindowSec, 600),
    guestShare: a.guestShare !== undefined ? num(a.guestShare) : undefined,
    testShare: a.testShare !== undefined ? num(a.testShare) : undefined,
    truth: a.truth ? true : undefined, inorder: !a.noInorder, deliveries: !a.noDeliveries,
    progress: (n) => process.stderr.write(`shopgen: ${n} events\n`),
  };
  if (!/^\d+$/.test(String(opts.seed))) opts.seed = String(opts.seed); else opts.seed = Number(opts.seed);
  for (const k of ['months', 'customers', 'count', 'dupMax', 'windowSec']) {
    if (opts[k] !== undefined && !(Number.isInteger(opts[k]) && opts[k] >= (k === 'dupMax' ? 1 : 0))) {
      console.error(`shopgen: --${k} must be a non-negative integer`); process.exit(2);
    }
  }
  const stats = writeDataset(opts);
  console.error(`shopgen: ${stats.events} events, ${stats.deliveries} deliveries (${stats.duplicates} duplicates), ` +
    `avg body ${stats.avg_body_bytes} B (max ${stats.max_body_bytes}), ${stats.seconds.toFixed(1)} s -> ${opts.out}`);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main();
