import { describe, expect, it } from 'vitest';
import { formErrors, nameError } from './session-form';

describe('nameError', () => {
  it('takes an empty name (generated) and a DNS label', () => {
    expect(nameError('')).toBeNull();
    expect(nameError('  ')).toBeNull();
    expect(nameError('fix-login-2')).toBeNull();
    expect(nameError('a'.repeat(63))).toBeNull();
  });

  it('says what is wrong with a name the control plane would refuse', () => {
    expect(nameError('my task')).toBe('Only lowercase letters, digits and “-” (not “ ”).');
    expect(nameError('Fix')).toBe('Only lowercase letters, digits and “-” (not “F”).');
    expect(nameError('-x')).toBe('Start with a letter or a digit.');
    expect(nameError('a'.repeat(64))).toBe('At most 63 characters (this is 64).');
  });
});

describe('formErrors', () => {
  it('wants a task for a one-shot session only', () => {
    expect(formErrors({ mode: 'Oneshot', prompt: ' ', name: '' })).toEqual({ prompt: 'A one-shot session needs a task.' });
    expect(formErrors({ mode: 'Interactive', prompt: '', name: '' })).toEqual({});
    expect(formErrors({ mode: 'Oneshot', prompt: 'do it', name: '' })).toEqual({});
  });

  it('clears an error once the field is fixed', () => {
    const wrong = { mode: 'Oneshot' as const, prompt: '', name: 'a b' };
    expect(Object.keys(formErrors(wrong))).toEqual(['prompt', 'name']);
    expect(formErrors({ ...wrong, prompt: 'task', name: 'a-b' })).toEqual({});
  });
});
