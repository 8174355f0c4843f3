//! Relay benchmark (not a test): how fast the worker moves PTY output to a WebSocket client,
//! compared with the raw PTY and with wetty; keystroke echo latency; the worker's memory.
//!
//! Run: `cargo bench -p cockpit-worker --bench relay` (about a minute; only 127.0.0.1).
//!
//! - Flood: `yes <64-byte line> | head -c N; printf 'FLOOD-DONE\n'` (N = 200 MB, override with
//!   `RELAY_BENCH_BYTES`). The end is found by the marker, because the byte count varies a
//!   little (ONLCR sometimes emits an extra CR when the PTY buffer is full).
//! - Worker: `cockpit-worker run` (the release binary cargo builds for this bench) runs
//!   `stty -echo; read; <flood>`; a client attached with `from=0` sends Enter and counts the
//!   output payload until the marker. MB/s = bytes / (last byte − first byte). Median of 5.
//! - PTY ceiling: a raw drain, in this bench: the flood in a PTY (portable-pty, as the worker
//!   opens it), its master read into nothing with a 64 KiB buffer until the marker; MB/s over
//!   first byte → marker. Median of 5. `script -q -c '<flood>' /dev/null > /dev/null`, timed,
//!   is shown beside it for reference (the worker beats it: script copies through its own
//!   stdout). The worker/drain verdict is the median of the rounds' ratios (the worker and the
//!   drain of the same round, a few seconds apart): the drain alone moves ±30 % from minute to
//!   minute on a shared host.
//! - wetty: `npm ci` into benches/wetty when needed, `wetty --host 127.0.0.1 --command <flood>`,
//!   and benches/wetty/client.mjs (socket.io-client, acknowledging flow control like wetty's
//!   browser client) counts the `data` events. Median of 5. Skipped (with a note) when node,
//!   npm or the install is not available, or when not root (wetty then insists on ssh).
//! - Echo: worker running `cat`; one `{"type":"input"}` frame with a unique 6-character token
//!   plus Enter, timed until an output frame holding the token arrives (the line discipline's
//!   echo), then wait for cat's own copy of the line. 200 warm-up + 2000 samples.
//! - RSS: VmRSS of the worker idle (program waiting on `read`) and its peak during the floods
//!   (sampled every 20 ms).
//!
//! `RELAY_BENCH_ONLY=worker,drain,pty,wetty,echo` (any subset) runs only those parts, e.g. to profile
//! one of them with `perf record -a -g`; `RELAY_BENCH_WORKER=/path/to/cockpit-worker` measures
//! another build of the worker (A/B comparisons).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cockpit_api::frames::{BinaryKind, decode_binary};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

const LINE: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const MARKER: &str = "FLOOD-DONE";
const RUNS: usize = 5;
const ECHO_WARMUP: usize = 200;
const ECHO_SAMPLES: usize = 2000;
/// No single flood may take longer than this.
const FLOOD_TIMEOUT: Duration = Duration::from_secs(40);

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to configure on the command line.
    let started = Instant::now();
    let flood_bytes: u64 = std::env::var("RELAY_BENCH_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000_000);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let flood_sh = dir.path().join("flood.sh");
    std::fs::write(&flood_sh, format!("yes {LINE} | head -c {flood_bytes}\nprintf '{MARKER}\\n'\n"))
        .expect("writing flood.sh");
    // Each 64-byte line becomes 65 bytes on the terminal (ONLCR); the marker adds 12.
    let nominal = flood_bytes + flood_bytes / 64 + MARKER.len() as u64 + 2;
    let worker_bin = std::env::var_os("RELAY_BENCH_WORKER")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_cockpit-worker")), PathBuf::from);
    let only = std::env::var("RELAY_BENCH_ONLY").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only.split(',').any(|p| p.trim() == name);
    println!("relay bench: flood {:.1} MB of 64-byte lines, worker {}", nominal as f64 / 1e6, worker_bin.display());

    // 1, 2, 3 and 5: the three floods, interleaved round by round so that a burst of load from
    // elsewhere on the machine hits all three alike.
    let wetty_server = match part("wetty").then(|| WettyServer::start(&flood_sh)) {
        Some(Ok(server)) => Some(server),
        Some(Err(err)) => {
            println!("  wetty: skipped: {err}");
            None
        }
        None => None,
    };
    let mut worker_runs = Vec::new();
    let mut pty_runs = Vec::new();
    let mut drain_runs = Vec::new();
    let mut wetty_runs = Vec::new();
    let mut rss_idle = None;
    let mut rss_peak = 0u64;
    let mut resyncs = 0u64;
    // Worker against drain, round by round: both in the same minute of this machine's drift.
    let mut paired = Vec::new();
    for run in 0..RUNS {
        let (worker_before, drain_before) = (worker_runs.len(), drain_runs.len());
        if part("worker") {
            match rt.block_on(worker_flood(&worker_bin, &flood_sh, run == 0)) {
                Ok(r) => {
                    println!(
                        "  worker run {}: {:.1} MB in {:.3} s = {:.1} MB/s, peak RSS {:.1} MiB{}",
                        run + 1,
                        r.bytes as f64 / 1e6,
                        r.seconds,
                        r.mbps(),
                        mib(r.rss_peak_kib),
                        if r.resyncs > 0 { format!(", {} resyncs (client lagged)", r.resyncs) } else { String::new() }
                    );
                    rss_idle = rss_idle.or(r.rss_idle_kib);
                    rss_peak = rss_peak.max(r.rss_peak_kib);
                    resyncs += r.resyncs;
                    worker_runs.push(r.mbps());
                }
                Err(err) => println!("  worker run {}: FAILED: {err}", run + 1),
            }
        }
        if part("drain") {
            match pty_drain(&flood_sh) {
                Ok((bytes, seconds)) => {
                    let mbps = bytes as f64 / seconds / 1e6;
                    println!(
                        "  drain run {}: {:.1} MB in {:.3} s = {:.1} MB/s",
                        run + 1,
                        bytes as f64 / 1e6,
                        seconds,
                        mbps
                    );
                    drain_runs.push(mbps);
                }
                Err(err) => println!("  drain run {}: FAILED: {err}", run + 1),
            }
        }
        if let (Some(w), Some(d)) = (worker_runs.get(worker_before), drain_runs.get(drain_before)) {
            paired.push(w / d);
        }
        if part("pty") {
            match pty_ceiling(&flood_sh) {
                Ok(seconds) => {
                    let mbps = nominal as f64 / seconds / 1e6;
                    println!(
                        "  script run {}: {:.1} MB in {:.3} s = {:.1} MB/s",
                        run + 1,
                        nominal as f64 / 1e6,
                        seconds,
                        mbps
                    );
                    pty_runs.push(mbps);
                }
                Err(err) => println!("  script run {}: FAILED: {err}", run + 1),
            }
        }
        if let Some(server) = &wetty_server {
            match server.flood(flood_bytes) {
                Ok((bytes, seconds)) => {
                    let mbps = bytes / seconds / 1e6;
                    println!("  wetty run {}: {:.1} MB in {:.3} s = {:.1} MB/s", run + 1, bytes / 1e6, seconds, mbps);
                    wetty_runs.push(mbps);
                }
                Err(err) => println!("  wetty run {}: FAILED: {err}", run + 1),
            }
        }
    }
    drop(wetty_server);

    // 4. Echo latency.
    let echo = match part("echo").then(|| rt.block_on(echo_latency(&worker_bin))) {
        Some(Ok(samples)) => Some(samples),
        Some(Err(err)) => {
            println!("  echo: FAILED: {err}");
            None
        }
        None => None,
    };

    // The table.
    let worker = median(&worker_runs);
    let pty = median(&pty_runs);
    let drain = median(&drain_runs);
    let wetty = median(&wetty_runs);
    let fmt_mbps = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.1} MB/s"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let pct = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{:.0} %", v * 100.0));
    let verdict = |ok: Option<bool>| match ok {
        Some(true) => "PASS",
        Some(false) => "MISS",
        None => "",
    };
    println!();
    println!("{:<34} {:>22}   target / reference", "metric (median of 5)", "value");
    println!("{}", "-".repeat(92));
    println!("{:<34} {:>22}   {:<28}", "PTY ceiling (raw drain)", fmt_mbps(drain), "the ceiling");
    println!("{:<34} {:>22}   {:<28}", "script > /dev/null", fmt_mbps(pty), "reference (~100 MB/s spec)");
    let worker_note =
        if resyncs > 0 { format!("worker PTY->WS ({resyncs} resyncs)") } else { "worker PTY->WS".to_owned() };
    println!("{:<34} {:>22}   {:<28}", worker_note, fmt_mbps(worker), ">= 90 % of the ceiling");
    println!("{:<34} {:>22}   {:<28}", "wetty PTY->socket.io", fmt_mbps(wetty), "~40 MB/s (spec)");
    let wd = ratio(worker, drain);
    println!("{:<34} {:>22}   {:<28}", "worker / raw drain (medians)", pct(wd), "");
    let by_round = median(&paired);
    let rounds = paired.iter().map(|r| format!("{:.0}", r * 100.0)).collect::<Vec<_>>().join(" / ");
    println!(
        "{:<34} {:>22}   {:<28} {}",
        "worker / raw drain (round by round)",
        pct(by_round),
        format!(">= 90 % (rounds: {rounds} %)"),
        verdict(by_round.map(|r| r >= 0.9))
    );
    println!("{:<34} {:>22}   {:<28}", "worker / script", pct(ratio(worker, pty)), "");
    println!("{:<34} {:>22}   {:<28}", "wetty / PTY", pct(ratio(wetty, pty)), "~40 % (spec)");
    println!(
        "{:<34} {:>22}   {:<28}",
        "worker / wetty",
        ratio(worker, wetty).map_or("n/a".to_owned(), |r| format!("{r:.2} x")),
        ""
    );
    if let Some((mut samples, mut lines)) = echo {
        samples.sort_unstable();
        lines.sort_unstable();
        let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
        let (p50, p99, max) = (p(0.50), p(0.99), *samples.last().unwrap_or(&0));
        println!("{:<34} {:>22}   {:<28}", "echo latency p50 (cat)", format!("{p50} us"), "");
        println!(
            "{:<34} {:>22}   {:<28} {}",
            "echo latency p99 (cat)",
            format!("{p99} us"),
            "< 1000 us",
            verdict(Some(p99 < 1000))
        );
        let over = |us: u64| samples.iter().filter(|&&s| s > us).count();
        println!(
            "{:<34} {:>22}   {:<28}",
            "echo latency max (cat)",
            format!("{max} us"),
            format!("{} > 1 ms, {} > 30 ms of {}", over(1000), over(30_000), samples.len())
        );
        let q = |q: f64| lines[((lines.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "{:<34} {:>22}   {:<28}",
            "cat's copy of the line p50/p99",
            format!("{} / {} us", q(0.5), q(0.99)),
            format!("{} > 30 ms (Nagle?)", lines.iter().filter(|&&s| s > 30_000).count())
        );
    }
    let idle = rss_idle.map(mib);
    println!(
        "{:<34} {:>22}   {:<28} {}",
        "worker RSS idle",
        idle.map_or("n/a".to_owned(), |v| format!("{v:.1} MiB")),
        "< 10 MiB",
        verdict(idle.map(|v| v < 10.0))
    );
    println!("{:<34} {:>22}   {:<28}", "worker RSS peak (flood)", format!("{:.1} MiB", mib(rss_peak)), "");
    println!("{}", "-".repeat(92));
    println!("total bench time {:.0} s", started.elapsed().as_secs_f64());
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

/// A running worker, killed on drop.
struct Worker {
    child: Child,
    port: u16,
    pid: u32,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The credential the bench's workers are started with (as the control plane would).
const CREDENTIAL: &str = "relay-bench-credential-0123456789abcdef";

fn start_worker(bin: &Path, command: &str, args: &[&str]) -> Result<Worker, BoxError> {
    let mut cmd = Command::new(bin);
    cmd.args(["run", "--listen", "127.0.0.1:0", "--command", command, "--claude-integration", "off"])
        .args(["--cols", "120", "--rows", "40"]);
    if !args.is_empty() {
        cmd.arg("--").args(args);
    }
    let mut child = cmd
        .env("COCKPIT_LOG", "warn")
        .env("COCKPIT_WORKER_CREDENTIAL", CREDENTIAL)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("unexpected first line from the worker: {line:?}"))?;
    Ok(Worker { child, port, pid })
}

async fn connect(port: u16, from: Option<u64>) -> Result<Ws, BoxError> {
    let url = match from {
        Some(from) => format!("ws://127.0.0.1:{port}/ws?from={from}"),
        None => format!("ws://127.0.0.1:{port}/ws"),
    };
    let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)?;
    request.headers_mut().insert("authorization", format!("Bearer {CREDENTIAL}").parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    // The hello frame.
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Text(text)))) if text.contains("\"hello\"") => Ok(ws),
        other => Err(format!("expected the hello frame, got {other:?}").into()),
    }
}

fn input_frame(data: &str) -> Message {
    Message::text(serde_json::json!({ "type": "input", "data": data }).to_string())
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples the peak RSS of `pid` every 20 ms until dropped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    p.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        RssSampler { stop, peak, thread: Some(thread) }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

struct FloodRun {
    bytes: u64,
    seconds: f64,
    rss_idle_kib: Option<u64>,
    rss_peak_kib: u64,
    resyncs: u64,
}

impl FloodRun {
    fn mbps(&self) -> f64 {
        self.bytes as f64 / self.seconds / 1e6
    }
}

async fn worker_flood(bin: &Path, flood_sh: &Path, measure_idle: bool) -> Result<FloodRun, BoxError> {
    let script = format!("stty -echo; read -r _; . '{}'", flood_sh.display());
    let worker = start_worker(bin, "bash", &["-c", &script])?;
    let mut ws = connect(worker.port, Some(0)).await?;
    let rss_idle_kib = if measure_idle {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss_kib(worker.pid)
    } else {
        None
    };
    let sampler = RssSampler::start(worker.pid);
    ws.send(input_frame("\r")).await?;
    let deadline = Instant::now() + FLOOD_TIMEOUT;
    let mut bytes = 0u64;
    let mut first: Option<Instant> = None;
    let mut next_offset: Option<u64> = None;
    let mut resyncs = 0u64;
    let mut tail: Vec<u8> = Vec::with_capacity(128);
    let last = loop {
        let msg = tokio::time::timeout_at(deadline.into(), ws.next())
            .await
            .map_err(|_| format!("no end marker after {FLOOD_TIMEOUT:?} ({bytes} bytes)"))?;
        let msg = match msg {
            Some(Ok(msg)) => msg,
            Some(Err(err)) => return Err(err.into()),
            None => return Err(format!("connection closed after {bytes} bytes").into()),
        };
        let Message::Binary(frame) = msg else { continue };
        let now = Instant::now();
        let frame = decode_binary(&frame)?;
        if frame.kind == BinaryKind::Snapshot || next_offset.is_some_and(|n| n != frame.offset) {
            resyncs += 1;
        }
        if frame.kind == BinaryKind::Snapshot {
            next_offset = Some(frame.offset);
            continue;
        }
        if frame.payload.is_empty() {
            continue;
        }
        first.get_or_insert(now);
        bytes += frame.payload.len() as u64;
        next_offset = Some(frame.offset + frame.payload.len() as u64);
        let keep = frame.payload.len().min(64);
        tail.extend_from_slice(&frame.payload[frame.payload.len() - keep..]);
        if tail.len() > 64 {
            tail.drain(..tail.len() - 64);
        }
        if tail.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()) {
            break now;
        }
    };
    let rss_peak_kib = sampler.finish();
    let seconds = (last - first.unwrap_or(last)).as_secs_f64();
    drop(ws);
    drop(worker);
    Ok(FloodRun { bytes, seconds, rss_idle_kib, rss_peak_kib, resyncs })
}

/// The flood in a PTY, its master read into nothing: (bytes, seconds from the first byte to
/// the marker).
fn pty_drain(flood_sh: &Path) -> Result<(u64, f64), BoxError> {
    use std::io::Read;

    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    let pair = native_pty_system().openpty(PtySize { rows: 40, cols: 120, pixel_width: 0, pixel_height: 0 })?;
    let mut cmd = CommandBuilder::new("bash");
    cmd.arg(flood_sh);
    let mut child = pair.slave.spawn_command(cmd)?;
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader()?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut bytes, mut first, mut tail) = (0u64, None, Vec::<u8>::new());
    let deadline = Instant::now() + FLOOD_TIMEOUT;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Err("the PTY closed before the marker".into());
        }
        first.get_or_insert_with(Instant::now);
        bytes += n as u64;
        // The marker may straddle two reads: look in the end of the last one and this one.
        tail.extend_from_slice(&buf[n.saturating_sub(MARKER.len() + 2)..n]);
        if tail.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()) {
            break;
        }
        tail.drain(..tail.len().saturating_sub(MARKER.len()));
        if Instant::now() > deadline {
            return Err("the drain took too long".into());
        }
    }
    let seconds = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let _ = child.kill();
    let _ = child.wait();
    Ok((bytes, seconds))
}

fn pty_ceiling(flood_sh: &Path) -> Result<f64, BoxError> {
    let start = Instant::now();
    let status = Command::new("script")
        .args(["-q", "-c", &format!("bash '{}'", flood_sh.display()), "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|err| format!("running script(1) (util-linux): {err}"))?;
    let seconds = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("script exited with {status}").into());
    }
    Ok(seconds)
}

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// wetty serving the flood (each connection runs it once); killed on drop.
struct WettyServer {
    _process: Killed,
    port: u16,
    dir: PathBuf,
}

impl WettyServer {
    fn start(flood_sh: &Path) -> Result<WettyServer, BoxError> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("wetty runs a local command only as root (otherwise it logs in over ssh)".into());
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/wetty");
        let main_js = dir.join("node_modules/wetty/build/main.js");
        let pty_node = dir.join("node_modules/node-pty/build/Release/pty.node");
        if !main_js.exists() || !pty_node.exists() {
            println!("  wetty: installing with npm ci into {} ...", dir.display());
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .map_err(|err| format!("running npm: {err}"))?;
            if !status.success() || !main_js.exists() || !pty_node.exists() {
                return Err(format!("npm ci failed ({status}); node-pty needs python3, make and a C++ compiler").into());
            }
        }
        // wetty drops the last few KiB of output when the command exits right after printing
        // them (seen in 2 of 3 runs here), so its flood keeps the terminal open a little longer;
        // the client stops at the marker anyway.
        let wetty_sh = flood_sh.with_file_name("flood-wetty.sh");
        std::fs::write(&wetty_sh, format!(". '{}'\nsleep 5\n", flood_sh.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let process = Killed(
            Command::new("node")
                .arg(&main_js)
                .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--log-level", "warn"])
                .args(["--command", &format!("bash {}", wetty_sh.display())])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|err| format!("running node: {err}"))?,
        );
        let up = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > up {
                return Err("wetty did not listen within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(WettyServer { _process: process, port, dir })
    }

    /// One flood through a fresh connection: `(bytes, seconds)`.
    fn flood(&self, flood_bytes: u64) -> Result<(f64, f64), BoxError> {
        let out = Command::new("node")
            .arg(self.dir.join("client.mjs"))
            .args([format!("http://127.0.0.1:{}", self.port), MARKER.to_owned(), flood_bytes.to_string()])
            .arg(FLOOD_TIMEOUT.as_millis().to_string())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let parsed: serde_json::Value =
            serde_json::from_str(text.trim()).map_err(|err| format!("client output {text:?}: {err}"))?;
        if let Some(err) = parsed.get("error") {
            return Err(err.to_string().into());
        }
        Ok((parsed["bytes"].as_f64().unwrap_or(0.0), parsed["seconds"].as_f64().unwrap_or(f64::INFINITY)))
    }
}

/// Echo latencies in microseconds, and the times until cat's copy of the line arrived.
async fn echo_latency(bin: &Path) -> Result<(Vec<u64>, Vec<u64>), BoxError> {
    let worker = start_worker(bin, "cat", &[])?;
    let mut ws = connect(worker.port, Some(0)).await?;
    let mut samples = Vec::with_capacity(ECHO_SAMPLES);
    let mut lines = Vec::with_capacity(ECHO_SAMPLES);
    let mut seen: Vec<u8> = Vec::with_capacity(256);
    for i in 0..ECHO_WARMUP + ECHO_SAMPLES {
        let token = format!("k{:05}", i);
        seen.clear();
        let t0 = Instant::now();
        ws.send(input_frame(&format!("{token}\r"))).await?;
        let mut echoed = None;
        // The echo by the line discipline, then cat's own copy of the line.
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .map_err(|_| format!("no echo of {token} within 5 s"))?
                .ok_or("connection closed")??;
            let Message::Binary(frame) = msg else { continue };
            let frame = decode_binary(&frame)?;
            seen.extend_from_slice(frame.payload);
            let count = seen.windows(token.len()).filter(|w| *w == token.as_bytes()).count();
            if count >= 1 && echoed.is_none() {
                echoed = Some(t0.elapsed());
            }
            if count >= 2 {
                break;
            }
        }
        if i >= ECHO_WARMUP {
            samples.push(echoed.map_or(0, |d| d.as_micros() as u64));
            lines.push(t0.elapsed().as_micros() as u64);
        }
    }
    drop(ws);
    drop(worker);
    Ok((samples, lines))
}
