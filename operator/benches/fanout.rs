//! Fan-out benchmark (prints numbers; not a test): a real `cockpit serve` (release build)
//! with 50 sessions whose worker program floods output, 10 WebSocket clients per session
//! (500 clients in this process's tokio runtime), then session start latency.
//!
//! `cargo bench -p cockpit-operator --bench fanout`
//!
//! Phases:
//! 1. paced: every session prints 200 lines/s of 200 bytes for 10 s, each line stamped with
//!    the microseconds since the epoch at which it was written; a frame's delay is its receive
//!    time minus the last stamp it holds (its newest line). Every line's own delay (what the
//!    oldest line of a batch waited included) is printed besides.
//! 2. max: every session prints as fast as it can for 5 s (at most 32 MiB each); then the
//!    same again with 500 more clients (FANOUT_SLOW_CLIENTS) that cannot keep up: each reads
//!    a frame, then sleeps 50 ms. The gateway's peak RSS over the second run minus the first,
//!    per extra client, is what a slow client costs while every session floods.
//! 3. start latency: 20 sessions one after another, `POST /api/sessions` → first output byte
//!    at a client that connects (`?from=0`) right after the 201.
//! 4. relay: one session floods 100 MB (FANOUT_RELAY_BYTES; 0 skips it) and one client counts
//!    it, straight on the worker and through the gateway, in 7 rounds (FANOUT_RELAY_ROUNDS)
//!    of one flood each way, the order swapped every round (see `fanout/relay.rs`), each flood
//!    once the gateway has gone idle (it writes the floods before to the database). Each
//!    round gives the ratio gateway / straight; the median round should be >= 90 %. A round
//!    is a pair of floods seconds apart, so a change of host load between rounds (this host
//!    gives identical work 100–165 % of its CPU from one minute to the next) moves both
//!    floods of a round, not the ratio.
//!
//! Gateway = the `cockpit serve` process only (RSS: VmRSS sampled every 100 ms; CPU:
//! utime+stime from /proc/PID/stat); workers = its descendants (`cockpit worker run` + the
//! program in its PTY). Knobs (env): FANOUT_COCKPIT (another `cockpit` binary), FANOUT_SESSIONS, FANOUT_CLIENTS, FANOUT_RATE,
//! FANOUT_PACED_SECS, FANOUT_MAX_SECS, FANOUT_LATENCY_SESSIONS, FANOUT_DIRECT_EVERY,
//! FANOUT_SLOW_CLIENTS, FANOUT_RELAY_BYTES, FANOUT_RELAY_ROUNDS.

#[path = "fanout/relay.rs"]
mod relay;
mod support;

use support::{env_or, now_us};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cockpit_api::frames::{BinaryKind, decode_binary};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// Bytes per printed line (before the PTY turns `\n` into `\r\n`).
const LINE_BYTES: usize = 200;
/// Per-session cap of the max-throughput phase.
const MAX_PHASE_BYTES: u64 = 32 << 20;
const TARGET_GW_RSS_MIB: f64 = 64.0;
const TARGET_MAX_RSS_MIB: f64 = 96.0;
const TARGET_SLOW_CLIENT_KIB: f64 = 1024.0;
const TARGET_P99_MS: f64 = 20.0;
/// The gateway's paced p99 may exceed the same run's direct-on-worker p99 by at most this.
const TARGET_P99_OVER_DIRECT_MS: f64 = 5.0;
/// How long a slow client sleeps after each frame it reads.
const SLOW_CLIENT_PAUSE: Duration = Duration::from_millis(50);
/// The relay through the gateway must move at least this share of what the worker does.
const TARGET_RELAY_RATIO: f64 = 0.9;
/// Rounds of the relay phase (one flood each way) unless FANOUT_RELAY_ROUNDS says otherwise.
const RELAY_ROUNDS: usize = 7;
const T: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The worker program.

/// The program each session runs: this benchmark's own executable in generator mode (see
/// [`generate`]), through a shell script (the worker runs a command without arguments).
fn flood_script(dir: &Path, rate: u32, paced_secs: u32, max_secs: u32) -> String {
    let exe = std::env::current_exe().expect("own executable");
    format!(
        "#!/bin/sh\nexec '{exe}' --generate '{dir}' {rate} {paced_secs} {max_secs}\n",
        exe = exe.display(),
        dir = dir.display()
    )
}

/// Generator mode: what a session prints. Compiled (it was a Perl script, which took a third
/// of a core for the 50 sessions' 10 000 lines/s: CPU taken from what is measured). Every
/// line starts with a marker and the 16-digit epoch microseconds of its write: `!` the line
/// printed at start, `@` paced lines, `#` max-throughput lines.
///
/// Prints a `!` line, then (unless the `latency` file exists: then it sleeps 2 s and exits)
/// waits for `go`; prints `rate` lines/s for `paced_secs` s, each stamped `@` with the
/// microseconds since the epoch at which it is written; waits for `go2`; prints blocks of 320
/// `#`-stamped lines as fast as it can for `max_secs` s (at most [`MAX_PHASE_BYTES`]); the
/// same again after `go3`; waits for `done`.
fn generate(args: &[String]) -> std::process::ExitCode {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let [dir, rate, paced_secs, max_secs] = args else {
        eprintln!("usage: fanout --generate DIR RATE PACED_SECS MAX_SECS");
        return std::process::ExitCode::from(2);
    };
    let dir = Path::new(dir);
    let (Ok(rate), Ok(paced_secs), Ok(max_secs)) =
        (rate.parse::<u64>(), paced_secs.parse::<u64>(), max_secs.parse::<u64>())
    else {
        eprintln!("fanout --generate: RATE, PACED_SECS and MAX_SECS are whole numbers");
        return std::process::ExitCode::from(2);
    };
    // SAFETY: fd 1 is open for the life of the process; ManuallyDrop never closes it.
    let mut out = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
    // One buffer, its stamp and number rewritten in place for every line: the generators print
    // 10 000 lines/s on the machine being measured, and a formatted `String` per line cost
    // them malloc/free and formatting for every line.
    let mut buf = format!("!{:016} {:06} {}\n", 0, 0, "x".repeat(LINE_BYTES - 26)).into_bytes();
    let wait_for = |name: &str, secs: u64| {
        let end = Instant::now() + Duration::from_secs(secs);
        while !dir.join(name).exists() {
            if Instant::now() > end {
                std::process::exit(0);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    if out.write_all(stamp(&mut buf, b'!', 0)).is_err() {
        return std::process::ExitCode::SUCCESS;
    }
    if let Some(bytes) = relay::armed(dir) {
        return relay::flood(&mut *out, bytes);
    }
    if dir.join("latency").exists() {
        std::thread::sleep(Duration::from_secs(2));
        return std::process::ExitCode::SUCCESS;
    }
    wait_for("go", 120);
    let total = rate * paced_secs;
    let t0 = Instant::now();
    let mut n = 0;
    while n < total {
        let due = (t0.elapsed().as_micros() as u64 * rate / 1_000_000 + 1).min(total);
        while n < due {
            if out.write_all(stamp(&mut buf, b'@', n)).is_err() {
                return std::process::ExitCode::SUCCESS;
            }
            n += 1;
        }
        let next = t0 + Duration::from_micros(n * 1_000_000 / rate.max(1));
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    for go in ["go2", "go3"] {
        wait_for(go, 120);
        let end = Instant::now() + Duration::from_secs(max_secs);
        let mut sent = 0u64;
        while sent < MAX_PHASE_BYTES && Instant::now() < end {
            let block = stamp(&mut buf, b'#', n).repeat(320);
            n += 1;
            if out.write_all(&block).is_err() {
                return std::process::ExitCode::SUCCESS;
            }
            sent += block.len() as u64;
        }
    }
    wait_for("done", 60);
    std::process::ExitCode::SUCCESS
}

/// Stamps the generator's line buffer: `marker`, the epoch microseconds now, line number `n`.
fn stamp(line: &mut [u8], marker: u8, n: u64) -> &[u8] {
    line[0] = marker;
    write_digits(&mut line[1..17], now_us());
    write_digits(&mut line[18..24], n % 1_000_000);
    line
}

/// Writes `value`'s last `out.len()` decimal digits into `out`, zero-padded.
fn write_digits(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The stamp that `at` starts with, if it does: a marker (`!`, `@`, `#`) and 16 digits.
fn stamp_at(at: &[u8]) -> Option<(u8, u64)> {
    let (&marker, rest) = at.split_first()?;
    let digits = rest.get(..16)?;
    (matches!(marker, b'!' | b'@' | b'#') && digits.iter().all(u8::is_ascii_digit))
        .then(|| (marker, digits.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))))
}

/// The last stamp in `payload` with its marker, if any.
fn last_stamp(payload: &[u8]) -> Option<(u8, u64)> {
    (0..payload.len().saturating_sub(16)).rev().find_map(|i| stamp_at(&payload[i..]))
}

/// Every paced (`@`) stamp in `payload` that starts a line. A frame may begin mid-line, but
/// only a line's start holds a marker followed by 16 digits.
fn paced_line_stamps(payload: &[u8]) -> impl Iterator<Item = u64> + '_ {
    payload.split(|&b| b == b'\n').filter_map(|line| match stamp_at(line) {
        Some((b'@', at)) => Some(at),
        _ => None,
    })
}

/// A delay in µs from stamp `at` to receive time `rx`, as the samples keep it.
fn delay_us(rx: u64, at: u64) -> u32 {
    rx.saturating_sub(at).min(u64::from(u32::MAX)) as u32
}

// ---------------------------------------------------------------------------------------------
// /proc sampling.

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

/// (ppid, utime+stime ticks) of a process.
fn proc_stat(pid: u32) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ppid = fields.get(1)?.parse().ok()?;
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((ppid, ticks))
}

/// VmRSS in bytes.
fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// Every descendant of `root`.
fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for pid in all_pids() {
        if let Some((ppid, _)) = proc_stat(pid) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
            out.push(c);
            todo.push(c);
        }
    }
    out
}

/// CPU ticks of the gateway and of each of its descendants.
#[derive(Clone)]
struct CpuMark {
    at: Instant,
    gateway: u64,
    workers: HashMap<u32, u64>,
    /// This process (the clients).
    bench: u64,
    /// The whole machine: busy ticks (all CPUs).
    busy: u64,
}

/// Busy ticks of the whole machine (every CPU), from /proc/stat.
fn machine_busy() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next() else { return 0 };
    let v: Vec<u64> = cpu.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal
    v.iter().take(8).sum::<u64>() - v.get(3).copied().unwrap_or(0) - v.get(4).copied().unwrap_or(0)
}

fn cpu_mark(gw: u32) -> CpuMark {
    let gateway = proc_stat(gw).map_or(0, |(_, t)| t);
    let workers = descendants(gw).into_iter().filter_map(|p| Some((p, proc_stat(p)?.1))).collect();
    let bench = proc_stat(std::process::id()).map_or(0, |(_, t)| t);
    CpuMark { at: Instant::now(), gateway, workers, bench, busy: machine_busy() }
}

/// CPU between two marks, in % of one core.
struct CpuUse {
    gateway: f64,
    workers: f64,
    bench: f64,
    machine: f64,
}

fn cpu_between(a: &CpuMark, b: &CpuMark) -> CpuUse {
    let secs = b.at.duration_since(a.at).as_secs_f64().max(1e-6);
    let pct = |ticks: u64| ticks as f64 / clk_tck() / secs * 100.0;
    let workers: u64 = b.workers.iter().map(|(p, t)| t.saturating_sub(*a.workers.get(p).unwrap_or(&0))).sum();
    CpuUse {
        gateway: pct(b.gateway.saturating_sub(a.gateway)),
        workers: pct(workers),
        bench: pct(b.bench.saturating_sub(a.bench)),
        machine: pct(b.busy.saturating_sub(a.busy)),
    }
}

/// Peak RSS per phase, sampled every 100 ms on a thread of its own.
struct Sampler {
    phase: AtomicUsize,
    stop: AtomicBool,
    /// Per phase: (gateway peak VmRSS, workers' peak summed VmRSS, worker processes at that peak).
    peaks: Mutex<Vec<(u64, u64, usize)>>,
}

impl Sampler {
    fn start(gw: u32, phases: usize) -> Arc<Sampler> {
        let sampler = Arc::new(Sampler {
            phase: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            peaks: Mutex::new(vec![(0, 0, 0); phases]),
        });
        let s = sampler.clone();
        std::thread::spawn(move || {
            while !s.stop.load(Ordering::Relaxed) {
                let g = rss(gw).unwrap_or(0);
                let procs = descendants(gw);
                let w: u64 = procs.iter().filter_map(|&p| rss(p)).sum();
                let phase = s.phase.load(Ordering::Relaxed);
                let mut peaks = s.peaks.lock().unwrap();
                let peak = &mut peaks[phase];
                peak.0 = peak.0.max(g);
                if w > peak.1 {
                    peak.1 = w;
                    peak.2 = procs.len();
                }
                drop(peaks);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        sampler
    }
}

// ---------------------------------------------------------------------------------------------
// The control plane process.

struct Gateway {
    child: Option<tokio::process::Child>,
    pid: u32,
    base: String,
    http: reqwest::Client,
    /// Substring of every worker's command line (the bench's temp dir).
    marker: String,
    log: PathBuf,
}

impl Gateway {
    async fn start(dir: &Path) -> Gateway {
        // FANOUT_COCKPIT: measure another build of `cockpit` (e.g. one with a fix applied).
        let bin = std::env::var_os("FANOUT_COCKPIT")
            .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_cockpit")), PathBuf::from);
        let env = [("COCKPIT_LOG", "warn"), ("COCKPIT_WORKER_LOG", "warn")];
        let (child, base) = support::serve(&bin, dir, &env).await;
        let pid = child.id().expect("pid");
        let (marker, log) = (dir.display().to_string(), dir.join("cockpit.log"));
        Gateway { child: Some(child), pid, base, http: reqwest::Client::new(), marker, log }
    }

    fn ws_url(&self, id: &str, from: u64) -> String {
        format!("{}/ws/sessions/{id}?from={from}", self.base.replacen("http://", "ws://", 1))
    }

    /// A phone opening the session afresh: a snapshot, then live output.
    fn ws_url_live(&self, id: &str) -> String {
        format!("{}/ws/sessions/{id}", self.base.replacen("http://", "ws://", 1))
    }

    /// `POST /api/sessions`; returns the session id.
    async fn create(&self, name: &str) -> String {
        let resp = self
            .http
            .post(format!("{}/api/sessions", self.base))
            .json(&serde_json::json!({ "repo_name": "bench", "name": name }))
            .send()
            .await
            .expect("POST /api/sessions");
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.expect("JSON");
        assert_eq!(status.as_u16(), 201, "POST /api/sessions: {body}");
        body["id"].as_str().expect("id").to_owned()
    }

    async fn session(&self, name: &str) -> serde_json::Value {
        let resp = self.http.get(format!("{}/api/sessions/{name}", self.base)).send().await.expect("GET session");
        resp.json().await.expect("JSON")
    }

    async fn wait_phase(&self, name: &str, what: &str, pred: impl Fn(&serde_json::Value) -> bool) {
        let deadline = Instant::now() + T;
        loop {
            let view = self.session(name).await;
            if pred(&view) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {name} to be {what}: {view:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Worker processes (and their programs) of this bench still alive.
    fn leftovers(&self) -> Vec<u32> {
        all_pids()
            .into_iter()
            .filter(|&p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .map(|c| String::from_utf8_lossy(&c).contains(&self.marker))
                    .unwrap_or(false)
            })
            .filter(|&p| p != std::process::id())
            .collect()
    }

    /// SIGTERM (it stops its workers), wait, then make sure no worker of ours survives.
    async fn stop(&mut self) -> (bool, usize) {
        let Some(mut child) = self.child.take() else { return (true, 0) };
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.pid as i32, libc::SIGTERM) };
        let clean = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.is_ok();
        if !clean {
            let _ = child.kill().await;
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut left = self.leftovers();
        while !left.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            left = self.leftovers();
        }
        for &p in &left {
            // SAFETY: kill(2) on a process this bench started (its command line names our temp dir).
            unsafe { libc::kill(p as i32, libc::SIGKILL) };
        }
        (clean, left.len())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // On a panic: a clean stop so workers (own process groups) stop too; then kill stragglers.
        if self.child.take().is_some() {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(self.pid as i32, libc::SIGTERM) };
            std::thread::sleep(Duration::from_secs(3));
            for p in self.leftovers() {
                // SAFETY: as in `stop`.
                unsafe { libc::kill(p as i32, libc::SIGKILL) };
            }
            // SAFETY: as above.
            unsafe { libc::kill(self.pid as i32, libc::SIGKILL) };
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clients.

struct Shared {
    bytes: AtomicU64,
    frames: AtomicU64,
    last_rx_us: AtomicU64,
    /// Clients that have received output.
    ready: AtomicUsize,
    /// When phase 2b began (µs since the epoch; `u64::MAX` before): later stamps are its.
    go3_us: AtomicU64,
}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            bytes: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            last_rx_us: AtomicU64::new(0),
            ready: AtomicUsize::new(0),
            go3_us: AtomicU64::new(u64::MAX),
        }
    }
}

#[derive(Default)]
struct ClientResult {
    /// Frame delays in µs: [paced, max, max with slow clients].
    delays: [Vec<u32>; 3],
    /// Receive times (µs since the epoch) of the paced delays, for FANOUT_TIMELINE.
    paced_at: Vec<u64>,
    /// Paced phase: the delay of every line (receive time minus its own stamp), where a
    /// frame's delay counts only its newest line: what the oldest line of a frame waited
    /// while the worker gathered the batch shows here.
    line_delays: Vec<u32>,
    snapshots: u64,
    gaps: u64,
}

/// Connects a measuring client. Its read buffer is small: tungstenite zeroes the whole read
/// buffer (128 KiB by default) before every read, which for 500 clients reading small frames
/// cost this process a third of a core — CPU taken from the gateway and workers being
/// measured, and a cost a browser does not have.
async fn connect(
    target: &Target,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024);
    let mut request = target.url.as_str().into_client_request()?;
    if let Some(bearer) = &target.bearer {
        // A credential is 64 hex characters: always a valid header value.
        request.headers_mut().insert("authorization", bearer.parse().expect("a header value"));
    }
    tokio_tungstenite::connect_async_with_config(request, Some(config), true).await
}

/// Where a measuring client connects: the gateway, or a worker straight (with the control
/// plane's credential for it).
struct Target {
    url: String,
    bearer: Option<String>,
}

/// A client that cannot keep up: after each frame it reads, it sleeps [`SLOW_CLIENT_PAUSE`].
async fn slow_client(url: Target, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let (mut ws, _) = connect(&url).await.unwrap_or_else(|e| panic!("connecting {}: {e}", url.url));
    let mut counted = false;
    loop {
        let msg = tokio::select! {
            msg = ws.next() => msg,
            _ = stop.changed() => break,
        };
        let Some(Ok(msg)) = msg else { break };
        if let Message::Binary(bytes) = msg {
            shared.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            shared.frames.fetch_add(1, Ordering::Relaxed);
            if !counted {
                counted = true;
                shared.ready.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(SLOW_CLIENT_PAUSE).await;
        }
    }
    let _ = ws.close(None).await;
}

async fn client(url: Target, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) -> ClientResult {
    let mut ws = None;
    for _ in 0..20 {
        match connect(&url).await {
            Ok((s, _)) => {
                ws = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let mut ws = ws.unwrap_or_else(|| panic!("connecting {}", url.url));
    let mut out = ClientResult::default();
    let mut next: Option<u64> = None;
    loop {
        let msg = tokio::select! {
            msg = ws.next() => msg,
            _ = stop.changed() => break,
        };
        let Some(Ok(msg)) = msg else { break };
        let Message::Binary(bytes) = msg else { continue };
        let rx = now_us();
        shared.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        shared.frames.fetch_add(1, Ordering::Relaxed);
        shared.last_rx_us.fetch_max(rx, Ordering::Relaxed);
        let Ok(frame) = decode_binary(&bytes) else { continue };
        match frame.kind {
            BinaryKind::Snapshot => {
                out.snapshots += 1;
                next = Some(frame.offset);
            }
            BinaryKind::Output => {
                if next.is_none() {
                    shared.ready.fetch_add(1, Ordering::Relaxed);
                } else if next != Some(frame.offset) {
                    out.gaps += 1;
                }
                next = Some(frame.offset + frame.payload.len() as u64);
                match last_stamp(frame.payload) {
                    Some((b'@', at)) => {
                        out.delays[0].push(delay_us(rx, at));
                        out.paced_at.push(rx);
                        out.line_delays.extend(paced_line_stamps(frame.payload).map(|at| delay_us(rx, at)));
                    }
                    Some((b'#', at)) => {
                        let phase = if at >= shared.go3_us.load(Ordering::Relaxed) { 2 } else { 1 };
                        out.delays[phase].push(delay_us(rx, at));
                    }
                    _ => {}
                }
            }
        }
    }
    let _ = ws.close(None).await;
    out
}

/// Waits until no byte arrived for `quiet`; returns the last receive time (µs since epoch).
async fn wait_quiet(shared: &Shared, quiet: Duration, limit: Duration) -> u64 {
    let deadline = Instant::now() + limit;
    let mut last = shared.bytes.load(Ordering::Relaxed);
    let mut since = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = shared.bytes.load(Ordering::Relaxed);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            break;
        }
    }
    shared.last_rx_us.load(Ordering::Relaxed)
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

struct PhaseRow {
    name: String,
    mb_s: f64,
    frames: u64,
    delays: Vec<u32>,
    /// Delays seen by clients connected straight to the workers (no gateway).
    direct: Vec<u32>,
    gw_rss: u64,
    workers_rss: u64,
    workers_procs: usize,
    cpu: CpuUse,
}

/// What the gateway's clients had received, and the CPU used, at the start of a phase or at
/// its end; `at_us` is when the generators were told to go, or when the last byte arrived.
struct Tally {
    bytes: u64,
    frames: u64,
    cpu: CpuMark,
    at_us: u64,
}

fn tally(shared: &Shared, gw: u32, at_us: u64) -> Tally {
    Tally {
        bytes: shared.bytes.load(Ordering::Relaxed),
        frames: shared.frames.load(Ordering::Relaxed),
        cpu: cpu_mark(gw),
        at_us,
    }
}

impl PhaseRow {
    /// A phase from its two tallies, its delays (via the gateway and straight on the workers)
    /// and the sampler's peaks `(gateway RSS, workers RSS, worker processes)` over it.
    fn new(name: String, start: &Tally, end: &Tally, delays: [Vec<u32>; 2], peak: (u64, u64, usize)) -> PhaseRow {
        let [delays, direct] = delays;
        PhaseRow {
            name,
            mb_s: (end.bytes - start.bytes) as f64 / 1e6 / (end.at_us.saturating_sub(start.at_us) as f64 / 1e6),
            frames: end.frames - start.frames,
            delays,
            direct,
            gw_rss: peak.0,
            workers_rss: peak.1,
            workers_procs: peak.2,
            cpu: cpu_between(&start.cpu, &end.cpu),
        }
    }
}

/// Spawns one client per url; returns their tasks.
/// The key the control plane derives its workers' credentials from (in its database).
async fn worker_keys(data_dir: &Path) -> cockpit_operator::worker_credentials::WorkerKeys {
    let url = format!("sqlite://{}", data_dir.join("cockpit.db").display());
    let store = cockpit_operator::store::Store::connect(&url).await.expect("the control plane's database");
    cockpit_operator::worker_credentials::WorkerKeys::load_or_create(&store).await.expect("the key")
}

fn spawn_clients(
    urls: impl IntoIterator<Item = Target>,
    shared: &Arc<Shared>,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<ClientResult>> {
    urls.into_iter().map(|url| tokio::spawn(client(url, shared.clone(), stop.clone()))).collect()
}

async fn wait_ready(shared: &Shared, want: usize, what: &str) {
    let deadline = Instant::now() + T;
    while shared.ready.load(Ordering::Relaxed) < want {
        assert!(Instant::now() < deadline, "only {} of {want} {what} got output", shared.ready.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Stops the clients and merges their results: ([paced, max] delays, snapshots, gaps). With
/// FANOUT_TIMELINE set, prints the paced delays' p99 and max per half second (where the tail
/// comes from: steady or spikes).
async fn collect(tasks: Vec<tokio::task::JoinHandle<ClientResult>>, label: &str) -> Collected {
    let mut delays = [Vec::new(), Vec::new(), Vec::new()];
    let mut line_delays = Vec::new();
    let mut timeline = Vec::new();
    let (mut snapshots, mut gaps) = (0u64, 0u64);
    for task in tasks {
        let r = task.await.expect("client task");
        timeline.extend(r.paced_at.iter().copied().zip(r.delays[0].iter().copied()));
        line_delays.extend(r.line_delays);
        for (all, mine) in delays.iter_mut().zip(r.delays) {
            all.extend(mine);
        }
        snapshots += r.snapshots;
        gaps += r.gaps;
    }
    if std::env::var_os("FANOUT_TIMELINE").is_some() && !timeline.is_empty() {
        let start = timeline.iter().map(|(at, _)| *at).min().unwrap_or(0);
        let mut buckets: std::collections::BTreeMap<u64, Vec<u32>> = std::collections::BTreeMap::new();
        for (at, delay) in timeline {
            buckets.entry((at - start) / 500_000).or_default().push(delay);
        }
        let line: Vec<String> = buckets
            .values_mut()
            .map(|d| {
                d.sort_unstable();
                format!("{:.0}/{:.0}", pct(d, 0.99), pct(d, 1.0))
            })
            .collect();
        println!("timeline {label} (p99/max ms per 0.5 s): {}", line.join(" "));
    }
    line_delays.sort_unstable();
    Collected { delays, line_delays, snapshots, gaps }
}

/// What [`collect`] merged from its clients.
struct Collected {
    /// Frame delays: [paced, max, max with slow clients].
    delays: [Vec<u32>; 3],
    /// Paced phase, every line's delay (sorted).
    line_delays: Vec<u32>,
    snapshots: u64,
    gaps: u64,
}

// ---------------------------------------------------------------------------------------------

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--generate") {
        return generate(&args[2..]);
    }
    // One thread for the 500 measuring clients: what they cost is CPU taken from the gateway
    // and the workers being measured, and a second thread only adds cross-thread wake-ups.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
    runtime.block_on(run());
    std::process::ExitCode::SUCCESS
}

async fn run() {
    let sessions: usize = env_or("FANOUT_SESSIONS", 50);
    let per_session: usize = env_or("FANOUT_CLIENTS", 10);
    let rate: u32 = env_or("FANOUT_RATE", 200);
    let paced_secs: u32 = env_or("FANOUT_PACED_SECS", 10);
    let max_secs: u32 = env_or("FANOUT_MAX_SECS", 5);
    let latency_sessions: usize = env_or("FANOUT_LATENCY_SESSIONS", 20);
    // Every DIRECT_EVERY-th session also gets one client straight on its worker (attribution).
    let direct_every: usize = env_or("FANOUT_DIRECT_EVERY", 5).max(1);
    let slow_clients: usize = env_or("FANOUT_SLOW_CLIENTS", 500);
    let relay_bytes: u64 = env_or("FANOUT_RELAY_BYTES", 100_000_000);
    let relay_rounds: usize = env_or("FANOUT_RELAY_ROUNDS", RELAY_ROUNDS).max(1);
    let started = Instant::now();

    let tmp = tempfile::Builder::new().prefix("cockpit-fanout-").tempdir().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    let script = dir.join("flood.sh");
    std::fs::write(&script, flood_script(&dir, rate, paced_secs, max_secs)).expect("script");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let config = format!(
        "repos: [{{name: bench, path: {}}}]\nlimits: {{maxConcurrentSessions: 60}}\nworker: {{command: {}}}\n",
        repo.display(),
        script.display()
    );
    std::fs::write(dir.join("cockpit.yaml"), config).expect("config");

    let mut gw = Gateway::start(&dir).await;
    let rss_idle = rss(gw.pid).unwrap_or(0);
    println!(
        "cockpit serve pid {} at {}; {} sessions x {} clients; {} lines/s/session x {} B for {} s, then max throughput for {} s",
        gw.pid, gw.base, sessions, per_session, rate, LINE_BYTES, paced_secs, max_secs
    );

    // Sessions.
    let t = Instant::now();
    let mut ids = Vec::new();
    for i in 0..sessions {
        ids.push(gw.create(&format!("s{i}")).await);
    }
    let mut endpoints = Vec::new();
    for i in 0..sessions {
        let name = format!("s{i}");
        gw.wait_phase(&name, "Running with a worker", |v| {
            v["status"]["phase"] == "Running" && v["status"]["workerEndpoint"].is_string()
        })
        .await;
        endpoints.push(gw.session(&name).await["status"]["workerEndpoint"].as_str().expect("endpoint").to_owned());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_sessions = rss(gw.pid).unwrap_or(0);
    println!("{sessions} sessions Running in {:.1} s", t.elapsed().as_secs_f64());

    // Clients, connected before the flood.
    let shared = Arc::new(Shared::default());
    let direct_shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let urls: Vec<Target> = ids
        .iter()
        .flat_map(|id| std::iter::repeat_n(id, per_session))
        .map(|id| Target { url: gw.ws_url(id, 0), bearer: None })
        .collect();
    let total_clients = urls.len();
    let tasks = spawn_clients(urls, &shared, &stop_rx);
    let keys = worker_keys(&dir.join("data")).await;
    let direct_urls: Vec<Target> = ids
        .iter()
        .zip(&endpoints)
        .step_by(direct_every)
        .map(|(id, e)| Target {
            url: format!("ws://{e}/ws?from=0"),
            bearer: Some(keys.credential(&id.as_str().into()).bearer()),
        })
        .collect();
    let direct_clients = direct_urls.len();
    let direct_tasks = spawn_clients(direct_urls, &direct_shared, &stop_rx);
    wait_ready(&shared, total_clients, "gateway clients").await;
    wait_ready(&direct_shared, direct_clients, "direct worker clients").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_clients = rss(gw.pid).unwrap_or(0);
    println!(
        "{total_clients} gateway clients (+{direct_clients} straight on workers) connected and receiving in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let sampler = Sampler::start(gw.pid, 4);

    // Phase 1: paced.
    let paced_start = tally(&shared, gw.pid, now_us());
    std::fs::write(dir.join("go"), b"").expect("go");
    tokio::time::sleep(Duration::from_secs(u64::from(paced_secs))).await;
    let last = wait_quiet(&shared, Duration::from_millis(400), Duration::from_secs(30)).await;
    let paced_end = tally(&shared, gw.pid, last);
    let rss_after_paced = rss(gw.pid).unwrap_or(0);

    // Phase 2: max throughput.
    sampler.phase.store(1, Ordering::Relaxed);
    let max_start = tally(&shared, gw.pid, now_us());
    std::fs::write(dir.join("go2"), b"").expect("go2");
    tokio::time::sleep(Duration::from_secs(u64::from(max_secs))).await;
    let last = wait_quiet(&shared, Duration::from_millis(500), Duration::from_secs(60)).await;
    let max_end = tally(&shared, gw.pid, last);

    // Phase 2b: max throughput again, with slow clients besides.
    let slow_shared = Arc::new(Shared::default());
    let slow_tasks: Vec<_> = ids
        .iter()
        .cycle()
        .take(slow_clients)
        .map(|id| {
            let target = Target { url: gw.ws_url_live(id), bearer: None };
            tokio::spawn(slow_client(target, slow_shared.clone(), stop_rx.clone()))
        })
        .collect();
    wait_ready(&slow_shared, slow_clients, "slow clients").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_slow_idle = rss(gw.pid).unwrap_or(0);
    sampler.phase.store(2, Ordering::Relaxed);
    let slow_start = tally(&shared, gw.pid, now_us());
    shared.go3_us.store(slow_start.at_us, Ordering::Relaxed);
    direct_shared.go3_us.store(slow_start.at_us, Ordering::Relaxed);
    std::fs::write(dir.join("go3"), b"").expect("go3");
    tokio::time::sleep(Duration::from_secs(u64::from(max_secs))).await;
    let last = wait_quiet(&shared, Duration::from_millis(500), Duration::from_secs(60)).await;
    let slow_end = tally(&shared, gw.pid, last);
    sampler.phase.store(3, Ordering::Relaxed);
    std::fs::write(dir.join("done"), b"").expect("done");

    let _ = stop_tx.send(true);
    for task in slow_tasks {
        task.await.expect("slow client task");
    }
    let Collected { delays: [paced_delays, max_delays, slow_delays], line_delays, snapshots, gaps } =
        collect(tasks, "gateway").await;
    let Collected {
        delays: [paced_direct, max_direct, slow_direct],
        line_delays: direct_line_delays,
        snapshots: direct_snapshots,
        ..
    } = collect(direct_tasks, "direct").await;
    let peaks = sampler.peaks.lock().unwrap().clone();
    let mut rows = vec![
        PhaseRow::new(
            format!("paced {rate} l/s/sess"),
            &paced_start,
            &paced_end,
            [paced_delays, paced_direct],
            peaks[0],
        ),
        PhaseRow::new("max throughput".into(), &max_start, &max_end, [max_delays, max_direct], peaks[1]),
        PhaseRow::new(
            format!("max +{slow_clients} slow clients"),
            &slow_start,
            &slow_end,
            [slow_delays, slow_direct],
            peaks[2],
        ),
    ];

    // Wait for the flood sessions to end (they count against maxConcurrentSessions).
    for i in 0..sessions {
        gw.wait_phase(&format!("s{i}"), "ended", |v| {
            matches!(v["status"]["phase"].as_str(), Some("Succeeded" | "Failed" | "Stopped"))
        })
        .await;
    }

    // Let the gateway settle (it is still writing the flood to the database) so that the
    // start latency is measured on an idle control plane.
    let settle_secs = settle(gw.pid).await;

    // Phase 3: session start latency.
    std::fs::write(dir.join("latency"), b"").expect("latency");
    let mut total = Vec::new();
    let mut post = Vec::new();
    let mut to_print = Vec::new();
    let mut relay = Vec::new();
    for i in 0..latency_sessions {
        let t0 = now_us();
        let id = gw.create(&format!("lat{i}")).await;
        let t_post = now_us();
        let (mut ws, _) = connect(&Target { url: gw.ws_url(&id, 0), bearer: None }).await.expect("ws connects");
        let (t_rx, printed) = tokio::time::timeout(T, async {
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Binary(bytes) = msg
                    && let Ok(frame) = decode_binary(&bytes)
                    && !frame.payload.is_empty()
                {
                    return (now_us(), last_stamp(frame.payload).map(|(_, at)| at));
                }
            }
            panic!("connection ended before output");
        })
        .await
        .expect("first output in time");
        let _ = ws.close(None).await;
        total.push((t_rx - t0) as u32);
        post.push((t_post - t0) as u32);
        if let Some(at) = printed {
            to_print.push(at.saturating_sub(t0) as u32);
            relay.push(t_rx.saturating_sub(at) as u32);
        }
    }
    sampler.stop.store(true, Ordering::Relaxed);
    if std::env::var_os("FANOUT_TIMELINE").is_some() {
        let each: Vec<String> = to_print.iter().map(|us| format!("{:.1}", f64::from(*us) / 1000.0)).collect();
        println!("timeline start latency, POST -> program printed, ms in order: {}", each.join(" "));
    }
    for v in [&mut total, &mut post, &mut to_print, &mut relay] {
        v.sort_unstable();
    }

    // Phase 4: the relay, one flooding session at a time.
    let relay_rounds =
        if relay_bytes > 0 { relay_phase(&gw, &dir, &keys, relay_bytes, relay_rounds).await } else { Vec::new() };

    // Tear down.
    let (clean, leftovers) = gw.stop().await;

    // Report.
    println!();
    println!(
        "== fan-out: {sessions} sessions x {per_session} clients = {total_clients} WebSocket clients via the gateway, in one tokio runtime (MB = 10^6 B of WS messages; delay = receive time - last stamp in the frame) =="
    );
    println!(
        "{:<22} {:>7} {:>8} {:>7} {:>7} {:>7} {:>9} {:>14} | {:>6} {:>6} {:>7} {:>6}",
        "phase",
        "MB/s",
        "frames",
        "p50 ms",
        "p99 ms",
        "max ms",
        "gw RSS MiB",
        "workers RSS MiB",
        "gw",
        "wkrs",
        "clients",
        "all"
    );
    for row in &mut rows {
        row.delays.sort_unstable();
        row.direct.sort_unstable();
        println!(
            "{:<22} {:>7.2} {:>8} {:>7.2} {:>7.2} {:>7.1} {:>10.1} {:>7.0} ({:>3}p) | {:>5.0}% {:>5.0}% {:>6.0}% {:>5.0}%",
            row.name,
            row.mb_s,
            row.frames,
            pct(&row.delays, 0.5),
            pct(&row.delays, 0.99),
            pct(&row.delays, 1.0),
            mib(row.gw_rss),
            mib(row.workers_rss),
            row.workers_procs,
            row.cpu.gateway,
            row.cpu.workers,
            row.cpu.bench,
            row.cpu.machine,
        );
    }
    println!("(CPU columns: % of one core over the phase; `all` = whole machine, 2 cores = 200%)");
    for row in &rows {
        println!(
            "  {:<20} straight on the worker ({direct_clients} clients, no gateway): p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
            row.name,
            pct(&row.direct, 0.5),
            pct(&row.direct, 0.99),
            pct(&row.direct, 1.0)
        );
    }
    println!(
        "  paced, every line (its receive time - its own stamp; the frame delay counts a frame's newest line only): via the gateway p50 {:.2} ms, p99 {:.2} ms; straight on the worker p50 {:.2} ms, p99 {:.2} ms",
        pct(&line_delays, 0.5),
        pct(&line_delays, 0.99),
        pct(&direct_line_delays, 0.5),
        pct(&direct_line_delays, 0.99)
    );
    let expected = sessions as f64 * f64::from(rate) * (LINE_BYTES + 1) as f64 / 1e6;
    println!(
        "  paced PTY output {:.2} MB/s in total ({:.1} MB/s of payload expected at the clients); resync snapshots {snapshots} (direct {direct_snapshots}), offset gaps {gaps}",
        expected,
        expected * per_session as f64
    );
    println!(
        "  gateway VmRSS: idle {:.1} MiB, {sessions} sessions {:.1} MiB, +{total_clients} clients {:.1} MiB, after paced {:.1} MiB, peak paced {:.1} MiB, peak max {:.1} MiB, +{slow_clients} slow clients {:.1} MiB, peak max with them {:.1} MiB",
        mib(rss_idle),
        mib(rss_sessions),
        mib(rss_clients),
        mib(rss_after_paced),
        mib(rows[0].gw_rss),
        mib(rows[1].gw_rss),
        mib(rss_slow_idle),
        mib(rows[2].gw_rss)
    );
    println!();
    println!(
        "== session start latency: {latency_sessions} sessions one after another, POST /api/sessions -> first output byte at a client (after {settle_secs:.1} s for the gateway to go idle) =="
    );
    println!("{:<34} {:>8} {:>8} {:>8}", "", "p50 ms", "p99 ms", "max ms");
    for (name, v) in [
        ("POST -> first output byte", &total),
        ("  POST -> 201", &post),
        ("  POST -> program printed", &to_print),
        ("  program printed -> client", &relay),
    ] {
        println!("{:<34} {:>8.1} {:>8.1} {:>8.1}", name, pct(v, 0.5), pct(v, 0.99), pct(v, 1.0));
    }
    let relay_ratio = relay::median(relay_rounds.iter().filter_map(relay::Round::ratio).collect());
    if relay_bytes > 0 {
        println!();
        println!(
            "== relay: one session floods {:.0} MB of 64-byte lines, one client from the first byte to the marker ({} rounds of one flood each way, the order swapped every round) ==",
            relay_bytes as f64 / 1e6,
            relay_rounds.len()
        );
        let direct: Vec<&relay::RelayRun> = relay_rounds.iter().filter_map(|r| r.direct.as_ref()).collect();
        let gateway: Vec<&relay::RelayRun> = relay_rounds.iter().filter_map(|r| r.gateway.as_ref()).collect();
        for (name, runs) in [("straight on the worker", direct), ("through the gateway", gateway)] {
            let each: Vec<String> = runs.iter().map(|r| format!("{:.1}", r.mbps())).collect();
            let repaints: u64 = runs.iter().map(|r| r.repaints).sum();
            println!(
                "{:<34} median {:>6} MB/s   floods {} MB/s, {repaints} repaints",
                name,
                relay::median(runs.iter().map(|r| r.mbps()).collect()).map_or("n/a".to_owned(), |m| format!("{m:.1}")),
                each.join(" / ")
            );
        }
        let ratios: Vec<String> = relay_rounds
            .iter()
            .map(|r| r.ratio().map_or("failed".to_owned(), |x| format!("{:.0} %", x * 100.0)))
            .collect();
        println!("{:<34} {}", "gateway / straight, round by round", ratios.join(" / "));
    }
    println!();
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let paced = &rows[0];
    let rss_ok = mib(paced.gw_rss) < TARGET_GW_RSS_MIB;
    let p99 = pct(&paced.delays, 0.99);
    let direct_p99 = pct(&paced.direct, 0.99);
    println!(
        "target gateway RSS < {TARGET_GW_RSS_MIB} MiB at {sessions}x{per_session} (paced): {:.1} MiB  {}",
        mib(paced.gw_rss),
        verdict(rss_ok)
    );
    println!(
        "target gateway RSS < {TARGET_MAX_RSS_MIB} MiB at {sessions}x{per_session} (max throughput): {:.1} MiB  {}",
        mib(rows[1].gw_rss),
        verdict(mib(rows[1].gw_rss) < TARGET_MAX_RSS_MIB)
    );
    if slow_clients > 0 {
        let per_client_kib = (rows[2].gw_rss as f64 - rows[1].gw_rss as f64) / 1024.0 / slow_clients as f64;
        println!(
            "target < {TARGET_SLOW_CLIENT_KIB:.0} KiB more RSS per extra slow client ({total_clients} -> {} clients, max throughput): {per_client_kib:.1} KiB  {}",
            total_clients + slow_clients,
            verdict(per_client_kib < TARGET_SLOW_CLIENT_KIB)
        );
    }
    println!("target p99 frame delay < {TARGET_P99_MS} ms (paced): {p99:.2} ms  {}", verdict(p99 < TARGET_P99_MS));
    println!(
        "target paced p99 within {TARGET_P99_OVER_DIRECT_MS} ms of straight on the worker ({direct_p99:.2} ms): {:+.2} ms  {}",
        p99 - direct_p99,
        verdict(p99 - direct_p99 <= TARGET_P99_OVER_DIRECT_MS)
    );
    if let Some(ratio) = relay_ratio {
        println!(
            "target relay through the gateway >= {:.0} % of straight on the worker (median round): {:.0} %  {}",
            TARGET_RELAY_RATIO * 100.0,
            ratio * 100.0,
            verdict(ratio >= TARGET_RELAY_RATIO)
        );
    }
    println!(
        "cleanup: cockpit serve {} on SIGTERM; worker processes left: {leftovers}{}; total bench time {:.0} s",
        if clean { "exited" } else { "did NOT exit (killed)" },
        if leftovers > 0 { " (killed)" } else { "" },
        started.elapsed().as_secs_f64()
    );
    if !clean || leftovers > 0 {
        eprintln!("gateway log tail:\n{}", tail(&gw.log, 4000));
    }
    drop(tmp);
}

/// Waits (at most 20 s) until the gateway has gone idle: it writes a flood to the database
/// after the flood has passed. Returns the seconds waited.
async fn settle(gw_pid: u32) -> f64 {
    let settle = Instant::now();
    loop {
        let a = cpu_mark(gw_pid);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let used = cpu_between(&a, &cpu_mark(gw_pid));
        if (used.gateway < 10.0 && used.machine < 40.0) || settle.elapsed() > Duration::from_secs(20) {
            return settle.elapsed().as_secs_f64();
        }
    }
}

/// Phase 4: `rounds` rounds of one flood of `bytes` each way, one session per flood, straight
/// on the worker first in even rounds and through the gateway first in odd ones.
async fn relay_phase(
    gw: &Gateway,
    dir: &Path,
    keys: &cockpit_operator::worker_credentials::WorkerKeys,
    bytes: u64,
    rounds: usize,
) -> Vec<relay::Round> {
    relay::arm(dir, bytes).expect("arming the relay flood");
    let mut done = Vec::new();
    for round in 0..rounds {
        let mut this = relay::Round::default();
        let order = if round % 2 == 0 { [false, true] } else { [true, false] };
        for through_gateway in order {
            let name = format!("relay{round}{}", if through_gateway { "g" } else { "w" });
            // ... and the gateway has written the previous one (and the phases before) away.
            settle(gw.pid).await;
            let id = gw.create(&name).await;
            gw.wait_phase(&name, "Running with a worker", |v| {
                v["status"]["phase"] == "Running" && v["status"]["workerEndpoint"].is_string()
            })
            .await;
            let result = if through_gateway {
                relay::measure(&gw.ws_url(&id, 0), None).await
            } else {
                let view = gw.session(&name).await;
                let endpoint = view["status"]["workerEndpoint"].as_str().expect("endpoint");
                relay::measure(
                    &format!("ws://{endpoint}/ws?from=0"),
                    Some(&keys.credential(&id.as_str().into()).bearer()),
                )
                .await
            };
            let label = if through_gateway { "through the gateway" } else { "straight on the worker" };
            match result {
                Ok(r) => {
                    println!(
                        "relay round {} {label}: {:.1} MB in {:.3} s = {:.1} MB/s{}",
                        round + 1,
                        r.bytes as f64 / 1e6,
                        r.seconds,
                        r.mbps(),
                        if r.repaints > 0 { format!(", {} repaints", r.repaints) } else { String::new() }
                    );
                    if through_gateway { this.gateway = Some(r) } else { this.direct = Some(r) }
                }
                Err(err) => println!("relay round {} {label}: FAILED: {err}", round + 1),
            }
            // The next flood has the machine to itself.
            gw.wait_phase(&name, "over", |v| v["status"]["phase"] != "Running").await;
        }
        done.push(this);
    }
    done
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}
