import { describe, expect, it } from 'vitest';
import { SESSION_PHASES } from '../types/cockpit';
import { session } from './fixtures';
import { isSessionOver } from './session-over';

describe('isSessionOver', () => {
  it('is true exactly in the phases a session never leaves', () => {
    const over = SESSION_PHASES.filter((phase) => isSessionOver(session('a', { phase })));
    expect(over).toEqual(['Succeeded', 'Failed', 'Stopped']);
  });

  it('is true for a deleted session whatever its phase', () => {
    const deleted = { ...session('a', { phase: 'Running' }), deleted_at: '2026-11-25T11:00:00Z' };
    expect(isSessionOver(deleted)).toBe(true);
  });
});
