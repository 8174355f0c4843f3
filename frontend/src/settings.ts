// Device-local preferences.
const FONT_KEY = 'cockpit.terminalFontSize';

export const FONT_SIZES = [10, 11, 12, 13, 14, 16] as const;

export function terminalFontSize(): number {
  const v = Number(localStorage.getItem(FONT_KEY));
  return FONT_SIZES.includes(v as (typeof FONT_SIZES)[number]) ? v : 12;
}

export function setTerminalFontSize(size: number): void {
  localStorage.setItem(FONT_KEY, String(size));
}
