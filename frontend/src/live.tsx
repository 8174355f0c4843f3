// The live lists (sessions, accounts): loaded from the REST API, kept current by the change
// stream, reloaded when the stream (re)connects or asks for a resync.
import { createContext, useCallback, useContext, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from 'react';
import type { AccountView, ChangeEvent, SessionView } from './types/cockpit';
import { api } from './lib/api';
import { ROUTES, routePath } from './lib/routes';
import { applyChange, byId, emptyState, parseChange, type LiveState } from './lib/changes';

type Action =
  | { type: 'sessions'; sessions: SessionView[] }
  | { type: 'accounts'; accounts: AccountView[] }
  | { type: 'change'; change: ChangeEvent };

function reduce(state: LiveState, action: Action): LiveState {
  switch (action.type) {
    case 'sessions':
      return { ...state, sessions: byId(action.sessions.filter((s) => !s.deleted_at)), loaded: true };
    case 'accounts':
      return { ...state, accounts: byId(action.accounts) };
    case 'change':
      return applyChange(state, action.change);
  }
}

export type StreamState = 'connecting' | 'live' | 'down';

type Live = LiveState & {
  stream: StreamState;
  /** Set when the last load failed (offline, server down). */
  error: string | null;
  refresh: () => Promise<void>;
  upsert: (s: SessionView) => void;
};

const LiveContext = createContext<Live | null>(null);

export function LiveProvider({
  children,
  initialSessions = null,
  pendingSessions = null,
}: {
  children: ReactNode;
  /** The session list, when it was loaded before the first render. */
  initialSessions?: SessionView[] | null;
  /** Its request, when it was still under way at the first render. */
  pendingSessions?: Promise<SessionView[] | null> | null;
}) {
  const [state, dispatch] = useReducer(reduce, initialSessions, (sessions) =>
    sessions ? reduce(emptyState, { type: 'sessions', sessions }) : emptyState,
  );
  const boot = useRef({ initial: initialSessions !== null, pending: pendingSessions });
  const [stream, setStream] = useState<StreamState>('connecting');
  const [error, setError] = useState<string | null>(null);
  const inflight = useRef<Promise<void> | null>(null);

  const refresh = useCallback(() => {
    if (inflight.current) return inflight.current;
    // The first load reuses the list fetched before the first render.
    const { initial, pending } = boot.current;
    boot.current = { initial: false, pending: null };
    const load = initial
      ? Promise.resolve(null)
      : pending
        ? pending.then((list) => list ?? api.sessions())
        : api.sessions();
    // The list shows as soon as the sessions are in; the accounts follow on their own.
    const sessions = load.then((list) => list && dispatch({ type: 'sessions', sessions: list }));
    const accounts = api.accounts().then((list) => dispatch({ type: 'accounts', accounts: list }));
    const p = Promise.all([sessions, accounts])
      .then(() => setError(null))
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)))
      .finally(() => {
        inflight.current = null;
      });
    inflight.current = p;
    return p;
  }, []);

  useEffect(() => {
    void refresh();
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let opened = false;
    const open = () => {
      source?.close();
      source = new EventSource(routePath(ROUTES.events));
      source.addEventListener('ready', () => {
        setStream('live');
        // Changes may have been missed while the stream was down.
        if (opened) void refresh();
        opened = true;
      });
      source.addEventListener('change', (ev) => {
        const change = parseChange((ev as MessageEvent<string>).data);
        if (change) dispatch({ type: 'change', change });
      });
      source.addEventListener('resync', () => void refresh());
      source.onerror = () => {
        setStream('down');
        if (source && source.readyState === EventSource.CLOSED) {
          clearTimeout(retry);
          retry = setTimeout(open, 2000);
        }
      };
    };
    open();
    const wake = () => {
      if (document.visibilityState === 'visible') {
        void refresh();
        if (!source || source.readyState !== EventSource.OPEN) open();
      }
    };
    const online = () => {
      void refresh();
      open();
    };
    document.addEventListener('visibilitychange', wake);
    window.addEventListener('online', online);
    return () => {
      clearTimeout(retry);
      source?.close();
      document.removeEventListener('visibilitychange', wake);
      window.removeEventListener('online', online);
    };
  }, [refresh]);

  const upsert = useCallback((s: SessionView) => dispatch({ type: 'change', change: { kind: 'session', session: s } }), []);
  const value = useMemo(() => ({ ...state, stream, error, refresh, upsert }), [state, stream, error, refresh, upsert]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside LiveProvider');
  return live;
}
