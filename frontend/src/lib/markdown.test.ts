// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { markdownToHtml } from './markdown';

describe('markdownToHtml', () => {
  it('renders headings, emphasis and lists', () => {
    const html = markdownToHtml('# Title\n\nSome **bold** text\n\n- one\n- two');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toMatch(/<ul>\s*<li>one<\/li>\s*<li>two<\/li>\s*<\/ul>/);
  });

  it('gives code blocks their language and a Copy button, the code escaped', () => {
    const html = markdownToHtml('```rust\nfn main() { let a = 1 < 2; }\n```');
    expect(html).toContain('<span>rust</span>');
    expect(html).toContain('data-copy');
    expect(html).toContain('<code>fn main() { let a = 1 &lt; 2; }</code>');
  });

  it('removes scripts and event handlers', () => {
    const html = markdownToHtml('hi <script>alert(1)</script><img src="x" onerror="alert(2)"> [a](javascript:alert(3))');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('onerror');
    expect(html).not.toContain('javascript:');
  });

  it('opens links outside the app', () => {
    expect(markdownToHtml('[docs](https://example.com)')).toContain('target="_blank"');
  });
});
