import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { PendingApproval } from '../../types/cockpit';
import { ApprovalCard } from './ApprovalCard';
import { Composer } from './Composer';

const card = (approval: PendingApproval) =>
  renderToStaticMarkup(
    createElement(ApprovalCard, { approval, onAnswer: () => {}, busy: false, error: null, held: null, unanswerable: null, detailHeight: 'max-h-32' }),
  );

const request: PendingApproval = { id: 'r1', tool: 'Bash', input: { command: 'npm test' }, answerable: true };

describe('the approval card', () => {
  it('says what Always allow grants', () => {
    const html = card({ ...request, suggestions: [{ type: 'addRules' }], alwaysAllows: 'Bash(npm test)' });
    expect(html).toMatch(/data-testid="allow-always"[^>]*><span[^>]*>Always allow<\/span><span data-testid="always-allows"[^>]*>Bash\(npm test\)<\/span><\/button>/);
    expect(card({ ...request, alwaysAllows: 'accept edits for this session' })).toContain('>accept edits for this session<');
  });

  it('offers no Always allow when the CLI offers nothing to grant', () => {
    expect(card(request)).not.toContain('allow-always');
  });

  it('keeps Always allow without words when only the rules are known', () => {
    const html = card({ ...request, suggestions: [{ type: 'addRules' }] });
    expect(html).toContain('data-testid="allow-always"');
    expect(html).not.toContain('always-allows');
  });
});

describe('the composer', () => {
  const composer = (waiting: string | null) =>
    renderToStaticMarkup(createElement(Composer, { text: 'go on', onText: () => {}, onSend: () => {}, sending: false, waiting }));

  it('says why the session waits and offers to send when it resumes', () => {
    const html = composer('Every account is limited until 6:06 PM');
    expect(html).toContain('Every account is limited until 6:06 PM.');
    expect(html).toContain('data-testid="composer-queue"');
    expect(html).toContain('Send when it resumes');
    expect(html).not.toContain('composer-send');
  });

  it('sends at once when nothing holds the session', () => {
    const html = composer(null);
    expect(html).toContain('data-testid="composer-send"');
    expect(html).not.toContain('composer-waiting');
  });
});
