import { describe, expect, it } from 'vitest';
import { badgeFor, formatCountdown, msUntil, needsYouCount, sortSessions } from './activity';
import { session } from './fixtures';

const NOW = Date.parse('2026-11-25T12:00:00Z');

describe('formatCountdown', () => {
  it('formats durations for a badge', () => {
    expect(formatCountdown(0)).toBe('now');
    expect(formatCountdown(-5)).toBe('now');
    expect(formatCountdown(NaN)).toBe('now');
    expect(formatCountdown(400)).toBe('1s');
    expect(formatCountdown(45_000)).toBe('45s');
    expect(formatCountdown(12 * 60_000 + 5_000)).toBe('12m 05s');
    expect(formatCountdown(4 * 3600_000 + 59 * 60_000 + 30_000)).toBe('4h 59m');
    expect(formatCountdown(3 * 86400_000 + 2 * 3600_000)).toBe('3d 2h');
  });

  it('measures time to an ISO instant', () => {
    expect(msUntil('2026-11-25T12:00:30Z', NOW)).toBe(30_000);
    expect(msUntil(undefined, NOW)).toBeNaN();
    expect(msUntil('garbage', NOW)).toBeNaN();
  });
});

describe('badgeFor', () => {
  it('shows the live activity first', () => {
    expect(badgeFor(session('a', { activity: 'Working' }), NOW)).toMatchObject({ kind: 'Working', needsYou: false });
    expect(badgeFor(session('a', { activity: 'NeedsApproval' }), NOW)).toMatchObject({
      kind: 'NeedsApproval',
      label: 'Needs approval',
      tone: 'amber',
      needsYou: true,
    });
    expect(badgeFor(session('a', { activity: 'NeedsLogin' }), NOW).needsYou).toBe(true);
    expect(badgeFor(session('a', { live: null, status: { activity: 'Idle' } }), NOW).kind).toBe('Idle');
  });

  it('counts down to a usage limit reset', () => {
    const s = session('a', {
      phase: 'RateLimited',
      live: null,
      status: {
        activity: 'RateLimited',
        rateLimit: { window: 'session', resetsAt: '2026-11-25T16:59:00Z', message: "You've hit your session limit" },
      },
    });
    const b = badgeFor(s, NOW);
    expect(b).toMatchObject({ kind: 'RateLimited', countdown: '4h 59m', needsYou: true });
    expect(b.resetsAt).toBe(Date.parse('2026-11-25T16:59:00Z'));
    expect(badgeFor(s, Date.parse('2026-11-25T16:58:30Z')).countdown).toBe('30s');
    expect(badgeFor(s, Date.parse('2026-11-25T17:00:00Z')).countdown).toBe('now');
  });

  it('prefers the live rate limit and has no countdown without a reset time', () => {
    const s = session('a', { activity: 'RateLimited', live: { rateLimit: { window: 'weekly', message: 'x' } } });
    expect(badgeFor(s, NOW)).toMatchObject({ kind: 'RateLimited' });
    expect(badgeFor(s, NOW).countdown).toBeUndefined();
  });

  it('tells finished sessions apart', () => {
    expect(badgeFor(session('a', { phase: 'Failed', activity: 'Exited' }), NOW).kind).toBe('Failed');
    expect(badgeFor(session('a', { phase: 'Succeeded', live: null }), NOW).kind).toBe('Done');
    expect(badgeFor(session('a', { phase: 'Stopped', live: null }), NOW).kind).toBe('Stopped');
    expect(badgeFor(session('a', { activity: 'Exited', status: { exitCode: 0 } }), NOW).kind).toBe('Exited');
    expect(badgeFor(session('a', { activity: 'Exited', status: { exitCode: 2 } }), NOW).kind).toBe('Failed');
    expect(badgeFor(session('a', { phase: 'Pending', live: null }), NOW).kind).toBe('Pending');
    expect(badgeFor(session('a', { phase: 'Starting', live: null }), NOW).kind).toBe('Starting');
  });
});

describe('sortSessions', () => {
  it('puts what needs the person first, then what runs, then what is over', () => {
    const list = [
      session('done', { phase: 'Succeeded', live: null }),
      session('working', { activity: 'Working' }),
      session('idle', { activity: 'Idle' }),
      session('limited', { phase: 'RateLimited', live: null, status: { activity: 'RateLimited' } }),
      session('approve', { activity: 'NeedsApproval' }),
      session('failed', { phase: 'Failed', live: null }),
      session('login', { activity: 'NeedsLogin' }),
      session('starting', { phase: 'Starting', live: null }),
    ];
    expect(sortSessions(list, NOW).map((s) => s.name)).toEqual([
      'approve',
      'login',
      'limited',
      'idle',
      'working',
      'starting',
      'failed',
      'done',
    ]);
    expect(needsYouCount(list, NOW)).toBe(4);
  });

  it('orders a rank by most recent activity, then by name', () => {
    const a = session('a', { activity: 'Idle', live: { activitySince: '2026-11-25T10:00:00Z' } });
    const b = session('b', { activity: 'Idle', live: { activitySince: '2026-11-25T11:00:00Z' } });
    const c = session('c', { activity: 'Idle', live: { activitySince: '2026-11-25T10:00:00Z' } });
    expect(sortSessions([a, c, b], NOW).map((s) => s.name)).toEqual(['b', 'a', 'c']);
  });

  it('does not change its input', () => {
    const list = [session('x', { activity: 'Working' }), session('y', { activity: 'NeedsApproval' })];
    sortSessions(list, NOW);
    expect(list.map((s) => s.name)).toEqual(['x', 'y']);
  });
});
