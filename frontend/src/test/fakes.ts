// Stand-ins for what jsdom lacks or a test must not reach: the control plane behind `fetch`,
// `EventSource`, `ResizeObserver`.
import { vi } from 'vitest';

export type FetchCall = { method: string; url: string; body: unknown };

/**
 * Replaces `fetch` with a control plane that answers `"METHOD /path"` (query included) from
 * `answers`: a value (sent as JSON, 200), or a function of the request body returning one or a
 * `Response`. Anything else is a 404. Returns the calls, in order.
 */
export function stubControlPlane(answers: Record<string, unknown>): FetchCall[] {
  const calls: FetchCall[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    calls.push({ method, url, body });
    const key = `${method} ${url}`;
    if (!(key in answers)) return new Response(JSON.stringify({ error: `no route ${key}`, code: 'not_found' }), { status: 404 });
    const answer = answers[key];
    const value = typeof answer === 'function' ? await (answer as (body: unknown) => unknown)(body) : answer;
    return value instanceof Response ? value : new Response(value === undefined ? null : JSON.stringify(value), { status: value === undefined ? 204 : 200 });
  });
  return calls;
}

/** An `EventSource` that never connects (the tests feed state through the REST stubs). */
export class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readyState = FakeEventSource.CONNECTING;
  onerror: ((ev: Event) => void) | null = null;
  constructor(readonly url: string) {}
  addEventListener(): void {}
  close(): void {
    this.readyState = FakeEventSource.CLOSED;
  }
}

/** A `ResizeObserver` that never reports (jsdom lays nothing out). */
export class FakeResizeObserver {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
}
