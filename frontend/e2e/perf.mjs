// @ts-check
// Budgets: initial JS (gzipped) and the first render of the sessions list on a phone-like
// Chromium (4× CPU throttling, DevTools' "Fast 4G" network), measured through CDP against a
// real `cockpit serve`. `node e2e/perf.mjs` prints the numbers; e2e/perf.test.mjs enforces them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Cockpit, FRONTEND, launchPhone, startStandIn, tempDir, until } from './harness.mjs';

/** @typedef {import('../src/types/cockpit').SessionView} SessionView */

export const BUDGET = { initialJsGzipKB: 200, firstRenderMs: 1000 };

/** DevTools' "Fast 4G" preset (latency × 2.75 and throughput × 0.9, as DevTools applies them). */
export const FAST_4G = {
  offline: false,
  latency: 60 * 2.75,
  downloadThroughput: ((9 * 1000 * 1000) / 8) * 0.9,
  uploadThroughput: ((1.5 * 1000 * 1000) / 8) * 0.9,
};

/** What index.html loads before anything else: its entry script, module preloads and CSS. */
export function initialAssets() {
  const dist = join(FRONTEND, 'dist');
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  return refs.map((ref) => {
    const bytes = readFileSync(join(dist, ref));
    return { ref, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

/**
 * One load of the list, measured in the page.
 * @param {string} url
 */
async function firstRender(url, { warm = false } = {}) {
  const phone = await launchPhone('perf');
  try {
    const page = await phone.context.newPage();
    if (warm) {
      // Let the service worker install and cache the app shell, as on a phone that opened it before.
      await page.goto(url);
      await page.evaluate(() => navigator.serviceWorker.ready);
      await page.reload();
      await page.waitForSelector('[data-testid=sessions-list]');
    }
    await page.addInitScript(() => {
      // When the list is painted (Element Timing on the row names), not just in the DOM.
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const e = /** @type {PerformanceElementTiming} */ (entry);
          if ((e.identifier === 'session-row' || e.identifier === 'sessions-empty') && !window.__listPaintAt) {
            window.__listPaintAt = e.renderTime || e.loadTime;
          }
        }
      }).observe({ type: 'element', buffered: true });
      const seen = () => document.querySelector('[data-testid=sessions-list] [data-testid=session-row], [data-testid=sessions-empty]');
      new MutationObserver((_, obs) => {
        if (seen() && !window.__listAt) {
          window.__listAt = performance.now();
          obs.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    const cdp = await phone.context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', FAST_4G);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    let transferred = 0;
    cdp.on('Network.loadingFinished', (e) => (transferred += e.encodedDataLength));
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__listAt && window.__listPaintAt, null, { timeout: 30_000 });
    await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0, null, { timeout: 10_000 }).catch(() => {});
    const m = await page.evaluate(() => ({
      listMs: window.__listPaintAt ?? 0,
      domMs: window.__listAt ?? 0,
      fcpMs: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
      rows: document.querySelectorAll('[data-testid=session-row]').length,
      resources: /** @type {PerformanceResourceTiming[]} */ (performance.getEntriesByType('resource')).map((e) => `${e.name.replace(location.origin, '')} ${e.startTime.toFixed(0)}-${e.responseEnd.toFixed(0)}`),
      nav: (({ responseStart, responseEnd, domInteractive, domContentLoadedEventEnd }) => ({ responseStart, responseEnd, domInteractive, domContentLoadedEventEnd }))(/** @type {PerformanceNavigationTiming} */ (performance.getEntriesByType('navigation')[0])),
    }));
    if (process.env.PERF_DEBUG) console.log(JSON.stringify(m, null, 1));
    return { ...m, transferredKB: transferred / 1024 };
  } finally {
    await phone.close();
  }
}

/** Starts a control plane with a few finished sessions and measures. */
export async function measure({ runs = 5 } = {}) {
  const assets = initialAssets();
  const js = assets.filter((a) => a.ref.endsWith('.js'));
  const initialJsGzipKB = js.reduce((a, b) => a + b.gzip, 0) / 1024;
  const initialJsRawKB = js.reduce((a, b) => a + b.raw, 0) / 1024;
  const standIn = await startStandIn();
  const cockpit = await new Cockpit(tempDir('perf'), standIn.url).start();
  try {
    for (const name of ['fix-login', 'changelog', 'review-pr']) {
      await cockpit.api('/api/sessions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ repo_name: 'demo', name, mode: 'Oneshot', prompt: `summarise ${name}` }),
      });
    }
    await until('the one-shot sessions to finish', async () => {
      /** @type {SessionView[]} */
      const list = await cockpit.api('/api/sessions');
      return list.length === 3 && list.every((s) => ['Succeeded', 'Failed'].includes(s.status.phase));
    }, 120_000, 500);
    /** @param {Render[]} xs */
    const median = (xs) => xs.map((r) => r.listMs).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    /** @type {Render[]} */
    const cold = [];
    for (let i = 0; i < runs; i++) cold.push(await firstRender(cockpit.url + '/'));
    const warm = await firstRender(cockpit.url + '/', { warm: true });
    // As `ServeDir` serves today (no compression), when the front door stands in for the gateway.
    /** @type {Render[] | null} */
    let identity = null;
    if (cockpit.frontDoor) {
      cockpit.frontDoor.gzip = false;
      identity = [];
      for (let i = 0; i < runs; i++) identity.push(await firstRender(cockpit.url + '/'));
      cockpit.frontDoor.gzip = true;
    }
    const compressed = cold[0].transferredKB < initialJsRawKB;
    return {
      initialJsGzipKB,
      initialJsRawKB,
      assets,
      cold,
      compressed,
      coldMedianMs: median(cold),
      coldMaxMs: Math.max(...cold.map((r) => r.listMs)),
      identity,
      identityMedianMs: identity && median(identity),
      warm,
      servedBy: cockpit.frontDoor ? 'the e2e front door (cockpit serve cannot serve the app yet)' : 'cockpit serve',
    };
  } finally {
    await cockpit.close();
    standIn.stop();
  }
}

/** @typedef {Awaited<ReturnType<typeof firstRender>>} Render */
/** @typedef {Awaited<ReturnType<typeof measure>>} Measurement */

/** @param {Measurement} r */
export function report(r) {
  const lines = [
    `initial JS: ${r.initialJsGzipKB.toFixed(1)} KB gzipped (${r.initialJsRawKB.toFixed(1)} KB raw; budget ${BUDGET.initialJsGzipKB} KB)`,
    `first render of the sessions list, cold, 4x CPU + Fast 4G, ${r.compressed ? 'gzip' : 'uncompressed'}: median ${r.coldMedianMs.toFixed(0)} ms, max ${r.coldMaxMs.toFixed(0)} ms over ${r.cold.length} runs (budget ${BUDGET.firstRenderMs} ms); FCP ${r.cold.map((c) => c.fcpMs?.toFixed(0)).join('/')} ms; ${r.cold[0].transferredKB.toFixed(0)} KB transferred`,
    ...(r.identity && r.identityMedianMs !== null
      ? [`  the same without compression (as ServeDir serves today): median ${r.identityMedianMs.toFixed(0)} ms; ${r.identity[0].transferredKB.toFixed(0)} KB transferred`]
      : []),
    `  (list in the DOM at ${r.cold.map((c) => c.domMs.toFixed(0)).join('/')} ms, painted at ${r.cold.map((c) => c.listMs.toFixed(0)).join('/')} ms)`,
    `warm (service worker cache): sessions list painted at ${r.warm.listMs.toFixed(0)} ms`,
    `served by: ${r.servedBy}`,
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measure();
  console.log(report(r));
}
