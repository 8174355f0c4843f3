//! Shared test harness: starts a real `cockpit-worker` process and talks to it over real
//! loopback HTTP and WebSocket connections.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cockpit_api::WorkerState;
use futures_util::SinkExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The worker binary built by cargo for these tests.
pub fn worker_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cockpit-worker"))
}

/// The credential every test worker is started with (what the control plane would hand it).
pub const CREDENTIAL: &str = "test-credential-0123456789abcdef0123456789abcdef";

/// The `Authorization` header value that carries [`CREDENTIAL`].
pub fn bearer() -> String {
    format!("Bearer {CREDENTIAL}")
}

/// A GET with the credential.
pub fn get(url: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().get(url).header("authorization", bearer())
}

/// A running worker process.
pub struct Worker {
    pub child: Child,
    pub base: String,
    /// The hook socket's path (from the worker's log).
    pub hooks: Option<String>,
    pub stderr: mpsc::UnboundedReceiver<String>,
    pub stderr_log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Worker {
    /// Starts `cockpit-worker run --listen 127.0.0.1:0 ARGS…` with extra environment.
    pub async fn start(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Worker {
        let mut cmd = Command::new(worker_bin());
        cmd.arg("run").arg("--listen").arg("127.0.0.1:0").args(args);
        cmd.current_dir(cwd).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        cmd.env("COCKPIT_LOG", "info,cockpit_worker=debug");
        cmd.env("COCKPIT_WORKER_CREDENTIAL", CREDENTIAL);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("worker starts");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::unbounded_channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log2 = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                log2.lock().expect("log").push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut out = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), out.next_line())
            .await
            .expect("worker prints its address in time")
            .expect("stdout readable")
            .expect("a line");
        let base = line.strip_prefix("listening on ").expect("address line").to_owned();
        let mut worker = Worker { child, base, hooks: None, stderr: rx, stderr_log: log };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while worker.hooks.is_none() && tokio::time::Instant::now() < deadline {
            if let Some(line) = worker.stderr_log.lock().expect("log").iter().find(|l| l.contains("hook socket")) {
                let plain = strip_ansi(line);
                worker.hooks =
                    plain.split("hooks=").nth(1).map(|s| s.split_whitespace().next().unwrap_or("").to_owned());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker
    }

    pub fn ws_url(&self, from: Option<u64>) -> String {
        let base = self.base.replacen("http://", "ws://", 1);
        match from {
            Some(f) => format!("{base}/ws?from={f}"),
            None => format!("{base}/ws"),
        }
    }

    pub async fn state(&self) -> WorkerState {
        get(&format!("{}/state", self.base)).send().await.expect("GET /state").json().await.expect("state JSON")
    }

    pub async fn screen(&self) -> String {
        get(&format!("{}/screen", self.base)).send().await.expect("GET /screen").text().await.expect("text")
    }

    /// Polls `/state` until `pred` holds.
    pub async fn wait_state(&self, what: &str, timeout: Duration, pred: impl Fn(&WorkerState) -> bool) -> WorkerState {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let state = self.state().await;
            if pred(&state) {
                return state;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; state: {state:?}\nscreen:\n{}", self.screen().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls `/screen` until it contains `needle`.
    pub async fn wait_screen(&self, needle: &str, timeout: Duration) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let screen = self.screen().await;
            if screen.contains(needle) {
                return screen;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {needle:?} on screen:\n{screen}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) with a valid pid.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.expect("exits in time").expect("status")
    }
}

pub fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            while let Some(&n) = chars.peek() {
                chars.next();
                if n.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub use cockpit_testkit::seen::{Seen, read_until};

/// A WebSocket handshake request for `url` carrying the credential.
pub fn ws_request(url: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().expect("a WebSocket URL");
    request.headers_mut().insert("authorization", bearer().parse().expect("header value"));
    request
}

/// Connects as the control plane does (with the credential).
pub async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(ws_request(url)).await.expect("websocket connects");
    ws
}

/// Connects to `url` and reads until the worker's hello; returns the socket and what it saw.
pub async fn connect_hello(url: &str, timeout: Duration) -> (Ws, Seen) {
    let mut ws = connect(url).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, timeout, "hello", |s| s.hello.is_some()).await;
    (ws, seen)
}

pub async fn send_text(ws: &mut Ws, text: &str) {
    ws.send(Message::Text(text.into())).await.expect("send");
}

pub async fn send_json(ws: &mut Ws, value: serde_json::Value) {
    send_text(ws, &value.to_string()).await;
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
