// What the person sees of a session's state: its badge (with a countdown to a usage-limit
// reset), whether it needs the person, and the list's groups and order.
import type { AccountView, Activity, RateLimit, SessionView } from '../types/cockpit';

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
  const badge: Badge = { kind, label: LABELS[kind], tone: TONES[kind] };
  if (kind === 'RateLimited') {
    const left = msUntil(limitOf(s)?.resetsAt, now);
    if (!Number.isNaN(left)) {
      badge.resetsAt = now + left;
      badge.countdown = formatCountdown(left);
    }
  }
  return badge;
}

/**
 * How much a session asks of the person, most urgent first: `needsYou` (only a person can move
 * it on: a permission request or a question, a login, a failure, a usage limit on every
 * account it may use), `yourTurn` (Claude finished its turn), `running` (it goes on by
 * itself, a move to a free account included) and `ended`.
 */
export type Attention = 'needsYou' | 'yourTurn' | 'running' | 'ended';

export const ATTENTIONS: readonly Attention[] = ['needsYou', 'yourTurn', 'running', 'ended'];

/** True while an account's usage limit is in force at `now`. */
export function isLimited(a: AccountView, now: number): boolean {
  return msUntil(a.limited_until, now) > 0;
}

/** The accounts a session may run on: its pinned one, or every account when it may rotate. */
function usableAccounts(s: SessionView, accounts: readonly AccountView[]): AccountView[] {
  const pinned = s.spec.accountRef ?? (s.spec.rotation === 'Off' ? s.status.account : undefined);
  return pinned === undefined ? [...accounts] : accounts.filter((a) => a.id === pinned);
}

/**
 * When a usage-limited session can go on (epoch ms): the earliest reset among the accounts it
 * may use, or null when one of them is free now (it moves there by itself). Without any
 * account to go by, the reset its own limit named (NaN when unknown).
 */
export function resumesAt(s: SessionView, accounts: readonly AccountView[], now: number): number | null {
  const usable = usableAccounts(s, accounts);
  if (usable.length === 0) return now + msUntil(limitOf(s)?.resetsAt, now);
  if (usable.some((a) => !isLimited(a, now))) return null;
  return Math.min(...usable.map((a) => Date.parse(a.limited_until!)));
}

/** How much the session asks of the person at `now`, given the accounts. */
export function attentionFor(s: SessionView, accounts: readonly AccountView[], now: number): Attention {
  switch (badgeFor(s, now).kind) {
    case 'NeedsApproval':
    case 'NeedsLogin':
    case 'Failed':
      return 'needsYou';
    case 'RateLimited':
      return resumesAt(s, accounts, now) === null ? 'running' : 'needsYou';
    case 'Idle':
      return 'yourTurn';
    case 'Working':
    case 'Starting':
    case 'Pending':
      return 'running';
    case 'Exited':
    case 'Done':
    case 'Stopped':
      return 'ended';
  }
}

/** A clock time for a person: `03:03` today, `Tue 03:03` further off (the device's locale). */
export function clockTime(at: number, now: number): string {
  const time = new Date(at).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
  if (at - now < 20 * 3600_000) return time;
  return `${new Date(at).toLocaleDateString(undefined, { weekday: 'short' })} ${time}`;
}

/**
 * Why a usage-limited session waits, in plain words (`every account is limited until 03:03`);
 * `moving to another account` when one is free; null when no usage limit holds it. `clock`
 * formats a time.
 */
export function waitReason(
  s: SessionView,
  accounts: readonly AccountView[],
  now: number,
  clock: (at: number, now: number) => string = clockTime,
): string | null {
  if (badgeFor(s, now).kind !== 'RateLimited') return null;
  const at = resumesAt(s, accounts, now);
  if (at === null) return 'moving to another account';
  const usable = usableAccounts(s, accounts);
  const who = usable.length === 1 && accounts.length > 1 ? `its account ${usable[0].id} is` : 'every account is';
  return Number.isNaN(at) ? `${who} limited; it goes on by itself after the reset` : `${who} limited until ${clock(at, now)}`;
}

/** Lower ranks come first within a group. */
const RANK: Record<BadgeKind, number> = {
  NeedsApproval: 0,
  NeedsLogin: 1,
  RateLimited: 2,
  Failed: 3,
  Idle: 4,
  Working: 5,
  Starting: 6,
  Pending: 7,
  Exited: 8,
  Done: 9,
  Stopped: 10,
};

function recency(s: SessionView): number {
  const t = Date.parse(s.live?.activitySince ?? s.status.startedAt ?? s.created_at);
  return Number.isNaN(t) ? 0 : t;
}

export type SessionGroup = { attention: Attention; sessions: SessionView[] };

/**
 * The list: one group per attention (empty ones left out), most urgent first; within a group
 * by badge, then the most recently active first, then by name.
 */
export function groupSessions(sessions: readonly SessionView[], accounts: readonly AccountView[], now: number): SessionGroup[] {
  const sorted = sessions
    .map((s) => ({ s, attention: attentionFor(s, accounts, now), rank: RANK[badgeFor(s, now).kind], at: recency(s) }))
    .sort((a, b) => a.rank - b.rank || b.at - a.at || a.s.name.localeCompare(b.s.name));
  return ATTENTIONS.map((attention) => ({
    attention,
    sessions: sorted.filter((x) => x.attention === attention).map((x) => x.s),
  })).filter((g) => g.sessions.length > 0);
}

/** How many sessions need the person (the tab badge). */
export function needsYouCount(sessions: readonly SessionView[], accounts: readonly AccountView[], now: number): number {
  return sessions.filter((s) => attentionFor(s, accounts, now) === 'needsYou').length;
}
