// The performance budgets, enforced (see perf.mjs for how they are measured).
import assert from 'node:assert/strict';
import { cpus, loadavg } from 'node:os';
import { before, it } from 'node:test';
import { checkPrerequisites } from './harness.mjs';
import { BUDGET, initialAssets, measure, report } from './perf.mjs';

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

it(`paints the sessions list in under ${BUDGET.firstRenderMs} ms on a 4x-throttled CPU and Fast 4G`, { timeout: 60_000 }, (t) => {
  // A timing budget means nothing on a machine that is busy with other work: say so instead.
  const load = loadavg()[0];
  if (load > 2 * cpus().length) {
    t.skip(`machine busy (load ${load.toFixed(1)} on ${cpus().length} cores): measured ${r.coldMedianMs.toFixed(0)} ms`);
    return;
  }
  assert.ok(r.coldMedianMs < BUDGET.firstRenderMs, `first render ${r.coldMedianMs} ms`);
});
