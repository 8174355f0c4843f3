// The session list's live state: the lists from the REST API, kept current by the change
// stream (`GET /api/events`).
import type { AccountView, ChangeEvent, SessionView } from '../types/cockpit';

export type LiveState = {
  sessions: Record<string, SessionView>;
  accounts: Record<string, AccountView>;
  /** True once the lists were loaded at least once. */
  loaded: boolean;
};

export const emptyState: LiveState = { sessions: {}, accounts: {}, loaded: false };

export function byId<T extends { id: string }>(items: readonly T[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const item of items) out[item.id] = item;
  return out;
}

/** Applies one change event. Deleted sessions leave the list (their history is kept). */
export function applyChange(state: LiveState, change: ChangeEvent): LiveState {
  switch (change.kind) {
    case 'session': {
      const s = change.session;
      if (s.deleted_at) {
        if (!(s.id in state.sessions)) return state;
        const { [s.id]: _gone, ...rest } = state.sessions;
        return { ...state, sessions: rest };
      }
      return { ...state, sessions: { ...state.sessions, [s.id]: s } };
    }
    case 'sessionDeleted': {
      if (!(change.id in state.sessions)) return state;
      const { [change.id]: _gone, ...rest } = state.sessions;
      return { ...state, sessions: rest };
    }
    case 'account':
      return { ...state, accounts: { ...state.accounts, [change.account.id]: change.account } };
  }
}

/** Parses the data of a `change` event; null when unreadable. */
export function parseChange(data: string): ChangeEvent | null {
  try {
    const v = JSON.parse(data) as ChangeEvent;
    if (v && (v.kind === 'session' || v.kind === 'sessionDeleted' || v.kind === 'account')) return v;
  } catch {
    /* ignore */
  }
  return null;
}
