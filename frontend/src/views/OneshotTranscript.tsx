import { useEffect, useState } from 'react';
import { Card, Spinner, Stat } from '../components/ui';
import { api } from '../lib/api';
import { isSessionOver } from '../lib/session-over';
import { describeInput, formatCost, formatTokens, parseTranscript, type TranscriptItem } from '../lib/transcript';
import type { SessionView } from '../types/cockpit';

function Item({ item }: { item: TranscriptItem }) {
  switch (item.kind) {
    case 'user':
      return (
        <div data-testid="t-user" className="ml-8 self-end rounded-2xl rounded-br-md bg-neutral-800 px-3.5 py-2 text-[15px] whitespace-pre-wrap text-neutral-100">
          {item.text}
        </div>
      );
    case 'assistant':
      return (
        <div data-testid="t-assistant" className="mr-4 text-[15px] leading-relaxed whitespace-pre-wrap text-neutral-200">
          {item.text}
        </div>
      );
    case 'thinking':
      return <div className="border-l-2 border-neutral-700 pl-3 text-sm whitespace-pre-wrap text-neutral-500 italic">{item.text}</div>;
    case 'tool':
      return (
        <details data-testid="t-tool" className="rounded-xl border border-line bg-panel">
          <summary className="flex cursor-pointer list-none items-center gap-2 px-3 py-2">
            <span className="rounded-md bg-sky-500/15 px-1.5 py-0.5 font-mono text-xs text-sky-300">{item.name}</span>
            <span className="min-w-0 flex-1 truncate font-mono text-xs text-neutral-300">{describeInput(item.input)}</span>
            {item.result === undefined ? (
              <Spinner />
            ) : item.isError ? (
              <span className="text-xs text-red-300">failed</span>
            ) : (
              <span className="text-xs text-emerald-300">done</span>
            )}
          </summary>
          {item.result !== undefined && (
            <pre className="max-h-64 overflow-auto border-t border-line px-3 py-2 font-mono text-xs whitespace-pre-wrap text-neutral-400">
              {item.result || '(no output)'}
            </pre>
          )}
        </details>
      );
  }
}

export function OneshotTranscript({ session, onRefresh }: { session: SessionView; onRefresh: () => Promise<void> }) {
  const [entries, setEntries] = useState<unknown[]>([]);
  const [loaded, setLoaded] = useState(false);
  const over = isSessionOver(session);
  const id = session.id;
  const conversation = session.status.claudeSessionId;

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const all: unknown[] = [];
        let after = 0;
        for (;;) {
          const page = await api.transcript({ id, query: { after, limit: 500 } });
          all.push(...page.entries);
          if (page.next === undefined) break;
          after = page.next;
        }
        if (!stop) {
          setEntries(all);
          setLoaded(true);
        }
      } catch {
        /* keep what we have */
      }
      if (!stop && !over) timer = setTimeout(load, 1500);
    };
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [id, over, conversation]);

  useEffect(() => {
    if (over) void onRefresh();
  }, [over, onRefresh]);

  const items = parseTranscript(entries);
  const result = session.status.result;
  const live = session.live?.oneshotResult;
  return (
    <div data-testid="oneshot" className="scroll-y safe-x min-h-0 flex-1">
      <div className="flex flex-col gap-3 px-4 py-4">
        {session.spec.prompt && !items.some((i) => i.kind === 'user') && (
          <div data-testid="t-user" className="ml-8 self-end rounded-2xl rounded-br-md bg-neutral-800 px-3.5 py-2 text-[15px] whitespace-pre-wrap">
            {session.spec.prompt}
          </div>
        )}
        {items.map((item, i) => (
          <Item key={i} item={item} />
        ))}
        {!over && (
          <div className="flex items-center gap-2 text-sm text-neutral-500">
            <Spinner /> {loaded ? 'Working…' : 'Starting…'}
          </div>
        )}
        {result && (
          <Card testid="oneshot-result" className={result.isError ? 'border-red-500/40' : ''}>
            <div className={`mb-3 text-xs font-semibold tracking-wide uppercase ${result.isError ? 'text-red-300' : 'text-emerald-300'}`}>
              {result.isError ? 'Ended with an error' : 'Result'}
            </div>
            {!items.some((i) => i.kind === 'assistant' && i.text === result.text) && (
              <div data-testid="result-text" className="mb-3 text-[15px] whitespace-pre-wrap text-neutral-100">
                {result.text}
              </div>
            )}
            <div className="grid grid-cols-3 gap-3">
              <Stat label="Cost" value={formatCost(result.costUsd)} testid="result-cost" />
              <Stat label="Input" value={formatTokens(result.tokens.inputTokens + result.tokens.cacheReadInputTokens + result.tokens.cacheCreationInputTokens)} testid="result-input" />
              <Stat label="Output" value={formatTokens(result.tokens.outputTokens)} testid="result-output" />
              {live && <Stat label="Turns" value={live.numTurns} />}
              {live && <Stat label="Time" value={`${(live.durationMs / 1000).toFixed(1)} s`} />}
              {result.tokens.cacheReadInputTokens > 0 && <Stat label="Cache read" value={formatTokens(result.tokens.cacheReadInputTokens)} />}
            </div>
          </Card>
        )}
        {over && !result && session.status.message && (
          <Card className="text-sm text-neutral-300">{session.status.message}</Card>
        )}
      </div>
    </div>
  );
}
