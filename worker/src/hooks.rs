//! Claude Code's hooks: the settings file that makes the CLI report its events to the worker,
//! the payloads it posts, and the answer to a PermissionRequest.

use cockpit_api::ApprovalDecision;
use serde::Deserialize;
use serde_json::{Value, json};

/// The hook events the worker listens to.
pub const HOOK_EVENTS: [&str; 10] = [
    "SessionStart",
    "UserPromptSubmit",
    "Stop",
    "StopFailure",
    "Notification",
    "PermissionRequest",
    "PreToolUse",
    "PostToolUse",
    "SessionEnd",
    "PermissionDenied",
];

/// The pseudo-event under which the `statusLine` command posts the status line's input.
pub const STATUS_LINE_EVENT: &str = "StatusLine";

/// Events whose hook entries take a tool-name matcher.
const TOOL_EVENTS: [&str; 3] = ["PermissionRequest", "PreToolUse", "PostToolUse"];

/// How long the CLI waits for the worker's answer to a PermissionRequest before it gives up on
/// the hook (the TUI dialog stays usable by keys meanwhile), in seconds.
pub const PERMISSION_HOOK_TIMEOUT_SECS: u64 = 86_400;

/// How the CLI reaches the worker: a `command` hook per event that runs `cockpit-worker
/// post-hook`, which posts its standard input to the worker's Unix socket. The worker believes
/// a post by its sender (a descendant of its own CLI), so the hook carries no secret at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandHook {
    /// The worker executable.
    pub exe: String,
    /// Arguments that select the worker command line in `exe` (`["worker"]` inside `cockpit`).
    pub exe_args: Vec<String>,
    /// The worker's hook socket.
    pub socket: String,
}

/// Quotes a word for the POSIX shell the CLI runs command hooks with.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The `--settings` JSON: a `command` hook per event, `post-hook --socket S --event E`; the
/// same command as the `statusLine` (event `StatusLine`: the CLI's usage figures); and
/// `autoContinueAtUsageLimit: false` — newer CLIs (the "Continue automatically at usage limit"
/// setting of `/config`) would otherwise wait out a limit on the same account by themselves,
/// while Cockpit moves the conversation to the next one (or waits, by its own rotation policy).
pub fn settings_json(command: &CommandHook) -> Value {
    let command_for = |event: &str| {
        format!(
            "{}{} post-hook --socket {} --event {event}",
            shell_quote(&command.exe),
            command.exe_args.iter().map(|a| format!(" {}", shell_quote(a))).collect::<String>(),
            shell_quote(&command.socket),
        )
    };
    let mut hooks = serde_json::Map::new();
    for event in HOOK_EVENTS {
        let timeout = if event == "PermissionRequest" { PERMISSION_HOOK_TIMEOUT_SECS } else { 10 };
        let hook = json!({ "type": "command", "command": command_for(event), "timeout": timeout });
        let entry = if TOOL_EVENTS.contains(&event) {
            json!({ "matcher": "*", "hooks": [hook] })
        } else {
            json!({ "hooks": [hook] })
        };
        hooks.insert(event.to_owned(), json!([entry]));
    }
    json!({
        "hooks": hooks,
        "statusLine": { "type": "command", "command": command_for(STATUS_LINE_EVENT), "padding": 0 },
        "autoContinueAtUsageLimit": false,
    })
}

/// The fields of a hook post the worker uses. Every field is optional: the CLI's payloads
/// differ per event and per version.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct HookPayload {
    /// The Claude session id.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The event's name as the CLI sent it.
    #[serde(default)]
    pub hook_event_name: Option<String>,
    /// StopFailure: `rate_limit`, `authentication_failed`, `overloaded`, …
    #[serde(default)]
    pub error: Option<String>,
    /// Stop / StopFailure: the last assistant message (the limit text on a rate limit).
    #[serde(default)]
    pub last_assistant_message: Option<String>,
    /// Notification: `permission_prompt`, `idle_prompt`, `elicitation_dialog`, …
    #[serde(default)]
    pub notification_type: Option<String>,
    /// Notification: the message shown.
    #[serde(default)]
    pub message: Option<String>,
    /// PermissionRequest / PreToolUse / PostToolUse: the tool.
    #[serde(default)]
    pub tool_name: Option<String>,
    /// PermissionRequest / PreToolUse / PostToolUse: the tool's input.
    #[serde(default)]
    pub tool_input: Option<Value>,
    /// UserPromptSubmit: the prompt.
    #[serde(default)]
    pub prompt: Option<String>,
    /// The permission mode the CLI is in (every event; changes with Shift-Tab).
    #[serde(default)]
    pub permission_mode: Option<String>,
    /// PermissionDenied: why the call was refused.
    #[serde(default)]
    pub reason: Option<String>,
    /// PermissionRequest: the CLI's "don't ask again" choices (rules, a mode).
    #[serde(default)]
    pub permission_suggestions: Option<Vec<Value>>,
}

/// What every hook post says besides its event: which conversation, in which permission mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookContext {
    /// The Claude session id.
    pub session_id: Option<String>,
    /// The CLI's permission mode, when it said and it is one Cockpit knows.
    pub permission_mode: Option<cockpit_api::PermissionMode>,
    /// `Stop`: Claude's last answer.
    pub last_assistant_message: Option<String>,
}

/// A hook event, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum HookEvent {
    /// The CLI started or resumed a session.
    SessionStart {
        /// The Claude session id.
        session_id: Option<String>,
    },
    /// The person submitted a prompt.
    UserPromptSubmit {
        /// The prompt's text.
        prompt: Option<String>,
    },
    /// A tool is about to run.
    PreToolUse,
    /// A tool ran.
    PostToolUse,
    /// A permission dialog opened.
    PermissionRequest {
        /// The tool.
        tool: String,
        /// Its input.
        input: Value,
        /// The CLI's "don't ask again" choices for it.
        suggestions: Vec<Value>,
    },
    /// A notification (`permission_prompt`, `idle_prompt`, …).
    Notification {
        /// The notification's type.
        kind: String,
        /// Its message.
        message: String,
    },
    /// The turn finished.
    Stop,
    /// The turn ended with an API error.
    StopFailure {
        /// The error class.
        error: String,
        /// The text shown (the limit message on `rate_limit`).
        message: String,
    },
    /// The session ended.
    SessionEnd,
    /// The CLI refused a tool call by itself (auto mode's classifier, a deny rule).
    PermissionDenied {
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
    /// The status line's input: usage figures, not an event of the turn.
    StatusLine(crate::statusline::StatusInput),
}

/// Why a hook post was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HookError {
    /// The path named no event the worker listens to.
    #[error("unknown hook event {0:?}")]
    UnknownEvent(String),
    /// The body was not the JSON the CLI posts.
    #[error("hook body is not valid JSON: {0}")]
    BadBody(String),
}

impl HookEvent {
    /// Parses the post for `event` (the path segment) from its JSON body; also returns the
    /// Claude session id every post carries.
    pub fn parse(event: &str, body: &[u8]) -> Result<(HookEvent, HookContext), HookError> {
        if event == STATUS_LINE_EVENT {
            let input = serde_json::from_slice(body).map_err(|e| HookError::BadBody(e.to_string()))?;
            return Ok((HookEvent::StatusLine(input), HookContext::default()));
        }
        if !HOOK_EVENTS.contains(&event) {
            return Err(HookError::UnknownEvent(event.chars().take(64).collect()));
        }
        let p: HookPayload = serde_json::from_slice(body).map_err(|e| HookError::BadBody(e.to_string()))?;
        let context = HookContext {
            session_id: p.session_id.clone().filter(|id| !id.is_empty()),
            permission_mode: p
                .permission_mode
                .as_ref()
                .and_then(|m| serde_json::from_value(Value::String(m.clone())).ok()),
            last_assistant_message: (event == "Stop").then(|| p.last_assistant_message.clone()).flatten(),
        };
        let parsed = match event {
            "SessionStart" => HookEvent::SessionStart { session_id: p.session_id },
            "UserPromptSubmit" => HookEvent::UserPromptSubmit { prompt: p.prompt },
            "PreToolUse" => HookEvent::PreToolUse,
            "PostToolUse" => HookEvent::PostToolUse,
            "PermissionRequest" => HookEvent::PermissionRequest {
                tool: p.tool_name.unwrap_or_else(|| "unknown".to_owned()),
                input: p.tool_input.unwrap_or(Value::Null),
                suggestions: cockpit_api::activity::always_allow_suggestions(
                    &p.permission_suggestions.unwrap_or_default(),
                ),
            },
            "Notification" => HookEvent::Notification {
                kind: p.notification_type.unwrap_or_default(),
                message: p.message.unwrap_or_default(),
            },
            "Stop" => HookEvent::Stop,
            "StopFailure" => HookEvent::StopFailure {
                error: p.error.unwrap_or_else(|| "unknown".to_owned()),
                message: p.last_assistant_message.unwrap_or_default(),
            },
            "PermissionDenied" => HookEvent::PermissionDenied {
                tool: p.tool_name.unwrap_or_else(|| "unknown".to_owned()),
                reason: p.reason.unwrap_or_default().chars().take(500).collect(),
            },
            _ => HookEvent::SessionEnd,
        };
        Ok((parsed, context))
    }
}

/// The hook answer that allows or denies a PermissionRequest; "allow always" adds the CLI's
/// own `suggestions` (`updatedPermissions`), as its "don't ask again" choice would.
pub fn permission_decision(decision: ApprovalDecision, message: Option<&str>, suggestions: &[Value]) -> Value {
    let decision = match decision {
        ApprovalDecision::Allow => json!({ "behavior": "allow" }),
        ApprovalDecision::AllowAlways if suggestions.is_empty() => json!({ "behavior": "allow" }),
        ApprovalDecision::AllowAlways => json!({ "behavior": "allow", "updatedPermissions": suggestions }),
        ApprovalDecision::Deny => json!({
            "behavior": "deny",
            "message": message.unwrap_or("Denied from Claude Cockpit"),
        }),
    };
    json!({ "hookSpecificOutput": { "hookEventName": "PermissionRequest", "decision": decision } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_goes_through_a_command_hook_to_the_socket_without_any_secret() {
        let cmd = CommandHook {
            exe: "/opt/it's/cockpit".into(),
            exe_args: vec!["worker".into()],
            socket: "/tmp/w/hooks.sock".into(),
        };
        let settings = settings_json(&cmd);
        for event in HOOK_EVENTS {
            let hook = &settings["hooks"][event][0]["hooks"][0];
            assert_eq!(hook["type"], "command");
            assert_eq!(
                hook["command"],
                format!(r"'/opt/it'\''s/cockpit' 'worker' post-hook --socket '/tmp/w/hooks.sock' --event {event}")
            );
        }
        assert_eq!(settings["hooks"]["PermissionRequest"][0]["hooks"][0]["timeout"], PERMISSION_HOOK_TIMEOUT_SECS);
        assert_eq!(settings["hooks"]["Stop"][0]["hooks"][0]["timeout"], 10);
        assert_eq!(settings["hooks"]["PreToolUse"][0]["matcher"], "*");
        assert!(settings["hooks"]["Stop"][0].get("matcher").is_none());
        assert_eq!(settings["autoContinueAtUsageLimit"], false, "Cockpit rotates; the CLI does not wait by itself");
        assert_eq!(
            settings["statusLine"]["command"],
            r"'/opt/it'\''s/cockpit' 'worker' post-hook --socket '/tmp/w/hooks.sock' --event StatusLine"
        );
        assert_eq!(settings["statusLine"]["type"], "command");
    }

    #[test]
    fn parses_the_posts_the_cli_sends() {
        let stop_failure = r#"{"session_id":"cd3a","hook_event_name":"StopFailure","error":"rate_limit","last_assistant_message":"You've hit your weekly limit · resets Nov 27, 11:36pm (UTC)"}"#.as_bytes();
        assert_eq!(
            HookEvent::parse("StopFailure", stop_failure),
            Ok((
                HookEvent::StopFailure {
                    error: "rate_limit".into(),
                    message: "You've hit your weekly limit · resets Nov 27, 11:36pm (UTC)".into()
                },
                HookContext { session_id: Some("cd3a".into()), ..HookContext::default() }
            ))
        );
        let perm = br#"{"tool_name":"Bash","tool_input":{"command":"touch x"}}"#;
        assert_eq!(
            HookEvent::parse("PermissionRequest", perm),
            Ok((
                HookEvent::PermissionRequest {
                    tool: "Bash".into(),
                    input: json!({"command": "touch x"}),
                    suggestions: vec![]
                },
                HookContext::default()
            ))
        );
        assert_eq!(
            HookEvent::parse("SessionStart", br#"{"session_id":"abc","source":"startup"}"#),
            Ok((
                HookEvent::SessionStart { session_id: Some("abc".into()) },
                HookContext { session_id: Some("abc".into()), ..HookContext::default() }
            ))
        );
        let (_, stop) = HookEvent::parse("Stop", br#"{"last_assistant_message":"All done."}"#).expect("parses");
        assert_eq!(stop.last_assistant_message.as_deref(), Some("All done."), "a turn's last words");
        let (_, context) =
            HookEvent::parse("UserPromptSubmit", br#"{"permission_mode":"acceptEdits","prompt":"x"}"#).expect("parses");
        assert_eq!(context.permission_mode, Some(cockpit_api::PermissionMode::AcceptEdits));
        assert_eq!(
            HookEvent::parse(
                "PermissionDenied",
                br#"{"tool_name":"Bash","tool_input":{},"reason":"sends data off the machine"}"#
            )
            .map(|(event, _)| event),
            Ok(HookEvent::PermissionDenied { tool: "Bash".into(), reason: "sends data off the machine".into() })
        );
        let (status, _) = HookEvent::parse("StatusLine", br#"{"rate_limits":{"five_hour":{"used_percentage":12}}}"#)
            .expect("the status line's input parses");
        assert!(matches!(status, HookEvent::StatusLine(input) if input.rate_limits.is_some()));
        let (_, context) = HookEvent::parse("Stop", br#"{"permission_mode":"someFutureMode"}"#).expect("parses");
        assert_eq!(context.permission_mode, None, "an unknown mode is not guessed at");
    }

    #[test]
    fn refuses_unknown_events_and_bad_bodies() {
        assert!(matches!(HookEvent::parse("Launch", b"{}"), Err(HookError::UnknownEvent(_))));
        assert!(matches!(HookEvent::parse("Stop", b"not json"), Err(HookError::BadBody(_))));
        assert!(matches!(HookEvent::parse("Stop", b"[1,2]"), Err(HookError::BadBody(_))));
    }

    #[test]
    fn decisions_have_the_hook_output_shape() {
        let allow = permission_decision(ApprovalDecision::Allow, None, &[json!({"type": "setMode"})]);
        assert_eq!(allow["hookSpecificOutput"]["decision"]["behavior"], "allow");
        assert_eq!(allow["hookSpecificOutput"]["decision"], json!({"behavior": "allow"}));
        let rule = json!({"type": "addRules", "rules": [{"toolName": "Bash"}], "behavior": "allow"});
        let always = permission_decision(ApprovalDecision::AllowAlways, None, std::slice::from_ref(&rule));
        assert_eq!(
            always["hookSpecificOutput"]["decision"],
            json!({"behavior": "allow", "updatedPermissions": [rule]})
        );
        let deny = permission_decision(ApprovalDecision::Deny, Some("not now"), &[rule]);
        assert_eq!(deny["hookSpecificOutput"]["decision"], json!({"behavior": "deny", "message": "not now"}));
    }
}
