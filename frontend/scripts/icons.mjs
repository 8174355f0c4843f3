// Draws the app icons (PNG, committed under public/): a terminal prompt `>_` in amber on the
// app's dark background, with the gauge arc of a cockpit instrument. Run: npm run icons.
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

const BG = [10, 10, 10];
const AMBER = [245, 158, 11];
const DIM = [64, 44, 10];

function distToSegment(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  const x = ax + t * dx - px;
  const y = ay + t * dy - py;
  return Math.hypot(x, y);
}

/** Coverage of the glyph at a point in unit coordinates (0..1), `scale` shrinks toward the centre. */
function shade(u, v, scale) {
  const x = (u - 0.5) / scale + 0.5;
  const y = (v - 0.5) / scale + 0.5;
  const stroke = 0.055;
  // The chevron `>`.
  const chevron = Math.min(distToSegment(x, y, 0.27, 0.33, 0.45, 0.5), distToSegment(x, y, 0.45, 0.5, 0.27, 0.67));
  // The cursor `_`.
  const cursor = distToSegment(x, y, 0.52, 0.67, 0.73, 0.67);
  if (chevron <= stroke || cursor <= stroke) return AMBER;
  // A gauge arc around the prompt (three quarters of a circle).
  const r = Math.hypot(x - 0.5, y - 0.5);
  const angle = Math.atan2(y - 0.5, x - 0.5);
  const onArc = Math.abs(r - 0.39) <= 0.022 && !(angle > Math.PI / 4 && angle < (3 * Math.PI) / 4);
  if (onArc) return DIM;
  return null;
}

function icon(size, { scale = 1, rounded = false } = {}) {
  const png = new PNG({ width: size, height: size });
  const n = 4; // supersampling per axis
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const u = (px + (sx + 0.5) / n) / size;
          const v = (py + (sy + 0.5) / n) / size;
          if (rounded) {
            // Rounded square corners for the favicon-style icons.
            const k = 0.22;
            const cx = Math.min(Math.max(u, k), 1 - k);
            const cy = Math.min(Math.max(v, k), 1 - k);
            if (Math.hypot(u - cx, v - cy) > k) continue;
          }
          const c = shade(u, v, scale) ?? BG;
          r += c[0];
          g += c[1];
          b += c[2];
          a += 255;
        }
      }
      const i = (py * size + px) * 4;
      const count = n * n;
      const cover = a / 255;
      png.data[i] = cover ? Math.round(r / cover) : 0;
      png.data[i + 1] = cover ? Math.round(g / cover) : 0;
      png.data[i + 2] = cover ? Math.round(b / cover) : 0;
      png.data[i + 3] = Math.round(a / count);
    }
  }
  return PNG.sync.write(png);
}

const out = new URL('../public/', import.meta.url);
writeFileSync(new URL('icons/icon-192.png', out), icon(192));
writeFileSync(new URL('icons/icon-512.png', out), icon(512));
// Maskable: the glyph inside the 80 % safe zone, background to the edges.
writeFileSync(new URL('icons/maskable-512.png', out), icon(512, { scale: 0.78 }));
// iOS draws its own rounded corners: a full square.
writeFileSync(new URL('apple-touch-icon.png', out), icon(180));
writeFileSync(new URL('favicon-32.png', out), icon(32, { rounded: true }));
console.log('icons written');
