//! A session's conversation as the phone shows it: typed entries made from the Claude CLI's
//! transcript (messages, thinking, tool calls paired by id with their results, API errors,
//! compaction) and Cockpit's own notes (rotations, waits, worker ends, answers given from the
//! phone), served live by `GET /api/sessions/{id}/conversation`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::tool_view::ToolView;

/// One entry of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ConversationEntry {
    /// Unique within the conversation and stable across reconnects: `u<uuid>.<n>` for the
    /// `n`th entry of the transcript line with that `uuid` (the same when a resumed
    /// conversation's new transcript repeats the line), `t<offset>.<n>` for a line without one
    /// (by its byte offset), `e<id>` for a Cockpit note. A reader keeps one entry per key.
    pub key: String,
    /// When it happened (the transcript line's timestamp, the note's time), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub at: Option<DateTime<Utc>>,
    /// True for an entry of a subagent's own conversation (a `Task` tool's work), shown nested
    /// under the call that started it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sidechain: bool,
    /// What it is.
    pub item: ConversationItem,
}

/// What a conversation entry is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConversationItem {
    /// A message the person sent (typed in the terminal, from the phone, or the first prompt).
    User {
        /// The message.
        text: String,
    },
    /// Claude's answer text (markdown).
    Assistant {
        /// Markdown.
        text: String,
    },
    /// Claude's thinking (shown collapsed).
    Thinking {
        /// The thinking text.
        text: String,
    },
    /// A tool call; its result follows as a [`ConversationItem::ToolResult`] with the same id.
    ToolCall {
        /// The tool-use id that pairs the call with its result.
        id: String,
        /// What the call does, for a person.
        tool: ToolView,
    },
    /// The result of the tool call `tool_use_id`.
    ToolResult {
        /// The call's id.
        tool_use_id: String,
        /// The output text (cut at [`MAX_TOOL_OUTPUT_CHARS`]).
        output: String,
        /// True when the tool failed or the call was refused.
        is_error: bool,
        /// True when `output` was cut.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        truncated: bool,
    },
    /// The API answered with an error (a usage limit, an overload, a refused credential).
    ApiError {
        /// The CLI's words for it.
        text: String,
    },
    /// The CLI compacted the conversation; earlier context is summarised.
    Compaction {
        /// The summary Claude continues from.
        summary: String,
    },
    /// Something Cockpit did or saw: an account change, a wait for a reset, a worker's end,
    /// an approval answered from the phone.
    Note {
        /// A short machine-readable reason (`Rotated`, `RateLimited`, `Exited`, `Approved`, …).
        reason: String,
        /// What happened, in words.
        message: String,
        /// When the wait it describes ends, for a note about waiting.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "string")]
        until: Option<DateTime<Utc>>,
    },
    /// A transcript line of a kind this version of Cockpit does not show (the format grows
    /// with the CLI): shown as one compact line.
    Unknown {
        /// The line's `type`, or `?` when it has none.
        what: String,
    },
}

/// Where a conversation stream continues: after this transcript byte offset (of the
/// conversation named) and this note id. Written `<offset>.<note id>[.<conversation>]` (the SSE
/// event id, and the `after` query parameter).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(optional_fields)]
pub struct ConversationCursor {
    /// Bytes of the transcript already seen (always the end of a whole line).
    #[ts(type = "number")]
    pub transcript: u64,
    /// The last Cockpit note seen.
    #[ts(type = "number")]
    pub notes: i64,
    /// The first 8 characters of the Claude conversation id the offset belongs to (a CLI that
    /// resumes a conversation may continue it in a new transcript file, under a new id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
}

impl ConversationCursor {
    /// The tag of conversation `id` in a cursor.
    pub fn tag(id: &str) -> String {
        id.chars().take(8).collect()
    }
}

/// Why a conversation cursor could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a conversation cursor is <transcript offset>.<note id>[.<conversation>], not {0:?}")]
pub struct CursorError(pub String);

impl std::fmt::Display for ConversationCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.transcript, self.notes)?;
        match &self.conversation {
            Some(tag) => write!(f, ".{tag}"),
            None => Ok(()),
        }
    }
}

impl std::str::FromStr for ConversationCursor {
    type Err = CursorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CursorError(s.chars().take(64).collect());
        let mut parts = s.split('.');
        let (Some(t), Some(n), tag, None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let transcript = t.parse::<u64>().map_err(|_| bad())?;
        let notes = n.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(bad)?;
        let conversation = match tag {
            Some(tag) if (1..=8).contains(&tag.len()) && tag.chars().all(|c| c.is_ascii_hexdigit()) => {
                Some(tag.to_owned())
            }
            Some(_) => return Err(bad()),
            None => None,
        };
        Ok(ConversationCursor { transcript, notes, conversation })
    }
}

/// One batch of a conversation stream (an SSE `entries` event): new entries, oldest first,
/// and the cursor to continue from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(optional_fields)]
pub struct ConversationBatch {
    /// New entries.
    pub entries: Vec<ConversationEntry>,
    /// Where the stream stands after them.
    pub cursor: ConversationCursor,
    /// The Claude conversation id the transcript belongs to, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<crate::ids::ConversationId>,
}

/// Longest tool output kept in an entry, in characters; the rest is cut (`truncated`).
pub const MAX_TOOL_OUTPUT_CHARS: usize = 8_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let c: ConversationCursor = "1234.56".parse().expect("cursor");
        assert_eq!(c, ConversationCursor { transcript: 1234, notes: 56, conversation: None });
        assert_eq!(c.to_string(), "1234.56");
        let tagged: ConversationCursor = "7.0.0b7c7a52".parse().expect("cursor");
        assert_eq!(tagged.conversation.as_deref(), Some("0b7c7a52"));
        assert_eq!(tagged.to_string(), "7.0.0b7c7a52");
        assert_eq!(ConversationCursor::tag("0b7c7a52-4a8e-4a55-9f3c-4f1a2d1e9e10"), "0b7c7a52");
        for bad in ["", "12", "a.b", "1.-1", "-1.0", "1.2.x", "1.2.3.4", "1.2.0b7c7a52ff", "99999999999999999999999.0"]
        {
            assert!(bad.parse::<ConversationCursor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn entries_serialise_with_a_kind_tag() {
        let e = ConversationEntry {
            key: "t0.0".into(),
            at: None,
            sidechain: false,
            item: ConversationItem::User { text: "hi".into() },
        };
        assert_eq!(
            serde_json::to_value(&e).expect("json"),
            serde_json::json!({"key": "t0.0", "item": {"kind": "user", "text": "hi"}})
        );
    }
}
