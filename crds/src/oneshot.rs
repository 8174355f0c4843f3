//! One-shot runs: the typed events parsed from `claude -p --output-format stream-json --verbose`
//! and the final result.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::activity::RateLimit;
use crate::session::TokenUsage;

/// One line of the CLI's stream-json output, typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum OneshotEvent {
    /// `system/init`: the run started.
    Init {
        /// The Claude conversation id (the CLI's session id).
        session_id: crate::ids::ConversationId,
        /// The model in use.
        model: String,
        /// The working directory.
        cwd: String,
        /// The tools available to Claude.
        tools: Vec<String>,
        /// The CLI's version.
        claude_code_version: String,
        /// The permission mode in effect.
        permission_mode: String,
        /// Where the credential came from (`none` for an OAuth token).
        api_key_source: String,
    },
    /// `system/api_retry`: a request failed and will be retried.
    ApiRetry {
        /// This attempt's number.
        attempt: u32,
        /// How many retries are allowed.
        max_retries: u32,
        /// Wait before the retry, in milliseconds.
        #[ts(type = "number")]
        retry_delay_ms: u64,
        /// HTTP status of the failure, when there was one.
        error_status: Option<u16>,
        /// The CLI's error class (`rate_limit`, `overloaded`, …).
        error: Option<String>,
    },
    /// `system/status`.
    Status {
        /// The status word, e.g. `requesting`.
        status: String,
    },
    /// `system/session_state_changed` (`running`, `requires_action`, `idle`).
    SessionState {
        /// The new state.
        state: String,
    },
    /// A complete assistant message.
    Assistant {
        /// The message's content blocks.
        blocks: Vec<ContentBlock>,
        /// The model that wrote it (`<synthetic>` for CLI-made error messages).
        model: String,
        /// Set on CLI-made error messages: `rate_limit`, `authentication_failed`, …
        error: Option<String>,
    },
    /// A complete user message (tool results, mostly).
    User {
        /// The message's content blocks.
        blocks: Vec<ContentBlock>,
    },
    /// `rate_limit_event`: the account's usage-limit state changed.
    RateLimitEvent {
        /// `allowed`, `allowed_warning` or `rejected`.
        status: String,
        /// The limit, when `status` is `rejected`.
        limit: Option<RateLimit>,
        /// Utilisation of the window (0..1), when reported.
        utilization: Option<f64>,
    },
    /// `stream_event` (only with partial messages): the raw SSE event.
    StreamEvent {
        /// The event as the API sent it.
        #[ts(type = "unknown")]
        event: serde_json::Value,
    },
    /// `control_request` (only with stream-json input).
    ControlRequest {
        /// The request id to answer.
        request_id: String,
        /// The request body.
        #[ts(type = "unknown")]
        request: serde_json::Value,
    },
    /// `result`: the run ended.
    Result {
        /// The result.
        result: OneshotResult,
    },
    /// A line of a type this version does not know, kept verbatim.
    Other {
        /// The JSON line.
        #[ts(type = "unknown")]
        raw: serde_json::Value,
    },
}

/// A content block of an assistant or user message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ContentBlock {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// Extended thinking.
    Thinking {
        /// The thinking text.
        thinking: String,
    },
    /// A tool call.
    ToolUse {
        /// The tool-use id.
        id: String,
        /// The tool's name.
        name: String,
        /// The tool's input.
        #[ts(type = "unknown")]
        input: serde_json::Value,
    },
    /// A tool's result.
    ToolResult {
        /// The tool-use id it answers.
        tool_use_id: String,
        /// The result as text.
        content: String,
        /// True when the tool failed.
        is_error: bool,
    },
    /// Any other block, kept verbatim.
    Other {
        /// The block as sent.
        #[ts(type = "unknown")]
        raw: serde_json::Value,
    },
}

/// The end of a one-shot run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OneshotResult {
    /// The CLI's subtype (`success`, `error_max_turns`, `error_during_execution`); note that it
    /// says `success` even for API errors: look at `isError`.
    pub subtype: String,
    /// The final text (or the error text).
    pub text: String,
    /// True when the run ended in an error.
    pub is_error: bool,
    /// HTTP status of the API error that ended the run, if any.
    pub api_error_status: Option<u16>,
    /// Cost in US dollars.
    pub cost_usd: f64,
    /// Tokens used.
    pub tokens: TokenUsage,
    /// The Claude conversation id (the CLI's session id).
    pub session_id: crate::ids::ConversationId,
    /// Turns taken.
    pub num_turns: u32,
    /// Wall time in milliseconds.
    #[ts(type = "number")]
    pub duration_ms: u64,
    /// Tool calls that were denied.
    pub permission_denials: u32,
    /// The usage limit that ended the run, if one did.
    pub rate_limit: Option<RateLimit>,
    /// The CLI's exit code.
    pub exit_code: Option<i32>,
}
