//! Parsing and validation: the raw file into a [`Config`], every problem located.

use std::path::{Path, PathBuf};

use super::error::{ConfigError, InvalidConfig, ProblemKind};
use super::locate::{Seg, key, locate_best, path_string, segs_from};
use super::messages::{clean_yaml_message, duplicate_key, redact_tokens, with_suggestion};
use super::raw::RawConfig;
use super::{Account, Config, MAX_NAME_LEN, MAX_RING_BYTES, MIN_RING_BYTES, Repo, TokenSource};

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

/// Builds located errors for one text.
pub(super) struct Errors<'a> {
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

pub(super) fn parse(text: &str, file: &str, base: Option<&Path>, check_paths: bool) -> Result<Config, ConfigError> {
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

pub(super) fn validate(
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
pub(super) fn resolve_path(path: &Path, base: Option<&Path>) -> PathBuf {
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

pub(super) fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks `scheme://host[:port]` (http or https, nothing after) and returns it as browsers
/// send it in `Origin` (the URL standard's serialization: lowercase, no default port).
pub(super) fn normalize_origin(origin: &str) -> Result<String, String> {
    let text = origin.trim();
    let lower = text.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(format!("origin `{origin}` must start with `https://` or `http://`"));
    }
    let url = url::Url::parse(text).map_err(|e| format!("origin `{origin}` is not a valid URL: {e}"))?;
    if url.host().is_none() {
        return Err(format!("origin `{origin}` has no valid host name"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("origin `{origin}` must be only `scheme://host[:port]`, without a path or user"));
    }
    if url.path() != "/" {
        return Err(format!("origin `{origin}` must be only `scheme://host[:port]`, without a path or user"));
    }
    if text.ends_with('/') {
        return Err(format!("origin `{origin}` must not end with `/`: an origin has no path"));
    }
    Ok(url.origin().ascii_serialization())
}
