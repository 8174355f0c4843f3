import { describe, expect, it } from 'vitest';
import { parseRoute, sessionPath } from './router';

describe('parseRoute', () => {
  it('opens a session on its conversation, its terminal or its changes', () => {
    expect(parseRoute('/s/abc')).toEqual({ name: 'session', id: 'abc', pane: 'conversation' });
    expect(parseRoute('/s/abc/terminal')).toEqual({ name: 'session', id: 'abc', pane: 'terminal' });
    expect(parseRoute('/s/a%20b/changes/')).toEqual({ name: 'session', id: 'a b', pane: 'changes' });
    expect(parseRoute('/s/abc/other')).toEqual({ name: 'sessions', sheet: false });
  });

  it('knows the tabs and the new-session sheet', () => {
    expect(parseRoute('/accounts')).toEqual({ name: 'accounts' });
    expect(parseRoute('/new')).toEqual({ name: 'sessions', sheet: true });
  });
});

describe('sessionPath', () => {
  it('is the inverse of parseRoute', () => {
    for (const pane of ['conversation', 'terminal', 'changes'] as const) {
      expect(parseRoute(sessionPath('a b', pane))).toEqual({ name: 'session', id: 'a b', pane });
    }
    expect(sessionPath('x', 'conversation')).toBe('/s/x');
  });
});
