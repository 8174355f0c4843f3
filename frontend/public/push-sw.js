// Web Push for Claude Cockpit, loaded by the generated service worker (workbox `importScripts`).
//
// The control plane sends an encrypted JSON payload `{ title, body, url, tag }` when a session
// needs approval, finishes a turn, hits a usage limit, needs a login or ends. This shows it,
// and tapping it focuses an open Cockpit window on that session (or opens one).
// A classic script (no modules in importScripts): everything hangs off `self.cockpitPush`.
(function (sw) {
  'use strict';

  var FALLBACK_TITLE = 'Claude Cockpit';

  /** A same-origin app path from the payload's `url`, or `/`. */
  function safePath(url) {
    if (typeof url !== 'string' || url.charAt(0) !== '/' || url.charAt(1) === '/' || url.charAt(1) === '\\') return '/';
    return url;
  }

  /** The notification to show for a push message's data (a PushMessageData, or null). */
  function parse(data) {
    var text = '';
    var json = null;
    if (data) {
      try {
        text = data.text();
      } catch (_) {
        text = '';
      }
      try {
        json = JSON.parse(text);
      } catch (_) {
        json = null;
      }
    }
    if (!json || typeof json !== 'object') {
      return { title: FALLBACK_TITLE, body: text || 'A session needs you.', url: '/', tag: 'cockpit' };
    }
    return {
      title: typeof json.title === 'string' && json.title ? json.title : FALLBACK_TITLE,
      body: typeof json.body === 'string' ? json.body : '',
      url: safePath(json.url),
      tag: typeof json.tag === 'string' && json.tag ? json.tag : 'cockpit',
    };
  }

  /** Shows a parsed notification. */
  function show(note) {
    return sw.registration.showNotification(note.title, {
      body: note.body,
      tag: note.tag,
      // A newer notification for the same session replaces the old one, and still alerts.
      renotify: true,
      icon: '/icons/icon-192.png',
      badge: '/icons/icon-192.png',
      data: { url: note.url },
    });
  }

  /** Focuses a Cockpit window showing `path`, or another one moved there, or opens one. */
  function openPath(path) {
    var target = new URL(path, sw.location.origin).href;
    return sw.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (windows) {
      var exact = windows.find(function (w) {
        return w.url === target;
      });
      if (exact) return exact.focus();
      var any = windows.find(function (w) {
        return w.focused;
      }) || windows[0];
      if (any) {
        return any.focus().then(function (focused) {
          var win = focused || any;
          if (typeof win.navigate === 'function') {
            return win.navigate(target).catch(function () {
              return sw.clients.openWindow(target);
            });
          }
          return sw.clients.openWindow(target);
        });
      }
      return sw.clients.openWindow(target);
    });
  }

  function keyBytes(base64url) {
    var b64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  /** The browser replaced the subscription: tell the control plane about the new one. */
  function resubscribe(event) {
    var fresh = event.newSubscription
      ? Promise.resolve(event.newSubscription)
      : fetch('/api/push/key')
          .then(function (res) {
            return res.json();
          })
          .then(function (key) {
            return sw.registration.pushManager.subscribe({
              userVisibleOnly: true,
              applicationServerKey: keyBytes(key.publicKey),
            });
          });
    return fresh.then(function (sub) {
      var add = fetch('/api/push/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sub.toJSON()),
      });
      if (!event.oldSubscription) return add;
      return add.then(function () {
        return fetch('/api/push/subscriptions', {
          method: 'DELETE',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ endpoint: event.oldSubscription.endpoint }),
        });
      });
    });
  }

  sw.addEventListener('push', function (event) {
    event.waitUntil(show(parse(event.data)));
  });

  sw.addEventListener('notificationclick', function (event) {
    event.notification.close();
    var data = event.notification.data || {};
    event.waitUntil(openPath(safePath(data.url)));
  });

  sw.addEventListener('pushsubscriptionchange', function (event) {
    event.waitUntil(resubscribe(event));
  });

  sw.cockpitPush = { parse: parse, safePath: safePath, openPath: openPath };
})(self);
