// Claude's markdown as safe HTML: rendered by marked, sanitized by DOMPurify. Code blocks get
// a Copy button (`data-copy`), handled by the component that shows the HTML; links open
// outside the app.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    code({ text, lang }) {
      const language = (lang ?? '').split(/\s/)[0];
      return (
        `<div class="md-code"><div class="md-code-bar"><span>${escapeHtml(language)}</span>` +
        `<button type="button" data-copy aria-label="Copy code">Copy</button></div>` +
        `<pre><code>${escapeHtml(text)}</code></pre></div>`
      );
    },
  },
});

let hooked = false;
function sanitize(html: string): string {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
    });
    hooked = true;
  }
  return DOMPurify.sanitize(html);
}

const cache = new Map<string, string>();
const CACHE_SIZE = 400;

/** The sanitized HTML of `text` (remembered: a scrolled list renders the same texts again). */
export function markdownToHtml(text: string): string {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const html = sanitize(marked.parse(text, { async: false }));
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(text, html);
  return html;
}
