import type { PlanUtilization } from '../types/cockpit';
import { formatCountdown, msUntil } from './activity';

/** One usage window as a meter shows it. */
export interface Meter {
  /** `5-hour` or `weekly`. */
  label: string;
  /** Percent used, 0–100. */
  percent: number;
  /** Time to the reset, for display (`2h 05m`), when known. */
  resetsIn?: string;
  /** At or above the account's `rotateAt`: sessions move on at their next turn's end. */
  overThreshold: boolean;
}

/**
 * The meters of an account's utilization at `now`: one per window the CLI reported, leaving
 * out windows whose reset has passed (their figure is stale).
 */
export function meters(utilization: PlanUtilization | undefined, rotateAt: number | undefined, now: number): Meter[] {
  if (!utilization) return [];
  const out: Meter[] = [];
  const windows: [string, PlanUtilization['fiveHour']][] = [
    ['5-hour', utilization.fiveHour],
    ['weekly', utilization.sevenDay],
  ];
  for (const [label, w] of windows) {
    if (!w) continue;
    const left = msUntil(w.resetsAt, now);
    if (!Number.isNaN(left) && left <= 0) continue;
    const percent = Math.min(100, Math.max(0, w.usedPercent));
    out.push({
      label,
      percent,
      resetsIn: Number.isNaN(left) ? undefined : formatCountdown(left),
      overThreshold: rotateAt !== undefined && percent >= rotateAt,
    });
  }
  return out;
}
