// The service worker's Web Push handlers (public/push-sw.js), run as the browser would run
// them: the script evaluated against a stand-in `self` (registration, clients), then fed push
// and notificationclick events.
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

const source = readFileSync(new URL('../public/push-sw.js', import.meta.url), 'utf8');
const ORIGIN = 'https://nuc.tail.ts.net';

type Shown = { title: string; options: { body: string; tag: string; data: { url: string } } };
type Win = { url: string; focused: boolean; focus: () => Promise<Win>; navigate?: (url: string) => Promise<Win>; navigated: string[]; focusedCalls: number };
type Listener = (event: unknown) => void;

function win(path: string, opts: { focused?: boolean; navigable?: boolean } = {}): Win {
  const w: Win = {
    url: ORIGIN + path,
    focused: opts.focused ?? false,
    navigated: [],
    focusedCalls: 0,
    focus: async () => {
      w.focusedCalls++;
      return w;
    },
  };
  if (opts.navigable !== false) {
    w.navigate = async (url: string) => {
      w.navigated.push(url);
      return w;
    };
  }
  return w;
}

function worker(windows: Win[] = []) {
  const listeners: Record<string, Listener> = {};
  const shown: Shown[] = [];
  const opened: string[] = [];
  const fetched: { url: string; init?: { method?: string; body?: string } }[] = [];
  const self = {
    location: { origin: ORIGIN },
    addEventListener: (type: string, fn: Listener) => (listeners[type] = fn),
    registration: {
      showNotification: async (title: string, options: Shown['options']) => void shown.push({ title, options }),
      pushManager: { subscribe: async () => ({ toJSON: () => ({ endpoint: 'https://push.example/new' }) }) },
    },
    clients: {
      matchAll: async () => windows,
      openWindow: async (url: string) => void opened.push(url),
    },
    cockpitPush: undefined as unknown,
  };
  const fetch = async (url: string, init?: { method?: string; body?: string }) => {
    fetched.push({ url, init });
    return { ok: true, json: async () => ({ publicKey: 'BAAA' }) };
  };
  runInNewContext(source, { self, URL, atob, fetch });
  /** Dispatches an event and waits for what it asked to wait for. */
  async function dispatch(type: string, event: Record<string, unknown>) {
    let waited: Promise<unknown> = Promise.resolve();
    listeners[type]({ ...event, waitUntil: (p: Promise<unknown>) => (waited = p) });
    await waited;
  }
  const push = (payload: string | null) =>
    dispatch('push', { data: payload === null ? null : { text: () => payload } });
  const click = (url: unknown) => {
    const closed = { done: false };
    return dispatch('notificationclick', { notification: { data: { url }, close: () => (closed.done = true) } }).then(
      () => closed.done,
    );
  };
  return { self, listeners, shown, opened, fetched, push, click, dispatch };
}

describe('push', () => {
  it('shows the notification the control plane sent', async () => {
    const sw = worker();
    await sw.push(JSON.stringify({ title: 'flow needs approval', body: 'Claude wants to use Bash.', url: '/s/abc', tag: 'session-abc' }));
    expect(sw.shown).toHaveLength(1);
    expect(sw.shown[0].title).toBe('flow needs approval');
    expect(sw.shown[0].options).toMatchObject({ body: 'Claude wants to use Bash.', tag: 'session-abc', data: { url: '/s/abc' } });
  });

  it('still shows something for an empty or unexpected payload', async () => {
    const sw = worker();
    await sw.push(null);
    await sw.push('plain words');
    await sw.push(JSON.stringify({ title: 7, url: 'https://evil.example/x' }));
    expect(sw.shown.map((s) => s.title)).toEqual(['Claude Cockpit', 'Claude Cockpit', 'Claude Cockpit']);
    expect(sw.shown[1].options.body).toBe('plain words');
    expect(sw.shown[2].options.data.url).toBe('/');
  });

  it('only keeps same-origin app paths', () => {
    const sw = worker();
    const { safePath } = sw.self.cockpitPush as { safePath: (u: unknown) => string };
    expect(safePath('/s/a%20b')).toBe('/s/a%20b');
    for (const bad of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', 7, null]) {
      expect(safePath(bad)).toBe('/');
    }
  });
});

describe('notificationclick', () => {
  it('focuses the window already showing the session', async () => {
    const there = win('/s/abc');
    const other = win('/', { focused: true });
    const sw = worker([other, there]);
    expect(await sw.click('/s/abc')).toBe(true);
    expect(there.focusedCalls).toBe(1);
    expect(other.focusedCalls).toBe(0);
    expect(sw.opened).toEqual([]);
  });

  it('moves an open window to the session', async () => {
    const a = win('/settings');
    const b = win('/', { focused: true });
    const sw = worker([a, b]);
    await sw.click('/s/abc');
    expect(b.focusedCalls).toBe(1);
    expect(b.navigated).toEqual([`${ORIGIN}/s/abc`]);
    expect(a.navigated).toEqual([]);
    expect(sw.opened).toEqual([]);
  });

  it('opens a window when none is open, or when the open one cannot navigate', async () => {
    const none = worker([]);
    await none.click('/s/abc');
    expect(none.opened).toEqual([`${ORIGIN}/s/abc`]);
    const stuck = worker([win('/settings', { navigable: false })]);
    await stuck.click('//evil.example/');
    expect(stuck.opened, 'a foreign URL falls back to the app').toEqual([`${ORIGIN}/`]);
  });
});

describe('pushsubscriptionchange', () => {
  it('registers the new subscription and drops the old one', async () => {
    const sw = worker();
    await sw.dispatch('pushsubscriptionchange', {
      newSubscription: { toJSON: () => ({ endpoint: 'https://push.example/new' }) },
      oldSubscription: { endpoint: 'https://push.example/old' },
    });
    expect(sw.fetched.map((f) => [f.init?.method, f.url, f.init?.body])).toEqual([
      ['POST', '/api/push/subscriptions', JSON.stringify({ endpoint: 'https://push.example/new' })],
      ['DELETE', '/api/push/subscriptions', JSON.stringify({ endpoint: 'https://push.example/old' })],
    ]);
  });
});
