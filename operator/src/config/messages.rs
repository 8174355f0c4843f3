//! The words of an error: the YAML parser's messages cleaned up, suggestions for unknown
//! keys, and tokens redacted.

use super::locate::{Seg, path_string};

/// serde_yaml's message without the path prefix and the position it repeats.
pub(super) fn clean_yaml_message(err: &serde_yaml::Error, path: &[Seg]) -> String {
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
pub(super) fn duplicate_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("duplicate entry with key \"")?;
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}

/// Adds "did you mean `tokenEnv`?" to an unknown-field message when a known key differs only
/// in case, `_` or `-`.
pub(super) fn with_suggestion(message: &str, unknown: &str) -> String {
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
pub(super) fn redact_tokens(message: &str) -> String {
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
