import { describe, expect, it } from 'vitest';
import { describeInput, formatCost, formatTokens, parseTranscript } from './transcript';

describe('parseTranscript', () => {
  it('turns CLI transcript lines into text and tool calls with results', () => {
    const entries = [
      { type: 'summary', summary: 'x' },
      { type: 'user', isMeta: true, message: { role: 'user', content: '<local-command-caveat>x' } },
      { type: 'user', message: { role: 'user', content: 'list files TOOLBASH' } },
      {
        type: 'assistant',
        message: { id: 'm1', content: [{ type: 'text', text: 'Sure.' }] },
      },
      {
        type: 'assistant',
        message: { id: 'm1', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' } }] },
      },
      {
        type: 'user',
        message: {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'a\nb' }], is_error: false }],
        },
      },
      { type: 'assistant', message: { content: [{ type: 'thinking', thinking: 'hmm' }, { type: 'text', text: 'Done.' }] } },
      { type: 'user', message: { content: '<command-name>/exit</command-name>' } },
      'garbage',
      null,
    ];
    expect(parseTranscript(entries)).toEqual([
      { kind: 'user', text: 'list files TOOLBASH' },
      { kind: 'assistant', text: 'Sure.' },
      { kind: 'tool', id: 't1', name: 'Bash', input: { command: 'ls' }, result: 'a\nb', isError: false },
      { kind: 'thinking', text: 'hmm' },
      { kind: 'assistant', text: 'Done.' },
    ]);
  });

  it('marks failed tool results', () => {
    const items = parseTranscript([
      { type: 'assistant', message: { content: [{ type: 'tool_use', id: 't', name: 'Write', input: {} }] } },
      { type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't', content: 'denied', is_error: true }] } },
    ]);
    expect(items[0]).toMatchObject({ kind: 'tool', result: 'denied', isError: true });
  });
});

describe('formatting', () => {
  it('describes tool inputs', () => {
    expect(describeInput({ command: 'touch x' })).toBe('touch x');
    expect(describeInput({ file_path: '/a/b' })).toBe('/a/b');
    expect(describeInput({ n: 1 })).toBe('{"n":1}');
    expect(describeInput(undefined)).toBe('');
  });

  it('formats cost and tokens', () => {
    expect(formatCost(0.01234)).toBe('$0.0123');
    expect(formatCost(1.2)).toBe('$1.20');
    expect(formatTokens(1234)).toBe('1,234');
    expect(formatTokens(12345)).toBe('12.3k');
    expect(formatTokens(4_500_000)).toBe('4.5M');
  });
});
