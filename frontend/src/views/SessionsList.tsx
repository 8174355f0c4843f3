import { useRef, useState, type TouchEvent } from 'react';
import { ActivityBadge, Icon, IconButton, Spinner, TopBar } from '../components/ui';
import { useNow } from '../hooks';
import { badgeFor, needsYouCount, sortSessions } from '../lib/activity';
import { describeInput } from '../lib/transcript';
import { useLive } from '../live';
import { navigate } from '../router';
import type { SessionView } from '../types/cockpit';

const PULL_TRIGGER = 64;

function detail(s: SessionView): string | null {
  const live = s.live;
  if (live?.approval) return `${live.approval.tool}: ${describeInput(live.approval.input)}`;
  const limit = live?.rateLimit ?? s.status.rateLimit;
  if ((live?.activity ?? s.status.activity) === 'RateLimited' || s.status.phase === 'RateLimited') return limit?.message ?? null;
  if (s.status.message && (s.status.phase === 'Failed' || s.status.phase === 'Pending')) return s.status.message;
  if (s.status.result) return s.status.result.text.split('\n')[0] || null;
  return s.spec.prompt ?? null;
}

function Row({ s, now }: { s: SessionView; now: number }) {
  const badge = badgeFor(s, now);
  const info = detail(s);
  return (
    <li>
      <button
        type="button"
        data-testid="session-row"
        data-name={s.name}
        onClick={() => navigate(`/s/${encodeURIComponent(s.id)}`)}
        className={`w-full rounded-2xl border px-4 py-3 text-left active:bg-white/5 ${badge.needsYou && badge.kind !== 'Idle' ? 'border-amber-500/30 bg-amber-500/[0.04]' : 'border-line bg-panel'}`}
      >
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
        {info && <div className="mt-1.5 line-clamp-2 font-mono text-xs break-all text-neutral-400">{info}</div>}
      </button>
    </li>
  );
}

export function SessionsList() {
  const live = useLive();
  const now = useNow(1000);
  const sessions = sortSessions(Object.values(live.sessions), now);
  const waiting = needsYouCount(sessions, now);
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
              className="rounded-full bg-amber-500 px-5 py-2.5 text-sm font-semibold text-black active:bg-amber-400"
            >
              Start a session
            </button>
          </div>
        ) : (
          <ul data-testid="sessions-list" className="flex flex-col gap-2.5 px-3 pt-3 pb-6">
            {sessions.map((s) => (
              <Row key={s.id} s={s} now={now} />
            ))}
          </ul>
        )}
      </div>
    </>
  );
}
