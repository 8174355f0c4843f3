// Web Push: the hook the Settings screen calls. The gateway side is a separate task; this
// module is where it plugs in:
//   GET  /api/push/key           -> { publicKey }   (VAPID application server key, base64url)
//   POST /api/push/subscriptions <- PushSubscription.toJSON()
// The service worker will show the notification (a session needs you) and open the session.

export type PushStatus =
  | { state: 'unsupported'; reason: string }
  | { state: 'unavailable'; reason: string }
  | { state: 'denied' }
  | { state: 'subscribed' };

export function pushSupported(): boolean {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  const raw = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** Asks for permission and subscribes this device to notifications. */
export async function subscribeToPush(): Promise<PushStatus> {
  if (!pushSupported()) {
    return { state: 'unsupported', reason: 'On iPhone, add Cockpit to the Home Screen first (iOS 16.4+).' };
  }
  const keyRes = await fetch('/api/push/key').catch(() => null);
  if (!keyRes || !keyRes.ok) {
    return { state: 'unavailable', reason: 'The control plane does not offer notifications yet.' };
  }
  const { publicKey } = (await keyRes.json()) as { publicKey: string };
  if ((await Notification.requestPermission()) !== 'granted') return { state: 'denied' };
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
  const res = await fetch('/api/push/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(subscription.toJSON()),
  });
  if (!res.ok) return { state: 'unavailable', reason: `The control plane refused the subscription (HTTP ${res.status}).` };
  return { state: 'subscribed' };
}
