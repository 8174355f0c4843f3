import { describe, expect, it } from 'vitest';
import { meters } from './usage';

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
