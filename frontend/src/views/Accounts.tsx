import { useState } from 'react';
import { Card, Spinner, Stat, TopBar } from '../components/ui';
import { useNow } from '../hooks';
import { formatCountdown, msUntil } from '../lib/activity';
import { api } from '../lib/api';
import { formatCost, formatTokens } from '../lib/transcript';
import { meters } from '../lib/usage';
import { useLive } from '../live';
import type { AccountView } from '../types/cockpit';

function AccountCard({ a, now }: { a: AccountView; now: number }) {
  const live = useLive();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const left = msUntil(a.limited_until, now);
  const limited = !Number.isNaN(left) && left > 0;
  return (
    <Card testid="account" className={limited ? 'border-violet-500/40' : ''}>
      <div className="flex items-center gap-2" data-name={a.id}>
        <div className="min-w-0 flex-1">
          <div data-testid="account-name" className="truncate text-[16px] font-semibold text-neutral-100">
            {a.id}
          </div>
          <div className="text-xs text-neutral-500">
            priority {a.priority} · {a.kind === 'ApiKey' ? 'API key' : 'OAuth token'}
            {a.max_sessions ? ` · max ${a.max_sessions}` : ''}
            {a.rotate_at ? ` · moves on at ${a.rotate_at}%` : ''}
          </div>
        </div>
        {limited ? (
          <span data-testid="account-limited" className="rounded-full bg-violet-500/15 px-2.5 py-1 text-xs font-medium text-violet-300 ring-1 ring-violet-500/40 ring-inset">
            Limited · <span data-testid="account-countdown" className="tabular-nums">{formatCountdown(left)}</span>
          </span>
        ) : (
          <span className="rounded-full bg-emerald-500/15 px-2.5 py-1 text-xs font-medium text-emerald-300 ring-1 ring-emerald-500/30 ring-inset">
            Available
          </span>
        )}
      </div>
      {meters(a.utilization, a.rotate_at, now).map((m) => (
        <div key={m.label} data-testid="account-meter" data-window={m.label} className="mt-3">
          <div className="flex items-baseline justify-between text-[11px] text-neutral-400">
            <span>{m.label} window</span>
            <span className="tabular-nums">
              <span data-testid="account-meter-percent" className={m.overThreshold ? 'text-amber-300' : 'text-neutral-200'}>
                {Math.round(m.percent)}%
              </span>
              {m.resetsIn ? ` · resets in ${m.resetsIn}` : ''}
            </span>
          </div>
          <div className="mt-1 h-1.5 overflow-hidden rounded-full bg-neutral-800" role="meter" aria-valuenow={m.percent} aria-valuemin={0} aria-valuemax={100} aria-label={`${m.label} window used`}>
            <div
              className={`h-full rounded-full ${m.percent >= 90 ? 'bg-red-400' : m.overThreshold ? 'bg-amber-400' : 'bg-emerald-400'}`}
              style={{ width: `${m.percent}%` }}
            />
          </div>
        </div>
      ))}
      <div className="mt-4 grid grid-cols-3 gap-3">
        <Stat label="Running" value={a.active_sessions} testid="account-active" />
        <Stat label="Sessions" value={a.usage.sessions} testid="account-sessions" />
        <Stat label="Cost" value={formatCost(a.usage.costUsd)} testid="account-cost" />
        <Stat label="Tokens in" value={formatTokens(a.usage.inputTokens)} />
        <Stat label="Tokens out" value={formatTokens(a.usage.outputTokens)} />
      </div>
      {limited && (
        <div className="mt-4 flex items-center gap-3 border-t border-line pt-3">
          <div className="min-w-0 flex-1 text-xs text-neutral-400">
            {a.limit_window ? `${a.limit_window} limit` : 'Usage limit'} until{' '}
            {new Date(a.limited_until!).toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' })}
          </div>
          <button
            type="button"
            data-testid="reset-limit"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await api.resetLimit(a.id);
                await live.refresh();
              } catch (err) {
                setError(err instanceof Error ? err.message : String(err));
              }
              setBusy(false);
            }}
            className="rounded-full bg-neutral-800 px-3.5 py-1.5 text-xs font-semibold text-neutral-100 active:bg-neutral-700"
          >
            {busy ? <Spinner /> : 'Reset limit'}
          </button>
        </div>
      )}
      {error && <div className="mt-2 text-xs text-red-300">{error}</div>}
    </Card>
  );
}

export default function Accounts() {
  const live = useLive();
  const now = useNow(1000);
  const accounts = Object.values(live.accounts).sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
  return (
    <>
      <TopBar title="Accounts" />
      <div className="scroll-y safe-x min-h-0 flex-1">
        <div data-testid="accounts" className="flex flex-col gap-3 px-3 py-3">
          {!live.loaded && <Spinner className="mx-auto my-10" />}
          {accounts.map((a) => (
            <AccountCard key={a.id} a={a} now={now} />
          ))}
        </div>
      </div>
    </>
  );
}
