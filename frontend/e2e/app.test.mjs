// @ts-check
// The phone app end to end: Debian's chromium as an iPhone (390×844, DPR 3, touch) against a
// real `cockpit serve` running the real Claude CLI on the stand-in Messages API.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cockpit, PhoneSuite, TOKEN_ALPHA, TOKEN_BETA, shot, until } from './harness.mjs';

/** @typedef {import('../src/types/cockpit').SessionView} SessionView */

const T = 90_000;
const suite = new PhoneSuite('app');
/** @type {import('./harness.mjs').StandIn} */
let standIn;
/** @type {Cockpit} */
let cockpit;
/** @type {import('./harness.mjs').Phone} */
let phone;
/** @type {import('playwright-core').Page} */
let page;

const screen = () => page.evaluate(() => window.__cockpit?.screen() ?? '');
/** @param {string} text */
const waitScreen = (text, timeout = T) => until(`"${text}" on the terminal`, async () => (await screen()).includes(text), timeout);
/** @param {string} name @returns {Promise<SessionView>} */
const session = (name) => cockpit.api(`/api/sessions/${name}`);
/** @param {string} what @param {string} name @param {(s: SessionView) => unknown} pred */
const waitSession = (what, name, pred, timeout = T) => until(what, async () => (pred(await session(name)) ? await session(name) : null), timeout, 300);

/** @param {string} text */
const lines = (text) => text.split('\n').map((l) => l.trimEnd()).join('\n').trimEnd();

// The phone's screen and the control plane's own emulator's, read at one offset the phone has
// caught up to: output that arrives between the two reads (the CLI redraws after its Stop hook
// has reported Idle) is no difference, so then both are read again; so are two screens that
// differ, for a moment (the terminal draws what it received a frame later), and then they
// are returned as they are for the caller to compare.
/** @param {string} what */
async function screensAtOneOffset(what) {
  const patience = Date.now() + 3000;
  return until(`${what}: the phone caught up and both screens read at one offset`, async () => {
    const before = (await session('phone')).live;
    if (!before || (await page.evaluate(() => window.__cockpit?.socket.offset)) !== before.endOffset) return null;
    const server = lines(await cockpit.api('/api/sessions/phone/screen'));
    const mine = lines(await screen());
    const after = await session('phone');
    const client = await page.evaluate(() => window.__cockpit?.socket.offset);
    if (after.live?.endOffset !== before.endOffset || client !== before.endOffset) return null;
    if (mine !== server && Date.now() < patience) return null;
    return { server, mine, client: before.endOffset, session: after };
  });
}

/** @param {string} text */
async function send(text) {
  await page.fill('[data-testid=message]', text);
  await page.press('[data-testid=message]', 'Enter');
  await until('the input bar to clear', async () => (await page.inputValue('[data-testid=message]')) === '', 5000);
}

async function openList() {
  await page.goto(cockpit.url + '/');
  await page.waitForSelector('[data-testid=sessions-list], [data-testid=sessions-empty]');
}

describe('the phone app', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    ({ standIn, cockpit, phone, page } = await suite.start());
  });

  after(() => suite.close());

  it('opens on the sessions list, installable (manifest, icons, service worker)', async () => {
    await openList();
    assert.ok(await page.isVisible('[data-testid=sessions-empty]'));
    await shot(page, '01-sessions-empty');
    const manifestHref = await page.getAttribute('link[rel=manifest]', 'href');
    assert.ok(manifestHref, 'a manifest link');
    /** @typedef {{ name: string; short_name: string; display: string; theme_color: string; background_color: string; icons: { src: string; sizes: string; purpose: string }[] }} Manifest */
    /** @type {Manifest | string} the manifest, as text when not served as JSON */
    const manifest = await cockpit.api(manifestHref);
    /** @type {Manifest} */
    const m = typeof manifest === 'string' ? JSON.parse(manifest) : manifest;
    assert.equal(m.name, 'Claude Cockpit');
    assert.equal(m.short_name, 'Cockpit');
    assert.equal(m.display, 'standalone');
    assert.equal(m.theme_color, '#0a0a0a');
    assert.equal(m.background_color, '#0a0a0a');
    const sizes = m.icons.map((i) => `${i.sizes}/${i.purpose}`);
    assert.deepEqual(sizes.sort(), ['192x192/any', '512x512/any', '512x512/maskable']);
    for (const icon of m.icons) {
      const res = await fetch(cockpit.url + icon.src);
      assert.equal(res.headers.get('content-type'), 'image/png');
      const png = Buffer.from(await res.arrayBuffer());
      assert.equal(png.readUInt32BE(16), Number(icon.sizes.split('x')[0]), `${icon.src} width`);
    }
    assert.equal(await page.getAttribute('meta[name=apple-mobile-web-app-capable]', 'content'), 'yes');
    assert.ok(await page.getAttribute('meta[name=apple-mobile-web-app-status-bar-style]', 'content'));
    assert.ok((await fetch(cockpit.url + (await page.getAttribute('link[rel=apple-touch-icon]', 'href')))).ok);
    const sw = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return { scope: reg.scope, active: !!reg.active, script: reg.active?.scriptURL };
    });
    assert.ok(sw.active, 'service worker active');
    assert.equal(sw.scope, cockpit.url + '/');
  });

  it('starts an interactive session from the sheet and shows Claude in the terminal', async () => {
    await page.tap('[data-testid=new-session]');
    await page.waitForSelector('[data-testid=new-session-sheet]');
    await page.waitForSelector('[data-testid=repo]');
    await page.waitForTimeout(300);
    await shot(page, '02-new-session-sheet');
    await page.fill('[data-testid=name]', 'phone');
    await page.tap('[data-testid=create-session]');
    // An interactive session opens on its conversation; the terminal is one tap away.
    await page.waitForSelector('[data-testid=conversation]');
    await page.tap('[data-testid=pane-terminal]');
    await page.waitForSelector('[data-testid=terminal] .xterm');
    await waitScreen('Claude Code');
    await until('the connection to be live', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) === 'live');
    await waitSession('the session to be idle', 'phone', (s) => s.live?.activity === 'Idle');
    assert.equal(await page.textContent('[data-testid=permission-mode]'), 'asks', 'the mode the CLI runs in');
    // The PTY follows the phone's width.
    const s = await session('phone');
    const size = await page.evaluate(() => window.__cockpit?.socket.state);
    assert.ok(s.live && size, 'the session and the phone know the terminal size');
    assert.ok(s.live.cols >= 40 && s.live.cols <= 60, `cols ${s.live.cols}`);
    assert.equal(size.cols, s.live.cols);
    await shot(page, '03-session-welcome');
  });

  it('sends a prompt from the input bar and shows the reply', async () => {
    await send('hello from the phone');
    await waitScreen('Stand-in reply #1');
    await waitSession('the turn to end', 'phone', (s) => s.live?.activity === 'Idle');
    // The CLI's status line reported the session's cost and context: shown under the header.
    await page.waitForSelector('[data-testid=session-usage]', { timeout: T });
    assert.match((await page.textContent('[data-testid=session-usage]')) ?? '', /\$\d|ctx \d+%/);
    await shot(page, '04-session-reply');
  });

  it('allows a Bash tool call from the permission card', async () => {
    await send('please run TOOLBASH');
    await page.waitForSelector('[data-testid=approval-card]', { timeout: T });
    assert.equal(await page.textContent('[data-testid=approval-tool]'), 'Bash');
    assert.match((await page.textContent('[data-testid=approval-input]')) ?? '', /touch mockfile\.txt/);
    assert.equal(await page.getAttribute('[data-testid=badge]', 'data-kind'), 'NeedsApproval');
    await until('the dialog on the terminal', async () => (await screen()).includes('Do you want to proceed?'));
    await page.waitForTimeout(500);
    await shot(page, '05-approval-card');
    // The message box does not type into the dialog (its Enter would pick "Yes").
    await page.fill('[data-testid=message]', 'what are you doing?');
    await page.tap('[data-testid=send]');
    await page.waitForSelector('[data-testid=message-held]', { timeout: T });
    assert.ok(await page.isVisible('[data-testid=deny-with-message]'), 'offers to deny with the message as the reason');
    assert.equal(await page.inputValue('[data-testid=message]'), 'what are you doing?', 'the text stays in the box');
    await page.waitForTimeout(300);
    assert.ok(!(await screen()).includes('what are you doing'), 'nothing reached the terminal');
    assert.ok((await screen()).includes('Do you want to proceed?'), 'the dialog still waits');
    await page.tap('[data-testid=allow]');
    await page.waitForSelector('[data-testid=approval-card]', { state: 'detached', timeout: T });
    await waitScreen('Done, the tool ran.');
    const worktree = join(cockpit.dataDir, 'worktrees', 'demo', 'phone');
    await until('mockfile.txt in the worktree', () => existsSync(join(worktree, 'mockfile.txt')));
    await waitSession('the turn to end', 'phone', (s) => s.live?.activity === 'Idle');
  });

  it('uses the quick keys', async () => {
    await page.tap('[data-testid=key-slash]');
    await until('the slash command menu', async () => /\/\w+/.test((await screen()).split('❯').pop() ?? ''), 10_000);
    await page.tap('[data-testid=key-Esc]');
    await until('the menu to close', async () => !(await screen()).includes('/compact'), 10_000);
    await page.tap('[data-testid=key-Backspace]');
    const prompt = () => screen().then((s) => s.split('\n').find((l) => l.startsWith('❯') && !l.includes('hello') && !l.includes('TOOLBASH')));
    await until('an empty prompt', async () => (await prompt())?.trim() === '❯', 10_000);
  });

  it('lists the session live, with repo, account and badge', async () => {
    await page.tap('[data-testid=back]');
    await page.waitForSelector('[data-testid=session-row][data-name=phone]');
    const row = page.locator('[data-testid=session-row][data-name=phone]');
    assert.equal(await row.locator('[data-testid=row-repo]').textContent(), 'demo');
    assert.equal(await row.locator('[data-testid=row-account]').textContent(), 'alpha');
    assert.equal(await row.locator('[data-testid=badge]').getAttribute('data-kind'), 'Idle');
    await shot(page, '06-sessions-list');
  });

  it('refreshes the list when pulled down', async () => {
    let loads = 0;
    /** @param {import('playwright-core').Request} req */
    const count = (req) => new URL(req.url()).pathname === '/api/sessions' && loads++;
    page.on('request', count);
    const cdp = await phone.context.newCDPSession(page);
    /** @param {'touchStart' | 'touchMove' | 'touchEnd'} type @param {number} y */
    const touch = (type, y) =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x: 195, y }] });
    await touch('touchStart', 150);
    for (let y = 170; y <= 450; y += 20) await touch('touchMove', y);
    assert.match((await page.textContent('[data-testid=pull-indicator]')) ?? '', /Release to refresh/);
    await touch('touchEnd', 450);
    await until('a reload of the list', () => loads > 0, 10_000);
    page.off('request', count);
    await cdp.detach();
  });

  it('renders a one-shot result as a structured transcript', async () => {
    await page.tap('[data-testid=new-session]');
    await page.waitForSelector('[data-testid=repo]');
    await page.tap('[data-testid=mode] button:has-text("One-shot")');
    await page.fill('[data-testid=prompt]', 'write a file TOOLWRITE');
    await page.selectOption('[data-testid=permission]', 'acceptEdits');
    await page.fill('[data-testid=name]', 'task');
    await page.tap('[data-testid=create-session]');
    await page.waitForSelector('[data-testid=oneshot]');
    await page.waitForSelector('[data-testid=oneshot-result]', { timeout: T });
    await page.waitForSelector('[data-testid=t-tool]', { timeout: T });
    assert.match((await page.textContent('[data-testid=t-tool]')) ?? '', /Write/);
    assert.match((await page.textContent('[data-testid=oneshot]')) ?? '', /Done, the file is written\./);
    assert.match((await page.textContent('[data-testid=result-cost]')) ?? '', /^\$\d/);
    assert.match((await page.textContent('[data-testid=result-output]')) ?? '', /^\d/);
    assert.doesNotMatch((await page.textContent('[data-testid=oneshot]')) ?? '', /"type":/);
    await shot(page, '07-oneshot-transcript');
    await page.tap('[data-testid=back]');
  });

  it('reconnects after the gateway restarts, terminal intact, no byte lost or shown twice', async () => {
    await page.goto(cockpit.url + '/s/phone/terminal');
    await waitScreen('Done, the tool ran.');
    await until('live', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) === 'live');
    const before = await page.evaluate(() => window.__cockpit?.socket.offset);
    assert.ok(typeof before === 'number', 'the terminal has output');
    await cockpit.kill9();
    await until('the page to notice', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) !== 'live', 15_000);
    await shot(page, '08-reconnecting');
    await cockpit.start();
    await until('live again', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) === 'live', T);
    assert.ok((await screen()).includes('Done, the tool ran.'), 'the terminal kept its content');
    // The restarted control plane re-adopts the worker that lived on.
    await waitSession('the worker to be re-adopted', 'phone', (s) => s.live && s.live.source !== 'store');
    await send('still there?');
    await waitScreen('you said "still there?"');
    await waitSession('the turn to end', 'phone', (s) => s.live?.activity === 'Idle');
    const seen = await screensAtOneOffset('after the restart');
    assert.ok(seen.client > before);
    assert.equal(await page.evaluate(() => window.__cockpit?.socket.dropped), 0, 'no gap, no bad frame');
    // What the phone shows is exactly what the control plane's own emulator shows.
    assert.equal(seen.mine, seen.server);
    await shot(page, '09-reconnected');
  });

  it('reconnects on a network change and on return from the background, resuming from its offset', async () => {
    const state = () => page.getAttribute('[data-testid=connection]', 'data-state');
    /** @param {string} what */
    const consistent = async (what) => {
      await waitSession('the turn to end', 'phone', (s) => s.live?.activity === 'Idle');
      const seen = await screensAtOneOffset(what);
      assert.equal(await page.evaluate(() => window.__cockpit?.socket.dropped), 0, `${what}: no gap`);
      assert.equal(seen.mine, seen.server, `${what}: the same screen as the control plane`);
      return seen.session;
    };
    // Offline: output produced meanwhile arrives when the network is back, once.
    await phone.context.setOffline(true);
    await until('offline', async () => (await state()) === 'offline', 10_000);
    await cockpit.api('/api/sessions/phone/send', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'sent offline' }),
    });
    await waitSession('the turn to end', 'phone', (s) => s.live?.activity === 'Idle' && s.live.lastPrompt?.includes('offline'));
    await phone.context.setOffline(false);
    await until('live after the network change', async () => (await state()) === 'live', 20_000);
    await waitScreen('you said "sent offline"');
    await consistent('network change');
    // Background: iOS may drop the socket silently; coming back reconnects from the offset.
    const sockets = await page.evaluate(() => {
      /** @param {DocumentVisibilityState} v */
      const set = (v) => Object.defineProperty(document, 'visibilityState', { value: v, configurable: true });
      window.__setVisibility = (v) => {
        set(v);
        document.dispatchEvent(new Event('visibilitychange'));
      };
      window.__setVisibility('hidden');
      return 1;
    });
    assert.equal(sockets, 1);
    await cockpit.api('/api/sessions/phone/send', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'from background' }),
    });
    await waitSession('the turn to end', 'phone', (s) => s.live?.activity === 'Idle' && s.live.lastPrompt?.includes('background'));
    await page.waitForTimeout(1100);
    await page.evaluate(() => {
      if (!window.__setVisibility) throw new Error('the visibility switch is not installed');
      window.__setVisibility('visible');
    });
    await until('live after returning', async () => (await state()) === 'live', 20_000);
    await waitScreen('you said "from background"');
    await consistent('return from the background');
  });

  it('scrolls the scrollback with a finger', async () => {
    const y0 = await page.evaluate(() => window.__cockpit?.viewportY());
    assert.ok(y0 !== undefined && y0 > 0, 'there is scrollback');
    const cdp = await phone.context.newCDPSession(page);
    /** @param {number} from @param {number} to */
    const swipe = async (from, to) => {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: 195, y: from }] });
      for (let i = 1; i <= 10; i++) {
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: 195, y: from + ((to - from) * i) / 10 }] });
      }
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    };
    await swipe(200, 500);
    const y1 = await page.evaluate(() => window.__cockpit?.viewportY());
    assert.ok(y1 !== undefined && y1 < y0, `scrolled back (${y0} -> ${y1})`);
    await shot(page, '09a-scrollback');
    await swipe(500, 100);
    await swipe(500, 100);
    assert.equal(await page.evaluate(() => window.__cockpit?.viewportY()), y0, 'back at the bottom');
    await cdp.detach();
  });

  it('re-fits the terminal on rotation', async () => {
    const before = (await session('phone')).live?.cols;
    assert.ok(before, 'the PTY has a width');
    await page.setViewportSize({ width: 844, height: 390 });
    await until('a wider PTY', async () => ((await session('phone')).live?.cols ?? 0) > before + 20, 10_000);
    await page.waitForTimeout(500);
    await shot(page, '10a-landscape');
    await page.setViewportSize({ width: 390, height: 844 });
    await until('the PTY back at phone width', async () => (await session('phone')).live?.cols === before, 10_000);
  });

  it('keeps its layout when the keyboard opens (the visual viewport shrinks)', async () => {
    const rowsBefore = await page.evaluate(() => window.__cockpit?.socket.state?.rows);
    assert.ok(rowsBefore, 'the terminal has rows');
    /** @param {string} sel */
    const top = async (sel) => (await page.locator(sel).first().boundingBox())?.y;
    const headerBefore = await top('header');
    const terminalBefore = await top('[data-testid=terminal]');
    await page.evaluate(() => {
      window.__shifts = [];
      new PerformanceObserver((list) => {
        for (const e of /** @type {LayoutShift[]} */ (list.getEntries())) window.__shifts?.push({ value: e.value, input: e.hadRecentInput });
      }).observe({ type: 'layout-shift', buffered: false });
    });
    // The tap that focuses the input bar opens the keyboard: the visual viewport loses 336 px.
    await page.tap('[data-testid=message]');
    await page.setViewportSize({ width: 390, height: 844 - 336 });
    await until('the terminal to re-fit', async () => ((await session('phone')).live?.rows ?? rowsBefore) < rowsBefore, 10_000);
    await page.waitForTimeout(600);
    const bar = await page.locator('[data-testid=message]').boundingBox();
    assert.ok(bar && bar.y + bar.height <= 844 - 336, 'the input bar stays above the keyboard');
    assert.equal(await top('header'), headerBefore, 'the header does not move');
    assert.equal(await top('[data-testid=terminal]'), terminalBefore, 'the terminal does not move');
    const shifts = await page.evaluate(() => window.__shifts);
    assert.ok(shifts, 'the layout shifts were recorded');
    // CLS counts shifts without recent input; the bar following the keyboard is input-caused.
    const cls = shifts.filter((e) => !e.input).reduce((a, e) => a + e.value, 0);
    const raw = shifts.reduce((a, e) => a + e.value, 0);
    console.log(`# keyboard opens: CLS ${cls.toFixed(4)} (all shift entries incl. input-caused ${raw.toFixed(4)}); rows ${rowsBefore} -> ${(await session('phone')).live?.rows}`);
    assert.equal(cls, 0, 'no unexpected layout shift');
    await shot(page, '10-keyboard-open');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('[data-testid=message]').blur();
  });

  it('moves the session to the next account when its account hits a usage limit, and the conversation goes on', async () => {
    await standIn.command(`limit ${TOKEN_ALPHA}`);
    await send('go on');
    const moved = await waitSession('the session to move to beta', 'phone', (s) => s.status.account === 'beta' && s.status.rotations >= 1);
    assert.equal(moved.spec.repo, 'demo');
    // The stand-in answers on beta (it reads the turn that hit the limit and the re-sent one).
    await waitScreen('you said "go on');
    await waitSession('the turn to end on beta', 'phone', (s) => s.live?.activity === 'Idle');
    await shot(page, '11-session-continued-on-beta');
  });

  it('shows a usage limit with a countdown when every account is limited', async () => {
    await standIn.command(`limit ${TOKEN_BETA}`);
    await send('and now?');
    await waitSession('the session to be rate limited', 'phone', (s) => s.status.phase === 'RateLimited' || s.live?.activity === 'RateLimited');
    await page.waitForSelector('[data-testid=badge][data-kind=RateLimited]', { timeout: T });
    await page.waitForSelector('[data-testid=countdown]', { timeout: T });
    await shot(page, '12-session-rate-limited');
    const s = await session('phone');
    assert.ok(s.status.rotations >= 1, 'rotated to the next account');
    assert.equal(s.status.rateLimit?.window, 'session');
    await page.tap('[data-testid=back]');
    const row = page.locator('[data-testid=session-row][data-name=phone]');
    await row.locator('[data-testid=badge][data-kind=RateLimited]').waitFor({ timeout: T });
    const first = await page.locator('[data-testid=session-row]').first().getAttribute('data-name');
    assert.equal(first, 'phone', 'the session that needs the person comes first');
    const c1 = await row.locator('[data-testid=countdown]').textContent();
    assert.match(c1 ?? '', /\d+h \d\dm|\d+m \d\ds/);
    await shot(page, '12-sessions-rate-limited');
  });

  it('shows accounts with usage and limits, and resets a limit', async () => {
    await page.tap('[data-testid=tab-accounts]');
    await page.waitForSelector('[data-testid=account]');
    const alpha = page.locator('[data-testid=account]', { has: page.locator('[data-testid=account-name]:text-is("alpha")') });
    await alpha.locator('[data-testid=account-limited]').waitFor({ timeout: T });
    assert.match((await alpha.locator('[data-testid=account-countdown]').textContent()) ?? '', /\d+h \d\dm/);
    assert.ok(Number(await alpha.locator('[data-testid=account-sessions]').textContent()) >= 1);
    // Alpha's 5-hour window as its sessions' CLI reported it (the API's utilization headers).
    const meter = alpha.locator('[data-testid=account-meter][data-window="5-hour"]');
    await meter.waitFor({ timeout: T });
    assert.match((await meter.locator('[data-testid=account-meter-percent]').textContent()) ?? '', /^\d+%$/);
    await shot(page, '13-accounts-limited');
    // The limit is over (at the API too): reset it by hand.
    await standIn.command(`clear ${TOKEN_ALPHA}`);
    await alpha.locator('[data-testid=reset-limit]').tap();
    await until('alpha to be reset', async () => {
      /** @type {import('../src/types/cockpit').AccountView[]} */
      const accounts = await cockpit.api('/api/accounts');
      const alpha = accounts.find((a) => a.id === 'alpha');
      return (alpha && !alpha.limited_until) || null;
    }, 15_000).catch(() => {});
  });

  it('shows health', async () => {
    await page.tap('[data-testid=tab-health]');
    await page.waitForSelector('[data-testid=health-version]');
    assert.equal(await page.textContent('[data-testid=health-database]'), 'sqlite');
    assert.equal(await page.textContent('[data-testid=health-accounts]'), '2');
    // GET /api/health never fills claude_version yet (operator/src/serve.rs sets None).
    assert.ok(((await page.textContent('[data-testid=health-claude]')) ?? '').length > 0);
    await shot(page, '14-health');
  });

  it('has a settings entry for notifications (Web Push hook)', async () => {
    await page.tap('[data-testid=tab-settings]');
    await page.tap('[data-testid=push-subscribe]');
    await page.waitForSelector('[data-testid=push-status]');
    await shot(page, '15-settings');
  });

  it('stops a session', async () => {
    const phoneId = (await session('phone')).id;
    await page.goto(cockpit.url + '/s/phone');
    await page.waitForSelector('[data-testid=stop]');
    await page.tap('[data-testid=stop]');
    await page.tap('[data-testid=stop]');
    await page.waitForSelector('[data-testid=sessions-list], [data-testid=sessions-empty]');
    await until('the session to leave the list', async () => (await page.locator('[data-testid=session-row][data-name=phone]').count()) === 0, T);
    /** @type {SessionView} */
    const s = await cockpit.api(`/api/sessions/${phoneId}`);
    assert.ok(s.deleted_at);
  });

  it('opens offline from the service worker cache and says it is offline', async () => {
    await phone.context.setOffline(true);
    await page.reload();
    await page.waitForSelector('[data-testid=offline-banner]', { timeout: 15_000 });
    assert.match((await page.textContent('[data-testid=offline-banner]')) ?? '', /offline/i);
    await shot(page, '16-offline');
    await phone.context.setOffline(false);
  });

  it('logged no page errors', () => {
    // Expected: failed loads and socket handshakes while the gateway restarts or the phone is offline.
    const real = suite.errors.filter((e) => !/Failed to load resource|ERR_INTERNET_DISCONNECTED|net::ERR|^WebSocket connection to .* failed/.test(e));
    assert.deepEqual(real, []);
  });
});
