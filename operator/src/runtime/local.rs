//! The local runtime: each session's worker is a `cockpit-worker` child process listening on a
//! loopback port. A worker that dies is noticed at once (the runtime waits on it); workers run
//! in their own process group, so they outlive a crashed control plane and are re-adopted on
//! its restart.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use cockpit_api::ids::{ConversationId, SessionId};
use cockpit_api::{ClaudeSessionSpec, CredentialKind, WorkerState};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::config::Secret;
use crate::reconcile::Observed;
use crate::store::{Store, WorkerRow};
use crate::stream::SessionStream;
use crate::streams::Streams;
use crate::worker_credentials::WorkerKeys;
use cockpit_worker::args::{RunArgs, WorkerCommand};
use cockpit_worker::auth::WorkerCredential;

/// How workers are started.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// The worker executable (`cockpit-worker`, or `cockpit` itself).
    pub worker_bin: PathBuf,
    /// Arguments before the worker's own (`["worker"]` when `worker_bin` is `cockpit`).
    pub worker_args: Vec<String>,
    /// The CLI the worker runs (`claude`).
    pub command: String,
    /// Output bytes each worker keeps.
    pub ring_bytes: usize,
    /// The Claude home (CLAUDE_CONFIG_DIR) shared by all sessions, so any session can resume
    /// any conversation on any account.
    pub claude_home: PathBuf,
    /// Where worker logs go.
    pub log_dir: PathBuf,
    /// Seconds a stopping CLI gets before it is killed.
    pub grace_secs: u64,
}

/// One worker start.
pub struct StartRequest<'a> {
    /// The session's id.
    pub session_id: &'a SessionId,
    /// Its spec.
    pub spec: &'a ClaudeSessionSpec,
    /// The account's name.
    pub account: &'a str,
    /// The account's credential; none leaves the CLI to its own login in the Claude home.
    pub credential: Option<(CredentialKind, Secret)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Conversation to resume.
    pub resume: Option<ConversationId>,
    /// Prompt to start with.
    pub prompt: Option<String>,
}

#[derive(Debug)]
struct Handle {
    generation: u64,
    account: String,
    pid: Option<u32>,
    endpoint: Option<String>,
    state: Option<WorkerState>,
    exited: Option<Option<i32>>,
    start_failed: Option<String>,
    stop_sent: Option<std::time::Instant>,
}

/// The local runtime.
pub struct LocalRuntime {
    settings: WorkerSettings,
    store: Store,
    handles: Mutex<HashMap<SessionId, Handle>>,
    streams: Arc<Streams>,
    next_generation: Mutex<u64>,
    notify: mpsc::UnboundedSender<SessionId>,
    keys: WorkerKeys,
}

impl Handle {
    /// True while the worker lives and has not reported its CLI's exit.
    fn runs_cli(&self) -> bool {
        self.exited.is_none()
            && self.start_failed.is_none()
            && self.state.as_ref().is_none_or(|s| s.activity != cockpit_api::Activity::Exited)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LocalRuntime {
    /// A runtime whose workers report into `streams` and that reports every change of a
    /// session's worker on `notify`.
    pub fn new(
        settings: WorkerSettings,
        store: Store,
        streams: Arc<Streams>,
        keys: WorkerKeys,
        notify: mpsc::UnboundedSender<SessionId>,
    ) -> Arc<LocalRuntime> {
        Arc::new(LocalRuntime {
            keys,
            settings,
            store,
            handles: Mutex::new(HashMap::new()),
            streams,
            next_generation: Mutex::new(0),
            notify,
        })
    }

    /// What derives the workers' credentials.
    pub fn worker_keys(&self) -> &WorkerKeys {
        &self.keys
    }

    /// The credential the workers of the session with this uid ask for.
    pub fn worker_credential(&self, session_uid: &SessionId) -> WorkerCredential {
        self.keys.credential(session_uid)
    }

    /// What is observed of the session's worker.
    pub fn observe(&self, session_id: &SessionId) -> Observed {
        let handles = lock(&self.handles);
        let Some(h) = handles.get(session_id) else { return Observed::NoWorker };
        let account = h.account.clone();
        if let Some(message) = &h.start_failed {
            return Observed::StartFailed { account, message: message.clone() };
        }
        if let Some(code) = h.exited {
            let code = code.or_else(|| h.state.as_ref().and_then(|s| s.exit_code));
            return Observed::Exited { account, code, state: h.state.clone() };
        }
        match &h.state {
            Some(state) => Observed::Running { account, state: state.clone() },
            None => Observed::Starting { account },
        }
    }

    /// Where the session's worker serves (`host:port`), while it runs.
    pub fn endpoint(&self, session_id: &SessionId) -> Option<String> {
        lock(&self.handles).get(session_id).filter(|h| h.exited.is_none()).and_then(|h| h.endpoint.clone())
    }

    /// Forgets an ended worker (after its exit was acted on).
    pub fn forget(&self, session_id: &SessionId) {
        let mut handles = lock(&self.handles);
        if handles.get(session_id).is_some_and(|h| h.exited.is_some() || h.start_failed.is_some()) {
            handles.remove(session_id);
        }
    }

    /// Running (or starting) workers per account.
    pub fn active_by_account(&self) -> HashMap<String, u32> {
        let mut out = HashMap::new();
        for h in lock(&self.handles).values() {
            if h.runs_cli() {
                *out.entry(h.account.clone()).or_insert(0) += 1;
            }
        }
        out
    }

    /// Workers whose CLI runs (or is starting): what `limits.maxConcurrentSessions` counts. A
    /// worker whose CLI exited stays up a moment to serve its final state and does not count
    /// (a new session started the moment another ended waited for that before).
    pub fn running(&self) -> usize {
        lock(&self.handles).values().filter(|h| h.runs_cli()).count()
    }

    /// True when the session has a live worker.
    pub fn has_worker(&self, session_id: &SessionId) -> bool {
        lock(&self.handles).get(session_id).is_some_and(|h| h.exited.is_none() && h.start_failed.is_none())
    }

    /// Starts a worker; returns the Claude session id it runs (new or resumed).
    pub async fn start(self: &Arc<Self>, req: StartRequest<'_>) -> anyhow::Result<ConversationId> {
        let generation = {
            let mut g = lock(&self.next_generation);
            *g += 1;
            *g
        };
        let claude_session = req.resume.clone().unwrap_or_else(|| uuid::Uuid::new_v4().into());
        lock(&self.handles).insert(
            req.session_id.clone(),
            Handle {
                generation,
                account: req.account.to_owned(),
                pid: None,
                endpoint: None,
                state: None,
                exited: None,
                start_failed: None,
                stop_sent: None,
            },
        );
        match self.spawn(&req, &claude_session, generation).await {
            Ok(()) => Ok(claude_session),
            Err(err) => {
                let message = format!("{err:#}");
                if let Some(h) = lock(&self.handles).get_mut(req.session_id).filter(|h| h.generation == generation) {
                    h.start_failed = Some(message.clone());
                }
                let _ = self.notify.send(req.session_id.clone());
                Err(err)
            }
        }
    }

    async fn spawn(
        self: &Arc<Self>,
        req: &StartRequest<'_>,
        claude_session: &ConversationId,
        generation: u64,
    ) -> anyhow::Result<()> {
        use anyhow::Context;
        let stream = self.streams.stream(req.session_id).await?;
        std::fs::create_dir_all(&self.settings.log_dir).context("creating the log dir")?;
        std::fs::create_dir_all(&self.settings.claude_home).context("creating the Claude home")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.settings.log_dir.join(format!("{}.log", req.session_id)))
            .context("opening the worker log")?;
        // A worker that takes over a session keeps the size its clients set.
        let (cols, rows) = stream.size();
        let conversation =
            claude_session.uuid().with_context(|| format!("the conversation id {claude_session:?} is not a UUID"))?;
        let args = RunArgs {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            cwd: Some(req.cwd.clone()),
            cols,
            rows,
            ring_bytes: self.settings.ring_bytes,
            command: self.settings.command.clone(),
            mode: req.spec.mode,
            session_id: req.resume.is_none().then_some(conversation),
            resume: req.resume.is_some().then_some(conversation),
            model: req.spec.model.clone(),
            permission_mode: req.spec.permission_mode,
            prompt: req.prompt.clone(),
            config_dir: Some(self.settings.claude_home.clone()),
            // The account's credential follows the worker's on standard input.
            credential_kind: req.credential.as_ref().map(|(kind, _)| *kind).unwrap_or_default(),
            credential_stdin: true,
            token_stdin: req.credential.is_some(),
            grace_secs: self.settings.grace_secs,
            linger_secs: 1,
            ..RunArgs::default()
        };
        let mut cmd = tokio::process::Command::new(&self.settings.worker_bin);
        cmd.args(&self.settings.worker_args).args(WorkerCommand::Run(Box::new(args)).to_argv());
        // The account's credential goes over the same pipe as the worker's: never argv, env or
        // a file (the worker hands the CLI a placeholder, and its proxy adds the real one).
        cmd.env_remove("CLAUDE_CODE_OAUTH_TOKEN").env_remove("ANTHROPIC_API_KEY").env_remove("ANTHROPIC_AUTH_TOKEN");
        cmd.env("COCKPIT_LOG", std::env::var("COCKPIT_WORKER_LOG").unwrap_or_else(|_| "info".into()));
        cmd.env("COCKPIT_ACCOUNT", req.account);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::from(log));
        // Its own process group: a Ctrl-C for the control plane is not a Ctrl-C for the worker.
        cmd.process_group(0);
        let mut child = cmd.spawn().with_context(|| format!("starting {}", self.settings.worker_bin.display()))?;
        let pid = child.id();
        // The credential goes over a pipe only the two processes hold: never argv, env or a file.
        let credential = self.worker_credential(req.session_id);
        let mut stdin = child.stdin.take().context("worker stdin")?;
        let handed = async {
            use tokio::io::AsyncWriteExt;
            stdin.write_all(format!("{}\n", credential.expose()).as_bytes()).await?;
            if let Some((_, secret)) = &req.credential {
                stdin.write_all(format!("{}\n", secret.expose()).as_bytes()).await?;
            }
            stdin.shutdown().await
        };
        if let Err(err) = handed.await {
            let _ = child.start_kill();
            anyhow::bail!("handing the worker its credential: {err}");
        }
        drop(stdin);
        let stdout = child.stdout.take().context("worker stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        let endpoint = match first {
            Ok(Ok(Some(line))) => line.strip_prefix("listening on http://").map(str::to_owned),
            _ => None,
        };
        let Some(endpoint) = endpoint else {
            let _ = child.start_kill();
            let status = child.wait().await.ok().and_then(|s| s.code());
            anyhow::bail!(
                "the worker did not start (exit code {status:?}); see its log in {}",
                self.settings.log_dir.display()
            );
        };
        let (stream_generation, base) = stream.begin_worker(None);
        if let Some(h) = lock(&self.handles).get_mut(req.session_id).filter(|h| h.generation == generation) {
            h.pid = pid;
            h.endpoint = Some(endpoint.clone());
        }
        let recorded = self
            .store
            .set_worker(
                req.session_id,
                &WorkerRow {
                    pid: i64::from(pid.unwrap_or(0)),
                    endpoint: endpoint.clone(),
                    account: req.account.to_owned(),
                    base_offset: base,
                    started_at: Utc::now(),
                },
            )
            .await;
        if let Err(err) = recorded {
            stream.end_worker(stream_generation);
            return Err(err.into());
        }
        self.follow(req.session_id, generation, stream, endpoint, stream_generation, base);
        let me = self.clone();
        let session_id = req.session_id.clone();
        tokio::spawn(async move {
            // Keep reading stdout so the worker never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            let code = child.wait().await.ok().and_then(|s| s.code());
            me.exited(&session_id, generation, code).await;
        });
        Ok(())
    }

    fn follow(
        self: &Arc<Self>,
        session_id: &SessionId,
        generation: u64,
        stream: Arc<SessionStream>,
        endpoint: String,
        stream_generation: u64,
        base: i64,
    ) {
        let credential = self.worker_credential(session_id);
        let alive_rt = self.clone();
        let state_rt = self.clone();
        let alive_id = session_id.clone();
        let state_id = session_id.clone();
        tokio::spawn(stream.follow(
            endpoint,
            credential,
            stream_generation,
            base,
            move || {
                lock(&alive_rt.handles).get(&alive_id).is_some_and(|h| h.generation == generation && h.exited.is_none())
            },
            move |state| {
                let changed = {
                    let mut handles = lock(&state_rt.handles);
                    match handles.get_mut(&state_id).filter(|h| h.generation == generation) {
                        Some(h) => {
                            let changed = h.state.as_ref().is_none_or(|old| !old.same_apart_from_offsets(&state));
                            h.state = Some(state);
                            changed
                        }
                        None => false,
                    }
                };
                if changed {
                    let _ = state_rt.notify.send(state_id.clone());
                }
            },
        ));
    }

    async fn exited(&self, session_id: &SessionId, generation: u64, code: Option<i32>) {
        // Let the last frames (the exit state, a one-shot result) arrive first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let current = {
            let mut handles = lock(&self.handles);
            match handles.get_mut(session_id).filter(|h| h.generation == generation) {
                Some(h) => {
                    h.exited = Some(code);
                    true
                }
                None => false,
            }
        };
        if current {
            if let Some(stream) = self.streams.open_stream(session_id) {
                stream.worker_gone(code, chrono::Utc::now());
            }
            if let Err(err) = self.store.clear_worker(session_id).await {
                tracing::warn!(session = %session_id, %err, "clearing the worker record");
            }
        }
        tracing::info!(session = %session_id, ?code, "worker exited");
        let _ = self.notify.send(session_id.clone());
    }

    /// Asks the session's worker to stop (SIGTERM: the worker stops its CLI, then exits).
    /// Repeated asks within a few seconds send nothing more; returns true when a signal went.
    pub fn stop(&self, session_id: &SessionId) -> bool {
        let pid = {
            let mut handles = lock(&self.handles);
            let Some(h) = handles.get_mut(session_id).filter(|h| h.exited.is_none()) else { return false };
            if h.stop_sent.is_some_and(|t| t.elapsed() < Duration::from_secs(5)) {
                return false;
            }
            h.stop_sent = Some(std::time::Instant::now());
            h.pid
        };
        match pid {
            Some(pid) => match cockpit_worker::pty::signal(pid, libc::SIGTERM) {
                Ok(()) => true,
                Err(err) => {
                    tracing::debug!(session = %session_id, %err, "stopping the worker");
                    false
                }
            },
            None => false,
        }
    }

    /// Stops every worker and waits (up to the grace period plus a little) for them to exit.
    pub async fn stop_all(&self) {
        let sessions: Vec<SessionId> = lock(&self.handles).keys().cloned().collect();
        for id in &sessions {
            self.stop(id);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.settings.grace_secs + 3);
        while self.running() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Re-adopts the workers a previous run of the control plane left running.
    pub async fn adopt_all(self: &Arc<Self>) -> anyhow::Result<usize> {
        let mut adopted = 0;
        for (session_id, row) in self.store.list_workers().await? {
            let pid = u32::try_from(row.pid).ok().filter(|p| *p > 0);
            // A live pid is not proof (pids are reused after a reboot): the process must be the
            // worker that was recorded, or it is neither adopted nor ever signalled.
            let proven = pid
                .and_then(super::proof::read_facts)
                .is_some_and(|facts| super::proof::is_recorded_worker(row.started_at, &facts));
            if !proven {
                if let Some(pid) = pid.filter(|p| cockpit_worker::pty::signal(*p, 0).is_ok()) {
                    tracing::warn!(session = %session_id, pid, "the recorded worker's pid now belongs to another process: not adopted, not signalled");
                }
                self.store.clear_worker(&session_id).await?;
                lock(&self.handles).insert(
                    session_id.clone(),
                    Handle {
                        generation: 0,
                        account: row.account.clone(),
                        pid: None,
                        endpoint: None,
                        state: None,
                        exited: Some(None),
                        start_failed: None,
                        stop_sent: None,
                    },
                );
                continue;
            }
            let generation = {
                let mut g = lock(&self.next_generation);
                *g += 1;
                *g
            };
            let stream = self.streams.stream(&session_id).await?;
            let (stream_generation, base) = stream.begin_worker(Some(row.base_offset));
            lock(&self.handles).insert(
                session_id.clone(),
                Handle {
                    generation,
                    account: row.account.clone(),
                    pid,
                    endpoint: Some(row.endpoint.clone()),
                    state: None,
                    exited: None,
                    start_failed: None,
                    stop_sent: None,
                },
            );
            self.follow(&session_id, generation, stream, row.endpoint.clone(), stream_generation, base);
            // Not our child: watch its pid.
            let me = self.clone();
            tokio::spawn(async move {
                while pid.is_some_and(|p| cockpit_worker::pty::signal(p, 0).is_ok()) {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                me.exited(&session_id, generation, None).await;
            });
            adopted += 1;
        }
        Ok(adopted)
    }
}
