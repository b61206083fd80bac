// Edge cases (scenarios.mjs) on their own database: first the generic reference suite (ingest
// with every event delivered twice, newest first; object tables and every view against the
// JS reference; rebuild), then each scenario's hand-computed figures and object states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCENARIOS, AS_OF } from './scenarios.mjs';
import { VIEWS, compareRows, fetchRows, psql, referenceSuite, viewSql } from './reference.mjs';

const db = process.env.EDGE_DB;
const dir = process.env.EDGE_DATA;
if (!db || !dir) throw new Error('EDGE_DB and EDGE_DATA must be set (run test/reference/run.sh)');

referenceSuite({ test, assert, db, dir, label: 'edge cases' });

for (const sc of SCENARIOS) {
  test(`edge case: ${sc.name} (${sc.account})`, () => {
    const diffs = [];
    for (const chk of sc.checks) {
      const spec = VIEWS[chk.view];
      const bucketCol = spec.key[0];
      const rows = chk.rows.map(({ bucket, ...r }) => ({ ...(bucket !== undefined ? { [bucketCol]: bucket } : {}), account: sc.account, ...r }));
      for (const tz of chk.tz === 'both' ? ['UTC', 'Asia/Seoul'] : [chk.tz]) {
        const actual = fetchRows(db, viewSql(chk.view, AS_OF), { tz, where: `where account = '${sc.account}'` });
        diffs.push(...compareRows(spec, rows, actual, `${chk.view} (${tz})`));
      }
    }
    for (const o of sc.objects) {
      const got = psql(db, o.sql).trim();
      if (got !== o.want) diffs.push(`${o.sql}\n    got  ${got}\n    want ${o.want}`);
    }
    if (diffs.length) assert.fail(`${diffs.length} difference(s):\n  ${diffs.join('\n  ')}`);
  });
}
