// SPEC §3 reference check on a generated shop (run by test/reference/run.sh, which sets REF_DB
// and REF_DATA; nothing is ingested yet). Every view and function is compared, all columns, in
// UTC and in Asia/Seoul, with the independent computation of reference.mjs from truth.json; then
// stripe.rebuild() must leave every object table and view unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceSuite } from './reference.mjs';

const db = process.env.REF_DB;
const dir = process.env.REF_DATA;
if (!db || !dir) throw new Error('REF_DB and REF_DATA must be set (run test/reference/run.sh)');
referenceSuite({ test, assert, db, dir, label: process.env.REF_LABEL ?? 'generated shop' });
