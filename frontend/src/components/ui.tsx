import type { ReactNode } from 'react';
import type { Badge, Tone } from '../lib/activity';
import { navigate } from '../router';

const TONE: Record<Tone, string> = {
  green: 'bg-emerald-500/15 text-emerald-300 ring-emerald-500/30',
  blue: 'bg-sky-500/15 text-sky-300 ring-sky-500/30',
  amber: 'bg-amber-500/15 text-amber-300 ring-amber-500/40',
  red: 'bg-red-500/15 text-red-300 ring-red-500/30',
  violet: 'bg-violet-500/15 text-violet-300 ring-violet-500/40',
  gray: 'bg-neutral-500/15 text-neutral-400 ring-neutral-500/30',
};

const DOT: Record<Tone, string> = {
  green: 'bg-emerald-400',
  blue: 'bg-sky-400',
  amber: 'bg-amber-400',
  red: 'bg-red-400',
  violet: 'bg-violet-400',
  gray: 'bg-neutral-500',
};

export function ActivityBadge({ badge }: { badge: Badge }) {
  const animated = badge.kind === 'Working' || badge.kind === 'Starting' || badge.kind === 'NeedsApproval';
  return (
    <span
      data-testid="badge"
      data-kind={badge.kind}
      className={`inline-flex shrink-0 items-center gap-1.5 rounded-full px-2.5 py-1 text-xs font-medium ring-1 ring-inset ${TONE[badge.tone]}`}
    >
      <span className={`h-1.5 w-1.5 rounded-full ${DOT[badge.tone]} ${animated ? 'pulse' : ''}`} />
      {badge.label}
      {badge.countdown && (
        <span data-testid="countdown" className="tabular-nums opacity-80">
          · {badge.countdown}
        </span>
      )}
    </span>
  );
}

export function TopBar({ title, left, right, sub }: { title: ReactNode; left?: ReactNode; right?: ReactNode; sub?: ReactNode }) {
  return (
    <header className="safe-x shrink-0 border-b border-line bg-ink">
      <div className="flex h-12 items-center gap-2 px-3">
        <div className="flex min-w-11 items-center">{left}</div>
        <div className="min-w-0 flex-1 text-center">
          <h1 className="truncate text-[17px] font-semibold text-neutral-100">{title}</h1>
          {sub && <div className="truncate text-[11px] leading-tight text-neutral-500">{sub}</div>}
        </div>
        <div className="flex min-w-11 items-center justify-end gap-1">{right}</div>
      </div>
    </header>
  );
}

export function IconButton({
  label,
  onClick,
  children,
  className = '',
  testid,
}: {
  label: string;
  onClick: () => void;
  children: ReactNode;
  className?: string;
  testid?: string;
}) {
  return (
    <button
      type="button"
      aria-label={label}
      title={label}
      data-testid={testid}
      onClick={onClick}
      className={`flex h-11 min-w-11 items-center justify-center rounded-full text-neutral-200 active:bg-white/10 ${className}`}
    >
      {children}
    </button>
  );
}

/** Keeps the focus (and the iOS keyboard) where it is when a button is tapped: a button's pointer-down (and mouse-down) handler. */
export const keepFocus = (e: { preventDefault(): void }) => e.preventDefault();

/**
 * An outline icon on the 24-unit grid, drawn in the current text colour: `size` pixels square,
 * the path `d` (after a `circle`, when there is one) in lines `weight` wide with round ends, and
 * round corners where `roundJoins`.
 */
function Outline({
  d,
  circle,
  size = 22,
  weight = 2,
  roundJoins = false,
}: {
  d: string;
  circle?: { cx: number; cy: number; r: number };
  size?: number;
  weight?: number;
  roundJoins?: boolean;
}) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={weight}
      strokeLinecap="round"
      strokeLinejoin={roundJoins ? 'round' : undefined}
    >
      {circle && <circle {...circle} />}
      <path d={d} />
    </svg>
  );
}

export const Icon = {
  back: <Outline weight={2.2} roundJoins d="M15 18l-6-6 6-6" />,
  plus: <Outline weight={2.2} d="M12 5v14M5 12h14" />,
  stop: (
    <svg width="18" height="18" viewBox="0 0 24 24" fill="currentColor">
      <rect x="6" y="6" width="12" height="12" rx="2" />
    </svg>
  ),
  send: <Outline size={20} weight={2.2} roundJoins d="M12 19V5M5 12l7-7 7 7" />,
  list: <Outline d="M4 7l2 0M9 7h11M4 12h2M9 12h11M4 17h2M9 17h11" />,
  user: <Outline circle={{ cx: 12, cy: 8, r: 4 }} d="M4 21c0-4 4-6 8-6s8 2 8 6" />,
  pulse: <Outline roundJoins d="M3 12h4l3-8 4 16 3-8h4" />,
  gear: <Outline circle={{ cx: 12, cy: 12, r: 3 }} d="M12 2v3M12 19v3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M2 12h3M19 12h3M4.9 19.1L7 17M17 7l2.1-2.1" />,
};

/** The round amber Send of a message form (a submit button); tapping it keeps the keyboard open. */
export function SendButton({ testid, disabled }: { testid: string; disabled?: boolean }) {
  return (
    <button
      type="submit"
      data-testid={testid}
      aria-label="Send"
      disabled={disabled}
      onPointerDown={keepFocus}
      onMouseDown={keepFocus}
      className="flex h-11 w-11 shrink-0 items-center justify-center rounded-full bg-amber-500 text-black active:bg-amber-400 disabled:opacity-40"
    >
      {Icon.send}
    </button>
  );
}

const TABS = [
  { path: '/', label: 'Sessions', icon: Icon.list },
  { path: '/accounts', label: 'Accounts', icon: Icon.user },
  { path: '/health', label: 'Health', icon: Icon.pulse },
  { path: '/settings', label: 'Settings', icon: Icon.gear },
];

export function TabBar({ current, badge }: { current: string; badge?: number }) {
  return (
    <nav className="pb-safe safe-x shrink-0 border-t border-line bg-ink" aria-label="Main">
      <div className="flex h-14">
        {TABS.map((tab) => {
          const active = tab.path === current;
          return (
            <button
              key={tab.path}
              type="button"
              data-testid={`tab-${tab.label.toLowerCase()}`}
              aria-current={active ? 'page' : undefined}
              onClick={() => navigate(tab.path)}
              className={`relative flex flex-1 flex-col items-center justify-center gap-0.5 text-[10px] ${active ? 'text-amber-400' : 'text-neutral-500'}`}
            >
              {tab.icon}
              {tab.label}
              {tab.path === '/' && badge ? (
                <span
                  data-testid="tab-badge"
                  aria-label={`${badge} need${badge === 1 ? 's' : ''} you`}
                  className="absolute top-1.5 left-1/2 ml-2 min-w-4 rounded-full bg-amber-500 px-1 text-center text-[10px] leading-4 font-bold text-black"
                >
                  {badge}
                </span>
              ) : null}
            </button>
          );
        })}
      </div>
    </nav>
  );
}

export function Card({ children, className = '', testid }: { children: ReactNode; className?: string; testid?: string }) {
  return (
    <div data-testid={testid} className={`rounded-2xl border border-line bg-panel p-4 ${className}`}>
      {children}
    </div>
  );
}

export function Stat({ label, value, testid }: { label: string; value: ReactNode; testid?: string }) {
  return (
    <div className="min-w-0">
      <div className="text-[11px] tracking-wide text-neutral-500 uppercase">{label}</div>
      <div data-testid={testid} className="truncate text-[15px] text-neutral-100 tabular-nums">
        {value}
      </div>
    </div>
  );
}

export function Spinner({ className = '' }: { className?: string }) {
  return <span className={`spin inline-block h-4 w-4 rounded-full border-2 border-neutral-600 border-t-neutral-200 ${className}`} />;
}

export function Banner({ tone, children, testid }: { tone: 'offline' | 'error' | 'info'; children: ReactNode; testid?: string }) {
  const cls =
    tone === 'offline'
      ? 'bg-neutral-800 text-neutral-200'
      : tone === 'error'
        ? 'bg-red-950 text-red-200'
        : 'bg-sky-950 text-sky-200';
  return (
    <div data-testid={testid} role="status" className={`safe-x shrink-0 px-4 py-1.5 text-center text-xs ${cls}`}>
      {children}
    </div>
  );
}
