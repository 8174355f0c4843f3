// A message kept on the phone while a session waits for a usage-limit reset ("Send when it
// resumes"): stored per session (it survives a reload), sent through the normal send path once
// the session runs again and Claude is idle, never into a dialog, never dropped silently.
import type { AccountView, Activity, SessionId, SessionPhase, SessionView } from '../types/cockpit';
import { waitReason } from './activity';

export type QueuedMessage = {
  text: string;
  /** When it was queued (epoch ms). */
  queuedAt: number;
  /** Why the last attempt to send it failed; it is sent again only when the person says so. */
  error?: string;
};

/** How long Claude must have been idle before a queued message goes (a new worker may show its
 *  prompt box for a moment before it takes up the turn the limit interrupted). */
export const SETTLE_MS = 1500;

const PREFIX = 'cockpit.queued.';

export const queuedKey = (sessionId: SessionId) => PREFIX + sessionId;

type Store = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** The message queued for a session, if any (an unreadable entry counts as none). */
export function loadQueued(store: Store, sessionId: SessionId): QueuedMessage | null {
  let raw: string | null = null;
  try {
    raw = store.getItem(queuedKey(sessionId));
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const q = JSON.parse(raw) as Partial<QueuedMessage>;
    if (typeof q.text !== 'string' || !q.text.trim()) return null;
    return {
      text: q.text,
      queuedAt: typeof q.queuedAt === 'number' ? q.queuedAt : 0,
      ...(typeof q.error === 'string' ? { error: q.error } : {}),
    };
  } catch {
    return null;
  }
}

/** Keeps (or, with null, forgets) the message queued for a session. */
export function saveQueued(store: Store, sessionId: SessionId, q: QueuedMessage | null): void {
  try {
    if (q) store.setItem(queuedKey(sessionId), JSON.stringify(q));
    else store.removeItem(queuedKey(sessionId));
  } catch {
    /* private mode or full: it lives in memory only */
  }
}

/** A message added to what is already queued (one bubble, sent as one message, in order). */
export function appendQueued(q: QueuedMessage | null, text: string, now: number): QueuedMessage {
  return q ? { text: `${q.text}\n\n${text}`, queuedAt: q.queuedAt } : { text, queuedAt: now };
}

/**
 * Why a session cannot take a message now because a usage limit holds it, in plain words for
 * the composer (`Every account is limited until 6:06 PM`); null when no limit holds it.
 */
export function waitingForReset(
  s: SessionView,
  accounts: readonly AccountView[],
  now: number,
  clock?: (at: number, now: number) => string,
): string | null {
  if (s.status.phase !== 'RateLimited') return null;
  const reason = waitReason(s, accounts, now, clock) ?? 'waiting for a usage-limit reset';
  return reason.charAt(0).toUpperCase() + reason.slice(1);
}

export type QueueGate = {
  /** The session's phase (the control plane's word). */
  phase: SessionPhase;
  /** True once the session is over (stopped, finished, deleted). */
  over: boolean;
  /** The live worker's activity. */
  activity: Activity | undefined;
  /** When the phone first saw this spell of `Idle` (epoch ms, the phone's clock: the
   *  control plane's may differ); null when not idle. */
  idleSeenAt: number | null;
  /** True while a permission request (or any dialog) waits for an answer. */
  approval: boolean;
  /** True while a send is under way. */
  sending: boolean;
  now: number;
};

/**
 * May the queued message be sent now? Only when the session runs again (not waiting for a
 * reset, not starting), Claude has been idle for a moment, no request waits for an answer, no
 * send is under way, and the last attempt did not fail (then the person sends it again).
 */
export function maySendQueued(q: QueuedMessage | null, g: QueueGate): boolean {
  if (!q || !q.text.trim() || q.error !== undefined) return false;
  if (g.over || g.sending || g.approval) return false;
  if (g.phase !== 'Running' || g.activity !== 'Idle') return false;
  return g.idleSeenAt !== null && g.now - g.idleSeenAt >= SETTLE_MS;
}
