import { describe, expect, it } from 'vitest';
import { ROUTES, routePath } from './routes';

describe('the route table', () => {
  it('fills path parameters URL-encoded, and the query in order, leaving out what is unset', () => {
    expect(routePath(ROUTES.sessions)).toBe('/api/sessions');
    expect(routePath(ROUTES.send, { id: 'a b/c', body: { text: 'hi' } })).toBe('/api/sessions/a%20b%2Fc/send');
    expect(routePath(ROUTES.transcript, { id: 's', query: { after: 12, limit: 500 } })).toBe('/api/sessions/s/transcript?after=12&limit=500');
    expect(routePath(ROUTES.conversation, { id: 's', query: { after: undefined } })).toBe('/api/sessions/s/conversation');
    expect(routePath(ROUTES.conversation, { id: 's', query: { after: '7.0.ab' } })).toBe('/api/sessions/s/conversation?after=7.0.ab');
    expect(routePath(ROUTES.terminal, { id: 'x', query: { from: 0 } })).toBe('/ws/sessions/x?from=0');
  });

  it('writes every path in the router syntax, under /api or /ws', () => {
    for (const [name, route] of Object.entries(ROUTES)) {
      expect(route.path, name).toMatch(/^\/(api|ws)(\/([a-z-]+|\{[a-z]+\}))+$/);
    }
  });

  it('holds each method and path once', () => {
    const keys = Object.values(ROUTES).map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
