// @vitest-environment jsdom
// The approval card, tapped: which answer each button gives, the message for Claude, a held
// message, a request only the terminal can answer.
import { afterEach, describe, expect, it } from 'vitest';
import { click, render, typeInto, unmountAll, type Rendered } from '../../test/render';
import type { ApprovalDecision, PendingApproval } from '../../types/cockpit';
import { ApprovalCard } from './ApprovalCard';

const request: PendingApproval = { id: 'r1', tool: 'Bash', input: { command: 'rm -rf build' }, answerable: true };

type Answer = [ApprovalDecision, string | undefined];

function card(over: { approval?: PendingApproval; busy?: boolean; held?: string | null; error?: string | null } = {}) {
  const answers: Answer[] = [];
  const view = render(
    <ApprovalCard
      approval={over.approval ?? request}
      onAnswer={(decision, message) => answers.push([decision, message])}
      busy={over.busy ?? false}
      error={over.error ?? null}
      held={over.held ?? null}
      unanswerable={<button type="button" data-testid="go-to-terminal" />}
      detailHeight="max-h-32"
    />,
  );
  return { view, answers };
}

const button = (v: Rendered, testid: string) => v.get(testid) as HTMLButtonElement;

afterEach(unmountAll);

describe('the approval card', () => {
  it('says which tool asks and what it would run', () => {
    const { view: v } = card();
    expect(v.get('approval-tool').textContent).toBe('Bash');
    expect(v.get('approval-input').textContent).toBe('rm -rf build');
  });

  it('answers Allow, Deny and Always allow with their decisions', () => {
    const { view: v, answers } = card({ approval: { ...request, alwaysAllows: 'Bash(rm:*)' } });
    click(v.get('allow'));
    click(v.get('deny'));
    click(v.get('allow-always'));
    expect(answers).toEqual([
      ['allow', undefined],
      ['deny', undefined],
      ['allow_always', undefined],
    ]);
  });

  it('denies with a message for Claude only once there is one, trimmed', () => {
    const { view: v, answers } = card();
    expect(v.query('deny-message')).toBeNull();
    click(v.get('deny-tell'));
    expect(button(v, 'deny-with-message').disabled).toBe(true);
    typeInto(v.get('deny-message') as HTMLTextAreaElement, '  use the clean script  ');
    expect(button(v, 'deny-with-message').disabled).toBe(false);
    click(v.get('deny-with-message'));
    expect(answers).toEqual([['deny', 'use the clean script']]);
  });

  it('offers a held message as the reason, saying why it was not sent', () => {
    const { view: v, answers } = card({ held: 'try make clean' });
    expect(v.get('message-held').textContent).toContain('Your message was not sent');
    expect((v.get('deny-message') as HTMLTextAreaElement).value).toBe('try make clean');
    click(v.get('deny-with-message'));
    expect(answers).toEqual([['deny', 'try make clean']]);
  });

  it('holds every answer while one is under way', () => {
    const { view: v, answers } = card({ busy: true, approval: { ...request, suggestions: [{ type: 'addRules' }] } });
    for (const testid of ['allow', 'deny', 'allow-always']) expect(button(v, testid).disabled, testid).toBe(true);
    click(v.get('allow'));
    expect(answers).toEqual([]);
  });

  it('shows the refusal, and only the way to the terminal when only it can answer', () => {
    const { view: v } = card({ approval: { ...request, answerable: false }, error: 'That request was already answered.' });
    expect(v.container.textContent).toContain('That request was already answered.');
    expect(v.query('allow')).toBeNull();
    expect(v.query('deny')).toBeNull();
    expect(v.get('go-to-terminal')).toBeTruthy();
  });
});
