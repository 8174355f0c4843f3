// Every way the app talks to the control plane, in one typed table: the method, the path (in
// the router's own syntax, `{id}` as `operator/src/gateway/mod.rs` writes it), and as types
// the request body, the query and the response, all from `types/cockpit.ts`. Nothing else in
// the app writes an `/api` or `/ws` path: `api.ts` calls the `json` routes, the streams build
// their URLs with `routePath`.
//
// Written by hand, not generated: the router (`operator/src/gateway/mod.rs`) is code, not a
// list the code generator in crds/ could read. `routes.test.ts` pins what the table builds.
import type {
  AccountView,
  ApprovalAnswer,
  ChangesView,
  CreateSession,
  HealthView,
  PushKey,
  PushSubscribed,
  PushSubscriptionJson,
  PushTestReport,
  PushUnsubscribe,
  RepoView,
  SendMessage,
  SessionView,
  TranscriptPage,
} from '../types/cockpit';

export type Method = 'GET' | 'POST' | 'DELETE';

/**
 * How a route answers: `json` (a request and a JSON body), `sse` (server-sent events, for
 * `EventSource`), `ws` (a WebSocket).
 */
export type Transport = 'json' | 'sse' | 'ws';

/** One row of the table. `req`, `query` and `res` are types only: never set at run time. */
export interface RouteSpec {
  readonly method: Method;
  readonly path: string;
  readonly transport: Transport;
  readonly req?: unknown;
  readonly query?: Record<string, string | number | undefined>;
  readonly res?: unknown;
}

/** A type witness for the table (`undefined` at run time). */
const type = <T>(): T => undefined as T;

export const ROUTES = {
  sessions: { method: 'GET', path: '/api/sessions', transport: 'json', res: type<SessionView[]>() },
  session: { method: 'GET', path: '/api/sessions/{id}', transport: 'json', res: type<SessionView>() },
  create: { method: 'POST', path: '/api/sessions', transport: 'json', req: type<CreateSession>(), res: type<SessionView>() },
  stop: { method: 'DELETE', path: '/api/sessions/{id}', transport: 'json', res: type<SessionView>() },
  send: { method: 'POST', path: '/api/sessions/{id}/send', transport: 'json', req: type<SendMessage>(), res: type<void>() },
  approve: { method: 'POST', path: '/api/sessions/{id}/approval', transport: 'json', req: type<ApprovalAnswer>(), res: type<void>() },
  changes: { method: 'GET', path: '/api/sessions/{id}/changes', transport: 'json', res: type<ChangesView>() },
  transcript: {
    method: 'GET',
    path: '/api/sessions/{id}/transcript',
    transport: 'json',
    query: type<{ after: number; limit: number }>(),
    res: type<TranscriptPage>(),
  },
  conversation: { method: 'GET', path: '/api/sessions/{id}/conversation', transport: 'sse', query: type<{ after?: string }>() },
  terminal: { method: 'GET', path: '/ws/sessions/{id}', transport: 'ws', query: type<{ from?: number }>() },
  events: { method: 'GET', path: '/api/events', transport: 'sse' },
  accounts: { method: 'GET', path: '/api/accounts', transport: 'json', res: type<AccountView[]>() },
  resetLimit: { method: 'POST', path: '/api/accounts/{id}/reset-limit', transport: 'json', res: type<AccountView>() },
  repos: { method: 'GET', path: '/api/repos', transport: 'json', res: type<RepoView[]>() },
  health: { method: 'GET', path: '/api/health', transport: 'json', res: type<HealthView>() },
  pushKey: { method: 'GET', path: '/api/push/key', transport: 'json', res: type<PushKey>() },
  pushSubscribe: {
    method: 'POST',
    path: '/api/push/subscriptions',
    transport: 'json',
    req: type<PushSubscriptionJson>(),
    res: type<PushSubscribed>(),
  },
  pushUnsubscribe: { method: 'DELETE', path: '/api/push/subscriptions', transport: 'json', req: type<PushUnsubscribe>(), res: type<void>() },
  pushTest: { method: 'POST', path: '/api/push/test', transport: 'json', res: type<PushTestReport>() },
} as const satisfies Record<string, RouteSpec>;

export type Routes = typeof ROUTES;
export type RouteName = keyof Routes;

/** The names in a path's `{…}` placeholders. */
type ParamNames<P extends string> = P extends `${string}{${infer Name}}${infer Rest}` ? Name | ParamNames<Rest> : never;

/** What a route needs to be called: its path parameters, its body and its query, when it has them. */
export type RouteArgs<R extends RouteSpec> = { [K in ParamNames<R['path']>]: string } & (R extends { req: infer B }
  ? { body: B }
  : unknown) &
  (R extends { query: infer Q } ? { query: Q } : unknown);

/** The response of a route. */
export type RouteResponse<R extends RouteSpec> = R extends { res: infer T } ? T : never;

/** The arguments as a rest parameter: optional when there is nothing to give. */
export type RouteCall<R extends RouteSpec> = object extends RouteArgs<R> ? [args?: RouteArgs<R>] : [args: RouteArgs<R>];

/** The arguments of any route, as `routePath` reads them. */
export type AnyRouteArgs = Record<string, unknown> & { query?: Record<string, string | number | undefined> };

/** A route's path with its parameters filled in (each one URL-encoded) and its query. */
export function routePath<R extends RouteSpec>(route: R, ...[args]: RouteCall<R>): string {
  return fillPath(route.path, args as AnyRouteArgs | undefined);
}

/** `routePath` without the types (for code that holds any route). */
export function fillPath(path: string, args: AnyRouteArgs = {}): string {
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(args[name])));
  const query = Object.entries(args.query ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');
  return query ? `${filled}?${query}` : filled;
}
