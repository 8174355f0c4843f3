// Web Push: subscribing this device, sending a test notification, turning them off, through
// the push routes of `lib/routes.ts` (key, subscriptions, test).
// The service worker (public/push-sw.js) shows the notifications and opens the session.
import { ApiFailure, api } from './lib/api';
import type { PushSubscriptionJson, PushTestReport } from './types/cockpit';

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

/**
 * What the control plane takes: the browser's own JSON, the fields the DOM typings leave
 * optional filled from the subscription itself.
 */
function subscriptionJson(s: PushSubscription): PushSubscriptionJson {
  const json = s.toJSON();
  return {
    ...json,
    endpoint: json.endpoint ?? s.endpoint,
    keys: { p256dh: json.keys?.p256dh ?? toBase64url(s.getKey('p256dh')), auth: json.keys?.auth ?? toBase64url(s.getKey('auth')) },
  };
}

async function postSubscription(subscription: PushSubscription): Promise<void> {
  await api.pushSubscribe({ body: subscriptionJson(subscription) });
}

const UNAVAILABLE: PushStatus = { state: 'unavailable', reason: 'The control plane does not offer notifications yet.' };

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
  const key = await api.pushKey().catch(() => null);
  if (!key) return UNAVAILABLE;
  const { publicKey } = key;
  if (toBase64url(subscription.options.applicationServerKey) !== publicKey) return { state: 'off' };
  await postSubscription(subscription).catch(() => null);
  return { state: 'subscribed' };
}

/** Asks for permission and subscribes this device to notifications. */
export async function subscribeToPush(): Promise<PushStatus> {
  if (!pushSupported()) {
    return { state: 'unsupported', reason: 'On iPhone, add Cockpit to the Home Screen first (iOS 16.4+).' };
  }
  const key = await api.pushKey().catch(() => null);
  if (!key) return UNAVAILABLE;
  const { publicKey } = key;
  if ((await Notification.requestPermission()) !== 'granted') return { state: 'denied' };
  const registration = await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  // A subscription made for another server key (a new control plane) cannot be reused.
  if (subscription && toBase64url(subscription.options.applicationServerKey) !== publicKey) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
  try {
    await postSubscription(subscription);
  } catch (err) {
    // The control plane could not be reached: that error goes to the caller, as before.
    if (!(err instanceof ApiFailure) || err.status === 0) throw err;
    return { state: 'unavailable', reason: `The control plane refused the subscription (HTTP ${err.status}).` };
  }
  return { state: 'subscribed' };
}

/** Stops notifications to this device (here and at the control plane). */
export async function unsubscribeFromPush(): Promise<PushStatus> {
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  if (subscription) {
    await api.pushUnsubscribe({ body: { endpoint: subscription.endpoint } }).catch(() => null);
    await subscription.unsubscribe();
  }
  return { state: 'off' };
}

/** Sends a test notification to every subscribed device; says what became of it. */
export async function sendTestNotification(): Promise<string> {
  let report: PushTestReport;
  try {
    report = await api.pushTest();
  } catch (err) {
    const status = err instanceof ApiFailure ? err.status : 0;
    return `The control plane could not send it${status ? ` (HTTP ${status})` : ''}.`;
  }
  return testReportText(report);
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
