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

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

pub use cockpit_crds::CredentialKind;

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
    pub default_permission_mode: cockpit_crds::PermissionMode,
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
            default_permission_mode: cockpit_crds::PermissionMode::Default,
        }
    }
}

/// A credential read by [`Account::resolve_token`]. Its `Debug` and `Display` never show the
/// value; only [`Secret::expose`] does.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The credential value: pass it on (to a worker's environment), never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What is wrong in an [`InvalidConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The text is not valid YAML (or repeats a key in one mapping).
    Syntax,
    /// A key the config does not know.
    UnknownKey,
    /// A required key is absent.
    MissingKey,
    /// A value of the wrong type or an unknown enum value.
    WrongType,
    /// A repo or account name used twice.
    DuplicateName,
    /// A name that breaks the naming rule.
    BadName,
    /// An account with both or neither of `tokenEnv` and `tokenFile`.
    TokenSource,
    /// A repo path that does not exist or is not a directory.
    PathMissing,
    /// A value out of range or malformed.
    BadValue,
}

/// A problem in a config file, located by file, line, column and key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidConfig {
    /// The file (or source name given to [`Config::from_yaml`]).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The key path, e.g. `accounts[1].tokenEnv`; empty for the top level.
    pub key: String,
    /// What is wrong.
    pub kind: ProblemKind,
    /// The human explanation (never contains a token).
    pub message: String,
}

impl fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(column) = self.column {
            write!(f, ":{column}")?;
        }
        let key = if self.key.is_empty() { "(top level)" } else { self.key.as_str() };
        if self.kind == ProblemKind::Syntax {
            write!(f, ": near `{key}`: YAML syntax error: {}", self.message)
        } else {
            write!(f, ": `{key}`: {}", self.message)
        }
    }
}

/// Everything that can go wrong loading the config or resolving an account's token. No
/// variant ever contains a token value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The config file is invalid; see [`InvalidConfig`].
    #[error("{0}")]
    Invalid(Box<InvalidConfig>),
    /// An account's `tokenEnv` variable is not set.
    #[error("account `{account}`: environment variable {var} is not set")]
    TokenEnvUnset {
        /// The account.
        account: String,
        /// The variable.
        var: String,
    },
    /// An account's `tokenFile` could not be read.
    #[error("account `{account}`: cannot read token file {}: {source}", file.display())]
    TokenFileUnreadable {
        /// The account.
        account: String,
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An account's token is empty (only whitespace).
    #[error("account `{account}`: the {origin} is empty")]
    TokenEmpty {
        /// The account.
        account: String,
        /// Where the token was read from (`environment variable X` or `token file Y`).
        origin: String,
    },
    /// An account's token contains whitespace inside (e.g. a file with several lines).
    #[error("account `{account}`: the {origin} holds more than one word or line; it must hold only the token")]
    TokenMalformed {
        /// The account.
        account: String,
        /// Where the token was read from.
        origin: String,
    },
}

impl ConfigError {
    /// The located problem, when this is a problem in the config file.
    pub fn invalid(&self) -> Option<&InvalidConfig> {
        match self {
            ConfigError::Invalid(invalid) => Some(invalid),
            _ => None,
        }
    }
}

/// Checks a repo or session name: 1 to 63 characters of `[a-z0-9-]`, not starting with `-`.
/// The error says what is wrong (without repeating the name).
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("is {} characters long; at most {MAX_NAME_LEN} are allowed", name.len()));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(format!("contains {bad:?}; only lowercase letters, digits and `-` are allowed"));
    }
    if name.starts_with('-') {
        return Err("must start with a letter or a digit".to_owned());
    }
    Ok(())
}

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

// ---------------------------------------------------------------------------------------------
// The file as written: every key optional so that errors can be precise.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    repos: Option<Vec<RawRepo>>,
    accounts: Option<Vec<RawAccount>>,
    limits: Option<RawLimits>,
    worker: Option<RawWorker>,
    allowed_origins: Option<Vec<String>>,
    default_permission_mode: Option<cockpit_crds::PermissionMode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRepo {
    name: String,
    path: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawAccount {
    name: String,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    priority: Option<i32>,
    kind: Option<CredentialKind>,
    max_sessions: Option<u32>,
    rotate_at: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawLimits {
    max_concurrent_sessions: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawWorker {
    command: Option<String>,
    bin: Option<PathBuf>,
    ring_bytes: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Key paths.

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn key(name: &str) -> Seg {
    Seg::Key(name.to_owned())
}

fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => {
                out.push_str(&format!("[{i}]"));
            }
        }
    }
    out
}

fn segs_from(path: &serde_path_to_error::Path) -> Vec<Seg> {
    let mut out = Vec::new();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Map { key } => out.push(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => out.push(Seg::Index(*index)),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => break,
        }
    }
    out
}

/// Marker put in the error that the locator raises on reaching its target.
const FOUND: &str = "\u{1}cockpit-config-locate\u{1}";

/// The 1-based line and column of `path` in `text`: of the key for a path ending in a key
/// (its `nth` occurrence, 1-based, for duplicated keys), of the value for a path ending in an
/// index. Walks serde_yaml's own event stream, so every YAML style is understood.
fn locate(text: &str, path: &[Seg], nth: usize) -> Option<(usize, usize)> {
    let result = Locate { path, nth }.deserialize(serde_yaml::Deserializer::from_str(text));
    match result {
        Err(err) if err.to_string().contains(FOUND) => err.location().map(|loc| (loc.line(), loc.column())),
        _ => None,
    }
}

/// [`locate`] for `path`, else for its longest prefix that can be found; else line 1.
fn locate_best(text: &str, path: &[Seg], nth: usize) -> (usize, Option<usize>) {
    for len in (0..=path.len()).rev() {
        let nth = if len == path.len() { nth } else { 1 };
        if let Some((line, column)) = locate(text, &path[..len], nth) {
            return (line, Some(column));
        }
    }
    (1, None)
}

struct Locate<'a> {
    path: &'a [Seg],
    nth: usize,
}

impl<'de> DeserializeSeed<'de> for Locate<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.path.first() {
            None => deserializer.deserialize_any(Here),
            Some(Seg::Key(_)) => deserializer.deserialize_map(self),
            Some(Seg::Index(_)) => deserializer.deserialize_seq(self),
        }
    }
}

impl<'de> Visitor<'de> for Locate<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or a sequence")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Seg::Key(want), rest)) = self.path.split_first() else {
            return Err(de::Error::custom("not found"));
        };
        let mut seen = 0;
        loop {
            let fail_on_match = rest.is_empty() && seen + 1 == self.nth;
            let Some(matched) = map.next_key_seed(KeySeed { want, fail_on_match })? else {
                return Err(de::Error::custom("not found"));
            };
            if matched {
                seen += 1;
                if !rest.is_empty() {
                    return map.next_value_seed(Locate { path: rest, nth: self.nth });
                }
            }
            map.next_value::<IgnoredAny>()?;
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Seg::Index(want), rest)) = self.path.split_first() else {
            return Err(de::Error::custom("not found"));
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(de::Error::custom("not found"));
            }
        }
        match seq.next_element_seed(Locate { path: rest, nth: self.nth })? {
            Some(()) | None => Err(de::Error::custom("not found")),
        }
    }
}

/// Fails on whatever value it is given, with [`FOUND`] in the message (serde_yaml adds the
/// value's position).
struct Here;

impl<'de> Visitor<'de> for Here {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(FOUND)
    }
}

/// Deserializes a mapping key: `Ok(true)` when it is `want`, or fails with [`FOUND`] (at the
/// key's position) when it is and `fail_on_match`.
struct KeySeed<'a> {
    want: &'a str,
    fail_on_match: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        if v != self.want {
            Ok(false)
        } else if self.fail_on_match {
            Err(E::custom(FOUND))
        } else {
            Ok(true)
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation.

/// Builds located errors for one text.
struct Errors<'a> {
    text: &'a str,
    file: &'a str,
}

impl Errors<'_> {
    fn at(&self, path: &[Seg], kind: ProblemKind, message: impl Into<String>) -> ConfigError {
        self.at_nth(path, 1, kind, message)
    }

    fn at_nth(&self, path: &[Seg], nth: usize, kind: ProblemKind, message: impl Into<String>) -> ConfigError {
        let (line, column) = locate_best(self.text, path, nth);
        self.make(line, column, path, kind, message.into())
    }

    fn make(
        &self,
        line: usize,
        column: Option<usize>,
        path: &[Seg],
        kind: ProblemKind,
        message: String,
    ) -> ConfigError {
        ConfigError::Invalid(Box::new(InvalidConfig {
            file: self.file.to_owned(),
            line,
            column,
            key: path_string(path),
            kind,
            message: redact_tokens(&message),
        }))
    }

    /// The line of `path` (for "first defined at line N").
    fn line_of(&self, path: &[Seg]) -> usize {
        locate_best(self.text, path, 1).0
    }
}

fn parse(text: &str, file: &str, base: Option<&Path>, check_paths: bool) -> Result<Config, ConfigError> {
    let errors = Errors { text, file };

    // 1. YAML → Value: syntax errors, duplicate keys.
    let value: serde_yaml::Value =
        serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text)).map_err(|err| {
            let path = segs_from(err.path());
            let inner = err.into_inner();
            let message = clean_yaml_message(&inner, &path);
            if let Some(dup) = duplicate_key(&message) {
                let mut key_path = path.clone();
                key_path.push(Seg::Key(dup));
                return errors.at_nth(&key_path, 2, ProblemKind::Syntax, message);
            }
            match inner.location() {
                Some(loc) => errors.make(loc.line(), Some(loc.column()), &path, ProblemKind::Syntax, message),
                None => errors.at(&path, ProblemKind::Syntax, message),
            }
        })?;

    // 2. Value → the file's structure: unknown keys, wrong types, missing keys.
    let raw: RawConfig = if value.is_null() {
        RawConfig::default()
    } else {
        serde_path_to_error::deserialize(value).map_err(|err| {
            let path = segs_from(err.path());
            let message = err.into_inner().to_string();
            let kind = if message.starts_with("unknown field") {
                ProblemKind::UnknownKey
            } else if message.starts_with("missing field") {
                ProblemKind::MissingKey
            } else {
                ProblemKind::WrongType
            };
            let message = match (kind, path.last()) {
                (ProblemKind::UnknownKey, Some(Seg::Key(unknown))) => with_suggestion(&message, unknown),
                (ProblemKind::WrongType, _) => match message.find("expected struct ") {
                    Some(at) => format!("{}expected a mapping", &message[..at]),
                    None => message,
                },
                _ => message,
            };
            errors.at(&path, kind, message)
        })?
    };

    // 3. Meaning: names, duplicates, tokens, paths, ranges.
    validate(raw, &errors, base, check_paths)
}

fn validate(
    raw: RawConfig,
    errors: &Errors<'_>,
    base: Option<&Path>,
    check_paths: bool,
) -> Result<Config, ConfigError> {
    let mut config = Config::default();

    for (i, repo) in raw.repos.unwrap_or_default().into_iter().enumerate() {
        let at = |k: &str| vec![key("repos"), Seg::Index(i), key(k)];
        if let Err(why) = validate_name(&repo.name) {
            return Err(errors.at(&at("name"), ProblemKind::BadName, format!("repo name {why}")));
        }
        if let Some(first) = config.repos.iter().position(|r: &Repo| r.name == repo.name) {
            let first_line = errors.line_of(&[key("repos"), Seg::Index(first), key("name")]);
            return Err(errors.at(
                &at("name"),
                ProblemKind::DuplicateName,
                format!("repo name `{}` is used twice (first at line {first_line}, repos[{first}])", repo.name),
            ));
        }
        if repo.path.as_os_str().is_empty() {
            return Err(errors.at(&at("path"), ProblemKind::BadValue, "repo path must not be empty"));
        }
        let path = resolve_path(&repo.path, base);
        if check_paths {
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(errors.at(
                        &at("path"),
                        ProblemKind::PathMissing,
                        format!("repo `{}`: {} is not a directory", repo.name, path.display()),
                    ));
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    return Err(errors.at(
                        &at("path"),
                        ProblemKind::PathMissing,
                        format!("repo `{}`: directory {} does not exist", repo.name, path.display()),
                    ));
                }
                Err(err) => {
                    return Err(errors.at(
                        &at("path"),
                        ProblemKind::PathMissing,
                        format!("repo `{}`: cannot use directory {}: {err}", repo.name, path.display()),
                    ));
                }
            }
        }
        config.repos.push(Repo { name: repo.name, path });
    }

    for (i, account) in raw.accounts.unwrap_or_default().into_iter().enumerate() {
        let item = vec![key("accounts"), Seg::Index(i)];
        let at = |k: &str| vec![key("accounts"), Seg::Index(i), key(k)];
        if account.name.trim().is_empty() {
            return Err(errors.at(&at("name"), ProblemKind::BadName, "account name must not be empty"));
        }
        if account.name.trim() != account.name || account.name.chars().any(char::is_control) {
            return Err(errors.at(
                &at("name"),
                ProblemKind::BadName,
                "account name must not start or end with spaces or contain control characters",
            ));
        }
        if let Some(first) = config.accounts.iter().position(|a: &Account| a.name == account.name) {
            let first_line = errors.line_of(&[key("accounts"), Seg::Index(first), key("name")]);
            return Err(errors.at(
                &at("name"),
                ProblemKind::DuplicateName,
                format!(
                    "account name `{}` is used twice (first at line {first_line}, accounts[{first}])",
                    account.name
                ),
            ));
        }
        let token = match (account.token_env, account.token_file) {
            (Some(_), Some(_)) => {
                // Point at whichever of the two comes second in the file.
                let env_line = errors.line_of(&at("tokenEnv"));
                let file_line = errors.line_of(&at("tokenFile"));
                let second = if env_line > file_line { "tokenEnv" } else { "tokenFile" };
                return Err(errors.at(
                    &at(second),
                    ProblemKind::TokenSource,
                    format!("account `{}` sets both `tokenEnv` and `tokenFile`; set exactly one of them", account.name),
                ));
            }
            (None, None) => {
                return Err(errors.at(
                    &item,
                    ProblemKind::TokenSource,
                    format!(
                        "account `{}` needs exactly one of `tokenEnv` (an environment variable holding the \
                         token) or `tokenFile` (a file holding it)",
                        account.name
                    ),
                ));
            }
            (Some(var), None) => {
                if !is_env_var_name(&var) {
                    // Never repeat the value: it may be a pasted token.
                    return Err(errors.at(
                        &at("tokenEnv"),
                        ProblemKind::BadValue,
                        format!(
                            "account `{}`: `tokenEnv` must be the NAME of an environment variable (letters, \
                             digits and `_`, not starting with a digit), not the token itself",
                            account.name
                        ),
                    ));
                }
                TokenSource::Env(var)
            }
            (None, Some(file)) => {
                if file.as_os_str().is_empty() {
                    return Err(errors.at(
                        &at("tokenFile"),
                        ProblemKind::BadValue,
                        format!("account `{}`: `tokenFile` must not be empty", account.name),
                    ));
                }
                TokenSource::File(resolve_path(&file, base))
            }
        };
        if account.max_sessions == Some(0) {
            return Err(errors.at(
                &at("maxSessions"),
                ProblemKind::BadValue,
                format!("account `{}`: `maxSessions` must be at least 1 (leave it out for no limit)", account.name),
            ));
        }
        let rotate_at = match account.rotate_at {
            None => None,
            Some(p @ 1..=100) => u8::try_from(p).ok(),
            Some(_) => {
                return Err(errors.at(
                    &at("rotateAt"),
                    ProblemKind::BadValue,
                    format!(
                        "account `{}`: `rotateAt` is a percentage from 1 to 100 (leave it out to move only on a limit)",
                        account.name
                    ),
                ));
            }
        };
        config.accounts.push(Account {
            name: account.name,
            token,
            priority: account.priority.unwrap_or(0),
            kind: account.kind.unwrap_or_default(),
            max_sessions: account.max_sessions,
            rotate_at,
        });
    }

    let limits = raw.limits.unwrap_or_default();
    if let Some(max) = limits.max_concurrent_sessions {
        if max == 0 {
            return Err(errors.at(
                &[key("limits"), key("maxConcurrentSessions")],
                ProblemKind::BadValue,
                "`maxConcurrentSessions` must be at least 1",
            ));
        }
        config.limits.max_concurrent_sessions = max;
    }

    let worker = raw.worker.unwrap_or_default();
    if let Some(command) = worker.command {
        if command.trim().is_empty() {
            return Err(errors.at(
                &[key("worker"), key("command")],
                ProblemKind::BadValue,
                "`worker.command` must not be empty",
            ));
        }
        config.worker.command = command;
    }
    if let Some(bin) = worker.bin {
        if bin.as_os_str().is_empty() {
            return Err(errors.at(
                &[key("worker"), key("bin")],
                ProblemKind::BadValue,
                "`worker.bin` must not be empty",
            ));
        }
        // A bare name is looked up on PATH; anything with a directory part is a path.
        let bin = if bin.components().count() > 1 || bin.starts_with("~") { resolve_path(&bin, base) } else { bin };
        config.worker.bin = Some(bin);
    }
    if let Some(bytes) = worker.ring_bytes {
        let ok = usize::try_from(bytes).ok().filter(|b| (MIN_RING_BYTES..=MAX_RING_BYTES).contains(b));
        match ok {
            Some(bytes) => config.worker.ring_bytes = bytes,
            None => {
                return Err(errors.at(
                    &[key("worker"), key("ringBytes")],
                    ProblemKind::BadValue,
                    format!("`ringBytes` must be between {MIN_RING_BYTES} (64 KiB) and {MAX_RING_BYTES} (1 GiB)"),
                ));
            }
        }
    }

    for (i, origin) in raw.allowed_origins.unwrap_or_default().into_iter().enumerate() {
        match normalize_origin(&origin) {
            Ok(origin) => config.allowed_origins.push(origin),
            Err(why) => {
                return Err(errors.at(&[key("allowedOrigins"), Seg::Index(i)], ProblemKind::BadValue, why));
            }
        }
    }

    if let Some(mode) = raw.default_permission_mode {
        config.default_permission_mode = mode;
    }

    Ok(config)
}

/// `~/x` → `$HOME/x`; a relative path joined to `base` when given.
fn resolve_path(path: &Path, base: Option<&Path>) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    }
}

fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks `scheme://host[:port]` (http or https, nothing after) and lowercases it.
fn normalize_origin(origin: &str) -> Result<String, String> {
    let lower = origin.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| format!("origin `{origin}` must start with `https://` or `http://`"))?;
    if rest.ends_with('/') && !rest[..rest.len() - 1].contains('/') {
        return Err(format!("origin `{origin}` must not end with `/`: an origin has no path"));
    }
    if rest.contains(['/', '?', '#', '@']) {
        return Err(format!("origin `{origin}` must be only `scheme://host[:port]`, without a path or user"));
    }
    let (host_ok, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (inner, tail) = bracketed.split_once(']').unwrap_or((bracketed, "\0"));
        let ok = !inner.is_empty() && inner.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        match tail.strip_prefix(':') {
            Some(port) => (ok, Some(port)),
            None => (ok && tail.is_empty(), None),
        }
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        (!host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'), port)
    };
    if !host_ok {
        return Err(format!("origin `{origin}` has no valid host name"));
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!("origin `{origin}` has an invalid port"));
    }
    Ok(lower)
}

/// serde_yaml's message without the path prefix and the position it repeats.
fn clean_yaml_message(err: &serde_yaml::Error, path: &[Seg]) -> String {
    let mut message = err.to_string();
    let prefix = format!("{}: ", path_string(path));
    if !path.is_empty() && message.starts_with(&prefix) {
        message.drain(..prefix.len());
    }
    if let Some(loc) = err.location() {
        let position = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(at) = message.find(&position) {
            message.replace_range(at..at + position.len(), "");
        }
    }
    message
}

/// The key of serde_yaml's "duplicate entry with key "x"" message.
fn duplicate_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("duplicate entry with key \"")?;
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}

/// Adds "did you mean `tokenEnv`?" to an unknown-field message when a known key differs only
/// in case, `_` or `-`.
fn with_suggestion(message: &str, unknown: &str) -> String {
    let squash = |s: &str| s.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase();
    let Some((_, expected)) = message.split_once("expected") else {
        return message.to_owned();
    };
    let suggestion =
        expected.split('`').skip(1).step_by(2).find(|known| *known != unknown && squash(known) == squash(unknown));
    match suggestion {
        Some(known) => format!("{message}; did you mean `{known}`?"),
        None => message.to_owned(),
    }
}

/// Replaces anything that looks like an Anthropic credential (`sk-ant-…`) in an error message.
fn redact_tokens(message: &str) -> String {
    const PREFIX: &str = "sk-ant-";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(PREFIX) {
        out.push_str(&rest[..at]);
        out.push_str("<redacted token>");
        let after = &rest[at + PREFIX.len()..];
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}
