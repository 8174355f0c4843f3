import { useRef, useState, type TouchEvent } from 'react';
import { ActivityBadge, Icon, IconButton, Spinner, TopBar } from '../components/ui';
import { useNow } from '../hooks';
import { badgeFor, groupSessions, needsYouCount, waitReason, type Attention } from '../lib/activity';
import { latestLine } from '../lib/latest-line';
import { api } from '../lib/api';
import { describeInput } from '../lib/transcript';
import { useLive } from '../live';
import { navigate, sessionPath } from '../router';
import type { AccountView, ApprovalDecision, PendingApproval, SessionView } from '../types/cockpit';

const PULL_TRIGGER = 64;

const GROUP_TITLES: Record<Attention, string> = {
  needsYou: 'Needs you',
  yourTurn: 'Your turn',
  running: 'Running',
  ended: 'Ended',
};

/**
 * The line under a row's name: the request waiting for the person, a failure, a one-shot's
 * result, else Claude's latest line (the first prompt before Claude has answered).
 */
function detail(s: SessionView): string | null {
  const approval = s.live?.approval;
  if (approval?.tool === 'question' && !approval.answerable) return 'Claude asks you something: open to answer';
  if (approval) return `${approval.tool}: ${describeInput(approval.input) || 'open to answer'}`;
  if (s.status.message && (s.status.phase === 'Failed' || s.status.phase === 'Pending')) return s.status.message;
  if (s.status.result) return s.status.result.text.split('\n')[0] || null;
  return latestLine(s);
}

/** Allow / Deny for a permission request answerable from here. */
function ApprovalButtons({ session, approval }: { session: SessionView; approval: PendingApproval }) {
  const [busy, setBusy] = useState<ApprovalDecision | null>(null);
  const [error, setError] = useState<string | null>(null);
  const answer = async (decision: ApprovalDecision) => {
    setBusy(decision);
    setError(null);
    try {
      await api.approve({ id: session.id, body: { id: approval.id, decision } });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(null);
    }
  };
  const button = 'min-h-11 flex-1 rounded-xl text-sm font-semibold disabled:opacity-50';
  return (
    <div className="border-t border-amber-500/20 px-3 pt-2 pb-3">
      <div className="flex gap-2">
        <button type="button" data-testid="row-deny" disabled={busy !== null} onClick={() => answer('deny')} className={`${button} bg-neutral-800 text-neutral-100 active:bg-neutral-700`}>
          {busy === 'deny' ? <Spinner /> : 'Deny'}
        </button>
        <button type="button" data-testid="row-allow" disabled={busy !== null} onClick={() => answer('allow')} className={`${button} bg-amber-500 text-black active:bg-amber-400`}>
          {busy === 'allow' ? <Spinner /> : 'Allow'}
        </button>
      </div>
      {error && (
        <div data-testid="row-approval-error" className="mt-2 text-xs text-red-300">
          {error}
        </div>
      )}
    </div>
  );
}

function Row({ s, accounts, now, urgent }: { s: SessionView; accounts: AccountView[]; now: number; urgent: boolean }) {
  const badge = badgeFor(s, now);
  const wait = waitReason(s, accounts, now);
  const info = detail(s);
  const approval = badge.kind === 'NeedsApproval' && s.live?.approval?.answerable ? s.live.approval : null;
  return (
    <li
      data-testid="session-row"
      data-name={s.name}
      className={`overflow-hidden rounded-2xl border ${urgent ? 'border-amber-500/30 bg-amber-500/[0.04]' : 'border-line bg-panel'}`}
    >
      <button type="button" data-testid="row-open" onClick={() => navigate(sessionPath(s.id, 'conversation'))} className="w-full px-4 py-3 text-left active:bg-white/5">
        <div className="flex items-center gap-2">
          <span elementtiming="session-row" className="min-w-0 flex-1 truncate text-[15px] font-semibold text-neutral-100">
            {s.name}
          </span>
          <ActivityBadge badge={badge} />
        </div>
        <div className="mt-1 flex flex-wrap items-center gap-x-2 text-xs text-neutral-500">
          <span data-testid="row-repo">{s.spec.repo}</span>
          <span>·</span>
          <span data-testid="row-account">{s.status.account ?? s.spec.accountRef ?? 'auto'}</span>
          {s.spec.mode === 'Oneshot' && <span className="rounded bg-neutral-800 px-1.5 text-[10px] text-neutral-300">one-shot</span>}
          {s.status.rotations > 0 && <span className="text-violet-300/80">↻ {s.status.rotations}</span>}
        </div>
        {wait && (
          <div data-testid="row-wait" className="mt-1.5 text-[13px] text-violet-200">
            Waiting: {wait}
          </div>
        )}
        {info && !wait && <div data-testid="row-detail" className="mt-1.5 line-clamp-2 font-mono text-xs break-all text-neutral-400">{info}</div>}
      </button>
      {approval && <ApprovalButtons key={approval.id} session={s} approval={approval} />}
    </li>
  );
}

function Group({ attention, sessions, accounts, now }: { attention: Attention; sessions: SessionView[]; accounts: AccountView[]; now: number }) {
  return (
    <section data-testid="session-group" data-attention={attention} aria-label={GROUP_TITLES[attention]}>
      <h2 className={`px-1 pb-1.5 text-xs font-semibold tracking-wide uppercase ${attention === 'needsYou' ? 'text-amber-400' : 'text-neutral-500'}`}>
        {GROUP_TITLES[attention]} <span className="font-normal">· {sessions.length}</span>
      </h2>
      <ul className="flex flex-col gap-2.5">
        {sessions.map((s) => (
          <Row key={s.id} s={s} accounts={accounts} now={now} urgent={attention === 'needsYou'} />
        ))}
      </ul>
    </section>
  );
}

export function SessionsList() {
  const live = useLive();
  const now = useNow(1000);
  const sessions = Object.values(live.sessions);
  const accounts = Object.values(live.accounts);
  const groups = groupSessions(sessions, accounts, now);
  const waiting = needsYouCount(sessions, accounts, now);
  const scroller = useRef<HTMLDivElement>(null);
  const start = useRef<number | null>(null);
  const [pull, setPull] = useState(0);
  const [refreshing, setRefreshing] = useState(false);

  const onTouchStart = (e: TouchEvent) => {
    start.current = scroller.current && scroller.current.scrollTop <= 0 ? e.touches[0].clientY : null;
  };
  const onTouchMove = (e: TouchEvent) => {
    if (start.current === null) return;
    const dy = e.touches[0].clientY - start.current;
    setPull(dy > 0 ? Math.min(110, dy * 0.5) : 0);
  };
  const onTouchEnd = async () => {
    const pulled = pull;
    start.current = null;
    setPull(0);
    if (pulled >= PULL_TRIGGER && !refreshing) {
      setRefreshing(true);
      await live.refresh();
      setRefreshing(false);
    }
  };

  return (
    <>
      <TopBar
        title="Sessions"
        sub={live.loaded ? (waiting ? `${waiting} need${waiting === 1 ? 's' : ''} you` : `${sessions.length} session${sessions.length === 1 ? '' : 's'}`) : undefined}
        right={
          <IconButton label="New session" testid="new-session" onClick={() => navigate('/new')} className="text-amber-400">
            {Icon.plus}
          </IconButton>
        }
      />
      <div
        ref={scroller}
        data-testid="sessions-scroller"
        className="scroll-y safe-x min-h-0 flex-1"
        onTouchStart={onTouchStart}
        onTouchMove={onTouchMove}
        onTouchEnd={onTouchEnd}
        onTouchCancel={onTouchEnd}
      >
        <div
          data-testid="pull-indicator"
          className="flex items-center justify-center overflow-hidden text-xs text-neutral-500"
          style={{ height: refreshing ? 40 : pull, transition: start.current === null ? 'height .2s' : undefined }}
        >
          {refreshing ? <Spinner /> : pull >= PULL_TRIGGER ? 'Release to refresh' : pull > 8 ? 'Pull to refresh' : null}
        </div>
        {!live.loaded ? (
          <div className="flex justify-center p-10">
            <Spinner />
          </div>
        ) : sessions.length === 0 ? (
          <div data-testid="sessions-empty" className="flex flex-col items-center gap-4 px-8 py-16 text-center">
            <div elementtiming="sessions-empty" className="text-neutral-400">
              No sessions yet.
            </div>
            <button
              type="button"
              onClick={() => navigate('/new')}
              className="min-h-11 rounded-full bg-amber-500 px-5 text-sm font-semibold text-black active:bg-amber-400"
            >
              Start a session
            </button>
          </div>
        ) : (
          <div data-testid="sessions-list" className="flex flex-col gap-5 px-3 pt-3 pb-6">
            {groups.map((g) => (
              <Group key={g.attention} attention={g.attention} sessions={g.sessions} accounts={accounts} now={now} />
            ))}
          </div>
        )}
      </div>
    </>
  );
}
