import type { AccountUsage, AccountView, PlanUtilization, SessionCost, SessionPhase, SessionView } from '../types/cockpit';
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

/** An account's tokens and cost so far. */
export type AccountTotals = Pick<AccountUsage, 'inputTokens' | 'outputTokens' | 'costUsd'>;

/** Phases in which a session's worker runs (and its cost is not yet on its account). */
const RUNNING: ReadonlySet<SessionPhase> = new Set(['Starting', 'Running']);

/**
 * What a session's running worker has spent that its account does not count yet: the control
 * plane adds a worker's cost to its account when the worker stops, so until then the part of
 * `status.cost` since the worker started (`costBeforeWorker` is what earlier workers spent).
 */
function unrecordedCost(s: SessionView): SessionCost | null {
  if (s.spec.mode === 'Oneshot' || s.deleted_at || !RUNNING.has(s.status.phase) || !s.status.cost) return null;
  const before = s.status.costBeforeWorker;
  return {
    costUsd: Math.max(0, s.status.cost.costUsd - (before?.costUsd ?? 0)),
    inputTokens: Math.max(0, s.status.cost.inputTokens - (before?.inputTokens ?? 0)),
    outputTokens: Math.max(0, s.status.cost.outputTokens - (before?.outputTokens ?? 0)),
  };
}

/**
 * An account's tokens and cost: what its ended workers and one-shot runs spent (`usage`, kept
 * by the control plane) plus what the interactive sessions running on it have spent so far.
 */
export function accountTotals(account: AccountView, sessions: readonly SessionView[]): AccountTotals {
  const totals: AccountTotals = {
    inputTokens: account.usage.inputTokens,
    outputTokens: account.usage.outputTokens,
    costUsd: account.usage.costUsd,
  };
  for (const s of sessions) {
    const cost = s.status.account === account.id ? unrecordedCost(s) : null;
    if (!cost) continue;
    totals.inputTokens += cost.inputTokens;
    totals.outputTokens += cost.outputTokens;
    totals.costUsd += cost.costUsd;
  }
  return totals;
}

/** The sessions on an account now (running or waiting for its reset), by name. */
export function sessionsOn(accountId: string, sessions: readonly SessionView[]): SessionView[] {
  return sessions
    .filter((s) => !s.deleted_at && s.status.account === accountId && (RUNNING.has(s.status.phase) || s.status.phase === 'RateLimited'))
    .sort((a, b) => a.name.localeCompare(b.name));
}
