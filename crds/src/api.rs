//! The control plane's REST bodies (`/api/...`), shared with the PWA through the generated
//! TypeScript types.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::account::{AccountUsage, CredentialKind};
use crate::activity::{ApprovalDecision, PendingApproval, RateLimitWindow};
use crate::session::{ClaudeSessionSpec, ClaudeSessionStatus, PermissionMode, RotationPolicy, SessionMode};

/// The `schemars` these bodies implement [`JsonSchema`] with, re-exported so that the gateway
/// generates its OpenAPI document with the very same crate version.
pub use schemars;

/// `POST /api/sessions`: start a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct CreateSession {
    /// A repo name from `GET /api/repos`.
    pub repo_name: String,
    /// A unique name (`[a-z0-9-]`, at most 63); generated when absent.
    pub name: Option<String>,
    /// Run under this account; absent: the best available one.
    pub account_id: Option<String>,
    /// Interactive (default) or one-shot.
    pub mode: Option<SessionMode>,
    /// First message (interactive) or the task (one-shot, required).
    pub prompt: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Permission mode.
    pub permission_mode: Option<PermissionMode>,
    /// Move to the next account on a usage limit (`Auto`, default) or wait (`Off`).
    pub rotation: Option<RotationPolicy>,
}

/// `POST /api/sessions/{id}/send`: type a message into the session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct SendMessage {
    /// The text.
    pub text: String,
    /// Press Enter after it (default true).
    pub submit: Option<bool>,
}

/// `POST /api/sessions/{id}/oneshot`: run a one-shot task that continues this session's
/// conversation (a new one-shot session resuming it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct OneshotRequest {
    /// The task.
    pub prompt: String,
    /// A name for the new session; generated when absent.
    pub name: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Permission mode.
    pub permission_mode: Option<PermissionMode>,
}

/// `POST /api/sessions/{id}/approval`: answer the pending permission request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct ApprovalAnswer {
    /// The pending request's id (`status` → `approval.id`).
    pub id: String,
    /// Allow or deny.
    pub decision: ApprovalDecision,
    /// A reason given to Claude with a deny.
    pub message: Option<String>,
}

/// A session as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(optional_fields)]
pub struct SessionView {
    /// Stable id (not its name, not its conversation's id).
    pub id: crate::ids::SessionId,
    /// Unique name.
    pub name: String,
    /// What was asked for.
    pub spec: ClaudeSessionSpec,
    /// What is known.
    pub status: ClaudeSessionStatus,
    /// Live worker state (activity, approval, offsets) when a worker runs.
    // `WorkerState` does not implement `JsonSchema` (yet): described as an object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub live: Option<crate::WorkerState>,
    /// When it was created.
    #[ts(type = "string")]
    pub created_at: DateTime<Utc>,
    /// When it was deleted (history is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A configured repo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct RepoView {
    /// Its name (used in `repo_name`).
    pub name: String,
    /// True when it is a git repository (sessions then get their own worktree).
    pub is_git: bool,
}

/// An account as the API shows it (never its credential).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(optional_fields)]
pub struct AccountView {
    /// Its name (used in `account_id`).
    pub id: String,
    /// Higher is chosen first.
    pub priority: i32,
    /// What kind of credential it holds.
    pub kind: CredentialKind,
    /// Session cap, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sessions: Option<u32>,
    /// Sessions running under it now.
    pub active_sessions: u32,
    /// Set while a usage limit is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub limited_until: Option<DateTime<Utc>>,
    /// The window of the last limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_window: Option<RateLimitWindow>,
    /// Usage so far.
    pub usage: AccountUsage,
    /// The 5-hour and weekly utilization a session's CLI last reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<crate::usage::PlanUtilization>,
    /// Proactive rotation threshold in percent, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_at: Option<u8>,
}

/// `GET /api/health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(optional_fields)]
pub struct HealthView {
    /// `ok`, or `degraded` with `hints`.
    pub status: String,
    /// The control plane's version.
    pub version: String,
    /// The Claude Code CLI the workers run, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_version: Option<String>,
    /// `local` or `kube`.
    pub runtime: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// Sessions by state.
    pub sessions: SessionCounts,
    /// Configured accounts.
    pub accounts: u32,
    /// Accounts rate limited now.
    pub accounts_limited: u32,
    /// Configured repos.
    pub repos: u32,
    /// What to fix (no repos, no accounts, …).
    pub hints: Vec<String>,
}

/// Session counts for the health view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SessionCounts {
    /// Sessions not deleted.
    pub total: u32,
    /// Running or starting.
    pub running: u32,
    /// Waiting for the person (approval, idle, limit, login).
    pub needs_you: u32,
}

/// A change pushed on `GET /api/events` (server-sent events).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ChangeEvent {
    /// A session was created or changed.
    Session {
        /// Its new view.
        session: Box<SessionView>,
    },
    /// A session was deleted.
    SessionDeleted {
        /// Its id.
        id: crate::ids::SessionId,
    },
    /// An account changed (limit, usage).
    Account {
        /// Its new view.
        account: AccountView,
    },
}

/// One page of a session's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct HistoryPage {
    /// Entries, oldest first.
    pub entries: Vec<HistoryEntry>,
    /// Pass as `after` for the next page; absent at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub next: Option<i64>,
}

/// One page of a session's Claude transcript (the CLI's own JSONL record of the conversation:
/// user and assistant messages, tool calls and results), oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(optional_fields)]
pub struct TranscriptPage {
    /// The Claude session id the transcript belongs to, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_session_id: Option<crate::ids::ConversationId>,
    /// Transcript lines as the CLI wrote them (each a JSON object).
    #[ts(type = "unknown[]")]
    pub entries: Vec<serde_json::Value>,
    /// Pass as `after` for the next page; absent at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub next: Option<u64>,
}

/// One recorded event of a session (state changes, prompts, rotations, one-shot events).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct HistoryEntry {
    /// Its id (increasing).
    #[ts(type = "number")]
    pub id: i64,
    /// When.
    #[ts(type = "string")]
    pub at: DateTime<Utc>,
    /// What kind (`state`, `prompt`, `rotated`, `oneshot`, …).
    pub kind: String,
    /// Details.
    #[ts(type = "unknown")]
    pub data: serde_json::Value,
}

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(optional_fields)]
pub struct ApiError {
    /// A stable machine-readable code (`not_found`, `bad_request`, `conflict`, …).
    pub code: String,
    /// What went wrong, for a person.
    pub error: String,
    /// With `approval_pending` (409 from `/send`): the permission request the CLI is waiting
    /// on. Typed text would land in its dialog, so it was not sent; answer the request
    /// (`/approval`, a deny can carry the text as its message) or send it afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<PendingApproval>,
}

/// `GET /api/push/key`: the control plane's VAPID public key, for
/// `pushManager.subscribe({ applicationServerKey })`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushKey {
    /// The uncompressed P-256 public key (65 bytes), base64url without padding.
    pub public_key: String,
    /// True when notifications are signed with a contact of the owner's (`COCKPIT_VAPID_SUBJECT`
    /// or an https `allowedOrigins` entry); false with the stand-in `mailto:cockpit@localhost`,
    /// which Apple's push service refuses: iPhones then get no notifications.
    pub subject_set: bool,
}

/// `POST /api/push/subscriptions`: a browser's `PushSubscription.toJSON()`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscriptionJson {
    /// The push service URL to POST messages to: `https://…`, or `http://` on a loopback
    /// host (tests). At most 2048 characters.
    pub endpoint: String,
    /// When the subscription expires (milliseconds since the epoch), if the browser says.
    #[serde(default)]
    #[ts(optional, type = "number | null")]
    pub expiration_time: Option<f64>,
    /// The browser's keys for the payload encryption.
    pub keys: PushKeys,
}

/// The keys of a [`PushSubscriptionJson`] (RFC 8291).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PushKeys {
    /// The browser's P-256 ECDH public key: an uncompressed point (65 bytes), base64url.
    pub p256dh: String,
    /// The browser's authentication secret: 16 bytes, base64url.
    pub auth: String,
}

/// `DELETE /api/push/subscriptions`: stop sending to a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct PushUnsubscribe {
    /// The subscription's endpoint, as it was subscribed.
    pub endpoint: String,
}

/// The answer to `POST /api/push/subscriptions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscribed {
    /// The host of the push service the device uses (`web.push.apple.com`, …).
    pub push_service: String,
}

/// The answer to `POST /api/push/test`: what became of the test notification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PushTestReport {
    /// Devices subscribed when it was sent.
    pub subscriptions: u32,
    /// Accepted by their push service.
    pub delivered: u32,
    /// Found gone (the push service said 404 or 410) and removed.
    pub removed: u32,
    /// Not delivered for another reason (see the control plane's log).
    pub failed: u32,
}
