import { useEffect, useState } from 'react';
import { Card, Spinner, TopBar } from '../components/ui';
import { api } from '../lib/api';
import {
  currentPushStatus,
  pushSupported,
  sendTestNotification,
  subscribeToPush,
  unsubscribeFromPush,
  type PushStatus,
} from '../push';
import { FONT_SIZES, setTerminalFontSize, terminalFontSize } from '../settings';

function pushText(s: PushStatus): string {
  switch (s.state) {
    case 'subscribed':
      return 'This device gets a notification when a session needs you.';
    case 'denied':
      return 'Notifications are blocked for Cockpit in the system settings.';
    case 'off':
      return 'Notifications are off on this device.';
    default:
      return s.reason;
  }
}

/** Says so when the control plane signs notifications with no contact of the owner's: Apple's
 *  push service then refuses them, so iPhones get none. */
function VapidSubjectNotice() {
  const [subjectSet, setSubjectSet] = useState<boolean | null>(null);
  useEffect(() => {
    let live = true;
    api
      .pushKey()
      .then((key) => live && setSubjectSet(key.subjectSet))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, []);
  if (subjectSet !== false) return null;
  return (
    <div data-testid="vapid-subject-missing" className="mt-3 rounded-xl bg-amber-500/10 px-3 py-2.5 text-sm text-amber-100 ring-1 ring-amber-500/30 ring-inset">
      iPhones will not get these notifications yet: Apple only delivers them when the server names a real contact. On the
      machine running Cockpit, start it with <code className="text-amber-300">COCKPIT_VAPID_SUBJECT=mailto:you@example.com</code>{' '}
      (your own address), or give it its https address under <code className="text-amber-300">allowedOrigins</code> in the
      config, then restart it.
    </div>
  );
}

export default function Settings() {
  const [font, setFont] = useState(terminalFontSize);
  const [push, setPush] = useState<PushStatus | null>(null);
  const [busy, setBusy] = useState(false);
  const [testResult, setTestResult] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    currentPushStatus()
      .then((status) => live && status.state === 'subscribed' && setPush(status))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, []);
  const act = async (action: () => Promise<PushStatus>) => {
    setBusy(true);
    setTestResult(null);
    try {
      setPush(await action());
    } catch (err) {
      setPush({ state: 'unavailable', reason: err instanceof Error ? err.message : String(err) });
    }
    setBusy(false);
  };
  const subscribed = push?.state === 'subscribed';
  const standalone = window.matchMedia?.('(display-mode: standalone)').matches || (navigator as { standalone?: boolean }).standalone === true;
  return (
    <>
      <TopBar title="Settings" />
      <div className="scroll-y safe-x min-h-0 flex-1">
        <div className="flex flex-col gap-3 px-3 py-3">
          <Card testid="settings-push">
            <div className="flex items-center gap-3">
              <div className="min-w-0 flex-1">
                <div className="text-[16px] font-semibold">Notifications</div>
                <div className="text-xs text-neutral-500">Get a push when a session needs you.</div>
              </div>
              <button
                type="button"
                data-testid={subscribed ? 'push-unsubscribe' : 'push-subscribe'}
                disabled={busy}
                onClick={() => act(subscribed ? unsubscribeFromPush : subscribeToPush)}
                className={`min-h-11 rounded-full px-4 text-sm font-semibold disabled:opacity-50 ${
                  subscribed ? 'bg-neutral-800 text-neutral-200' : 'bg-amber-500 text-black'
                }`}
              >
                {busy ? <Spinner /> : subscribed ? 'Turn off' : 'Enable'}
              </button>
            </div>
            {push && (
              <div data-testid="push-status" className="mt-3 text-sm text-neutral-300">
                {pushText(push)}
              </div>
            )}
            {subscribed && (
              <div className="mt-3 flex items-center gap-3">
                <button
                  type="button"
                  data-testid="push-test"
                  disabled={busy}
                  onClick={async () => {
                    setBusy(true);
                    setTestResult(await sendTestNotification());
                    setBusy(false);
                  }}
                  className="min-h-11 rounded-full bg-neutral-800 px-4 text-sm text-neutral-200 disabled:opacity-50"
                >
                  Send a test notification
                </button>
                {testResult && (
                  <div data-testid="push-test-result" className="min-w-0 flex-1 text-xs text-neutral-400">
                    {testResult}
                  </div>
                )}
              </div>
            )}
            <VapidSubjectNotice />
            {!push && !pushSupported() && (
              <div className="mt-3 text-xs text-neutral-500">Needs the app installed on the Home Screen.</div>
            )}
          </Card>
          <Card>
            <div className="mb-2 text-[16px] font-semibold">Terminal text size</div>
            <div className="grid grid-cols-6 gap-1 rounded-xl bg-[#1c1c1c] p-1">
              {FONT_SIZES.map((size) => (
                <button
                  key={size}
                  type="button"
                  aria-pressed={font === size}
                  onClick={() => {
                    setTerminalFontSize(size);
                    setFont(size);
                  }}
                  className={`min-h-11 rounded-lg text-sm ${font === size ? 'bg-neutral-700 text-white' : 'text-neutral-400'}`}
                >
                  {size}
                </button>
              ))}
            </div>
          </Card>
          <Card>
            <div className="text-[16px] font-semibold">Install</div>
            <div className="mt-1 text-sm text-neutral-400">
              {standalone
                ? 'Running as an installed app.'
                : 'In Safari, tap Share, then “Add to Home Screen” to run Cockpit full screen.'}
            </div>
          </Card>
        </div>
      </div>
    </>
  );
}
