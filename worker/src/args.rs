//! The worker's command line as types: what `cockpit worker …` (and `cockpit-worker …`) parses,
//! and what the control plane renders into a local process's argv or a Pod's `args` with
//! [`WorkerCommand::to_argv`]. One definition for both sides: a test parses every rendering
//! back to the value it came from.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use cockpit_api::{CredentialKind, PermissionMode, SessionMode};

/// Where `run` listens unless told otherwise.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7681));
/// Terminal columns unless told otherwise.
pub const DEFAULT_COLS: u16 = 120;
/// Terminal rows unless told otherwise.
pub const DEFAULT_ROWS: u16 = 40;
/// Output bytes a worker keeps for replay unless told otherwise.
pub const DEFAULT_RING_BYTES: usize = 8 << 20;
/// Seconds the CLI gets to exit after SIGTERM unless told otherwise.
pub const DEFAULT_GRACE_SECS: u64 = 10;
/// Seconds a worker keeps serving after its CLI exited unless told otherwise.
pub const DEFAULT_LINGER_SECS: u64 = 2;
/// Where the API proxy listens unless told otherwise.
pub const DEFAULT_PROXY_LISTEN: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8788);

/// The worker's commands.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum WorkerCommand {
    /// Run one CLI session and serve it until it exits.
    Run(Box<RunArgs>),
    /// Used by the CLI as a `command` hook: posts standard input to the worker's hook socket
    /// and prints the answer.
    PostHook(PostHookArgs),
    /// Serve the Anthropic API to the session's CLI with the account's credential added: the
    /// Pod's proxy container (the only one that holds the credential's Secret).
    Proxy(ProxyArgs),
    /// Feed raw PTY bytes from FILE through the emulator and the screen classifier and print
    /// one JSON object: activity, screen, rateLimit, approval.
    Classify(ClassifyArgs),
}

/// The worker's command line as the `cockpit-worker` binary parses it.
#[derive(clap::Parser, Debug)]
#[command(
    name = "cockpit-worker",
    version,
    about = "Hosts one Claude Code CLI in a pseudo-terminal and serves it over WebSocket."
)]
pub struct WorkerCli {
    /// The command.
    #[command(subcommand)]
    pub command: WorkerCommand,
}

impl WorkerCommand {
    /// Parses the arguments after the worker's executable (and `worker` inside `cockpit`), as
    /// [`WorkerCommand::to_argv`] renders them.
    pub fn parse_argv<I, T>(argv: I) -> Result<WorkerCommand, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::Parser;
        let program = std::iter::once(std::ffi::OsString::from("cockpit-worker"));
        WorkerCli::try_parse_from(program.chain(argv.into_iter().map(Into::into))).map(|cli| cli.command)
    }

    /// The arguments that select this command and its options, after the worker's own
    /// executable (and `worker` inside `cockpit`).
    pub fn to_argv(&self) -> Vec<String> {
        match self {
            WorkerCommand::Run(args) => args.to_argv(),
            WorkerCommand::PostHook(args) => args.to_argv(),
            WorkerCommand::Proxy(args) => args.to_argv(),
            WorkerCommand::Classify(args) => args.to_argv(),
        }
    }
}

/// Whether the program is treated as Claude Code (seeded config dir, hooks, flags).
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Integration {
    /// Decide by the program's file name (`claude`).
    #[default]
    Auto,
    /// Always.
    On,
    /// Never: any program in a terminal.
    Off,
}

/// `run`: one CLI session, served until it exits.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    /// Address to serve /ws, /state, /screen and /healthz on (port 0 picks one).
    #[arg(long, env = "COCKPIT_WORKER_LISTEN", default_value_t = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Working directory of the CLI (default: the current directory).
    #[arg(long, env = "COCKPIT_WORKER_CWD")]
    pub cwd: Option<PathBuf>,
    /// Terminal columns.
    #[arg(long, default_value_t = DEFAULT_COLS, value_parser = clap::value_parser!(u16).range(10..=1000))]
    pub cols: u16,
    /// Terminal rows.
    #[arg(long, default_value_t = DEFAULT_ROWS, value_parser = clap::value_parser!(u16).range(2..=500))]
    pub rows: u16,
    /// Output bytes kept for replay to reconnecting clients.
    #[arg(long, env = "COCKPIT_WORKER_RING_BYTES", default_value_t = DEFAULT_RING_BYTES)]
    pub ring_bytes: usize,
    /// The program to run.
    #[arg(long, env = "COCKPIT_CLAUDE_COMMAND", default_value = "claude")]
    pub command: String,
    /// Treat the program as Claude Code (seeded config dir, hooks, flags): `auto` decides by
    /// the program's file name.
    #[arg(long, value_enum, default_value_t = Integration::Auto)]
    pub claude_integration: Integration,
    /// Interactive terminal, or one-shot `-p` run with a structured result.
    #[arg(long, value_enum, default_value_t = SessionMode::Interactive)]
    pub mode: SessionMode,
    /// Start a new Claude conversation with this id (UUID).
    #[arg(long, conflicts_with = "resume")]
    pub session_id: Option<uuid::Uuid>,
    /// Resume this Claude conversation (UUID).
    #[arg(long)]
    pub resume: Option<uuid::Uuid>,
    /// Model (`--model`).
    #[arg(long, allow_hyphen_values = true)]
    pub model: Option<String>,
    /// Permission mode.
    #[arg(long, value_enum)]
    pub permission_mode: Option<PermissionMode>,
    /// First message (interactive) or the task (one-shot); may start with `-`.
    #[arg(long, allow_hyphen_values = true)]
    pub prompt: Option<String>,
    /// The Claude config dir (CLAUDE_CONFIG_DIR); default: a fresh one under the temp dir.
    #[arg(long, env = "COCKPIT_CLAUDE_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// Read the credential from this file instead of the environment
    /// (CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY).
    #[arg(long, env = "COCKPIT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// What the token file, standard input or the API proxy's credential is.
    #[arg(long, value_enum, default_value_t = CredentialKind::OAuthToken)]
    pub credential_kind: CredentialKind,
    /// Read the control plane's credential from the first line of standard input (else from
    /// COCKPIT_WORKER_CREDENTIAL). Every route but /healthz asks for it.
    #[arg(long)]
    pub credential_stdin: bool,
    /// Read the account's credential (of --credential-kind) from the next line of standard
    /// input instead of a file or the environment.
    #[arg(long)]
    pub token_stdin: bool,
    /// The API proxy that adds the account's credential (the Pod's proxy container): the CLI
    /// gets this base URL and a placeholder of --credential-kind; the worker holds no token.
    #[arg(long, conflicts_with_all = ["token_stdin", "token_file"])]
    pub api_proxy: Option<String>,
    /// Seconds the CLI gets to exit after SIGTERM before it is killed.
    #[arg(long, default_value_t = DEFAULT_GRACE_SECS)]
    pub grace_secs: u64,
    /// Seconds to keep serving after the CLI exited.
    #[arg(long, default_value_t = DEFAULT_LINGER_SECS)]
    pub linger_secs: u64,
    /// Extra arguments for the program.
    #[arg(last = true)]
    pub args: Vec<String>,
}

impl Default for RunArgs {
    /// What `run` with no options means (without the environment's say).
    fn default() -> RunArgs {
        RunArgs {
            listen: DEFAULT_LISTEN,
            cwd: None,
            cols: DEFAULT_COLS,
            rows: DEFAULT_ROWS,
            ring_bytes: DEFAULT_RING_BYTES,
            command: "claude".into(),
            claude_integration: Integration::Auto,
            mode: SessionMode::Interactive,
            session_id: None,
            resume: None,
            model: None,
            permission_mode: None,
            prompt: None,
            config_dir: None,
            token_file: None,
            credential_kind: CredentialKind::OAuthToken,
            credential_stdin: false,
            token_stdin: false,
            api_proxy: None,
            grace_secs: DEFAULT_GRACE_SECS,
            linger_secs: DEFAULT_LINGER_SECS,
            args: Vec::new(),
        }
    }
}

/// Renders the command line: every option spelled out (what is left out is left to the
/// worker's environment and defaults only where the value is absent).
struct Argv(Vec<String>);

impl Argv {
    fn new(command: &str) -> Argv {
        Argv(vec![command.to_owned()])
    }

    fn opt(&mut self, name: &str, value: impl ToString) -> &mut Argv {
        self.0.push(format!("--{name}"));
        self.0.push(value.to_string());
        self
    }

    fn path(&mut self, name: &str, value: Option<&PathBuf>) -> &mut Argv {
        if let Some(value) = value {
            self.opt(name, value.to_string_lossy());
        }
        self
    }

    fn maybe(&mut self, name: &str, value: Option<impl ToString>) -> &mut Argv {
        if let Some(value) = value {
            self.opt(name, value);
        }
        self
    }

    fn value<E: ValueEnum>(&mut self, name: &str, value: &E) -> &mut Argv {
        self.opt(name, value_name(value))
    }

    fn flag(&mut self, name: &str, on: bool) -> &mut Argv {
        if on {
            self.0.push(format!("--{name}"));
        }
        self
    }
}

/// The name clap parses `value` from (every variant of the enums used here has one).
fn value_name<E: ValueEnum>(value: &E) -> String {
    value.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
}

impl RunArgs {
    /// `run` and its options, as [`WorkerCommand::to_argv`] renders them.
    pub fn to_argv(&self) -> Vec<String> {
        let mut argv = Argv::new("run");
        argv.opt("listen", self.listen)
            .path("cwd", self.cwd.as_ref())
            .opt("cols", self.cols)
            .opt("rows", self.rows)
            .opt("ring-bytes", self.ring_bytes)
            .opt("command", &self.command)
            .value("claude-integration", &self.claude_integration)
            .value("mode", &self.mode)
            .maybe("session-id", self.session_id)
            .maybe("resume", self.resume)
            .maybe("model", self.model.as_ref())
            .maybe("permission-mode", self.permission_mode.as_ref().map(value_name))
            .maybe("prompt", self.prompt.as_ref())
            .path("config-dir", self.config_dir.as_ref())
            .path("token-file", self.token_file.as_ref())
            .value("credential-kind", &self.credential_kind)
            .flag("credential-stdin", self.credential_stdin)
            .flag("token-stdin", self.token_stdin)
            .maybe("api-proxy", self.api_proxy.as_ref())
            .opt("grace-secs", self.grace_secs)
            .opt("linger-secs", self.linger_secs);
        let mut argv = argv.0;
        if !self.args.is_empty() {
            argv.push("--".into());
            argv.extend(self.args.iter().cloned());
        }
        argv
    }
}

/// `post-hook`: what the CLI runs for each hook event.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct PostHookArgs {
    /// The worker's hook socket.
    #[arg(long)]
    pub socket: PathBuf,
    /// The hook event (`Stop`, `PermissionRequest`, …).
    #[arg(long)]
    pub event: String,
}

impl PostHookArgs {
    /// `post-hook` and its options.
    pub fn to_argv(&self) -> Vec<String> {
        let mut argv = Argv::new("post-hook");
        argv.path("socket", Some(&self.socket)).opt("event", &self.event);
        argv.0
    }
}

/// `proxy`: the Pod's API proxy container.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ProxyArgs {
    /// Where to listen (loopback only).
    #[arg(long, default_value_t = DEFAULT_PROXY_LISTEN)]
    pub listen: SocketAddrV4,
    /// Where to forward (default: ANTHROPIC_BASE_URL, else https://api.anthropic.com).
    #[arg(long)]
    pub upstream: Option<String>,
    /// The file holding the account's credential.
    #[arg(long, required_unless_present = "token_env", conflicts_with = "token_env")]
    pub token_file: Option<PathBuf>,
    /// The environment variable holding it (a Secret's key in a Pod); removed from the
    /// environment once read.
    #[arg(long)]
    pub token_env: Option<String>,
    /// What the file or variable holds.
    #[arg(long, value_enum, default_value_t = CredentialKind::OAuthToken)]
    pub credential_kind: CredentialKind,
}

impl ProxyArgs {
    /// `proxy` and its options.
    pub fn to_argv(&self) -> Vec<String> {
        let mut argv = Argv::new("proxy");
        argv.opt("listen", self.listen)
            .maybe("upstream", self.upstream.as_ref())
            .path("token-file", self.token_file.as_ref())
            .maybe("token-env", self.token_env.as_ref())
            .value("credential-kind", &self.credential_kind);
        argv.0
    }
}

/// `classify`: a recorded screen through the classifier.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ClassifyArgs {
    /// Terminal width the bytes were produced for.
    #[arg(long, default_value_t = DEFAULT_COLS)]
    pub cols: u16,
    /// Terminal height.
    #[arg(long, default_value_t = DEFAULT_ROWS)]
    pub rows: u16,
    /// The raw bytes (`-` for standard input).
    pub file: PathBuf,
}

impl ClassifyArgs {
    /// `classify` and its options.
    pub fn to_argv(&self) -> Vec<String> {
        let mut argv = Argv::new("classify");
        argv.opt("cols", self.cols).opt("rows", self.rows);
        let mut argv = argv.0;
        argv.push(self.file.to_string_lossy().into_owned());
        argv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[String]) -> WorkerCommand {
        WorkerCommand::parse_argv(argv).unwrap_or_else(|err| panic!("{argv:?} does not parse: {err}"))
    }

    fn round_trip(command: WorkerCommand) {
        let argv = command.to_argv();
        assert_eq!(parse(&argv), command, "{argv:?}");
    }

    #[test]
    fn every_rendered_command_line_parses_back_to_its_value() {
        round_trip(WorkerCommand::Run(Box::default()));
        round_trip(WorkerCommand::Run(Box::new(RunArgs {
            listen: "0.0.0.0:7681".parse().expect("address"),
            cwd: Some("/work/it's here".into()),
            cols: 61,
            rows: 23,
            ring_bytes: 4 << 20,
            command: "/usr/bin/claude".into(),
            claude_integration: Integration::On,
            mode: SessionMode::Oneshot,
            session_id: None,
            resume: Some(uuid::Uuid::from_u128(7)),
            model: Some("-custom".into()),
            permission_mode: Some(PermissionMode::AcceptEdits),
            prompt: Some("--help me with this".into()),
            config_dir: Some("/home/claude".into()),
            token_file: None,
            credential_kind: CredentialKind::ApiKey,
            credential_stdin: true,
            token_stdin: false,
            api_proxy: Some("http://127.0.0.1:8788".into()),
            grace_secs: 3,
            linger_secs: 5,
            args: vec!["--verbose".into(), "x y".into()],
        })));
        round_trip(WorkerCommand::Run(Box::new(RunArgs {
            session_id: Some(uuid::Uuid::from_u128(9)),
            token_file: Some("/run/token".into()),
            token_stdin: false,
            ..RunArgs::default()
        })));
        round_trip(WorkerCommand::Proxy(ProxyArgs {
            listen: DEFAULT_PROXY_LISTEN,
            upstream: Some("https://api.example".into()),
            token_file: None,
            token_env: Some("COCKPIT_PROXY_TOKEN".into()),
            credential_kind: CredentialKind::OAuthToken,
        }));
        round_trip(WorkerCommand::PostHook(PostHookArgs { socket: "/tmp/w/hooks.sock".into(), event: "Stop".into() }));
        round_trip(WorkerCommand::Classify(ClassifyArgs { cols: 80, rows: 24, file: "-".into() }));
    }

    #[test]
    fn every_permission_mode_is_spelled_as_the_cli_spells_it() {
        for mode in PermissionMode::value_variants() {
            assert_eq!(value_name(mode), mode.as_cli_arg());
        }
        assert_eq!(value_name(&CredentialKind::OAuthToken), "oauth-token");
        assert_eq!(value_name(&CredentialKind::ApiKey), "api-key");
        assert_eq!(value_name(&SessionMode::Oneshot), "oneshot");
    }

    #[test]
    fn run_without_options_is_the_default() {
        // The test environment sets none of `run`'s variables.
        assert_eq!(parse(&["run".to_owned()]), WorkerCommand::Run(Box::default()));
    }

    #[test]
    fn a_prompt_or_model_that_starts_with_a_dash_is_a_value_not_a_flag() {
        let argv = |args: &[&str]| -> Vec<String> { ["run"].iter().chain(args).map(|s| (*s).to_owned()).collect() };
        let WorkerCommand::Run(args) = parse(&argv(&["--prompt", "- fix the README", "--model", "-custom"])) else {
            panic!("not run");
        };
        assert_eq!(args.prompt.as_deref(), Some("- fix the README"));
        assert_eq!(args.model.as_deref(), Some("-custom"));
        let bad = WorkerCommand::parse_argv(["run", "--permission-mode", "yolo"]);
        assert!(bad.is_err(), "an unknown permission mode is refused");
        let WorkerCommand::Run(args) = parse(&argv(&["--permission-mode", "auto"])) else { panic!("not run") };
        assert_eq!(args.permission_mode, Some(PermissionMode::Auto));
    }
}
