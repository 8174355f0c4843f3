//! The script: what the stand-in answers to a request.

use std::time::Duration;

use serde_json::{Value, json};

use crate::ratelimit::{self, Headers, Window};
use crate::request::Parsed;

/// A trigger word found in the last user message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `TOOLBASH`: a Bash tool_use (`touch mockfile.txt`).
    ToolBash,
    /// `TOOLWRITE`: a Write tool_use (`<cwd>/hello.txt`).
    ToolWrite,
    /// `TOOLEDIT`: an Edit tool_use of `<cwd>/hello.txt` (`hello` → `hello, world`).
    ToolEdit,
    /// `MARKDOWN`: a reply in markdown (a heading, bold text, a list and a fenced code block).
    Markdown,
    /// `TOOLRUN <command>`: a Bash tool_use running the rest of the message (a session's own
    /// tools doing what a prompt told them).
    ToolRun,
    /// `RL5H` / `RLWEEK` / `RLOPUS`: 429 with unified headers for that window.
    Limit(Window),
    /// `RL429`: 429 without unified headers.
    Plain429,
    /// `OVERLOAD`: 529 overloaded_error.
    Overload,
    /// `AUTH401`: 401 authentication_error.
    Auth401,
    /// `WARN93`: normal reply with an `allowed_warning` at 93 %.
    Warn93,
    /// `SLOW`: normal reply streamed over about 4 s.
    Slow,
}

/// Trigger words in the order they are checked.
const WORDS: &[(&str, Trigger)] = &[
    ("TOOLRUN ", Trigger::ToolRun),
    ("TOOLBASH", Trigger::ToolBash),
    ("TOOLWRITE", Trigger::ToolWrite),
    ("TOOLEDIT", Trigger::ToolEdit),
    ("MARKDOWN", Trigger::Markdown),
    ("RL5H", Trigger::Limit(Window::Session)),
    ("RLWEEK", Trigger::Limit(Window::Weekly)),
    ("RLOPUS", Trigger::Limit(Window::Opus)),
    ("RL429", Trigger::Plain429),
    ("OVERLOAD", Trigger::Overload),
    ("AUTH401", Trigger::Auth401),
    ("WARN93", Trigger::Warn93),
    ("SLOW", Trigger::Slow),
];

/// The first trigger word contained in `text`.
pub fn trigger(text: &str) -> Option<Trigger> {
    WORDS.iter().find(|(w, _)| text.contains(w)).map(|(_, t)| *t)
}

/// One content block of a scripted reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Assistant text.
    Text(String),
    /// A tool call.
    ToolUse {
        /// Tool name (`Bash`, `Write`).
        name: String,
        /// Tool input.
        input: Value,
    },
}

/// What to answer.
#[derive(Debug, Clone)]
pub enum Plan {
    /// A 200 message.
    Reply {
        /// Content blocks.
        blocks: Vec<Block>,
        /// `end_turn` or `tool_use`.
        stop_reason: &'static str,
        /// Extra response headers (rate-limit state).
        headers: Headers,
        /// Pause between streamed deltas.
        pace: Duration,
    },
    /// An error answer.
    Error {
        /// HTTP status.
        status: u16,
        /// `error.type` of the body.
        kind: &'static str,
        /// `error.message` of the body.
        message: &'static str,
        /// Extra response headers.
        headers: Headers,
    },
}

/// The error plan for an exhausted `window`.
pub fn limited(window: Window) -> Plan {
    Plan::Error {
        status: 429,
        kind: "rate_limit_error",
        message: "This request would exceed your account's rate limit. Please try again later.",
        headers: ratelimit::rejected(window),
    }
}

fn quote(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        s.push('…');
    }
    s
}

fn reply(text: String, headers: Headers, pace: Duration) -> Plan {
    Plan::Reply { blocks: vec![Block::Text(text)], stop_reason: "end_turn", headers, pace }
}

fn tool(name: &str, input: Value) -> Plan {
    Plan::Reply {
        blocks: vec![Block::ToolUse { name: name.to_string(), input }],
        stop_reason: "tool_use",
        headers: ratelimit::allowed(),
        pace: Duration::from_millis(5),
    }
}

/// The `MARKDOWN` reply.
pub const MARKDOWN_REPLY: &str = "## The plan\n\nThis is **bold**, and a list:\n\n- one\n- two\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n";

/// `hello.txt` in the session's working directory (relative when it is not known).
fn hello_path(p: &Parsed) -> String {
    match &p.cwd {
        Some(cwd) => format!("{}/hello.txt", cwd.trim_end_matches('/')),
        None => "hello.txt".to_string(),
    }
}

/// Chooses the answer to a parsed request.
pub fn plan(p: &Parsed) -> Plan {
    let fast = Duration::from_millis(5);
    if p.continues_tool {
        let text = match (trigger(&p.script_text), &p.tool_error) {
            (_, Some(err)) => format!("The tool was not run: {}", quote(err)),
            (Some(Trigger::ToolWrite), None) => "Done, the file is written.".to_string(),
            (Some(Trigger::ToolEdit), None) => "Done, the file is edited.".to_string(),
            _ => "Done, the tool ran.".to_string(),
        };
        return reply(text, ratelimit::allowed(), fast);
    }
    let default_text = format!("Stand-in reply #{}: you said \"{}\"", p.user_turns, quote(&p.last_user_text));
    match trigger(&p.last_user_text) {
        // Tool calls only when the request offers tools (not for side requests).
        Some(Trigger::ToolBash) if p.has_tools => {
            tool("Bash", json!({"command": "touch mockfile.txt", "description": "Create an empty file"}))
        }
        Some(Trigger::ToolRun) if p.has_tools => {
            let command = p.last_user_text.split_once("TOOLRUN ").map_or("", |(_, rest)| rest.trim());
            tool("Bash", json!({"command": command, "description": "Run what the prompt said"}))
        }
        Some(Trigger::ToolWrite) if p.has_tools => {
            tool("Write", json!({"file_path": hello_path(p), "content": "hello\n"}))
        }
        Some(Trigger::ToolEdit) if p.has_tools => {
            tool("Edit", json!({"file_path": hello_path(p), "old_string": "hello", "new_string": "hello, world"}))
        }
        Some(Trigger::Markdown) => reply(MARKDOWN_REPLY.to_string(), ratelimit::allowed(), fast),
        Some(Trigger::Limit(w)) => limited(w),
        Some(Trigger::Plain429) => Plan::Error {
            status: 429,
            kind: "rate_limit_error",
            message: "Number of concurrent connections has exceeded your rate limit.",
            headers: vec![],
        },
        Some(Trigger::Overload) => {
            Plan::Error { status: 529, kind: "overloaded_error", message: "Overloaded", headers: vec![] }
        }
        Some(Trigger::Auth401) => {
            Plan::Error { status: 401, kind: "authentication_error", message: "invalid x-api-key", headers: vec![] }
        }
        Some(Trigger::Warn93) => reply(default_text, ratelimit::warning_93(), fast),
        Some(Trigger::Slow) if p.stream => reply(default_text, ratelimit::allowed(), Duration::from_millis(500)),
        _ => reply(default_text, ratelimit::allowed(), fast),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Parsed {
        Parsed {
            last_user_text: text.into(),
            script_text: text.into(),
            user_turns: 3,
            has_tools: true,
            stream: true,
            ..Parsed::default()
        }
    }

    #[test]
    fn default_reply_counts_turns() {
        match plan(&parsed("hello   there")) {
            Plan::Reply { blocks, stop_reason, .. } => {
                assert_eq!(stop_reason, "end_turn");
                assert_eq!(blocks, vec![Block::Text("Stand-in reply #3: you said \"hello there\"".into())]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn triggers_map_to_plans() {
        assert!(matches!(plan(&parsed("x RL5H")), Plan::Error { status: 429, .. }));
        assert!(matches!(plan(&parsed("RL429")), Plan::Error { status: 429, ref headers, .. } if headers.is_empty()));
        assert!(matches!(plan(&parsed("OVERLOAD")), Plan::Error { status: 529, .. }));
        assert!(matches!(plan(&parsed("AUTH401")), Plan::Error { status: 401, .. }));
        assert!(matches!(plan(&parsed("SLOW")), Plan::Reply { pace, .. } if pace.as_millis() == 500));
    }

    #[test]
    fn write_uses_cwd_and_continues() {
        let mut p = parsed("TOOLWRITE");
        p.cwd = Some("/tmp/proj/".into());
        match plan(&p) {
            Plan::Reply { blocks, stop_reason: "tool_use", .. } => assert_eq!(
                blocks,
                vec![Block::ToolUse {
                    name: "Write".into(),
                    input: json!({"file_path":"/tmp/proj/hello.txt","content":"hello\n"})
                }]
            ),
            other => panic!("{other:?}"),
        }
        p.continues_tool = true;
        assert!(matches!(plan(&p), Plan::Reply { ref blocks, .. }
            if blocks == &vec![Block::Text("Done, the file is written.".into())]));
    }

    #[test]
    fn toolrun_runs_the_rest_of_the_message() {
        let p = parsed("please TOOLRUN echo hi > out.txt ");
        match plan(&p) {
            Plan::Reply { blocks, stop_reason: "tool_use", .. } => {
                assert!(
                    matches!(&blocks[0], Block::ToolUse { name, input } if name == "Bash" && input["command"] == "echo hi > out.txt")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn side_requests_get_no_tools() {
        let mut p = parsed("TOOLBASH");
        p.has_tools = false;
        assert!(matches!(plan(&p), Plan::Reply { stop_reason: "end_turn", .. }));
    }
}
