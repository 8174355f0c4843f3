// One row of the conversation: a tool call (with its result and a task's nested steps) or any
// other entry. Rebuilt rows holding the same entries are not rendered again.
import { memo } from 'react';
import { sameRow, type TimelineRow as Row } from '../../lib/conversation';
import { EntryView } from './EntryView';
import { ToolCard } from './ToolCard';

export const TimelineRow = memo(
  function TimelineRow({ row }: { row: Row }) {
    if (row.kind === 'entry') return <EntryView entry={row.entry} />;
    return (
      <ToolCard row={row}>
        {row.steps.length > 0 ? row.steps.map((step) => <TimelineRow key={step.key} row={step} />) : undefined}
      </ToolCard>
    );
  },
  (a, b) => sameRow(a.row, b.row),
);
