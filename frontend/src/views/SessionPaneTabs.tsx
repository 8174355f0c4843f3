// The three views of an interactive session, one tap apart.
import type { SessionPane } from '../router';

const PANES: { pane: SessionPane; label: string }[] = [
  { pane: 'conversation', label: 'Conversation' },
  { pane: 'terminal', label: 'Terminal' },
  { pane: 'changes', label: 'Changes' },
];

export function SessionPaneTabs({ pane, onPane }: { pane: SessionPane; onPane: (pane: SessionPane) => void }) {
  return (
    <div role="tablist" aria-label="Session view" className="safe-x flex shrink-0 gap-1 border-b border-line px-2 py-1">
      {PANES.map((p) => (
        <button
          key={p.pane}
          type="button"
          role="tab"
          aria-selected={pane === p.pane}
          data-testid={`pane-${p.pane}`}
          onClick={() => onPane(p.pane)}
          className={`h-11 flex-1 rounded-lg text-sm font-medium ${
            pane === p.pane ? 'bg-neutral-800 text-neutral-100' : 'text-neutral-500 active:bg-white/5'
          }`}
        >
          {p.label}
        </button>
      ))}
    </div>
  );
}
