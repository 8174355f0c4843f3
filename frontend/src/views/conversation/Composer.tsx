// The message box of the conversation: several lines, growing with its text up to a limit,
// and Send. Return makes a new line on a phone; Cmd/Ctrl+Return sends from a keyboard. While a
// usage limit holds the session it says so, and Send becomes "Send when it resumes".
import { useLayoutEffect, useRef, type FormEvent } from 'react';
import { SendButton, keepFocus } from '../../components/ui';

/** The tallest the box grows before it scrolls, in pixels. */
const MAX_HEIGHT = 160;

export function Composer({
  text,
  onText,
  onSend,
  sending,
  waiting = null,
}: {
  text: string;
  onText: (text: string) => void;
  onSend: () => void;
  sending: boolean;
  /** Why the session cannot take a message now (a usage limit), in plain words; null when it can. */
  waiting?: string | null;
}) {
  const box = useRef<HTMLTextAreaElement>(null);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(MAX_HEIGHT, el.scrollHeight)}px`;
  }, [text]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (text.trim() && !sending) onSend();
  };
  return (
    <form onSubmit={submit} className="pb-safe safe-x shrink-0 border-t border-line bg-[#0f0f0f] px-2 py-2">
      {waiting && (
        <div data-testid="composer-waiting" className="px-2 pb-2 text-xs text-violet-200">
          <span className="font-medium">{waiting}.</span>{' '}
          <span className="text-neutral-400">A message waits on this phone and is sent when the session resumes.</span>
        </div>
      )}
      <div className="flex items-end gap-2">
        <textarea
          ref={box}
          data-testid="composer"
          aria-label="Message"
          rows={1}
          placeholder="Message Claude…"
          autoCapitalize="sentences"
          autoComplete="off"
          value={text}
          onChange={(e) => onText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) submit(e);
          }}
          className="max-h-40 min-h-11 min-w-0 flex-1 resize-none rounded-[22px] border border-line bg-[#1c1c1c] px-4 py-[10px] leading-6 text-neutral-100 outline-none focus:border-amber-500/60"
        />
        {waiting ? (
          <button
            type="submit"
            data-testid="composer-queue"
            disabled={sending || !text.trim()}
            onPointerDown={keepFocus}
            onMouseDown={keepFocus}
            className="flex h-11 w-32 shrink-0 items-center justify-center rounded-full bg-violet-500 px-3 text-center text-[13px] leading-tight font-semibold text-white active:bg-violet-400 disabled:opacity-40"
          >
            Send when it resumes
          </button>
        ) : (
          <SendButton testid="composer-send" disabled={sending || !text.trim()} />
        )}
      </div>
    </form>
  );
}
