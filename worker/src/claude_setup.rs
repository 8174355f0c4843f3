//! Everything the worker prepares so the Claude Code CLI starts headless and reports to it
//! (`shared/claude-cli.md` §8.3): a seeded config dir (no onboarding, no trust dialog), a
//! `--settings` file with the hooks, a clean environment and the argument list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cockpit_api::{CredentialKind, PermissionMode};
use serde_json::{Value, json};

/// The CLI version whose onboarding flags we seed.
const ONBOARDED_VERSION: &str = "2.1.197";

/// Variables passed through from the worker's environment to the CLI when set. Credentials are
/// never among them: they are set explicitly from [`Credential`].
const PASS_THROUGH: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "USER",
    "LOGNAME",
    "SHELL",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "CLAUDE_CODE_MAX_RETRIES",
    "API_TIMEOUT_MS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
    // Which account the session runs on (a name, never a credential).
    "COCKPIT_ACCOUNT",
];

/// A credential for the CLI. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credential {
    /// OAuth token or API key.
    pub kind: CredentialKind,
    secret: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({:?}, <redacted>)", self.kind)
    }
}

impl Credential {
    /// Wraps a secret (trimmed of surrounding whitespace).
    pub fn new(kind: CredentialKind, secret: &str) -> Credential {
        Credential { kind, secret: secret.trim().to_owned() }
    }

    /// The secret itself, for the one place that must send it (the API proxy).
    pub(crate) fn expose(&self) -> &str {
        &self.secret
    }

    /// The last 20 characters of an API key, which the CLI records as approved.
    fn approval_suffix(&self) -> String {
        let chars: Vec<char> = self.secret.chars().collect();
        chars[chars.len().saturating_sub(20)..].iter().collect()
    }
}

/// Errors while preparing the CLI's files.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SetupError + 'a {
    move |source| SetupError::Io { action, path: path.to_owned(), source }
}

/// The `.claude.json` contents: `existing` (if any) with onboarding, theme and trust for `cwd`
/// marked done, and the API key approved. Everything else in `existing` is kept.
pub fn seeded_claude_json(existing: Option<Value>, cwd: &Path, credential: Option<&Credential>) -> Value {
    let mut doc = match existing {
        Some(Value::Object(map)) => Value::Object(map),
        _ => json!({}),
    };
    doc["hasCompletedOnboarding"] = json!(true);
    doc["lastOnboardingVersion"] = json!(ONBOARDED_VERSION);
    if doc.get("theme").is_none() {
        doc["theme"] = json!("dark");
    }
    if !doc.get("projects").is_some_and(Value::is_object) {
        doc["projects"] = json!({});
    }
    let key = cwd.to_string_lossy().into_owned();
    let project = &mut doc["projects"][&key];
    if !project.is_object() {
        *project = json!({});
    }
    project["hasTrustDialogAccepted"] = json!(true);
    project["hasCompletedProjectOnboarding"] = json!(true);
    if project.get("projectOnboardingSeenCount").is_none() {
        project["projectOnboardingSeenCount"] = json!(1);
    }
    if let Some(cred) = credential.filter(|c| c.kind == CredentialKind::ApiKey) {
        let suffix = cred.approval_suffix();
        let responses = &mut doc["customApiKeyResponses"];
        if !responses.is_object() {
            *responses = json!({"approved": [], "rejected": []});
        }
        if !responses["approved"].is_array() {
            responses["approved"] = json!([]);
        }
        if let Some(list) = responses["approved"].as_array_mut()
            && !list.iter().any(|v| v == &json!(suffix))
        {
            list.push(json!(suffix));
        }
    }
    doc
}

/// Seeds `config_dir/.claude.json`, keeping what is there.
pub fn prepare_config_dir(config_dir: &Path, cwd: &Path, credential: Option<&Credential>) -> Result<(), SetupError> {
    std::fs::create_dir_all(config_dir).map_err(io_err("creating", config_dir))?;
    let claude_json = config_dir.join(".claude.json");
    let existing = std::fs::read(&claude_json).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let doc = seeded_claude_json(existing, cwd, credential);
    write_private(&claude_json, doc.to_string().as_bytes())
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SetupError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err("writing", path))?;
    file.write_all(bytes).map_err(io_err("writing", path))
}

/// The CLI's environment: built from scratch. Only [`PASS_THROUGH`] variables come from the
/// worker's own environment (`inherited`); the credential is set under its own variable and
/// every other credential variable is absent.
pub fn child_env(
    inherited: impl IntoIterator<Item = (String, String)>,
    home: &Path,
    config_dir: Option<&Path>,
    credential: Option<&Credential>,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> =
        inherited.into_iter().filter(|(k, _)| PASS_THROUGH.contains(&k.as_str())).collect();
    env.entry("PATH".into()).or_insert_with(|| "/usr/local/bin:/usr/bin:/bin".into());
    env.entry("LANG".into()).or_insert_with(|| "C.UTF-8".into());
    env.insert("HOME".into(), home.to_string_lossy().into_owned());
    env.insert("TERM".into(), "xterm-256color".into());
    env.insert("COLORTERM".into(), "truecolor".into());
    env.insert("TZ".into(), "UTC".into());
    env.insert("DISABLE_AUTOUPDATER".into(), "1".into());
    env.insert("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(), "1".into());
    env.insert("CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL".into(), "1".into());
    env.insert("DISABLE_UPGRADE_COMMAND".into(), "1".into());
    if let Some(dir) = config_dir {
        env.insert("CLAUDE_CONFIG_DIR".into(), dir.to_string_lossy().into_owned());
    }
    if let Some(cred) = credential {
        env.insert(cred.kind.env_var().into(), cred.secret.clone());
    }
    env
}

/// What the CLI is asked to do at start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaudeArgs {
    /// `--settings FILE` (the hooks).
    pub settings: Option<PathBuf>,
    /// `--session-id UUID`: start a new conversation with this id.
    pub session_id: Option<String>,
    /// `--resume UUID`: continue this conversation.
    pub resume: Option<String>,
    /// `--model`.
    pub model: Option<String>,
    /// `--permission-mode`.
    pub permission_mode: Option<PermissionMode>,
    /// The first message (interactive) or the task (one-shot, `-p`).
    pub prompt: Option<String>,
    /// One-shot: `-p PROMPT --output-format stream-json --verbose`.
    pub oneshot: bool,
}

/// The argument list for the CLI.
pub fn claude_argv(args: &ClaudeArgs) -> Vec<String> {
    let mut argv = Vec::new();
    if let Some(settings) = &args.settings {
        argv.push("--settings".into());
        argv.push(settings.to_string_lossy().into_owned());
    }
    if let Some(id) = &args.resume {
        argv.push("--resume".into());
        argv.push(id.clone());
    } else if let Some(id) = &args.session_id {
        argv.push("--session-id".into());
        argv.push(id.clone());
    }
    if let Some(model) = &args.model {
        argv.push("--model".into());
        argv.push(model.clone());
    }
    // Always a mode of Cockpit's choosing: the CLI's own default changed (2.1.332 made it
    // `auto`, which never asks, so approvals on the phone would silently stop).
    argv.push("--permission-mode".into());
    argv.push(args.permission_mode.unwrap_or(PermissionMode::Default).as_cli_arg().into());
    if args.oneshot {
        argv.extend(["--output-format".into(), "stream-json".into(), "--verbose".into(), "-p".into()]);
        argv.push(args.prompt.clone().unwrap_or_default());
    } else if let Some(prompt) = &args.prompt {
        argv.push("--".into());
        argv.push(prompt.clone());
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_marks_onboarding_and_trust_and_keeps_history() {
        let existing = json!({"projects": {"/other": {"history": [1]}}, "theme": "light", "numStartups": 7});
        let doc = seeded_claude_json(Some(existing), Path::new("/srv/repo"), None);
        assert_eq!(doc["hasCompletedOnboarding"], true);
        assert_eq!(doc["theme"], "light", "a chosen theme is kept");
        assert_eq!(doc["numStartups"], 7);
        assert_eq!(doc["projects"]["/other"]["history"], json!([1]));
        assert_eq!(doc["projects"]["/srv/repo"]["hasTrustDialogAccepted"], true);
        assert!(doc.get("customApiKeyResponses").is_none());
    }

    #[test]
    fn api_keys_are_approved_by_their_last_20_characters_once() {
        let key = Credential::new(CredentialKind::ApiKey, "sk-ant-api03-0123456789abcdefghijKLMNOPQRST\n");
        let doc = seeded_claude_json(None, Path::new("/r"), Some(&key));
        let doc = seeded_claude_json(Some(doc), Path::new("/r"), Some(&key));
        assert_eq!(doc["customApiKeyResponses"]["approved"], json!(["abcdefghijKLMNOPQRST"]));
        assert_eq!(format!("{key:?}"), "Credential(ApiKey, <redacted>)");
    }

    #[test]
    fn environment_is_clean_and_carries_only_the_chosen_credential() {
        let inherited = [
            ("PATH", "/bin"),
            ("ANTHROPIC_API_KEY", "sk-ant-api-leak"),
            ("ANTHROPIC_AUTH_TOKEN", "leak"),
            ("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-parent"),
            ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9"),
            ("SECRET_THING", "x"),
            ("TZ", "Europe/Paris"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let token = Credential::new(CredentialKind::OAuthToken, "sk-ant-oat01-child");
        let env = child_env(inherited, Path::new("/h"), Some(Path::new("/h/.claude")), Some(&token));
        assert_eq!(env.get("CLAUDE_CODE_OAUTH_TOKEN").map(String::as_str), Some("sk-ant-oat01-child"));
        assert!(!env.contains_key("ANTHROPIC_API_KEY"));
        assert!(!env.contains_key("ANTHROPIC_AUTH_TOKEN"));
        assert!(!env.contains_key("SECRET_THING"));
        assert_eq!(env["TZ"], "UTC");
        assert_eq!(env["DISABLE_AUTOUPDATER"], "1");
        assert_eq!(env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"], "1");
        assert_eq!(env["ANTHROPIC_BASE_URL"], "http://127.0.0.1:9");
        assert_eq!(env["CLAUDE_CONFIG_DIR"], "/h/.claude");
    }

    #[test]
    fn argv_for_resume_and_oneshot() {
        let argv = claude_argv(&ClaudeArgs {
            settings: Some("/c/hooks.json".into()),
            session_id: Some("new".into()),
            resume: Some("old".into()),
            permission_mode: Some(PermissionMode::AcceptEdits),
            prompt: Some("-rf".into()),
            ..ClaudeArgs::default()
        });
        assert_eq!(
            argv,
            ["--settings", "/c/hooks.json", "--resume", "old", "--permission-mode", "acceptEdits", "--", "-rf"]
        );
        let argv = claude_argv(&ClaudeArgs { oneshot: true, prompt: Some("do it".into()), ..ClaudeArgs::default() });
        assert_eq!(
            argv,
            ["--permission-mode", "default", "--output-format", "stream-json", "--verbose", "-p", "do it"],
            "no mode given: `default`, never the CLI's own default"
        );
        let argv = claude_argv(&ClaudeArgs { permission_mode: Some(PermissionMode::Auto), ..ClaudeArgs::default() });
        assert_eq!(argv, ["--permission-mode", "auto"]);
    }
}
