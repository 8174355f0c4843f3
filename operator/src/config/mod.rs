//! The control plane's YAML config file (see [`Config`]).
//!
//! ```yaml
//! repos:
//!   - name: web                # [a-z0-9-], unique
//!     path: /srv/web           # an existing directory; may be a git repo
//! accounts:
//!   - name: personal           # unique
//!     tokenFile: /etc/cockpit/personal.token  # or tokenEnv: VAR; a file (0600) is recommended
//!     priority: 10             # default 0; higher is chosen first
//!     kind: OAuthToken         # or ApiKey; default OAuthToken
//!     maxSessions: 3           # optional
//!     rotateAt: 90             # optional: move on at a turn's end from 90 % of a window
//! limits:
//!   maxConcurrentSessions: 8   # default 8; more wait (Pending) for a CLI to exit
//! worker:
//!   command: claude            # default "claude"
//!   bin: cockpit-worker        # default: next to the cockpit binary, else PATH
//!   ringBytes: 8388608         # default 8 MiB
//! allowedOrigins: ["https://nuc.tailnet.ts.net"]
//! ```
//!
//! Every problem is reported as a [`ConfigError`] naming the file, the line and column and
//! the key path (`accounts[1].tokenEnv`). Unknown keys are errors. Tokens are never read at
//! load time: [`Account::resolve_token`] reads them when a session needs them, into a
//! [`Secret`] that never shows its value in `Debug` or `Display`.

use std::fmt;
use std::path::{Path, PathBuf};

pub use cockpit_api::CredentialKind;

/// Default of `limits.maxConcurrentSessions`.
pub const DEFAULT_MAX_CONCURRENT_SESSIONS: u32 = 8;
/// Default of `worker.command`: the Claude Code CLI.
pub const DEFAULT_WORKER_COMMAND: &str = "claude";
/// Default of `worker.ringBytes`: output bytes a worker keeps for reconnecting clients.
pub const DEFAULT_RING_BYTES: usize = 8 << 20;
/// Smallest accepted `worker.ringBytes` (the worker never keeps less anyway).
pub const MIN_RING_BYTES: usize = 64 << 10;
/// Largest accepted `worker.ringBytes`.
pub const MAX_RING_BYTES: usize = 1 << 30;
/// File name of the worker executable looked up next to the `cockpit` binary, then on `PATH`.
pub const WORKER_BIN_NAME: &str = "cockpit-worker";
/// Longest accepted repo or session name (a DNS label).
pub const MAX_NAME_LEN: usize = 63;

/// The validated config of `cockpit serve`.
///
/// [`Config::default`] has no repos and no accounts: the product still starts and
/// [`Config::hints`] says what to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The repositories sessions can work in, in file order.
    pub repos: Vec<Repo>,
    /// The Claude accounts sessions run under, in file order (see
    /// [`Config::accounts_by_priority`]).
    pub accounts: Vec<Account>,
    /// Global limits.
    pub limits: Limits,
    /// How worker processes are started.
    pub worker: WorkerConfig,
    /// Extra origins (`scheme://host[:port]`, lowercase) allowed for WebSocket and
    /// state-changing requests, besides the server's own.
    pub allowed_origins: Vec<String>,
    /// The permission mode of sessions created without one (`defaultPermissionMode`;
    /// `default`, which asks, unless set). Workers always pass a mode to the CLI.
    pub default_permission_mode: cockpit_api::PermissionMode,
}

/// A repository sessions can work in (`repos[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    /// Its name (`[a-z0-9-]`, unique): what `ClaudeSession.spec.repo` refers to.
    pub name: String,
    /// Its directory (`~/` expanded; relative paths resolved against the config file's
    /// directory by [`Config::load`]).
    pub path: PathBuf,
}

/// A Claude account (`accounts[]`). Holds where the token is, never the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its name (unique).
    pub name: String,
    /// Where its token is read from by [`Account::resolve_token`].
    pub token: TokenSource,
    /// Higher priority accounts are chosen first. Default 0.
    pub priority: i32,
    /// What the token is: an OAuth token from `claude setup-token` (default) or an API key.
    pub kind: CredentialKind,
    /// At most this many sessions at once under this account; `None`: no limit.
    pub max_sessions: Option<u32>,
    /// Proactive rotation: at the end of a turn, sessions move to the next account once this
    /// account's 5-hour or weekly utilization reaches this percentage (1–100); `None`: off.
    pub rotate_at: Option<u8>,
}

/// Where an account's token is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// The named environment variable of the `cockpit` process (`tokenEnv`).
    Env(String),
    /// A file holding the token (`tokenFile`); surrounding whitespace is ignored.
    File(PathBuf),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Env(var) => write!(f, "environment variable {var}"),
            TokenSource::File(path) => write!(f, "token file {}", path.display()),
        }
    }
}

/// Global limits (`limits:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// At most this many sessions run a CLI at once (more wait, `Pending`, and start as soon as
    /// one's CLI exits). Default 8.
    pub max_concurrent_sessions: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_concurrent_sessions: DEFAULT_MAX_CONCURRENT_SESSIONS }
    }
}

/// How worker processes are started (`worker:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// The CLI each worker runs. Default `claude`.
    pub command: String,
    /// The worker executable; `None`: see [`WorkerConfig::resolve_bin`].
    pub bin: Option<PathBuf>,
    /// Output bytes each worker keeps for replay to reconnecting clients. Default 8 MiB.
    pub ring_bytes: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig { command: DEFAULT_WORKER_COMMAND.to_owned(), bin: None, ring_bytes: DEFAULT_RING_BYTES }
    }
}

impl WorkerConfig {
    /// The worker executable to run: `worker.bin` when set; else `cockpit-worker` next to the
    /// running executable when it exists there; else plain `cockpit-worker` (found on `PATH`).
    pub fn resolve_bin(&self) -> PathBuf {
        if let Some(bin) = &self.bin {
            return bin.clone();
        }
        if let Some(dir) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)) {
            let candidate = dir.join(WORKER_BIN_NAME);
            if candidate.is_file() {
                return candidate;
            }
        }
        PathBuf::from(WORKER_BIN_NAME)
    }
}

impl Default for Config {
    /// No repos, no accounts, default limits and worker settings.
    fn default() -> Self {
        Config {
            repos: Vec::new(),
            accounts: Vec::new(),
            limits: Limits::default(),
            worker: WorkerConfig::default(),
            allowed_origins: Vec::new(),
            default_permission_mode: cockpit_api::PermissionMode::Default,
        }
    }
}

mod error;
mod locate;
mod messages;
mod raw;
mod secret;
mod validate;

pub use error::{ConfigError, InvalidConfig, ProblemKind};
pub use secret::Secret;
use validate::parse;
pub use validate::validate_name;

impl Config {
    /// Reads and validates the config file at `path`. Relative paths in it (`repos[].path`,
    /// `tokenFile`, `worker.bin`) are resolved against the file's directory; `~/` is the home
    /// directory. Repo paths must exist.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { file: path.to_path_buf(), source })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        parse(&text, &path.display().to_string(), Some(&base), true)
    }

    /// Parses and validates config text; `source_name` names it in errors. Relative paths stay
    /// relative (to the process's working directory). Repo paths must exist.
    pub fn from_yaml(text: &str, source_name: &str) -> Result<Config, ConfigError> {
        parse(text, source_name, None, true)
    }

    /// Like [`Config::from_yaml`] but without touching the file system: repo paths need not
    /// exist (for checking a config meant for another machine).
    pub fn from_yaml_unchecked(text: &str, source_name: &str) -> Result<Config, ConfigError> {
        parse(text, source_name, None, false)
    }

    /// The repo called `name`.
    pub fn repo(&self, name: &str) -> Option<&Repo> {
        self.repos.iter().find(|repo| repo.name == name)
    }

    /// The account called `name`.
    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|account| account.name == name)
    }

    /// The accounts, highest priority first (file order among equal priorities).
    pub fn accounts_by_priority(&self) -> Vec<&Account> {
        let mut accounts: Vec<&Account> = self.accounts.iter().collect();
        accounts.sort_by_key(|account| std::cmp::Reverse(account.priority));
        accounts
    }

    /// Human hints for `/api/health` and the log about what is missing or broken now: no
    /// repos, no accounts, a repo directory gone, an account whose token cannot be read.
    /// Reads the process environment; see [`Config::hints_with`].
    pub fn hints(&self) -> Vec<String> {
        self.hints_with(|var| std::env::var(var).ok())
    }

    /// [`Config::hints`] with the environment given as a lookup function.
    pub fn hints_with(&self, env: impl Fn(&str) -> Option<String>) -> Vec<String> {
        self.hints_for(true, env)
    }

    /// The hints for a runtime whose accounts come from this file (`accounts_here`: the local
    /// runtime) or not (Kubernetes: they are `ClaudeAccount` objects, so none here is expected).
    pub fn hints_for(&self, accounts_here: bool, env: impl Fn(&str) -> Option<String>) -> Vec<String> {
        let mut hints = Vec::new();
        if self.repos.is_empty() {
            hints.push(
                "no repos configured: add `repos:` (a `name` and a `path` for each) to the config file \
                 (see operator/examples/cockpit.yaml)"
                    .to_owned(),
            );
        }
        for repo in &self.repos {
            if !repo.path.is_dir() {
                hints.push(format!("repo `{}`: directory {} does not exist", repo.name, repo.path.display()));
            }
        }
        if accounts_here && self.accounts.is_empty() {
            hints.push(
                "no accounts configured: sessions use whatever login the `claude` CLI has on this machine; \
                 add `accounts:` (with `tokenEnv` or `tokenFile`, from `claude setup-token`) to the config \
                 file to rotate accounts on usage limits"
                    .to_owned(),
            );
        }
        // In Kubernetes the tokens are the ClaudeAccounts' Secrets, which the control plane
        // never holds: nothing to check here.
        for account in self.accounts.iter().filter(|_| accounts_here) {
            if let Err(err) = account.resolve_token(&env) {
                hints.push(err.to_string());
            }
            if let TokenSource::File(file) = &account.token {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(meta) = std::fs::metadata(file)
                    && meta.permissions().mode() & 0o077 != 0
                {
                    hints.push(format!(
                        "account `{}`: token file {} is readable by others (mode {:o}); `chmod 600` it",
                        account.name,
                        file.display(),
                        meta.permissions().mode() & 0o777
                    ));
                }
            }
        }
        hints
    }
}

impl Account {
    /// Reads the account's token from its environment variable (looked up with `env`) or its
    /// file, trimmed. Errors name the account and the variable or file, never the value.
    pub fn resolve_token(&self, env: impl Fn(&str) -> Option<String>) -> Result<Secret, ConfigError> {
        let raw = match &self.token {
            TokenSource::Env(var) => {
                env(var).ok_or_else(|| ConfigError::TokenEnvUnset { account: self.name.clone(), var: var.clone() })?
            }
            TokenSource::File(file) => std::fs::read_to_string(file).map_err(|source| {
                ConfigError::TokenFileUnreadable { account: self.name.clone(), file: file.clone(), source }
            })?,
        };
        let token = raw.trim();
        if token.is_empty() {
            return Err(ConfigError::TokenEmpty { account: self.name.clone(), origin: self.token.to_string() });
        }
        if token.chars().any(char::is_whitespace) {
            return Err(ConfigError::TokenMalformed { account: self.name.clone(), origin: self.token.to_string() });
        }
        Ok(Secret::new(token))
    }
}
