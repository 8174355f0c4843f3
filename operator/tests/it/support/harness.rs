//! Test harness: a real `cockpit serve` process with a config of its own, real workers, and
//! helpers for the REST API and the session WebSocket.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cockpit_api::api::SessionView;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const T: Duration = Duration::from_secs(60);

/// The `cockpit-worker` binary next to `cockpit` (built on demand).
pub fn worker_bin() -> PathBuf {
    let cockpit = PathBuf::from(env!("CARGO_BIN_EXE_cockpit"));
    let worker = cockpit.with_file_name("cockpit-worker");
    if !worker.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "cockpit-worker", "--bin", "cockpit-worker"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building cockpit-worker");
    }
    worker
}

/// The real Claude CLI installed by ./test.sh.
pub use cockpit_testkit::claude_bin;

/// A running control plane.
pub struct Cockpit {
    pub child: Option<Child>,
    pub base: String,
    pub data_dir: PathBuf,
    pub config: PathBuf,
    pub env: Vec<(String, String)>,
    pub http: reqwest::Client,
    /// Runs as this (uid, gid) instead of the test's user.
    pub user: Option<(u32, u32)>,
}

impl Cockpit {
    /// Starts `cockpit serve` with `config_yaml` written to a file in `dir`.
    pub async fn start(dir: &Path, config_yaml: &str, env: &[(&str, &str)]) -> Cockpit {
        Cockpit::start_as(dir, config_yaml, env, None).await
    }

    /// [`Cockpit::start`] as another OS user (`dir` must be theirs).
    pub async fn start_as(dir: &Path, config_yaml: &str, env: &[(&str, &str)], user: Option<(u32, u32)>) -> Cockpit {
        let config = dir.join("cockpit.yaml");
        std::fs::write(&config, config_yaml).expect("config");
        let data_dir = dir.join("data");
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&config, Some(uid), Some(gid)).expect("chown the config");
        }
        let mut cockpit =
            Cockpit { child: None, base: String::new(), data_dir, config, env, http: reqwest::Client::new(), user };
        cockpit.restart().await;
        cockpit
    }

    /// (Re)starts the process on a new port with the same data dir and config.
    pub async fn restart(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cockpit"));
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--config")
            .arg(&self.config)
            .env("COCKPIT_LOG", std::env::var("COCKPIT_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid);
        }
        let mut child = cmd.spawn().expect("cockpit starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line =
            tokio::time::timeout(T, lines.next_line()).await.expect("address in time").expect("read").expect("a line");
        self.base = line.strip_prefix("listening on ").expect("address line").to_owned();
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    /// SIGKILL, like a crash.
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("kill");
            child.wait().await.expect("reaped");
        }
    }

    /// SIGTERM, a clean stop; waits for the exit.
    pub async fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        if let Some(pid) = child.id() {
            // SAFETY: kill(2) on our child.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        tokio::time::timeout(T, child.wait()).await.expect("stops in time").expect("status")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self, session: &str, from: Option<u64>) -> String {
        let base = self.base.replacen("http://", "ws://", 1);
        match from {
            Some(f) => format!("{base}/ws/sessions/{session}?from={f}"),
            None => format!("{base}/ws/sessions/{session}"),
        }
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let resp = self.http.get(self.url(path)).send().await.expect("GET");
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("JSON")
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http.post(self.url(path)).json(&body).send().await.expect("POST")
    }

    pub async fn session(&self, id: &str) -> SessionView {
        serde_json::from_value(self.get_json(&format!("/api/sessions/{id}")).await).expect("session view")
    }

    /// Polls the session until `pred` holds.
    pub async fn wait_session(&self, id: &str, what: &str, pred: impl Fn(&SessionView) -> bool) -> SessionView {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let view = self.session(id).await;
            if pred(&view) {
                return view;
            }
            if tokio::time::Instant::now() > deadline {
                let screen = self.http.get(self.url(&format!("/api/sessions/{id}/screen"))).send().await.ok();
                let screen = match screen {
                    Some(r) => r.text().await.unwrap_or_default(),
                    None => String::new(),
                };
                panic!("timed out waiting for {what}: {view:#?}\nscreen:\n{screen}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The control plane's SQLite database, opened next to it.
    pub async fn store(&self) -> cockpit_operator::store::Store {
        let url = format!("sqlite://{}", self.data_dir.join("cockpit.db").display());
        cockpit_operator::store::Store::connect(&url).await.expect("the control plane's database")
    }

    /// Creates session `name` in repo `demo` and waits for its worker to run.
    pub async fn start_session(&self, name: &str) -> SessionView {
        let resp = self.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": name})).await;
        assert_eq!(resp.status(), 201, "creating {name}");
        self.wait_session(name, "a running worker", |s| s.status.worker_endpoint.is_some()).await
    }

    /// The credential the control plane gives the workers of session `id`, derived as it does
    /// from the key in its database (only a test, reading the data dir, can do this).
    pub async fn worker_credential(&self, id: &str) -> cockpit_worker::auth::WorkerCredential {
        let keys =
            cockpit_operator::worker_credentials::WorkerKeys::load_or_create(&self.store().await).await.expect("key");
        keys.credential(&id.into())
    }

    /// A WebSocket straight to session `id`'s worker, with the control plane's credential.
    pub async fn connect_worker(&self, id: &str, endpoint: &str, from: u64) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{endpoint}/ws?from={from}").into_client_request().expect("request");
        let bearer = self.worker_credential(id).await.bearer();
        request.headers_mut().insert("authorization", bearer.parse().expect("header"));
        tokio_tungstenite::connect_async(request).await.expect("websocket connects").0
    }

    /// Waits (up to [`T`]) until the screen of session `id` shows `needle`; fails with `what`
    /// and the screen.
    pub async fn wait_screen(&self, id: &str, needle: &str, what: &str) {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let screen = self.screen(id).await;
            if screen.contains(needle) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}:\n{screen}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn screen(&self, id: &str) -> String {
        self.http
            .get(self.url(&format!("/api/sessions/{id}/screen")))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("text")
    }
}

impl Drop for Cockpit {
    /// A clean stop, so the workers (in process groups of their own) stop too.
    fn drop(&mut self) {
        let Some(child) = self.child.take() else { return };
        let Some(pid) = child.id() else { return };
        let pid = pid as i32;
        // SAFETY: kill(2) and waitpid(2) on our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + Duration::from_secs(25);
        loop {
            let mut status = 0;
            // SAFETY: as above.
            let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if done == pid || done < 0 || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Reaped above (or it is stuck): tokio must not kill or wait on it again.
        std::mem::forget(child);
    }
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub use cockpit_testkit::Seen;

pub async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url).await.expect("websocket connects").0
}

/// Reads frames into `seen` until `pred` holds (for at most [`T`]).
pub async fn read_until(ws: &mut Ws, seen: &mut Seen, what: &str, pred: impl Fn(&Seen) -> bool) {
    cockpit_testkit::seen::read_until(ws, seen, T, what, pred).await
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A git repo with one commit.
pub fn git_repo(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    for args in [
        &["init", "-q"][..],
        &["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "init"],
    ] {
        let ok = std::process::Command::new("git").args(args).current_dir(&repo).status().expect("git").success();
        assert!(ok, "git {args:?}");
    }
    repo
}

/// Writes an executable bash script `name` into `dir` (a stand-in CLI for the workers).
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/bash\n{body}")).expect("script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// A stand-in CLI's shell lines that draw screens as the CLI does (one write: clear + text) and
/// hold the CLI's Bash permission dialog in `$APPROVAL`.
pub const SCREEN_HELPERS: &str = r#"show() { printf '\033[2J\033[H%s\n' "$1"; }
read -r -d '' APPROVAL <<'SCREEN'
 Bash command

   touch mockfile.txt
   Create an empty file

 Do you want to proceed?
 ❯ 1. Yes
   2. No, and tell Claude what to do differently (esc)

 Esc to cancel
SCREEN
"#;

/// A config with one git repo `demo`, one account `alpha` (token from `TOKEN_ALPHA`), workers
/// running `command` through the separately built `cockpit-worker`.
pub fn one_repo_config(dir: &Path, command: &Path) -> String {
    let repo = git_repo(dir);
    format!(
        "repos:\n  - name: demo\n    path: {}\naccounts:\n  - name: alpha\n    tokenEnv: TOKEN_ALPHA\n    priority: 1\nworker:\n  command: {}\n  bin: {}\n",
        repo.display(),
        command.display(),
        worker_bin().display()
    )
}

/// The accounts section of a config with the one account `alpha` (token from `TOKEN_ALPHA`).
pub const ALPHA_ACCOUNT: &str = "accounts:\n  - name: alpha\n    tokenEnv: TOKEN_ALPHA\n";

/// A config with the git repo `repo` as `demo`, the `accounts` section as given (empty: none),
/// and workers running the real Claude CLI.
pub fn claude_config(repo: &Path, accounts: &str) -> String {
    format!(
        "repos:\n  - name: demo\n    path: {}\n{accounts}worker:\n  command: {}\n",
        repo.display(),
        claude_bin().display()
    )
}

/// [`one_repo_config`] with a stand-in CLI: the shell script `body`, written to `dir/name`.
pub fn script_config(dir: &Path, name: &str, body: &str) -> String {
    one_repo_config(dir, &script(dir, name, body))
}

/// A reader of `GET /api/sessions/{id}/conversation` (server-sent events), holding one entry
/// per key as a phone does and counting any key seen twice.
pub struct ConversationReader {
    resp: reqwest::Response,
    buf: String,
    /// Entries by arrival, one per key.
    pub entries: Vec<cockpit_api::conversation::ConversationEntry>,
    /// Keys that arrived more than once.
    pub repeated: Vec<String>,
    /// The last batch's cursor (the SSE id).
    pub cursor: Option<String>,
    /// `restart` events seen.
    pub restarts: usize,
}

impl ConversationReader {
    /// Opens the stream of session `id`, from `after` (a cursor) when given.
    pub async fn open(cockpit: &Cockpit, id: &str, after: Option<&str>) -> ConversationReader {
        let path = match after {
            Some(cursor) => format!("/api/sessions/{id}/conversation?after={cursor}"),
            None => format!("/api/sessions/{id}/conversation"),
        };
        let resp = cockpit.http.get(cockpit.url(&path)).send().await.expect("GET conversation");
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(
            resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("text/event-stream"),
            "{path}"
        );
        ConversationReader {
            resp,
            buf: String::new(),
            entries: Vec::new(),
            repeated: Vec::new(),
            cursor: None,
            restarts: 0,
        }
    }

    /// Reads events until `pred` holds over the entries (panics after [`T`]).
    pub async fn until(&mut self, what: &str, pred: impl Fn(&[cockpit_api::conversation::ConversationEntry]) -> bool) {
        let deadline = tokio::time::Instant::now() + T;
        while !pred(&self.entries) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.resp.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    self.buf.push_str(&String::from_utf8_lossy(&chunk));
                    self.take_events();
                }
                Ok(Ok(None)) => panic!("the conversation stream ended while waiting for {what}"),
                Ok(Err(err)) => panic!("reading the conversation stream: {err}"),
                Err(_) => panic!("timed out waiting for {what}; entries: {:#?}", self.entries),
            }
        }
    }

    /// Reads whatever arrives within `quiet` of the last event.
    pub async fn drain(&mut self, quiet: Duration) {
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout(quiet, self.resp.chunk()).await {
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
            self.take_events();
        }
    }

    fn take_events(&mut self) {
        while let Some(end) = self.buf.find("\n\n") {
            let block: String = self.buf.drain(..end + 2).collect();
            let (mut event, mut id, mut data) = (String::new(), None, String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            match event.as_str() {
                "entries" => {
                    let batch: cockpit_api::conversation::ConversationBatch =
                        serde_json::from_str(&data).expect("a conversation batch");
                    assert_eq!(id.as_deref(), Some(batch.cursor.to_string().as_str()), "the SSE id is the cursor");
                    self.cursor = id;
                    for entry in batch.entries {
                        if self.entries.iter().any(|e| e.key == entry.key) {
                            self.repeated.push(entry.key);
                        } else {
                            self.entries.push(entry);
                        }
                    }
                }
                "restart" => {
                    self.restarts += 1;
                    self.entries.clear();
                }
                _ => {}
            }
        }
    }
}
