// Test fixtures: API views shaped like the control plane's.
import type { AccountView, SessionView, WorkerState } from '../types/cockpit';

/** A worker's state: idle at 80×24 unless told otherwise. */
export function workerState(over: Partial<WorkerState> = {}): WorkerState {
  return {
    activity: 'Idle',
    activitySince: '2026-11-25T10:00:00Z',
    mode: 'Interactive',
    cols: 80,
    rows: 24,
    startOffset: 0,
    endOffset: 0,
    source: 'hook',
    ...over,
  };
}

export function session(name: string, over: {
  phase?: SessionView['status']['phase'];
  activity?: WorkerState['activity'];
  live?: Partial<WorkerState> | null;
  status?: Partial<SessionView['status']>;
  spec?: Partial<SessionView['spec']>;
  created?: string;
} = {}): SessionView {
  const live: WorkerState | undefined =
    over.live === null || (over.activity === undefined && over.live === undefined)
      ? undefined
      : workerState({ activity: over.activity ?? 'Idle', ...over.live });
  return {
    id: `id-${name}`,
    name,
    spec: { repo: 'demo', mode: 'Interactive', rotation: 'Auto', ...over.spec },
    status: { phase: over.phase ?? 'Running', rotations: 0, conditions: [], account: 'alpha', ...over.status },
    live,
    created_at: over.created ?? '2026-11-25T09:00:00Z',
  };
}

export function account(id: string, over: Partial<AccountView> = {}): AccountView {
  return {
    id,
    priority: 0,
    kind: 'OAuthToken',
    active_sessions: 0,
    usage: { sessions: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
    ...over,
  };
}
