// xterm.js, fitted to its box: re-fitted on rotation and when the iOS keyboard opens (both
// resize the box), reporting the new size so the session's PTY follows the phone.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal as XTerm } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { forwardRef, useEffect, useImperativeHandle, useRef } from 'react';
import { TERMINAL_LIMITS } from '../types/cockpit';

export type TerminalHandle = {
  reset(): void;
  write(bytes: Uint8Array): void;
  /** The fitted size; zero while hidden behind another view. */
  size(): { cols: number; rows: number };
  /** The visible screen as text (for tests and diagnostics). */
  text(): string;
  /** The first scrollback line shown (0 = the top of the scrollback). */
  viewportY(): number;
};

type Props = {
  fontSize: number;
  onResize: (cols: number, rows: number) => void;
  onData: (data: string) => void;
};

export const Terminal = forwardRef<TerminalHandle, Props>(function Terminal({ fontSize, onResize, onData }, ref) {
  const box = useRef<HTMLDivElement>(null);
  const term = useRef<XTerm | null>(null);
  const callbacks = useRef({ onResize, onData });
  callbacks.current = { onResize, onData };

  useImperativeHandle(ref, () => ({
    reset: () => term.current?.reset(),
    write: (bytes) => term.current?.write(bytes),
    size: () => (box.current?.clientWidth ? { cols: term.current?.cols ?? 0, rows: term.current?.rows ?? 0 } : { cols: 0, rows: 0 }),
    viewportY: () => term.current?.buffer.active.viewportY ?? 0,
    text: () => {
      const t = term.current;
      if (!t) return '';
      const buf = t.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < t.rows; i++) lines.push(buf.getLine(buf.viewportY + i)?.translateToString(true) ?? '');
      return lines.join('\n');
    },
  }));

  useEffect(() => {
    const el = box.current!;
    const t = new XTerm({
      fontSize,
      fontFamily: 'ui-monospace, "SF Mono", Menlo, Monaco, "DejaVu Sans Mono", monospace',
      lineHeight: 1.1,
      scrollback: 5000,
      cursorBlink: false,
      allowTransparency: false,
      macOptionIsMeta: true,
      theme: {
        background: '#0a0a0a',
        foreground: '#e5e5e5',
        cursor: '#f59e0b',
        selectionBackground: '#f59e0b55',
        scrollbarSliderBackground: 'rgba(255,255,255,0.07)',
        scrollbarSliderHoverBackground: 'rgba(255,255,255,0.12)',
        scrollbarSliderActiveBackground: 'rgba(255,255,255,0.18)',
      },
    });
    const fit = new FitAddon();
    t.loadAddon(fit);
    t.open(el);
    term.current = t;
    let last = '';
    let frame = 0;
    const refit = () => {
      frame = 0;
      // Hidden behind another view: no size to fit (the PTY keeps its own until shown).
      if (el.clientWidth === 0 || el.clientHeight === 0) return;
      const dims = fit.proposeDimensions();
      if (!dims || !Number.isFinite(dims.cols) || !Number.isFinite(dims.rows)) return;
      const cols = Math.max(TERMINAL_LIMITS.minCols, Math.min(TERMINAL_LIMITS.maxCols, dims.cols));
      const rows = Math.max(TERMINAL_LIMITS.minRows, Math.min(TERMINAL_LIMITS.maxRows, dims.rows));
      if (cols !== t.cols || rows !== t.rows) t.resize(cols, rows);
      const key = `${cols}x${rows}`;
      if (key !== last) {
        last = key;
        callbacks.current.onResize(cols, rows);
      }
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(refit);
    };
    const observer = new ResizeObserver(schedule);
    observer.observe(el);
    window.addEventListener('orientationchange', schedule);
    window.visualViewport?.addEventListener('resize', schedule);
    document.fonts?.ready.then(schedule).catch(() => {});
    refit();
    const data = t.onData((d) => callbacks.current.onData(d));

    // Touch scrolling through the scrollback (xterm.js scrolls with a wheel, not a finger).
    let lastY: number | null = null;
    let carry = 0;
    const lineHeight = () => Math.max(1, el.clientHeight / Math.max(1, t.rows));
    const onTouchStart = (e: TouchEvent) => {
      lastY = e.touches.length === 1 ? e.touches[0].clientY : null;
      carry = 0;
    };
    const onTouchMove = (e: TouchEvent) => {
      if (lastY === null || e.touches.length !== 1) return;
      const y = e.touches[0].clientY;
      carry += lastY - y;
      lastY = y;
      const lines = Math.trunc(carry / lineHeight());
      if (lines !== 0) {
        t.scrollLines(lines);
        carry -= lines * lineHeight();
      }
      e.preventDefault();
    };
    const onTouchEnd = () => {
      lastY = null;
    };
    el.addEventListener('touchstart', onTouchStart, { passive: true });
    el.addEventListener('touchmove', onTouchMove, { passive: false });
    el.addEventListener('touchend', onTouchEnd);
    el.addEventListener('touchcancel', onTouchEnd);
    return () => {
      el.removeEventListener('touchstart', onTouchStart);
      el.removeEventListener('touchmove', onTouchMove);
      el.removeEventListener('touchend', onTouchEnd);
      el.removeEventListener('touchcancel', onTouchEnd);
      cancelAnimationFrame(frame);
      observer.disconnect();
      window.removeEventListener('orientationchange', schedule);
      window.visualViewport?.removeEventListener('resize', schedule);
      data.dispose();
      t.dispose();
      term.current = null;
    };
  }, [fontSize]);

  return <div ref={box} data-testid="terminal" className="h-full w-full overflow-hidden pl-1" />;
});
