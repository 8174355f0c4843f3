// A tool call with its result: a Bash command with its output, an Edit's diff, a Write's
// content open at once; a lookup, another tool or a subagent's task as one line that opens.
// A task's steps (`children`) show under it.
import { useState, type ReactNode } from 'react';
import { Spinner } from '../../components/ui';
import { countSteps, toolHeadline, type ToolRow } from '../../lib/conversation';
import { ToolDetail } from './ToolDetail';

const OPEN_AT_ONCE = new Set(['command', 'diff', 'content']);

function Status({ row }: { row: ToolRow }) {
  if (row.result === null) return <Spinner className="shrink-0" />;
  if (row.result.is_error) return <span className="shrink-0 text-xs text-red-300">failed</span>;
  return <span className="shrink-0 text-xs text-emerald-300">done</span>;
}

function Output({ row }: { row: ToolRow }) {
  const result = row.result;
  if (!result) return null;
  return (
    <div data-testid="tool-output">
      <pre
        className={`max-h-64 overflow-auto rounded-lg px-2.5 py-2 font-mono text-[12px] leading-[1.5] break-words whitespace-pre-wrap ${
          result.is_error ? 'bg-red-950/40 text-red-200' : 'bg-black/40 text-neutral-300'
        }`}
      >
        {result.output || '(no output)'}
      </pre>
      {result.truncated && <div className="mt-1 text-[11px] text-neutral-500">The output is cut here.</div>}
    </div>
  );
}

export function ToolCard({ row, children }: { row: ToolRow; children?: ReactNode }) {
  const { tool } = row.call;
  const [open, setOpen] = useState(OPEN_AT_ONCE.has(tool.detail.type));
  const steps = countSteps(row);
  // After a diff or a file's content, "file updated" adds nothing; a failure does.
  const showOutput = !!row.result?.is_error || (tool.detail.type !== 'diff' && tool.detail.type !== 'content');
  return (
    <div data-testid="tool-card" data-tool={tool.name} data-detail={tool.detail.type} className="rounded-xl border border-line bg-panel">
      <button
        type="button"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        className="flex min-h-11 w-full items-center gap-2 px-3 py-2 text-left"
      >
        <span className="shrink-0 rounded-md bg-sky-500/15 px-1.5 py-0.5 font-mono text-xs text-sky-300">{tool.name}</span>
        <span data-testid="tool-summary" className="min-w-0 flex-1 truncate font-mono text-xs text-neutral-300">
          {toolHeadline(tool)}
        </span>
        {steps > 0 && <span className="shrink-0 text-[11px] text-neutral-500">{steps} steps</span>}
        <Status row={row} />
      </button>
      {open && (
        <div className="space-y-2 border-t border-line px-3 py-2.5">
          <ToolDetail tool={tool} />
          {showOutput && <Output row={row} />}
          {children && <div className="space-y-2 border-l-2 border-neutral-700 pl-2.5">{children}</div>}
        </div>
      )}
    </div>
  );
}
