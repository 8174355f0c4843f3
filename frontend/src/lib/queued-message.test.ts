import { describe, expect, it } from 'vitest';
import { account, session } from './fixtures';
import {
  SETTLE_MS,
  appendQueued,
  loadQueued,
  maySendQueued,
  queuedKey,
  saveQueued,
  waitingForReset,
  type QueueGate,
  type QueuedMessage,
} from './queued-message';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const clock = (at: number) => new Date(at).toISOString().slice(11, 16);

function memoryStore() {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
    removeItem: (k: string) => void map.delete(k),
  };
}

const queued: QueuedMessage = { text: 'carry on', queuedAt: NOW - 60_000 };
const ready: QueueGate = {
  phase: 'Running',
  over: false,
  activity: 'Idle',
  idleSeenAt: NOW - SETTLE_MS,
  approval: false,
  sending: false,
  now: NOW,
};

describe('maySendQueued', () => {
  it('sends once the session runs again and Claude has been idle for a moment', () => {
    expect(maySendQueued(queued, ready)).toBe(true);
  });

  it('sends nothing when nothing is queued', () => {
    expect(maySendQueued(null, ready)).toBe(false);
    expect(maySendQueued({ text: '  ', queuedAt: NOW }, ready)).toBe(false);
  });

  it('waits while the session waits for a reset, starts, or has ended', () => {
    expect(maySendQueued(queued, { ...ready, phase: 'RateLimited' })).toBe(false);
    expect(maySendQueued(queued, { ...ready, phase: 'Starting' })).toBe(false);
    expect(maySendQueued(queued, { ...ready, phase: 'Pending' })).toBe(false);
    expect(maySendQueued(queued, { ...ready, phase: 'Stopped' })).toBe(false);
    expect(maySendQueued(queued, { ...ready, over: true })).toBe(false);
  });

  it('waits while Claude works, is limited, or asks for something', () => {
    for (const activity of ['Starting', 'Working', 'NeedsApproval', 'RateLimited', 'NeedsLogin', 'Exited', undefined] as const) {
      expect(maySendQueued(queued, { ...ready, activity, idleSeenAt: null }), String(activity)).toBe(false);
    }
    // Idle, but a permission dialog is open: typing would answer it.
    expect(maySendQueued(queued, { ...ready, approval: true })).toBe(false);
  });

  it('waits until the idle spell has settled', () => {
    expect(maySendQueued(queued, { ...ready, idleSeenAt: NOW - SETTLE_MS + 1 })).toBe(false);
    expect(maySendQueued(queued, { ...ready, idleSeenAt: null })).toBe(false);
  });

  it('sends once at a time, and not again by itself after a failure', () => {
    expect(maySendQueued(queued, { ...ready, sending: true })).toBe(false);
    expect(maySendQueued({ ...queued, error: 'the session has no running worker' }, ready)).toBe(false);
  });
});

describe('waitingForReset', () => {
  const limited = (until: string) => account('alpha', { limited_until: until });

  it('says until when every account is limited', () => {
    const s = session('a', { phase: 'RateLimited', live: null });
    const accounts = [limited('2026-11-25T13:00:00Z'), account('beta', { limited_until: '2026-11-25T12:30:00Z' })];
    expect(waitingForReset(s, accounts, NOW, clock)).toBe('Every account is limited until 12:30');
  });

  it('says when the session moves to a free account', () => {
    const s = session('a', { phase: 'RateLimited', live: null });
    expect(waitingForReset(s, [limited('2026-11-25T13:00:00Z'), account('beta')], NOW, clock)).toBe('Moving to another account');
  });

  it('is null while no usage limit holds the session', () => {
    expect(waitingForReset(session('a', { activity: 'Idle' }), [], NOW, clock)).toBeNull();
    expect(waitingForReset(session('a', { phase: 'Stopped' }), [], NOW, clock)).toBeNull();
  });
});

describe('the queued message on the phone', () => {
  it('survives a reload, per session', () => {
    const store = memoryStore();
    saveQueued(store, 'id-a', queued);
    expect(store.map.has(queuedKey('id-a'))).toBe(true);
    expect(loadQueued(store, 'id-a')).toEqual(queued);
    expect(loadQueued(store, 'id-b')).toBeNull();
    saveQueued(store, 'id-a', { ...queued, error: 'offline' });
    expect(loadQueued(store, 'id-a')).toEqual({ ...queued, error: 'offline' });
    saveQueued(store, 'id-a', null);
    expect(loadQueued(store, 'id-a')).toBeNull();
  });

  it('reads garbage as nothing, and never throws', () => {
    const store = memoryStore();
    store.setItem(queuedKey('x'), '{not json');
    expect(loadQueued(store, 'x')).toBeNull();
    store.setItem(queuedKey('x'), JSON.stringify({ text: 3 }));
    expect(loadQueued(store, 'x')).toBeNull();
    const broken = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('full'); }, removeItem: () => {} };
    expect(loadQueued(broken, 'x')).toBeNull();
    expect(() => saveQueued(broken, 'x', queued)).not.toThrow();
  });

  it('adds a second message to the first, in order', () => {
    expect(appendQueued(null, 'one', NOW)).toEqual({ text: 'one', queuedAt: NOW });
    expect(appendQueued({ text: 'one', queuedAt: 5, error: 'x' }, 'two', NOW)).toEqual({ text: 'one\n\ntwo', queuedAt: 5 });
  });
});
