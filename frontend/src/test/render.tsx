// Component tests without a testing library: React's own `act` and react-dom's root in jsdom
// (a test file opts in with `// @vitest-environment jsdom`). Queries go by `data-testid`, as
// the end-to-end tests do.
import { act, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export type Rendered = ReturnType<typeof render>;

/** How to take away each view still mounted (for `unmountAll`). */
const mounted = new Set<() => void>();

/** Mounts `ui` in a fresh container; `unmount` takes it away again. */
export function render(ui: ReactNode) {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  act(() => root.render(ui));
  const unmount = () => {
    mounted.delete(unmount);
    act(() => root.unmount());
    container.remove();
  };
  mounted.add(unmount);
  const all = (testid: string) => [...container.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)];
  return {
    container,
    all,
    /** The one element with this test id (throws when there is none or several). */
    get(testid: string): HTMLElement {
      const found = all(testid);
      if (found.length !== 1) throw new Error(`${found.length} elements with data-testid="${testid}" in ${container.innerHTML}`);
      return found[0];
    },
    query: (testid: string): HTMLElement | null => container.querySelector<HTMLElement>(`[data-testid="${testid}"]`),
    rerender: (next: ReactNode) => act(() => root.render(next)),
    unmount,
  };
}

/** Unmounts every view a test left mounted: a test file's `afterEach`. */
export function unmountAll(): void {
  for (const unmount of [...mounted]) unmount();
}

/** A tap: the click React listens for. */
export function click(el: Element): void {
  act(() => {
    el.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
  });
}

/** Types `text` into an input or textarea as a person would (React sees the change). */
export function typeInto(el: HTMLInputElement | HTMLTextAreaElement, text: string): void {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  act(() => {
    Object.getOwnPropertyDescriptor(proto, 'value')?.set?.call(el, text);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

/** Lets pending promises (a stubbed fetch, its `.then`s) settle inside `act`. */
export async function settle(): Promise<void> {
  await act(async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  });
}
