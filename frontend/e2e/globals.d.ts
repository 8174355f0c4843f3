// What the end-to-end tests find on `window`: the app's diagnostics (src/lib/useSessionSocket.ts)
// and the marks perf.mjs's init script sets; and the Element Timing entries lib.dom lacks.
import type { CockpitDiagnostics } from '../src/lib/useSessionSocket';

declare global {
  interface Window {
    /** Set while a session screen is open. */
    __cockpit?: CockpitDiagnostics;
    /** Set while a conversation is open (src/views/conversation/useConversation.ts). */
    __conversation?: { keys: string[] };
    /** perf.mjs: when the first session row (or the empty list) was painted, in ms. */
    __listPaintAt?: number;
    /** perf.mjs: when it was in the DOM, in ms. */
    __listAt?: number;
    /** app.test.mjs: sets `document.visibilityState` and tells the page. */
    __setVisibility?: (v: DocumentVisibilityState) => void;
    /** app.test.mjs: the layout shifts seen while the keyboard opens. */
    __shifts?: { value: number; input: boolean }[];
  }

  /** https://wicg.github.io/layout-instability/ (Chromium; not in TypeScript's lib.dom). */
  interface LayoutShift extends PerformanceEntry {
    readonly value: number;
    readonly hadRecentInput: boolean;
  }

  /** https://w3c.github.io/element-timing/ (Chromium; not in TypeScript's lib.dom yet). */
  interface PerformanceElementTiming extends PerformanceEntry {
    readonly identifier: string;
    readonly renderTime: number;
    readonly loadTime: number;
  }
}
