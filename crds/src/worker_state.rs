//! What `GET /state` on a worker answers, and what a hello frame carries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::activity::{Activity, PendingApproval, RateLimit};
use crate::oneshot::OneshotResult;
use crate::session::SessionMode;

/// A worker's full observable state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct WorkerState {
    /// What Claude is doing now.
    pub activity: Activity,
    /// When `activity` last changed.
    #[ts(type = "string")]
    pub activity_since: DateTime<Utc>,
    /// Interactive or one-shot.
    pub mode: SessionMode,
    /// The Claude Code session id, once known (from the SessionStart hook or `system/init`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_session_id: Option<crate::ids::ConversationId>,
    /// Terminal width in columns.
    pub cols: u16,
    /// Terminal height in rows.
    pub rows: u16,
    /// The oldest output offset still held in the ring (replayable).
    #[ts(type = "number")]
    pub start_offset: u64,
    /// The offset the next output byte will get (total bytes produced so far).
    #[ts(type = "number")]
    pub end_offset: u64,
    /// The last usage limit hit, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// The permission request waiting for an answer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<PendingApproval>,
    /// The CLI's exit code, once it exited (a signal death is reported as 128 + signal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The last prompt the person submitted (from the UserPromptSubmit hook); re-sent when the
    /// session resumes on another account after a usage limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_prompt: Option<String>,
    /// The CLI's permission mode: the one the worker started it in, then what its hooks
    /// report (a change made in the terminal with Shift-Tab shows at the next hook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<crate::session::PermissionMode>,
    /// What the CLI's status line reported last: the account's 5-hour and weekly
    /// utilization, the session's cost and tokens, the context window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<crate::usage::StatusReport>,
    /// The last tool call the CLI refused by itself (the `PermissionDenied` hook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_denial: Option<crate::usage::Denial>,
    /// Claude's latest words: the end of its last answer (the `Stop` hook's
    /// `last_assistant_message`, cut to [`crate::worker_state::LAST_MESSAGE_CHARS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<String>,
    /// The result of a one-shot run, once it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oneshot_result: Option<OneshotResult>,
    /// Where the activity came from last: `hook`, `stream` (a one-shot's stream-json),
    /// `dialog` (the usage-limit dialog the CLI opened at the end of a turn), `screen` (the
    /// rendered screen: a display hint only) or `process`.
    pub source: String,
}

/// Longest [`WorkerState::last_message`] kept, in characters.
pub const LAST_MESSAGE_CHARS: usize = 400;

impl WorkerState {
    /// True when this state reports a usage limit on the CLI's own word (a hook, a one-shot's
    /// stream, the limit dialog the CLI opened at the end of a turn): only then may an account
    /// be marked limited or a worker stopped. A limit read from screen text alone is shown,
    /// never acted on.
    pub fn limit_confirmed(&self) -> bool {
        self.activity == Activity::RateLimited && matches!(self.source.as_str(), "hook" | "stream" | "dialog")
    }

    /// The state of a worker that has just started.
    pub fn starting(mode: SessionMode, cols: u16, rows: u16, now: DateTime<Utc>) -> WorkerState {
        WorkerState {
            activity: Activity::Starting,
            activity_since: now,
            mode,
            claude_session_id: None,
            cols,
            rows,
            start_offset: 0,
            end_offset: 0,
            rate_limit: None,
            approval: None,
            exit_code: None,
            last_prompt: None,
            permission_mode: None,
            report: None,
            last_denial: None,
            last_message: None,
            oneshot_result: None,
            source: "start".to_owned(),
        }
    }

    /// True when the states are the same but for the offsets (which move with every byte, so
    /// they are no change worth telling anyone about).
    pub fn same_apart_from_offsets(&self, other: &WorkerState) -> bool {
        WorkerState { start_offset: 0, end_offset: 0, ..self.clone() }
            == WorkerState { start_offset: 0, end_offset: 0, ..other.clone() }
    }
}
