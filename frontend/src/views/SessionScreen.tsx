import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { ActivityBadge, Icon, IconButton, SendButton, Spinner, TopBar, keepFocus } from '../components/ui';
import { useNow } from '../hooks';
import { badgeFor } from '../lib/activity';
import { ApiFailure, api } from '../lib/api';
import type { Connection } from '../lib/session-socket';
import { appendQueued, loadQueued, maySendQueued, saveQueued, waitingForReset, type QueuedMessage } from '../lib/queued-message';
import { isSessionOver } from '../lib/session-over';
import { formatCost } from '../lib/transcript';
import { useSessionSocket } from '../lib/useSessionSocket';
import { useLive } from '../live';
import { back, navigate, parseRoute, sessionPath, usePath, type SessionPane } from '../router';
import { terminalFontSize } from '../settings';
import type { ApprovalDecision, Key, PermissionMode, SessionView } from '../types/cockpit';
import { Changes } from './Changes';
import { DenyOrAllow } from './conversation/AnswerButtons';
import { ApprovalCard } from './conversation/ApprovalCard';
import { Composer } from './conversation/Composer';
import { Conversation } from './conversation/Conversation';
import { QueuedBubble } from './conversation/QueuedBubble';
import { OneshotTranscript } from './OneshotTranscript';
import { SessionPaneTabs } from './SessionPaneTabs';
import { Terminal, type TerminalHandle } from './Terminal';

const CONNECTION: Record<Connection, { label: string; cls: string }> = {
  connecting: { label: 'Connecting', cls: 'bg-sky-400 pulse' },
  live: { label: 'Live', cls: 'bg-emerald-400' },
  reconnecting: { label: 'Reconnecting', cls: 'bg-amber-400 pulse' },
  offline: { label: 'Offline', cls: 'bg-neutral-500' },
  closed: { label: 'Closed', cls: 'bg-neutral-600' },
};

function ConnectionPill({ state }: { state: Connection }) {
  const c = CONNECTION[state];
  return (
    <span data-testid="connection" data-state={state} className="inline-flex items-center gap-1.5 text-xs text-neutral-400">
      <span className={`h-2 w-2 rounded-full ${c.cls}`} />
      {c.label}
    </span>
  );
}

const QUICK_KEYS: { label: string; key?: Key; text?: string; aria: string }[] = [
  { label: 'Esc', key: 'Esc', aria: 'Escape' },
  { label: 'Tab', key: 'Tab', aria: 'Tab' },
  { label: '⇧Tab', key: 'ShiftTab', aria: 'Shift Tab' },
  { label: '↑', key: 'Up', aria: 'Up' },
  { label: '↓', key: 'Down', aria: 'Down' },
  { label: '←', key: 'Left', aria: 'Left' },
  { label: '→', key: 'Right', aria: 'Right' },
  { label: '^C', key: 'CtrlC', aria: 'Control C' },
  { label: '/', text: '/', aria: 'Slash' },
  { label: '⌫', key: 'Backspace', aria: 'Backspace' },
];

/** Short names of the CLI's permission modes, for the session's status bar. */
const MODE_LABELS: Record<PermissionMode, string> = {
  default: 'asks',
  acceptEdits: 'accept edits',
  plan: 'plan',
  auto: 'auto',
  dontAsk: "don't ask",
  bypassPermissions: 'bypass',
};

/** Answers a dialog only the screen shows, through the terminal: Allow presses Enter, Deny Esc. */
function TerminalKeysAnswer({ onKey }: { onKey: (key: 'Enter' | 'Esc') => void }) {
  return (
    <>
      <div className="mb-2 text-[11px] text-neutral-500">Answered through the terminal: Allow presses Enter, Deny presses Esc.</div>
      <DenyOrAllow onDeny={() => onKey('Esc')} onAllow={() => onKey('Enter')} />
    </>
  );
}

function useSession(id: string): { session: SessionView | null; error: string | null } {
  const live = useLive();
  const fromList = live.sessions[id] ?? Object.values(live.sessions).find((s) => s.name === id) ?? null;
  const [fetched, setFetched] = useState<SessionView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const needFetch = !fromList && (live.loaded || !!live.error);
  useEffect(() => {
    if (!needFetch) return;
    let stale = false;
    api
      .session({ id })
      .then((s) => !stale && setFetched(s))
      .catch((err: Error) => !stale && setError(err instanceof ApiFailure && err.status === 404 ? 'No such session.' : err.message));
    return () => {
      stale = true;
    };
  }, [id, needFetch]);
  return { session: fromList ?? fetched, error: fromList ? null : error };
}

export default function SessionScreen({ id }: { id: string }) {
  const { session, error } = useSession(id);
  const live = useLive();
  const route = parseRoute(usePath());
  const pane = route.name === 'session' ? route.pane : 'conversation';
  if (!session) {
    return (
      <>
        <TopBar title={id} left={<IconButton label="Back" testid="back" onClick={() => back('/')}>{Icon.back}</IconButton>} />
        <div className="flex flex-1 items-center justify-center p-8 text-center text-neutral-400">
          {error ?? <Spinner />}
        </div>
      </>
    );
  }
  if (session.spec.mode === 'Oneshot') return <OneshotScreen session={session} onRefresh={live.refresh} />;
  return <InteractiveScreen session={session} pane={pane} onPane={(next) => navigate(sessionPath(id, next), { replace: true })} />;
}

function Header({ session, right }: { session: SessionView; right?: React.ReactNode }) {
  return (
    <TopBar
      title={session.name}
      sub={`${session.spec.repo} · ${session.status.account ?? session.spec.accountRef ?? 'auto'}${session.status.rotations ? ` · ↻ ${session.status.rotations}` : ''}`}
      left={
        <IconButton label="Back" testid="back" onClick={() => back('/')}>
          {Icon.back}
        </IconButton>
      }
      right={right}
    />
  );
}

function StopButton({ session }: { session: SessionView }) {
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const live = useLive();
  useEffect(() => {
    if (!confirm) return;
    const t = setTimeout(() => setConfirm(false), 3500);
    return () => clearTimeout(t);
  }, [confirm]);
  if (isSessionOver(session)) return null;
  return (
    <button
      type="button"
      data-testid="stop"
      aria-label={confirm ? 'Confirm stop' : 'Stop session'}
      disabled={busy}
      onClick={async () => {
        if (!confirm) return setConfirm(true);
        setBusy(true);
        try {
          const stopped = await api.stop({ id: session.id });
          live.upsert(stopped);
          back('/');
          void live.refresh();
        } catch {
          setBusy(false);
          setConfirm(false);
        }
      }}
      className={`flex h-11 items-center gap-1 rounded-full px-3 text-xs font-semibold ${confirm ? 'bg-red-600 text-white' : 'bg-neutral-800 text-red-300'}`}
    >
      {busy ? <Spinner /> : Icon.stop}
      {confirm ? 'Stop?' : 'Stop'}
    </button>
  );
}

function InteractiveScreen({ session, pane, onPane }: { session: SessionView; pane: SessionPane; onPane: (pane: SessionPane) => void }) {
  const term = useRef<TerminalHandle>(null);
  const [text, setText] = useState('');
  const [answered, setAnswered] = useState<string | null>(null);
  const [approvalError, setApprovalError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [answering, setAnswering] = useState(false);
  // A message sent while a request waits, kept (typing would answer the dialog); `approval`
  // is the request, null when the control plane refused it for one not seen here yet.
  const [held, setHeld] = useState<{ approval: string | null; text: string } | null>(null);
  // The conversation's message box.
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  // A message kept on the phone until the session resumes from a usage limit.
  const [queued, setQueuedState] = useState<QueuedMessage | null>(() => loadQueued(localStorage, session.id));
  const queuedRef = useRef(queued);
  const [flushing, setFlushing] = useState(false);
  const flushingRef = useRef(false);
  const [fontSize] = useState(terminalFontSize);
  const now = useNow(1000);
  const sessionId = session.id;
  const live = useLive();
  const socket = useSessionSocket(sessionId, term, (message, unsent) => {
    setNotice(`Not sent: ${message}`);
    // Give the message back so it can be sent again.
    if (unsent) setText((cur) => cur || unsent);
  });
  const state = socket.state;

  const setQueued = useCallback(
    (next: (cur: QueuedMessage | null) => QueuedMessage | null) => {
      const q = next(queuedRef.current);
      queuedRef.current = q;
      setQueuedState(q);
      saveQueued(localStorage, sessionId, q);
    },
    [sessionId],
  );
  // Another session opened in this screen: its own queued message.
  useEffect(() => {
    const q = loadQueued(localStorage, sessionId);
    queuedRef.current = q;
    setQueuedState(q);
  }, [sessionId]);

  const merged = useMemo<SessionView>(() => (state ? { ...session, live: state } : session), [session, state]);
  const badge = badgeFor(merged, now);
  const approval = state ? state.approval : session.live?.approval;
  const pending = approval && approval.id !== answered ? approval : null;
  const over = isSessionOver(session);
  const limit = badge.kind === 'RateLimited' ? (state?.rateLimit ?? session.status.rateLimit) : undefined;
  // What the CLI reports (a Shift-Tab in the terminal shows at its next hook), else what the
  // session asked for.
  const mode = (state ?? session.live)?.permissionMode ?? session.spec.permissionMode;
  // What the session cost so far (every worker it ran in), and how full the context is.
  const cost = session.status.cost;
  const context = (state ?? session.live)?.report?.contextPercent;
  // Why the session cannot take a message now (a usage limit holds it); null when it can.
  const accounts = useMemo(() => Object.values(live.accounts), [live.accounts]);
  const waiting = over ? null : waitingForReset(session, accounts, now);
  // When the phone first saw the current spell of Idle (its own clock).
  const liveState = state ?? session.live;
  const idleKey = liveState?.activity === 'Idle' ? `${liveState.activitySince}` : null;
  const [idleSeen, setIdleSeen] = useState<{ key: string; at: number } | null>(null);
  useEffect(() => setIdleSeen(idleKey === null ? null : { key: idleKey, at: Date.now() }), [idleKey]);
  const sendQueuedNow = maySendQueued(queued, {
    phase: session.status.phase,
    over,
    activity: liveState?.activity,
    idleSeenAt: idleSeen && idleSeen.key === idleKey ? idleSeen.at : null,
    approval: !!approval,
    sending: flushing || sending,
    now,
  });
  useEffect(() => {
    if (!sendQueuedNow || !queued || flushingRef.current) return;
    const text = queued.text;
    flushingRef.current = true;
    setFlushing(true);
    api
      .send({ id: sessionId, body: { text } })
      .then(() =>
        // Sent: gone from the phone (what was added meanwhile stays queued).
        setQueued((cur) => {
          if (!cur || cur.text === text) return null;
          return cur.text.startsWith(`${text}\n\n`) ? { ...cur, text: cur.text.slice(text.length + 2) } : cur;
        }),
      )
      .catch((err: Error) => setQueued((cur) => (cur ? { ...cur, error: err.message } : { text, queuedAt: Date.now(), error: err.message })))
      .finally(() => {
        flushingRef.current = false;
        setFlushing(false);
      });
  }, [sendQueuedNow, queued, sessionId, setQueued]);

  const answer = async (decision: ApprovalDecision, message?: string) => {
    if (!pending) return;
    setApprovalError(null);
    setAnswering(true);
    try {
      await api.approve({ id: sessionId, body: { id: pending.id, decision, ...(message ? { message } : {}) } });
      setAnswered(pending.id);
      // A held message given to Claude as the reason leaves its box.
      if (message && held) {
        setText((cur) => (cur === held.text ? '' : cur));
        setDraft((cur) => (cur === held.text ? '' : cur));
      }
      setHeld(null);
    } catch (err) {
      setApprovalError(
        err instanceof ApiFailure && err.status === 404 ? 'That request was already answered.' : `Not answered: ${(err as Error).message}`,
      );
    } finally {
      setAnswering(false);
    }
  };

  const answerWithKey = (key: 'Enter' | 'Esc') => {
    if (!pending) return;
    socket.key(key);
    setAnswered(pending.id);
    setHeld(null);
  };

  const sendDraft = async () => {
    setNotice(null);
    if (pending) {
      setHeld({ approval: pending.id, text: draft });
      return;
    }
    // Waiting for a reset (or a message already waits): kept on the phone, sent in order later.
    if (waiting || queuedRef.current) {
      const text = draft;
      setQueued((cur) => appendQueued(cur, text, Date.now()));
      setDraft((cur) => (cur === text ? '' : cur));
      return;
    }
    const sent = draft;
    setSending(true);
    try {
      await api.send({ id: sessionId, body: { text: sent } });
      setDraft((cur) => (cur === sent ? '' : cur));
    } catch (err) {
      if (err instanceof ApiFailure && err.code === 'approval_pending') setHeld({ approval: null, text: sent });
      setNotice(`Not sent: ${(err as Error).message}`);
    } finally {
      setSending(false);
    }
  };
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(null), 6000);
    return () => clearTimeout(t);
  }, [notice]);

  const heldHere = held && pending && (held.approval === null || held.approval === pending.id) ? held.text : null;
  const approvalCard = (detailHeight: string, unanswerable: React.ReactNode) =>
    pending && (
      <ApprovalCard
        approval={pending}
        onAnswer={(decision, message) => void answer(decision, message)}
        busy={answering}
        error={approvalError}
        held={heldHere}
        unanswerable={unanswerable}
        detailHeight={detailHeight}
      />
    );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setNotice(null);
    // The message box never answers a dialog: its text (and its Enter, which picks "Yes")
    // would land in the permission prompt. The text stays in the box.
    if (pending) {
      setHeld({ approval: pending.id, text });
      return;
    }
    socket.submit(text);
    setText('');
  };

  return (
    <>
      <Header session={session} right={<StopButton session={session} />} />
      <div className="safe-x flex h-8 shrink-0 items-center gap-2 border-b border-line px-3">
        <ActivityBadge badge={badge} />
        {mode && (
          <span data-testid="permission-mode" className="shrink-0 rounded bg-neutral-800 px-1.5 py-0.5 text-[10px] text-neutral-300">
            {MODE_LABELS[mode] ?? mode}
          </span>
        )}
        {(cost || context !== undefined) && (
          <span data-testid="session-usage" className="shrink-0 text-[10px] text-neutral-400 tabular-nums">
            {cost ? formatCost(cost.costUsd) : ''}
            {cost && context !== undefined ? ' · ' : ''}
            {context !== undefined ? `ctx ${Math.round(context)}%` : ''}
          </span>
        )}
        {limit && (
          <span data-testid="limit-message" className="min-w-0 flex-1 truncate text-[11px] text-violet-300/80">
            {limit.message}
          </span>
        )}
        <span className="ml-auto">
          <ConnectionPill state={socket.connection} />
        </span>
      </div>
      <SessionPaneTabs pane={pane} onPane={onPane} />
      {/* The terminal stays mounted (and fed) behind the other views. */}
      <div className={pane === 'terminal' ? 'safe-x relative min-h-0 flex-1 bg-ink' : 'hidden'}>
        <Terminal ref={term} fontSize={fontSize} onResize={socket.resize} onData={socket.input} />
      </div>
      {pane === 'conversation' && (
        <Conversation
          sessionId={sessionId}
          footer={
            <>
              {queued && (
                <QueuedBubble
                  queued={queued}
                  sending={flushing}
                  ended={over}
                  onRetry={() => setQueued((cur) => (cur ? { text: cur.text, queuedAt: cur.queuedAt } : cur))}
                  onCancel={() => {
                    const text = queued.text;
                    setQueued(() => null);
                    // Back in the box to edit, when the box is empty.
                    setDraft((cur) => cur || text);
                  }}
                />
              )}
              {pending ? (
                approvalCard(
                  'max-h-96',
                  <button
                    type="button"
                    data-testid="answer-in-terminal"
                    onClick={() => onPane('terminal')}
                    className="min-h-11 w-full rounded-xl border border-amber-500/40 text-sm text-amber-200 active:bg-amber-500/10"
                  >
                    Only the terminal can answer this one: answer it in the Terminal
                  </button>,
                )
              ) : (
                badge.kind === 'Working' && (
                  <div data-testid="working" className="flex items-center gap-2 py-1 text-sm text-neutral-500">
                    <Spinner /> Claude is working…
                  </div>
                )
              )}
            </>
          }
        />
      )}
      {pane === 'changes' && <Changes sessionId={sessionId} />}
      {notice && pane !== 'changes' && (
        <div data-testid="notice" role="alert" className="safe-x shrink-0 bg-red-950 px-3 py-1.5 text-xs text-red-200">
          {notice}
        </div>
      )}
      {pane === 'terminal' && pending && (
        <div className="safe-x shrink-0 border-t border-line px-2 py-2">
          {approvalCard('max-h-32', <TerminalKeysAnswer onKey={answerWithKey} />)}
        </div>
      )}
      {over ? (
        <div className="pb-safe shrink-0 border-t border-line">
          <div data-testid="ended" className="px-4 py-3 text-center text-sm text-neutral-500">
            This session has ended.
          </div>
        </div>
      ) : pane === 'conversation' ? (
        <Composer text={draft} onText={setDraft} onSend={() => void sendDraft()} sending={sending} waiting={waiting} />
      ) : pane === 'changes' ? (
        <div className="pb-safe shrink-0" />
      ) : (
        <div className="pb-safe safe-x shrink-0 border-t border-line bg-[#0f0f0f]">
          <div data-testid="quick-keys" className="no-scrollbar flex gap-1 overflow-x-auto px-2 pt-2">
            {QUICK_KEYS.map((k) => (
              <button
                key={k.label}
                type="button"
                aria-label={k.aria}
                data-testid={`key-${k.key ?? 'slash'}`}
                onPointerDown={keepFocus}
                onMouseDown={keepFocus}
                onClick={() => (k.key ? socket.key(k.key) : socket.input(k.text ?? ''))}
                className="h-11 min-w-11 flex-1 shrink-0 rounded-lg bg-neutral-800 px-1 font-mono text-sm text-neutral-200 active:bg-neutral-600"
              >
                {k.label}
              </button>
            ))}
          </div>
          <form onSubmit={submit} className="flex items-center gap-2 px-2 py-2">
            <input
              data-testid="message"
              aria-label="Message"
              className="h-11 min-w-0 flex-1 rounded-full border border-line bg-[#1c1c1c] px-4 text-neutral-100 outline-none focus:border-amber-500/60"
              placeholder="Message Claude…"
              enterKeyHint="send"
              autoCapitalize="sentences"
              autoComplete="off"
              value={text}
              onChange={(e) => setText(e.target.value)}
            />
            <SendButton testid="send" />
          </form>
        </div>
      )}
    </>
  );
}

function OneshotScreen({ session, onRefresh }: { session: SessionView; onRefresh: () => Promise<void> }) {
  const now = useNow(1000);
  return (
    <>
      <Header session={session} right={<StopButton session={session} />} />
      <div className="safe-x flex h-8 shrink-0 items-center gap-2 border-b border-line px-3">
        <ActivityBadge badge={badgeFor(session, now)} />
        <span className="text-[11px] text-neutral-500">one-shot</span>
      </div>
      <OneshotTranscript session={session} onRefresh={onRefresh} />
    </>
  );
}
