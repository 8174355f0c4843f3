import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './index.css';
import { App } from './App';
import { trackVisualViewport } from './hooks';
import { api } from './lib/api';
import type { SessionView } from './types/cockpit';

trackVisualViewport();

// index.html preloads the session list while this code downloads: take it before the first
// render (waiting briefly at most), so the first paint already shows the list.
const first: Promise<SessionView[] | null> = api.sessions().catch(() => null);
const brief = new Promise<null>((resolve) => setTimeout(() => resolve(null), 200));

void Promise.race([first, brief]).then((sessions) => {
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App initialSessions={sessions} pendingSessions={sessions ? null : first} />
    </StrictMode>,
  );
});

// The service worker caches the app shell so the app opens offline (built app only).
if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => console.warn('service worker:', err));
  });
}
