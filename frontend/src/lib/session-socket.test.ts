import { describe, expect, it } from 'vitest';
import type { WorkerState } from '../types/cockpit';
import { encodeBinary } from './frames';
import { SessionSocket, accept, backoff, socketUrl, type SocketLike } from './session-socket';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('accept (offset logic)', () => {
  const out = (offset: number, s: string) => ({ kind: 'output' as const, offset, payload: enc(s) });

  it('writes the first frame of a fresh view', () => {
    expect(accept(null, out(10, 'abc'))).toMatchObject({ action: 'write', next: 13 });
  });

  it('writes contiguous output', () => {
    const r = accept(3, out(3, 'def'));
    expect(r.action).toBe('write');
    if (r.action === 'write') expect([dec(r.bytes), r.next]).toEqual(['def', 6]);
  });

  it('skips bytes already shown and trims overlaps', () => {
    expect(accept(6, out(0, 'abcdef'))).toEqual({ action: 'skip' });
    expect(accept(6, out(2, 'cdef'))).toEqual({ action: 'skip' });
    const r = accept(4, out(2, 'cdefgh'));
    expect(r.action).toBe('write');
    if (r.action === 'write') expect([dec(r.bytes), r.next]).toEqual(['efgh', 8]);
  });

  it('reports a gap instead of showing bytes out of order', () => {
    expect(accept(4, out(9, 'x'))).toEqual({ action: 'gap', expected: 4, got: 9 });
  });

  it('a snapshot resets the screen and continues at its offset', () => {
    const r = accept(4, { kind: 'snapshot', offset: 500, payload: enc('\x1b[2Jscreen') });
    expect(r).toMatchObject({ action: 'reset', next: 500 });
  });
});

describe('socketUrl and backoff', () => {
  it('builds ws and wss URLs that resume from the offset', () => {
    expect(socketUrl({ protocol: 'http:', host: 'h:1' }, 'a b', null)).toBe('ws://h:1/ws/sessions/a%20b');
    expect(socketUrl({ protocol: 'https:', host: 'nuc' }, 'x', 0)).toBe('wss://nuc/ws/sessions/x?from=0');
    expect(socketUrl({ protocol: 'https:', host: 'nuc' }, 'x', 1234)).toBe('wss://nuc/ws/sessions/x?from=1234');
  });

  it('backs off exponentially up to 5 s', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(backoff)).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
  });
});

class FakeSocket implements SocketLike {
  binaryType = 'blob';
  readyState = 0;
  sent: string[] = [];
  closed = false;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(data);
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  hello(state: Partial<WorkerState> = {}) {
    this.onmessage?.({ data: JSON.stringify({ type: 'hello', protocol: 1, state: { activity: 'Idle', ...state } }) });
  }
  output(offset: number, s: string) {
    this.onmessage?.({ data: encodeBinary('output', offset, enc(s)).buffer });
  }
  snapshot(offset: number, s: string) {
    this.onmessage?.({ data: encodeBinary('snapshot', offset, enc(s)).buffer });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({});
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number; id: number }[] = [];
  let next = 0;
  let screen = '';
  let resets = 0;
  const connections: string[] = [];
  const client = new SessionSocket({
    url: (from) => `ws://h/ws/sessions/s${from === null ? '' : `?from=${from}`}`,
    sink: {
      reset: () => {
        resets += 1;
        screen = '';
      },
      write: (b) => {
        screen += dec(b);
      },
    },
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    onConnection: (c) => connections.push(c),
    timers: {
      set: (fn, ms) => {
        const id = ++next;
        timers.push({ fn, ms, id });
        return id;
      },
      clear: (h) => {
        const i = timers.findIndex((t) => t.id === h);
        if (i >= 0) timers.splice(i, 1);
      },
    },
  });
  const runTimers = () => {
    for (const t of timers.splice(0)) t.fn();
  };
  return { client, sockets, timers, runTimers, connections, screen: () => screen, resets: () => resets };
}

describe('SessionSocket', () => {
  it('resumes from the last offset after a drop, with no byte lost or shown twice', () => {
    const h = harness();
    h.client.connect();
    const first = h.sockets[0];
    expect(first.url).toBe('ws://h/ws/sessions/s');
    first.open();
    first.hello();
    expect(h.client.connection).toBe('live');
    first.snapshot(100, 'SCREEN|');
    first.output(100, 'abc');
    first.output(103, 'def');
    expect(h.client.offset).toBe(106);
    first.drop();
    expect(h.client.connection).toBe('reconnecting');
    expect(h.timers[0].ms).toBe(250);
    h.runTimers();
    const second = h.sockets[1];
    expect(second.url).toBe('ws://h/ws/sessions/s?from=106');
    second.open();
    second.hello();
    // The server may resend a little overlap: it must not show twice.
    second.output(103, 'defghi');
    second.output(109, 'jk');
    expect(h.screen()).toBe('SCREEN|abcdefghijk');
    expect(h.client.offset).toBe(111);
  });

  it('repaints from a snapshot when the server no longer holds the bytes', () => {
    const h = harness();
    h.client.connect();
    h.sockets[0].open();
    h.sockets[0].output(0, 'old');
    h.client.reconnectNow();
    expect(h.sockets[0].closed).toBe(true);
    h.sockets[1].open();
    h.sockets[1].snapshot(900, 'NEW');
    h.sockets[1].output(900, '!');
    expect(h.screen()).toBe('NEW!');
    expect(h.resets()).toBe(1);
  });

  it('reconnects from what it has when bytes are missing', () => {
    const h = harness();
    h.client.connect();
    h.sockets[0].open();
    h.sockets[0].output(0, 'abc');
    h.sockets[0].output(10, 'zzz');
    expect(h.screen()).toBe('abc');
    expect(h.sockets[1].url).toBe('ws://h/ws/sessions/s?from=3');
  });

  it('ignores frames from a replaced socket', () => {
    const h = harness();
    h.client.connect();
    const old = h.sockets[0];
    old.open();
    const handler = old.onmessage;
    h.client.reconnectNow();
    handler?.({ data: encodeBinary('output', 0, enc('stale')).buffer });
    expect(h.screen()).toBe('');
  });

  it('queues input while disconnected and sends the last size first on open', () => {
    const h = harness();
    h.client.connect();
    h.client.send({ type: 'resize', cols: 40, rows: 20 });
    h.client.send({ type: 'resize', cols: 48, rows: 30 });
    h.client.input('hello');
    h.client.key('Esc');
    expect(h.client.send({ type: 'approve', id: 'a', decision: 'allow' })).toBe(false);
    h.sockets[0].open();
    expect(h.sockets[0].sent.map((s) => JSON.parse(s))).toEqual([
      { type: 'resize', cols: 48, rows: 30 },
      { type: 'input', data: 'hello' },
      { type: 'key', key: 'Esc' },
    ]);
  });

  it('submits text then Enter after a pause', () => {
    const h = harness();
    h.client.connect();
    h.sockets[0].open();
    h.client.submit('hi');
    expect(h.sockets[0].sent).toEqual(['{"type":"input","data":"hi"}']);
    expect(h.timers.at(-1)?.ms).toBe(150);
    h.runTimers();
    expect(h.sockets[0].sent.at(-1)).toBe('{"type":"key","key":"Enter"}');
  });

  it('backs off while the server is down and stops when offline or closed', () => {
    const h = harness();
    h.client.connect();
    h.sockets[0].drop();
    h.runTimers();
    h.sockets[1].drop();
    expect(h.timers[0].ms).toBe(500);
    h.client.goOffline();
    expect(h.timers.length).toBe(0);
    expect(h.client.connection).toBe('offline');
    h.client.reconnectNow();
    expect(h.sockets.length).toBe(3);
    h.sockets[2].open();
    h.sockets[2].hello();
    expect(h.client.connection).toBe('live');
    h.client.close();
    expect(h.sockets[2].closed).toBe(true);
    expect(h.client.connection).toBe('closed');
    h.client.reconnectNow();
    expect(h.sockets.length).toBe(3);
  });

  it('passes state and error frames on', () => {
    const states: string[] = [];
    const errors: string[] = [];
    const client = new SessionSocket({
      url: () => 'ws://x',
      sink: { reset() {}, write() {} },
      createSocket: (u) => new FakeSocket(u),
      onState: (s) => states.push(s.activity),
      onServerError: (e) => errors.push(e.code),
    });
    client.connect();
    const s = (client as unknown as { socket: FakeSocket }).socket;
    s.open();
    s.hello({ activity: 'Working' });
    s.onmessage?.({ data: JSON.stringify({ type: 'state', state: { activity: 'NeedsApproval' } }) });
    s.onmessage?.({ data: JSON.stringify({ type: 'error', code: 'noPendingApproval', message: 'x' }) });
    s.onmessage?.({ data: new Uint8Array([9]).buffer });
    expect(states).toEqual(['Working', 'NeedsApproval']);
    expect(errors).toEqual(['noPendingApproval']);
    expect(client.dropped).toBe(1);
  });

  it('tells a newly started worker its size, and re-asserts it before typing', () => {
    const h = harness();
    h.client.connect();
    const s = h.sockets[0];
    h.client.send({ type: 'resize', cols: 52, rows: 40 });
    s.open();
    s.hello({ activity: 'Idle', cols: 52, rows: 40, source: 'hook' });
    const resizes = () => s.sent.filter((x) => x.includes('resize')).length;
    expect(resizes()).toBe(1);
    // Another client resized the PTY: left alone until this one types.
    s.onmessage?.({ data: JSON.stringify({ type: 'state', state: { activity: 'Idle', cols: 120, rows: 40, source: 'hook' } }) });
    expect(resizes()).toBe(1);
    h.client.input('x');
    expect(resizes()).toBe(2);
    expect(s.sent.at(-1)).toBe('{"type":"input","data":"x"}');
    // A new worker (rotation) starts at its own size: told at once.
    s.onmessage?.({ data: JSON.stringify({ type: 'state', state: { activity: 'Starting', cols: 80, rows: 24, source: 'process' } }) });
    expect(resizes()).toBe(3);
    // Approvals do not resize.
    s.onmessage?.({ data: JSON.stringify({ type: 'state', state: { activity: 'NeedsApproval', cols: 90, rows: 24, source: 'hook' } }) });
    h.client.send({ type: 'approve', id: 'a', decision: 'allow' });
    expect(resizes()).toBe(3);
  });
});
