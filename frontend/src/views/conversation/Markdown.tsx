// Claude's markdown, sanitized; a code block's Copy button copies its code.
import { useMemo, type MouseEvent } from 'react';
import { copyText } from '../../lib/clipboard';
import { markdownToHtml } from '../../lib/markdown';
import './markdown.css';

function onCopyClick(e: MouseEvent<HTMLDivElement>) {
  const button = (e.target as HTMLElement).closest('button[data-copy]');
  const code = button?.closest('.md-code')?.querySelector('code');
  if (!button || !code) return;
  void copyText(code.textContent ?? '').then((ok) => {
    button.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  });
}

export function Markdown({ text }: { text: string }) {
  const html = useMemo(() => markdownToHtml(text), [text]);
  return <div data-testid="markdown" className="md" onClick={onCopyClick} dangerouslySetInnerHTML={{ __html: html }} />;
}
