//! The `ClaudeSession` custom resource: one Claude Code conversation in one repo.

use chrono::{DateTime, Utc};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::activity::{Activity, RateLimit};
use crate::conditions::Condition;

/// A Claude Code session: one CLI running in its own worker pod, on a repo from the configured
/// list, under one of the `ClaudeAccount`s. Create it with `kubectl apply` or from the phone.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[kube(
    group = "cockpit.dev",
    version = "v1alpha1",
    kind = "ClaudeSession",
    namespaced,
    cel,
    status = "ClaudeSessionStatus",
    shortname = "csn",
    category = "cockpit",
    doc = "A Claude Code session: one CLI running in its own worker, on a configured repo, under one of the ClaudeAccounts.",
    printcolumn(name = "Repo", type_ = "string", json_path = ".spec.repo", description = "The repo the session works in"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", description = "Lifecycle phase"),
    printcolumn(name = "Activity", type_ = "string", json_path = ".status.activity", description = "What Claude is doing now"),
    printcolumn(name = "Account", type_ = "string", json_path = ".status.account", description = "The ClaudeAccount it runs under"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.spec.mode != 'Oneshot' || (has(self.spec.prompt) && size(self.spec.prompt) > 0)").message("a Oneshot session needs a non-empty spec.prompt"),
)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ClaudeSessionSpec")]
#[ts(optional_fields)]
pub struct ClaudeSessionSpec {
    /// The name of a repo from the control plane's configured repo list. Immutable.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.repo is immutable"))]
    pub repo: String,
    /// The name of the ClaudeAccount (same namespace) to run under. Absent: the control plane
    /// picks the highest-priority account that is not rate limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_ref: Option<String>,
    /// `Interactive` (a terminal the person types into) or `Oneshot` (`claude -p PROMPT`,
    /// ends with a structured result).
    #[serde(default)]
    pub mode: SessionMode,
    /// The first message for an interactive session; the task for a one-shot session (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The model to use (`--model`), e.g. `sonnet`, `opus` or a full model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The CLI's permission mode (`--permission-mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<PermissionMode>,
    /// A Claude session id (UUID) to resume instead of starting a new conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"))]
    pub resume: Option<crate::ids::ConversationId>,
    /// What to do when the account hits a usage limit: `Auto` moves the conversation to the next
    /// account and resumes it; `Off` waits for the reset on the same account.
    #[serde(default)]
    pub rotation: RotationPolicy,
}

/// How a session is driven.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SessionMode {
    /// A live terminal: the person watches and types.
    #[default]
    Interactive,
    /// `claude -p PROMPT --output-format stream-json`: runs to completion, ends with a result.
    Oneshot,
}

/// The Claude Code CLI's permission modes (`--permission-mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum), value(rename_all = "camelCase"))]
pub enum PermissionMode {
    /// Ask before every tool call that needs permission.
    Default,
    /// Accept file edits without asking.
    AcceptEdits,
    /// Plan only; make no changes.
    Plan,
    /// Never ask (the CLI needs a sandbox for this).
    BypassPermissions,
    /// The CLI's classifier decides which calls run without asking and refuses the rest (the
    /// CLI's own default since 2.1.332; Cockpit never relies on that default).
    Auto,
    /// Never ask: calls not already allowed by the settings are refused.
    DontAsk,
}

impl PermissionMode {
    /// The value passed to `--permission-mode`.
    pub fn as_cli_arg(self) -> &'static str {
        match self {
            PermissionMode::Default => "default",
            PermissionMode::AcceptEdits => "acceptEdits",
            PermissionMode::Plan => "plan",
            PermissionMode::BypassPermissions => "bypassPermissions",
            PermissionMode::Auto => "auto",
            PermissionMode::DontAsk => "dontAsk",
        }
    }
}

/// Whether a session moves to another account when its account hits a usage limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
pub enum RotationPolicy {
    /// Move to the next eligible account and resume the conversation there.
    #[default]
    Auto,
    /// Stay on the account and wait for its limit to reset.
    Off,
}

/// The lifecycle phase of a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
pub enum SessionPhase {
    /// Accepted, no worker yet.
    #[default]
    Pending,
    /// A worker is being started.
    Starting,
    /// The worker runs the CLI.
    Running,
    /// Every eligible account is rate limited; the session resumes by itself after the reset.
    RateLimited,
    /// A one-shot session finished without error, or the CLI exited with code 0.
    Succeeded,
    /// The CLI or its worker failed.
    Failed,
    /// Stopped on request.
    Stopped,
}

impl SessionPhase {
    /// Every phase, in declaration order.
    pub const ALL: [SessionPhase; 7] = [
        SessionPhase::Pending,
        SessionPhase::Starting,
        SessionPhase::Running,
        SessionPhase::RateLimited,
        SessionPhase::Succeeded,
        SessionPhase::Failed,
        SessionPhase::Stopped,
    ];

    /// True for phases a session never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(self, SessionPhase::Succeeded | SessionPhase::Failed | SessionPhase::Stopped)
    }
}

/// Token counts reported by the CLI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    /// Input tokens (not cached).
    #[ts(type = "number")]
    pub input_tokens: u64,
    /// Output tokens.
    #[ts(type = "number")]
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(default)]
    #[ts(type = "number")]
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default)]
    #[ts(type = "number")]
    pub cache_creation_input_tokens: u64,
}

/// The outcome of a one-shot session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct OneshotSummary {
    /// The final text Claude returned.
    pub text: String,
    /// True when the run ended in an error (the text then says which).
    pub is_error: bool,
    /// Cost in US dollars as reported by the CLI.
    pub cost_usd: f64,
    /// Tokens used.
    pub tokens: TokenUsage,
}

/// The observed state of a `ClaudeSession`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ClaudeSessionStatus {
    /// Lifecycle phase.
    #[serde(default)]
    pub phase: SessionPhase,
    /// What Claude is doing now, as the worker reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Activity>,
    /// The ClaudeAccount the session currently runs under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The Claude Code session id (conversation id), used to resume on another account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_session_id: Option<crate::ids::ConversationId>,
    /// Where the worker serves its WebSocket (`host:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_endpoint: Option<String>,
    /// When the current worker started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub started_at: Option<DateTime<Utc>>,
    /// When the session finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The CLI's exit code once it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The last usage limit hit, with its window and reset time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// The prompt that hit the usage limit; it is sent again when the conversation resumes
    /// (on the next account, or on the same one after its reset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_prompt: Option<String>,
    /// How many times the session moved to another account.
    #[serde(default)]
    pub rotations: u32,
    /// The result of a one-shot session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<OneshotSummary>,
    /// An interactive session's cost and tokens so far, over every worker it ran in (from
    /// the CLI's status line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::usage::SessionCost>,
    /// The part of `cost` spent by the session's earlier workers (before the last move to
    /// another account or restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_before_worker: Option<crate::usage::SessionCost>,
    /// Claude's latest words (the end of its last answer), for the session list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<String>,
    /// The last tool call the CLI refused by itself (auto mode, a deny rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_denial: Option<crate::usage::Denial>,
    /// A human-readable note on the current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub observed_generation: Option<i64>,
    /// Standard conditions: `Ready`, `AccountAssigned`, `RateLimited`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}
