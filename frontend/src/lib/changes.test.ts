import { describe, expect, it } from 'vitest';
import type { AccountView } from '../types/cockpit';
import { applyChange, byId, emptyState, parseChange } from './changes';
import { session } from './fixtures';

const account: AccountView = {
  id: 'alpha',
  priority: 10,
  kind: 'OAuthToken',
  active_sessions: 1,
  usage: { sessions: 1, inputTokens: 1, outputTokens: 2, costUsd: 0.1 },
};

describe('applyChange', () => {
  it('adds, updates and removes sessions', () => {
    let state = { ...emptyState, sessions: byId([session('a')]) };
    state = applyChange(state, { kind: 'session', session: session('b', { activity: 'Working' }) });
    expect(Object.keys(state.sessions).sort()).toEqual(['id-a', 'id-b']);
    state = applyChange(state, { kind: 'session', session: session('b', { activity: 'NeedsApproval' }) });
    expect(state.sessions['id-b'].live?.activity).toBe('NeedsApproval');
    state = applyChange(state, { kind: 'sessionDeleted', id: 'id-a' });
    expect(Object.keys(state.sessions)).toEqual(['id-b']);
    const deleted = { ...session('b'), deleted_at: '2026-11-25T12:00:00Z' };
    state = applyChange(state, { kind: 'session', session: deleted });
    expect(state.sessions).toEqual({});
  });

  it('keeps the same state for removals of unknown sessions', () => {
    const state = { ...emptyState, sessions: byId([session('a')]) };
    expect(applyChange(state, { kind: 'sessionDeleted', id: 'nope' })).toBe(state);
  });

  it('updates accounts', () => {
    const state = applyChange(emptyState, { kind: 'account', account });
    expect(state.accounts.alpha.usage.costUsd).toBe(0.1);
  });

  it('parses change events', () => {
    expect(parseChange(JSON.stringify({ kind: 'account', account }))).toMatchObject({ kind: 'account' });
    expect(parseChange('{"kind":"other"}')).toBeNull();
    expect(parseChange('{')).toBeNull();
  });
});
