// Web Push: subscribing this device, sending a test notification, turning them off.
//   GET    /api/push/key            -> { publicKey, subjectSet }   (VAPID key, base64url; whether a real contact signs)
//   POST   /api/push/subscriptions  <- PushSubscription.toJSON()
//   DELETE /api/push/subscriptions  <- { endpoint }
//   POST   /api/push/test           -> PushTestReport
// The service worker (public/push-sw.js) shows the notifications and opens the session.
import type { PushKey, PushTestReport, PushUnsubscribe } from './types/cockpit';

export type PushStatus =
  | { state: 'unsupported'; reason: string }
  | { state: 'unavailable'; reason: string }
  | { state: 'denied' }
  | { state: 'off' }
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

function toBase64url(key: ArrayBuffer | null): string {
  if (!key) return '';
  let raw = '';
  for (const byte of new Uint8Array(key)) raw += String.fromCharCode(byte);
  return btoa(raw).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function postSubscription(subscription: PushSubscription): Promise<Response> {
  return fetch('/api/push/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(subscription.toJSON()),
  });
}

/**
 * This device's state, without asking the person anything. A subscription made with this
 * control plane's key is registered again (the control plane may have lost it); one made with
 * another key counts as off.
 */
export async function currentPushStatus(): Promise<PushStatus> {
  if (!pushSupported()) {
    return { state: 'unsupported', reason: 'On iPhone, add Cockpit to the Home Screen first (iOS 16.4+).' };
  }
  if (Notification.permission === 'denied') return { state: 'denied' };
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  if (!subscription) return { state: 'off' };
  const keyRes = await fetch('/api/push/key').catch(() => null);
  if (!keyRes || !keyRes.ok) return { state: 'unavailable', reason: 'The control plane does not offer notifications yet.' };
  const { publicKey } = (await keyRes.json()) as PushKey;
  if (toBase64url(subscription.options.applicationServerKey) !== publicKey) return { state: 'off' };
  await postSubscription(subscription).catch(() => null);
  return { state: 'subscribed' };
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
  const { publicKey } = (await keyRes.json()) as PushKey;
  if ((await Notification.requestPermission()) !== 'granted') return { state: 'denied' };
  const registration = await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  // A subscription made for another server key (a new control plane) cannot be reused.
  if (subscription && toBase64url(subscription.options.applicationServerKey) !== publicKey) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
  const res = await postSubscription(subscription);
  if (!res.ok) return { state: 'unavailable', reason: `The control plane refused the subscription (HTTP ${res.status}).` };
  return { state: 'subscribed' };
}

/** Stops notifications to this device (here and at the control plane). */
export async function unsubscribeFromPush(): Promise<PushStatus> {
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  if (subscription) {
    const body: PushUnsubscribe = { endpoint: subscription.endpoint };
    await fetch('/api/push/subscriptions', {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).catch(() => null);
    await subscription.unsubscribe();
  }
  return { state: 'off' };
}

/** Sends a test notification to every subscribed device; says what became of it. */
export async function sendTestNotification(): Promise<string> {
  const res = await fetch('/api/push/test', { method: 'POST' }).catch(() => null);
  if (!res || !res.ok) return `The control plane could not send it${res ? ` (HTTP ${res.status})` : ''}.`;
  return testReportText((await res.json()) as PushTestReport);
}

/** One sentence about a test notification's fate. */
export function testReportText(r: PushTestReport): string {
  if (r.subscriptions === 0) return 'No device is subscribed.';
  const devices = (n: number) => `${n} device${n === 1 ? '' : 's'}`;
  const parts = [`Sent to ${devices(r.delivered)}`];
  if (r.removed > 0) parts.push(`${devices(r.removed)} no longer subscribed (removed)`);
  if (r.failed > 0) parts.push(`${devices(r.failed)} failed (see the control plane's log)`);
  return `${parts.join('; ')}.`;
}
