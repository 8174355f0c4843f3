import { useState } from 'react';
import { ActivityBadge, Card, Spinner, Stat, TopBar } from '../components/ui';
import { useNow } from '../hooks';
import { badgeFor, clockTime, formatCountdown, isLimited, msUntil } from '../lib/activity';
import { api } from '../lib/api';
import { formatCost, formatTokens } from '../lib/transcript';
import { accountTotals, meters, sessionsOn } from '../lib/usage';
import { useLive } from '../live';
import { navigate } from '../router';
import type { AccountView, RateLimitWindow, SessionView } from '../types/cockpit';

/** A usage limit's window in words. */
const LIMIT_NAMES: Record<RateLimitWindow, string> = {
  session: '5-hour limit',
  weekly: 'Weekly limit',
  opus: 'Weekly Opus limit',
  sonnet: 'Weekly Sonnet limit',
  other: 'Usage limit',
};

/** The 5-hour and weekly windows, each with its reset countdown. */
function UsageMeters({ a, now }: { a: AccountView; now: number }) {
  const list = meters(a.utilization, a.rotate_at, now);
  if (list.length === 0) {
    return (
      <div data-testid="account-meters-empty" className="mt-3 text-xs text-neutral-500">
        No usage reported yet: the meters fill in after a session's first answer.
      </div>
    );
  }
  return list.map((m) => (
    <div key={m.label} data-testid="account-meter" data-window={m.label} className="mt-3">
      <div className="flex items-baseline justify-between text-[11px] text-neutral-400">
        <span>{m.label} window</span>
        <span className="tabular-nums">
          <span data-testid="account-meter-percent" className={m.overThreshold ? 'text-amber-300' : 'text-neutral-200'}>
            {Math.round(m.percent)}%
          </span>
          {m.resetsIn && <span data-testid="account-meter-reset"> · resets in {m.resetsIn}</span>}
        </span>
      </div>
      <div className="mt-1 h-1.5 overflow-hidden rounded-full bg-neutral-800" role="meter" aria-valuenow={m.percent} aria-valuemin={0} aria-valuemax={100} aria-label={`${m.label} window used`}>
        <div
          className={`h-full rounded-full ${m.percent >= 90 ? 'bg-red-400' : m.overThreshold ? 'bg-amber-400' : 'bg-emerald-400'}`}
          style={{ width: `${m.percent}%` }}
        />
      </div>
    </div>
  ));
}

/** The sessions running (or waiting) on the account, each one tap from its screen. */
function AccountSessions({ sessions, now }: { sessions: SessionView[]; now: number }) {
  if (sessions.length === 0) return null;
  return (
    <ul data-testid="account-session-list" className="mt-4 flex flex-col border-t border-line pt-2">
      {sessions.map((s) => (
        <li key={s.id}>
          <button
            type="button"
            data-testid="account-session"
            data-name={s.name}
            onClick={() => navigate(`/s/${encodeURIComponent(s.id)}`)}
            className="flex min-h-11 w-full items-center gap-2 text-left active:bg-white/5"
          >
            <span className="min-w-0 flex-1 truncate text-sm text-neutral-200">{s.name}</span>
            <ActivityBadge badge={badgeFor(s, now)} />
          </button>
        </li>
      ))}
    </ul>
  );
}

function ResetLimit({ a }: { a: AccountView }) {
  const live = useLive();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const reset = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.resetLimit({ id: a.id });
      await live.refresh();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
    setBusy(false);
  };
  return (
    <>
      <button
        type="button"
        data-testid="reset-limit"
        disabled={busy}
        onClick={reset}
        className="min-h-11 shrink-0 rounded-full bg-neutral-800 px-4 text-sm font-semibold text-neutral-100 active:bg-neutral-700"
      >
        {busy ? <Spinner /> : 'Reset limit'}
      </button>
      {error && <div className="basis-full text-xs text-red-300">{error}</div>}
    </>
  );
}

function AccountCard({ a, sessions, now }: { a: AccountView; sessions: SessionView[]; now: number }) {
  const limited = isLimited(a, now);
  const totals = accountTotals(a, sessions);
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
            Limited · <span data-testid="account-countdown" className="tabular-nums">{formatCountdown(msUntil(a.limited_until, now))}</span>
          </span>
        ) : (
          <span className="rounded-full bg-emerald-500/15 px-2.5 py-1 text-xs font-medium text-emerald-300 ring-1 ring-emerald-500/30 ring-inset">
            Available
          </span>
        )}
      </div>
      <UsageMeters a={a} now={now} />
      <div className="mt-4 grid grid-cols-3 gap-3">
        <Stat label="Running" value={a.active_sessions} testid="account-active" />
        <Stat label="Sessions" value={a.usage.sessions} testid="account-sessions" />
        <Stat label="Cost" value={formatCost(totals.costUsd)} testid="account-cost" />
        <Stat label="Tokens in" value={formatTokens(totals.inputTokens)} testid="account-tokens-in" />
        <Stat label="Tokens out" value={formatTokens(totals.outputTokens)} testid="account-tokens-out" />
      </div>
      <AccountSessions sessions={sessionsOn(a.id, sessions)} now={now} />
      {limited && (
        <div className="mt-4 flex flex-wrap items-center gap-3 border-t border-line pt-3">
          <div data-testid="account-limited-until" className="min-w-0 flex-1 text-xs text-neutral-400">
            {LIMIT_NAMES[a.limit_window ?? 'other']} until {clockTime(Date.parse(a.limited_until!), now)}
          </div>
          <ResetLimit a={a} />
        </div>
      )}
    </Card>
  );
}

export default function Accounts() {
  const live = useLive();
  const now = useNow(1000);
  const accounts = Object.values(live.accounts).sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
  const sessions = Object.values(live.sessions);
  return (
    <>
      <TopBar title="Accounts" />
      <div className="scroll-y safe-x min-h-0 flex-1">
        <div data-testid="accounts" className="flex flex-col gap-3 px-3 py-3">
          {!live.loaded && <Spinner className="mx-auto my-10" />}
          {accounts.map((a) => (
            <AccountCard key={a.id} a={a} sessions={sessions} now={now} />
          ))}
        </div>
      </div>
    </>
  );
}
