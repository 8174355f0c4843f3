// A tiny history router (no dependency): `/`, `/new`, `/s/:id` (its conversation),
// `/s/:id/terminal`, `/s/:id/changes`, `/accounts`, `/health`, `/settings`.
import { useSyncExternalStore } from 'react';

/** What a session's screen shows. */
export type SessionPane = 'conversation' | 'terminal' | 'changes';

export type Route =
  | { name: 'sessions'; sheet: boolean }
  | { name: 'session'; id: string; pane: SessionPane }
  | { name: 'accounts' }
  | { name: 'health' }
  | { name: 'settings' };

export function parseRoute(path: string): Route {
  const session = /^\/s\/([^/]+)(?:\/(terminal|changes))?\/?$/.exec(path);
  if (session) return { name: 'session', id: decodeURIComponent(session[1]), pane: (session[2] as SessionPane | undefined) ?? 'conversation' };
  if (path === '/accounts') return { name: 'accounts' };
  if (path === '/health') return { name: 'health' };
  if (path === '/settings') return { name: 'settings' };
  return { name: 'sessions', sheet: path === '/new' };
}

/** The path of a session's screen showing `pane`. */
export function sessionPath(id: string, pane: SessionPane): string {
  const base = `/s/${encodeURIComponent(id)}`;
  return pane === 'conversation' ? base : `${base}/${pane}`;
}

const listeners = new Set<() => void>();

function subscribe(fn: () => void) {
  listeners.add(fn);
  window.addEventListener('popstate', fn);
  return () => {
    listeners.delete(fn);
    window.removeEventListener('popstate', fn);
  };
}

export function navigate(path: string, opts: { replace?: boolean } = {}) {
  if (path === location.pathname) return;
  if (opts.replace) history.replaceState(history.state, '', path);
  else history.pushState({ inApp: true }, '', path);
  for (const fn of listeners) fn();
}

/** Goes back when there is an in-app history entry, else to `fallback`. */
export function back(fallback = '/') {
  if (history.state && (history.state as { inApp?: boolean }).inApp) history.back();
  else navigate(fallback, { replace: true });
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}
