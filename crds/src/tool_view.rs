//! A tool call as a person reads it: the command of a Bash call, the diff of an Edit, the
//! content of a Write, one line for a lookup. Made from the tool's name and input alike for a
//! call in the transcript and for a pending approval, so both show the same thing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use ts_rs::TS;

/// Longest file content or diff text kept in a view, in characters; the rest is cut.
pub const MAX_VIEW_CHARS: usize = 16_000;
/// Lines of unchanged context around each change of a diff.
const DIFF_CONTEXT: usize = 3;

/// A tool call as a person reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ToolView {
    /// The tool (`Bash`, `Edit`, `Write`, `Read`, `Task`, an MCP tool's name, …).
    pub name: String,
    /// One line: the command, the file, the pattern, the URL, the task.
    pub summary: String,
    /// The details, by kind of tool.
    pub detail: ToolDetail,
}

/// The details of a [`ToolView`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolDetail {
    /// A shell command (`Bash`).
    Command {
        /// The command line.
        command: String,
        /// Claude's description of it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        description: Option<String>,
    },
    /// A change to a file (`Edit`, `MultiEdit`): the replaced text against its replacement.
    Diff {
        /// The file.
        path: String,
        /// The changes with their context.
        hunks: Vec<DiffHunk>,
        /// Lines added.
        added: u32,
        /// Lines removed.
        removed: u32,
        /// True when the texts were cut at [`MAX_VIEW_CHARS`] before the diff.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        truncated: bool,
    },
    /// A whole file written (`Write`).
    Content {
        /// The file.
        path: String,
        /// What is written (cut at [`MAX_VIEW_CHARS`]).
        content: String,
        /// Lines in the whole content.
        lines: u32,
        /// True when `content` was cut.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        truncated: bool,
    },
    /// A lookup shown as one line, its input on demand (`Read`, `Grep`, `Glob`, `WebFetch`,
    /// `WebSearch`, `LS`).
    Lookup {
        /// The tool's input.
        #[ts(type = "unknown")]
        input: Value,
    },
    /// A subagent's task (`Task`, `Agent`): its work follows as sidechain entries.
    Task {
        /// The short description.
        description: String,
        /// What the subagent is asked.
        prompt: String,
        /// The kind of subagent, when named.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        agent: Option<String>,
    },
    /// Any other tool: its input.
    Other {
        /// The tool's input.
        #[ts(type = "unknown")]
        input: Value,
    },
}

/// One hunk of a diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct DiffHunk {
    /// First line of the hunk in the old text (1-based, relative to the replaced text).
    pub old_start: u32,
    /// First line of the hunk in the new text.
    pub new_start: u32,
    /// Its lines.
    pub lines: Vec<DiffLine>,
}

/// One line of a diff hunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct DiffLine {
    /// Kept, added or removed.
    pub op: DiffOp,
    /// The line without its newline.
    pub text: String,
}

/// What happened to a diff line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum DiffOp {
    /// Unchanged context.
    Keep,
    /// Added.
    Add,
    /// Removed.
    Remove,
}

/// The diff of `old` against `new` as hunks, with the counts of added and removed lines.
pub fn diff_hunks(old: &str, new: &str) -> (Vec<DiffHunk>, u32, u32) {
    let diff = TextDiff::from_lines(old, new);
    let (mut added, mut removed) = (0u32, 0u32);
    let mut hunks = Vec::new();
    for group in diff.grouped_ops(DIFF_CONTEXT) {
        let (Some(first), Some(_)) = (group.first(), group.last()) else { continue };
        let mut lines = Vec::new();
        for op in &group {
            for change in diff.iter_changes(op) {
                let op = match change.tag() {
                    ChangeTag::Equal => DiffOp::Keep,
                    ChangeTag::Insert => {
                        added += 1;
                        DiffOp::Add
                    }
                    ChangeTag::Delete => {
                        removed += 1;
                        DiffOp::Remove
                    }
                };
                let text = change.value().strip_suffix('\n').unwrap_or(change.value());
                lines.push(DiffLine { op, text: text.strip_suffix('\r').unwrap_or(text).to_owned() });
            }
        }
        hunks.push(DiffHunk {
            old_start: u32::try_from(first.old_range().start + 1).unwrap_or(u32::MAX),
            new_start: u32::try_from(first.new_range().start + 1).unwrap_or(u32::MAX),
            lines,
        });
    }
    (hunks, added, removed)
}

/// `text` cut to at most `max` characters, and whether it was cut.
pub fn cut(text: &str, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((i, _)) => (text[..i].to_owned(), true),
        None => (text.to_owned(), false),
    }
}

fn str_field<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

/// The first line of `text`, cut to 200 characters.
fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let (mut s, cut_off) = cut(line, 200);
    if cut_off || text.lines().nth(1).is_some() {
        s.push('…');
    }
    s
}

/// The edits of an `Edit` (`old_string`/`new_string`) or a `MultiEdit` (`edits: [...]`).
fn edits(input: &Value) -> Vec<(&str, &str)> {
    fn pair(v: &Value) -> Option<(&str, &str)> {
        Some((v.get("old_string")?.as_str()?, v.get("new_string")?.as_str()?))
    }
    match input.get("edits").and_then(Value::as_array) {
        Some(list) => list.iter().filter_map(pair).collect(),
        None => pair(input).into_iter().collect(),
    }
}

/// The view of a call of tool `name` with `input`.
pub fn tool_view(name: &str, input: &Value) -> ToolView {
    let path = str_field(input, "file_path").or_else(|| str_field(input, "notebook_path")).unwrap_or_default();
    let (summary, detail) = match name {
        "Bash" => {
            let command = str_field(input, "command").unwrap_or_default().to_owned();
            let description = str_field(input, "description").map(str::to_owned);
            (one_line(&command), ToolDetail::Command { command, description })
        }
        "Edit" | "MultiEdit" if !edits(input).is_empty() => {
            let (mut hunks, mut added, mut removed, mut truncated) = (Vec::new(), 0, 0, false);
            for (old, new) in edits(input) {
                let (old, cut_old) = cut(old, MAX_VIEW_CHARS);
                let (new, cut_new) = cut(new, MAX_VIEW_CHARS);
                let (h, a, r) = diff_hunks(&old, &new);
                hunks.extend(h);
                added += a;
                removed += r;
                truncated |= cut_old || cut_new;
            }
            let summary = format!("{path} (+{added} −{removed})");
            (summary, ToolDetail::Diff { path: path.to_owned(), hunks, added, removed, truncated })
        }
        "Write" => {
            let whole = str_field(input, "content").unwrap_or_default();
            let lines = u32::try_from(whole.lines().count()).unwrap_or(u32::MAX);
            let (content, truncated) = cut(whole, MAX_VIEW_CHARS);
            (
                format!("{path} ({lines} lines)"),
                ToolDetail::Content { path: path.to_owned(), content, lines, truncated },
            )
        }
        "Read" | "Grep" | "Glob" | "WebFetch" | "WebSearch" | "LS" | "NotebookRead" => {
            let target = ["file_path", "pattern", "url", "query", "path"]
                .iter()
                .find_map(|k| str_field(input, k))
                .unwrap_or_default();
            (one_line(target), ToolDetail::Lookup { input: input.clone() })
        }
        "Task" | "Agent" => {
            let description = str_field(input, "description").unwrap_or_default().to_owned();
            let prompt = str_field(input, "prompt").unwrap_or_default().to_owned();
            let agent = str_field(input, "subagent_type").map(str::to_owned);
            (one_line(&description), ToolDetail::Task { description, prompt, agent })
        }
        _ => {
            let summary = ["command", "file_path", "path", "pattern", "url", "query", "description"]
                .iter()
                .find_map(|k| str_field(input, k))
                .map(one_line)
                .unwrap_or_default();
            (summary, ToolDetail::Other { input: input.clone() })
        }
    };
    ToolView { name: name.to_owned(), summary, detail }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_edit_is_a_diff_with_context_and_counts() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nD\ne\nf\ng\nh\ni\n";
        let view = tool_view("Edit", &json!({"file_path": "/w/x.rs", "old_string": old, "new_string": new}));
        let ToolDetail::Diff { path, hunks, added, removed, truncated } = view.detail else { panic!("{view:?}") };
        assert_eq!((path.as_str(), added, removed, truncated), ("/w/x.rs", 2, 1, false));
        assert_eq!(view.summary, "/w/x.rs (+2 −1)");
        assert_eq!(hunks.len(), 1, "changes 4 lines apart share a hunk with 3 lines of context");
        let ops: Vec<(DiffOp, &str)> = hunks[0].lines.iter().map(|l| (l.op, l.text.as_str())).collect();
        assert_eq!(ops[..4], [(DiffOp::Keep, "a"), (DiffOp::Keep, "b"), (DiffOp::Keep, "c"), (DiffOp::Remove, "d")]);
        assert_eq!(ops[4], (DiffOp::Add, "D"));
        assert_eq!(ops.last(), Some(&(DiffOp::Add, "i")));
        assert_eq!((hunks[0].old_start, hunks[0].new_start), (1, 1));
    }

    #[test]
    fn a_multi_edit_diffs_every_edit() {
        let input = json!({"file_path": "f", "edits": [
            {"old_string": "x", "new_string": "y"},
            {"old_string": "p\nq", "new_string": "p"},
        ]});
        let ToolDetail::Diff { added, removed, hunks, .. } = tool_view("MultiEdit", &input).detail else {
            panic!("not a diff")
        };
        assert_eq!((added, removed, hunks.len()), (2, 3, 2));
    }

    #[test]
    fn a_write_shows_its_content_cut_at_the_limit() {
        let big = "line\n".repeat(MAX_VIEW_CHARS);
        let view = tool_view("Write", &json!({"file_path": "/w/big.txt", "content": big}));
        let ToolDetail::Content { content, lines, truncated, .. } = view.detail else { panic!("not content") };
        assert_eq!((content.chars().count(), lines, truncated), (MAX_VIEW_CHARS, MAX_VIEW_CHARS as u32, true));
        assert_eq!(view.summary, format!("/w/big.txt ({MAX_VIEW_CHARS} lines)"));
    }

    #[test]
    fn bash_lookups_tasks_and_unknown_tools() {
        let bash = tool_view("Bash", &json!({"command": "ls -la\necho hi", "description": "List"}));
        assert_eq!(bash.summary, "ls -la…");
        assert_eq!(
            bash.detail,
            ToolDetail::Command { command: "ls -la\necho hi".into(), description: Some("List".into()) }
        );
        assert_eq!(tool_view("Grep", &json!({"pattern": "fn main", "path": "src"})).summary, "fn main");
        let task = tool_view("Task", &json!({"description": "Find it", "prompt": "Look", "subagent_type": "Explore"}));
        assert_eq!(
            task.detail,
            ToolDetail::Task { description: "Find it".into(), prompt: "Look".into(), agent: Some("Explore".into()) }
        );
        let mcp = tool_view("mcp__x__y", &json!({"url": "https://e.x"}));
        assert_eq!(
            (mcp.summary.as_str(), &mcp.detail),
            ("https://e.x", &ToolDetail::Other { input: json!({"url": "https://e.x"}) })
        );
        // An Edit without strings (a newer input shape) is shown as it came, never dropped.
        assert!(matches!(tool_view("Edit", &json!({"file_path": "f"})).detail, ToolDetail::Other { .. }));
        assert_eq!(tool_view("Bash", &Value::Null).summary, "");
    }
}
