import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiFailure, api } from './api';

type Call = { url: string; method?: string; headers?: HeadersInit; body?: BodyInit | null };

/** Replaces `fetch` with one that records each call and answers `reply`. */
function stubFetch(reply: () => Response | Promise<Response>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    calls.push({ url, method: init.method, headers: init.headers, body: init.body });
    return reply();
  });
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe('the api client', () => {
  it('sends a route’s method, path and JSON body, and returns its JSON answer', async () => {
    const calls = stubFetch(() => new Response(JSON.stringify({ id: 'a' }), { status: 201 }));
    const created = await api.create({ body: { repo_name: 'demo', mode: 'Interactive' } });
    expect(created).toEqual({ id: 'a' });
    expect(calls).toEqual([
      { url: '/api/sessions', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"repo_name":"demo","mode":"Interactive"}' },
    ]);
  });

  it('sends no body and no content type when the route takes none, and reads an empty answer as undefined', async () => {
    const calls = stubFetch(() => new Response(null, { status: 204 }));
    await expect(api.pushTest()).resolves.toBeUndefined();
    expect(calls).toEqual([{ url: '/api/push/test', method: 'POST', headers: undefined, body: undefined }]);
  });

  it('turns an error answer into an ApiFailure with the control plane’s code and words', async () => {
    stubFetch(() => new Response(JSON.stringify({ error: 'no session "x"', code: 'not_found' }), { status: 404 }));
    const err = await api.stop({ id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiFailure);
    expect(err).toMatchObject({ status: 404, code: 'not_found', message: 'no session "x"' });
  });

  it('says the control plane cannot be reached when fetch itself fails', async () => {
    stubFetch(() => Promise.reject(new TypeError('Failed to fetch')));
    await expect(api.sessions()).rejects.toMatchObject({ status: 0, code: 'offline', message: 'The control plane cannot be reached.' });
  });

  it('offers exactly the json routes', () => {
    expect(Object.keys(api)).not.toContain('events');
    expect(Object.keys(api)).not.toContain('terminal');
    expect(Object.keys(api)).toContain('approve');
  });
});
