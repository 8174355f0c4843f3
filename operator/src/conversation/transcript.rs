//! The Claude CLI's transcript (one JSON object a line, under the Claude home's `projects/`)
//! turned into conversation entries. Pure: a line and its byte offset in, entries out.
//!
//! What a line holds, by its `type` (stable across the supported CLI versions):
//! - `user`: the person's message (`message.content` a string, or blocks of `text` and
//!   `image`), or the results of tool calls (`tool_result` blocks naming a `tool_use_id`);
//!   `isCompactSummary` marks the summary a compaction continues from, `isMeta` the CLI's own
//!   insertions (caveats, slash-command echoes), which are not the conversation.
//! - `assistant`: Claude's `text`, `thinking` and `tool_use` blocks; `isApiErrorMessage` marks
//!   the CLI's words for an API error (a usage limit, an overload).
//! - `system`, `summary`, `attachment`, `file-history-snapshot`, `last-prompt`, `mode`,
//!   `permission-mode`, `api-request*`, `queue-operation`, `tools-used` and `cost-state` (2.1.332), …:
//!   bookkeeping, not shown.
//!
//! Any other `type` (the format grows with the CLI) becomes one `unknown` entry.

use chrono::{DateTime, Utc};
use cockpit_api::conversation::{ConversationEntry, ConversationItem, MAX_TOOL_OUTPUT_CHARS};
use cockpit_api::tool_view::{cut, tool_view};
use serde_json::Value;

/// Line types that are the CLI's bookkeeping, never shown.
const BOOKKEEPING: &[&str] = &[
    "system",
    "summary",
    "attachment",
    "file-history-snapshot",
    "file-history-delta",
    "last-prompt",
    "mode",
    "permission-mode",
    "api-request",
    "api-request-blob",
    "api-request-shape",
    "atis-latch",
    "queue-operation",
    "custom-title",
    "tag",
    "progress",
    "tools-used",
    "cost-state",
];

/// Longest message text kept in an entry, in characters.
const MAX_TEXT_CHARS: usize = 64_000;

/// Text the CLI writes into user messages for itself (slash-command echoes, caveats,
/// reminders), not the person's words.
fn is_cli_insert(text: &str) -> bool {
    let t = text.trim_start();
    ["<command-name>", "<command-message>", "<local-command-stdout>", "<local-command-caveat>", "<system-reminder>"]
        .iter()
        .any(|tag| t.starts_with(tag))
}

/// The text of a tool result's `content` (a string, or `text` blocks; images named).
fn result_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b.get("text").and_then(Value::as_str).map(str::to_owned),
                Some("image") => Some("[image]".to_owned()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn kept(text: &str) -> String {
    cut(text, MAX_TEXT_CHARS).0
}

/// The items of a `user` line.
fn user_items(line: &Value, message: &Value, out: &mut Vec<ConversationItem>) {
    let content = message.get("content").unwrap_or(&Value::Null);
    if line.get("isCompactSummary").and_then(Value::as_bool) == Some(true) {
        out.push(ConversationItem::Compaction { summary: kept(&result_text(content)) });
        return;
    }
    if line.get("isMeta").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let blocks = match content {
        Value::String(text) => {
            if !text.trim().is_empty() && !is_cli_insert(text) {
                out.push(ConversationItem::User { text: kept(text) });
            }
            return;
        }
        Value::Array(blocks) => blocks,
        _ => return,
    };
    let mut words = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("tool_result") => {
                let (output, truncated) =
                    cut(&result_text(block.get("content").unwrap_or(&Value::Null)), MAX_TOOL_OUTPUT_CHARS);
                out.push(ConversationItem::ToolResult {
                    tool_use_id: block.get("tool_use_id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    output,
                    is_error: block.get("is_error").and_then(Value::as_bool).unwrap_or(false),
                    truncated,
                });
            }
            Some("text") => {
                let text = block.get("text").and_then(Value::as_str).unwrap_or_default();
                if !text.trim().is_empty() && !is_cli_insert(text) {
                    words.push(text.to_owned());
                }
            }
            Some("image") => words.push("[image]".to_owned()),
            _ => {}
        }
    }
    if !words.is_empty() {
        out.push(ConversationItem::User { text: kept(&words.join("\n\n")) });
    }
}

/// The items of an `assistant` line.
fn assistant_items(line: &Value, message: &Value, out: &mut Vec<ConversationItem>) {
    let Some(blocks) = message.get("content").and_then(Value::as_array) else { return };
    let api_error = line.get("isApiErrorMessage").and_then(Value::as_bool) == Some(true);
    // The CLI's own stand-in answers (model `<synthetic>`: "No response requested." after an
    // interrupted or failed turn) are not Claude's words; its API errors are shown.
    if !api_error && message.get("model").and_then(Value::as_str) == Some("<synthetic>") {
        return;
    }
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let text = block.get("text").and_then(Value::as_str).unwrap_or_default();
                if text.trim().is_empty() {
                    continue;
                }
                out.push(if api_error {
                    ConversationItem::ApiError { text: kept(text) }
                } else {
                    ConversationItem::Assistant { text: kept(text) }
                });
            }
            Some("thinking") => {
                let text = block.get("thinking").and_then(Value::as_str).unwrap_or_default();
                if !text.trim().is_empty() {
                    out.push(ConversationItem::Thinking { text: kept(text) });
                }
            }
            Some("tool_use") => {
                let name = block.get("name").and_then(Value::as_str).unwrap_or("tool");
                out.push(ConversationItem::ToolCall {
                    id: block.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    tool: tool_view(name, block.get("input").unwrap_or(&Value::Null)),
                });
            }
            _ => {}
        }
    }
}

/// The entries of the transcript line that starts at byte `offset`, keyed by the line's
/// `uuid` (by `offset` when it has none: see [`ConversationEntry::key`]). A line that is not a
/// JSON object (a torn write, garbage) is one `unknown` entry; it never stops the conversation.
pub fn parse_line(line: &str, offset: u64) -> Vec<ConversationEntry> {
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        let item = ConversationItem::Unknown { what: "?".to_owned() };
        return vec![ConversationEntry { key: format!("t{offset}.0"), at: None, sidechain: false, item }];
    };
    let id = match value.get("uuid").and_then(Value::as_str).filter(|u| !u.is_empty() && u.len() <= 64) {
        Some(uuid) => format!("u{uuid}"),
        None => format!("t{offset}"),
    };
    let entry = |n: usize, at, sidechain, item| ConversationEntry { key: format!("{id}.{n}"), at, sidechain, item };
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("?");
    let at = value
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let sidechain = value.get("isSidechain").and_then(Value::as_bool) == Some(true);
    let message = value.get("message").unwrap_or(&Value::Null);
    let mut items = Vec::new();
    match kind {
        "user" => user_items(&value, message, &mut items),
        "assistant" => assistant_items(&value, message, &mut items),
        k if BOOKKEEPING.contains(&k) => {}
        other => items.push(ConversationItem::Unknown { what: other.chars().take(60).collect() }),
    }
    items.into_iter().enumerate().map(|(n, item)| entry(n, at, sidechain, item)).collect()
}

#[cfg(test)]
mod tests {
    use cockpit_api::tool_view::ToolDetail;
    use serde_json::json;

    use super::*;

    fn items(line: Value) -> Vec<ConversationItem> {
        parse_line(&line.to_string(), 0).into_iter().map(|e| e.item).collect()
    }

    #[test]
    fn messages_thinking_and_tool_calls() {
        let line = json!({"type": "assistant", "uuid": "a1", "timestamp": "2026-12-02T10:00:00.000Z", "message": {"content": [
            {"type": "thinking", "thinking": "hmm"},
            {"type": "text", "text": "I'll look."},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
        ]}});
        let entries = parse_line(&line.to_string(), 42);
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["ua1.0", "ua1.1", "ua1.2"], "keyed by the line's uuid");
        assert_eq!(entries[0].at.map(|t| t.to_rfc3339()), Some("2026-12-02T10:00:00+00:00".to_owned()));
        assert_eq!(entries[0].item, ConversationItem::Thinking { text: "hmm".into() });
        assert_eq!(entries[1].item, ConversationItem::Assistant { text: "I'll look.".into() });
        let ConversationItem::ToolCall { id, tool } = &entries[2].item else { panic!("{:?}", entries[2]) };
        assert_eq!((id.as_str(), tool.summary.as_str()), ("toolu_1", "ls"));
        assert!(matches!(tool.detail, ToolDetail::Command { .. }));
    }

    #[test]
    fn user_words_results_and_the_clis_own_inserts() {
        assert_eq!(
            items(json!({"type": "user", "message": {"content": "hello"}})),
            [ConversationItem::User { text: "hello".into() }]
        );
        assert!(items(json!({"type": "user", "isMeta": true, "message": {"content": "Caveat: …"}})).is_empty());
        assert!(
            items(json!({"type": "user", "message": {"content": "<command-name>/clear</command-name>"}})).is_empty()
        );
        let merged = items(json!({"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "a\nb"}], "is_error": true},
            {"type": "text", "text": "and now this"},
        ]}}));
        assert_eq!(
            merged,
            [
                ConversationItem::ToolResult {
                    tool_use_id: "toolu_1".into(),
                    output: "a\nb".into(),
                    is_error: true,
                    truncated: false
                },
                ConversationItem::User { text: "and now this".into() },
            ]
        );
        let long = "x".repeat(MAX_TOOL_OUTPUT_CHARS + 5);
        let cut = items(json!({"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t", "content": long},
        ]}}));
        assert!(
            matches!(&cut[0], ConversationItem::ToolResult { truncated: true, output, .. } if output.len() == MAX_TOOL_OUTPUT_CHARS)
        );
    }

    #[test]
    fn api_errors_compaction_sidechains_bookkeeping_and_unknown_kinds() {
        let error = json!({"type": "assistant", "isApiErrorMessage": true, "message": {"content": [
            {"type": "text", "text": "You've hit your session limit · resets 3am (UTC)"},
        ]}});
        assert_eq!(
            items(error),
            [ConversationItem::ApiError { text: "You've hit your session limit · resets 3am (UTC)".into() }]
        );
        let summary =
            json!({"type": "user", "isCompactSummary": true, "message": {"content": "Earlier: we fixed it."}});
        assert_eq!(items(summary), [ConversationItem::Compaction { summary: "Earlier: we fixed it.".into() }]);
        let side = json!({"type": "assistant", "isSidechain": true, "message": {"content": [{"type": "text", "text": "sub"}]}});
        assert!(parse_line(&side.to_string(), 0)[0].sidechain);
        let synthetic = json!({"type": "assistant", "message": {"model": "<synthetic>", "content": [
            {"type": "text", "text": "No response requested."},
        ]}});
        assert!(items(synthetic).is_empty(), "the CLI's filler is not Claude's answer");
        for kind in ["system", "file-history-snapshot", "last-prompt", "permission-mode", "attachment", "tools-used"] {
            assert!(items(json!({"type": kind})).is_empty(), "{kind}");
        }
        assert_eq!(items(json!({"type": "hologram", "x": 1})), [ConversationItem::Unknown { what: "hologram".into() }]);
        assert_eq!(parse_line("{not json", 7)[0].item, ConversationItem::Unknown { what: "?".into() });
        assert_eq!(parse_line("{not json", 7)[0].key, "t7.0");
        assert_eq!(parse_line(&json!({"type": "user", "message": {"content": "x"}}).to_string(), 9)[0].key, "t9.0");
    }

    /// Transcripts the pinned CLIs wrote in the conversation end-to-end test (the oldest
    /// supported and the newest tested version), read whole.
    #[test]
    fn recorded_transcripts_of_both_pinned_clis_read_whole() {
        for (version, text) in [
            ("2.1.197", include_str!("../../tests/fixtures/transcripts/cli-2.1.197.jsonl")),
            ("2.1.332", include_str!("../../tests/fixtures/transcripts/cli-2.1.332.jsonl")),
        ] {
            let mut offset = 0u64;
            let mut entries = Vec::new();
            for line in text.split_inclusive('\n') {
                entries.extend(parse_line(line.trim_end(), offset));
                offset += line.len() as u64;
            }
            let unknown: Vec<_> =
                entries.iter().filter(|e| matches!(e.item, ConversationItem::Unknown { .. })).collect();
            assert!(unknown.is_empty(), "{version}: {unknown:?}");
            let users: Vec<&str> = entries
                .iter()
                .filter_map(|e| match &e.item {
                    ConversationItem::User { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(
                users,
                [
                    "MARKDOWN please",
                    "TOOLBASH now",
                    "TOOLWRITE a file",
                    "TOOLEDIT it",
                    "TOOLEDIT it after all",
                    "TOOLEDIT once more"
                ],
                "{version}"
            );
            assert!(
                entries.iter().any(
                    |e| matches!(&e.item, ConversationItem::Assistant { text } if text.contains("```rust\nfn main()"))
                ),
                "{version}: the markdown answer"
            );
            let calls: Vec<(&str, &str)> = entries
                .iter()
                .filter_map(|e| match &e.item {
                    ConversationItem::ToolCall { id, tool } => Some((id.as_str(), tool.name.as_str())),
                    _ => None,
                })
                .collect();
            assert_eq!(
                calls.iter().map(|c| c.1).collect::<Vec<_>>(),
                ["Bash", "Write", "Edit", "Edit", "Edit"],
                "{version}"
            );
            let results: Vec<(&str, bool)> = entries
                .iter()
                .filter_map(|e| match &e.item {
                    ConversationItem::ToolResult { tool_use_id, is_error, .. } => {
                        Some((tool_use_id.as_str(), *is_error))
                    }
                    _ => None,
                })
                .collect();
            let paired: Vec<bool> = calls
                .iter()
                .map(|(id, _)| results.iter().find(|r| r.0 == *id).map(|r| r.1).expect("a result"))
                .collect();
            assert_eq!(
                paired,
                [false, false, true, false, false],
                "{version}: every call has its result; the denied Edit failed"
            );
            let keys: std::collections::HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
            assert_eq!(keys.len(), entries.len(), "{version}: keys are unique");
            assert!(entries.iter().all(|e| e.at.is_some()), "{version}: every entry has its time");
        }
    }
}
