// @ts-check
// The performance budgets: the initial JS size is checked (it is deterministic); the timings
// are measured and printed, as a benchmark does, not asserted (see perf.mjs for how).
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { checkPrerequisites } from './harness.mjs';
import { BUDGET, initialAssets, measure, report } from './perf.mjs';

/** @type {import('./perf.mjs').Measurement} */
let r;
before(async () => {
  checkPrerequisites();
  r = await measure({ runs: 5 });
  for (const line of report(r).split('\n')) console.log(`# ${line}`);
});

it(`initial JS is at most ${BUDGET.initialJsGzipKB} KB gzipped (xterm.js loads with the session view only)`, () => {
  assert.ok(r.initialJsGzipKB <= BUDGET.initialJsGzipKB, `initial JS ${r.initialJsGzipKB} KB`);
  assert.ok(!initialAssets().some((a) => /SessionScreen|xterm/i.test(a.ref)), 'no terminal code in the initial load');
});
