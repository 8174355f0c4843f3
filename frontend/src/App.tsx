import { Suspense, lazy, useEffect, useState } from 'react';
import { Banner, Spinner, TabBar } from './components/ui';
import { useNow, useOnline } from './hooks';
import { needsYouCount } from './lib/activity';
import { LiveProvider, useLive, type StreamState } from './live';
import { parseRoute, usePath } from './router';
import type { SessionView } from './types/cockpit';
import { SessionsList } from './views/SessionsList';

// The session view carries xterm.js: it loads only when a session is opened.
const SessionScreen = lazy(() => import('./views/SessionScreen'));
const NewSessionSheet = lazy(() => import('./views/NewSessionSheet'));
const Accounts = lazy(() => import('./views/Accounts'));
const Health = lazy(() => import('./views/Health'));
const Settings = lazy(() => import('./views/Settings'));

function Loading() {
  return (
    <div className="flex flex-1 items-center justify-center">
      <Spinner />
    </div>
  );
}

/** How long the change stream may be down before the banner says so (a reconnect is quicker). */
const STREAM_GRACE_MS = 2000;

/** True once the change stream has been down for the grace period. */
function useStreamDown(stream: StreamState): boolean {
  const [down, setDown] = useState(false);
  useEffect(() => {
    setDown(false);
    if (stream !== 'down') return;
    const t = setTimeout(() => setDown(true), STREAM_GRACE_MS);
    return () => clearTimeout(t);
  }, [stream]);
  return down;
}

/**
 * Says when the phone is offline or the control plane cannot be reached. The session screen
 * shows its own connection state (its terminal socket), so there only a failed load counts:
 * a banner coming and going would resize the terminal mid-reconnect.
 */
function ConnectivityBanner({ watchStream }: { watchStream: boolean }) {
  const online = useOnline();
  const live = useLive();
  const streamDown = useStreamDown(live.stream) && watchStream;
  if (!online) {
    return (
      <Banner tone="offline" testid="offline-banner">
        You are offline — showing the last known state
      </Banner>
    );
  }
  // A failed load says so at once; the stream alone after its grace period (the service
  // worker may answer loads from its cache while the control plane is away).
  if ((live.error && live.stream === 'down') || streamDown) {
    return (
      <Banner tone="offline" testid="offline-banner">
        The control plane cannot be reached — retrying
      </Banner>
    );
  }
  return null;
}

function Shell() {
  const path = usePath();
  const route = parseRoute(path);
  const live = useLive();
  const now = useNow(5000);
  if (route.name === 'session') {
    return (
      <>
        <ConnectivityBanner watchStream={false} />
        <Suspense fallback={<Loading />}>
          <SessionScreen key={route.id} id={route.id} />
        </Suspense>
      </>
    );
  }
  const tab = route.name === 'sessions' ? '/' : `/${route.name}`;
  return (
    <>
      <ConnectivityBanner watchStream />
      <main className="flex min-h-0 flex-1 flex-col">
        <Suspense fallback={<Loading />}>
          {route.name === 'sessions' && <SessionsList />}
          {route.name === 'accounts' && <Accounts />}
          {route.name === 'health' && <Health />}
          {route.name === 'settings' && <Settings />}
        </Suspense>
      </main>
      <TabBar current={tab} badge={needsYouCount(Object.values(live.sessions), Object.values(live.accounts), now)} />
      {route.name === 'sessions' && route.sheet && (
        <Suspense fallback={null}>
          <NewSessionSheet />
        </Suspense>
      )}
    </>
  );
}

export function App({
  initialSessions = null,
  pendingSessions = null,
}: {
  initialSessions?: SessionView[] | null;
  pendingSessions?: Promise<SessionView[] | null> | null;
}) {
  return (
    <LiveProvider initialSessions={initialSessions} pendingSessions={pendingSessions}>
      <Shell />
    </LiveProvider>
  );
}
