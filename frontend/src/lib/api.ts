// The REST API (`GET /api/openapi.json` documents it): one function per `json` route of the
// table in `routes.ts`, named as there, called with the route's path parameters, `body` and
// `query` (`api.send({ id, body: { text } })`). The only place the app calls `fetch`.
import type { ApiError } from '../types/cockpit';
import { ROUTES, fillPath, type AnyRouteArgs, type RouteCall, type RouteResponse, type RouteSpec, type Routes } from './routes';

export class ApiFailure extends Error {
  constructor(
    /** The HTTP status; 0 when the control plane could not be reached. */
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls a `json` route; rejects with an `ApiFailure`. */
export function request<R extends RouteSpec>(route: R, ...[args]: RouteCall<R>): Promise<RouteResponse<R>> {
  return call(route, args as AnyRouteArgs | undefined) as Promise<RouteResponse<R>>;
}

async function call(route: RouteSpec, args: AnyRouteArgs | undefined): Promise<unknown> {
  const body = args?.body;
  let res: Response;
  try {
    res = await fetch(fillPath(route.path, args), {
      method: route.method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, 'offline', 'The control plane cannot be reached.');
  }
  const text = await res.text();
  if (!res.ok) {
    let err: Partial<ApiError> = {};
    try {
      err = JSON.parse(text) as ApiError;
    } catch {
      /* not JSON */
    }
    throw new ApiFailure(res.status, err.code ?? 'http', err.error ?? `HTTP ${res.status}`);
  }
  return text ? (JSON.parse(text) as unknown) : undefined;
}

type JsonRoutes = { [K in keyof Routes as Routes[K]['transport'] extends 'json' ? K : never]: Routes[K] };

export type Api = { [K in keyof JsonRoutes]: (...call: RouteCall<JsonRoutes[K]>) => Promise<RouteResponse<JsonRoutes[K]>> };

/** One function per `json` route (the table's types are the only thing the cast adds). */
export const api = Object.fromEntries(
  Object.entries(ROUTES)
    .filter(([, route]) => route.transport === 'json')
    .map(([name, route]) => [name, (args?: AnyRouteArgs) => call(route, args)]),
) as unknown as Api;
