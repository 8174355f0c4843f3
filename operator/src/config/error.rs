//! What can go wrong loading the config or reading a token: located problems in the file
//! ([`InvalidConfig`]) and the errors around them ([`ConfigError`]).

use std::fmt;
use std::path::PathBuf;

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
