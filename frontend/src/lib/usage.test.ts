import { describe, expect, it } from 'vitest';
import { account, session } from './fixtures';
import { accountTotals, meters, sessionsOn } from './usage';

const NOW = Date.parse('2026-12-02T12:00:00Z');

describe('meters', () => {
  it('shows each reported window with its reset and the rotateAt mark', () => {
    const m = meters(
      {
        fiveHour: { usedPercent: 93, resetsAt: '2026-12-02T14:05:00Z' },
        sevenDay: { usedPercent: 41.5 },
        observedAt: '2026-12-02T11:59:00Z',
      },
      90,
      NOW,
    );
    expect(m).toEqual([
      { label: '5-hour', percent: 93, resetsIn: '2h 05m', overThreshold: true },
      { label: 'weekly', percent: 41.5, resetsIn: undefined, overThreshold: false },
    ]);
  });

  it('leaves out a window that has reset, and shows nothing without a report', () => {
    const m = meters(
      { fiveHour: { usedPercent: 99, resetsAt: '2026-12-02T11:00:00Z' }, observedAt: '2026-12-02T10:00:00Z' },
      undefined,
      NOW,
    );
    expect(m).toEqual([]);
    expect(meters(undefined, 80, NOW)).toEqual([]);
  });

  it('clamps odd figures', () => {
    expect(meters({ sevenDay: { usedPercent: 140 }, observedAt: '' }, undefined, NOW)[0].percent).toBe(100);
  });
});

describe('accountTotals', () => {
  const alpha = account('alpha', { usage: { sessions: 3, inputTokens: 1000, outputTokens: 100, costUsd: 1.5 } });
  const cost = (costUsd: number, inputTokens: number, outputTokens: number) => ({ costUsd, inputTokens, outputTokens });

  it('adds what the interactive sessions running on the account have spent to what it recorded', () => {
    const running = session('a', { activity: 'Working', status: { account: 'alpha', cost: cost(0.25, 50, 5) } });
    const elsewhere = session('b', { activity: 'Working', status: { account: 'beta', cost: cost(9, 9, 9) } });
    expect(accountTotals(alpha, [running, elsewhere])).toEqual({ inputTokens: 1050, outputTokens: 105, costUsd: 1.75 });
  });

  it('counts only the running worker of a session that moved here (earlier workers are on their accounts)', () => {
    const moved = session('a', {
      activity: 'Idle',
      status: { account: 'alpha', cost: cost(2, 500, 50), costBeforeWorker: cost(1.5, 400, 40) },
    });
    expect(accountTotals(alpha, [moved])).toEqual({ inputTokens: 1100, outputTokens: 110, costUsd: 2 });
  });

  it('does not count twice what the account recorded when a worker ended or a one-shot finished', () => {
    const stopped = session('a', { phase: 'Stopped', live: null, status: { account: 'alpha', cost: cost(1, 1, 1) } });
    const waiting = session('b', { phase: 'RateLimited', live: null, status: { account: 'alpha', cost: cost(1, 1, 1) } });
    const oneshot = session('c', { activity: 'Working', spec: { mode: 'Oneshot' }, status: { account: 'alpha', cost: cost(1, 1, 1) } });
    const deleted = { ...session('d', { activity: 'Working', status: { account: 'alpha', cost: cost(1, 1, 1) } }), deleted_at: '2026-12-02T11:00:00Z' };
    expect(accountTotals(alpha, [stopped, waiting, oneshot, deleted])).toEqual({ inputTokens: 1000, outputTokens: 100, costUsd: 1.5 });
  });
});

describe('sessionsOn', () => {
  it('lists the sessions running or waiting on the account, by name', () => {
    const list = [
      session('zed', { activity: 'Working', status: { account: 'alpha' } }),
      session('amy', { phase: 'RateLimited', live: null, status: { account: 'alpha' } }),
      session('bob', { phase: 'Starting', live: null, status: { account: 'alpha' } }),
      session('off', { phase: 'Stopped', live: null, status: { account: 'alpha' } }),
      session('other', { activity: 'Working', status: { account: 'beta' } }),
    ];
    expect(sessionsOn('alpha', list).map((s) => s.name)).toEqual(['amy', 'bob', 'zed']);
    expect(sessionsOn('gamma', list)).toEqual([]);
  });
});
