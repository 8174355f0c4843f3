// The session WebSocket client: resumes from the last offset it wrote, so that after any
// reconnect (network change, return from background, gateway restart) the terminal ends up
// with exactly the session's bytes: none lost, none shown twice.
import type { ClientFrame, Key, ServerFrame, SessionId, WorkerState } from '../types/cockpit';
import { FrameError, chunkInput, decodeBinary, encodeClientFrame, parseServerFrame, type BinaryFrame } from './frames';
import { ROUTES, routePath } from './routes';
import { browserTimers, type Timers } from './timers';

/** What to do with a binary frame, given the offset the terminal expects next. */
export type Accept =
  | { action: 'write'; bytes: Uint8Array; next: number }
  | { action: 'reset'; bytes: Uint8Array; next: number }
  | { action: 'skip' }
  | { action: 'gap'; expected: number; got: number };

/**
 * The offset logic, pure. `expected` is the offset of the next byte the terminal needs
 * (null before the first frame of a fresh view).
 */
export function accept(expected: number | null, frame: BinaryFrame): Accept {
  if (frame.kind === 'snapshot') {
    // A repaint of the whole screen; live output continues at the frame's offset.
    return { action: 'reset', bytes: frame.payload, next: frame.offset };
  }
  const end = frame.offset + frame.payload.length;
  if (expected === null) return { action: 'write', bytes: frame.payload, next: end };
  if (end <= expected) return { action: 'skip' };
  if (frame.offset > expected) return { action: 'gap', expected, got: frame.offset };
  return { action: 'write', bytes: frame.payload.subarray(expected - frame.offset), next: end };
}

/** The URL of a session's WebSocket, resuming from `from` when known. */
export function socketUrl(base: { protocol: string; host: string }, sessionId: SessionId, from: number | null): string {
  const scheme = base.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${base.host}${routePath(ROUTES.terminal, { id: sessionId, query: { from: from ?? undefined } })}`;
}

/** Reconnect delay after `attempt` failures in a row. */
export function backoff(attempt: number): number {
  return Math.min(5000, 250 * 2 ** Math.max(0, attempt));
}

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'closed';

/** The part of a WebSocket the client uses (a real one in the browser, a fake in tests). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** Where the bytes go: the terminal. */
export interface TerminalSink {
  reset(): void;
  write(bytes: Uint8Array): void;
}

export interface SessionSocketOptions {
  url: (from: number | null) => string;
  sink: TerminalSink;
  createSocket?: (url: string) => SocketLike;
  onState?: (state: WorkerState) => void;
  onConnection?: (c: Connection) => void;
  onServerError?: (frame: Extract<ServerFrame, { type: 'error' }>) => void;
  onOneshot?: (frame: Extract<ServerFrame, { type: 'oneshot' }>) => void;
  /** Delay between a message's text and its Enter (the CLI treats a fast Enter as part of a paste). */
  enterDelayMs?: number;
  timers?: Timers;
}

const OPEN = 1;
const MAX_QUEUE = 200;

export class SessionSocket {
  /** Offset of the next byte the terminal needs; null until the first frame. */
  offset: number | null = null;
  connection: Connection = 'connecting';
  state: WorkerState | null = null;
  /** Frames that were decoded but could not be used (for diagnostics). */
  dropped = 0;

  private socket: SocketLike | null = null;
  private attempt = 0;
  private timer: unknown = null;
  private closed = false;
  private offline = false;
  private queue: string[] = [];
  private lastResize: string | null = null;
  private size: { cols: number; rows: number } | null = null;
  private readonly timers: Timers;

  constructor(private readonly opts: SessionSocketOptions) {
    this.timers = opts.timers ?? browserTimers;
  }

  /** Opens the connection (resuming from `offset` when set). */
  connect(): void {
    if (this.closed) return;
    this.clearTimer();
    this.detach();
    const url = this.opts.url(this.offset);
    const create = this.opts.createSocket ?? ((u: string) => new WebSocket(u) as unknown as SocketLike);
    let socket: SocketLike;
    try {
      socket = create(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    this.setConnection(this.attempt === 0 && this.offset === null ? 'connecting' : 'reconnecting');
    socket.onopen = () => {
      if (this.socket !== socket) return;
      if (this.lastResize) socket.send(this.lastResize);
      for (const text of this.queue.splice(0)) socket.send(text);
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      this.onMessage(ev.data);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.scheduleReconnect();
    };
    socket.onerror = () => {
      /* onclose follows */
    };
  }

  /** Drops the current connection and opens a new one at once (resuming from `offset`). */
  reconnectNow(): void {
    if (this.closed) return;
    this.attempt = 0;
    this.offline = false;
    this.connect();
  }

  /** The device went offline: stop trying until it is back. */
  goOffline(): void {
    if (this.closed) return;
    this.offline = true;
    this.clearTimer();
    this.detach();
    this.setConnection('offline');
  }

  /** Closes for good. */
  close(): void {
    this.closed = true;
    this.clearTimer();
    this.detach();
    this.setConnection('closed');
  }

  /** Sends a frame now, or when the connection is back (input and keys only). */
  send(frame: ClientFrame): boolean {
    const text = encodeClientFrame(frame);
    if (frame.type === 'resize') {
      this.lastResize = text;
      this.size = { cols: frame.cols, rows: frame.rows };
      if (this.isOpen()) this.socket!.send(text);
      return this.isOpen();
    }
    // The device that types sets the size (another client may have resized the PTY).
    if (frame.type !== 'approve' && this.mismatch(this.state)) this.reassertSize();
    if (this.isOpen()) {
      this.socket!.send(text);
      return true;
    }
    if (frame.type === 'approve') return false; // an answer is only meaningful live
    if (this.queue.length < MAX_QUEUE) this.queue.push(text);
    return false;
  }

  /** Types text (split into frames the server accepts). */
  input(text: string): void {
    for (const data of chunkInput(text)) this.send({ type: 'input', data });
  }

  key(key: Key): void {
    this.send({ type: 'key', key });
  }

  /** Types a message and presses Enter after a short pause. */
  submit(text: string): void {
    if (text) this.input(text);
    const delay = text ? (this.opts.enterDelayMs ?? 150) : 0;
    if (delay === 0) this.key('Enter');
    else this.timers.set(() => this.key('Enter'), delay);
  }

  isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN;
  }

  private onMessage(data: unknown): void {
    if (typeof data === 'string') {
      const frame = parseServerFrame(data);
      if (!frame) return;
      switch (frame.type) {
        case 'hello':
          this.attempt = 0;
          this.adoptState(frame.state);
          this.setConnection('live');
          this.opts.onState?.(frame.state);
          break;
        case 'state':
          this.adoptState(frame.state);
          this.opts.onState?.(frame.state);
          break;
        case 'error':
          this.opts.onServerError?.(frame);
          break;
        case 'oneshot':
          this.opts.onOneshot?.(frame);
          break;
      }
      return;
    }
    let frame: BinaryFrame;
    try {
      frame = decodeBinary(data instanceof Uint8Array ? data : new Uint8Array(data as ArrayBuffer));
    } catch (err) {
      if (err instanceof FrameError) {
        this.dropped += 1;
        return;
      }
      throw err;
    }
    const result = accept(this.offset, frame);
    switch (result.action) {
      case 'write':
        this.opts.sink.write(result.bytes);
        this.offset = result.next;
        break;
      case 'reset':
        this.opts.sink.reset();
        if (result.bytes.length) this.opts.sink.write(result.bytes);
        this.offset = result.next;
        break;
      case 'skip':
        break;
      case 'gap':
        // Bytes are missing: ask again from what we have (the server replays or repaints).
        this.dropped += 1;
        this.reconnectNow();
        break;
    }
  }

  /** True when the worker's terminal is not the size this client asked for. */
  private mismatch(state: WorkerState | null): boolean {
    return !!state && !!this.size && (state.cols !== this.size.cols || state.rows !== this.size.rows);
  }

  private reassertSize(): void {
    if (this.lastResize && this.isOpen()) this.socket!.send(this.lastResize);
  }

  /**
   * Takes a new worker state. A worker that just started (after an account rotation or a
   * resume) has its own default size: tell it ours.
   */
  private adoptState(next: WorkerState): void {
    const prev = this.state;
    this.state = next;
    const fresh = next.activity === 'Starting' || (prev !== null && prev.source === 'store' && next.source !== 'store');
    if (fresh && this.mismatch(next)) this.reassertSize();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.offline) return;
    this.setConnection('reconnecting');
    const delay = backoff(this.attempt);
    this.attempt += 1;
    this.clearTimer();
    this.timer = this.timers.set(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private detach(): void {
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(1000, 'reconnect');
      } catch {
        /* already closed */
      }
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.timers.clear(this.timer);
      this.timer = null;
    }
  }

  private setConnection(c: Connection): void {
    if (this.connection === c) return;
    this.connection = c;
    this.opts.onConnection?.(c);
  }
}
