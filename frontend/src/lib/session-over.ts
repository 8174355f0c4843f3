// Whether a session is over: in a phase it never leaves (`FINISHED_PHASES`, generated from
// `SessionPhase::is_terminal` in crds/src/session.rs) or deleted. The one place the app asks.
import { FINISHED_PHASES, type SessionView } from '../types/cockpit';

/** True once the session is over: finished, failed, stopped or deleted. */
export function isSessionOver(s: Pick<SessionView, 'status' | 'deleted_at'>): boolean {
  return !!s.deleted_at || FINISHED_PHASES.includes(s.status.phase);
}
