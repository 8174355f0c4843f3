// The conversation, live: a virtualized timeline that follows the latest entry unless the
// person scrolled up (then "Latest" brings them back), with `footer` (the approval card, what
// Claude is doing) after the last entry.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Spinner } from '../../components/ui';
import type { SessionId } from '../../types/cockpit';
import { TimelineRow } from './TimelineRow';
import { useConversation } from './useConversation';

/** How close to the end still counts as "at the latest", in pixels. */
const NEAR_END = 48;
/** How long after a touch or a wheel a scroll counts as the person's own (iOS momentum). */
const GESTURE_MS = 1200;

export function Conversation({ sessionId, footer }: { sessionId: SessionId; footer: ReactNode }) {
  const { rows, status, loaded } = useConversation(sessionId);
  const scroller = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  // Follow the latest entry until the person scrolls away from it.
  const follow = useRef(true);
  const gestureUntil = useRef(0);
  const lastTop = useRef(0);
  const [atLatest, setAtLatest] = useState(true);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 120,
    overscan: 6,
    paddingStart: 12,
    getItemKey: (i) => rows[i].key,
  });

  const toLatest = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  };

  // Whatever grows (a new entry, a row measured, the approval card), stay at the latest.
  useEffect(() => {
    const el = content.current;
    if (!el) return;
    const observer = new ResizeObserver(() => follow.current && toLatest());
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // A message just sent (here or in the terminal) brings the latest entry back.
  const last = rows.at(-1);
  const lastIsNewMessage = last?.kind === 'entry' && last.entry.item.kind === 'user' ? last.key : null;
  useEffect(() => {
    if (!lastIsNewMessage) return;
    follow.current = true;
    setAtLatest(true);
    toLatest();
  }, [lastIsNewMessage]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const near = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_END;
    const up = el.scrollTop < lastTop.current;
    lastTop.current = el.scrollTop;
    // Only the person scrolling up leaves the latest entry: not the list re-measuring its
    // rows, not a card that shrinks, not a field scrolled into view.
    if (near) follow.current = true;
    else if (up && Date.now() < gestureUntil.current) follow.current = false;
    setAtLatest(near || follow.current);
  };
  const gesture = () => {
    gestureUntil.current = Date.now() + GESTURE_MS;
  };

  return (
    <div className="relative flex min-h-0 flex-1 flex-col">
      {status === 'down' && (
        <div data-testid="conversation-reconnecting" className="shrink-0 bg-neutral-800 px-3 py-1 text-center text-[11px] text-neutral-300">
          The conversation is reconnecting…
        </div>
      )}
      <div
        ref={scroller}
        data-testid="conversation"
        data-status={status}
        onScroll={onScroll}
        onTouchStart={gesture}
        onTouchMove={gesture}
        onTouchEnd={gesture}
        onWheel={gesture}
        className="scroll-y safe-x min-h-0 flex-1"
      >
        <div ref={content} className="pb-3">
          <div className="relative w-full" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const row = rows[item.index];
              return (
                <div
                  key={item.key}
                  ref={virtualizer.measureElement}
                  data-index={item.index}
                  data-testid="c-row"
                  data-key={row.key}
                  className="absolute top-0 left-0 w-full px-3 pb-3"
                  style={{ transform: `translateY(${item.start}px)` }}
                >
                  <TimelineRow row={row} />
                </div>
              );
            })}
          </div>
          {!loaded ? (
            <div className="flex items-center justify-center gap-2 py-10 text-sm text-neutral-500">
              <Spinner /> Loading the conversation…
            </div>
          ) : (
            rows.length === 0 && <div className="py-10 text-center text-sm text-neutral-500">Nothing said yet.</div>
          )}
          <div className="px-3">{footer}</div>
        </div>
      </div>
      {!atLatest && (
        <button
          type="button"
          data-testid="jump-latest"
          onClick={() => {
            follow.current = true;
            setAtLatest(true);
            toLatest();
          }}
          className="absolute bottom-3 left-1/2 flex h-11 -translate-x-1/2 items-center gap-1.5 rounded-full border border-line bg-neutral-800/95 px-4 text-sm font-medium text-neutral-100 shadow-lg active:bg-neutral-700"
        >
          ↓ Latest
        </button>
      )}
    </div>
  );
}
