// A one-shot session's conversation as a structured transcript, from the Claude CLI's own
// JSONL record (`GET /api/sessions/{id}/transcript`): text, tool calls with their results.

export type TranscriptItem =
  | { kind: 'user'; text: string }
  | { kind: 'assistant'; text: string }
  | { kind: 'thinking'; text: string }
  | { kind: 'tool'; id: string; name: string; input: unknown; result?: string; isError?: boolean };

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((b) => (isObj(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : ''))
      .filter(Boolean)
      .join('\n');
  }
  return '';
}

/** Lines the CLI writes for itself (slash-command echoes, caveats), not the conversation. */
function isNoise(text: string): boolean {
  return /^\s*<(command-name|command-message|local-command-stdout|local-command-caveat|system-reminder)>/.test(text);
}

/** Turns transcript lines into items, pairing each tool call with its result. */
export function parseTranscript(entries: readonly unknown[]): TranscriptItem[] {
  const items: TranscriptItem[] = [];
  const tools = new Map<string, Extract<TranscriptItem, { kind: 'tool' }>>();
  for (const entry of entries) {
    if (!isObj(entry) || entry.isMeta === true || entry.isSidechain === true) continue;
    const message = isObj(entry.message) ? entry.message : null;
    if (!message) continue;
    const content = message.content;
    if (entry.type === 'user') {
      if (typeof content === 'string') {
        if (content.trim() && !isNoise(content)) items.push({ kind: 'user', text: content });
        continue;
      }
      if (!Array.isArray(content)) continue;
      for (const block of content) {
        if (!isObj(block)) continue;
        if (block.type === 'tool_result' && typeof block.tool_use_id === 'string') {
          const tool = tools.get(block.tool_use_id);
          const result = textOf(block.content);
          if (tool) {
            tool.result = result;
            tool.isError = block.is_error === true;
          }
        } else if (block.type === 'text' && typeof block.text === 'string' && block.text.trim() && !isNoise(block.text)) {
          items.push({ kind: 'user', text: block.text });
        }
      }
    } else if (entry.type === 'assistant') {
      if (!Array.isArray(content)) continue;
      for (const block of content) {
        if (!isObj(block)) continue;
        if (block.type === 'text' && typeof block.text === 'string' && block.text.trim()) {
          items.push({ kind: 'assistant', text: block.text });
        } else if (block.type === 'thinking' && typeof block.thinking === 'string' && block.thinking.trim()) {
          items.push({ kind: 'thinking', text: block.thinking });
        } else if (block.type === 'tool_use' && typeof block.id === 'string') {
          const tool: Extract<TranscriptItem, { kind: 'tool' }> = {
            kind: 'tool',
            id: block.id,
            name: typeof block.name === 'string' ? block.name : 'tool',
            input: block.input,
          };
          tools.set(block.id, tool);
          items.push(tool);
        }
      }
    }
  }
  return items;
}

/** A tool input in one line for a person: the command, the file, else compact JSON. */
export function describeInput(input: unknown): string {
  if (isObj(input)) {
    for (const key of ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description']) {
      const v = input[key];
      if (typeof v === 'string' && v) return v;
    }
  }
  if (input === undefined || input === null) return '';
  try {
    return JSON.stringify(input);
  } catch {
    return String(input);
  }
}

/** `$0.0123`, `$1.20`. */
export function formatCost(usd: number): string {
  if (!Number.isFinite(usd)) return '—';
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

/** `1,234`, `12.3k`, `4.5M`. */
export function formatTokens(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toLocaleString('en-US');
}
