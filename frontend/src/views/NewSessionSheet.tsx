import { useEffect, useState, type ReactNode } from 'react';
import { Spinner } from '../components/ui';
import { ApiFailure, api } from '../lib/api';
import { formErrors } from '../lib/session-form';
import { useLive } from '../live';
import { back, navigate } from '../router';
import type { CreateSession, PermissionMode, RepoView, SessionMode } from '../types/cockpit';

const MODELS = [
  { value: '', label: 'Default' },
  { value: 'sonnet', label: 'Sonnet' },
  { value: 'opus', label: 'Opus' },
  { value: 'haiku', label: 'Haiku' },
];

const PERMISSION_MODES: { value: PermissionMode; label: string }[] = [
  { value: 'default', label: 'Ask (default)' },
  { value: 'acceptEdits', label: 'Accept edits' },
  { value: 'plan', label: 'Plan' },
  { value: 'auto', label: 'Auto (Claude decides, asks nothing)' },
  { value: 'dontAsk', label: "Don't ask (refuse what is not allowed)" },
  { value: 'bypassPermissions', label: 'Bypass permissions' },
];

function Field({ label, children, htmlFor, error }: { label: string; children: ReactNode; htmlFor?: string; error?: string }) {
  return (
    <label htmlFor={htmlFor} className="flex flex-col gap-1.5">
      <span className="text-xs font-medium tracking-wide text-neutral-400 uppercase">{label}</span>
      {children}
      {error && (
        <span id={`${htmlFor}-error`} data-testid={`${htmlFor}-error`} role="alert" className="text-sm text-red-300">
          {error}
        </span>
      )}
    </label>
  );
}

const input =
  'w-full min-h-11 rounded-xl border border-line bg-[#1c1c1c] px-3 py-2.5 text-neutral-100 outline-none focus:border-amber-500/70 appearance-none aria-invalid:border-red-400/70';

/** A choice: the value it sets and what it says. */
type Option = { value: string; label: string };

/** A native select that looks like one: bordered, with a chevron. */
function Select({
  id,
  value,
  onChange,
  options,
}: {
  id: string;
  value: string;
  onChange: (value: string) => void;
  options: Option[];
}) {
  return (
    <div className="relative">
      <select id={id} data-testid={id} className={`${input} pr-9`} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <svg
        aria-hidden="true"
        className="pointer-events-none absolute top-1/2 right-3 -translate-y-1/2 text-neutral-400"
        width="16"
        height="16"
        viewBox="0 0 24 24"
        fill="none"
        stroke="currentColor"
        strokeWidth="2.2"
        strokeLinecap="round"
        strokeLinejoin="round"
      >
        <path d="M6 9l6 6 6-6" />
      </svg>
    </div>
  );
}

function Segmented<T extends string>({
  value,
  options,
  onChange,
  testid,
}: {
  value: T;
  options: { value: T; label: string }[];
  onChange: (v: T) => void;
  testid?: string;
}) {
  return (
    <div data-testid={testid} className="grid grid-flow-col gap-1 rounded-xl bg-[#1c1c1c] p-1">
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          aria-pressed={value === o.value}
          onClick={() => onChange(o.value)}
          className={`min-h-11 rounded-lg text-sm font-medium ${value === o.value ? 'bg-neutral-700 text-white' : 'text-neutral-400'}`}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

export default function NewSessionSheet() {
  const live = useLive();
  const [repos, setRepos] = useState<RepoView[] | null>(null);
  const [repo, setRepo] = useState('');
  const [account, setAccount] = useState('');
  const [mode, setMode] = useState<SessionMode>('Interactive');
  const [prompt, setPrompt] = useState('');
  const [model, setModel] = useState('');
  const [permission, setPermission] = useState<PermissionMode>('default');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** Set by a first tap on Start: from then on every field says what is wrong with it. */
  const [attempted, setAttempted] = useState(false);
  /** A name the control plane refused as taken: its error shows until the name changes. */
  const [takenName, setTakenName] = useState<string | null>(null);
  const accounts = Object.values(live.accounts).sort((a, b) => b.priority - a.priority);

  useEffect(() => {
    api
      .repos()
      .then((r) => {
        setRepos(r);
        setRepo((cur) => cur || r[0]?.name || '');
      })
      .catch((err: Error) => setError(err.message));
  }, []);

  const close = () => back('/');
  const oneshot = mode === 'Oneshot';
  const errors = formErrors({ mode, prompt, name });
  const nameTaken = takenName !== null && takenName === name.trim() ? 'A session with this name exists: choose another.' : undefined;
  // A bad name shows as it is typed; a missing task once Start was tapped.
  const promptError = attempted ? errors.prompt : undefined;
  const nameError = errors.name ?? nameTaken;
  const canCreate = !!repo && !busy;

  const create = async () => {
    setAttempted(true);
    if (errors.prompt || nameError) return;
    setBusy(true);
    setError(null);
    const body: CreateSession = { repo_name: repo, mode };
    if (prompt.trim()) body.prompt = prompt;
    if (account) body.account_id = account;
    if (model) body.model = model;
    if (permission !== 'default') body.permission_mode = permission;
    if (name.trim()) body.name = name.trim();
    try {
      const created = await api.create({ body });
      live.upsert(created);
      navigate(`/s/${encodeURIComponent(created.id)}`, { replace: true });
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 409 && body.name) setTakenName(body.name);
      else setError(err instanceof ApiFailure ? err.message : String(err));
      setBusy(false);
    }
  };

  return (
    <div className="fixed inset-0 z-40 flex flex-col justify-end" role="dialog" aria-modal="true" aria-label="New session">
      <button type="button" aria-label="Close" className="absolute inset-0 bg-black/60" onClick={close} />
      <div
        data-testid="new-session-sheet"
        className="sheet-in relative flex max-h-[92%] flex-col rounded-t-3xl border-t border-line bg-[#111] pb-safe"
      >
        <div className="flex items-center justify-between px-4 pt-3 pb-2">
          <button type="button" onClick={close} className="min-h-11 min-w-11 px-2 text-[15px] text-neutral-400">
            Cancel
          </button>
          <div className="text-[15px] font-semibold">New session</div>
          <button
            type="button"
            data-testid="create-session"
            disabled={!canCreate}
            onClick={create}
            className="min-h-11 min-w-11 px-2 text-[15px] font-semibold text-amber-400 disabled:text-neutral-600"
          >
            {busy ? <Spinner /> : 'Start'}
          </button>
        </div>
        <div className="scroll-y flex flex-col gap-4 px-4 pt-2 pb-6">
          {error && (
            <div data-testid="create-error" className="rounded-xl bg-red-950 px-3 py-2 text-sm text-red-200">
              {error}
            </div>
          )}
          <Field label="Repo" htmlFor="repo">
            {repos === null ? (
              <div className="py-2">
                <Spinner />
              </div>
            ) : repos.length === 0 ? (
              <div className="text-sm text-neutral-400">No repos configured: add one under `repos:` in the config.</div>
            ) : (
              <Select id="repo" value={repo} onChange={setRepo} options={repos.map((r) => ({ value: r.name, label: r.is_git ? r.name : `${r.name} (not git)` }))} />
            )}
          </Field>
          <Field label="Kind">
            <Segmented
              testid="mode"
              value={mode}
              onChange={setMode}
              options={[
                { value: 'Interactive', label: 'Interactive' },
                { value: 'Oneshot', label: 'One-shot' },
              ]}
            />
          </Field>
          <Field label={oneshot ? 'Task' : 'First prompt (optional)'} htmlFor="prompt" error={promptError}>
            <textarea
              id="prompt"
              data-testid="prompt"
              aria-invalid={promptError ? true : undefined}
              aria-describedby={promptError ? 'prompt-error' : undefined}
              rows={3}
              className={`${input} resize-none`}
              placeholder={oneshot ? 'What should Claude do?' : 'Say hello, or leave empty'}
              value={prompt}
              onChange={(e) => setPrompt(e.target.value)}
            />
          </Field>
          <Field label="Account" htmlFor="account">
            <Select
              id="account"
              value={account}
              onChange={setAccount}
              options={[{ value: '', label: 'Auto (best available)' }, ...accounts.map((a) => ({ value: a.id, label: a.limited_until ? `${a.id} — limited` : a.id }))]}
            />
          </Field>
          <div className="grid grid-cols-2 gap-3">
            <Field label="Model" htmlFor="model">
              <Select id="model" value={model} onChange={setModel} options={MODELS} />
            </Field>
            <Field label="Permissions" htmlFor="permission">
              <Select id="permission" value={permission} onChange={(v) => setPermission(v as PermissionMode)} options={PERMISSION_MODES} />
            </Field>
          </div>
          <Field label="Name (optional)" htmlFor="name" error={nameError}>
            <input
              id="name"
              data-testid="name"
              aria-invalid={nameError ? true : undefined}
              aria-describedby={nameError ? 'name-error' : undefined}
              className={input}
              autoCapitalize="none"
              autoCorrect="off"
              spellCheck={false}
              placeholder="generated from the repo"
              value={name}
              onChange={(e) => setName(e.target.value.toLowerCase())}
            />
          </Field>
        </div>
      </div>
    </div>
  );
}
