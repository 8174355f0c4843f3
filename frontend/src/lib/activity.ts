// What the person sees of a session's state: its badge (with a countdown to a usage-limit
// reset) and the list order (the sessions that need the person first).
import type { Activity, RateLimit, SessionView } from '../types/cockpit';

export type Tone = 'green' | 'blue' | 'amber' | 'red' | 'violet' | 'gray';

export type BadgeKind =
  | 'Starting'
  | 'Working'
  | 'Idle'
  | 'NeedsApproval'
  | 'RateLimited'
  | 'NeedsLogin'
  | 'Exited'
  | 'Failed'
  | 'Done'
  | 'Stopped'
  | 'Pending';

export type Badge = {
  kind: BadgeKind;
  label: string;
  tone: Tone;
  /** For RateLimited: when the limit resets (epoch ms), if known. */
  resetsAt?: number;
  /** For RateLimited: the countdown text at `now`. */
  countdown?: string;
  /** True when the session waits for the person. */
  needsYou: boolean;
};

const LABELS: Record<BadgeKind, string> = {
  Starting: 'Starting',
  Working: 'Working',
  Idle: 'Idle',
  NeedsApproval: 'Needs approval',
  RateLimited: 'Rate limited',
  NeedsLogin: 'Needs login',
  Exited: 'Exited',
  Failed: 'Failed',
  Done: 'Done',
  Stopped: 'Stopped',
  Pending: 'Pending',
};

const TONES: Record<BadgeKind, Tone> = {
  Starting: 'blue',
  Working: 'blue',
  Idle: 'green',
  NeedsApproval: 'amber',
  RateLimited: 'violet',
  NeedsLogin: 'amber',
  Exited: 'gray',
  Failed: 'red',
  Done: 'green',
  Stopped: 'gray',
  Pending: 'gray',
};

/** `4h 59m`, `12m 05s`, `45s`; `now` once it is due. */
export function formatCountdown(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return 'now';
  const total = Math.ceil(ms / 1000);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Milliseconds until an ISO time (negative when past); NaN when absent or unreadable. */
export function msUntil(iso: string | undefined | null, now: number): number {
  if (!iso) return NaN;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? NaN : t - now;
}

/** The activity shown for a session: the live worker's, else the last one recorded. */
export function currentActivity(s: SessionView): Activity | undefined {
  return s.live?.activity ?? s.status.activity;
}

function limitOf(s: SessionView): RateLimit | undefined {
  return s.live?.rateLimit ?? s.status.rateLimit;
}

/** The badge of a session at `now` (epoch ms). */
export function badgeFor(s: SessionView, now: number): Badge {
  const phase = s.status.phase;
  const activity = currentActivity(s);
  let kind: BadgeKind;
  if (phase === 'Failed') kind = 'Failed';
  else if (phase === 'Succeeded') kind = 'Done';
  else if (phase === 'Stopped' || s.deleted_at) kind = 'Stopped';
  else if (phase === 'RateLimited' || activity === 'RateLimited') kind = 'RateLimited';
  else if (activity === 'Exited') kind = s.status.exitCode && s.status.exitCode !== 0 ? 'Failed' : 'Exited';
  else if (activity) kind = activity;
  else if (phase === 'Pending') kind = 'Pending';
  else kind = 'Starting';
  const badge: Badge = {
    kind,
    label: LABELS[kind],
    tone: TONES[kind],
    needsYou: kind === 'NeedsApproval' || kind === 'NeedsLogin' || kind === 'RateLimited' || kind === 'Idle',
  };
  if (kind === 'RateLimited') {
    const left = msUntil(limitOf(s)?.resetsAt, now);
    if (!Number.isNaN(left)) {
      badge.resetsAt = now + left;
      badge.countdown = formatCountdown(left);
    }
  }
  return badge;
}

/** Lower ranks come first: what needs the person, then what runs, then what is over. */
const RANK: Record<BadgeKind, number> = {
  NeedsApproval: 0,
  NeedsLogin: 1,
  RateLimited: 2,
  Idle: 3,
  Working: 4,
  Starting: 5,
  Pending: 6,
  Failed: 7,
  Exited: 8,
  Done: 9,
  Stopped: 10,
};

function recency(s: SessionView): number {
  const t = Date.parse(s.live?.activitySince ?? s.status.startedAt ?? s.created_at);
  return Number.isNaN(t) ? 0 : t;
}

/** The list order: by rank, then the most recently active first, then by name. */
export function sortSessions(sessions: readonly SessionView[], now: number): SessionView[] {
  return sessions
    .map((s) => ({ s, rank: RANK[badgeFor(s, now).kind], at: recency(s) }))
    .sort((a, b) => a.rank - b.rank || b.at - a.at || a.s.name.localeCompare(b.s.name))
    .map((x) => x.s);
}

/** How many sessions wait for the person. */
export function needsYouCount(sessions: readonly SessionView[], now: number): number {
  return sessions.filter((s) => badgeFor(s, now).needsYou).length;
}
