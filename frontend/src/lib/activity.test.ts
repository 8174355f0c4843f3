import { describe, expect, it } from 'vitest';
import { attentionFor, badgeFor, clockTime, formatCountdown, groupSessions, msUntil, needsYouCount, resumesAt, waitReason } from './activity';
import { account, session } from './fixtures';

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
    expect(badgeFor(session('a', { activity: 'Working' }), NOW)).toMatchObject({ kind: 'Working', tone: 'blue' });
    expect(badgeFor(session('a', { activity: 'NeedsApproval' }), NOW)).toEqual({
      kind: 'NeedsApproval',
      label: 'Needs approval',
      tone: 'amber',
    });
    expect(badgeFor(session('a', { activity: 'NeedsLogin' }), NOW).kind).toBe('NeedsLogin');
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
    expect(b).toMatchObject({ kind: 'RateLimited', countdown: '4h 59m' });
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

const LATER = '2026-11-25T15:03:00Z';
const LATEST = '2026-11-25T17:30:00Z';
const limited = (id: string, until = LATER) => account(id, { limited_until: until });
const waiting = (name: string, spec = {}) =>
  session(name, { phase: 'RateLimited', live: null, spec, status: { activity: 'RateLimited', account: 'alpha' } });
const utc = (at: number) => new Date(at).toISOString().slice(11, 16);

describe('attentionFor', () => {
  const free = [account('alpha'), account('beta')];

  it('needs the person for a request, a login or a failure', () => {
    expect(attentionFor(session('a', { activity: 'NeedsApproval' }), free, NOW)).toBe('needsYou');
    // A question Claude asks (agent_needs_input) or a dialog only the screen shows.
    const question = session('q', { activity: 'NeedsApproval', live: { approval: { id: 'screen', tool: 'question', input: null, answerable: false } } });
    expect(attentionFor(question, free, NOW)).toBe('needsYou');
    expect(attentionFor(session('a', { activity: 'NeedsLogin' }), free, NOW)).toBe('needsYou');
    expect(attentionFor(session('a', { phase: 'Failed', live: null }), free, NOW)).toBe('needsYou');
    expect(attentionFor(session('a', { activity: 'Exited', status: { exitCode: 1 } }), free, NOW)).toBe('needsYou');
  });

  it('makes an idle session your turn, and leaves running and ended ones alone', () => {
    expect(attentionFor(session('a', { activity: 'Idle' }), free, NOW)).toBe('yourTurn');
    expect(attentionFor(session('a', { activity: 'Working' }), free, NOW)).toBe('running');
    expect(attentionFor(session('a', { phase: 'Pending', live: null }), free, NOW)).toBe('running');
    expect(attentionFor(session('a', { phase: 'Succeeded', live: null }), free, NOW)).toBe('ended');
    expect(attentionFor(session('a', { phase: 'Stopped', live: null }), free, NOW)).toBe('ended');
    expect(attentionFor(session('a', { activity: 'Exited', status: { exitCode: 0 } }), free, NOW)).toBe('ended');
  });

  it('needs the person for a usage limit only when no account it may use is free', () => {
    expect(attentionFor(waiting('w'), [limited('alpha'), account('beta')], NOW)).toBe('running');
    expect(attentionFor(waiting('w'), [limited('alpha'), limited('beta')], NOW)).toBe('needsYou');
    // A limit that has passed no longer counts.
    expect(attentionFor(waiting('w'), [limited('alpha'), limited('beta', '2026-11-25T11:00:00Z')], NOW)).toBe('running');
    // Pinned to alpha (by name, or by rotation Off): beta being free does not help.
    expect(attentionFor(waiting('w', { accountRef: 'alpha' }), [limited('alpha'), account('beta')], NOW)).toBe('needsYou');
    expect(attentionFor(waiting('w', { rotation: 'Off' }), [limited('alpha'), account('beta')], NOW)).toBe('needsYou');
    expect(attentionFor(waiting('w', { rotation: 'Off' }), [account('alpha'), limited('beta')], NOW)).toBe('running');
    // No accounts configured (the environment's login): it waits for its own reset.
    expect(attentionFor(waiting('w'), [], NOW)).toBe('needsYou');
  });
});

describe('resumesAt and waitReason', () => {
  it('names the earliest reset of the accounts the session may use', () => {
    const accounts = [limited('alpha', LATEST), limited('beta')];
    expect(resumesAt(waiting('w'), accounts, NOW)).toBe(Date.parse(LATER));
    expect(resumesAt(waiting('w', { accountRef: 'alpha' }), accounts, NOW)).toBe(Date.parse(LATEST));
    expect(resumesAt(waiting('w'), [limited('alpha'), account('beta')], NOW)).toBeNull();
  });

  it('falls back to the limit the session hit when there are no accounts', () => {
    const s = session('w', { phase: 'RateLimited', live: null, status: { rateLimit: { window: 'session', resetsAt: LATEST, message: 'x' } } });
    expect(resumesAt(s, [], NOW)).toBe(Date.parse(LATEST));
    expect(resumesAt(waiting('w'), [], NOW)).toBeNaN();
  });

  it('says in plain words why a session waits', () => {
    expect(waitReason(waiting('w'), [limited('alpha'), limited('beta')], NOW, utc)).toBe('every account is limited until 15:03');
    expect(waitReason(waiting('w', { accountRef: 'alpha' }), [limited('alpha', LATEST), account('beta')], NOW, utc)).toBe(
      'its account alpha is limited until 17:30',
    );
    expect(waitReason(waiting('w'), [limited('alpha'), account('beta')], NOW, utc)).toBe('moving to another account');
    expect(waitReason(waiting('w'), [], NOW, utc)).toBe('every account is limited; it goes on by itself after the reset');
    expect(waitReason(session('a', { activity: 'Idle' }), [], NOW, utc)).toBeNull();
  });

  it('shows a local clock time, with the day when it is not within the day', () => {
    expect(clockTime(NOW + 3600_000, NOW)).toMatch(/^\d{1,2}[:.]\d{2}/);
    expect(clockTime(NOW + 3 * 86400_000, NOW)).toMatch(/^\S+ \d{1,2}[:.]\d{2}/);
  });
});

describe('groupSessions', () => {
  const accounts = [limited('alpha'), limited('beta')];

  it('groups what needs the person, then your turn, then what runs, then what is over', () => {
    const list = [
      session('done', { phase: 'Succeeded', live: null }),
      session('working', { activity: 'Working' }),
      session('idle', { activity: 'Idle' }),
      waiting('limited'),
      session('approve', { activity: 'NeedsApproval' }),
      session('failed', { phase: 'Failed', live: null }),
      session('login', { activity: 'NeedsLogin' }),
      session('starting', { phase: 'Starting', live: null }),
    ];
    const groups = groupSessions(list, accounts, NOW);
    expect(groups.map((g) => [g.attention, g.sessions.map((s) => s.name)])).toEqual([
      ['needsYou', ['approve', 'login', 'limited', 'failed']],
      ['yourTurn', ['idle']],
      ['running', ['working', 'starting']],
      ['ended', ['done']],
    ]);
    expect(needsYouCount(list, accounts, NOW)).toBe(4);
    // With beta free, the limited session moves on by itself: it no longer needs the person.
    expect(needsYouCount(list, [limited('alpha'), account('beta')], NOW)).toBe(3);
  });

  it('leaves out empty groups and orders a group by most recent activity, then by name', () => {
    const a = session('a', { activity: 'Idle', live: { activitySince: '2026-11-25T10:00:00Z' } });
    const b = session('b', { activity: 'Idle', live: { activitySince: '2026-11-25T11:00:00Z' } });
    const c = session('c', { activity: 'Idle', live: { activitySince: '2026-11-25T10:00:00Z' } });
    expect(groupSessions([a, c, b], accounts, NOW)).toEqual([{ attention: 'yourTurn', sessions: [b, a, c] }]);
    expect(groupSessions([], accounts, NOW)).toEqual([]);
  });

  it('does not change its input', () => {
    const list = [session('x', { activity: 'Working' }), session('y', { activity: 'NeedsApproval' })];
    groupSessions(list, accounts, NOW);
    expect(list.map((s) => s.name)).toEqual(['x', 'y']);
  });
});
