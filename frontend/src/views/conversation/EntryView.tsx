// One conversation entry other than a tool call: a message, Claude's markdown, thinking
// (collapsed), an API error, a compaction, a Cockpit note on the timeline, an unknown entry.
import { useState } from 'react';
import { noteText } from '../../lib/conversation';
import type { ConversationEntry } from '../../types/cockpit';
import { Markdown } from './Markdown';

function Disclosure({ label, testid, children }: { label: string; testid: string; children: string }) {
  const [open, setOpen] = useState(false);
  return (
    <div data-testid={testid}>
      <button
        type="button"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        className="flex min-h-11 items-center gap-1.5 text-sm text-neutral-500 italic"
      >
        <span className={`inline-block transition-transform ${open ? 'rotate-90' : ''}`}>›</span>
        {label}
      </button>
      {open && <div className="border-l-2 border-neutral-700 pl-3 text-sm whitespace-pre-wrap text-neutral-500">{children}</div>}
    </div>
  );
}

function TimelineLine({ testid, reason, text, tone = 'text-neutral-500' }: { testid: string; reason?: string; text: string; tone?: string }) {
  return (
    <div data-testid={testid} data-reason={reason} className="flex items-center gap-2 py-1">
      <span className="h-px flex-1 bg-line" />
      <span className={`max-w-[80%] text-center text-xs ${tone}`}>{text}</span>
      <span className="h-px flex-1 bg-line" />
    </div>
  );
}

const NOTE_TONE: Record<string, string> = {
  Rotated: 'text-violet-300',
  RateLimited: 'text-violet-300',
  Failed: 'text-red-300',
  WorkerLost: 'text-red-300',
  Denied: 'text-red-300/90',
  Approved: 'text-emerald-300/90',
  ApprovedAlways: 'text-emerald-300/90',
};

export function EntryView({ entry }: { entry: ConversationEntry }) {
  const item = entry.item;
  switch (item.kind) {
    case 'user':
      return (
        <div className="flex justify-end">
          <div data-testid="c-user" className="ml-8 rounded-2xl rounded-br-md bg-neutral-800 px-3.5 py-2 text-[15px] break-words whitespace-pre-wrap text-neutral-100">
            {item.text}
          </div>
        </div>
      );
    case 'assistant':
      return (
        <div data-testid="c-assistant">
          <Markdown text={item.text} />
        </div>
      );
    case 'thinking':
      return <Disclosure label="Thinking" testid="c-thinking">{item.text}</Disclosure>;
    case 'tool_result':
      return (
        <div data-testid="c-result" className="rounded-lg bg-black/40 px-3 py-2 font-mono text-xs whitespace-pre-wrap text-neutral-400">
          {item.output || '(no output)'}
        </div>
      );
    case 'api_error':
      return (
        <div data-testid="c-api-error" className="rounded-xl border border-red-500/30 bg-red-950/30 px-3 py-2 text-sm text-red-200">
          {item.text}
        </div>
      );
    case 'compaction':
      return <Disclosure label="The conversation was compacted — summary" testid="c-compaction">{item.summary}</Disclosure>;
    case 'note':
      return <TimelineLine testid="c-note" reason={item.reason} text={noteText(item)} tone={NOTE_TONE[item.reason]} />;
    case 'unknown':
      return <TimelineLine testid="c-unknown" text={`unknown entry (${item.what})`} tone="text-neutral-600" />;
    case 'tool_call':
      // Tool calls are rows of their own (ToolCard).
      return null;
  }
}
