//! The `cockpit-worker` command line: `run`, `classify`, `post-hook`. The `cockpit-worker`
//! binary and `cockpit worker …` (the control plane's single binary) both call [`main`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::auth::WorkerCredential;
use crate::claude_setup::Credential;
use crate::run::{RunOptions, run};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use cockpit_crds::{CredentialKind, PermissionMode, SessionMode};

/// Hosts one Claude Code CLI in a pseudo-terminal and serves it over WebSocket.
#[derive(Parser, Debug)]
#[command(name = "cockpit-worker", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one CLI session and serve it until it exits.
    Run(Box<RunArgs>),
    /// Used by the CLI as a `command` hook: posts standard input to the worker's hook socket
    /// and prints the answer.
    PostHook {
        /// The worker's hook socket.
        #[arg(long)]
        socket: PathBuf,
        /// The hook event (`Stop`, `PermissionRequest`, …).
        #[arg(long)]
        event: String,
    },
    /// Serve the Anthropic API to the session's CLI with the account's credential added: the
    /// Pod's proxy container (the only one that holds the credential's Secret).
    Proxy {
        /// Where to listen (loopback only).
        #[arg(long, default_value = "127.0.0.1:8788")]
        listen: std::net::SocketAddrV4,
        /// Where to forward (default: ANTHROPIC_BASE_URL, else https://api.anthropic.com).
        #[arg(long)]
        upstream: Option<String>,
        /// The file holding the account's credential.
        #[arg(long, required_unless_present = "token_env", conflicts_with = "token_env")]
        token_file: Option<PathBuf>,
        /// The environment variable holding it (a Secret's key in a Pod); removed from the
        /// environment once read.
        #[arg(long)]
        token_env: Option<String>,
        /// What the file holds.
        #[arg(long, value_enum, default_value_t = Kind::OauthToken)]
        credential_kind: Kind,
    },
    /// Feed raw PTY bytes from FILE through the emulator and the screen classifier and print
    /// one JSON object: activity, screen, rateLimit, approval.
    Classify {
        /// Terminal width the bytes were produced for.
        #[arg(long, default_value_t = 120)]
        cols: u16,
        /// Terminal height.
        #[arg(long, default_value_t = 40)]
        rows: u16,
        /// The raw bytes (`-` for standard input).
        file: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Address to serve /ws, /state, /screen and /healthz on (port 0 picks one).
    #[arg(long, env = "COCKPIT_WORKER_LISTEN", default_value = "127.0.0.1:7681")]
    listen: SocketAddr,
    /// Working directory of the CLI (default: the current directory).
    #[arg(long, env = "COCKPIT_WORKER_CWD")]
    cwd: Option<PathBuf>,
    /// Terminal columns.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u16).range(10..=1000))]
    cols: u16,
    /// Terminal rows.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u16).range(2..=500))]
    rows: u16,
    /// Output bytes kept for replay to reconnecting clients.
    #[arg(long, env = "COCKPIT_WORKER_RING_BYTES", default_value_t = 8 << 20)]
    ring_bytes: usize,
    /// The program to run.
    #[arg(long, env = "COCKPIT_CLAUDE_COMMAND", default_value = "claude")]
    command: String,
    /// Treat the program as Claude Code (seeded config dir, hooks, flags): `auto` decides by
    /// the program's file name.
    #[arg(long, value_enum, default_value_t = Integration::Auto)]
    claude_integration: Integration,
    /// Interactive terminal, or one-shot `-p` run with a structured result.
    #[arg(long, value_enum, default_value_t = Mode::Interactive)]
    mode: Mode,
    /// Start a new Claude conversation with this id (UUID).
    #[arg(long, conflicts_with = "resume")]
    session_id: Option<uuid::Uuid>,
    /// Resume this Claude conversation (UUID).
    #[arg(long)]
    resume: Option<uuid::Uuid>,
    /// Model (`--model`).
    #[arg(long, allow_hyphen_values = true)]
    model: Option<String>,
    /// Permission mode.
    #[arg(long, value_enum)]
    permission_mode: Option<PermMode>,
    /// First message (interactive) or the task (one-shot); may start with `-`.
    #[arg(long, allow_hyphen_values = true)]
    prompt: Option<String>,
    /// The Claude config dir (CLAUDE_CONFIG_DIR); default: a fresh one under the temp dir.
    #[arg(long, env = "COCKPIT_CLAUDE_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
    /// Read the credential from this file instead of the environment
    /// (CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY).
    #[arg(long, env = "COCKPIT_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// What the token file holds.
    #[arg(long, value_enum, default_value_t = Kind::OauthToken)]
    credential_kind: Kind,
    /// Read the control plane's credential from the first line of standard input (else from
    /// COCKPIT_WORKER_CREDENTIAL). Every route but /healthz asks for it.
    #[arg(long)]
    credential_stdin: bool,
    /// Read the account's credential (of --credential-kind) from the next line of standard
    /// input instead of a file or the environment.
    #[arg(long)]
    token_stdin: bool,
    /// The API proxy that adds the account's credential (the Pod's proxy container): the CLI
    /// gets this base URL and a placeholder of --credential-kind; the worker holds no token.
    #[arg(long, conflicts_with_all = ["token_stdin", "token_file"])]
    api_proxy: Option<String>,
    /// Seconds the CLI gets to exit after SIGTERM before it is killed.
    #[arg(long, default_value_t = 10)]
    grace_secs: u64,
    /// Seconds to keep serving after the CLI exited.
    #[arg(long, default_value_t = 2)]
    linger_secs: u64,
    /// Extra arguments for the program.
    #[arg(last = true)]
    args: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Integration {
    Auto,
    On,
    Off,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Mode {
    Interactive,
    Oneshot,
}

/// The CLI's own names (`PermissionMode::as_cli_arg`).
#[derive(ValueEnum, Clone, Copy, Debug)]
enum PermMode {
    #[value(name = "default")]
    Default,
    #[value(name = "acceptEdits")]
    AcceptEdits,
    #[value(name = "plan")]
    Plan,
    #[value(name = "bypassPermissions")]
    BypassPermissions,
    #[value(name = "auto")]
    Auto,
    #[value(name = "dontAsk")]
    DontAsk,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Kind {
    OauthToken,
    ApiKey,
}

impl From<Kind> for CredentialKind {
    fn from(kind: Kind) -> CredentialKind {
        match kind {
            Kind::OauthToken => CredentialKind::OAuthToken,
            Kind::ApiKey => CredentialKind::ApiKey,
        }
    }
}

/// Runs the command line `args` (the first is the program name) and returns the exit code.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    // Inside `cockpit`, this command line is `cockpit worker …`.
    let self_args =
        if args.first().is_some_and(|a| a == "cockpit worker") { vec!["worker".to_owned()] } else { Vec::new() };
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("COCKPIT_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .try_init();
    match cli.command {
        Command::PostHook { socket, event } => match post_hook(&socket, &event) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                // A failed report must not break the CLI: say why and exit 1 (non-blocking).
                eprintln!("cockpit-worker post-hook: {err:#}");
                ExitCode::FAILURE
            }
        },
        Command::Proxy { listen, upstream, token_file, token_env, credential_kind } => {
            match serve_proxy(listen, upstream, token_file.as_deref(), token_env.as_deref(), credential_kind) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("cockpit-worker proxy: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Classify { cols, rows, file } => match classify_file(cols, rows, &file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("cockpit-worker classify: {err:#}");
                ExitCode::from(2)
            }
        },
        Command::Run(args) => {
            // Before any thread exists: the credential's variable is removed from the environment.
            let credential = match crate::auth::read_credential(args.credential_stdin) {
                Ok(credential) => credential,
                Err(err) => {
                    eprintln!("cockpit-worker: {err}");
                    return ExitCode::from(2);
                }
            };
            let kind = match args.credential_kind {
                Kind::OauthToken => CredentialKind::OAuthToken,
                Kind::ApiKey => CredentialKind::ApiKey,
            };
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
        Integration::On => true,
        Integration::Off => false,
        Integration::Auto => {
            std::path::Path::new(&args.command).file_name().is_some_and(|n| n == "claude" || n == "claude.exe")
        }
    };
    let mode = match args.mode {
        Mode::Interactive => SessionMode::Interactive,
        Mode::Oneshot => SessionMode::Oneshot,
    };
    if mode == SessionMode::Oneshot && args.prompt.as_deref().is_none_or(|p| p.trim().is_empty()) && claude {
        bail!("--mode oneshot needs a --prompt");
    }
    let credential = match args.token_file {
        Some(path) => {
            let kind = match args.credential_kind {
                Kind::OauthToken => CredentialKind::OAuthToken,
                Kind::ApiKey => CredentialKind::ApiKey,
            };
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
    let api_proxy = args.api_proxy.map(|url| (url, args.credential_kind.into()));
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
        permission_mode: args.permission_mode.map(|m| match m {
            PermMode::Default => PermissionMode::Default,
            PermMode::AcceptEdits => PermissionMode::AcceptEdits,
            PermMode::Plan => PermissionMode::Plan,
            PermMode::BypassPermissions => PermissionMode::BypassPermissions,
            PermMode::Auto => PermissionMode::Auto,
            PermMode::DontAsk => PermissionMode::DontAsk,
        }),
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
    kind: Kind,
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
    let credential = Credential::new(kind.into(), &secret);
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn run_args(args: &[&str]) -> RunArgs {
        let cli = Cli::try_parse_from(["cockpit-worker", "run"].iter().chain(args)).expect("parses");
        match cli.command {
            Command::Run(args) => *args,
            other => panic!("not run: {other:?}"),
        }
    }

    #[test]
    fn a_prompt_or_model_that_starts_with_a_dash_is_a_value_not_a_flag() {
        let args = run_args(&["--prompt", "- fix the README", "--model", "-custom", "--mode", "oneshot"]);
        assert_eq!(args.prompt.as_deref(), Some("- fix the README"));
        assert_eq!(args.model.as_deref(), Some("-custom"));
        let args = run_args(&["--prompt", "--help me with this"]);
        assert_eq!(args.prompt.as_deref(), Some("--help me with this"));
        assert!(Cli::try_parse_from(["cockpit-worker", "run", "--permission-mode", "yolo"]).is_err());
        assert!(matches!(run_args(&["--permission-mode", "auto"]).permission_mode, Some(PermMode::Auto)));
    }
}
