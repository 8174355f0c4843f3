import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { Card, Spinner, Stat, TopBar } from '../components/ui';
import { api } from '../lib/api';
import type { HealthView } from '../types/cockpit';

/** The grid's class by number of columns (written out whole, for Tailwind to find). */
const COLUMNS = { 2: 'grid-cols-2', 3: 'grid-cols-3' };

/** A card of figures under a heading, in a grid of two or three columns. */
function StatsCard({ title, columns, children }: { title: string; columns: keyof typeof COLUMNS; children: ReactNode }) {
  return (
    <Card>
      <div className="mb-3 text-xs font-semibold tracking-wide text-neutral-500 uppercase">{title}</div>
      <div className={`grid ${COLUMNS[columns]} gap-3`}>{children}</div>
    </Card>
  );
}

export default function Health() {
  const [health, setHealth] = useState<HealthView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sw, setSw] = useState('checking');
  const load = useCallback(() => {
    api
      .health()
      .then((h) => {
        setHealth(h);
        setError(null);
      })
      .catch((err: Error) => setError(err.message));
  }, []);
  useEffect(() => {
    load();
    const t = setInterval(load, 10_000);
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.getRegistration().then((r) => setSw(r?.active ? 'active (works offline)' : r ? 'installing' : 'not registered'));
    } else setSw('not supported');
    return () => clearInterval(t);
  }, [load]);
  return (
    <>
      <TopBar title="Health" />
      <div className="scroll-y safe-x min-h-0 flex-1">
        <div data-testid="health" className="flex flex-col gap-3 px-3 py-3">
          {error && <Card className="text-sm text-red-300">{error}</Card>}
          {!health && !error && <Spinner className="mx-auto my-10" />}
          {health && (
            <>
              <Card>
                <div className="flex items-center gap-2">
                  <span className={`h-2.5 w-2.5 rounded-full ${health.status === 'ok' ? 'bg-emerald-400' : 'bg-amber-400'}`} />
                  <span data-testid="health-status" className="text-[16px] font-semibold">
                    {health.status === 'ok' ? 'All good' : 'Degraded'}
                  </span>
                </div>
                {health.hints.length > 0 && (
                  <ul className="mt-2 list-disc pl-5 text-sm text-amber-200/90">
                    {health.hints.map((h) => (
                      <li key={h}>{h}</li>
                    ))}
                  </ul>
                )}
              </Card>
              <StatsCard title="Versions" columns={2}>
                <Stat label="Cockpit" value={health.version} testid="health-version" />
                <Stat label="Claude Code" value={health.claude_version ?? 'unknown'} testid="health-claude" />
                <Stat label="Runtime" value={health.runtime} />
                <Stat label="App" value={__APP_VERSION__} />
              </StatsCard>
              <StatsCard title="Sessions" columns={3}>
                <Stat label="Total" value={health.sessions.total} testid="health-total" />
                <Stat label="Running" value={health.sessions.running} />
                <Stat label="Need you" value={health.sessions.needs_you} />
              </StatsCard>
              <StatsCard title="Accounts and repos" columns={3}>
                <Stat label="Accounts" value={health.accounts} testid="health-accounts" />
                <Stat label="Limited" value={health.accounts_limited} />
                <Stat label="Repos" value={health.repos} />
              </StatsCard>
              <StatsCard title="Storage and app" columns={2}>
                <Stat label="Database" value={health.database} testid="health-database" />
                <Stat label="Offline cache" value={sw} testid="health-sw" />
              </StatsCard>
            </>
          )}
        </div>
      </div>
    </>
  );
}
