// What a tool call does, in full, by kind of tool: a command, an Edit's diff, a Write's
// content, a lookup's or another tool's input, a subagent's task.
import type { ReactNode } from 'react';
import type { ToolView } from '../../types/cockpit';
import { DiffView } from './DiffView';

const PRE = 'overflow-auto rounded-lg bg-black/40 px-2.5 py-2 font-mono text-[12px] leading-[1.5] whitespace-pre-wrap break-words text-neutral-200';

function json(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? '';
  } catch {
    return String(value);
  }
}

function Cut({ what }: { what: string }) {
  return <div className="mt-1 text-[11px] text-neutral-500">{what} is cut here.</div>;
}

/** The file a call changes, then what `children` say of it: the lines added and removed, or its length. */
function FileLine({ path, children }: { path: string; children: ReactNode }) {
  return (
    <div className="flex items-center gap-2 font-mono text-[11px] text-neutral-400">
      <span className="min-w-0 flex-1 break-all">{path}</span>
      {children}
    </div>
  );
}

export function ToolDetail({ tool, maxHeight = 'max-h-80' }: { tool: ToolView; maxHeight?: string }) {
  const d = tool.detail;
  switch (d.type) {
    case 'command':
      return (
        <div data-testid="tool-command" className="space-y-1.5">
          {d.description && <div className="text-xs text-neutral-400">{d.description}</div>}
          <pre className={`${PRE} ${maxHeight}`}>
            <span className="text-neutral-500 select-none">$ </span>
            {d.command}
          </pre>
        </div>
      );
    case 'diff':
      return (
        <div data-testid="tool-diff" className="space-y-1.5">
          <FileLine path={d.path}>
            <span className="text-emerald-300">+{d.added}</span>
            <span className="text-red-300">−{d.removed}</span>
          </FileLine>
          <div className={`${maxHeight} overflow-y-auto`}>
            <DiffView hunks={d.hunks} />
          </div>
          {d.truncated && <Cut what="The change" />}
        </div>
      );
    case 'content':
      return (
        <div data-testid="tool-content" className="space-y-1.5">
          <FileLine path={d.path}>
            <span>
              {d.lines} line{d.lines === 1 ? '' : 's'}
            </span>
          </FileLine>
          <pre className={`${PRE} ${maxHeight}`}>{d.content || '(empty file)'}</pre>
          {d.truncated && <Cut what="The content" />}
        </div>
      );
    case 'task':
      return (
        <div data-testid="tool-task" className="space-y-1.5">
          {d.agent && <div className="text-[11px] text-neutral-500">Subagent: {d.agent}</div>}
          <pre className={`${PRE} ${maxHeight}`}>{d.prompt}</pre>
        </div>
      );
    case 'lookup':
    case 'other':
      return <pre className={`${PRE} ${maxHeight}`}>{json(d.input)}</pre>;
  }
}
