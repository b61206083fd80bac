'use strict';
// stripe-node's decision for a case, classified into pg_stripe's SQLSTATE classes.
const Stripe = require('stripe');
const { isPlainObject, BLANK } = require('./spec_model');

const stripe = new Stripe('sk_test_conformance_unused', { telemetry: false });
const { StripeSignatureVerificationError } = Stripe.errors;

// stripe-node's messages (they may carry more text after these prefixes) → our classes.
const MESSAGE_CLASSES = [
  ['No webhook payload was provided.', 'ST001'],
  ['No stripe-signature header value was provided.', 'ST002'],
  ['Unable to extract timestamp and signatures from header', 'ST003'],
  ['No signatures found with expected scheme', 'ST004'],
  ['No webhook secret value was provided.', 'ST005'],
  ['No signatures found matching the expected signature for payload.', 'ST006'],
  ['Timestamp outside the tolerance zone', 'ST007'],
];

// One call of constructEvent with one secret.
//   cls: our SQLSTATE class for what stripe-node did, or 'secureCompare-throw' (its plain Error
//        when a v1 candidate is empty or missing), or 'non-object' (it returned a JSON value that is
//        not an object: null, an array, a number, a string, a boolean)
//   sigPass: stripe-node got past the signature and timestamp checks
function constructOnce(c, secret) {
  const payload = c.nodeAs === 'buffer' ? Buffer.from(c.payload) : c.payload.toString('utf8');
  try {
    const event = stripe.webhooks.constructEvent(payload, c.header, secret, c.tolerance, undefined, c.atMs);
    if (!isPlainObject(event)) return { cls: 'non-object', sigPass: true, value: event };
    return { cls: '00000', sigPass: true, event };
  } catch (e) {
    if (e instanceof StripeSignatureVerificationError) {
      const hit = MESSAGE_CLASSES.find(([prefix]) => e.message.startsWith(prefix));
      if (!hit) throw new Error(`unclassified stripe-node message: ${e.message}`);
      return {
        cls: hit[1],
        sigPass: false,
        whitespace: e.message.includes('signing secret contains whitespace'),
        message: e.message,
      };
    }
    if (e instanceof SyntaxError) return { cls: 'ST010', sigPass: true, message: e.message };
    if (/thin event notification/.test(e.message)) return { cls: 'ST011', sigPass: true, message: e.message };
    if (e.message === 'secureCompare must receive two arguments') {
      return { cls: 'secureCompare-throw', sigPass: false, message: e.message };
    }
    throw new Error(`unexpected stripe-node error: ${e.stack}`);
  }
}

// stripe-node takes one secret. A secret array is modelled as SPEC reads it: NULL and blank
// elements are dropped; with none left, stripe-node sees an empty secret; otherwise the array
// passes if any secret passes, fails on the timestamp if any secret got that far, and otherwise
// fails as the first usable secret does (the earlier checks do not depend on the secret).
function stripeNodeOutcome(c) {
  if (c.secretMode === 'text') return constructOnce(c, c.secrets[0]);
  const usable = c.secrets.filter((s) => s !== null && !BLANK.test(s));
  if (usable.length === 0) return constructOnce(c, '');
  const all = usable.map((s) => constructOnce(c, s));
  const best = all.find((r) => r.sigPass) || all.find((r) => r.cls === 'ST007') || all[0];
  // A whitespace note on the mismatch: stripe-node adds it per secret (its /\s/ test).
  const whitespace = c.secrets.some((s) => s !== null && /\s/.test(s));
  return { ...best, whitespace: best.cls === 'ST006' ? whitespace : undefined };
}

function generateTestHeaderString(payload, secret, timestamp) {
  return stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

module.exports = { stripeNodeOutcome, generateTestHeaderString, stripeVersion: Stripe.PACKAGE_VERSION };
