// What the session changed in its worktree against the commit its branch started from: the
// branch, each file with its +/− counts, a file's diff on tap. Read-only.
import { useCallback, useEffect, useState } from 'react';
import { Spinner } from '../components/ui';
import { api } from '../lib/api';
import type { ChangesView, FileChange, FileStatus, SessionId } from '../types/cockpit';
import { DiffView } from './conversation/DiffView';

const STATUS: Record<FileStatus, { letter: string; cls: string; label: string }> = {
  added: { letter: 'A', cls: 'bg-emerald-500/15 text-emerald-300', label: 'added' },
  modified: { letter: 'M', cls: 'bg-sky-500/15 text-sky-300', label: 'modified' },
  deleted: { letter: 'D', cls: 'bg-red-500/15 text-red-300', label: 'deleted' },
};

function FileRow({ file }: { file: FileChange }) {
  const [open, setOpen] = useState(false);
  const status = STATUS[file.status];
  return (
    <li data-testid="change-file" data-path={file.path} className="border-b border-line">
      <button
        type="button"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        className="flex min-h-12 w-full items-center gap-2.5 px-3 py-2 text-left active:bg-white/5"
      >
        <span aria-label={status.label} className={`w-5 shrink-0 rounded text-center font-mono text-[11px] leading-5 font-bold ${status.cls}`}>
          {status.letter}
        </span>
        <span className="min-w-0 flex-1 truncate font-mono text-[13px] text-neutral-200">{file.path}</span>
        <span data-testid="change-counts" className="shrink-0 font-mono text-xs tabular-nums">
          <span className="text-emerald-300">+{file.added}</span> <span className="text-red-300">−{file.removed}</span>
        </span>
      </button>
      {open && (
        <div className="px-3 pb-3">
          {file.binary ? (
            <div className="text-xs text-neutral-500">A binary file: no line diff.</div>
          ) : file.hunks.length === 0 ? (
            <div className="text-xs text-neutral-500">No line changes (an empty file, or only its mode changed).</div>
          ) : (
            <DiffView hunks={file.hunks} />
          )}
          {file.truncated && <div className="mt-1 text-[11px] text-neutral-500">The file is too large: the diff covers its start.</div>}
        </div>
      )}
    </li>
  );
}

function Summary({ changes }: { changes: ChangesView }) {
  const added = changes.files.reduce((n, f) => n + f.added, 0);
  const removed = changes.files.reduce((n, f) => n + f.removed, 0);
  return (
    <div className="border-b border-line px-3 py-2.5">
      <div className="flex items-center gap-2 text-sm">
        <span className="text-neutral-500">Branch</span>
        <span data-testid="changes-branch" className="min-w-0 truncate font-mono text-neutral-100">
          {changes.branch}
        </span>
        {changes.base && <span className="shrink-0 text-xs text-neutral-500">from {changes.base}</span>}
      </div>
      <div className="mt-0.5 text-xs text-neutral-400">
        {changes.files.length} file{changes.files.length === 1 ? '' : 's'} changed ·{' '}
        <span className="text-emerald-300">+{added}</span> <span className="text-red-300">−{removed}</span>
        {changes.truncated && ' · more files changed than are listed'}
      </div>
    </div>
  );
}

export function Changes({ sessionId }: { sessionId: SessionId }) {
  const [changes, setChanges] = useState<ChangesView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const load = useCallback(() => {
    setLoading(true);
    api
      .changes({ id: sessionId })
      .then((c) => {
        setChanges(c);
        setError(null);
      })
      .catch((err: Error) => setError(err.message))
      .finally(() => setLoading(false));
  }, [sessionId]);
  useEffect(load, [load]);

  return (
    <div data-testid="changes" className="scroll-y safe-x min-h-0 flex-1">
      {error && <div className="px-3 py-2 text-sm text-red-300">Could not load the changes: {error}</div>}
      {!changes ? (
        loading && (
          <div className="flex justify-center py-10">
            <Spinner />
          </div>
        )
      ) : !changes.branch ? (
        <div data-testid="changes-plain" className="px-6 py-10 text-center text-sm text-neutral-400">
          This session works in a plain directory, not a git worktree: there are no changes to show.
        </div>
      ) : (
        <>
          <Summary changes={changes} />
          {changes.files.length === 0 ? (
            <div data-testid="changes-none" className="px-6 py-10 text-center text-sm text-neutral-400">
              No changes yet.
            </div>
          ) : (
            <ul>
              {changes.files.map((f) => (
                <FileRow key={f.path} file={f} />
              ))}
            </ul>
          )}
        </>
      )}
      <div className="flex justify-center py-3">
        <button
          type="button"
          data-testid="changes-refresh"
          onClick={load}
          disabled={loading}
          className="flex min-h-11 items-center gap-2 rounded-full px-5 text-sm text-amber-300 active:bg-white/10 disabled:opacity-50"
        >
          {loading && changes ? <Spinner /> : null} Refresh
        </button>
      </div>
    </div>
  );
}
