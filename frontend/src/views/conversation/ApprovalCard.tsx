// A permission request Claude waits on, with what the call would do in full (a Write's
// content, an Edit's diff, the command) and the answers: Allow, Deny, Always allow (when the
// CLI offers rules for it, saying in words what it grants), or Deny with a message for Claude.
import { useState, type ReactNode } from 'react';
import { describeInput } from '../../lib/transcript';
import type { ApprovalDecision, PendingApproval } from '../../types/cockpit';
import { AnswerButton, DenyOrAllow } from './AnswerButtons';
import { ToolDetail } from './ToolDetail';

export function ApprovalCard({
  approval,
  onAnswer,
  busy,
  error,
  held,
  unanswerable,
  detailHeight,
}: {
  approval: PendingApproval;
  onAnswer: (decision: ApprovalDecision, message?: string) => void;
  busy: boolean;
  error: string | null;
  /** A message the person tried to send while this request waits (typing would answer it). */
  held: string | null;
  /** What to offer instead of the buttons when only the terminal can answer. */
  unanswerable: ReactNode;
  /** The most the call's details may take (a Tailwind max-height class). */
  detailHeight: string;
}) {
  // The message for "Deny and tell Claude…"; null while that field is closed. A held message
  // opens it with its text in the same render that says it was held (set while rendering, as
  // React's docs have state follow a prop; an effect showed the note a frame before the field).
  const [reason, setReason] = useState<string | null>(null);
  const [heldShown, setHeldShown] = useState<string | null>(null);
  if (held !== heldShown) {
    setHeldShown(held);
    if (held) setReason(held);
  }
  const alwaysAllow = (approval.suggestions?.length ?? 0) > 0 || !!approval.alwaysAllows;
  return (
    <div data-testid="approval-card" data-answerable={approval.answerable} className="rounded-2xl border border-amber-500/40 bg-[#1a1408] px-3 py-3">
      <div className="mb-2 flex items-center gap-2 text-xs font-medium text-amber-300">
        <span className="h-2 w-2 rounded-full bg-amber-400 pulse" />
        Claude wants to use <span data-testid="approval-tool" className="font-semibold">{approval.tool}</span>
      </div>
      <div data-testid="approval-input">
        {approval.view ? (
          <ToolDetail tool={approval.view} maxHeight={detailHeight} />
        ) : (
          <pre className={`${detailHeight} overflow-auto rounded-lg bg-black/50 px-2.5 py-2 font-mono text-[13px] break-all whitespace-pre-wrap text-neutral-100`}>
            {describeInput(approval.input) || '(no input)'}
          </pre>
        )}
      </div>
      {error && <div className="mt-2 text-xs text-red-300">{error}</div>}
      {held !== null && (
        <div data-testid="message-held" className="mt-2 text-xs text-amber-200/90">
          Your message was not sent: Claude is waiting for this answer, and typing would answer it.
          {approval.answerable ? ' Deny and send it to Claude as the reason, or answer first and send it after.' : ' Answer first, then send it.'}
        </div>
      )}
      {!approval.answerable ? (
        <div className="mt-2">{unanswerable}</div>
      ) : (
        <div className="mt-2.5 space-y-2">
          <DenyOrAllow disabled={busy} onDeny={() => onAnswer('deny')} onAllow={() => onAnswer('allow')} />
          {alwaysAllow && (
            <AnswerButton
              testid="allow-always"
              disabled={busy}
              onClick={() => onAnswer('allow_always')}
              className="w-full border border-amber-500/50 px-3 py-1.5 text-amber-200 active:bg-amber-500/10"
            >
              <span className="block">Always allow</span>
              {approval.alwaysAllows && (
                <span data-testid="always-allows" className="block text-xs font-normal break-words text-amber-200/75">
                  {approval.alwaysAllows}
                </span>
              )}
            </AnswerButton>
          )}
          {reason === null ? (
            <button
              type="button"
              data-testid="deny-tell"
              onClick={() => setReason('')}
              className="min-h-11 w-full text-sm text-red-200/90 active:bg-red-500/10"
            >
              Deny and tell Claude…
            </button>
          ) : (
            <div className="space-y-2">
              <textarea
                data-testid="deny-message"
                aria-label="What to tell Claude"
                placeholder="What Claude should do instead…"
                rows={2}
                value={reason}
                onChange={(e) => setReason(e.target.value)}
                className="w-full resize-none rounded-xl border border-line bg-black/40 px-3 py-2 text-neutral-100 outline-none focus:border-red-500/60"
              />
              <AnswerButton
                testid="deny-with-message"
                disabled={busy || !reason.trim()}
                onClick={() => onAnswer('deny', reason.trim())}
                className="w-full border border-red-500/50 text-red-200 active:bg-red-500/10"
              >
                Deny and tell Claude
              </AnswerButton>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
