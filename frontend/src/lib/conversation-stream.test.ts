import { describe, expect, it } from 'vitest';
import type { ConversationBatch } from '../types/cockpit';
import { ConversationStream, conversationUrl, parseBatch, type EventSourceLike, type StreamStatus } from './conversation-stream';

class FakeSource implements EventSourceLike {
  readyState = 0;
  onerror: ((ev: Event) => void) | null = null;
  closed = false;
  private listeners = new Map<string, ((ev: MessageEvent<string>) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, fn: (ev: MessageEvent<string>) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  emit(type: string, data: unknown = {}, lastEventId = '') {
    for (const fn of this.listeners.get(type) ?? []) fn({ data: JSON.stringify(data), lastEventId } as MessageEvent<string>);
  }
  fail(readyState: number) {
    this.readyState = readyState;
    this.onerror?.(new Event('error'));
  }
}

const batch = (keys: string[], transcript: number, notes = 0): ConversationBatch => ({
  entries: keys.map((key) => ({ key, item: { kind: 'user', text: key } })),
  cursor: { transcript, notes, conversation: 'abcd1234' },
});
/** An `entries` event as the control plane sends it: its id is the cursor. */
const emitBatch = (source: FakeSource, b: ConversationBatch) =>
  source.emit('entries', b, `${b.cursor.transcript}.${b.cursor.notes}.${b.cursor.conversation}`);

function setup() {
  const sources: FakeSource[] = [];
  const batches: ConversationBatch[] = [];
  const statuses: StreamStatus[] = [];
  let restarts = 0;
  const pending: (() => void)[] = [];
  const stream = new ConversationStream({
    sessionId: 'my session',
    onBatch: (b) => batches.push(b),
    onRestart: () => restarts++,
    onStatus: (s) => statuses.push(s),
    createSource: (url) => {
      const s = new FakeSource(url);
      sources.push(s);
      return s;
    },
    timers: { set: (fn) => pending.push(fn), clear: () => {} },
  });
  return { stream, sources, batches, statuses, restarts: () => restarts, pending };
}

describe('conversationUrl', () => {
  it('continues after a cursor when given one', () => {
    expect(conversationUrl('my session', null)).toBe('/api/sessions/my%20session/conversation');
    expect(conversationUrl('s', '120.4')).toBe('/api/sessions/s/conversation?after=120.4');
  });
});

describe('parseBatch', () => {
  it('reads batches and refuses anything else', () => {
    expect(parseBatch(JSON.stringify(batch(['a'], 3)))?.entries).toHaveLength(1);
    expect(parseBatch('{"entries":[]}')).toBeNull();
    expect(parseBatch('nope')).toBeNull();
  });
});

describe('ConversationStream', () => {
  it('goes live, passes batches on and remembers the cursor (the event id)', () => {
    const t = setup();
    t.stream.open();
    t.sources[0].emit('ready');
    emitBatch(t.sources[0], batch(['a'], 10, 2));
    expect(t.statuses).toEqual(['connecting', 'live']);
    expect(t.batches.map((b) => b.entries[0].key)).toEqual(['a']);
    expect(t.stream.cursor).toBe('10.2.abcd1234');
  });

  it('reopens after the last cursor', () => {
    const t = setup();
    t.stream.open();
    emitBatch(t.sources[0], batch(['a'], 10, 2));
    t.stream.open();
    expect(t.sources[0].closed).toBe(true);
    expect(t.sources[1].url).toBe('/api/sessions/my%20session/conversation?after=10.2.abcd1234');
  });

  it('leaves a dropped connection to EventSource, and reopens one it gave up on', () => {
    const t = setup();
    t.stream.open();
    emitBatch(t.sources[0], batch(['a'], 10));
    t.sources[0].fail(0);
    expect(t.statuses.at(-1)).toBe('down');
    expect(t.pending).toHaveLength(0);
    t.sources[0].fail(2);
    t.sources[0].fail(2);
    expect(t.pending).toHaveLength(1);
    t.pending[0]();
    expect(t.sources[1].url).toBe('/api/sessions/my%20session/conversation?after=10.0.abcd1234');
  });

  it('starts over on restart', () => {
    const t = setup();
    t.stream.open();
    emitBatch(t.sources[0], batch(['a'], 10));
    t.sources[0].emit('restart');
    expect(t.restarts()).toBe(1);
    expect(t.stream.cursor).toBeNull();
  });

  it('ignores a replaced source and stops for good when closed', () => {
    const t = setup();
    t.stream.open();
    const old = t.sources[0];
    t.stream.open();
    emitBatch(old, batch(['stale'], 1));
    expect(t.batches).toHaveLength(0);
    t.stream.close();
    expect(t.sources[1].closed).toBe(true);
    t.stream.open();
    expect(t.sources).toHaveLength(2);
  });
});
