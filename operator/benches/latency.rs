//! Latency benchmark (prints numbers; not a test): how soon a phone learns what the real
//! Claude Code CLI just did, and how long a session takes to show its prompt on the phone
//! compared with a bare `claude` started in a terminal. Everything is real but the model: a
//! real `cockpit serve` (release build) with real workers running the real CLI (the one
//! `./test.sh` installs, or `COCKPIT_TEST_CLAUDE`), against the tests' scripted stand-in for
//! the Anthropic API (`cockpit-testkit`, in this process).
//!
//! `cargo bench -p cockpit-operator --bench latency`
//!
//! 1. **State latency**: one session (permission mode `default`, passed explicitly) runs turns
//!    of `TOOLBASH …`: the stand-in answers with a Bash call, the CLI fires its
//!    PermissionRequest hook (→ NeedsApproval), the bench allows it through the API, the tool
//!    runs and the CLI fires Stop at the end of the turn (→ Idle). Two hook-driven transitions
//!    a turn; 100 turns (after 2 not counted). A transition's latency is its arrival at a phone
//!    minus the moment the CLI started the hook's command, on two channels: the events stream
//!    (`GET /api/events`, the `change` event whose session shows the new activity) and the
//!    session WebSocket (`/ws/sessions/{id}`, the `state` frame). "Hook started" is stamped on
//!    the CLI's side with no product change: the session's worker is this very executable (the
//!    config's `worker.bin`, hard-linked into the bench's directory), which runs
//!    `cockpit_worker::cli::main` exactly as `cockpit worker` does; the worker writes itself
//!    into the CLI's `--settings` as the hook command (`<exe> post-hook --event E`), so every
//!    hook the CLI runs starts this executable, which appends `E <unix µs>` to a file next to
//!    itself (first thing in `main`, before the post) and then posts as `cockpit worker
//!    post-hook` does. The stamp is thus taken a shell exec plus a process start after the
//!    CLI spawned the hook (about a millisecond), never after anything Cockpit does. An
//!    arrival is the first state on the channel showing the new activity; when the screen
//!    classifier showed it before the hook's state arrived (rare), that earlier arrival counts
//!    and the transition is counted as "screen first". Also shown: the part until the worker
//!    took the hook (its `activitySince` − the stamp). Target: p99 < 50 ms over the 200
//!    transitions, on each channel.
//! 2. **Start latency**: `POST /api/sessions` → the CLI's input prompt on the phone: a
//!    WebSocket client connected right after the 201 feeds every byte into the same terminal
//!    emulator the worker uses (120 × 40, the size a new session gets) and the prompt is ready
//!    when the worker's own screen classifier first reads the screen as `Idle` (the prompt
//!    box's `❯` row, or `? for shortcuts`). Against a bare `claude` in a PTY of the same size
//!    (the worker's PTY code, read with no pacing), timed from spawn to the same screen
//!    marker: the same binary with the environment, arguments and `--settings` file a worker
//!    gives it (`cockpit_worker::claude_setup` and `hooks`: clean env, a config dir seeded
//!    the same way, `--session-id`, `--permission-mode default`, the hooks and status line as
//!    `cockpit worker post-hook` commands, here with no worker to post to), a fresh git
//!    worktree of the same repo as its working directory (made untimed), pointed straight at
//!    the stand-in. A third kind, plain `claude` (the same but no `--settings`), shows what
//!    Cockpit's settings cost the CLI itself. The three kinds interleaved (every order in
//!    turn), each start on a quiet machine (under 10 % busy), 20 of each after one of each
//!    not counted; overhead = Cockpit's median vs the bare median. Cockpit's side is broken
//!    down from its logs (worktree prepared, worker up, CLI spawned), what the phone saw
//!    (first byte, the SessionStart hook's Idle) and the CPU each process used until the
//!    prompt (/proc); LAT_START_PROFILE=1 adds the hooks' stamps (with the stamping worker,
//!    as in part 1) and a client straight on the worker (what the relay adds). Target:
//!    overhead ≤ 10 %.
//!
//! Knobs (env): LAT_COCKPIT (another `cockpit` binary), LAT_ONLY (`state` or `start`),
//! LAT_TURNS (100), LAT_WARMUP_TURNS (2), LAT_STARTS (20), LAT_WARMUP_STARTS (1),
//! LAT_START_PROFILE, LAT_KEEP (keep the bench's directory and print it).

mod support;

use support::{env_or, now_us};

use cockpit_testkit::claude_bin;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cockpit_api::Activity;
use cockpit_api::api::ChangeEvent;
use cockpit_api::frames::{BinaryKind, ServerFrame, decode_binary};
use cockpit_term::terminal::Terminal;
use cockpit_worker::classify::{ScreenClass, classify};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const TARGET_STATE_P99_MS: f64 = 50.0;
const TARGET_START_OVERHEAD_PCT: f64 = 10.0;
const TOKEN: &str = "sk-ant-oat01-latency-bench";
const T: Duration = Duration::from_secs(60);
/// The hook stamps, next to the stamping worker executable.
const STAMPS: &str = "hook-stamps";
/// The name this executable is hard-linked under as the sessions' worker.
const WORKER_LINK: &str = "cockpit-worker-stamping";
/// A new session's terminal size.
const COLS: u16 = 120;
const ROWS: u16 = 40;

// ---------------------------------------------------------------------------------------------
// This executable as the sessions' worker.

fn main() -> std::process::ExitCode {
    // First thing: when the CLI runs this executable as a hook, this is when the hook started.
    let started = now_us();
    let args: Vec<OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|a| a.to_str()) {
        // `cockpit serve` starts its workers as `<worker.bin> run …`.
        Some("run") => return cockpit_worker::cli::main(args),
        // The CLI runs every hook as `<worker exe> post-hook --socket S --event E`.
        Some("post-hook") => {
            stamp_hook(started, &args);
            return cockpit_worker::cli::main(args);
        }
        _ => {}
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    runtime.block_on(run());
    std::process::ExitCode::SUCCESS
}

/// Appends `<event> <µs>` to [`STAMPS`] next to this executable (one write: lines from
/// concurrent hooks never interleave). A failure only loses the stamp: the hook still posts.
fn stamp_hook(at: u64, args: &[OsString]) {
    let event = args.iter().skip_while(|a| *a != "--event").nth(1).and_then(|e| e.to_str()).unwrap_or("?");
    let Some(file) = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join(STAMPS))) else { return };
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
        let _ = f.write_all(format!("{event} {at}\n").as_bytes());
    }
}

/// This executable, hard-linked (copied when linking fails) as `dir/WORKER_LINK`: the worker
/// then finds [`STAMPS`] in `dir`.
fn stamping_worker(dir: &Path) -> PathBuf {
    let exe = std::env::current_exe().expect("own executable");
    let link = dir.join(WORKER_LINK);
    if std::fs::hard_link(&exe, &link).is_err() {
        std::fs::copy(&exe, &link).expect("copying the bench executable as the worker");
    }
    link
}

// ---------------------------------------------------------------------------------------------
// Shared setup.

fn git(repo: &Path, args: &[&str]) {
    let out = std::process::Command::new("git").args(args).current_dir(repo).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A git repo with one commit.
fn git_repo(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    git(&repo, &["init", "-q"]);
    git(&repo, &["-c", "user.email=b@b", "-c", "user.name=b", "commit", "-q", "--allow-empty", "-m", "init"]);
    repo
}

/// A running `cockpit serve`; stopped cleanly (SIGTERM: its workers stop too) when dropped.
struct Serve {
    child: Option<tokio::process::Child>,
    pid: u32,
    base: String,
    dir: PathBuf,
    http: reqwest::Client,
}

impl Serve {
    /// Starts `cockpit serve` in `dir` with `config` and the environment every phase needs.
    async fn start(bin: &Path, dir: &Path, config: &str, api: &str, log: &str) -> Serve {
        std::fs::create_dir_all(dir).expect("serve dir");
        std::fs::write(dir.join("cockpit.yaml"), config).expect("config");
        let env = [
            ("COCKPIT_LOG", log),
            ("COCKPIT_WORKER_LOG", log),
            ("NO_COLOR", "1"),
            ("ANTHROPIC_BASE_URL", api),
            ("TOKEN_ALPHA", TOKEN),
            ("CLAUDE_CODE_MAX_RETRIES", "1"),
        ];
        let (child, base) = support::serve(bin, dir, &env).await;
        let pid = child.id().expect("cockpit serve's pid");
        Serve { child: Some(child), pid, base, dir: dir.to_owned(), http: reqwest::Client::new() }
    }

    /// A copy for making requests from another task (it owns no process).
    fn handle(&self) -> Serve {
        Serve { child: None, pid: self.pid, base: self.base.clone(), dir: self.dir.clone(), http: self.http.clone() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn ws_url(&self, session: &str) -> String {
        format!("{}/ws/sessions/{session}", self.base.replacen("http://", "ws://", 1))
    }

    /// `POST /api/sessions` (repo `bench`, permission mode `default`); returns the session id.
    async fn create(&self, name: &str) -> String {
        let body = serde_json::json!({"repo_name": "bench", "name": name, "permission_mode": "default"});
        let resp = self.http.post(self.url("/api/sessions")).json(&body).send().await.expect("POST /api/sessions");
        let status = resp.status();
        let view: serde_json::Value = resp.json().await.expect("JSON");
        assert_eq!(status.as_u16(), 201, "POST /api/sessions: {view}");
        view["id"].as_str().expect("id").to_owned()
    }

    /// POSTs `body` to `path` until it is accepted (202); a 409 (the CLI not ready for it yet)
    /// is tried again for a while.
    async fn post_accepted(&self, path: &str, body: serde_json::Value) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let resp = self.http.post(self.url(path)).json(&body).send().await.expect("POST");
            let status = resp.status().as_u16();
            if status == 202 {
                return;
            }
            let text = resp.text().await.unwrap_or_default();
            assert!(status == 409 && Instant::now() < deadline, "POST {path} {body}: {status} {text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn get(&self, path: &str) -> serde_json::Value {
        let resp = self.http.get(self.url(path)).send().await.expect("GET");
        resp.json().await.expect("JSON")
    }

    /// Stops the session and waits for its worker to be gone.
    async fn delete(&self, id: &str) {
        let resp = self.http.delete(self.url(&format!("/api/sessions/{id}"))).send().await.expect("DELETE");
        assert!(resp.status().is_success(), "DELETE {id}: {}", resp.status());
        let deadline = Instant::now() + T;
        loop {
            let view = self.get(&format!("/api/sessions/{id}")).await;
            let terminal = matches!(view["status"]["phase"].as_str(), Some("Stopped" | "Succeeded" | "Failed"));
            if terminal && view["status"]["workerEndpoint"].is_null() {
                return;
            }
            assert!(Instant::now() < deadline, "session {id} did not stop: {view:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM and wait (its workers stop with it); true when it exited in time.
    async fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else { return true };
        if let Some(pid) = child.id() {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        let clean = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.is_ok();
        if !clean {
            let _ = child.kill().await;
        }
        clean
    }
}

impl Drop for Serve {
    /// On a panic: a clean stop, so the workers (in process groups of their own) stop too.
    fn drop(&mut self) {
        let Some(child) = self.child.take() else { return };
        let Some(pid) = child.id() else { return };
        // SAFETY: kill(2) and waitpid(2) on our own child.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(25);
        while Instant::now() < deadline {
            let mut status = 0;
            // SAFETY: as above.
            let done = unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
            if done == pid as i32 || done < 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::mem::forget(child);
    }
}

// ---------------------------------------------------------------------------------------------
// What the phone sees.

/// One state seen on a channel.
#[derive(Clone, Debug)]
struct Seen {
    /// Receive time, µs since the epoch.
    at: u64,
    activity: Activity,
    /// Where the activity came from (`hook`, `screen`, …).
    source: String,
    /// The pending approval's id, when it can be answered.
    approval: Option<String>,
    /// When the worker set the activity (its `activitySince`), µs since the epoch.
    since: u64,
}

/// A channel's states as they arrive, and all of them kept for the analysis.
struct Feed {
    name: &'static str,
    rx: mpsc::UnboundedReceiver<Seen>,
    log: Vec<Seen>,
}

impl Feed {
    /// Reads states until one satisfies `pred`.
    async fn wait(&mut self, what: &str, pred: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(seen)) => {
                    self.log.push(seen.clone());
                    if pred(&seen) {
                        return seen;
                    }
                }
                Ok(None) => panic!("the {} ended while waiting for {what}", self.name),
                Err(_) => panic!(
                    "timed out on the {} waiting for {what}; last states: {:?}",
                    self.name,
                    &self.log[self.log.len().saturating_sub(8)..]
                ),
            }
        }
    }

    /// Takes whatever already arrived into the log.
    fn drain(&mut self) {
        while let Ok(seen) = self.rx.try_recv() {
            self.log.push(seen);
        }
    }
}

/// The phone's session list: `GET /api/events`, the changes of session `name`. Returns once
/// the stream is open (its `ready` event).
async fn events_feed(serve: &Serve, name: &str) -> Feed {
    let mut resp = serve.http.get(serve.url("/api/events")).send().await.expect("GET /api/events");
    assert_eq!(resp.status(), 200, "GET /api/events");
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let name = name.to_owned();
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut buf = String::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            let at = now_us();
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let mut event = "";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if event == "ready" {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                    continue;
                }
                let Ok(ChangeEvent::Session { session }) = serde_json::from_str::<ChangeEvent>(&data) else { continue };
                if session.name != name {
                    continue;
                }
                let live = session.live.as_ref();
                let Some(activity) = live.map(|l| l.activity).or(session.status.activity) else { continue };
                let seen = Seen {
                    at,
                    activity,
                    source: live.map_or_else(|| "status".to_owned(), |l| l.source.clone()),
                    approval: live.and_then(|l| l.approval.as_ref()).filter(|a| a.answerable).map(|a| a.id.clone()),
                    since: live.map_or(0, |l| l.activity_since.timestamp_micros().max(0) as u64),
                };
                if tx.send(seen).is_err() {
                    return;
                }
            }
        }
    });
    tokio::time::timeout(T, ready_rx).await.expect("the events stream opens in time").expect("ready event");
    Feed { name: "events stream", rx, log: Vec::new() }
}

/// The session's WebSocket: its `hello` and `state` frames.
async fn session_feed(serve: &Serve, session: &str) -> Feed {
    let (mut ws, _) = tokio_tungstenite::connect_async(serve.ws_url(session)).await.expect("session WebSocket");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let at = now_us();
            let Message::Text(text) = msg else { continue };
            let (ServerFrame::Hello { state, .. } | ServerFrame::State { state }) =
                (match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(frame) => frame,
                    Err(_) => continue,
                })
            else {
                continue;
            };
            let approval = state.approval.as_ref().filter(|a| a.answerable).map(|a| a.id.clone());
            let since = state.activity_since.timestamp_micros().max(0) as u64;
            if tx.send(Seen { at, activity: state.activity, source: state.source.clone(), approval, since }).is_err() {
                return;
            }
        }
    });
    Feed { name: "session WebSocket", rx, log: Vec::new() }
}

// ---------------------------------------------------------------------------------------------
// /proc: CPU used, and whether the machine is quiet.

/// CPU of a process from /proc/PID/stat, in µs.
struct ProcCpu {
    ppid: u32,
    /// utime + stime.
    own: i64,
    /// cutime + cstime: its children that exited and were waited for (a CLI's hooks).
    reaped: i64,
}

fn proc_cpu(pid: u32) -> Option<ProcCpu> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<i64>().ok();
    // SAFETY: sysconf has no preconditions.
    let tick_us = 1_000_000 / i64::from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as i32).max(1);
    Some(ProcCpu {
        ppid: fields.get(1)?.parse().ok()?,
        own: (ticks(11)? + ticks(12)?) * tick_us,
        reaped: (ticks(13)? + ticks(14)?) * tick_us,
    })
}

/// Every process's children.
fn children() -> std::collections::HashMap<u32, Vec<u32>> {
    let mut map: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
    let pids = std::fs::read_dir("/proc")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()).collect::<Vec<_>>())
        .unwrap_or_default();
    for pid in pids {
        if let Some(p) = proc_cpu(pid) {
            map.entry(p.ppid).or_default().push(pid);
        }
    }
    map
}

/// CPU of `root` and its live descendants, with the children each of them waited for, µs.
fn tree_cpu(root: u32, children: &std::collections::HashMap<u32, Vec<u32>>) -> i64 {
    let mut total = 0;
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        if let Some(p) = proc_cpu(pid) {
            total += p.own + p.reaped;
        }
        todo.extend(children.get(&pid).into_iter().flatten());
    }
    total
}

/// (cockpit serve since `serve_before`, its worker, the worker's CLI tree), µs.
fn cockpit_cpu(serve: u32, serve_before: i64) -> Option<(i64, i64, i64)> {
    let map = children();
    let serve_now = proc_cpu(serve)?.own;
    let worker = *map.get(&serve)?.first()?;
    let cli: i64 = map.get(&worker).into_iter().flatten().map(|&c| tree_cpu(c, &map)).sum();
    Some((serve_now - serve_before, proc_cpu(worker)?.own, cli))
}

/// Busy share of the whole machine (every CPU), from /proc/stat: (busy, total) ticks.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next() else { return (0, 0) };
    let v: Vec<u64> = cpu.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).take(8).collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// Waits (up to 15 s) until the machine is quiet: under 10 % busy over 300 ms (the previous
/// start's processes gone, nobody else's build or benchmark running). Returns the busy share
/// of the last 300 ms, in %.
async fn settle() -> f64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (b0, t0) = machine_ticks();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (b1, t1) = machine_ticks();
        let busy = (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * 100.0;
        if busy < 10.0 || Instant::now() > deadline {
            return busy;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics.

/// The value at quantile `p` of sorted µs values, in ms.
fn pct(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn median(values: &[i64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    pct(&v, 0.5)
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

// ---------------------------------------------------------------------------------------------
// 1. State latency.

/// One turn's moments (µs since the epoch).
struct Turn {
    /// Before the prompt was sent.
    sent: u64,
    /// Before the approval was answered.
    answered: u64,
    /// When both channels had shown the end of the turn.
    ended: u64,
}

/// A transition's latencies on one channel.
#[derive(Default)]
struct Latencies {
    /// The first arrival of the new activity − the hook's stamp, µs.
    arrival: Vec<i64>,
    /// The part of it before the worker took the hook (`activitySince` − stamp), µs.
    to_worker: Vec<i64>,
    /// Transitions whose new activity the screen classifier showed before the hook's state
    /// arrived (their arrival is the screen's).
    screen_first: usize,
    /// Transitions with no stamp or no arrival.
    unmatched: usize,
}

impl Latencies {
    fn add(&mut self, log: &[Seen], stamp: Option<u64>, from: u64, to: u64, activity: Activity) {
        let first = log.iter().find(|s| s.at >= from && s.at <= to && s.activity == activity);
        let (Some(stamp), Some(first)) = (stamp, first) else {
            self.unmatched += 1;
            return;
        };
        self.arrival.push(first.at as i64 - stamp as i64);
        if first.source == "hook" {
            self.to_worker.push(first.since as i64 - stamp as i64);
        } else {
            // The screen's activity carries its own `activitySince`.
            self.screen_first += 1;
        }
    }
}

/// The stamps the hooks wrote: (event, µs).
fn read_stamps(file: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (event, at) = l.split_once(' ')?;
            Some((event.to_owned(), at.parse().ok()?))
        })
        .collect()
}

fn first_stamp(stamps: &[(String, u64)], event: &str, from: u64, to: u64) -> Option<u64> {
    stamps.iter().filter(|(e, at)| e == event && *at >= from && *at <= to).map(|(_, at)| *at).min()
}

/// Runs the turns; returns true when both channels met the target.
async fn state_phase(bin: &Path, api: &str, root: &Path, repo: &Path) -> bool {
    let turns: usize = env_or("LAT_TURNS", 100);
    let warmup: usize = env_or("LAT_WARMUP_TURNS", 2);
    let dir = root.join("state");
    std::fs::create_dir_all(&dir).expect("state dir");
    let worker = stamping_worker(&dir);
    let config = format!(
        "repos:\n  - name: bench\n    path: {}\naccounts:\n  - name: alpha\n    tokenEnv: TOKEN_ALPHA\nworker:\n  command: {}\n  bin: {}\n",
        repo.display(),
        claude_bin().display(),
        worker.display()
    );
    let mut serve = Serve::start(bin, &dir, &config, api, "warn").await;
    println!(
        "== 1. state latency: CLI hook started -> the new activity at a phone; {turns} turns (+{warmup} not counted) of PermissionRequest -> NeedsApproval, allow, Stop -> Idle =="
    );
    let mut events = events_feed(&serve, "lat").await;
    let id = serve.create("lat").await;
    let mut ws = session_feed(&serve, &id).await;
    ws.wait("the CLI's prompt (Idle)", |s| s.activity == Activity::Idle).await;
    events.wait("the CLI's prompt (Idle)", |s| s.activity == Activity::Idle).await;

    let started = Instant::now();
    let mut done = Vec::new();
    for i in 0..warmup + turns {
        let sent = now_us();
        serve.post_accepted("/api/sessions/lat/send", serde_json::json!({"text": format!("TOOLBASH turn {i}")})).await;
        let asked = ws
            .wait("NeedsApproval from the PermissionRequest hook", |s| {
                s.activity == Activity::NeedsApproval && s.source == "hook" && s.approval.is_some()
            })
            .await;
        events.wait("NeedsApproval", |s| s.activity == Activity::NeedsApproval).await;
        let answered = now_us();
        let approval = asked.approval.expect("an answerable approval");
        serve
            .post_accepted("/api/sessions/lat/approval", serde_json::json!({"id": approval, "decision": "allow"}))
            .await;
        ws.wait("Idle from the Stop hook", |s| s.activity == Activity::Idle && s.source == "hook").await;
        events.wait("Idle", |s| s.activity == Activity::Idle).await;
        if i >= warmup {
            done.push(Turn { sent, answered, ended: now_us() });
        }
    }
    let secs = started.elapsed().as_secs_f64();
    // Late arrivals (a hook-sourced state after the screen's) still count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws.drain();
    events.drain();
    let clean = serve.stop().await;

    let stamps = read_stamps(&dir.join(STAMPS));
    let mut rows: Vec<(&str, &str, Latencies)> = Vec::new();
    for (transition, event, activity) in [
        ("PermissionRequest -> NeedsApproval", "PermissionRequest", Activity::NeedsApproval),
        ("Stop -> Idle", "Stop", Activity::Idle),
    ] {
        for feed in [&events, &ws] {
            let mut lat = Latencies::default();
            for (n, turn) in done.iter().enumerate() {
                let (from, to) = match event {
                    "PermissionRequest" => (turn.sent, turn.answered),
                    _ => (turn.answered, done.get(n + 1).map_or(turn.ended + 300_000, |next| next.sent)),
                };
                lat.add(&feed.log, first_stamp(&stamps, event, from, to), from, to, activity);
            }
            rows.push((transition, feed.name, lat));
        }
    }
    println!(
        "{} turns in {secs:.1} s ({:.0} ms a turn); {} hook stamps; cockpit serve {} on SIGTERM",
        done.len(),
        secs * 1000.0 / (warmup + turns) as f64,
        stamps.len(),
        if clean { "exited" } else { "did NOT exit (killed)" }
    );
    println!(
        "{:<36} {:<18} {:>4} {:>7} {:>7} {:>7} {:>7} | {:>7} {:>7} | {:>12} {:>9}",
        "transition",
        "channel",
        "n",
        "min ms",
        "p50 ms",
        "p99 ms",
        "max ms",
        "w p50",
        "w p99",
        "screen first",
        "unmatched"
    );
    let mut pass = true;
    let print_row = |transition: &str, channel: &str, lat: &Latencies| {
        let sorted = |v: &[i64]| {
            let mut v = v.to_vec();
            v.sort_unstable();
            v
        };
        let (v, w) = (sorted(&lat.arrival), sorted(&lat.to_worker));
        println!(
            "{:<36} {:<18} {:>4} {:>7.2} {:>7.2} {:>7.2} {:>7.2} | {:>7.2} {:>7.2} | {:>12} {:>9}",
            transition,
            channel,
            v.len(),
            pct(&v, 0.0),
            pct(&v, 0.5),
            pct(&v, 0.99),
            pct(&v, 1.0),
            pct(&w, 0.5),
            pct(&w, 0.99),
            lat.screen_first,
            lat.unmatched
        );
    };
    for (transition, channel, lat) in &rows {
        print_row(transition, channel, lat);
    }
    let mut verdicts = Vec::new();
    for channel in [events.name, ws.name] {
        let mut all = Latencies::default();
        for (_, _, lat) in rows.iter().filter(|(_, c, _)| *c == channel) {
            all.arrival.extend(&lat.arrival);
            all.to_worker.extend(&lat.to_worker);
            all.screen_first += lat.screen_first;
            all.unmatched += lat.unmatched;
        }
        print_row("all hook-driven transitions", channel, &all);
        let mut v = all.arrival.clone();
        v.sort_unstable();
        let p99 = pct(&v, 0.99);
        let ok = p99 < TARGET_STATE_P99_MS && all.unmatched == 0 && v.len() >= 2 * turns;
        pass &= ok;
        verdicts.push(format!(
            "target p99 < {TARGET_STATE_P99_MS} ms, hook -> {channel}: {p99:.2} ms over {} transitions  {}",
            v.len(),
            verdict(ok)
        ));
    }
    println!(
        "(latency = the new activity's first arrival at the phone - the hook's start, stamped in the hook's process; w = the part until the worker took the hook (its activitySince - the stamp: the hook process, its post, the peer check), over the arrivals from the hook; screen first = transitions whose activity the screen classifier showed before the hook's state arrived: their arrival is the screen's)"
    );
    for line in verdicts {
        println!("{line}");
    }
    println!();
    pass
}

// ---------------------------------------------------------------------------------------------
// 2. Start latency.

/// One Cockpit start, µs after the POST was sent.
#[derive(Default)]
struct CockpitStart {
    created: i64,
    ws_open: i64,
    first_byte: Option<i64>,
    idle_state: Option<i64>,
    ready: i64,
    /// From the logs: the worktree prepared, the worker up (its API proxy), the CLI spawned.
    worktree: Option<i64>,
    worker_up: Option<i64>,
    cli_spawned: Option<i64>,
    /// CPU used until the prompt was on the phone: (cockpit serve since the POST, the worker,
    /// the CLI with its hooks), µs.
    cpu: Option<(i64, i64, i64)>,
    /// LAT_START_PROFILE: a client straight on the worker (no control plane): its first output
    /// byte and its prompt.
    direct_first_byte: Option<i64>,
    direct_ready: Option<i64>,
    /// LAT_START_PROFILE: the CLI's first SessionStart and StatusLine hooks (their stamps) and
    /// how many hooks it started before the prompt reached the phone.
    session_start_hook: Option<i64>,
    status_line_hook: Option<i64>,
    hooks_before_prompt: Option<i64>,
}

/// LAT_START_PROFILE: what the start phase also watches.
struct Profile {
    keys: cockpit_operator::worker_credentials::WorkerKeys,
    stamps: PathBuf,
}

/// A client straight on session `id`'s worker (once its endpoint is known), with the control
/// plane's credential for it: (first output byte, prompt), µs since the epoch.
async fn direct_client(serve: &Serve, keys: &cockpit_operator::worker_credentials::WorkerKeys, id: &str) -> (u64, u64) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let deadline = Instant::now() + T;
    let endpoint = loop {
        let view = serve.get(&format!("/api/sessions/{id}")).await;
        if let Some(e) = view["status"]["workerEndpoint"].as_str() {
            break e.to_owned();
        }
        assert!(Instant::now() < deadline, "no worker endpoint for {id}: {view:#}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let mut request = format!("ws://{endpoint}/ws?from=0").into_client_request().expect("request");
    let bearer = keys.credential(&id.into()).bearer();
    request.headers_mut().insert("authorization", bearer.parse().expect("a header value"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("the worker's WebSocket");
    let mut terminal = Terminal::new(COLS, ROWS);
    let mut first = None;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(T, ws.next()).await {
        let Message::Binary(bytes) = msg else { continue };
        let at = now_us();
        let Ok(frame) = decode_binary(&bytes) else { continue };
        if frame.kind == BinaryKind::Output && !frame.payload.is_empty() {
            first.get_or_insert(at);
        }
        terminal.process(frame.payload);
        if is_prompt(&terminal) {
            let _ = ws.close(None).await;
            return (first.unwrap_or(at), at);
        }
    }
    panic!("the worker of {id} showed no prompt");
}

/// One bare start, µs after the spawn.
struct BareStart {
    first_byte: i64,
    ready: i64,
    /// CPU the CLI (with its hooks) used until its prompt, µs.
    cpu: i64,
}

/// The µs timestamp at the start of a `tracing` fmt line (`2025-01-01T00:00:00.123456Z …`).
fn log_time(line: &str) -> Option<i64> {
    let word = line.split_whitespace().next()?;
    let word: String = word.chars().filter(|c| !c.is_control()).collect();
    let word = word.trim_start_matches(|c: char| !c.is_ascii_digit());
    Some(chrono::DateTime::parse_from_rfc3339(word).ok()?.timestamp_micros())
}

/// The time of the first line of `file` containing every one of `needles`.
fn log_line_time(file: &Path, needles: &[&str]) -> Option<i64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find(|l| needles.iter().all(|n| l.contains(n))).and_then(log_time)
}

fn is_prompt(terminal: &Terminal) -> bool {
    classify(&terminal.lines(), chrono::Utc::now()) == ScreenClass::Idle
}

/// `POST /api/sessions` → the prompt on a phone connected right after the 201.
async fn cockpit_start(serve: &Serve, name: &str, profile: Option<&Profile>) -> CockpitStart {
    let serve_cpu = proc_cpu(serve.pid).map_or(0, |p| p.own);
    let t0 = now_us();
    let id = serve.create(name).await;
    let created = now_us();
    let direct = profile.map(|p| {
        let (serve, keys, id) = (Serve::handle(serve), p.keys.clone(), id.clone());
        tokio::spawn(async move { direct_client(&serve, &keys, &id).await })
    });
    let (mut ws, _) = tokio_tungstenite::connect_async(serve.ws_url(&id)).await.expect("session WebSocket");
    let ws_open = now_us();
    let rel = |at: u64| at as i64 - t0 as i64;
    let mut out = CockpitStart { created: rel(created), ws_open: rel(ws_open), ..CockpitStart::default() };
    let mut terminal = Terminal::new(COLS, ROWS);
    let mut ready = None;
    let deadline = tokio::time::Instant::now() + T;
    // Until the prompt is on screen and the SessionStart hook's Idle arrived (or 3 s after).
    let mut stop_at = deadline;
    while ready.is_none() || out.idle_state.is_none() {
        let msg = match tokio::time::timeout_at(stop_at, ws.next()).await {
            Ok(Some(Ok(msg))) => msg,
            Ok(other) => panic!("session {name}'s WebSocket ended before its prompt: {other:?}"),
            Err(_) if ready.is_some() => break,
            Err(_) => panic!("no prompt for {name} in {T:?}; screen:\n{}", terminal.text()),
        };
        let at = now_us();
        match msg {
            Message::Text(text) => {
                if let Ok(ServerFrame::Hello { state, .. } | ServerFrame::State { state }) =
                    serde_json::from_str::<ServerFrame>(&text)
                {
                    if (state.cols, state.rows) != terminal.size() {
                        terminal.resize(state.cols, state.rows);
                    }
                    if state.activity == Activity::Idle && out.idle_state.is_none() {
                        out.idle_state = Some(rel(at));
                    }
                }
            }
            Message::Binary(bytes) => {
                let Ok(frame) = decode_binary(&bytes) else { continue };
                if frame.payload.is_empty() {
                    continue;
                }
                // A snapshot repaints what the mirror holds (nothing yet): the CLI's own first
                // byte comes as output.
                if frame.kind == BinaryKind::Output {
                    out.first_byte.get_or_insert(rel(at));
                }
                terminal.process(frame.payload);
                if ready.is_none() && is_prompt(&terminal) {
                    ready = Some(rel(at));
                    out.cpu = cockpit_cpu(serve.pid, serve_cpu);
                    stop_at = tokio::time::Instant::now() + Duration::from_secs(3);
                }
            }
            _ => {}
        }
    }
    out.ready = ready.expect("the prompt");
    let _ = ws.close(None).await;
    serve.delete(&id).await;
    let since = |t: Option<i64>| t.map(|t| t - t0 as i64);
    out.worktree = since(log_line_time(
        &serve.dir.join("cockpit.log"),
        &["prepared the session's worktree", &format!("/{name} ")],
    ));
    let worker_log = serve.dir.join("data/logs").join(format!("{id}.log"));
    out.worker_up = since(log_line_time(&worker_log, &["API proxy"]));
    out.cli_spawned = since(log_line_time(&worker_log, &["session started"]));
    if let (Some(direct), Some(profile)) = (direct, profile) {
        let (first, ready) = direct.await.expect("direct client");
        out.direct_first_byte = Some(rel(first));
        out.direct_ready = Some(rel(ready));
        let stamps = read_stamps(&profile.stamps);
        let end = t0 + out.ready as u64;
        out.session_start_hook = first_stamp(&stamps, "SessionStart", t0, t0 + 60_000_000).map(rel);
        out.status_line_hook = first_stamp(&stamps, "StatusLine", t0, t0 + 60_000_000).map(rel);
        out.hooks_before_prompt = Some(stamps.iter().filter(|(_, at)| *at >= t0 && *at <= end).count() as i64);
    }
    out
}

/// A bare `claude` in a PTY: spawn → the same prompt marker in its output.
fn bare_start(claude: &Path, api: &str, cwd: &Path, config_dir: &Path, settings: Option<PathBuf>) -> BareStart {
    use cockpit_worker::claude_setup::{ClaudeArgs, Credential, child_env, claude_argv, prepare_config_dir};
    prepare_config_dir(config_dir, cwd, None).expect("seeding the bare CLI's config dir");
    let home = std::env::var_os("HOME").map_or_else(|| config_dir.to_owned(), PathBuf::from);
    let credential = Credential::new(cockpit_api::CredentialKind::OAuthToken, TOKEN);
    let mut env = child_env(std::env::vars(), &home, Some(config_dir), Some(&credential));
    env.insert("ANTHROPIC_BASE_URL".into(), api.to_owned());
    env.insert("CLAUDE_CODE_MAX_RETRIES".into(), "1".into());
    let argv = claude_argv(&ClaudeArgs {
        settings,
        session_id: Some(uuid::Uuid::new_v4().to_string()),
        permission_mode: Some(cockpit_api::PermissionMode::Default),
        ..ClaudeArgs::default()
    });
    let t0 = now_us();
    let proc = cockpit_worker::pty::spawn(&claude.to_string_lossy(), &argv, cwd, &env, COLS, ROWS)
        .expect("spawning the bare CLI");
    let pid = proc.pid.expect("the bare CLI's pid");
    let mut reader = proc.reader;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut terminal = Terminal::new(COLS, ROWS);
        let mut buf = vec![0u8; 64 * 1024];
        let mut first = None;
        let mut sent = false;
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let at = now_us();
                    first.get_or_insert(at);
                    terminal.process(&buf[..n]);
                    if !sent && is_prompt(&terminal) {
                        sent = true;
                        let _ = tx.send((first.unwrap_or(at), at, String::new()));
                    }
                }
            }
        }
        if !sent {
            let _ = tx.send((0, 0, terminal.text()));
        }
    });
    let result = rx.recv_timeout(T);
    let cpu = tree_cpu(pid, &children());
    // SAFETY: kill(2) on the process group of the CLI this bench started (a PTY child leads
    // its own session and group).
    unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
    let mut child = proc.child;
    let _ = child.wait();
    drop(proc.master);
    match result {
        Ok((first, ready, _)) if ready > 0 => {
            BareStart { first_byte: first as i64 - t0 as i64, ready: ready as i64 - t0 as i64, cpu }
        }
        Ok((_, _, screen)) => panic!("the bare CLI ended before its prompt; screen:\n{screen}"),
        Err(_) => panic!("the bare CLI showed no prompt in {T:?}"),
    }
}

/// Runs the interleaved starts; returns true when the overhead met the target.
async fn start_phase(bin: &Path, api: &str, root: &Path, repo: &Path) -> bool {
    let runs: usize = env_or("LAT_STARTS", 20);
    let warmup: usize = env_or("LAT_WARMUP_STARTS", 1);
    let dir = root.join("start");
    let claude = claude_bin();
    let profiling = std::env::var_os("LAT_START_PROFILE").is_some();
    let mut config = format!(
        "repos:\n  - name: bench\n    path: {}\naccounts:\n  - name: alpha\n    tokenEnv: TOKEN_ALPHA\nworker:\n  command: {}\n",
        repo.display(),
        claude.display(),
    );
    if profiling {
        std::fs::create_dir_all(&dir).expect("start dir");
        config.push_str(&format!("  bin: {}\n", stamping_worker(&dir).display()));
    }
    let mut serve = Serve::start(bin, &dir, &config, api, "info").await;
    let profile = if profiling {
        let url = format!("sqlite://{}", dir.join("data/cockpit.db").display());
        let store = cockpit_operator::store::Store::connect(&url).await.expect("the control plane's database");
        let keys = cockpit_operator::worker_credentials::WorkerKeys::load_or_create(&store).await.expect("the key");
        Some(Profile { keys, stamps: dir.join(STAMPS) })
    } else {
        None
    };
    let bare_dir = root.join("bare");
    let bare_config = bare_dir.join("claude-home");
    std::fs::create_dir_all(&bare_config).expect("bare config dir");
    println!(
        "== 2. start latency: POST /api/sessions -> the CLI's prompt on a phone, against a bare `claude` spawn -> its prompt ({runs} runs each, interleaved, +{warmup} not counted) =="
    );
    // Cockpit's `--settings` for the bare start, as a worker writes it: its hooks and status
    // line run `cockpit worker post-hook` as in a session, posting to a socket nobody listens
    // on (each fails at once, which the CLI shrugs off; none runs before the prompt anyway).
    let settings = bare_dir.join("cockpit-settings.json");
    let hooks = cockpit_worker::hooks::CommandHook {
        exe: bin.to_string_lossy().into_owned(),
        exe_args: vec!["worker".to_owned()],
        socket: bare_dir.join("no-worker.sock").to_string_lossy().into_owned(),
    };
    std::fs::write(&settings, cockpit_worker::hooks::settings_json(&hooks).to_string()).expect("settings file");
    let mut cockpit = Vec::new();
    let mut bare = Vec::new();
    let mut plain = Vec::new();
    let mut busy_starts = Vec::new();
    // Every order of the three kinds in turn.
    const ORDERS: [[usize; 3]; 6] = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0], [0, 2, 1], [1, 0, 2]];
    for i in 0..warmup + runs {
        let mut one_cockpit = None;
        let mut one_bare = [None, None];
        for kind in ORDERS[i % ORDERS.len()] {
            // Each start on a quiet machine.
            let busy = settle().await;
            if busy >= 10.0 {
                busy_starts.push(busy);
            }
            if kind == 0 {
                one_cockpit = Some(cockpit_start(&serve, &format!("start{i}"), profile.as_ref()).await);
            } else {
                // A fresh worktree, as Cockpit makes one for each session (untimed).
                let cwd = bare_dir.join(format!("wt{i}-{kind}"));
                git(
                    repo,
                    &["worktree", "add", "-q", "-b", &format!("bare/{i}-{kind}"), &cwd.to_string_lossy(), "HEAD"],
                );
                let (claude, api, config) = (claude.clone(), api.to_owned(), bare_config.clone());
                let settings = (kind == 1).then(|| settings.clone());
                one_bare[kind - 1] = Some(
                    tokio::task::spawn_blocking(move || bare_start(&claude, &api, &cwd, &config, settings))
                        .await
                        .expect("bare start"),
                );
            }
        }
        if i >= warmup {
            cockpit.extend(one_cockpit);
            let [b, p] = one_bare;
            bare.extend(b);
            plain.extend(p);
        }
    }
    let clean = serve.stop().await;

    let col = |f: &dyn Fn(&CockpitStart) -> Option<i64>| -> Vec<i64> {
        let mut v: Vec<i64> = cockpit.iter().filter_map(f).collect();
        v.sort_unstable();
        v
    };
    let ready_c = col(&|c| Some(c.ready));
    let sorted = |v: Vec<i64>| {
        let mut v = v;
        v.sort_unstable();
        v
    };
    // The baseline: the same CLI, env and --settings, no Cockpit around it.
    let ready_b = sorted(bare.iter().map(|b| b.ready).collect());
    let first_b = sorted(bare.iter().map(|b| b.first_byte).collect());
    let ready_p = sorted(plain.iter().map(|b| b.ready).collect());
    let first_p = sorted(plain.iter().map(|b| b.first_byte).collect());
    println!("{:<60} {:>4} {:>8} {:>8} {:>8} {:>8}", "", "n", "min ms", "p50 ms", "p99 ms", "max ms");
    let row = |name: &str, v: &[i64]| {
        println!(
            "{:<60} {:>4} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            name,
            v.len(),
            pct(v, 0.0),
            pct(v, 0.5),
            pct(v, 0.99),
            pct(v, 1.0)
        );
    };
    row("Cockpit: POST -> prompt on the phone", &ready_c);
    row("bare claude (Cockpit's env, --settings): spawn -> prompt", &ready_b);
    row("plain claude (Cockpit's env, no --settings): spawn -> prompt", &ready_p);
    println!("Cockpit, step by step (ms after the POST):");
    row("  POST -> 201", &col(&|c| Some(c.created)));
    row("  POST -> phone's WebSocket open", &col(&|c| Some(c.ws_open)));
    row("  POST -> worktree prepared (serve log)", &col(&|c| c.worktree));
    row("  POST -> worker up, its API proxy listening (worker log)", &col(&|c| c.worker_up));
    row("  POST -> CLI spawned in its PTY (worker log)", &col(&|c| c.cli_spawned));
    row("  POST -> first output byte at the phone", &col(&|c| c.first_byte));
    row("  POST -> prompt on the phone", &ready_c);
    row("  POST -> SessionStart hook's Idle at the phone", &col(&|c| c.idle_state));
    row("  CLI spawned -> first output byte at the phone", &col(&|c| Some(c.first_byte? - c.cli_spawned?)));
    row("  CLI spawned -> prompt on the phone", &col(&|c| Some(c.ready - c.cli_spawned?)));
    row("  CPU until the prompt: the CLI with its hooks", &col(&|c| Some(c.cpu?.2)));
    row("  CPU until the prompt: the worker", &col(&|c| Some(c.cpu?.1)));
    row("  CPU until the prompt: cockpit serve, from the POST", &col(&|c| Some(c.cpu?.0)));
    if profiling {
        println!("  LAT_START_PROFILE (the stamping worker, a client straight on the worker):");
        row("    POST -> CLI's SessionStart hook started", &col(&|c| c.session_start_hook));
        row("    POST -> CLI's first StatusLine command started", &col(&|c| c.status_line_hook));
        row("    POST -> first output byte straight at the worker", &col(&|c| c.direct_first_byte));
        row("    POST -> prompt straight at the worker", &col(&|c| c.direct_ready));
        row("    prompt: at the worker -> on the phone", &col(&|c| Some(c.ready - c.direct_ready?)));
        let hooks: Vec<i64> = col(&|c| c.hooks_before_prompt);
        println!(
            "    hooks the CLI started before the prompt reached the phone: {} in all {} starts",
            hooks.iter().sum::<i64>(),
            hooks.len()
        );
    }
    println!("bare claude, Cockpit's env and --settings (its hooks fail: no worker), ms after the spawn:");
    row("  spawn -> first output byte", &first_b);
    row("  spawn -> prompt", &ready_b);
    row("  CPU until the prompt: the CLI with its hooks", &sorted(bare.iter().map(|b| b.cpu).collect()));
    println!("plain claude, Cockpit's env, no --settings, ms after the spawn:");
    row("  spawn -> first output byte", &first_p);
    row("  spawn -> prompt", &ready_p);
    row("  CPU until the prompt: the CLI", &sorted(plain.iter().map(|b| b.cpu).collect()));
    println!(
        "(CPU in ms of CPU time, clock-tick resolution; starts begun on a machine still busy after 15 s of waiting for quiet: {}{})",
        busy_starts.len(),
        if busy_starts.is_empty() {
            String::new()
        } else {
            format!(", at {:.0} % busy at most", busy_starts.iter().copied().fold(0.0, f64::max))
        }
    );
    let (mc, mb, mp) = (median(&ready_c), median(&ready_b), median(&ready_p));
    let overhead = (mc - mb) / mb * 100.0;
    let ok = overhead <= TARGET_START_OVERHEAD_PCT;
    println!("cockpit serve {} on SIGTERM", if clean { "exited" } else { "did NOT exit (killed)" });
    println!(
        "target Cockpit's start overhead <= {TARGET_START_OVERHEAD_PCT} % of the bare start (median {mc:.1} ms vs {mb:.1} ms): {overhead:+.1} %  {}",
        verdict(ok)
    );
    println!(
        "  against plain claude without Cockpit's --settings (median {mp:.1} ms): {:+.1} % (of which the --settings alone: {:+.1} %)",
        (mc - mp) / mp * 100.0,
        (mb - mp) / mp * 100.0
    );
    println!();
    ok
}

// ---------------------------------------------------------------------------------------------

async fn run() {
    let only = std::env::var("LAT_ONLY").unwrap_or_default();
    let bin =
        std::env::var_os("LAT_COCKPIT").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_cockpit")), PathBuf::from);
    let claude = claude_bin();
    let version = std::process::Command::new(&claude).arg("--version").output().expect("claude --version");
    let api = cockpit_testkit::StandIn::start().await.expect("the stand-in API");
    let base = api.base_url();
    let tmp = tempfile::Builder::new().prefix("cockpit-latency-").tempdir().expect("temp dir");
    let root = tmp.path().to_path_buf();
    let repo = git_repo(&root);
    println!(
        "cockpit {} ; claude {} ({}) ; stand-in API at {base}",
        bin.display(),
        String::from_utf8_lossy(&version.stdout).trim(),
        claude.display()
    );
    println!();
    let started = Instant::now();
    let mut verdicts = Vec::new();
    if only.is_empty() || only == "start" {
        verdicts.push(("start", start_phase(&bin, &base, &root, &repo).await));
    }
    if only.is_empty() || only == "state" {
        verdicts.push(("state", state_phase(&bin, &base, &root, &repo).await));
    }
    let summary: Vec<String> = verdicts.iter().map(|(name, ok)| format!("{name} {}", verdict(*ok))).collect();
    println!("summary: {}; total bench time {:.0} s", summary.join(", "), started.elapsed().as_secs_f64());
    if std::env::var_os("LAT_KEEP").is_some() {
        println!("kept {}", tmp.keep().display());
    }
}
