// @vitest-environment jsdom
// The session list as the person sees it: the groups, what each row says, Allow / Deny on a
// row, opening a session. Rendered with the real live state (its requests answered by a
// stand-in control plane).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { session } from '../lib/fixtures';
import { FakeEventSource, stubControlPlane } from '../test/fakes';
import { renderLive } from '../test/live';
import { click, settle, unmountAll, type Rendered } from '../test/render';
import type { PendingApproval, SessionView } from '../types/cockpit';
import { SessionsList } from './SessionsList';

const bash: PendingApproval = { id: 'r1', tool: 'Bash', input: { command: 'npm test' }, answerable: true };

const asking = session('ask', { activity: 'NeedsApproval', live: { approval: bash } });
const idle = session('idle', { activity: 'Idle', spec: { repo: 'web' }, status: { account: 'beta' } });
const busy = session('busy', { activity: 'Working' });
const stopped = session('done', { phase: 'Stopped', live: null });

const list = (sessions: SessionView[]) => renderLive(sessions, <SessionsList />);

/** The row of the session named `name`. */
function row(v: Rendered, name: string): HTMLElement {
  const found = v.all('session-row').find((r) => r.dataset.name === name);
  if (!found) throw new Error(`no row ${name}`);
  return found;
}

const within = (el: HTMLElement, testid: string) => el.querySelector<HTMLElement>(`[data-testid="${testid}"]`);

beforeEach(() => {
  vi.stubGlobal('EventSource', FakeEventSource);
  history.replaceState(null, '', '/');
});

afterEach(() => {
  unmountAll();
  vi.unstubAllGlobals();
});

describe('the session list', () => {
  it('groups the sessions by what they ask of the person, most urgent first', async () => {
    stubControlPlane({ 'GET /api/accounts': [] });
    const v = await list([stopped, busy, idle, asking]);
    const groups = v.all('session-group').map((g) => [
      g.dataset.attention,
      g.querySelector('h2')?.textContent,
      [...g.querySelectorAll<HTMLElement>('[data-testid="session-row"]')].map((r) => r.dataset.name),
    ]);
    expect(groups).toEqual([
      ['needsYou', 'Needs you · 1', ['ask']],
      ['yourTurn', 'Your turn · 1', ['idle']],
      ['running', 'Running · 1', ['busy']],
      ['ended', 'Ended · 1', ['done']],
    ]);
    expect(v.container.textContent).toContain('1 needs you');
  });

  it('shows on each row its repo, account, badge and what waits', async () => {
    stubControlPlane({ 'GET /api/accounts': [] });
    const v = await list([asking, idle, stopped]);
    const ask = row(v, 'ask');
    expect(within(ask, 'row-repo')?.textContent).toBe('demo');
    expect(within(ask, 'row-account')?.textContent).toBe('alpha');
    expect(within(ask, 'badge')?.dataset.kind).toBe('NeedsApproval');
    expect(within(ask, 'badge')?.textContent).toBe('Needs approval');
    expect(within(ask, 'row-detail')?.textContent).toBe('Bash: npm test');
    expect(within(row(v, 'idle'), 'row-repo')?.textContent).toBe('web');
    expect(within(row(v, 'idle'), 'row-account')?.textContent).toBe('beta');
    expect(within(row(v, 'done'), 'badge')?.textContent).toBe('Stopped');
    // Only a row with an answerable request has Allow / Deny.
    expect(v.all('row-allow')).toHaveLength(1);
    expect(within(row(v, 'idle'), 'row-allow')).toBeNull();
  });

  it('says why a usage-limited session waits instead of its latest line', async () => {
    const resetsAt = new Date(Date.now() + 3 * 3600_000).toISOString();
    stubControlPlane({ 'GET /api/accounts': [] });
    const limited = session('limited', {
      phase: 'RateLimited',
      activity: 'RateLimited',
      live: { rateLimit: { window: 'session', resetsAt, message: 'limit reached' } },
    });
    const v = await list([limited]);
    expect(within(row(v, 'limited'), 'row-wait')?.textContent).toMatch(/^Waiting: every account is limited until /);
    expect(within(row(v, 'limited'), 'row-detail')).toBeNull();
  });

  it('answers a request from its row, the buttons held while the answer is under way', async () => {
    let release: (v: unknown) => void = () => {};
    const calls = stubControlPlane({
      'GET /api/accounts': [],
      'POST /api/sessions/id-ask/approval': () => new Promise((resolve) => (release = resolve)),
    });
    const v = await list([asking]);
    click(within(row(v, 'ask'), 'row-allow')!);
    expect(calls.at(-1)).toEqual({ method: 'POST', url: '/api/sessions/id-ask/approval', body: { id: 'r1', decision: 'allow' } });
    expect((within(row(v, 'ask'), 'row-allow') as HTMLButtonElement).disabled).toBe(true);
    expect((within(row(v, 'ask'), 'row-deny') as HTMLButtonElement).disabled).toBe(true);
    release(undefined);
    await settle();
    expect(within(row(v, 'ask'), 'row-approval-error')).toBeNull();
  });

  it('says why an answer was refused and lets the person answer again', async () => {
    const calls = stubControlPlane({
      'GET /api/accounts': [],
      'POST /api/sessions/id-ask/approval': new Response(JSON.stringify({ error: 'no pending request r1', code: 'not_found' }), { status: 404 }),
    });
    const v = await list([asking]);
    click(within(row(v, 'ask'), 'row-deny')!);
    await settle();
    expect(calls.at(-1)?.body).toEqual({ id: 'r1', decision: 'deny' });
    expect(within(row(v, 'ask'), 'row-approval-error')?.textContent).toBe('no pending request r1');
    expect((within(row(v, 'ask'), 'row-allow') as HTMLButtonElement).disabled).toBe(false);
  });

  it('leaves a question only the session screen can answer to that screen', async () => {
    stubControlPlane({ 'GET /api/accounts': [] });
    const question = session('q', { activity: 'NeedsApproval', live: { approval: { id: 'q1', tool: 'question', input: {}, answerable: false } } });
    const v = await list([question]);
    expect(within(row(v, 'q'), 'row-detail')?.textContent).toBe('Claude asks you something: open to answer');
    expect(v.all('row-allow')).toHaveLength(0);
  });

  it('opens a session when its row is tapped', async () => {
    stubControlPlane({ 'GET /api/accounts': [] });
    const v = await list([idle, busy]);
    click(within(row(v, 'idle'), 'row-open')!);
    expect(location.pathname).toBe('/s/id-idle');
  });

  it('offers to start a session when there is none', async () => {
    stubControlPlane({ 'GET /api/accounts': [] });
    const v = await list([]);
    expect(v.get('sessions-empty').textContent).toContain('No sessions yet.');
    expect(v.container.textContent).toContain('0 sessions');
  });
});
