// The line a session's row shows under its name when nothing waits for the person: Claude's
// latest words (the last line of its last answer, markdown marks dropped), else the prompt.
import type { SessionView } from '../types/cockpit';

/** The last non-empty line of `text`, without leading markdown marks (`#`, `-`, `>`, `1.`). */
export function lastLine(text: string): string | null {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(```|---+|\*\*\*+)/.test(l));
  const last = lines.at(-1);
  if (!last) return null;
  return last.replace(/^(#{1,6}\s+|[-*+]\s+|>\s*|\d+[.)]\s+)/, '').replace(/\*\*|__|`/g, '') || null;
}

/** Claude's latest line for a session (live words first), else its first prompt. */
export function latestLine(s: SessionView): string | null {
  const words = s.live?.lastMessage ?? s.status.lastMessage;
  return (words ? lastLine(words) : null) ?? s.spec.prompt ?? null;
}
