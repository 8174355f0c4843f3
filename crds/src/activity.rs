//! What a Claude Code session is doing, as its worker knows it.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a Claude Code session is doing right now. The worker derives it from Claude Code's
/// hooks first and from the rendered terminal screen as a fallback; the control plane copies
/// it into `ClaudeSession.status.activity`, and the PWA shows it as a badge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
pub enum Activity {
    /// The CLI is starting and has not shown its prompt yet.
    #[default]
    Starting,
    /// Claude is working on a turn (thinking, streaming, running tools).
    Working,
    /// The turn is over: Claude waits for the user's next message.
    Idle,
    /// A permission dialog is open: a tool call waits for allow or deny.
    NeedsApproval,
    /// A usage limit was hit; the window and the reset time are in `rateLimit`.
    RateLimited,
    /// The account's credentials were refused (not logged in, invalid or expired token).
    NeedsLogin,
    /// The CLI process has exited.
    Exited,
}

impl Activity {
    /// Every activity, in declaration order.
    pub const ALL: [Activity; 7] = [
        Activity::Starting,
        Activity::Working,
        Activity::Idle,
        Activity::NeedsApproval,
        Activity::RateLimited,
        Activity::NeedsLogin,
        Activity::Exited,
    ];

    /// The name used on the wire and in the CRD status.
    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Starting => "Starting",
            Activity::Working => "Working",
            Activity::Idle => "Idle",
            Activity::NeedsApproval => "NeedsApproval",
            Activity::RateLimited => "RateLimited",
            Activity::NeedsLogin => "NeedsLogin",
            Activity::Exited => "Exited",
        }
    }

    /// True when the session waits for the person (a push notification is worth sending).
    pub fn needs_user(self) -> bool {
        matches!(self, Activity::Idle | Activity::NeedsApproval | Activity::RateLimited | Activity::NeedsLogin)
    }
}

impl std::fmt::Display for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which usage-limit window was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitWindow {
    /// The rolling five-hour session window (`five_hour`).
    Session,
    /// The seven-day window (`seven_day`).
    Weekly,
    /// The seven-day Opus window (`seven_day_opus`).
    Opus,
    /// The seven-day Sonnet window (`seven_day_sonnet`).
    Sonnet,
    /// Any other limit (overage, org spend caps, generic "usage limit").
    Other,
}

impl RateLimitWindow {
    /// Maps the API's `rateLimitType` / `representative-claim` names to a window.
    pub fn from_claim(claim: &str) -> RateLimitWindow {
        match claim {
            "five_hour" => RateLimitWindow::Session,
            "seven_day" => RateLimitWindow::Weekly,
            "seven_day_opus" => RateLimitWindow::Opus,
            "seven_day_sonnet" => RateLimitWindow::Sonnet,
            _ => RateLimitWindow::Other,
        }
    }
}

/// A usage limit that was hit: which window, and when it resets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// The window that was exhausted.
    pub window: RateLimitWindow,
    /// When the window resets, as an absolute UTC time; absent when the CLI did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub resets_at: Option<DateTime<Utc>>,
    /// The CLI's own words, e.g. `You've hit your session limit · resets 11:29pm (UTC)`.
    pub message: String,
}

/// A tool call waiting for the person's allow or deny.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct PendingApproval {
    /// Identifies this request; an answer must name it.
    pub id: String,
    /// The tool Claude wants to use (`Bash`, `Write`, …).
    pub tool: String,
    /// The tool's input as Claude sent it (e.g. `{"command": "…"}`), when known.
    #[ts(type = "unknown")]
    pub input: serde_json::Value,
    /// True when the request came through the PermissionRequest hook and can be answered
    /// without touching the terminal; false when only the screen shows the dialog.
    pub answerable: bool,
    /// What the call does, for a person: the command, an Edit's diff, a Write's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<crate::tool_view::ToolView>,
    /// The CLI's "don't ask again" choice for this call, granted by
    /// [`ApprovalDecision::AllowAlways`]: the allow rules it suggests (the hook's
    /// `permission_suggestions`), or else the mode it suggests for edits — never more (see
    /// [`always_allow_suggestions`]); empty when it offers none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(type = "unknown[]")]
    pub suggestions: Vec<serde_json::Value>,
    /// What "always allow" grants, in words (`Bash(touch mockfile.txt)`, `accept edits for
    /// this session`); absent when there is nothing to grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_allows: Option<String>,
}

/// Of the CLI's `permission_suggestions`, the ones "always allow" grants, as its own "Yes, and
/// don't ask again" choice does: the `addRules` suggestions that allow; when there are none, a
/// `setMode` suggestion (an edit's "allow all edits during this session"). Extra directories
/// and any other kind are left out: an answer grants no more than the call asked for.
pub fn always_allow_suggestions(suggestions: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let kind = |s: &serde_json::Value| s.get("type").and_then(serde_json::Value::as_str).map(str::to_owned);
    let rules: Vec<serde_json::Value> = suggestions
        .iter()
        .filter(|s| {
            kind(s).as_deref() == Some("addRules") && s.get("behavior").and_then(|b| b.as_str()) == Some("allow")
        })
        .cloned()
        .collect();
    if !rules.is_empty() {
        return rules;
    }
    suggestions.iter().filter(|s| kind(s).as_deref() == Some("setMode")).take(1).cloned().collect()
}

/// What granting `suggestions` (from [`always_allow_suggestions`]) means, in words.
pub fn describe_always_allow(suggestions: &[serde_json::Value]) -> Option<String> {
    let mut parts = Vec::new();
    for s in suggestions {
        match s.get("type").and_then(serde_json::Value::as_str) {
            Some("addRules") => {
                for rule in s.get("rules").and_then(serde_json::Value::as_array).into_iter().flatten() {
                    let tool = rule.get("toolName").and_then(serde_json::Value::as_str).unwrap_or("tool");
                    parts.push(match rule.get("ruleContent").and_then(serde_json::Value::as_str) {
                        Some(content) => format!("{tool}({content})"),
                        None => format!("every {tool} call"),
                    });
                }
            }
            Some("setMode") => match s.get("mode").and_then(serde_json::Value::as_str) {
                Some("acceptEdits") => parts.push("accept edits for this session".to_owned()),
                Some(mode) => parts.push(format!("{mode} mode for this session")),
                None => {}
            },
            _ => {}
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod always_allow_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn always_allow_grants_the_rules_or_else_the_edit_mode_never_directories() {
        let rule = json!({"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "touch x"}], "behavior": "allow", "destination": "localSettings"});
        let dirs = json!({"type": "addDirectories", "directories": ["/srv"], "destination": "session"});
        let mode = json!({"type": "setMode", "mode": "acceptEdits", "destination": "session"});
        let bash = always_allow_suggestions(&[rule.clone(), dirs.clone(), mode.clone()]);
        assert_eq!(bash, [rule]);
        assert_eq!(describe_always_allow(&bash).as_deref(), Some("Bash(touch x)"));
        let edit = always_allow_suggestions(&[dirs.clone(), mode.clone()]);
        assert_eq!(edit, [mode]);
        assert_eq!(describe_always_allow(&edit).as_deref(), Some("accept edits for this session"));
        assert!(always_allow_suggestions(&[dirs]).is_empty());
        assert_eq!(describe_always_allow(&[]), None);
    }
}

impl PendingApproval {
    /// A request only the screen shows (no hook to answer it through): `tool` is what the
    /// dialog names (`question` for a question Claude asks).
    pub fn on_screen(tool: String) -> PendingApproval {
        PendingApproval {
            id: "screen".to_owned(),
            tool,
            input: serde_json::Value::Null,
            answerable: false,
            view: None,
            suggestions: Vec::new(),
            always_allows: None,
        }
    }
}

/// The person's answer to a [`PendingApproval`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// Let the tool run.
    Allow,
    /// Let the tool run, and add the CLI's own "don't ask again" suggestions
    /// ([`PendingApproval::suggestions`]) so that calls like it run without asking.
    AllowAlways,
    /// Refuse the tool call.
    Deny,
}
