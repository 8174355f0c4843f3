import { describe, expect, it } from 'vitest';
import { lastLine, latestLine } from './latest-line';
import type { SessionView } from '../types/cockpit';

const session = (over: { prompt?: string; status?: string; live?: string }): SessionView =>
  ({
    id: 's',
    name: 's',
    spec: { repo: 'demo', mode: 'Interactive', prompt: over.prompt },
    status: { phase: 'Running', rotations: 0, lastMessage: over.status },
    live: over.live === undefined ? undefined : { lastMessage: over.live },
    created_at: '2026-12-02T10:00:00Z',
  }) as unknown as SessionView;

describe('the latest line of a session', () => {
  it('is the last line of Claude’s last answer, markdown marks dropped', () => {
    expect(lastLine('## Done\n\nI fixed **two** tests:\n\n- `a.rs`\n- b.rs\n')).toBe('b.rs');
    expect(lastLine('All green.\n```\n')).toBe('All green.');
    expect(lastLine('1. first\n2. **second**')).toBe('second');
    expect(lastLine('  \n\n')).toBeNull();
  });

  it('prefers the live words, then the stored ones, then the first prompt', () => {
    expect(latestLine(session({ prompt: 'fix it', status: 'old', live: 'new' }))).toBe('new');
    expect(latestLine(session({ prompt: 'fix it', status: 'Stored answer.' }))).toBe('Stored answer.');
    expect(latestLine(session({ prompt: 'fix it' }))).toBe('fix it');
    expect(latestLine(session({}))).toBeNull();
  });
});
