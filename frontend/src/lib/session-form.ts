// The new-session form's own checks: what the control plane would refuse, said at the field.
import type { SessionMode } from '../types/cockpit';

/** Longest session name the control plane takes (a DNS label). */
export const MAX_NAME_LENGTH = 63;

export type SessionForm = { mode: SessionMode; prompt: string; name: string };

/** A message per field that is not right yet; an empty object when the form can be sent. */
export type FormErrors = Partial<Record<'prompt' | 'name', string>>;

/** Why a session name would be refused (the control plane's rule), or null when it is fine. */
export function nameError(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed === '') return null; // generated from the repo
  if (trimmed.length > MAX_NAME_LENGTH) return `At most ${MAX_NAME_LENGTH} characters (this is ${trimmed.length}).`;
  const bad = [...trimmed].find((c) => !/[a-z0-9-]/.test(c));
  if (bad !== undefined) return `Only lowercase letters, digits and “-” (not “${bad}”).`;
  if (trimmed.startsWith('-')) return 'Start with a letter or a digit.';
  return null;
}

/** The form's errors: a one-shot needs its task; a name must follow the rule. */
export function formErrors(form: SessionForm): FormErrors {
  const errors: FormErrors = {};
  if (form.mode === 'Oneshot' && form.prompt.trim() === '') errors.prompt = 'A one-shot session needs a task.';
  const name = nameError(form.name);
  if (name) errors.name = name;
  return errors;
}
