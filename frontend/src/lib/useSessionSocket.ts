// A session's terminal WebSocket as a React hook: one `SessionSocket` (session-socket.ts:
// offsets, resync, backoff) per session id, fed into the terminal, reconnected when the phone
// comes back online, to the foreground, from the back-forward cache or onto another network,
// and closed when the screen goes. The screen gets the connection, the worker's state and
// the ways to type; it never sees the socket.
import { useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import type { Key, SessionId, WorkerState } from '../types/cockpit';
import { SessionSocket, socketUrl, type Connection, type TerminalSink } from './session-socket';

/** What the hook needs of the terminal: where the bytes go, its size, and (for diagnostics) its screen. */
export interface TerminalPort extends TerminalSink {
  /** The fitted size; zero while hidden. */
  size(): { cols: number; rows: number };
  text(): string;
  viewportY(): number;
}

/** `window.__cockpit`: the socket and the visible screen, for diagnostics and the end-to-end tests. */
export interface CockpitDiagnostics {
  socket: SessionSocket;
  screen(): string;
  viewportY(): number;
}

export interface SessionSocketControls {
  connection: Connection;
  /** The worker's state as the socket last reported it; null until the first report. */
  state: WorkerState | null;
  /** The terminal's new size (kept, and sent again on every reconnect). */
  resize(cols: number, rows: number): void;
  /** Types text as it is (keystrokes from the terminal, a quick key's text). */
  input(text: string): void;
  key(key: Key): void;
  /** Types a message and presses Enter. */
  submit(text: string): void;
}

/** How long after a submit a refusal from the control plane still gives the message back. */
const GIVE_BACK_MS = 5000;

/**
 * The session's socket. `onRefused` hears the control plane refuse typed input, with the
 * message submitted in the last 5 s (to put back in the box), else null.
 */
export function useSessionSocket(
  sessionId: SessionId,
  terminal: RefObject<TerminalPort | null>,
  onRefused: (message: string, unsent: string | null) => void,
): SessionSocketControls {
  const socket = useRef<SessionSocket | null>(null);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [state, setState] = useState<WorkerState | null>(null);
  const lastSent = useRef<{ text: string; at: number } | null>(null);
  const refused = useRef(onRefused);
  refused.current = onRefused;

  useEffect(() => {
    const client = new SessionSocket({
      url: (from) => socketUrl(location, sessionId, from),
      sink: {
        reset: () => terminal.current?.reset(),
        write: (bytes) => terminal.current?.write(bytes),
      },
      onState: setState,
      onConnection: setConnection,
      // Approvals are answered through the REST API: an error here is about typed input.
      onServerError: (e) => {
        const sent = lastSent.current;
        lastSent.current = null;
        refused.current(e.message, sent && Date.now() - sent.at < GIVE_BACK_MS ? sent.text : null);
      },
    });
    socket.current = client;
    const diagnostics: CockpitDiagnostics = {
      socket: client,
      screen: () => terminal.current?.text() ?? '',
      viewportY: () => terminal.current?.viewportY() ?? 0,
    };
    (window as unknown as { __cockpit?: CockpitDiagnostics }).__cockpit = diagnostics;
    const size = terminal.current?.size();
    if (size && size.cols > 0) client.send({ type: 'resize', cols: size.cols, rows: size.rows });
    client.connect();

    let hiddenAt = 0;
    const onVisibility = () => {
      if (document.visibilityState === 'hidden') hiddenAt = Date.now();
      // Back from the background: iOS may have killed the socket without telling.
      else if (!client.isOpen() || Date.now() - hiddenAt > 1000) client.reconnectNow();
    };
    const onOnline = () => client.reconnectNow();
    const onOffline = () => client.goOffline();
    const onPageShow = (e: PageTransitionEvent) => e.persisted && client.reconnectNow();
    const conn = (navigator as unknown as { connection?: EventTarget }).connection;
    document.addEventListener('visibilitychange', onVisibility);
    window.addEventListener('online', onOnline);
    window.addEventListener('offline', onOffline);
    window.addEventListener('pageshow', onPageShow);
    conn?.addEventListener?.('change', onOnline);
    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      window.removeEventListener('online', onOnline);
      window.removeEventListener('offline', onOffline);
      window.removeEventListener('pageshow', onPageShow);
      conn?.removeEventListener?.('change', onOnline);
      client.close();
      socket.current = null;
    };
  }, [sessionId, terminal]);

  const actions = useMemo(
    () => ({
      resize: (cols: number, rows: number) => void socket.current?.send({ type: 'resize', cols, rows }),
      input: (text: string) => socket.current?.input(text),
      key: (key: Key) => socket.current?.key(key),
      submit: (text: string) => {
        lastSent.current = text ? { text, at: Date.now() } : null;
        socket.current?.submit(text);
      },
    }),
    [],
  );
  return { connection, state, ...actions };
}
