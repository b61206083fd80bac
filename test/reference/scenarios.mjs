// test/reference/scenarios.mjs: hand-built edge cases, each in its own connected account, with
// figures computed by hand (below, next to each scenario) rather than by reference.mjs.
//
//   node test/reference/scenarios.mjs --out DIR
// writes DIR/events.jsonl (delivery order: every event twice, first all in REVERSE chronological
// order, the worst case for the ordering rules, then all again in order), events_inorder.jsonl
// and truth.json (so the generic reference suite runs on these events too).
//
// Reading of the SPEC used here (see also the report): an authorization that expires uncaptured
// is a charge with status "succeeded" (Stripe keeps that status; captured=false,
// amount_captured=0), so it counts in successful_payments with 0 gross volume, and its automatic
// refund (reason expired_uncaptured_charge) is excluded from refunded_amount, as SPEC §3 says.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, Truth } from '../../tools/shopgen.mjs';
import { ratio as R } from './reference.mjs';

export const T = (s) => Date.parse(s) / 1000;
export const AS_OF = T('2026-07-15T00:00:00Z');

const events = [];
let evtNo = 0;
function scenario(account, livemode = true) {
  return (type, object, created, previous) => {
    const ev = build.event(type, object, { id: `evt_1Edge${String(++evtNo).padStart(20, '0')}`, created: T(created),
      account, livemode, previous });
    events.push(ev);
    return ev;
  };
}
const card = (reason, code = 'card_declined', type = 'issuer_declined') => ({ code, type, reason, msg: 'Your card was declined.' });

// Rows written out in full, column by column (no arithmetic here: these are the hand-computed figures).
const P = (bucket, livemode, currency, s, f, fr, gross, grossM, ref, refM, d, dr, net, netM) => ({ bucket, livemode, currency,
  successful_payments: s, failed_payments: f, failure_rate: fr, gross_volume: gross, gross_volume_major: grossM,
  refunded_amount: ref, refunded_amount_major: refM, disputes: d, dispute_rate: dr, net_volume: net, net_volume_major: netM });
const CS = (customer, currency, first, last, payments, failed, total, totalM, refunded, refundedM, net, netM, aov, aovM, avgDays) => ({
  livemode: true, customer, currency, first_payment_at: first === null ? null : T(first), last_payment_at: last === null ? null : T(last),
  payments, failed_payments: failed, total_spent: total, total_spent_major: totalM, refunded, refunded_major: refundedM,
  net_spent: net, net_spent_major: netM, avg_order_value: aov, avg_order_value_major: aovM, avg_days_between_payments: avgDays });

/** Expected rows: { account, checks: [{ view, tz ('UTC' | 'Asia/Seoul' | 'both'), livemode, rows }] } */
export const SCENARIOS = [];

// ---------------------------------------------------------------------------------------------
// 1. A charge that fails, then succeeds on retry (same payment intent)
// ---------------------------------------------------------------------------------------------
{
  const A = 'acct_1EdgeRetry000001';
  const ev = scenario(A);
  const base = { currency: 'usd', amount: 5000, customer: 'cus_EdgeRetry01', payment_intent: 'pi_EdgeRetry01', livemode: true };
  ev('customer.created', build.customer({ id: 'cus_EdgeRetry01', created: T('2026-03-10T09:00:00Z'), email: 'retry@example.com', name: 'Retry Customer', livemode: true }), '2026-03-10T09:00:00Z');
  ev('payment_intent.created', build.paymentIntent({ id: 'pi_EdgeRetry01', created: T('2026-03-10T10:00:00Z'), amount: 5000, currency: 'usd', customer: 'cus_EdgeRetry01', livemode: true }), '2026-03-10T10:00:00Z');
  ev('charge.failed', build.charge({ ...base, id: 'ch_EdgeRetryFail01', created: T('2026-03-10T10:00:05Z'), status: 'failed', failure: card('insufficient_funds') }), '2026-03-10T10:00:05Z');
  ev('payment_intent.payment_failed', build.paymentIntent({ id: 'pi_EdgeRetry01', created: T('2026-03-10T10:00:00Z'), amount: 5000, currency: 'usd', customer: 'cus_EdgeRetry01', livemode: true,
    latest_charge: 'ch_EdgeRetryFail01', last_error: { code: 'card_declined', decline: 'insufficient_funds', msg: 'Your card has insufficient funds.', charge: 'ch_EdgeRetryFail01', pm: 'pm_1Edge', pm_type: 'card' } }), '2026-03-10T10:00:06Z');
  ev('charge.succeeded', build.charge({ ...base, id: 'ch_EdgeRetryOk0001', created: T('2026-03-10T10:05:00Z') }), '2026-03-10T10:05:00Z');
  ev('payment_intent.succeeded', build.paymentIntent({ id: 'pi_EdgeRetry01', created: T('2026-03-10T10:00:00Z'), amount: 5000, amount_received: 5000, currency: 'usd', customer: 'cus_EdgeRetry01', livemode: true,
    status: 'succeeded', latest_charge: 'ch_EdgeRetryOk0001' }), '2026-03-10T10:05:01Z');
  const day = P('2026-03-10', true, 'usd', 1, 1, R(1, 2), 5000, '50.00', 0, '0.00', 0, R(0, 1), 5000, '50.00');
  SCENARIOS.push({ name: 'a charge that fails then succeeds on retry', account: A, checks: [
    { view: 'payments_daily', tz: 'both', rows: [day] },
    { view: 'payments_monthly', tz: 'both', rows: [{ ...day, bucket: '2026-03-01' }] },
    { view: 'decline_reasons', tz: 'UTC', rows: [{ livemode: true, failure_code: 'card_declined', outcome_reason: 'insufficient_funds', failed_payments: 1, share: R(1, 1) }] },
    { view: 'customer_stats', tz: 'UTC', rows: [CS('cus_EdgeRetry01', 'usd', '2026-03-10T10:05:00Z', '2026-03-10T10:05:00Z', 1, 1, 5000, '50.00', 0, '0.00', 5000, '50.00', R(5000, 1), '50.00', null)] },
    { view: 'payment_method_mix', tz: 'UTC', rows: [{ livemode: true, currency: 'usd', payment_method_type: 'card', card_brand: 'visa', successful_payments: 1, gross_volume: 5000, gross_volume_major: '50.00', share: R(1, 1) }] },
    { view: 'cohort_retention', tz: 'both', rows: [{ cohort_month: '2026-03-01', livemode: true, month_offset: 0, cohort_size: 1, active_customers: 1, retention: R(1, 1), repeat_customers: 0 }] },
  ], objects: [
    { sql: "select status || ' ' || amount_received || ' ' || latest_charge || ' ' || coalesce(last_error_code, '-') from stripe.payment_intents where id = 'pi_EdgeRetry01'", want: 'succeeded 5000 ch_EdgeRetryOk0001 -' },
    { sql: "select string_agg(id || ':' || status, ' ' order by created) from stripe.charges where payment_intent = 'pi_EdgeRetry01'", want: 'ch_EdgeRetryFail01:failed ch_EdgeRetryOk0001:succeeded' },
  ] });
}

// ---------------------------------------------------------------------------------------------
// 2. A refund after the month ended (and, in Seoul, a charge that lands in the next month)
//    charge 2026-01-31 23:30 UTC = 2026-02-01 08:30 KST; refund 2026-02-02 12:00 UTC = 21:00 KST
// ---------------------------------------------------------------------------------------------
{
  const A = 'acct_1EdgeLateRefund01';
  const ev = scenario(A);
  const ch = { id: 'ch_EdgeLate000001', created: T('2026-01-31T23:30:00Z'), amount: 10000, currency: 'usd', customer: 'cus_EdgeLate01', livemode: true };
  const re = { id: 're_EdgeLate000001', created: T('2026-02-02T12:00:00Z'), amount: 4000, currency: 'usd', charge: ch.id, reason: 'requested_by_customer', status: 'succeeded' };
  ev('customer.created', build.customer({ id: 'cus_EdgeLate01', created: T('2026-01-31T23:00:00Z'), email: 'late@example.com', name: 'Late Refund', livemode: true }), '2026-01-31T23:00:00Z');
  ev('charge.succeeded', build.charge(ch), '2026-01-31T23:30:00Z');
  ev('charge.refunded', build.charge({ ...ch, amount_refunded: 4000, refunds: [re] }), '2026-02-02T12:00:00Z', { amount_refunded: 0 });
  ev('refund.created', build.refund(re), '2026-02-02T12:00:01Z');
  const chargeOnly = (b) => P(b, true, 'usd', 1, 0, R(0, 1), 10000, '100.00', 0, '0.00', 0, R(0, 1), 10000, '100.00');
  const refundOnly = (b) => P(b, true, 'usd', 0, 0, null, 0, '0.00', 4000, '40.00', 0, null, -4000, '-40.00');
  SCENARIOS.push({ name: 'a refund after the month ended', account: A, checks: [
    { view: 'payments_monthly', tz: 'UTC', rows: [chargeOnly('2026-01-01'), refundOnly('2026-02-01')] },
    { view: 'payments_monthly', tz: 'Asia/Seoul', rows: [P('2026-02-01', true, 'usd', 1, 0, R(0, 1), 10000, '100.00', 4000, '40.00', 0, R(0, 1), 6000, '60.00')] },
    { view: 'payments_daily', tz: 'UTC', rows: [chargeOnly('2026-01-31'), refundOnly('2026-02-02')] },
    { view: 'payments_daily', tz: 'Asia/Seoul', rows: [chargeOnly('2026-02-01'), refundOnly('2026-02-02')] },
    { view: 'payments_weekly', tz: 'both', rows: [chargeOnly('2026-01-26'), refundOnly('2026-02-02')] },
    { view: 'customer_stats', tz: 'UTC', rows: [CS('cus_EdgeLate01', 'usd', '2026-01-31T23:30:00Z', '2026-01-31T23:30:00Z', 1, 0, 10000, '100.00', 4000, '40.00', 6000, '60.00', R(10000, 1), '100.00', null)] },
    { view: 'new_customers_daily', tz: 'UTC', rows: [{ day: '2026-01-31', livemode: true, new_customers: 1 }] },
    { view: 'new_customers_daily', tz: 'Asia/Seoul', rows: [{ day: '2026-02-01', livemode: true, new_customers: 1 }] },
    { view: 'cohort_retention', tz: 'UTC', rows: [{ cohort_month: '2026-01-01', livemode: true, month_offset: 0, cohort_size: 1, active_customers: 1, retention: R(1, 1), repeat_customers: 0 }] },
    { view: 'cohort_retention', tz: 'Asia/Seoul', rows: [{ cohort_month: '2026-02-01', livemode: true, month_offset: 0, cohort_size: 1, active_customers: 1, retention: R(1, 1), repeat_customers: 0 }] },
  ], objects: [
    { sql: "select amount_refunded || ' ' || refunded from stripe.charges where id = 'ch_EdgeLate000001'", want: '4000 false' },
    { sql: "select status || ' ' || amount || ' ' || customer from stripe.refunds where id = 're_EdgeLate000001'", want: 'succeeded 4000 cus_EdgeLate01' },
  ] });
}

// ---------------------------------------------------------------------------------------------
// 3. A dispute on a refunded charge (lost), an inquiry that closes (warning_closed, never a
//    dispute), a dispute won. KRW, 03:00 UTC = 12:00 KST: same days in both zones.
// ---------------------------------------------------------------------------------------------
{
  const A = 'acct_1EdgeDisputes0001';
  const ev = scenario(A);
  const c1 = { id: 'ch_EdgeDispRef001', created: T('2026-04-05T03:00:00Z'), amount: 50000, currency: 'krw', livemode: true };
  const r1 = { id: 're_EdgeDispRef001', created: T('2026-04-06T03:00:00Z'), amount: 20000, currency: 'krw', charge: c1.id, reason: 'requested_by_customer' };
  const d1 = { id: 'dp_EdgeDispRef001', created: T('2026-04-20T03:00:00Z'), amount: 50000, currency: 'krw', charge: c1.id, livemode: true };
  ev('charge.succeeded', build.charge(c1), '2026-04-05T03:00:00Z');
  ev('charge.refunded', build.charge({ ...c1, amount_refunded: 20000, refunds: [r1] }), '2026-04-06T03:00:00Z');
  ev('refund.created', build.refund(r1), '2026-04-06T03:00:01Z');
  ev('charge.dispute.created', build.dispute({ ...d1, status: 'needs_response' }), '2026-04-20T03:00:00Z');
  ev('charge.dispute.updated', build.dispute({ ...d1, status: 'under_review' }), '2026-04-25T03:00:00Z', { status: 'needs_response' });
  ev('charge.dispute.closed', build.dispute({ ...d1, status: 'lost' }), '2026-05-30T03:00:00Z', { status: 'under_review' });
  const c2 = { id: 'ch_EdgeDispWarn01', created: T('2026-04-10T03:00:00Z'), amount: 30000, currency: 'krw', livemode: true };
  const d2 = { id: 'dp_EdgeDispWarn01', created: T('2026-04-15T03:00:00Z'), amount: 30000, currency: 'krw', charge: c2.id, livemode: true };
  ev('charge.succeeded', build.charge(c2), '2026-04-10T03:00:00Z');
  ev('charge.dispute.created', build.dispute({ ...d2, status: 'warning_needs_response' }), '2026-04-15T03:00:00Z');
  ev('charge.dispute.closed', build.dispute({ ...d2, status: 'warning_closed' }), '2026-05-01T03:00:00Z', { status: 'warning_needs_response' });
  const c3 = { id: 'ch_EdgeDispWon001', created: T('2026-04-11T03:00:00Z'), amount: 20000, currency: 'krw', livemode: true };
  const d3 = { id: 'dp_EdgeDispWon001', created: T('2026-04-16T03:00:00Z'), amount: 20000, currency: 'krw', charge: c3.id, livemode: true };
  ev('charge.succeeded', build.charge(c3), '2026-04-11T03:00:00Z');
  ev('charge.dispute.created', build.dispute({ ...d3, status: 'needs_response' }), '2026-04-16T03:00:00Z');
  ev('charge.dispute.closed', build.dispute({ ...d3, status: 'won' }), '2026-05-20T03:00:00Z', { status: 'needs_response' });
  SCENARIOS.push({ name: 'a dispute on a refunded charge', account: A, checks: [
    // April: 3 succeeded (100000), refunded 20000, 2 disputes (the inquiry is not one), 1 lost (50000):
    // net = 100000 - 20000 - 50000 = 30000
    { view: 'payments_monthly', tz: 'both', rows: [P('2026-04-01', true, 'krw', 3, 0, R(0, 3), 100000, '100000', 20000, '20000', 2, R(2, 3), 30000, '30000')] },
    { view: 'payments_daily', tz: 'both', rows: [
      P('2026-04-05', true, 'krw', 1, 0, R(0, 1), 50000, '50000', 0, '0', 0, R(0, 1), 50000, '50000'),
      P('2026-04-06', true, 'krw', 0, 0, null, 0, '0', 20000, '20000', 0, null, -20000, '-20000'),
      P('2026-04-10', true, 'krw', 1, 0, R(0, 1), 30000, '30000', 0, '0', 0, R(0, 1), 30000, '30000'),
      P('2026-04-11', true, 'krw', 1, 0, R(0, 1), 20000, '20000', 0, '0', 0, R(0, 1), 20000, '20000'),
      // 2026-04-15: only the inquiry, which counts nowhere: no row
      P('2026-04-16', true, 'krw', 0, 0, null, 0, '0', 0, '0', 1, null, 0, '0'),
      P('2026-04-20', true, 'krw', 0, 0, null, 0, '0', 0, '0', 1, null, -50000, '-50000'),
    ] },
    { view: 'payment_method_mix', tz: 'UTC', rows: [{ livemode: true, currency: 'krw', payment_method_type: 'card', card_brand: 'visa', successful_payments: 3, gross_volume: 100000, gross_volume_major: '100000', share: R(1, 1) }] },
    { view: 'customer_stats', tz: 'UTC', rows: [] },
  ], objects: [
    { sql: `select string_agg(id || ':' || status, ' ' order by id) from stripe.disputes where account = '${A}'`, want: 'dp_EdgeDispRef001:lost dp_EdgeDispWarn01:warning_closed dp_EdgeDispWon001:won' },
  ] });
}

// ---------------------------------------------------------------------------------------------
// 4. A customer deleted after paying; the deletion arrives first, the older events after it
// ---------------------------------------------------------------------------------------------
{
  const A = 'acct_1EdgeDeleted00001';
  const ev = scenario(A);
  const cust = { id: 'cus_EdgeDel01', created: T('2026-02-10T08:00:00Z'), name: 'Lena Müller', livemode: true };
  ev('customer.created', build.customer({ ...cust, email: 'lena@example.com' }), '2026-02-10T08:00:00Z');
  ev('charge.succeeded', build.charge({ id: 'ch_EdgeDel000001', created: T('2026-02-11T08:00:00Z'), amount: 3000, currency: 'eur', customer: cust.id, livemode: true }), '2026-02-11T08:00:00Z');
  ev('customer.updated', build.customer({ ...cust, email: 'lena.m@example.com' }), '2026-02-12T08:00:00Z', { email: 'lena@example.com' });
  ev('customer.updated', build.customer({ ...cust, email: 'lena.mueller@example.com' }), '2026-02-15T08:00:00Z', { email: 'lena.m@example.com' });
  ev('customer.deleted', build.customer({ ...cust, email: 'lena.mueller@example.com' }), '2026-02-20T08:00:00Z');
  SCENARIOS.push({ name: 'a customer deleted after paying', account: A, checks: [
    { view: 'new_customers_daily', tz: 'both', rows: [{ day: '2026-02-10', livemode: true, new_customers: 1 }] },
    { view: 'customer_stats', tz: 'UTC', rows: [CS('cus_EdgeDel01', 'eur', '2026-02-11T08:00:00Z', '2026-02-11T08:00:00Z', 1, 0, 3000, '30.00', 0, '0.00', 3000, '30.00', R(3000, 1), '30.00', null)] },
    { view: 'cohort_retention', tz: 'both', rows: [{ cohort_month: '2026-02-01', livemode: true, month_offset: 0, cohort_size: 1, active_customers: 1, retention: R(1, 1), repeat_customers: 0 }] },
    { view: 'payments_daily', tz: 'both', rows: [P('2026-02-11', true, 'eur', 1, 0, R(0, 1), 3000, '30.00', 0, '0.00', 0, R(0, 1), 3000, '30.00')] },
  ], objects: [
    { sql: "select deleted || ' ' || email || ' ' || name from stripe.customers where id = 'cus_EdgeDel01'", want: 'true lena.mueller@example.com Lena Müller' },
  ] });
}

// ---------------------------------------------------------------------------------------------
// 5. A payment with no customer (guest checkout, JPY), an expired session, a free one
// ---------------------------------------------------------------------------------------------
{
  const A = 'acct_1EdgeGuest000001';
  const ev = scenario(A);
  const s1 = { id: 'cs_live_EdgeGuest0001', created: T('2026-03-01T00:20:00Z'), amount_total: 4500, currency: 'jpy', livemode: true, email: 'guest@example.com' };
  ev('payment_intent.created', build.paymentIntent({ id: 'pi_EdgeGuest01', created: T('2026-03-01T00:29:00Z'), amount: 4500, currency: 'jpy', livemode: true, checkout: true }), '2026-03-01T00:29:00Z');
  ev('charge.succeeded', build.charge({ id: 'ch_EdgeGuest00001', created: T('2026-03-01T00:30:00Z'), amount: 4500, currency: 'jpy', payment_intent: 'pi_EdgeGuest01', livemode: true, brand: 'jcb' }), '2026-03-01T00:30:00Z');
  ev('payment_intent.succeeded', build.paymentIntent({ id: 'pi_EdgeGuest01', created: T('2026-03-01T00:29:00Z'), amount: 4500, amount_received: 4500, currency: 'jpy', livemode: true, checkout: true, status: 'succeeded', latest_charge: 'ch_EdgeGuest00001' }), '2026-03-01T00:30:01Z');
  ev('checkout.session.completed', build.checkoutSession({ ...s1, status: 'complete', payment_status: 'paid', payment_intent: 'pi_EdgeGuest01' }), '2026-03-01T00:30:02Z');
  ev('checkout.session.expired', build.checkoutSession({ id: 'cs_live_EdgeGuestExp1', created: T('2026-02-28T16:00:00Z'), amount_total: 9800, currency: 'jpy', livemode: true, status: 'expired', payment_status: 'unpaid' }), '2026-03-01T16:00:05Z');
  ev('checkout.session.completed', build.checkoutSession({ id: 'cs_live_EdgeGuestFree', created: T('2026-03-01T05:00:00Z'), amount_subtotal: 980, amount_total: 0, amount_discount: 980, currency: 'jpy', livemode: true, status: 'complete', payment_status: 'no_payment_required' }), '2026-03-01T05:01:00Z');
  const day = P('2026-03-01', true, 'jpy', 1, 0, R(0, 1), 4500, '4500', 0, '0', 0, R(0, 1), 4500, '4500');
  SCENARIOS.push({ name: 'a payment with no customer', account: A, checks: [
    { view: 'payments_daily', tz: 'both', rows: [day] },
    { view: 'customer_stats', tz: 'UTC', rows: [] },
    { view: 'customer_rfm', tz: 'UTC', rows: [] },
    { view: 'cohort_retention', tz: 'UTC', rows: [] },
    { view: 'new_customers_daily', tz: 'UTC', rows: [] },
    { view: 'payment_method_mix', tz: 'UTC', rows: [{ livemode: true, currency: 'jpy', payment_method_type: 'card', card_brand: 'jcb', successful_payments: 1, gross_volume: 4500, gross_volume_major: '4500', share: R(1, 1) }] },
    // expired session created 2026-02-28 16:00 UTC = 2026-03-01 01:00 KST
    { view: 'checkout_funnel_daily', tz: 'UTC', rows: [
      { day: '2026-02-28', livemode: true, sessions: 1, completed: 0, paid: 0, expired: 1, conversion_rate: R(0, 1) },
      { day: '2026-03-01', livemode: true, sessions: 2, completed: 2, paid: 2, expired: 0, conversion_rate: R(2, 2) }] },
    { view: 'checkout_funnel_daily', tz: 'Asia/Seoul', rows: [
      { day: '2026-03-01', livemode: true, sessions: 3, completed: 2, paid: 2, expired: 1, conversion_rate: R(2, 3) }] },
  ], objects: [
    { sql: "select coalesce(customer, 'NULL') || ' ' || status from stripe.charges where id = 'ch_EdgeGuest00001'", want: 'NULL succeeded' },
  ] });
}

// ---------------------------------------------------------------------------------------------
// 6. An uncaptured authorization that expires (captured=false, amount_captured 0; charge.expired
//    embeds the refund with reason expired_uncaptured_charge; no refund.* event)
// ---------------------------------------------------------------------------------------------
{
  const A = 'acct_1EdgeAuthExpire01';
  const ev = scenario(A);
  const pi = { id: 'pi_EdgeAuth01', created: T('2026-05-01T10:00:00Z'), amount: 8000, currency: 'usd', customer: 'cus_EdgeAuth01', livemode: true, capture_method: 'manual' };
  const ch = { id: 'ch_EdgeAuth000001', created: T('2026-05-01T10:00:10Z'), amount: 8000, currency: 'usd', customer: 'cus_EdgeAuth01', payment_intent: pi.id, livemode: true, captured: false, amount_captured: 0 };
  const re = { id: 're_EdgeAuth000001', created: T('2026-05-08T10:00:10Z'), amount: 8000, currency: 'usd', charge: ch.id, payment_intent: pi.id, reason: 'expired_uncaptured_charge', status: 'succeeded' };
  ev('customer.created', build.customer({ id: 'cus_EdgeAuth01', created: T('2026-05-01T00:00:00Z'), email: 'auth@example.com', name: 'Auth Only', livemode: true }), '2026-05-01T00:00:00Z');
  ev('payment_intent.created', build.paymentIntent(pi), '2026-05-01T10:00:00Z');
  ev('charge.succeeded', build.charge(ch), '2026-05-01T10:00:10Z');
  ev('payment_intent.amount_capturable_updated', build.paymentIntent({ ...pi, status: 'requires_capture', amount_capturable: 8000, latest_charge: ch.id }), '2026-05-01T10:00:11Z');
  ev('charge.expired', build.charge({ ...ch, refunded: true, amount_refunded: 8000, refunds: [re] }), '2026-05-08T10:00:10Z');
  ev('payment_intent.canceled', build.paymentIntent({ ...pi, status: 'canceled', cancellation_reason: 'automatic', canceled_at: T('2026-05-08T10:00:11Z'), latest_charge: ch.id }), '2026-05-08T10:00:11Z');
  SCENARIOS.push({ name: 'an uncaptured authorization that expires', account: A, checks: [
    // status succeeded -> one successful payment, 0 captured; the release is not a refund; no row on 05-08
    { view: 'payments_daily', tz: 'both', rows: [P('2026-05-01', true, 'usd', 1, 0, R(0, 1), 0, '0.00', 0, '0.00', 0, R(0, 1), 0, '0.00')] },
    { view: 'payment_method_mix', tz: 'UTC', rows: [{ livemode: true, currency: 'usd', payment_method_type: 'card', card_brand: 'visa', successful_payments: 1, gross_volume: 0, gross_volume_major: '0.00', share: null }] },
    { view: 'customer_stats', tz: 'UTC', rows: [CS('cus_EdgeAuth01', 'usd', '2026-05-01T10:00:10Z', '2026-05-01T10:00:10Z', 1, 0, 0, '0.00', 0, '0.00', 0, '0.00', R(0, 1), '0.00', null)] },
  ], objects: [
    { sql: "select status || ' ' || captured || ' ' || amount_captured || ' ' || amount_refunded || ' ' || refunded from stripe.charges where id = 'ch_EdgeAuth000001'", want: 'succeeded false 0 8000 true' },
    { sql: "select status || ' ' || amount || ' ' || reason || ' ' || customer from stripe.refunds where id = 're_EdgeAuth000001'", want: 'succeeded 8000 expired_uncaptured_charge cus_EdgeAuth01' },
    { sql: "select status || ' ' || cancellation_reason from stripe.payment_intents where id = 'pi_EdgeAuth01'", want: 'canceled automatic' },
  ] });
}

// ---------------------------------------------------------------------------------------------
// 7. KWD (3 decimals), the Seoul day boundary (15:00 UTC = 00:00 KST next day), test mode apart
// ---------------------------------------------------------------------------------------------
{
  const A = 'acct_1EdgeKwdSeoul001';
  const live = scenario(A, true), test = scenario(A, false);
  live('charge.succeeded', build.charge({ id: 'ch_EdgeKwd000001', created: T('2026-06-30T14:59:59Z'), amount: 12340, currency: 'kwd', livemode: true }), '2026-06-30T14:59:59Z');
  live('charge.succeeded', build.charge({ id: 'ch_EdgeKwd000002', created: T('2026-06-30T15:00:00Z'), amount: 5670, currency: 'kwd', livemode: true, brand: 'mastercard' }), '2026-06-30T15:00:00Z');
  live('charge.failed', build.charge({ id: 'ch_EdgeKwd000003', created: T('2026-06-30T16:00:00Z'), amount: 1000, currency: 'kwd', livemode: true, status: 'failed', failure: card('generic_decline') }), '2026-06-30T16:00:00Z');
  test('charge.succeeded', build.charge({ id: 'ch_EdgeKwdTest01', created: T('2026-06-30T12:00:00Z'), amount: 2000, currency: 'kwd', livemode: false }), '2026-06-30T12:00:00Z');
  const testRow = (b) => P(b, false, 'kwd', 1, 0, R(0, 1), 2000, '2.000', 0, '0.000', 0, R(0, 1), 2000, '2.000');
  SCENARIOS.push({ name: 'three-decimal KWD and the Seoul day boundary', account: A, checks: [
    { view: 'payments_daily', tz: 'UTC', rows: [
      P('2026-06-30', true, 'kwd', 2, 1, R(1, 3), 18010, '18.010', 0, '0.000', 0, R(0, 2), 18010, '18.010'), testRow('2026-06-30')] },
    { view: 'payments_daily', tz: 'Asia/Seoul', rows: [
      P('2026-06-30', true, 'kwd', 1, 0, R(0, 1), 12340, '12.340', 0, '0.000', 0, R(0, 1), 12340, '12.340'),
      P('2026-07-01', true, 'kwd', 1, 1, R(1, 2), 5670, '5.670', 0, '0.000', 0, R(0, 1), 5670, '5.670'), testRow('2026-06-30')] },
    { view: 'payments_monthly', tz: 'UTC', rows: [
      P('2026-06-01', true, 'kwd', 2, 1, R(1, 3), 18010, '18.010', 0, '0.000', 0, R(0, 2), 18010, '18.010'), testRow('2026-06-01')] },
    { view: 'payments_monthly', tz: 'Asia/Seoul', rows: [
      P('2026-06-01', true, 'kwd', 1, 0, R(0, 1), 12340, '12.340', 0, '0.000', 0, R(0, 1), 12340, '12.340'),
      P('2026-07-01', true, 'kwd', 1, 1, R(1, 2), 5670, '5.670', 0, '0.000', 0, R(0, 1), 5670, '5.670'), testRow('2026-06-01')] },
    { view: 'payments_weekly', tz: 'both', rows: [  // Tue 06-30 and Wed 07-01 share the week of Mon 06-29
      P('2026-06-29', true, 'kwd', 2, 1, R(1, 3), 18010, '18.010', 0, '0.000', 0, R(0, 2), 18010, '18.010'), testRow('2026-06-29')] },
    { view: 'decline_reasons', tz: 'UTC', rows: [{ livemode: true, failure_code: 'card_declined', outcome_reason: 'generic_decline', failed_payments: 1, share: R(1, 1) }] },
    { view: 'payment_method_mix', tz: 'UTC', rows: [
      { livemode: true, currency: 'kwd', payment_method_type: 'card', card_brand: 'visa', successful_payments: 1, gross_volume: 12340, gross_volume_major: '12.340', share: R(12340, 18010) },
      { livemode: true, currency: 'kwd', payment_method_type: 'card', card_brand: 'mastercard', successful_payments: 1, gross_volume: 5670, gross_volume_major: '5.670', share: R(5670, 18010) },
      { livemode: false, currency: 'kwd', payment_method_type: 'card', card_brand: 'visa', successful_payments: 1, gross_volume: 2000, gross_volume_major: '2.000', share: R(1, 1) }] },
  ], objects: [] });
}

// ---------------------------------------------------------------------------------------------
// 8. RFM scores with ties, as_of = 2026-07-15 00:00 UTC (three usd customers)
//    A: 06-01 + 06-20 12:00 (1000 each); B: 06-20 12:00 (5000); C: 01-15 00:00 (1000)
//    recency by last: C rank 1, A=B rank 2 -> p 0, 1/2, 1/2 -> r 1, 3, 3
//    frequency by payments: B=C (1) rank 1, A (2) rank 3 -> p 0, 0, 1 -> f 1, 1, 5
//    monetary by total: C 1000 < A 2000 < B 5000 -> p 0, 1/2, 1 -> m 1, 3, 5
//    segments: A (r3, f5) loyal; B (r3, f1) promising; C (r1, f1) hibernating
//    recency: A, B 24.5 days; C 181 days. A's avg days between payments: 19
// ---------------------------------------------------------------------------------------------
{
  const A = 'acct_1EdgeRfmScores01';
  const ev = scenario(A);
  const pay = (id, customer, at, amount) => ev('charge.succeeded', build.charge({ id, created: T(at), amount, currency: 'usd', customer, livemode: true }), at);
  pay('ch_EdgeRfmA00001', 'cus_EdgeRfmA', '2026-06-01T12:00:00Z', 1000);
  pay('ch_EdgeRfmA00002', 'cus_EdgeRfmA', '2026-06-20T12:00:00Z', 1000);
  pay('ch_EdgeRfmB00001', 'cus_EdgeRfmB', '2026-06-20T12:00:00Z', 5000);
  pay('ch_EdgeRfmC00001', 'cus_EdgeRfmC', '2026-01-15T00:00:00Z', 1000);
  const rfm = (s, recency, r, f, m, segment) => {
    const row = { ...s, recency_days: recency, r_score: r, f_score: f, m_score: m, segment };
    for (const c of ['total_spent_major', 'refunded_major', 'net_spent_major', 'avg_order_value_major']) delete row[c];
    return row;
  };
  const a = CS('cus_EdgeRfmA', 'usd', '2026-06-01T12:00:00Z', '2026-06-20T12:00:00Z', 2, 0, 2000, '20.00', 0, '0.00', 2000, '20.00', R(2000, 2), '10.00', R(19, 1));
  const b = CS('cus_EdgeRfmB', 'usd', '2026-06-20T12:00:00Z', '2026-06-20T12:00:00Z', 1, 0, 5000, '50.00', 0, '0.00', 5000, '50.00', R(5000, 1), '50.00', null);
  const c = CS('cus_EdgeRfmC', 'usd', '2026-01-15T00:00:00Z', '2026-01-15T00:00:00Z', 1, 0, 1000, '10.00', 0, '0.00', 1000, '10.00', R(1000, 1), '10.00', null);
  SCENARIOS.push({ name: 'RFM scores with ties', account: A, checks: [
    { view: 'customer_stats', tz: 'UTC', rows: [a, b, c] },
    { view: 'customer_rfm', tz: 'UTC', rows: [rfm(a, R(49, 2), 3, 5, 3, 'loyal'), rfm(b, R(49, 2), 3, 1, 5, 'promising'), rfm(c, R(181, 1), 1, 1, 1, 'hibernating')] },
    { view: 'cohort_retention', tz: 'UTC', rows: [
      ...[0, 1, 2, 3, 4, 5].map((k) => ({ cohort_month: '2026-01-01', livemode: true, month_offset: k, cohort_size: 1, active_customers: k === 0 ? 1 : 0, retention: R(k === 0 ? 1 : 0, 1), repeat_customers: 0 })),
      { cohort_month: '2026-06-01', livemode: true, month_offset: 0, cohort_size: 2, active_customers: 2, retention: R(2, 2), repeat_customers: 1 }] },
  ], objects: [] });
}

// ---------------------------------------------------------------------------------------------
// 9. A DST switch (America/New_York springs forward 2026-03-08 07:00 UTC, EST -5 -> EDT -4)
//    04:30 UTC on 03-08 is 23:30 EST on 03-07; 04:30 UTC on 03-09 is 00:30 EDT on 03-09
//    (a fixed -5 offset would put the second one on 03-08)
// ---------------------------------------------------------------------------------------------
{
  const A = 'acct_1EdgeNewYorkDst01';
  const ev = scenario(A);
  ev('charge.succeeded', build.charge({ id: 'ch_EdgeDst000001', created: T('2026-03-08T04:30:00Z'), amount: 1000, currency: 'usd', livemode: true }), '2026-03-08T04:30:00Z');
  ev('charge.succeeded', build.charge({ id: 'ch_EdgeDst000002', created: T('2026-03-09T04:30:00Z'), amount: 2500, currency: 'usd', livemode: true }), '2026-03-09T04:30:00Z');
  const one = (b) => P(b, true, 'usd', 1, 0, R(0, 1), 1000, '10.00', 0, '0.00', 0, R(0, 1), 1000, '10.00');
  const two = (b) => P(b, true, 'usd', 1, 0, R(0, 1), 2500, '25.00', 0, '0.00', 0, R(0, 1), 2500, '25.00');
  SCENARIOS.push({ name: 'a DST switch in the reporting zone', account: A, checks: [
    { view: 'payments_daily', tz: 'UTC', rows: [one('2026-03-08'), two('2026-03-09')] },
    { view: 'payments_daily', tz: 'America/New_York', rows: [one('2026-03-07'), two('2026-03-09')] },
    { view: 'payments_weekly', tz: 'UTC', rows: [one('2026-03-02'), two('2026-03-09')] },
    { view: 'payments_weekly', tz: 'America/New_York', rows: [one('2026-03-02'), two('2026-03-09')] },
  ], objects: [] });
}

/** Every scenario event, in created order. */
export function scenarioEvents() {
  return [...events].sort((x, y) => x.created - y.created || (x.id < y.id ? -1 : 1));
}

export function writeScenarios(out) {
  fs.mkdirSync(out, { recursive: true });
  const inorder = scenarioEvents();
  const truth = new Truth();
  for (const e of inorder) truth.add(e);
  // first copies newest-first, then every event again oldest-first (all duplicates)
  const delivery = [...inorder].reverse().concat(inorder);
  fs.writeFileSync(path.join(out, 'events.jsonl'), delivery.map((e) => e.body).join('\n') + '\n');
  fs.writeFileSync(path.join(out, 'events_inorder.jsonl'), inorder.map((e) => e.body).join('\n') + '\n');
  fs.writeFileSync(path.join(out, 'truth.json'), JSON.stringify(truth.toJSON({ generator: 'test/reference/scenarios.mjs', as_of: AS_OF })));
  return { events: inorder.length, deliveries: delivery.length };
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  if (i < 0 || !process.argv[i + 1]) { console.error('usage: node test/reference/scenarios.mjs --out DIR'); process.exit(2); }
  const s = writeScenarios(process.argv[i + 1]);
  console.error(`scenarios: ${SCENARIOS.length} scenarios, ${s.events} events, ${s.deliveries} deliveries -> ${process.argv[i + 1]}`);
}
