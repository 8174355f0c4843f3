// A session's conversation as the phone holds and shows it: the entries the conversation
// stream sent (`GET /api/sessions/{id}/conversation`), each once, and the timeline made of
// them (tool calls paired with their results, a subagent's work nested under its task).
import type { ConversationBatch, ConversationEntry, ConversationItem, ToolView } from '../types/cockpit';

export type ConversationState = {
  /** Every entry received, in the order the stream sent them, each key once. */
  entries: readonly ConversationEntry[];
  keys: ReadonlySet<string>;
};

export const emptyConversation: ConversationState = { entries: [], keys: new Set() };

/** Adds a batch's entries not held yet; the same state when there is none. */
export function applyBatch(state: ConversationState, batch: ConversationBatch): ConversationState {
  const keys = new Set(state.keys);
  const fresh = batch.entries.filter((e) => !keys.has(e.key) && keys.add(e.key));
  return fresh.length > 0 ? { entries: [...state.entries, ...fresh], keys } : state;
}

export type ToolCall = Extract<ConversationItem, { kind: 'tool_call' }>;
export type ToolResult = Extract<ConversationItem, { kind: 'tool_result' }>;

/** A tool call with its result (null while it runs) and, for a task, its subagent's steps. */
export type ToolRow = { kind: 'tool'; key: string; call: ToolCall; result: ToolResult | null; steps: TimelineRow[] };
/** Any other entry, shown as it is (a result whose call is unknown included). */
export type EntryRow = { kind: 'entry'; key: string; entry: ConversationEntry };
export type TimelineRow = ToolRow | EntryRow;

/**
 * The rows to show: each tool result joins its call (by id); a subagent's entries
 * (`sidechain`) go under the latest Task/Agent call still running (else the latest one).
 */
export function buildTimeline(entries: readonly ConversationEntry[]): TimelineRow[] {
  const top: TimelineRow[] = [];
  const calls = new Map<string, ToolRow>();
  const tasks: ToolRow[] = [];
  const containerFor = (entry: ConversationEntry): TimelineRow[] => {
    if (!entry.sidechain || tasks.length === 0) return top;
    for (let i = tasks.length - 1; i >= 0; i--) if (tasks[i].result === null) return tasks[i].steps;
    return tasks[tasks.length - 1].steps;
  };
  for (const entry of entries) {
    const item = entry.item;
    if (item.kind === 'tool_result') {
      const call = calls.get(item.tool_use_id);
      if (call && call.result === null) {
        call.result = item;
        continue;
      }
    }
    const container = containerFor(entry);
    if (item.kind === 'tool_call') {
      const row: ToolRow = { kind: 'tool', key: entry.key, call: item, result: null, steps: [] };
      calls.set(item.id, row);
      container.push(row);
      if (item.tool.detail.type === 'task' && !entry.sidechain) tasks.push(row);
    } else {
      container.push({ kind: 'entry', key: entry.key, entry });
    }
  }
  return top;
}

/** True when two rows show the same thing (the entries they hold are the same objects). */
export function sameRow(a: TimelineRow, b: TimelineRow): boolean {
  if (a.kind === 'entry' || b.kind === 'entry') return a.kind === b.kind && a.key === b.key && (a as EntryRow).entry === (b as EntryRow).entry;
  return (
    a.call === b.call &&
    a.result === b.result &&
    a.steps.length === b.steps.length &&
    a.steps.every((step, i) => sameRow(step, b.steps[i]))
  );
}

/** Every step under a row, nested ones included (a task's size). */
export function countSteps(row: ToolRow): number {
  return row.steps.reduce((n, step) => n + 1 + (step.kind === 'tool' ? countSteps(step) : 0), 0);
}

/** `03:03`, in the phone's time zone (or `timeZone`). */
export function clockTime(at: string, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone }).format(new Date(at));
}

/** A Cockpit note in words: its message, and the local time a wait ends when it has one. */
export function noteText(note: Extract<ConversationItem, { kind: 'note' }>, timeZone?: string): string {
  if (!note.until) return note.message;
  const wait = `waiting for a reset at ${clockTime(note.until, timeZone)}`;
  return note.message ? `${note.message} — ${wait}` : wait;
}

/** A tool call in one short line: a file change names the file, not its whole path. */
export function toolHeadline(tool: ToolView): string {
  const d = tool.detail;
  const file = (path: string) => path.split('/').filter(Boolean).pop() ?? path;
  if (d.type === 'diff') return `${file(d.path)} +${d.added} −${d.removed}`;
  if (d.type === 'content') return `${file(d.path)} · ${d.lines} line${d.lines === 1 ? '' : 's'}`;
  return tool.summary;
}
