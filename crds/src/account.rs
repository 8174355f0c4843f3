//! The `ClaudeAccount` custom resource: one set of Claude credentials to run sessions under.

use chrono::{DateTime, Utc};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::activity::RateLimitWindow;
use crate::conditions::Condition;

/// A Claude account: credentials held in a Secret, a priority, optional limits. Sessions rotate
/// across accounts when one hits its usage limit.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[kube(
    group = "cockpit.dev",
    version = "v1alpha1",
    kind = "ClaudeAccount",
    namespaced,
    cel,
    status = "ClaudeAccountStatus",
    shortname = "cacct",
    category = "cockpit",
    doc = "A Claude account: credentials in a Secret, a priority and optional limits. Sessions rotate across accounts on usage limits.",
    printcolumn(
        name = "Priority",
        type_ = "integer",
        json_path = ".spec.priority",
        description = "Higher is chosen first"
    ),
    printcolumn(name = "Kind", type_ = "string", json_path = ".spec.credentials.kind"),
    printcolumn(
        name = "Active",
        type_ = "integer",
        json_path = ".status.activeSessions",
        description = "Sessions running under it"
    ),
    printcolumn(
        name = "Limited-Until",
        type_ = "date",
        json_path = ".status.rateLimitedUntil",
        description = "Usage limit reset time"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ClaudeAccountSpec")]
#[ts(optional_fields)]
pub struct ClaudeAccountSpec {
    /// Where the credential is: a key of a Secret in the same namespace. It is passed to the
    /// worker pod through `secretKeyRef` and never copied anywhere else.
    pub credentials: SecretKeyRef,
    /// Higher priority accounts are chosen first. Default 0.
    #[serde(default)]
    pub priority: i32,
    /// At most this many sessions run under the account at once. Absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_sessions: Option<u32>,
    /// Proactive rotation: at the end of a turn, a session on this account moves to the next
    /// account once the account's 5-hour or weekly utilization (as the CLI reports it) reaches
    /// this percentage, before the limit itself is hit. Never mid-turn. Absent: off (sessions
    /// move only when the limit is hit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub rotate_at: Option<u8>,
    /// A free-form label shown in the PWA (e.g. the account's e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A reference to one key of a Secret holding the credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The Secret's name (same namespace as the account).
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
    /// The key inside the Secret. Default `token`.
    #[serde(default = "default_secret_key")]
    pub key: String,
    /// What the credential is. Default `OAuthToken` (from `claude setup-token`).
    #[serde(default)]
    pub kind: CredentialKind,
}

fn default_secret_key() -> String {
    "token".to_owned()
}

/// The kind of credential an account holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum CredentialKind {
    /// A Claude subscription token from `claude setup-token` (`CLAUDE_CODE_OAUTH_TOKEN`).
    #[default]
    #[cfg_attr(feature = "clap", value(name = "oauth-token"))]
    OAuthToken,
    /// A Console API key (`ANTHROPIC_API_KEY`).
    ApiKey,
}

impl CredentialKind {
    /// The environment variable the CLI reads this kind of credential from.
    pub fn env_var(self) -> &'static str {
        match self {
            CredentialKind::OAuthToken => "CLAUDE_CODE_OAUTH_TOKEN",
            CredentialKind::ApiKey => "ANTHROPIC_API_KEY",
        }
    }
}

/// Usage accumulated under an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountUsage {
    /// Sessions ever started under the account.
    #[ts(type = "number")]
    pub sessions: u64,
    /// Input tokens used.
    #[ts(type = "number")]
    pub input_tokens: u64,
    /// Output tokens used.
    #[ts(type = "number")]
    pub output_tokens: u64,
    /// Cost in US dollars as reported by the CLI.
    pub cost_usd: f64,
}

/// The observed state of a `ClaudeAccount`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ClaudeAccountStatus {
    /// Set when a usage limit was hit: the account is not chosen until this time passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub rate_limited_until: Option<DateTime<Utc>>,
    /// The window of the last limit hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_window: Option<RateLimitWindow>,
    /// Sessions running under the account now.
    #[serde(default)]
    pub active_sessions: u32,
    /// Usage so far.
    #[serde(default)]
    pub usage: AccountUsage,
    /// The account's 5-hour and weekly utilization, as a session's CLI last reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<crate::usage::PlanUtilization>,
    /// Standard conditions: `Ready`, `RateLimited`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}
