// The buttons that answer a permission request, on the approval card and for a dialog only the
// terminal shows: each keeps the focus (and the iOS keyboard) where it is when tapped.
import type { ReactNode } from 'react';
import { keepFocus } from '../../components/ui';

const BUTTON = 'min-h-11 rounded-xl text-[15px] font-semibold disabled:opacity-50';

/** One answer: the shared shape, with `className` for its colours and width. */
export function AnswerButton({
  testid,
  onClick,
  disabled,
  className,
  children,
}: {
  testid: string;
  onClick: () => void;
  disabled?: boolean;
  className: string;
  children: ReactNode;
}) {
  return (
    <button type="button" data-testid={testid} disabled={disabled} onPointerDown={keepFocus} onClick={onClick} className={`${BUTTON} ${className}`}>
      {children}
    </button>
  );
}

/** Deny and Allow, side by side. */
export function DenyOrAllow({ onDeny, onAllow, disabled }: { onDeny: () => void; onAllow: () => void; disabled?: boolean }) {
  return (
    <div className="grid grid-cols-2 gap-2">
      <AnswerButton testid="deny" disabled={disabled} onClick={onDeny} className="border border-red-500/50 text-red-300 active:bg-red-500/10">
        Deny
      </AnswerButton>
      <AnswerButton testid="allow" disabled={disabled} onClick={onAllow} className="bg-amber-500 text-black active:bg-amber-400">
        Allow
      </AnswerButton>
    </div>
  );
}
