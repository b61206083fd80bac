'use strict';
// SPEC.md §1 written down once more, in JavaScript, independently of the C++ core and of
// stripe-node: the outcome construct_event must have for a case. verify_signature is true exactly
// when this outcome is past the signature checks (ok, ST010 or ST011).
//
// A case: { payload: Buffer, header: string, secrets: (string|null)[], tolerance: number,
//           atMs: number }   (one text secret is a one-element array here)
const crypto = require('node:crypto');

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const ASCII_WS = /[ \t\n\v\f\r]/;
const BLANK = /^[ \t\n\v\f\r]*$/;

function hmacHex(secret, t, payload) {
  return crypto
    .createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.concat([Buffer.from(`${t}.`, 'latin1'), payload]))
    .digest('hex');
}

// Header rules: split on ',', each part on its first '='; exact keys; last t wins; t a plain
// optionally signed decimal integer within int64; every v1 a candidate; the rest ignored.
function parseHeader(header) {
  const h = { hasT: false, tOk: false, t: 0n, v1: [] };
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === 't') {
      h.hasT = true;
      h.tOk = false;
      if (/^[+-]?[0-9]+$/.test(value)) {
        const t = BigInt(value);
        if (t >= INT64_MIN && t <= INT64_MAX) {
          h.tOk = true;
          h.t = t;
        }
      }
    } else if (key === 'v1') {
      h.v1.push(value);
    }
  }
  return h;
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Where SPEC's body rule is stricter than JSON.parse: a BOM (checked by the caller), nesting
// deeper than 128, "\u0000" (jsonb refuses it), lone surrogates, and numbers beyond jsonb's
// numeric range (about 10^131072; only the large side is modelled).
function strictJsonProblem(text, value) {
  let depth = 0;
  let max = 0;
  let inString = false;
  let escaped = false;
  let outside = '';
  for (const ch of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      outside += ' ';
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') max = Math.max(max, ++depth);
    else if (ch === ']' || ch === '}') depth--;
    outside += inString ? ' ' : ch;
  }
  if (max > 128) return 'nested too deeply';
  for (const m of outside.matchAll(/-?(\d+)(?:\.\d+)?[eE]([+-]?\d+)/g)) {
    if (m[1].replace(/^0+/, '').length + Number(m[2]) > 131072) return 'number beyond numeric';
  }
  const bad = (s) => s.includes('\0') || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
  const walk = (v) => {
    if (typeof v === 'string') return bad(v);
    if (Array.isArray(v)) return v.some(walk);
    if (v !== null && typeof v === 'object') return Object.entries(v).some(([k, x]) => bad(k) || walk(x));
    return false;
  };
  if (walk(value)) return 'NUL or lone surrogate';
  return null;
}

// The body check after a valid signature.
function bodyOutcome(payload) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(payload);
  } catch {
    return { st: 'ST010' };
  }
  if (text.charCodeAt(0) === 0xfeff) return { st: 'ST010' };
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return { st: 'ST010' };
  }
  if (strictJsonProblem(text, value)) return { st: 'ST010' };
  if (!isPlainObject(value)) return { st: 'ST010' };
  if (value.object === 'v2.core.event') return { st: 'ST011' };
  return { st: '00000', event: value };
}

function specOutcome(c) {
  const whitespace = c.secrets.some((s) => s !== null && ASCII_WS.test(s));
  if (c.payload.length === 0) return { st: 'ST001' };
  if (c.header === '') return { st: 'ST002' };
  const h = parseHeader(c.header);
  if (!h.hasT || !h.tOk) return { st: 'ST003' };
  if (h.v1.length === 0) return { st: 'ST004' };
  const usable = c.secrets.filter((s) => s !== null && !BLANK.test(s));
  if (usable.length === 0) return { st: 'ST005' };
  const match = usable.some((s) => h.v1.includes(hmacHex(s, h.t, c.payload)));
  if (!match) return { st: 'ST006', whitespace };
  const now = BigInt(Math.floor(c.atMs / 1000));
  const age = now - h.t;
  if (c.tolerance > 0 && age > BigInt(c.tolerance)) {
    const unit = c.tolerance === 1 ? 'second' : 'seconds';
    return {
      st: 'ST007',
      detail: `The event was signed ${age} seconds ago; the tolerance is ${c.tolerance} ${unit}.`,
    };
  }
  return bodyOutcome(c.payload);
}

const SIGNATURE_PASSED = new Set(['00000', 'ST010', 'ST011']);

module.exports = { specOutcome, parseHeader, hmacHex, isPlainObject, SIGNATURE_PASSED, ASCII_WS, BLANK };
