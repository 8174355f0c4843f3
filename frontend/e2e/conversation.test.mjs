// @ts-check
// An interactive session's conversation end to end: Debian's chromium as an iPhone (390×844)
// against a real `cockpit serve` running the real Claude CLI on the stand-in Messages API.
// Text and markdown (a code block copied), a Bash call and its output, a Write shown as its
// content and an Edit as a diff, approvals answered inline (Allow, Deny with a message,
// Always allow, saying what it grants), an account rotation on the timeline, a message kept on
// the phone while every account is limited and sent after the reset, reconnects without an
// entry twice, the Changes view of the worktree, the terminal one tap away, 44 px targets.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cockpit, PhoneSuite, TOKEN_ALPHA, TOKEN_BETA, shot, until } from './harness.mjs';

/** @typedef {import('../src/types/cockpit').SessionView} SessionView */
/** @typedef {import('../src/types/cockpit').AccountView} AccountView */

const T = 90_000;
const NAME = 'chat';
const suite = new PhoneSuite('conversation');
/** @type {import('./harness.mjs').StandIn} */
let standIn;
/** @type {Cockpit} */
let cockpit;
/** @type {import('./harness.mjs').Phone} */
let phone;
/** @type {import('playwright-core').Page} */
let page;

/** @returns {Promise<SessionView>} */
const session = () => cockpit.api(`/api/sessions/${NAME}`);
/** @param {string} what @param {(s: SessionView) => unknown} pred */
const waitSession = (what, pred, timeout = T) =>
  until(what, async () => {
    const s = await session();
    return pred(s) ? s : null;
  }, timeout, 300);
const idle = () => waitSession('the turn to end', (s) => s.live?.activity === 'Idle');
/** @param {string} path @param {unknown} body */
const post = (path, body) => cockpit.api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** @param {string} sel */
const inConversation = (sel) => page.locator(`[data-testid=conversation] ${sel}`);
/** The keys of the entries the page holds, in order. */
const keys = () => page.evaluate(() => window.__conversation?.keys ?? []);

/** @param {string} text */
async function send(text) {
  await page.fill('[data-testid=composer]', text);
  await page.tap('[data-testid=composer-send]');
  await until('the message box to clear', async () => (await page.inputValue('[data-testid=composer]')) === '', 15_000);
}

/** Waits for an assistant reply containing `text`. */
/** @param {string} text */
const reply = (text) => inConversation(`[data-testid=c-assistant]:has-text(${JSON.stringify(text)})`).last().waitFor({ timeout: T });

/** @param {string} tool */
async function approvalCard(tool) {
  const card = inConversation('[data-testid=approval-card]');
  await card.waitFor({ timeout: T });
  assert.equal(await card.locator('[data-testid=approval-tool]').textContent(), tool);
  return card;
}

/** @param {unknown[]} list @param {string} what */
function assertNoDuplicates(list, what) {
  assert.equal(new Set(list).size, list.length, `${what}: an entry shown twice`);
}

describe('the conversation of an interactive session', { timeout: 20 * 60_000 }, () => {
  before(async () => {
    ({ standIn, cockpit, phone, page } = await suite.start({ permissions: ['clipboard-read', 'clipboard-write'] }));
    await post('/api/sessions', { repo_name: 'demo', name: NAME });
    await idle();
  });

  after(() => suite.close());

  it('opens on the conversation and shows a message and its reply', async () => {
    await page.goto(`${cockpit.url}/s/${NAME}`);
    await until('the stream to be live', async () => (await page.getAttribute('[data-testid=conversation]', 'data-status')) === 'live');
    assert.equal(await page.getAttribute('[data-testid=pane-conversation]', 'aria-selected'), 'true');
    await send('hello there');
    await inConversation('[data-testid=c-user]:has-text("hello there")').waitFor({ timeout: T });
    await reply('Stand-in reply #1: you said "hello there"');
    await idle();
  });

  it('renders markdown, and copies a code block', async () => {
    await send('answer in MARKDOWN please');
    await reply('This is bold');
    const md = inConversation('[data-testid=c-assistant] [data-testid=markdown]').last();
    assert.equal(await md.locator('h2').textContent(), 'The plan');
    assert.equal(await md.locator('strong').textContent(), 'bold');
    assert.deepEqual(await md.locator('li').allTextContents(), ['one', 'two']);
    const code = md.locator('.md-code code');
    assert.equal(await code.textContent(), 'fn main() {\n    println!("hi");\n}');
    assert.equal(await md.locator('.md-code-bar span').textContent(), 'rust');
    // The text can be selected (nothing forbids it).
    assert.equal(await md.evaluate((el) => getComputedStyle(el).userSelect), 'auto');
    const copy = md.locator('button[data-copy]');
    const box = await copy.boundingBox();
    assert.ok(box && box.height >= 44 && box.width >= 44, `Copy is a 44 px target (${box?.width}×${box?.height})`);
    await copy.tap();
    await until('Copied', async () => (await copy.textContent()) === 'Copied', 5000);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'fn main() {\n    println!("hi");\n}');
    await idle();
    await shot(page, 'c01-conversation-markdown');
  });

  it('shows a Bash request inline, allowed, with its command, output and a note', async () => {
    await send('please run TOOLBASH');
    const card = await approvalCard('Bash');
    assert.match((await card.locator('[data-testid=tool-command]').textContent()) ?? '', /Create an empty file\$ touch mockfile\.txt/);
    assert.equal(await page.getAttribute('[data-testid=badge]', 'data-kind'), 'NeedsApproval');
    // A message typed meanwhile is not sent (it would answer the dialog): it waits in the deny field.
    await page.fill('[data-testid=composer]', 'what are you doing?');
    await page.tap('[data-testid=composer-send]');
    await card.locator('[data-testid=message-held]').waitFor();
    assert.equal(await card.locator('[data-testid=deny-message]').inputValue(), 'what are you doing?');
    assert.equal(await page.inputValue('[data-testid=composer]'), 'what are you doing?', 'the text stays in the box');
    await shot(page, 'c02-approval-bash');
    await page.fill('[data-testid=composer]', '');
    await card.locator('[data-testid=allow]').tap();
    await card.waitFor({ state: 'detached', timeout: T });
    await reply('Done, the tool ran.');
    const tool = inConversation('[data-testid=tool-card][data-tool=Bash]').last();
    assert.match((await tool.locator('[data-testid=tool-summary]').textContent()) ?? '', /touch mockfile\.txt/);
    assert.match((await tool.locator('[data-testid=tool-command]').textContent()) ?? '', /touch mockfile\.txt/);
    await tool.locator('[data-testid=tool-output]').waitFor({ timeout: T });
    await inConversation('[data-testid=c-note][data-reason=Approved]').waitFor({ timeout: T });
    assert.ok(existsSync(join(cockpit.dataDir, 'worktrees', 'demo', NAME, 'mockfile.txt')));
    await idle();
    await shot(page, 'c03-bash-ran');
  });

  it('shows a Write as the file’s content', async () => {
    await send('write a file TOOLWRITE');
    const card = await approvalCard('Write');
    const content = card.locator('[data-testid=tool-content]');
    assert.match((await content.textContent()) ?? '', /hello\.txt/);
    assert.match((await content.locator('pre').textContent()) ?? '', /^hello\n?$/);
    await shot(page, 'c04-approval-write');
    await card.locator('[data-testid=allow]').tap();
    await card.waitFor({ state: 'detached', timeout: T });
    await reply('Done, the file is written.');
    const tool = inConversation('[data-testid=tool-card][data-tool=Write]').last();
    assert.match((await tool.locator('[data-testid=tool-content] pre').textContent()) ?? '', /hello/);
    await idle();
  });

  it('denies an Edit with a message for Claude, the diff shown', async () => {
    await send('edit it TOOLEDIT');
    const card = await approvalCard('Edit');
    const diff = card.locator('[data-testid=tool-diff]');
    assert.equal(await diff.locator('[data-op=remove]').textContent(), '−hello');
    assert.equal(await diff.locator('[data-op=add]').textContent(), '+hello, world');
    await shot(page, 'c05-approval-edit-diff');
    await card.locator('[data-testid=deny-tell]').tap();
    await card.locator('[data-testid=deny-message]').fill('keep it as it is');
    await card.locator('[data-testid=deny-with-message]').tap();
    await card.waitFor({ state: 'detached', timeout: T });
    const note = inConversation('[data-testid=c-note][data-reason=Denied]').last();
    await note.waitFor({ timeout: T });
    assert.match((await note.textContent()) ?? '', /keep it as it is/);
    await reply('The tool was not run');
    await idle();
    assert.equal(readFileSync(join(cockpit.dataDir, 'worktrees', 'demo', NAME, 'hello.txt'), 'utf8'), 'hello\n');
    await shot(page, 'c06-denied-with-message');
  });

  it('always allows an Edit, shown as a diff in the conversation', async () => {
    await send('edit it again TOOLEDIT');
    const card = await approvalCard('Edit');
    // The button says what it grants (the CLI's own don't-ask-again choice for an Edit).
    const always = card.locator('[data-testid=allow-always]');
    assert.equal(await always.locator('[data-testid=always-allows]').textContent(), 'accept edits for this session');
    assert.match((await always.textContent()) ?? '', /^Always allowaccept edits for this session$/);
    const box = await always.boundingBox();
    assert.ok(box && box.height >= 44, `Always allow is a 44 px target (${box?.height})`);
    await shot(page, 'c07a-approval-always-allows');
    await always.tap();
    await card.waitFor({ state: 'detached', timeout: T });
    await inConversation('[data-testid=c-note][data-reason=ApprovedAlways]').waitFor({ timeout: T });
    await reply('Done, the file is edited.');
    const tool = inConversation('[data-testid=tool-card][data-tool=Edit]').last();
    assert.equal(await tool.locator('[data-op=add]').textContent(), '+hello, world');
    await idle();
    assert.equal(readFileSync(join(cockpit.dataDir, 'worktrees', 'demo', NAME, 'hello.txt'), 'utf8'), 'hello, world\n');
    await shot(page, 'c07-edit-always-allowed');
  });

  it('shows an account rotation on the timeline', async () => {
    await standIn.command(`limit ${TOKEN_ALPHA}`);
    await send('go on');
    await waitSession('the session to move to beta', (s) => s.status.account === 'beta' && s.status.rotations >= 1);
    const note = inConversation('[data-testid=c-note][data-reason=Rotated]');
    await note.waitFor({ timeout: T });
    assert.match((await note.textContent()) ?? '', /alpha.*beta/);
    await reply('you said "go on');
    await idle();
    await shot(page, 'c08-rotation-note');
    await standIn.command(`clear ${TOKEN_ALPHA}`);
  });

  it('keeps a message on the phone while every account is limited, and sends it after the reset', async () => {
    // Alpha is still limited at the control plane (since the rotation); now beta hits its limit too.
    await standIn.command(`limit ${TOKEN_BETA}`);
    await send('wait for it');
    // Whatever happens here, the limits end with this step.
    const resetAll = async () => {
      await standIn.command(`clear ${TOKEN_BETA}`);
      await post('/api/accounts/alpha/reset-limit', {});
      await post('/api/accounts/beta/reset-limit', {});
    };
    let reset = false;
    try {
      // The worker gone (it lingers a moment after the limit; its last state stays), the session waits.
      const waiting = await waitSession('the session to wait for a reset', (s) => s.status.phase === 'RateLimited' && (!s.live || s.live.activity === 'Exited'));
      const accounts = await until('both accounts limited', async () => {
        /** @type {AccountView[]} */
        const list = await cockpit.api('/api/accounts');
        return list.every((a) => a.limited_until) && list;
      }, T);
      // While the session waits, the control plane refuses a message (even while the stopping
      // worker lingers a moment).
      await assert.rejects(post(`/api/sessions/${NAME}/send`, { text: 'too early' }), /409 .*usage-limit reset/);
      const resumes = Math.min(...accounts.map((a) => Date.parse(a.limited_until ?? '')));
      const clock = await page.evaluate((at) => new Date(at).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' }), resumes);
      const banner = page.locator('[data-testid=composer-waiting]');
      await banner.waitFor({ timeout: T });
      assert.match((await banner.textContent()) ?? '', new RegExp(`^Every account is limited until ${clock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`));
      assert.equal(await page.locator('[data-testid=composer-send]').count(), 0, 'no plain Send while it waits');

      const text = 'QUEUED after the reset';
      await page.fill('[data-testid=composer]', text);
      await page.tap('[data-testid=composer-queue]');
      const bubble = inConversation('[data-testid=queued]');
      await bubble.waitFor();
      assert.equal(await bubble.getAttribute('data-state'), 'waiting');
      assert.equal(await bubble.locator('[data-testid=queued-text]').textContent(), text);
      assert.equal(await page.inputValue('[data-testid=composer]'), '', 'the box is free again');
      for (const sel of ['[data-testid=composer-queue]', '[data-testid=queued-cancel]']) {
        const b = await page.locator(sel).boundingBox();
        assert.ok(b && b.width >= 44 && b.height >= 44, `${sel}: ${b?.width}×${b?.height}`);
      }
      await shot(page, 'c08a-queued-while-limited');
      // Kept on the phone: a reload shows it again.
      const key = `cockpit.queued.${waiting.id}`;
      const kept = await page.evaluate((k) => localStorage.getItem(k), key);
      assert.ok(kept, 'the message is kept on the phone');
      assert.equal(JSON.parse(kept).text, text);
      await page.reload();
      await inConversation('[data-testid=queued] [data-testid=queued-text]').waitFor({ timeout: T });
      assert.equal(await inConversation('[data-testid=queued-text]').textContent(), text);
      await page.waitForTimeout(1500);
      assert.equal((await session()).live?.lastPrompt?.includes(text) ?? false, false, 'nothing sent while it waits');

      // The limits are over: the session resumes (the turn the limit cut is sent again), and the
      // queued message goes once Claude is idle.
      reset = true;
      await resetAll();
      await banner.waitFor({ state: 'detached', timeout: T });
      await inConversation(`[data-testid=c-user]:has-text(${JSON.stringify(text)})`).waitFor({ timeout: T });
      await reply(`you said "${text}"`);
      await inConversation('[data-testid=queued]').waitFor({ state: 'detached', timeout: T });
      assert.equal(await page.evaluate((k) => localStorage.getItem(k), key), null, 'gone from the phone once sent');
      const s = await idle();
      assert.equal(s.live?.lastPrompt, text);
      await shot(page, 'c08b-queued-sent-after-reset');
    } finally {
      if (!reset) await resetAll().catch(() => {});
    }
  });

  it('reconnects without showing an entry twice', async () => {
    const before = await keys();
    assertNoDuplicates(before, 'before');
    // Offline while the conversation goes on: what was said meanwhile arrives once.
    await phone.context.setOffline(true);
    await post(`/api/sessions/${NAME}/send`, { text: 'sent while offline' });
    await waitSession('the offline turn to end', (s) => s.live?.activity === 'Idle' && s.live.lastPrompt?.includes('offline'));
    await phone.context.setOffline(false);
    await reply('you said "sent while offline"');
    const back = await keys();
    assertNoDuplicates(back, 'after the network came back');
    assert.deepEqual(back.slice(0, before.length), before, 'what was held stays, in order');
    // A reload starts from nothing and gets everything once.
    await page.reload();
    const reloaded = await until('every entry after a reload', async () => {
      const now = await keys();
      return now.length >= back.length && now;
    }, T);
    assertNoDuplicates(reloaded, 'after a reload');
    assert.deepEqual([...reloaded].sort(), [...back].sort(), 'the same entries after a reload');
    if (JSON.stringify(reloaded) !== JSON.stringify(back)) console.log(`# order live: ${back.join(' ')}\n# order after a reload: ${reloaded.join(' ')}`);
    const shown = await page.locator('[data-testid=c-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    assertNoDuplicates(shown, 'rows on screen');
    assert.ok(shown.length > 0 && shown.length < back.length + 1);
  });

  it('jumps to the latest entry after scrolling up', async () => {
    await page.locator('[data-testid=conversation]').evaluate((el) => {
      el.dispatchEvent(new WheelEvent('wheel', { deltaY: -2000, bubbles: true }));
      el.scrollTop = 0;
    });
    await page.locator('[data-testid=jump-latest]').waitFor();
    await shot(page, 'c09-scrolled-up');
    await page.tap('[data-testid=jump-latest]');
    await page.locator('[data-testid=jump-latest]').waitFor({ state: 'detached' });
    await inConversation('[data-testid=c-assistant]:has-text("sent while offline")').waitFor();
  });

  it('shows the worktree’s changes on its branch', async () => {
    await page.tap('[data-testid=pane-changes]');
    await until('the changes path', async () => new URL(page.url()).pathname === `/s/${NAME}/changes`, 5000);
    assert.equal(await page.textContent('[data-testid=changes-branch]', { timeout: T }), `cockpit/${NAME}`);
    const file = page.locator('[data-testid=change-file][data-path="hello.txt"]');
    await file.waitFor();
    assert.match((await file.locator('[data-testid=change-counts]').textContent()) ?? '', /\+1 −0/);
    await page.locator('[data-testid=change-file][data-path="mockfile.txt"]').waitFor();
    await file.locator('button').tap();
    assert.equal(await file.locator('[data-op=add]').textContent(), '+hello, world');
    await shot(page, 'c10-changes');
  });

  it('keeps the terminal one tap away', async () => {
    // Hidden, the terminal left the PTY's size alone; shown, the PTY follows the phone.
    const hidden = (await session()).live?.cols ?? 0;
    assert.ok(hidden >= 80, `the PTY kept its width behind the conversation (${hidden} columns)`);
    await page.tap('[data-testid=pane-terminal]');
    await until('the PTY at phone width', async () => {
      const cols = (await session()).live?.cols ?? 0;
      return cols >= 40 && cols <= 60;
    }, 15_000);
    await page.waitForSelector('[data-testid=terminal] .xterm', { state: 'visible' });
    await until('the conversation on the terminal', async () => (await page.evaluate(() => window.__cockpit?.screen() ?? '')).includes('sent while offline'), T);
    await page.waitForTimeout(500);
    await shot(page, 'c11-terminal');
    await page.tap('[data-testid=pane-conversation]');
    await page.waitForSelector('[data-testid=conversation]');
    assert.equal(new URL(page.url()).pathname, `/s/${NAME}`);
  });

  it('has 44 px targets on the session screen’s three views', async () => {
    for (const sel of ['[data-testid=stop]', '[data-testid=back]', '[data-testid=pane-conversation]', '[data-testid=pane-terminal]', '[data-testid=pane-changes]', '[data-testid=composer-send]', '[data-testid=composer]', '[data-testid=tool-card] > button']) {
      const box = await page.locator(sel).first().boundingBox();
      assert.ok(box && box.width >= 44 && box.height >= 44, `${sel}: ${box?.width}×${box?.height}`);
    }
    // Every visible button, field and tab of each view (the terminal's own hidden textarea aside).
    const small = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('button, input, textarea, select, [role=tab]')]
          .filter((el) => !el.closest('.xterm'))
          .map((el) => ({ el, r: el.getBoundingClientRect() }))
          .filter(({ r }) => r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight)
          .filter(({ r }) => r.width < 44 || r.height < 44)
          .map(({ el, r }) => `${el.getAttribute('data-testid') ?? el.tagName}: ${Math.round(r.width)}×${Math.round(r.height)}`),
      );
    assert.deepEqual(await small(), [], 'conversation');
    await page.tap('[data-testid=pane-terminal]');
    await page.waitForSelector('[data-testid=message]');
    for (const sel of ['[data-testid=message]', '[data-testid=send]', '[data-testid=key-Esc]']) {
      const box = await page.locator(sel).boundingBox();
      assert.ok(box && box.width >= 44 && box.height >= 44, `${sel}: ${box?.width}×${box?.height}`);
    }
    assert.deepEqual(await small(), [], 'terminal');
    await page.tap('[data-testid=pane-changes]');
    await page.locator('[data-testid=change-file]').first().waitFor({ timeout: T });
    assert.deepEqual(await small(), [], 'changes');
    await page.tap('[data-testid=pane-conversation]');
    await page.waitForSelector('[data-testid=conversation]');
  });

  it('scrolls a 1 000-entry conversation smoothly on a 4× slower CPU, an unknown entry as one line', async () => {
    // The session's own transcript grows by 1 000 entries (messages, markdown, thinking, tool
    // calls with results) and one line of a kind no version of Cockpit knows.
    const s = await session();
    const projects = join(cockpit.dataDir, 'claude-home', 'projects');
    const dir = readdirSync(projects).map((d) => join(projects, d)).find((d) => existsSync(join(d, `${s.status.claudeSessionId}.jsonl`)));
    assert.ok(dir, 'the transcript file');
    const at = () => new Date().toISOString();
    const lines = [];
    for (let i = 0; i < 250; i++) {
      lines.push({ type: 'user', timestamp: at(), message: { role: 'user', content: `question ${i}: how does part ${i} work?` } });
      lines.push({
        type: 'assistant',
        timestamp: at(),
        message: {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: `thinking about part ${i}` },
            { type: 'text', text: `## Part ${i}\n\nIt works **well**:\n\n- first\n- second\n\n\`\`\`js\nconsole.log(${i});\n\`\`\`` },
            { type: 'tool_use', id: `toolu_perf_${i}`, name: 'Bash', input: { command: `echo ${i}`, description: `Print ${i}` } },
          ],
        },
      });
      lines.push({ type: 'user', timestamp: at(), message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_perf_${i}`, content: `${i}\n`, is_error: false }] } });
    }
    lines.push({ type: 'a-kind-from-the-future', timestamp: at() });
    const before = (await keys()).length;
    appendFileSync(join(dir, `${s.status.claudeSessionId}.jsonl`), lines.map((l) => JSON.stringify(l) + '\n').join(''));
    await until('1 000 more entries', async () => (await keys()).length >= before + 1001, T);
    const unknown = inConversation('[data-testid=c-unknown]');
    await unknown.waitFor({ timeout: T });
    assert.match((await unknown.textContent()) ?? '', /unknown entry \(a-kind-from-the-future\)/);
    const rendered = await page.locator('[data-testid=c-row]').count();
    assert.ok(rendered < 60, `virtualized: ${rendered} rows in the page for ${(await keys()).length} entries`);

    const cdp = await phone.context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    // A fast fling: the person scrolls up 250 px a frame for 120 frames, from the latest entry.
    const { frames, travelled } = await page.locator('[data-testid=conversation]').evaluate(
      (el) =>
        new Promise((/** @type {(r: { frames: number[]; travelled: number }) => void} */ resolve) => {
          /** @type {number[]} */
          const times = [];
          const start = el.scrollTop;
          let last = performance.now();
          let n = 0;
          /** @param {number} now */
          const step = (now) => {
            times.push(now - last);
            last = now;
            el.dispatchEvent(new WheelEvent('wheel', { deltaY: -250, bubbles: true }));
            el.scrollTop -= 250;
            if (++n < 120) requestAnimationFrame(step);
            else resolve({ frames: times.slice(1), travelled: start - el.scrollTop });
          };
          requestAnimationFrame(step);
        }),
    );
    // The list keeps what is on screen still while rows above are measured, so it moves less.
    assert.ok(travelled > 5_000, `scrolled up ${travelled} px`);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    await cdp.detach();
    const sorted = [...frames].sort((a, b) => a - b);
    /** @param {number} q */
    const p = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    const long = frames.filter((f) => f > 100).length;
    console.log(`# 1 000 entries, CPU 4× slower, ${travelled} px up: frame median ${p(0.5).toFixed(1)} ms, p95 ${p(0.95).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms, frames over 100 ms: ${long}/${frames.length}`);
    assert.ok(p(0.5) < 34, `median frame ${p(0.5).toFixed(1)} ms`);
    assert.ok(p(0.95) < 100, `p95 frame ${p(0.95).toFixed(1)} ms`);
    await shot(page, 'c12-long-conversation-scrolled');
  });

  it('logged no page errors', () => {
    const real = suite.errors.filter((e) => !/Failed to load resource|ERR_INTERNET_DISCONNECTED|net::ERR|^WebSocket connection to .* failed/.test(e));
    assert.deepEqual(real, []);
  });
});
