// @ts-check
// End-to-end harness: a REAL `cockpit serve` (target/debug/cockpit) running the real Claude
// CLI against the stand-in Messages API (target/debug/anthropic-stand-in), and Debian's
// chromium driven by playwright-core in an iPhone-sized, touch-enabled viewport.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(FRONTEND, '..');
export const ARTIFACTS = join(FRONTEND, 'e2e', 'artifacts');
const TARGET = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
export const COCKPIT_BIN = join(TARGET, 'debug', 'cockpit');
export const STAND_IN_BIN = join(TARGET, 'debug', 'anthropic-stand-in');
export const CLAUDE_BIN = process.env.COCKPIT_TEST_CLAUDE ?? join(ROOT, 'worker/testkit/npm/node_modules/.bin/claude');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const TOKEN_ALPHA = 'sk-ant-oat01-e2e-alpha';
export const TOKEN_BETA = 'sk-ant-oat01-e2e-beta';

export const PHONE = { width: 390, height: 844 };

export function checkPrerequisites() {
  for (const [what, path] of [
    ['cockpit (cargo build -p cockpit-operator)', COCKPIT_BIN],
    ['anthropic-stand-in (cargo build -p cockpit-testkit)', STAND_IN_BIN],
    ['the Claude CLI (./test.sh installs it)', CLAUDE_BIN],
    ['chromium (apt-get install chromium)', CHROMIUM],
    ['the built app (npm run build)', join(FRONTEND, 'dist/index.html')],
  ]) {
    if (!existsSync(path)) throw new Error(`missing ${what}: ${path}`);
  }
}

/** @param {string} prefix */
export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `cockpit-e2e-${prefix}-`));
}

/**
 * A git repository with one commit.
 * @param {string} dir
 */
export function gitRepo(dir) {
  mkdirSync(dir, { recursive: true });
  /** @param {string[]} args */
  const git = (...args) =>
    execFileSync('git', args, {
      cwd: dir,
      env: { ...process.env, GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@example.invalid', GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@example.invalid' },
      stdio: 'ignore',
    });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'README.md'), '# demo\n');
  git('add', 'README.md');
  git('commit', '-q', '-m', 'initial');
  return dir;
}

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
// A test run that dies still stops what it started (cockpit serve stops its workers on TERM).
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
});

/** An error from a process that exited before it listened, with the end of its stderr. */
class ExitedEarly extends Error {
  /** @param {string} message @param {string} stderr */
  constructor(message, stderr) {
    super(message);
    this.stderr = stderr;
  }
}

/**
 * Spawns a process and resolves with its `listening on http://ADDR` URL.
 * @param {string} bin
 * @param {string[]} args
 * @param {{ env: NodeJS.ProcessEnv; cwd?: string; log?: NodeJS.WritableStream | null; stdin?: 'ignore' | 'pipe' }} options
 * @returns {Promise<{ child: import('node:child_process').ChildProcess; url: string }>}
 */
function spawnListening(bin, args, { env, cwd, log, stdin = 'ignore' }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { env, cwd, stdio: [stdin, 'pipe', 'pipe'] });
    const { stdout, stderr } = child;
    if (!stdout || !stderr) throw new Error(`${bin}: no pipes`);
    children.add(child);
    child.on('exit', () => children.delete(child));
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${bin} did not say where it listens:\n${out}`)), 30_000);
    stdout.on('data', (/** @type {Buffer} */ d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ child, url: m[1].replace(/\/$/, '') });
      }
    });
    stderr.on('data', (/** @type {Buffer} */ d) => {
      err = (err + d).slice(-8000);
      log?.write(d);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new ExitedEarly(`${bin} exited with ${code} before listening:\n${out}\n${err}`, err));
    });
  });
}

/**
 * The stand-in Messages API. `command('limit TOKEN [window]')` / `command('clear TOKEN')` make
 * every later request with that token hit (or no longer hit) a usage limit.
 */
export async function startStandIn() {
  const { child, url } = await spawnListening(STAND_IN_BIN, ['--listen', '127.0.0.1:0'], { env: process.env, stdin: 'pipe' });
  const { stdin, stdout } = child;
  if (!stdin || !stdout) throw new Error('the stand-in has no pipes');
  let answers = '';
  stdout.on('data', (/** @type {Buffer} */ d) => (answers += d));
  /** @param {string} line @returns {Promise<void>} */
  const command = (line) =>
    new Promise((resolvePromise, reject) => {
      const seen = answers.length;
      const timer = setTimeout(() => reject(new Error(`the stand-in did not answer ${line}`)), 10_000);
      const check = () => {
        const m = /^(ok|error: .*)$/m.exec(answers.slice(seen));
        if (!m) return;
        clearTimeout(timer);
        stdout.off('data', check);
        if (m[1] === 'ok') resolvePromise();
        else reject(new Error(`the stand-in refused ${line}: ${m[1]}`));
      };
      stdout.on('data', check);
      stdin.write(`${line}\n`);
    });
  return { url, command, stop: () => child.kill('SIGTERM') };
}

/** @typedef {Awaited<ReturnType<typeof startStandIn>>} StandIn */
/** @typedef {Awaited<ReturnType<typeof launchPhone>>} Phone */

/** A control plane with the demo repo and two accounts, alpha (priority 10) and beta (5). */
export class Cockpit {
  /** @param {string} dir @param {string} apiUrl */
  constructor(dir, apiUrl) {
    this.dir = dir;
    this.apiUrl = apiUrl;
    this.dataDir = join(dir, 'data');
    this.repo = gitRepo(join(dir, 'demo'));
    this.config = join(dir, 'cockpit.yaml');
    writeFileSync(
      this.config,
      [
        'repos:',
        `  - name: demo`,
        `    path: ${this.repo}`,
        'accounts:',
        '  - name: alpha',
        '    tokenEnv: TOKEN_ALPHA',
        '    priority: 10',
        '  - name: beta',
        '    tokenEnv: TOKEN_BETA',
        '    priority: 5',
        'worker:',
        `  command: ${CLAUDE_BIN}`,
        '',
      ].join('\n'),
    );
    this.listen = '127.0.0.1:0';
    /** @type {import('node:child_process').ChildProcess | null} */
    this.child = null;
    /** The page's origin (the front door while it serves the app), once started. */
    this.url = '';
    /** The control plane's own address, once started. */
    this.backendUrl = '';
    /** @type {PwaFrontDoor | null} */
    this.frontDoor = null;
  }

  async start() {
    /** @type {NodeJS.ProcessEnv} */
    const env = {
      ...process.env,
      ANTHROPIC_BASE_URL: this.apiUrl,
      TOKEN_ALPHA,
      TOKEN_BETA,
      CLAUDE_CODE_MAX_RETRIES: '1',
      COCKPIT_LOG: process.env.COCKPIT_TEST_LOG ?? 'warn',
    };
    delete env.DATABASE_URL;
    delete env.ANTHROPIC_API_KEY;
    delete env.CLAUDE_CODE_OAUTH_TOKEN;
    const args = ['serve', '--listen', this.listen, '--data-dir', this.dataDir, '--config', this.config];
    const log = process.env.E2E_VERBOSE ? process.stderr : null;
    let started;
    if (!this.frontDoor) {
      try {
        started = await spawnListening(COCKPIT_BIN, [...args, '--pwa-dir', join(FRONTEND, 'dist')], { env, cwd: this.dir, log });
      } catch (err) {
        if (!(err instanceof ExitedEarly) || !/Nesting at the root is no longer supported/.test(err.stderr)) throw err;
        // `cockpit serve` cannot serve the app yet (axum panics on nest_service("/")): serve
        // dist/ in front of the real API instead, and say so.
        console.warn('# cockpit serve --pwa-dir panics (operator/src/gateway/mod.rs nest_service("/")); serving dist/ through the e2e front door');
        this.frontDoor = await pwaFrontDoor(() => this.backendUrl);
      }
    }
    started ??= await spawnListening(COCKPIT_BIN, args, { env, cwd: this.dir, log });
    this.child = started.child;
    this.backendUrl = started.url;
    this.url = this.frontDoor ? this.frontDoor.url : started.url;
    // Restarts keep the address (the page's origin).
    this.listen = started.url.replace(/^http:\/\//, '');
    return this;
  }

  /** Kills the control plane at once (workers live on and are re-adopted on the next start). */
  async kill9() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise((r) => {
      child.once('exit', r);
      child.kill('SIGKILL');
    });
    this.frontDoor?.dropConnections();
  }

  /** Stops everything it started: the control plane (a clean stop stops its workers), any
   *  worker still running in its directory, and removes the directory. */
  async close() {
    if (this.child) await this.stop();
    await this.frontDoor?.close();
    const { readdirSync, readFileSync } = await import('node:fs');
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.dir)) process.kill(Number(pid), 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A clean stop (sessions pause; the next start resumes them). */
  async stop() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise((/** @type {(v?: unknown) => void} */ r) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => {
        clearTimeout(t);
        r();
      });
      child.kill('SIGTERM');
    });
  }

  /**
   * Calls the control plane's API: a JSON answer parsed, any other as text. `T` is what the
   * caller knows the route answers (`src/lib/routes.ts` has them all).
   * @template [T=unknown]
   * @param {string} path
   * @param {RequestInit} [init]
   * @returns {Promise<T>}
   */
  async api(path, init) {
    const res = await fetch(this.url + path, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${text}`);
    return /** @type {T} */ (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text);
  }
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's chromium with a fresh profile, as an iPhone (390×844, DPR 3, touch). */
export async function launchPhone(name = 'phone') {
  const profile = tempDir(`profile-${name}`);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: PHONE,
    screen: PHONE,
    deviceScaleFactor: 3,
    isMobile: true,
    hasTouch: true,
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * What a suite drives: the stand-in Messages API, a control plane on it, the phone and a page
 * it has open. `start` (the suite's `before`) starts them in that order; `close` (its `after`)
 * stops whatever did start, also after a start that failed halfway. The page's uncaught
 * exceptions and console errors are kept in `errors`, for the suite to check last.
 */
export class PhoneSuite {
  /** @param {string} name names the control plane's directory and the phone's profile */
  constructor(name) {
    this.name = name;
    /** @type {string[]} */
    this.errors = [];
    /** @type {StandIn | null} */
    this.standIn = null;
    /** @type {Cockpit | null} */
    this.cockpit = null;
    /** @type {Phone | null} */
    this.phone = null;
  }

  /** @param {{ permissions?: string[] }} [options] what the phone grants the app's origin before the page opens */
  async start({ permissions } = {}) {
    checkPrerequisites();
    const standIn = (this.standIn = await startStandIn());
    const cockpit = (this.cockpit = await new Cockpit(tempDir(this.name), standIn.url).start());
    const phone = (this.phone = await launchPhone(this.name));
    if (permissions) await phone.context.grantPermissions(permissions, { origin: cockpit.url });
    const page = await phone.context.newPage();
    page.on('pageerror', (e) => this.errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && this.errors.push(m.text()));
    return { standIn, cockpit, phone, page };
  }

  async close() {
    await this.phone?.close();
    await this.cockpit?.close();
    this.standIn?.stop();
  }
}

/** @param {import('playwright-core').Page} page @param {string} name */
export async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/**
 * Polls `fn` until it returns a truthy value.
 * @template T
 * @param {string} what
 * @param {() => T | Promise<T>} fn
 * @returns {Promise<Exclude<T, false | 0 | '' | null | undefined>>} the first truthy value
 */
export async function until(what, fn, timeoutMs = 60_000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  /** @type {unknown} */
  let last;
  for (;;) {
    try {
      const value = await fn();
      last = value;
      if (value) return /** @type {Exclude<T, false | 0 | '' | null | undefined>} */ (value);
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)?.slice(0, 500)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** @type {Record<string, string>} */
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * Serves `frontend/dist` like `cockpit serve` does (ServeDir, index.html as the SPA fallback,
 * no compression) and passes `/api/…` and `/ws/…` through to the control plane untouched (the
 * Host header too, so the gateway's origin check sees the page's own origin). Used only while
 * `cockpit serve --pwa-dir` cannot serve the app (see README: it panics at startup).
 */
/**
 * @typedef {{ gzip: boolean; url: string; dropConnections: () => void; close: () => Promise<void> }} PwaFrontDoor
 */

/**
 * @param {() => string} getBackend
 * @returns {Promise<PwaFrontDoor>}
 */
export async function pwaFrontDoor(getBackend) {
  const http = await import('node:http');
  const net = await import('node:net');
  const { readFile, stat } = await import('node:fs/promises');
  const { extname, normalize } = await import('node:path');
  const dist = join(FRONTEND, 'dist');
  const backend = () => new URL(getBackend());
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/ws/')) {
      const b = backend();
      const up = http.request(
        { host: b.hostname, port: b.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"code":"bad_gateway","error":"control plane down"}');
      });
      req.pipe(up);
      return;
    }
    let file = join(dist, normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
    try {
      if (!(await stat(file)).isFile()) throw new Error('dir');
    } catch {
      file = join(dist, 'index.html');
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    // Like ServeDir::precompressed_gzip(): the build's `.gz` twin when the client takes gzip.
    /** @type {string | null} */
    let encoding = null;
    if (front.gzip && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      try {
        await stat(`${file}.gz`);
        file = `${file}.gz`;
        encoding = 'gzip';
      } catch {
        /* no twin */
      }
    }
    const body = await readFile(file);
    const s = await stat(file);
    res.writeHead(200, {
      'content-type': type,
      'content-length': body.length,
      'last-modified': s.mtime.toUTCString(),
      vary: 'accept-encoding',
      ...(encoding ? { 'content-encoding': encoding } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.on('upgrade', (req, socket, head) => {
    const b = backend();
    const up = net.connect(Number(b.port), b.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head?.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    const end = () => {
      up.destroy();
      socket.destroy();
    };
    up.on('error', end);
    socket.on('error', end);
    up.on('close', end);
    socket.on('close', end);
  });
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((/** @type {(v?: unknown) => void} */ r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the front door has no port');
  const { port } = address;
  const front = {
    /** Serve the build's precompressed twins (what the gateway would do with precompressed_gzip()). */
    gzip: true,
    url: `http://127.0.0.1:${port}`,
    /** Drops every open connection (as a gateway restart does). */
    dropConnections: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise((/** @type {(v?: void) => void} */ r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  return front;
}
