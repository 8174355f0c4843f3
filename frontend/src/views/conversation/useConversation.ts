// A session's live conversation: the stream's entries held once each, as timeline rows.
import { useEffect, useMemo, useReducer, useState } from 'react';
import { applyBatch, buildTimeline, emptyConversation, type ConversationState, type TimelineRow } from '../../lib/conversation';
import { ConversationStream, type StreamStatus } from '../../lib/conversation-stream';
import type { ConversationBatch, SessionId } from '../../types/cockpit';

type Action = { type: 'batch'; batch: ConversationBatch } | { type: 'restart' };

function reduce(state: ConversationState, action: Action): ConversationState {
  return action.type === 'batch' ? applyBatch(state, action.batch) : emptyConversation;
}

/** How long the page may be hidden before coming back reopens the stream (iOS may have cut it). */
const HIDDEN_MS = 1000;

export function useConversation(sessionId: SessionId): { rows: TimelineRow[]; status: StreamStatus; loaded: boolean } {
  const [state, dispatch] = useReducer(reduce, emptyConversation);
  const [status, setStatus] = useState<StreamStatus>('connecting');
  // True once the stream answered (a conversation with nothing in it sends no batch).
  const [answered, setAnswered] = useState(false);

  useEffect(() => {
    const stream = new ConversationStream({
      sessionId,
      onBatch: (batch) => dispatch({ type: 'batch', batch }),
      onRestart: () => dispatch({ type: 'restart' }),
      onStatus: (s) => {
        setStatus(s);
        if (s === 'live') setAnswered(true);
      },
    });
    stream.open();
    let hiddenAt = 0;
    const onVisibility = () => {
      if (document.visibilityState === 'hidden') hiddenAt = Date.now();
      else if (Date.now() - hiddenAt > HIDDEN_MS) stream.open();
    };
    const onOnline = () => stream.open();
    document.addEventListener('visibilitychange', onVisibility);
    window.addEventListener('online', onOnline);
    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      window.removeEventListener('online', onOnline);
      stream.close();
    };
  }, [sessionId]);

  // For diagnostics and the end-to-end tests: the keys held, in order.
  useEffect(() => {
    (window as unknown as { __conversation?: unknown }).__conversation = { keys: state.entries.map((e) => e.key) };
  }, [state.entries]);

  const rows = useMemo(() => buildTimeline(state.entries), [state.entries]);
  return { rows, status, loaded: answered || state.entries.length > 0 };
}
