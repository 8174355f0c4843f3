/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';
import { VitePWA } from 'vite-plugin-pwa';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

/** Writes `file.gz` beside every text asset, for servers that send precompressed files. */
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'cockpit-precompress',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      const walk = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) walk(path);
          else if (/\.(js|css|html|svg|webmanifest|json)$/.test(entry.name)) {
            writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
          }
        }
      };
      walk(outDir);
    },
  };
}

const DARK = '#0a0a0a';

// `cockpit serve` serves `frontend/dist`; `npm run dev` proxies the API to a running one
// (COCKPIT_URL, default http://127.0.0.1:8080).
const target = process.env.COCKPIT_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  define: { __APP_VERSION__: JSON.stringify(process.env.npm_package_version ?? '0.1.0') },
  plugins: [
    react(),
    tailwindcss(),
    VitePWA({
      // Registered by hand in src/main.tsx (no extra runtime in the initial bundle).
      injectRegister: null,
      registerType: 'autoUpdate',
      includeAssets: ['favicon.svg', 'apple-touch-icon.png'],
      manifest: {
        id: '/',
        name: 'Claude Cockpit',
        short_name: 'Cockpit',
        description: 'Steer your Claude Code sessions from your phone.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'any',
        theme_color: DARK,
        background_color: DARK,
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        // Web Push: show the control plane's notifications, open the session when tapped.
        importScripts: ['/push-sw.js'],
        // The app shell: every built asset, so the app opens offline.
        globPatterns: ['**/*.{js,css,html,png,svg,ico,woff2,webmanifest}'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api\//, /^\/ws\//],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
        runtimeCaching: [
          {
            // Last known lists, shown (marked offline) when the network is gone.
            urlPattern: ({ url, request }) =>
              request.method === 'GET' &&
              /^\/api\/(sessions|accounts|health|repos)(\/[^/]+)?$/.test(url.pathname),
            handler: 'NetworkFirst',
            options: { cacheName: 'api', expiration: { maxEntries: 64 } },
          },
        ],
      },
    }),
    precompress(),
  ],
  build: {
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/api': { target, changeOrigin: false },
      '/ws': { target, ws: true },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
