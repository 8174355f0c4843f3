import { describe, expect, it } from 'vitest';
import type { ConversationBatch, ConversationEntry, ConversationItem, ToolView } from '../types/cockpit';
import {
  applyBatch,
  buildTimeline,
  clockTime,
  countSteps,
  emptyConversation,
  noteText,
  sameRow,
  toolHeadline,
  type ToolRow,
} from './conversation';

const entry = (key: string, item: ConversationItem, sidechain = false): ConversationEntry => ({ key, item, ...(sidechain ? { sidechain } : {}) });
const user = (key: string, text = key) => entry(key, { kind: 'user', text });
const bash: ToolView = { name: 'Bash', summary: 'ls', detail: { type: 'command', command: 'ls' } };
const task: ToolView = { name: 'Task', summary: 'Find it', detail: { type: 'task', description: 'Find it', prompt: 'Look' } };
const call = (key: string, id: string, tool = bash, sidechain = false) => entry(key, { kind: 'tool_call', id, tool }, sidechain);
const result = (key: string, id: string, output = 'out', sidechain = false) =>
  entry(key, { kind: 'tool_result', tool_use_id: id, output, is_error: false }, sidechain);
const batch = (entries: ConversationEntry[], transcript: number, notes = 0): ConversationBatch => ({ entries, cursor: { transcript, notes } });

describe('applyBatch', () => {
  it('appends new entries in order', () => {
    let s = applyBatch(emptyConversation, batch([user('t0.0'), user('t10.0')], 20));
    s = applyBatch(s, batch([user('e1')], 20, 1));
    expect(s.entries.map((e) => e.key)).toEqual(['t0.0', 't10.0', 'e1']);
  });

  it('never holds an entry twice, across batches and within one', () => {
    let s = applyBatch(emptyConversation, batch([user('a'), user('b')], 5));
    s = applyBatch(s, batch([user('b'), user('c'), user('c')], 9));
    expect(s.entries.map((e) => e.key)).toEqual(['a', 'b', 'c']);
  });

  it('returns the same state when a batch brings nothing new', () => {
    const s = applyBatch(emptyConversation, batch([user('a')], 5));
    expect(applyBatch(s, batch([user('a')], 5))).toBe(s);
    expect(applyBatch(s, batch([], 7))).toBe(s);
  });
});

describe('buildTimeline', () => {
  it('pairs each result with its call, whatever comes between', () => {
    const rows = buildTimeline([call('c1', 'x'), user('u'), result('r1', 'x', 'files')]);
    expect(rows.map((r) => r.key)).toEqual(['c1', 'u']);
    const tool = rows[0] as ToolRow;
    expect(tool.result?.output).toBe('files');
  });

  it('leaves a call without its result running', () => {
    const [tool] = buildTimeline([call('c1', 'x')]) as ToolRow[];
    expect(tool.result).toBeNull();
  });

  it('shows a result whose call it never saw as an entry of its own', () => {
    const rows = buildTimeline([result('r1', 'ghost')]);
    expect(rows).toMatchObject([{ kind: 'entry', key: 'r1' }]);
  });

  it('nests a subagent’s entries under the task still running', () => {
    const rows = buildTimeline([
      call('t1', 'task1', task),
      user('s1', 'subagent prompt'),
      call('s2', 'inner', bash, true),
      result('s3', 'inner', 'inner out', true),
      result('t2', 'task1', 'task done'),
      user('after'),
    ].map((e, i) => (i === 1 ? { ...e, sidechain: true } : e)));
    expect(rows.map((r) => r.key)).toEqual(['t1', 'after']);
    const t = rows[0] as ToolRow;
    expect(t.result?.output).toBe('task done');
    expect(t.steps.map((s) => s.key)).toEqual(['s1', 's2']);
    expect((t.steps[1] as ToolRow).result?.output).toBe('inner out');
    expect(countSteps(t)).toBe(2);
  });

  it('puts a subagent’s entries under the latest open task when two run', () => {
    const rows = buildTimeline([
      call('a', 'A', task),
      call('b', 'B', task),
      result('rb', 'B'),
      user('s', 'for A'),
    ].map((e) => (e.key === 's' ? { ...e, sidechain: true } : e)));
    const [a, b] = rows as ToolRow[];
    expect(a.steps.map((s) => s.key)).toEqual(['s']);
    expect(b.steps).toEqual([]);
  });

  it('shows sidechain entries at the top when there is no task to nest them under', () => {
    expect(buildTimeline([user('s', 'x')].map((e) => ({ ...e, sidechain: true }))).map((r) => r.key)).toEqual(['s']);
  });

  it('keeps unknown entries as rows', () => {
    expect(buildTimeline([entry('u', { kind: 'unknown', what: 'future-thing' })])).toMatchObject([{ kind: 'entry', key: 'u' }]);
  });
});

describe('sameRow', () => {
  it('is true for rows rebuilt from the same entries, false once a result arrives', () => {
    const entries = [call('c', 'x'), user('u')];
    const a = buildTimeline(entries);
    const b = buildTimeline(entries);
    expect(a.every((row, i) => sameRow(row, b[i]))).toBe(true);
    const c = buildTimeline([...entries, result('r', 'x')]);
    expect(sameRow(a[0], c[0])).toBe(false);
    expect(sameRow(a[1], c[1])).toBe(true);
    expect(sameRow(a[0], a[1])).toBe(false);
  });
});

describe('notes', () => {
  it('tells the local time a wait ends', () => {
    const until = '2026-11-25T03:03:00Z';
    expect(clockTime(until, 'UTC')).toBe('03:03');
    expect(clockTime(until, 'Europe/Paris')).toBe('04:03');
    expect(noteText({ kind: 'note', reason: 'RateLimited', message: 'every account is limited', until }, 'UTC')).toBe(
      'every account is limited — waiting for a reset at 03:03',
    );
    expect(noteText({ kind: 'note', reason: 'RateLimited', message: '', until }, 'UTC')).toBe('waiting for a reset at 03:03');
  });

  it('is its message otherwise', () => {
    expect(noteText({ kind: 'note', reason: 'Rotated', message: 'alpha hit its 5-hour limit; continuing on beta' })).toBe(
      'alpha hit its 5-hour limit; continuing on beta',
    );
  });
});

describe('toolHeadline', () => {
  it('names the file of a change, not its whole path', () => {
    const diff: ToolView = { name: 'Edit', summary: '/w/a/hello.txt (+1 −1)', detail: { type: 'diff', path: '/w/a/hello.txt', hunks: [], added: 1, removed: 1 } };
    expect(toolHeadline(diff)).toBe('hello.txt +1 −1');
    const write: ToolView = { name: 'Write', summary: '/w/x (1 lines)', detail: { type: 'content', path: '/w/x', content: 'x', lines: 1 } };
    expect(toolHeadline(write)).toBe('x · 1 line');
    expect(toolHeadline(bash)).toBe('ls');
  });
});
