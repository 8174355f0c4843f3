// @vitest-environment jsdom
// The hook in a component, against a fake WebSocket (the global one replaced): what the
// terminal gets, what the screen shows, what goes over the wire, and when it reconnects.
import { act, useRef } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { click, render, unmountAll } from '../test/render';
import type { WorkerState } from '../types/cockpit';
import { workerState } from './fixtures';
import { encodeBinary } from './frames';
import { useSessionSocket, type CockpitDiagnostics, type SessionSocketControls, type TerminalPort } from './useSessionSocket';

class FakeWebSocket {
  static readonly all: FakeWebSocket[] = [];
  static get last(): FakeWebSocket {
    return FakeWebSocket.all[FakeWebSocket.all.length - 1];
  }
  binaryType = 'blob';
  readyState = 0;
  sent: unknown[] = [];
  closedWith: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.all.push(this);
  }
  send(data: string) {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data));
  }
  close(code?: number) {
    this.closedWith = code ?? 1005;
    this.readyState = 3;
  }
  // The server's side.
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  hello(state: Partial<WorkerState> = {}) {
    this.onmessage?.({ data: JSON.stringify({ type: 'hello', protocol: 1, state: workerState(state) }) });
  }
  output(offset: number, text: string) {
    this.onmessage?.({ data: encodeBinary('output', offset, new TextEncoder().encode(text)).buffer });
  }
  error(message: string) {
    this.onmessage?.({ data: JSON.stringify({ type: 'error', code: 'bad_frame', message }) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({});
  }
}

/** A terminal that keeps what it is given as text. */
function fakeTerminal(): TerminalPort & { screen: string } {
  const t = {
    screen: '',
    reset: () => void (t.screen = ''),
    write: (bytes: Uint8Array) => void (t.screen += new TextDecoder().decode(bytes)),
    size: () => ({ cols: 100, rows: 30 }),
    text: () => t.screen,
    viewportY: () => 0,
  };
  return t;
}

type Refused = { message: string; unsent: string | null };

function Probe({ id, terminal, controls, refused }: { id: string; terminal: TerminalPort; controls: { current: SessionSocketControls | null }; refused: Refused[] }) {
  const term = useRef<TerminalPort>(terminal);
  const socket = useSessionSocket(id, term, (message, unsent) => refused.push({ message, unsent }));
  controls.current = socket;
  return (
    <div>
      <span data-testid="connection">{socket.connection}</span>
      <span data-testid="activity">{socket.state?.activity ?? 'none'}</span>
      <button type="button" data-testid="esc" onClick={() => socket.key('Esc')} />
    </div>
  );
}

function mount(id = 'my session') {
  const terminal = fakeTerminal();
  const controls: { current: SessionSocketControls | null } = { current: null };
  const refused: Refused[] = [];
  const view = render(<Probe id={id} terminal={terminal} controls={controls} refused={refused} />);
  return { view, terminal, refused, controls: () => controls.current!, text: (testid: string) => view.get(testid).textContent };
}

/** Runs `fn` as an event from outside React (the socket, the window) would: inside `act`. */
async function server(fn: () => void) {
  await act(async () => fn());
}

beforeEach(() => {
  FakeWebSocket.all.length = 0;
  vi.stubGlobal('WebSocket', FakeWebSocket);
  vi.useFakeTimers();
});

afterEach(() => {
  unmountAll();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('useSessionSocket', () => {
  it('connects to the session, says the terminal size first, and goes live on hello', async () => {
    const h = mount();
    expect(FakeWebSocket.all.map((s) => s.url)).toEqual(['ws://localhost:3000/ws/sessions/my%20session']);
    expect(h.text('connection')).toBe('connecting');
    await server(() => FakeWebSocket.last.open());
    expect(FakeWebSocket.last.sent).toEqual([{ type: 'resize', cols: 100, rows: 30 }]);
    await server(() => FakeWebSocket.last.hello({ activity: 'Working' }));
    expect(h.text('connection')).toBe('live');
    expect(h.text('activity')).toBe('Working');
    const diagnostics = (window as unknown as { __cockpit: CockpitDiagnostics }).__cockpit;
    await server(() => FakeWebSocket.last.output(0, 'hello'));
    expect(diagnostics.screen()).toBe('hello');
    expect(diagnostics.socket.offset).toBe(5);
  });

  it('resumes after a drop from the offset it reached, writing no byte twice', async () => {
    const h = mount('s');
    const first = FakeWebSocket.last;
    await server(() => {
      first.open();
      first.hello();
      first.output(0, 'abc');
      first.drop();
    });
    expect(h.text('connection')).toBe('reconnecting');
    await server(() => vi.advanceTimersByTime(250));
    const second = FakeWebSocket.last;
    expect(second).not.toBe(first);
    expect(second.url).toBe('ws://localhost:3000/ws/sessions/s?from=3');
    await server(() => {
      second.open();
      second.hello();
      second.output(1, 'bcdef');
    });
    expect(h.terminal.screen).toBe('abcdef');
    expect(second.sent).toEqual([{ type: 'resize', cols: 100, rows: 30 }]);
  });

  it('stops trying while offline and reconnects at once when the network is back', async () => {
    const h = mount('s');
    await server(() => {
      FakeWebSocket.last.open();
      FakeWebSocket.last.hello();
      FakeWebSocket.last.output(0, 'x');
      window.dispatchEvent(new Event('offline'));
    });
    expect(h.text('connection')).toBe('offline');
    expect(FakeWebSocket.last.closedWith).toBe(1000);
    await server(() => vi.advanceTimersByTime(10_000));
    expect(FakeWebSocket.all).toHaveLength(1);
    await server(() => window.dispatchEvent(new Event('online')));
    expect(FakeWebSocket.all.map((s) => s.url)).toEqual(['ws://localhost:3000/ws/sessions/s', 'ws://localhost:3000/ws/sessions/s?from=1']);
    expect(h.text('connection')).toBe('reconnecting');
  });

  it('reconnects on return from the background when the socket died there', async () => {
    mount('s');
    const visibility = vi.spyOn(document, 'visibilityState', 'get');
    await server(() => {
      FakeWebSocket.last.open();
      visibility.mockReturnValue('hidden');
      document.dispatchEvent(new Event('visibilitychange'));
    });
    // More than a second in the background: iOS may have killed the socket without a word.
    vi.advanceTimersByTime(1500);
    await server(() => {
      visibility.mockReturnValue('visible');
      document.dispatchEvent(new Event('visibilitychange'));
    });
    expect(FakeWebSocket.all).toHaveLength(2);
    visibility.mockRestore();
  });

  it('types a message then Enter, keys and resizes, queued until the socket opens', async () => {
    const h = mount('s');
    await server(() => {
      h.controls().submit('fix it');
      h.controls().resize(60, 20);
    });
    click(h.view.get('esc'));
    await server(() => FakeWebSocket.last.open());
    expect(FakeWebSocket.last.sent).toEqual([
      { type: 'resize', cols: 60, rows: 20 },
      { type: 'input', data: 'fix it' },
      { type: 'key', key: 'Esc' },
    ]);
    await server(() => vi.advanceTimersByTime(150));
    expect(FakeWebSocket.last.sent.at(-1)).toEqual({ type: 'key', key: 'Enter' });
  });

  it('gives a refused message back only when it was just sent', async () => {
    const h = mount('s');
    await server(() => {
      FakeWebSocket.last.open();
      FakeWebSocket.last.hello();
      h.controls().submit('run the tests');
      FakeWebSocket.last.error('input too large');
    });
    expect(h.refused).toEqual([{ message: 'input too large', unsent: 'run the tests' }]);
    await server(() => {
      h.controls().submit('later');
      vi.advanceTimersByTime(6000);
      FakeWebSocket.last.error('not now');
      FakeWebSocket.last.error('again');
    });
    expect(h.refused.slice(1)).toEqual([
      { message: 'not now', unsent: null },
      { message: 'again', unsent: null },
    ]);
  });

  it('closes the socket for good when the screen goes, and opens a new one for another session', async () => {
    const h = mount('a');
    const first = FakeWebSocket.last;
    await server(() => first.open());
    h.view.rerender(<Probe id="b" terminal={h.terminal} controls={{ current: null }} refused={[]} />);
    expect(first.closedWith).toBe(1000);
    expect(FakeWebSocket.last.url).toBe('ws://localhost:3000/ws/sessions/b');
    const second = FakeWebSocket.last;
    h.view.unmount();
    expect(second.closedWith).toBe(1000);
    await server(() => vi.advanceTimersByTime(10_000));
    expect(FakeWebSocket.all).toHaveLength(2);
  });
});
