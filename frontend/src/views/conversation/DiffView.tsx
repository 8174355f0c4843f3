// Diff hunks with colored lines: + added (green), − removed (red), context (gray).
import type { DiffHunk, DiffOp } from '../../types/cockpit';

const LINE: Record<DiffOp, { sign: string; cls: string }> = {
  add: { sign: '+', cls: 'bg-emerald-500/12 text-emerald-200' },
  remove: { sign: '−', cls: 'bg-red-500/12 text-red-200' },
  keep: { sign: ' ', cls: 'text-neutral-400' },
};

export function DiffView({ hunks }: { hunks: readonly DiffHunk[] }) {
  return (
    <div data-testid="diff" className="overflow-x-auto rounded-lg bg-black/40 py-1 font-mono text-[12px] leading-[1.5]">
      <div className="w-max min-w-full">
        {hunks.map((hunk, h) => (
          <div key={h}>
            <div className="px-2.5 text-sky-300/70">
              @@ −{hunk.old_start} +{hunk.new_start} @@
            </div>
            {hunk.lines.map((line, i) => {
              const look = LINE[line.op];
              return (
                <div key={i} data-op={line.op} className={`px-2.5 whitespace-pre ${look.cls}`}>
                  <span className="inline-block w-3 select-none opacity-70">{look.sign}</span>
                  {line.text}
                </div>
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}
