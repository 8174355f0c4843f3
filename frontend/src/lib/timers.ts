// The timers a client waits with: the browser's by default, hand-driven ones in tests.

/** Sets and clears a timer, as `setTimeout` and `clearTimeout` do. */
export interface Timers {
  set: (fn: () => void, ms: number) => unknown;
  clear: (h: unknown) => void;
}

/** The browser's timers. */
export const browserTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};
