// A headless wetty client for the relay benchmark (worker/benches/relay.rs).
//
// usage: node client.mjs http://127.0.0.1:PORT END_MARKER MIN_BYTES [TIMEOUT_MS]
//
// Connects to wetty's socket.io endpoint (which spawns wetty's --command in a fresh PTY),
// counts the terminal output of the `data` events until END_MARKER (the last thing the flood
// prints) has arrived, and prints one JSON line: {"bytes":N,"seconds":S,"mbps":M} (S from the
// first to the last byte). Fails when fewer than MIN_BYTES arrived. (The exact byte count of a
// flood varies a little: the kernel's ONLCR sometimes emits an extra CR when the PTY buffer
// is full, so the end is found by its marker, not by a count.)
//
// Flow control is acknowledged exactly like wetty's browser client
// (src/client/wetty.ts + src/client/wetty/flowcontrol.ts): every `ackBytes` (2^18) characters
// received, emit `commit` with `ackBytes`. The browser emits it once xterm.js has parsed the
// data; this client has no terminal, so it commits at once (the most favourable case for wetty).
// The transport is WebSocket only, so the number is the steady-state relay, not the HTTP
// long-polling warm-up.
import { io } from 'socket.io-client';

const [url, marker, minArg, timeoutArg] = process.argv.slice(2);
if (!url || !marker || !minArg) {
  console.error('usage: node client.mjs URL END_MARKER MIN_BYTES [TIMEOUT_MS]');
  process.exit(2);
}
const minBytes = Number(minArg);
const timeoutMs = Number(timeoutArg ?? 120000);

class FlowControlClient {
  counter = 0;
  ackBytes = 262144;
  needsCommit(length) {
    this.counter += length;
    if (this.counter >= this.ackBytes) {
      this.counter -= this.ackBytes;
      return true;
    }
    return false;
  }
}

const fc = new FlowControlClient();
let bytes = 0;
let first = null;
let done = false;
// The last characters of the stream, to spot the marker across event boundaries.
let tail = '';

const socket = io(url, { path: '/socket.io', transports: ['websocket'], reconnection: false });

const finish = (code, extra) => {
  if (done) return;
  done = true;
  const end = process.hrtime.bigint();
  const seconds = first === null ? 0 : Number(end - first) / 1e9;
  const mbps = seconds > 0 ? bytes / seconds / 1e6 : 0;
  process.stdout.write(`${JSON.stringify({ bytes, seconds, mbps, ...extra })}\n`);
  socket.close();
  process.exitCode = code;
  // socket.io keeps timers; leave promptly.
  setTimeout(() => process.exit(code), 50).unref();
};

// wetty may announce the exit before its last buffered output (a 2 ms timer) is sent: after
// `logout`, give up only once no data came for 3 s.
let loggedOut = false;
let quiet = null;
const armQuiet = () => {
  clearTimeout(quiet);
  quiet = setTimeout(() => finish(1, { error: `the command exited after ${bytes} bytes without the end marker` }), 3000);
};

const timer = setTimeout(() => finish(1, { error: `timeout after ${timeoutMs} ms` }), timeoutMs);

socket.on('data', (data) => {
  if (first === null) first = process.hrtime.bigint();
  if (loggedOut) armQuiet();
  // The flood is ASCII: characters are bytes.
  bytes += data.length;
  if (fc.needsCommit(data.length)) socket.emit('commit', fc.ackBytes);
  tail = data.length >= 64 ? data.slice(-64) : (tail + data).slice(-64);
  if (tail.includes(marker)) {
    clearTimeout(timer);
    if (bytes < minBytes) finish(1, { error: `only ${bytes} bytes before the end marker` });
    else finish(0, {});
  }
});
socket.on('disconnect', (reason) => {
  finish(1, { error: `disconnected (${reason}) after ${bytes} bytes without the end marker` });
});
socket.on('logout', () => {
  loggedOut = true;
  armQuiet();
});
socket.on('connect_error', (err) => {
  clearTimeout(timer);
  finish(1, { error: `connect_error: ${err.message}` });
});
