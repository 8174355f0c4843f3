// @ts-check
// The list, the accounts and the rest of the phone end to end: Debian's chromium as an iPhone
// (390×844) against a real `cockpit serve` running the real Claude CLI on the stand-in API.
// A session waiting on approval needs you (its group, the tab badge) and is answered from its
// row; an idle one is your turn; the accounts show their meters, cost and sessions; a session
// every account's limit holds says why in plain words; every tap target is at least 44 px;
// a banner says when the control plane cannot be reached.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cockpit, PHONE, PhoneSuite, TOKEN_ALPHA, TOKEN_BETA, shot, until } from './harness.mjs';

/** @typedef {import('../src/types/cockpit').SessionView} SessionView */
/** @typedef {import('../src/types/cockpit').AccountView} AccountView */

const T = 90_000;
const MIN_TARGET = 44;
const suite = new PhoneSuite('inbox');
/** @type {import('./harness.mjs').StandIn} */
let standIn;
/** @type {Cockpit} */
let cockpit;
/** @type {import('playwright-core').Page} */
let page;

/** @returns {Promise<SessionView>} */
const session = () => cockpit.api('/api/sessions/asks');
/** @param {string} what @param {(s: SessionView) => unknown} pred */
const waitSession = (what, pred, timeout = T) =>
  until(what, async () => {
    const s = await session();
    return pred(s) ? s : null;
  }, timeout, 300);
/** @param {string} path @param {unknown} body */
const post = (path, body) => cockpit.api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** @param {string} name */
const row = (name) => page.locator(`[data-testid=session-row][data-name=${name}]`);
/** @param {string} attention */
const group = (attention) => page.locator(`[data-testid=session-group][data-attention=${attention}]`);
const tabBadge = () => page.locator('[data-testid=tab-badge]');

/** Every visible button, select and link narrower or shorter than 44 CSS px. */
async function smallTargets() {
  const targets = page.locator('button:visible, select:visible, a:visible');
  const small = [];
  const count = await targets.count();
  for (let i = 0; i < count; i++) {
    const target = targets.nth(i);
    const box = await target.boundingBox();
    if (!box) continue;
    if (box.width < MIN_TARGET || box.height < MIN_TARGET) {
      const name = (await target.getAttribute('data-testid')) ?? (await target.getAttribute('aria-label')) ?? (await target.textContent())?.trim();
      small.push(`${name}: ${box.width.toFixed(1)}×${box.height.toFixed(1)}`);
    }
  }
  return { count, small };
}

/** @param {string} screen */
async function assertTargets(screen) {
  assert.equal(page.viewportSize()?.width, PHONE.width);
  const { count, small } = await smallTargets();
  assert.ok(count > 0, `${screen}: there are targets to measure`);
  assert.deepEqual(small, [], `${screen}: targets under ${MIN_TARGET} px`);
}

describe('the inbox, the accounts and the rest of the phone', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    ({ standIn, cockpit, page } = await suite.start());
    await post('/api/sessions', { repo_name: 'demo', name: 'asks', prompt: 'please run TOOLBASH' });
  });

  after(() => suite.close());

  it('puts a session waiting on approval under Needs you, and counts it on the tab badge', async () => {
    await waitSession('the session to ask for approval', (s) => s.live?.activity === 'NeedsApproval' && s.live.approval?.answerable);
    await page.goto(cockpit.url + '/');
    await group('needsYou').locator('[data-testid=session-row][data-name=asks]').waitFor({ timeout: T });
    assert.match((await group('needsYou').locator('h2').textContent()) ?? '', /Needs you/);
    assert.equal(await row('asks').locator('[data-testid=badge]').getAttribute('data-kind'), 'NeedsApproval');
    assert.match((await row('asks').locator('[data-testid=row-detail]').textContent()) ?? '', /^Bash: touch mockfile\.txt/);
    assert.equal(await tabBadge().textContent(), '1');
    assert.ok(await row('asks').locator('[data-testid=row-allow]').isVisible());
    assert.ok(await row('asks').locator('[data-testid=row-deny]').isVisible());
    await shot(page, 'inbox-01-needs-you');
  });

  it('has touch targets of at least 44 px on the list, Allow and Deny included', async () => {
    await assertTargets('sessions list');
  });

  it('has a new-session sheet with 44 px targets, selects that look tappable, and errors that clear when fixed', async () => {
    await page.tap('[data-testid=new-session]');
    await page.waitForSelector('[data-testid=repo]');
    await page.waitForTimeout(300);
    await assertTargets('new session sheet');
    for (const id of ['repo', 'account', 'model', 'permission']) {
      const select = page.locator(`[data-testid=${id}]`);
      const look = await select.evaluate((el) => ({
        border: parseFloat(getComputedStyle(el).borderTopWidth),
        chevron: el.parentElement?.querySelector('svg') !== null,
      }));
      assert.ok(look.border >= 1, `${id} has a border`);
      assert.ok(look.chevron, `${id} has a chevron`);
    }
    // A name the control plane would refuse says so at the field, until it is fixed.
    await page.fill('[data-testid=name]', 'my task');
    assert.match((await page.textContent('[data-testid=name-error]')) ?? '', /lowercase letters, digits/);
    assert.equal(await page.getAttribute('[data-testid=name]', 'aria-invalid'), 'true');
    await page.fill('[data-testid=name]', 'my-task');
    await page.waitForSelector('[data-testid=name-error]', { state: 'detached' });
    // A one-shot without its task: said once Start is tapped, gone once the task is typed.
    await page.tap('[data-testid=mode] button:has-text("One-shot")');
    await page.tap('[data-testid=create-session]');
    assert.match((await page.textContent('[data-testid=prompt-error]')) ?? '', /needs a task/);
    await shot(page, 'inbox-02-sheet-errors');
    await page.fill('[data-testid=prompt]', 'something to do');
    await page.waitForSelector('[data-testid=prompt-error]', { state: 'detached' });
    /** @type {SessionView[]} */
    const all = await cockpit.api('/api/sessions');
    assert.equal(all.length, 1, 'nothing was created');
    await page.tap('text=Cancel');
    await page.waitForSelector('[data-testid=new-session-sheet]', { state: 'detached' });
  });

  it('allows the request from the list row: the session goes on, then waits as your turn', async () => {
    await row('asks').locator('[data-testid=row-allow]').tap();
    const worktree = join(cockpit.dataDir, 'worktrees', 'demo', 'asks');
    await until('mockfile.txt in the worktree', () => existsSync(join(worktree, 'mockfile.txt')), T);
    await waitSession('the turn to end', (s) => s.live?.activity === 'Idle');
    await group('yourTurn').locator('[data-testid=session-row][data-name=asks]').waitFor({ timeout: T });
    assert.equal(await group('needsYou').count(), 0, 'nothing needs you');
    assert.equal(await tabBadge().count(), 0, 'no badge on the tab');
    assert.equal(await row('asks').locator('[data-testid=row-allow]').count(), 0);
    await shot(page, 'inbox-03-your-turn');
  });

  it('shows each account with its 5-hour and weekly meters, cost with the running session, and its sessions', async () => {
    await page.tap('[data-testid=tab-accounts]');
    const alpha = page.locator('[data-testid=account]', { has: page.locator('[data-testid=account-name]:text-is("alpha")') });
    for (const window of ['5-hour', 'weekly']) {
      const meter = alpha.locator(`[data-testid=account-meter][data-window="${window}"]`);
      await meter.waitFor({ timeout: T });
      assert.match((await meter.locator('[data-testid=account-meter-percent]').textContent()) ?? '', /^\d+%$/);
      assert.match((await meter.locator('[data-testid=account-meter-reset]').textContent()) ?? '', /resets in \d+(d|h|m|s)/);
    }
    // The worker still runs: its account has recorded nothing yet, so the cost shown is the
    // session's own (from its status line).
    await until('the cost of the running session on alpha', async () => {
      const [accounts, s] = await Promise.all([/** @type {Promise<AccountView[]>} */ (cockpit.api('/api/accounts')), session()]);
      const recorded = accounts.find((a) => a.id === 'alpha')?.usage.costUsd;
      const running = (s.status.cost?.costUsd ?? 0) - (s.status.costBeforeWorker?.costUsd ?? 0);
      if (recorded !== 0 || running <= 0) return false;
      return (await alpha.locator('[data-testid=account-cost]').textContent()) === `$${running.toFixed(4)}`;
    }, T);
    assert.ok(await alpha.locator('[data-testid=account-session][data-name=asks]').isVisible(), 'the session on alpha is listed');
    await shot(page, 'inbox-04-accounts');
    await assertTargets('accounts');
    await alpha.locator('[data-testid=account-session][data-name=asks]').tap();
    await page.waitForURL(/\/s\//);
    await page.goto(cockpit.url + '/');
  });

  it('says in plain words why a session waits when every account is limited, and counts it as needing you', async () => {
    await standIn.command(`limit ${TOKEN_ALPHA}`);
    await standIn.command(`limit ${TOKEN_BETA}`);
    await post('/api/sessions/asks/send', { text: 'and now?' });
    await waitSession('the session to wait for a reset', (s) => s.status.phase === 'RateLimited', T);
    const accounts = await until('both accounts limited', async () => {
      /** @type {AccountView[]} */
      const list = await cockpit.api('/api/accounts');
      return list.every((a) => a.limited_until) && list;
    }, T);
    const resumes = Math.min(...accounts.map((a) => Date.parse(a.limited_until ?? '')));
    const clock = await page.evaluate((at) => new Date(at).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' }), resumes);
    const wait = group('needsYou').locator('[data-testid=session-row][data-name=asks] [data-testid=row-wait]');
    await wait.waitFor({ timeout: T });
    assert.equal(await wait.textContent(), `Waiting: every account is limited until ${clock}`);
    assert.equal(await tabBadge().textContent(), '1');
    await shot(page, 'inbox-05-every-account-limited');
    // The accounts screen offers Reset limit, a 44 px target too.
    await page.tap('[data-testid=tab-accounts]');
    await page.locator('[data-testid=reset-limit]').first().waitFor({ timeout: T });
    assert.equal(await page.locator('[data-testid=reset-limit]').count(), 2);
    await assertTargets('accounts, limited');
    await shot(page, 'inbox-06-accounts-limited');
  });

  it('has 44 px targets on health and settings, and settings says iPhones need a real VAPID subject', async () => {
    await page.tap('[data-testid=tab-health]');
    await page.waitForSelector('[data-testid=health-version]');
    await assertTargets('health');
    await page.tap('[data-testid=tab-settings]');
    await page.waitForSelector('[data-testid=settings-push]');
    /** @type {import('../src/types/cockpit').PushKey} */
    const key = await cockpit.api('/api/push/key');
    assert.equal(key.subjectSet, Boolean(process.env.COCKPIT_VAPID_SUBJECT), 'the harness sets no contact of its own');
    if (!key.subjectSet) {
      await page.waitForSelector('[data-testid=vapid-subject-missing]');
      assert.match((await page.textContent('[data-testid=vapid-subject-missing]')) ?? '', /COCKPIT_VAPID_SUBJECT=mailto:/);
    }
    await assertTargets('settings');
    await shot(page, 'inbox-07-settings');
  });

  it('shows a banner on the list and the accounts screens while the control plane cannot be reached', async () => {
    await page.tap('[data-testid=tab-sessions]');
    await page.waitForSelector('[data-testid=sessions-list]');
    assert.equal(await page.locator('[data-testid=offline-banner]').count(), 0, 'no banner while it is up');
    await cockpit.kill9();
    const banner = page.locator('[data-testid=offline-banner]');
    await banner.waitFor({ timeout: 20_000 });
    assert.match((await banner.textContent()) ?? '', /cannot be reached/);
    await shot(page, 'inbox-08-list-unreachable');
    await page.tap('[data-testid=tab-accounts]');
    await page.waitForSelector('[data-testid=accounts]');
    assert.ok(await banner.isVisible(), 'the accounts screen says so too');
    await shot(page, 'inbox-09-accounts-unreachable');
    await cockpit.start();
    await banner.waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('logged no page errors', () => {
    // Expected: failed loads while the control plane is away.
    const real = suite.errors.filter((e) => !/Failed to load resource|net::ERR|^WebSocket connection to .* failed/.test(e));
    assert.deepEqual(real, []);
  });
});
