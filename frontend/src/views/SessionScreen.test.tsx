// @vitest-environment jsdom
// The session screen's answer path, in process: the approval card's buttons, through api.ts,
// to `POST /api/sessions/{id}/approval` (a stand-in control plane), and what the screen shows
// after. xterm.js (which needs a canvas) is replaced by a terminal that draws nothing.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { session } from '../lib/fixtures';
import { FakeEventSource, FakeResizeObserver, stubControlPlane, type FetchCall } from '../test/fakes';
import { renderLive } from '../test/live';
import { click, settle, typeInto, unmountAll, type Rendered } from '../test/render';
import type { PendingApproval, SessionView } from '../types/cockpit';
import SessionScreen from './SessionScreen';

vi.mock('./Terminal', async () => {
  const { forwardRef, useImperativeHandle } = await import('react');
  return {
    Terminal: forwardRef(function Terminal(_props: object, ref) {
      useImperativeHandle(ref, () => ({
        reset: () => {},
        write: () => {},
        size: () => ({ cols: 0, rows: 0 }),
        text: () => '',
        viewportY: () => 0,
      }));
      return <div data-testid="terminal" />;
    }),
  };
});

/** A WebSocket that never opens: the screen works from the REST view alone. */
class SilentWebSocket {
  binaryType = 'blob';
  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  send(): void {}
  close(): void {}
}

const bash: PendingApproval = { id: 'r1', tool: 'Bash', input: { command: 'npm test' }, answerable: true };
const asking = session('ask', { activity: 'NeedsApproval', live: { approval: bash } });
const APPROVAL = 'POST /api/sessions/id-ask/approval';

async function screen(s: SessionView, answers: Record<string, unknown>): Promise<{ v: Rendered; calls: FetchCall[] }> {
  const calls = stubControlPlane({ 'GET /api/accounts': [], ...answers });
  return { v: await renderLive([s], <SessionScreen id={s.id} />), calls };
}

const approvals = (calls: FetchCall[]) => calls.filter((c) => `${c.method} ${c.url}` === APPROVAL).map((c) => c.body);

beforeEach(() => {
  vi.stubGlobal('EventSource', FakeEventSource);
  vi.stubGlobal('WebSocket', SilentWebSocket);
  vi.stubGlobal('ResizeObserver', FakeResizeObserver);
  history.replaceState(null, '', `/s/${asking.id}`);
  localStorage.clear();
});

afterEach(() => {
  unmountAll();
  vi.unstubAllGlobals();
});

describe('answering a request on the session screen', () => {
  it('sends Allow to the control plane and takes the card away', async () => {
    const { v, calls } = await screen(asking, { [APPROVAL]: undefined });
    expect(v.get('approval-tool').textContent).toBe('Bash');
    click(v.get('allow'));
    await settle();
    expect(approvals(calls)).toEqual([{ id: 'r1', decision: 'allow' }]);
    expect(v.query('approval-card')).toBeNull();
  });

  it('says so when the request was already answered elsewhere, and keeps the card', async () => {
    const gone = new Response(JSON.stringify({ error: 'no pending request', code: 'not_found' }), { status: 404 });
    const { v } = await screen(asking, { [APPROVAL]: gone });
    click(v.get('deny'));
    await settle();
    expect(v.get('approval-card').textContent).toContain('That request was already answered.');
  });

  it('holds a message typed while the request waits, and sends it to Claude as the reason for a Deny', async () => {
    const { v, calls } = await screen(asking, { [APPROVAL]: undefined });
    typeInto(v.get('composer') as HTMLTextAreaElement, 'use the clean script');
    click(v.get('composer-send'));
    await settle();
    // Not sent: typing would have answered the dialog.
    expect(calls.filter((c) => c.url.endsWith('/send'))).toEqual([]);
    expect(v.get('message-held').textContent).toContain('Your message was not sent');
    expect((v.get('deny-message') as HTMLTextAreaElement).value).toBe('use the clean script');
    click(v.get('deny-with-message'));
    await settle();
    expect(approvals(calls)).toEqual([{ id: 'r1', decision: 'deny', message: 'use the clean script' }]);
    // The message went as the reason: it leaves the box.
    expect((v.get('composer') as HTMLTextAreaElement).value).toBe('');
  });

  it('shows a finished session as ended, with no card, no composer and no Stop', async () => {
    const done = session('ask', { phase: 'Succeeded', live: null });
    const { v } = await screen(done, {});
    expect(v.get('ended').textContent).toBe('This session has ended.');
    expect(v.query('composer')).toBeNull();
    expect(v.query('stop')).toBeNull();
    expect(v.query('approval-card')).toBeNull();
  });
});
