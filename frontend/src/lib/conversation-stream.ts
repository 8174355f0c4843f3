// The conversation stream client (`GET /api/sessions/{id}/conversation`, server-sent events):
// batches of entries, resumed after any reconnect from the last cursor it got. EventSource
// resumes by itself (Last-Event-ID) after a dropped connection; when it gives up, or when the
// phone comes back online or to the foreground, the client reopens with `?after=<cursor>`.
import type { ConversationBatch, SessionId } from '../types/cockpit';
import { ROUTES, routePath } from './routes';
import { browserTimers, type Timers } from './timers';

export type StreamStatus = 'connecting' | 'live' | 'down';

/** The part of an EventSource the client uses (a real one in the browser, a fake in tests). */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (ev: MessageEvent<string>) => void): void;
  onerror: ((ev: Event) => void) | null;
  close(): void;
}

/** The stream's URL, continuing after `after` when set. */
export function conversationUrl(sessionId: SessionId, after: string | null): string {
  return routePath(ROUTES.conversation, { id: sessionId, query: { after: after ?? undefined } });
}

/** The data of an `entries` event; null when unreadable. */
export function parseBatch(data: string): ConversationBatch | null {
  try {
    const v = JSON.parse(data) as ConversationBatch;
    if (v && Array.isArray(v.entries) && v.cursor && typeof v.cursor.transcript === 'number') return v;
  } catch {
    /* not JSON */
  }
  return null;
}

export interface ConversationStreamOptions {
  sessionId: SessionId;
  onBatch: (batch: ConversationBatch) => void;
  /** Everything held is void: the stream starts over from the beginning. */
  onRestart: () => void;
  onStatus: (status: StreamStatus) => void;
  createSource?: (url: string) => EventSourceLike;
  /** Wait before reopening a stream the browser gave up on. */
  retryMs?: number;
  timers?: Timers;
}

const CLOSED = 2;

export class ConversationStream {
  /** Where the stream continues: the last batch's event id (its cursor, as the control plane
   *  writes it), null before the first batch. */
  cursor: string | null = null;

  private source: EventSourceLike | null = null;
  private retry: unknown = null;
  private closed = false;
  private readonly timers: Timers;

  constructor(private readonly opts: ConversationStreamOptions) {
    this.timers = opts.timers ?? browserTimers;
  }

  /** Opens the stream (again), continuing after the cursor held. */
  open(): void {
    if (this.closed) return;
    this.timers.clear(this.retry);
    this.retry = null;
    this.source?.close();
    const create = this.opts.createSource ?? ((url: string) => new EventSource(url) as unknown as EventSourceLike);
    const source = create(conversationUrl(this.opts.sessionId, this.cursor));
    this.source = source;
    this.opts.onStatus('connecting');
    source.addEventListener('ready', () => this.source === source && this.opts.onStatus('live'));
    source.addEventListener('entries', (ev) => {
      if (this.source !== source) return;
      const batch = parseBatch(ev.data);
      if (!batch) return;
      this.cursor = ev.lastEventId || this.cursor;
      this.opts.onBatch(batch);
    });
    source.addEventListener('restart', () => {
      if (this.source !== source) return;
      this.cursor = null;
      this.opts.onRestart();
    });
    source.onerror = () => {
      if (this.source !== source) return;
      this.opts.onStatus('down');
      // EventSource retries by itself unless it gave up (an HTTP error, a wrong content type).
      if (source.readyState === CLOSED && this.retry === null) {
        this.retry = this.timers.set(() => this.open(), this.opts.retryMs ?? 2000);
      }
    };
  }

  close(): void {
    this.closed = true;
    this.timers.clear(this.retry);
    this.source?.close();
    this.source = null;
  }
}
