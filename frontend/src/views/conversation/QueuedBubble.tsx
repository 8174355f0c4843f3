// A message kept on the phone until the session resumes: shown as the person's next message,
// with what happens to it (it waits, it is being sent, it was not sent and why) and Cancel.
import { Spinner } from '../../components/ui';
import type { QueuedMessage } from '../../lib/queued-message';

export function QueuedBubble({
  queued,
  sending,
  ended,
  onCancel,
  onRetry,
}: {
  queued: QueuedMessage;
  sending: boolean;
  /** The session is over: the message will never be sent. */
  ended: boolean;
  onCancel: () => void;
  onRetry: () => void;
}) {
  return (
    <div data-testid="queued" data-state={ended ? 'ended' : queued.error !== undefined ? 'failed' : sending ? 'sending' : 'waiting'} className="mb-3 flex flex-col items-end">
      <div
        data-testid="queued-text"
        className="ml-8 rounded-2xl rounded-br-md border border-dashed border-neutral-600 bg-neutral-800/60 px-3.5 py-2 text-[15px] break-words whitespace-pre-wrap text-neutral-200"
      >
        {queued.text}
      </div>
      <div className="mt-1 flex items-center gap-1 text-xs">
        {ended ? (
          <span data-testid="queued-ended" className="text-neutral-400">
            Not sent: the session has ended
          </span>
        ) : queued.error !== undefined ? (
          <span data-testid="queued-error" role="alert" className="text-red-300">
            Not sent: {queued.error}
          </span>
        ) : sending ? (
          <span className="flex items-center gap-1.5 text-neutral-400">
            <Spinner /> Sending…
          </span>
        ) : (
          <span data-testid="queued-status" className="text-neutral-400">
            Kept on this phone: sent when the session resumes
          </span>
        )}
        {!ended && queued.error !== undefined && (
          <button
            type="button"
            data-testid="queued-retry"
            onClick={onRetry}
            className="min-h-11 min-w-11 rounded-full px-3 font-medium text-amber-300 active:bg-white/10"
          >
            Try again
          </button>
        )}
        <button
          type="button"
          data-testid="queued-cancel"
          disabled={sending}
          onClick={onCancel}
          className="min-h-11 min-w-11 rounded-full px-3 font-medium text-neutral-300 active:bg-white/10 disabled:opacity-40"
        >
          {ended ? 'Dismiss' : 'Cancel'}
        </button>
      </div>
    </div>
  );
}
