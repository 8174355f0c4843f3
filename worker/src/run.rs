//! `cockpit-worker run`: starts the CLI (in a PTY, or with pipes in one-shot mode), the servers,
//! the PTY threads, and stops everything cleanly on SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use cockpit_api::ids::ConversationId;
use cockpit_api::{PermissionMode, SessionMode};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::auth::WorkerCredential;
use crate::classify::{ScreenClass, classify};
use crate::claude_setup::{ClaudeArgs, Credential, child_env, claude_argv, prepare_config_dir, write_private};
use crate::hub::Hub;
use crate::input::PtyInput;

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where to serve `/ws`, `/state`, …
    pub listen: SocketAddr,
    /// The CLI's working directory.
    pub cwd: PathBuf,
    /// Terminal width.
    pub cols: u16,
    /// Terminal height.
    pub rows: u16,
    /// Output bytes kept for replay.
    pub ring_bytes: usize,
    /// The program (default `claude`).
    pub command: String,
    /// Extra arguments after the ones the worker adds.
    pub args: Vec<String>,
    /// True when the program is Claude Code: seed its config dir, pass hooks and flags.
    pub claude: bool,
    /// Interactive (PTY) or one-shot (`-p`, stream-json).
    pub mode: SessionMode,
    /// `--session-id`.
    pub session_id: Option<String>,
    /// `--resume`.
    pub resume: Option<String>,
    /// `--model`.
    pub model: Option<String>,
    /// `--permission-mode`.
    pub permission_mode: Option<PermissionMode>,
    /// First message (interactive) or task (one-shot).
    pub prompt: Option<String>,
    /// The Claude config dir (`CLAUDE_CONFIG_DIR`).
    pub config_dir: PathBuf,
    /// The credential to run under.
    pub credential: Option<Credential>,
    /// An API proxy that holds the credential (another container of the Pod), and the kind of
    /// credential it adds: the CLI gets its URL and a placeholder.
    pub api_proxy: Option<(String, cockpit_api::CredentialKind)>,
    /// Time the CLI gets to exit after SIGTERM before it is killed.
    pub grace: Duration,
    /// Time the worker keeps serving after the CLI exited.
    pub linger: Duration,
    /// Arguments that re-enter this command line from the current executable (`["worker"]`
    /// when the worker runs inside `cockpit`).
    pub self_args: Vec<String>,
    /// What the control plane must present on every request but `/healthz`.
    pub worker_credential: WorkerCredential,
}

/// Runs the session to its end; returns the CLI's exit code.
pub async fn run(opts: RunOptions) -> Result<i32> {
    let private = crate::private_dir::PrivateDir::create_in(&std::env::temp_dir())?;
    let hook_socket = private.path().join("hooks.sock");
    let hooks_listener = tokio::net::UnixListener::bind(&hook_socket)
        .with_context(|| format!("binding the hook socket {}", hook_socket.display()))?;
    let cli_pid = Arc::new(OnceLock::new());
    let claude_session_id = opts.resume.as_deref().or(opts.session_id.as_deref()).map(ConversationId::from);
    let hub = Hub::new(opts.mode, opts.cols, opts.rows, opts.ring_bytes, claude_session_id, opts.prompt.clone());
    if opts.claude {
        hub.set_permission_mode(opts.permission_mode.unwrap_or(cockpit_api::PermissionMode::Default));
    }

    // The CLI never holds the account's credential: a placeholder, and the API through this
    // worker's proxy, which adds the real one.
    let (cli_credential, proxy_url) = match (&opts.api_proxy, &opts.credential, opts.claude) {
        // A proxy of the Pod's own (another container, another user) holds the credential.
        (Some((url, kind)), _, true) => (Some(crate::api_proxy::placeholder(*kind)), Some(url.clone())),
        (None, Some(real), true) => {
            let upstream = crate::api_proxy::upstream_from_env();
            let loopback = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 0);
            let peers = crate::api_proxy::Peers::OwnCli(cli_pid.clone());
            let (url, _task) = crate::api_proxy::start(loopback, &upstream, real.clone(), peers).await?;
            tracing::info!(proxy = %url, upstream = %upstream, "API proxy");
            (Some(crate::api_proxy::placeholder(real.kind)), Some(url))
        }
        _ => (opts.credential.clone(), None),
    };

    let mut argv = Vec::new();
    if opts.claude {
        std::fs::create_dir_all(&opts.config_dir)
            .with_context(|| format!("creating the config dir {}", opts.config_dir.display()))?;
        let command = crate::hooks::CommandHook {
            exe: std::env::current_exe().context("locating the worker executable")?.to_string_lossy().into_owned(),
            exe_args: opts.self_args.clone(),
            socket: hook_socket.to_string_lossy().into_owned(),
        };
        let settings_path = private.path().join("settings.json");
        write_private(&settings_path, crate::hooks::settings_json(&command).to_string().as_bytes())?;
        prepare_config_dir(&opts.config_dir, &opts.cwd, cli_credential.as_ref())?;
        argv = claude_argv(&ClaudeArgs {
            settings: Some(settings_path),
            session_id: opts.session_id.clone(),
            resume: opts.resume.clone(),
            model: opts.model.clone(),
            permission_mode: opts.permission_mode,
            prompt: opts.prompt.clone(),
            oneshot: opts.mode == SessionMode::Oneshot,
        });
    }
    argv.extend(opts.args.iter().cloned());
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| opts.config_dir.clone());
    let mut env =
        child_env(std::env::vars(), &home, opts.claude.then_some(opts.config_dir.as_path()), cli_credential.as_ref());
    if let Some(url) = proxy_url {
        env.insert("ANTHROPIC_BASE_URL".to_owned(), url);
    }

    let listener = TcpListener::bind(opts.listen).await.with_context(|| format!("binding {}", opts.listen))?;
    let addr = listener.local_addr()?;

    tracing::info!(hooks = %hook_socket.display(), "hook socket");
    let hooks_app = crate::server::hooks_router(hub.clone(), cli_pid.clone())
        .into_make_service_with_connect_info::<crate::server::HookPeer>();
    tokio::spawn(async move {
        if let Err(err) = axum::serve(hooks_listener, hooks_app).await {
            tracing::error!(%err, "hook endpoint stopped");
        }
    });

    let (exit_tx, exit_rx) = tokio::sync::oneshot::channel::<i32>();
    let (pid, input) = match opts.mode {
        SessionMode::Interactive => {
            let (pid, input) = start_pty(&opts, &argv, &env, hub.clone(), exit_tx)?;
            (pid, Some(input))
        }
        SessionMode::Oneshot => (start_oneshot(&opts, &argv, &env, hub.clone(), exit_tx)?, None),
    };
    if let Some(pid) = pid {
        let _ = cli_pid.set(pid);
    }
    tracing::info!(command = %opts.command, pid = ?pid, mode = ?opts.mode, %addr, "session started");

    let app = crate::server::router(hub.clone(), input, opts.worker_credential.clone());
    // Keystroke echoes are tiny writes: without TCP_NODELAY, Nagle holds some for ~40 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "TCP_NODELAY");
        }
    });
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "server stopped");
        }
    });
    // Tests and the local runtime read the bound address from this line.
    println!("listening on http://{addr}");

    let code = wait_for_exit(exit_rx, pid, opts.grace).await;
    hub.on_exit(code);
    tracing::info!(code, "CLI exited");
    tokio::time::sleep(opts.linger).await;
    drop(private);
    Ok(code)
}

/// Waits for the CLI to exit; on SIGTERM or SIGINT stops it (TERM to its process group, KILL
/// after the grace period).
async fn wait_for_exit(mut exit_rx: tokio::sync::oneshot::Receiver<i32>, pid: Option<u32>, grace: Duration) -> i32 {
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return exit_rx.await.unwrap_or(-1);
    };
    tokio::select! {
        code = &mut exit_rx => return code.unwrap_or(-1),
        _ = term.recv() => tracing::info!("SIGTERM: stopping the CLI"),
        _ = int.recv() => tracing::info!("SIGINT: stopping the CLI"),
    }
    if let Some(pid) = pid {
        let _ = crate::pty::signal(pid, libc::SIGTERM);
    }
    match tokio::time::timeout(grace, &mut exit_rx).await {
        Ok(code) => code.unwrap_or(-1),
        Err(_) => {
            tracing::warn!(?grace, "the CLI did not stop in time: killing it");
            if let Some(pid) = pid {
                let _ = crate::pty::signal(pid, libc::SIGKILL);
            }
            exit_rx.await.unwrap_or(-1)
        }
    }
}

fn start_pty(
    opts: &RunOptions,
    argv: &[String],
    env: &std::collections::BTreeMap<String, String>,
    hub: Arc<Hub>,
    exit_tx: tokio::sync::oneshot::Sender<i32>,
) -> Result<(Option<u32>, Arc<PtyInput>)> {
    let proc = crate::pty::spawn(&opts.command, argv, &opts.cwd, env, opts.cols, opts.rows)?;
    let pid = proc.pid;
    let input_clock = Arc::new(crate::pacing::InputClock::default());
    let input = Arc::new(PtyInput::start(proc.writer, proc.master, input_clock.clone()));
    // The reader never waits for the emulator: it only wakes it (wake-ups coalesce), and the
    // emulator takes whatever the ring holds beyond what it has processed, in large batches.
    let (wake_tx, wake_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let (reader_done_tx, reader_done_rx) = tokio::sync::oneshot::channel::<()>();

    let reader_hub = hub.clone();
    let reader = proc.reader;
    tokio::spawn(async move {
        crate::pty::read_until_end(reader, &input_clock, |data| {
            reader_hub.push_output(data);
            let _ = wake_tx.try_send(());
        })
        .await;
        drop(wake_tx);
    });

    let emu_hub = hub.clone();
    let emu_input = input.clone();
    let auto_esc = opts.claude;
    std::thread::Builder::new().name("emulator".into()).spawn(move || {
        emulator_loop(&emu_hub, &wake_rx, auto_esc.then_some(&*emu_input));
        let _ = reader_done_tx.send(());
    })?;

    let mut child = proc.child;
    tokio::spawn(async move {
        let status = tokio::task::spawn_blocking(move || child.wait()).await;
        let code = match status {
            Ok(Ok(status)) => crate::pty::exit_code(&status),
            _ => -1,
        };
        // Let the last output reach the ring and the emulator before reporting the exit.
        let _ = tokio::time::timeout(Duration::from_secs(2), reader_done_rx).await;
        let _ = exit_tx.send(code);
    });
    Ok((pid, input))
}

/// Feeds the emulator in offset order and classifies the screen when [`crate::emulation`]'s
/// schedule says so. Closes the `/rate-limit-options` dialog with Esc when `input` is given,
/// so the session is ready for the next account.
fn emulator_loop(hub: &Hub, wake: &std::sync::mpsc::Receiver<()>, input: Option<&PtyInput>) {
    use crate::emulation::{SETTLE, Schedule, Step, Woke};
    let mut schedule = Schedule::new(Instant::now());
    let mut last_esc: Option<Instant> = None;
    loop {
        let woke = match wake.recv_timeout(SETTLE) {
            Ok(()) => Woke::Output,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Woke::Quiet,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Woke::Closed,
        };
        match schedule.next(woke, Instant::now(), last_esc.is_some()) {
            Step::Emulate(pause) => {
                hub.catch_up_emulator();
                std::thread::sleep(pause);
                continue;
            }
            Step::Wait => continue,
            Step::Finish { pending } => {
                if hub.catch_up_emulator() || pending {
                    hub.on_screen(classify(&hub.screen_lines(), Utc::now()));
                }
                return;
            }
            Step::Read => {
                hub.catch_up_emulator();
            }
        }
        let class = classify(&hub.screen_lines(), Utc::now());
        let dialog_open = matches!(class, ScreenClass::RateLimited { dialog_open: true, .. });
        hub.on_screen(class);
        match (dialog_open, input) {
            (true, Some(input)) if last_esc.is_none_or(|t| t.elapsed() > Duration::from_millis(1500)) => {
                tracing::info!("closing the rate-limit options dialog");
                let _ = input.try_write(b"\x1b".to_vec());
                last_esc = Some(Instant::now());
            }
            (false, _) => last_esc = None,
            _ => {}
        }
    }
}

fn start_oneshot(
    opts: &RunOptions,
    argv: &[String],
    env: &std::collections::BTreeMap<String, String>,
    hub: Arc<Hub>,
    exit_tx: tokio::sync::oneshot::Sender<i32>,
) -> Result<Option<u32>> {
    let mut child = tokio::process::Command::new(&opts.command)
        .args(argv)
        .current_dir(&opts.cwd)
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {:?} in {}", opts.command, opts.cwd.display()))?;
    let pid = child.id();
    let stdout = child.stdout.take().context("one-shot stdout")?;
    let mut stderr = child.stderr.take().context("one-shot stderr")?;
    let err_hub = hub.clone();
    let stderr_task = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = stderr.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let chunk = err_hub.push_output(bytes::Bytes::copy_from_slice(&buf[..n]));
            err_hub.emulate(&chunk);
        }
    });
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut events = Vec::new();
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => match crate::oneshot::parse_line(&line, Utc::now()) {
                    // The CLI's own result line is folded into the final result sent at exit.
                    Ok(Some(event @ cockpit_api::oneshot::OneshotEvent::Result { .. })) => events.push(event),
                    Ok(Some(event)) => {
                        events.push(event.clone());
                        hub.on_oneshot_event(event);
                    }
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(%err, "unparsable stream-json line");
                        let chunk = hub.push_output(bytes::Bytes::from(format!("{line}\r\n")));
                        hub.emulate(&chunk);
                    }
                },
                Ok(None) => break,
                Err(err) => {
                    tracing::warn!(%err, "reading the one-shot output");
                    break;
                }
            }
        }
        let status = child.wait().await;
        let _ = stderr_task.await;
        let code = match status {
            Ok(status) => status.code().unwrap_or_else(|| {
                use std::os::unix::process::ExitStatusExt;
                128 + status.signal().unwrap_or(0)
            }),
            Err(_) => -1,
        };
        let result = crate::oneshot::final_result(&events, Some(code), Utc::now());
        hub.on_oneshot_event(cockpit_api::oneshot::OneshotEvent::Result { result });
        let _ = exit_tx.send(code);
    });
    Ok(pid)
}
