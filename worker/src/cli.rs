//! The `cockpit-worker` command line: `run`, `post-hook`, `proxy`, `classify` (defined in
//! [`crate::args`]). The `cockpit-worker` binary calls [`main`]; `cockpit worker …` (the
//! control plane's single binary) parses the same [`WorkerCommand`] and calls [`execute`].

use std::process::ExitCode;
use std::time::Duration;

use crate::args::{ClassifyArgs, PostHookArgs, ProxyArgs, RunArgs, WorkerCli, WorkerCommand};
use crate::auth::WorkerCredential;
use crate::claude_setup::Credential;
use crate::run::{RunOptions, run};
use anyhow::{Context, Result, bail};
use clap::Parser;
use cockpit_api::{CredentialKind, SessionMode};

/// Runs the command line `args` (the first is the program name) and returns the exit code.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match WorkerCli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    execute(cli.command, Vec::new())
}

/// Runs one worker command. `self_args` select the worker's command line in this executable
/// (`["worker"]` inside `cockpit`): the CLI's hooks call it back with them.
pub fn execute(command: WorkerCommand, self_args: Vec<String>) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("COCKPIT_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .try_init();
    match command {
        WorkerCommand::PostHook(PostHookArgs { socket, event }) => match post_hook(&socket, &event) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                // A failed report must not break the CLI: say why and exit 1 (non-blocking).
                eprintln!("cockpit-worker post-hook: {err:#}");
                ExitCode::FAILURE
            }
        },
        WorkerCommand::Proxy(ProxyArgs { listen, upstream, token_file, token_env, credential_kind }) => {
            match serve_proxy(listen, upstream, token_file.as_deref(), token_env.as_deref(), credential_kind) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("cockpit-worker proxy: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
        WorkerCommand::Classify(ClassifyArgs { cols, rows, file }) => match classify_file(cols, rows, &file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("cockpit-worker classify: {err:#}");
                ExitCode::from(2)
            }
        },
        WorkerCommand::Run(args) => {
            // Before any thread exists: the credential's variable is removed from the environment.
            let credential = match crate::auth::read_credential(args.credential_stdin) {
                Ok(credential) => credential,
                Err(err) => {
                    eprintln!("cockpit-worker: {err}");
                    return ExitCode::from(2);
                }
            };
            let kind = args.credential_kind;
            // Also before any thread: the account's credential from stdin, or from the
            // environment (whose variables are then removed).
            let account = match account_credential(args.token_stdin, args.token_file.is_some(), kind) {
                Ok(account) => account,
                Err(err) => {
                    eprintln!("cockpit-worker: {err:#}");
                    return ExitCode::from(2);
                }
            };
            if let Err(err) = crate::auth::forbid_inspection() {
                eprintln!("cockpit-worker: cannot mark the process non-dumpable: {err}");
                return ExitCode::FAILURE;
            }
            // One thread runs the worker's few connections: the PTY's reader and the emulator
            // have threads of their own, and fifty workers on a small machine each waking two
            // runtime threads per chunk of output cost more than they gain.
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(err) => {
                    eprintln!("cockpit-worker: cannot start the async runtime: {err}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(async { run(options(*args, self_args, credential, account)?).await }) {
                Ok(code) => ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1)),
                Err(err) => {
                    eprintln!("cockpit-worker: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The account's credential when it comes from standard input (`--token-stdin`) or the
/// environment (no `--token-file`); `None` for a token file (read later) or none at all. Call
/// it before any thread exists: it removes the credential variables from the environment.
fn account_credential(from_stdin: bool, from_file: bool, kind: CredentialKind) -> Result<Option<Credential>> {
    if from_stdin {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line)
            .context("reading the account's credential from standard input")?;
        if line.trim().is_empty() {
            bail!("--token-stdin: standard input held no credential");
        }
        return Ok(Some(Credential::new(kind, &line)));
    }
    let found = if from_file { None } else { credential_from_env() };
    for name in ["CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"] {
        // SAFETY: called at start, before the runtime and any other thread exist.
        unsafe { std::env::remove_var(name) };
    }
    Ok(found)
}

fn options(
    args: RunArgs,
    self_args: Vec<String>,
    worker_credential: WorkerCredential,
    account: Option<Credential>,
) -> Result<RunOptions> {
    let cwd = match args.cwd {
        Some(cwd) => cwd,
        None => std::env::current_dir().context("reading the current directory")?,
    };
    let cwd = cwd.canonicalize().with_context(|| format!("working directory {}", cwd.display()))?;
    let claude = match args.claude_integration {
        crate::args::Integration::On => true,
        crate::args::Integration::Off => false,
        crate::args::Integration::Auto => {
            std::path::Path::new(&args.command).file_name().is_some_and(|n| n == "claude" || n == "claude.exe")
        }
    };
    let mode = args.mode;
    if mode == SessionMode::Oneshot && args.prompt.as_deref().is_none_or(|p| p.trim().is_empty()) && claude {
        bail!("--mode oneshot needs a --prompt");
    }
    let credential = match args.token_file {
        Some(path) => {
            let kind = args.credential_kind;
            let secret =
                std::fs::read_to_string(&path).with_context(|| format!("reading the token file {}", path.display()))?;
            if secret.trim().is_empty() {
                bail!("the token file {} is empty", path.display());
            }
            Some(Credential::new(kind, &secret))
        }
        None => account,
    };
    let config_dir = match args.config_dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("cockpit-worker-{}", std::process::id())).join("claude"),
    };
    let api_proxy = args.api_proxy.map(|url| (url, args.credential_kind));
    Ok(RunOptions {
        api_proxy,
        listen: args.listen,
        cwd,
        cols: args.cols,
        rows: args.rows,
        ring_bytes: args.ring_bytes,
        command: args.command,
        args: args.args,
        claude,
        mode,
        session_id: args.session_id.map(|u| u.to_string()),
        resume: args.resume.map(|u| u.to_string()),
        model: args.model,
        permission_mode: args.permission_mode,
        prompt: args.prompt,
        config_dir,
        credential,
        grace: Duration::from_secs(args.grace_secs),
        linger: Duration::from_secs(args.linger_secs),
        self_args,
        worker_credential,
    })
}

/// `cockpit-worker proxy`: reads the credential, closes itself to inspection, serves until
/// stopped.
fn serve_proxy(
    listen: std::net::SocketAddrV4,
    upstream: Option<String>,
    token_file: Option<&std::path::Path>,
    token_env: Option<&str>,
    kind: CredentialKind,
) -> Result<()> {
    let (secret, origin) = match (token_file, token_env) {
        (Some(file), _) => (
            std::fs::read_to_string(file).with_context(|| format!("reading the token file {}", file.display()))?,
            format!("the token file {}", file.display()),
        ),
        (None, Some(name)) => {
            let value = std::env::var(name).with_context(|| format!("the variable {name} is not set"))?;
            // SAFETY: called before the runtime and any other thread exist.
            unsafe { std::env::remove_var(name) };
            (value, format!("the variable {name}"))
        }
        (None, None) => bail!("--token-file or --token-env names the credential"),
    };
    if secret.trim().is_empty() {
        bail!("{origin} is empty");
    }
    let credential = Credential::new(kind, &secret);
    drop(secret);
    crate::auth::forbid_inspection().context("marking the process non-dumpable")?;
    let upstream = upstream.filter(|u| !u.trim().is_empty()).unwrap_or_else(crate::api_proxy::upstream_from_env);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let (url, task) =
            crate::api_proxy::start(listen, &upstream, credential, crate::api_proxy::Peers::PodLocal).await?;
        tracing::info!(%url, %upstream, "API proxy serving the Pod's CLI");
        println!("listening on {url}");
        task.await.context("the proxy stopped")
    })
}

/// The credential from the worker's environment: an OAuth token wins over an API key.
fn credential_from_env() -> Option<Credential> {
    let non_empty = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(token) = non_empty("CLAUDE_CODE_OAUTH_TOKEN") {
        return Some(Credential::new(CredentialKind::OAuthToken, &token));
    }
    non_empty("ANTHROPIC_API_KEY").map(|key| Credential::new(CredentialKind::ApiKey, &key))
}

fn post_hook(socket: &std::path::Path, event: &str) -> Result<()> {
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut body).context("reading the hook input")?;
    let answer = crate::hook_post::post(socket, event, body)?;
    std::io::Write::write_all(&mut std::io::stdout(), crate::hook_post::printed_answer(&answer))?;
    Ok(())
}

fn classify_file(cols: u16, rows: u16, file: &std::path::Path) -> Result<()> {
    let bytes = if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).context("reading standard input")?;
        buf
    } else {
        std::fs::read(file).with_context(|| format!("reading {}", file.display()))?
    };
    let report = crate::classify::report(&bytes, cols, rows, chrono::Utc::now());
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
