// Screens that read the live state (src/live.tsx), mounted inside it.
import type { ReactNode } from 'react';
import { LiveProvider } from '../live';
import type { SessionView } from '../types/cockpit';
import { render, settle, type Rendered } from './render';

/** Mounts `ui` inside the live state, holding `sessions`, and lets its first requests settle. */
export async function renderLive(sessions: SessionView[], ui: ReactNode): Promise<Rendered> {
  const view = render(<LiveProvider initialSessions={sessions}>{ui}</LiveProvider>);
  await settle();
  return view;
}
