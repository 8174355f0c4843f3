//! Reading a Messages API request body and the record kept of every call.

use serde::Serialize;
use serde_json::Value;

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuthKind {
    /// `Authorization: Bearer <token>` (OAuth / `ANTHROPIC_AUTH_TOKEN`).
    Bearer,
    /// `x-api-key: <key>` (`ANTHROPIC_API_KEY`).
    ApiKey,
    /// No credential at all.
    None,
}

/// One call the stand-in answered.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// HTTP method (the CLI also sends a warm-up `HEAD /`).
    pub method: String,
    /// Request path, e.g. `/v1/messages` or `/v1/messages/count_tokens`.
    pub path: String,
    /// `model` of the body (empty when absent).
    pub model: String,
    /// `stream` of the body.
    pub stream: bool,
    /// Text of the last user message (system reminders left out).
    pub last_user_text: String,
    /// Number of user turns in `messages` (tool_result-only messages do not count).
    pub user_turns: usize,
    /// Which kind of credential was sent.
    pub auth: AuthKind,
    /// The credential itself (token or key), if any.
    pub token: Option<String>,
    /// HTTP status the stand-in answered.
    pub status: u16,
    /// Whether the body offered tools (side requests such as title generation do not).
    pub has_tools: bool,
}

/// The parts of a request body the script looks at.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// `model`, empty when absent.
    pub model: String,
    /// `stream`, false when absent.
    pub stream: bool,
    /// Whether `tools` is a non-empty array.
    pub has_tools: bool,
    /// Text of the last user message.
    pub last_user_text: String,
    /// Text of the last user message that had text (for tool_result-only turns).
    pub script_text: String,
    /// The last user message holds only tool_result blocks.
    pub continues_tool: bool,
    /// A tool_result in the last user message was an error (e.g. permission denied).
    pub tool_error: Option<String>,
    /// Number of user turns with text.
    pub user_turns: usize,
    /// Working directory named in the system prompt, if any.
    pub cwd: Option<String>,
    /// A rough input-token count, for `usage`.
    pub approx_input_tokens: u64,
}

/// Text blocks of a message `content` (string or block array), without
/// `<system-reminder>` blocks unless nothing else is there.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => {
            let texts: Vec<&str> = blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect();
            let plain: Vec<&str> =
                texts.iter().copied().filter(|t| !t.trim_start().starts_with("<system-reminder>")).collect();
            if plain.is_empty() { texts.join("\n") } else { plain.join("\n") }
        }
        _ => String::new(),
    }
}

/// True when `content` is a block array made only of tool_result blocks.
fn only_tool_results(content: &Value) -> bool {
    match content.as_array() {
        Some(blocks) if !blocks.is_empty() => {
            blocks.iter().all(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        }
        _ => false,
    }
}

/// The first error text of a tool_result block in `content`, if any.
fn tool_error(content: &Value) -> Option<String> {
    content.as_array()?.iter().find_map(|b| {
        if b.get("is_error").and_then(Value::as_bool) != Some(true) {
            return None;
        }
        Some(match b.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(c) => content_text(c),
            None => String::new(),
        })
    })
}

/// Finds `Working directory: /path` in the system prompt.
fn find_cwd(system: &Value) -> Option<String> {
    let text = match system {
        Value::String(s) => s.clone(),
        Value::Array(_) => content_text_all(system),
        _ => return None,
    };
    text.lines().find_map(|line| {
        let at = line.find("orking directory:")?;
        let rest = line[at + "orking directory:".len()..].trim();
        rest.starts_with('/').then(|| rest.to_string())
    })
}

/// All text blocks, reminders included.
fn content_text_all(content: &Value) -> String {
    content
        .as_array()
        .map(|bs| bs.iter().filter_map(|b| b.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

/// Reads the parts of a Messages API body the script needs. Never fails:
/// anything missing or malformed reads as empty.
pub fn parse(body: &Value) -> Parsed {
    let empty = Vec::new();
    let messages = body.get("messages").and_then(Value::as_array).unwrap_or(&empty);
    let users: Vec<&Value> =
        messages.iter().filter(|m| m.get("role").and_then(Value::as_str) == Some("user")).collect();
    let null = Value::Null;
    let content_of = |m: &Value| m.get("content").cloned().unwrap_or(Value::Null);
    let last = users.last().map(|m| content_of(m)).unwrap_or(null);
    let continues_tool = only_tool_results(&last);
    let with_text: Vec<Value> = users.iter().map(|m| content_of(m)).filter(|c| !only_tool_results(c)).collect();
    let script_text = with_text.last().map(content_text).unwrap_or_default();
    let approx = serde_json::to_string(body).map(|s| s.len() as u64 / 4).unwrap_or(0);
    Parsed {
        model: body.get("model").and_then(Value::as_str).unwrap_or_default().to_string(),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        has_tools: body.get("tools").and_then(Value::as_array).is_some_and(|t| !t.is_empty()),
        last_user_text: content_text(&last),
        script_text,
        continues_tool,
        tool_error: tool_error(&last),
        user_turns: with_text.len(),
        cwd: body.get("system").and_then(find_cwd),
        approx_input_tokens: approx.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_turns_and_skips_reminders() {
        let body = json!({
        "model": "m", "stream": true,
        "system": [{"type":"text","text":"x\nPrimary working directory: /tmp/p1\n"}],
        "messages": [
            {"role":"user","content":"hello"},
            {"role":"assistant","content":[{"type":"text","text":"hi"}]},
            {"role":"user","content":[
                {"type":"text","text":"<system-reminder>ignore</system-reminder>"},
                {"type":"text","text":"second TOOLBASH"}]},
        ]});
        let p = parse(&body);
        assert_eq!(p.user_turns, 2);
        assert_eq!(p.last_user_text, "second TOOLBASH");
        assert!(!p.continues_tool);
        assert_eq!(p.cwd.as_deref(), Some("/tmp/p1"));
        assert!(p.stream);
    }

    #[test]
    fn tool_result_continues_previous_script() {
        let body = json!({"messages": [
            {"role":"user","content":"do TOOLWRITE"},
            {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"Write","input":{}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","is_error":true,
                "content":"denied"}]},
        ]});
        let p = parse(&body);
        assert!(p.continues_tool);
        assert_eq!(p.script_text, "do TOOLWRITE");
        assert_eq!(p.user_turns, 1);
        assert_eq!(p.tool_error.as_deref(), Some("denied"));
    }

    #[test]
    fn garbage_reads_as_empty() {
        let p = parse(&json!([1, 2, 3]));
        assert_eq!(p.user_turns, 0);
        assert!(p.last_user_text.is_empty());
        let p = parse(&json!({"messages": "nope", "model": 5}));
        assert!(p.model.is_empty());
    }
}
