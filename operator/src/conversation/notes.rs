//! Cockpit's own happenings in a conversation: the session events that a person reading the
//! conversation should see where they happened (an account change, a wait for a reset, the
//! worker's end, an approval answered from the phone).

use chrono::{DateTime, Utc};
use cockpit_api::conversation::{ConversationEntry, ConversationItem};
use cockpit_api::tool_view::{ToolDetail, ToolView, cut};
use cockpit_api::{ApprovalDecision, PendingApproval};
use serde_json::json;

use crate::store::EventRow;

/// The session-event kind whose rows are notes (`{reason, message, until?}`).
pub const NOTE_KIND: &str = "event";

/// The conversation entry of a stored session event, if it is a note.
pub fn note_entry(row: &EventRow) -> Option<ConversationEntry> {
    if row.kind != NOTE_KIND {
        return None;
    }
    let text = |key: &str| row.data.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
    let until = text("until").and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc));
    Some(ConversationEntry {
        key: format!("e{}", row.id),
        at: Some(row.at),
        sidechain: false,
        item: ConversationItem::Note {
            reason: text("reason").unwrap_or_else(|| "Event".to_owned()),
            message: text("message").unwrap_or_default(),
            until,
        },
    })
}

/// The note recorded when the person answers a pending approval from Cockpit: which tool,
/// what it was to do, the answer (and a deny's words to Claude).
pub fn answer_note(pending: &PendingApproval, decision: ApprovalDecision, message: Option<&str>) -> serde_json::Value {
    let what = match pending.view.as_ref().map(short_target).filter(|s| !s.is_empty()) {
        Some(target) => format!("{} ({target})", pending.tool),
        None => pending.tool.clone(),
    };
    let (reason, text) = match decision {
        ApprovalDecision::Allow => ("Approved", format!("Allowed {what}")),
        ApprovalDecision::AllowAlways => match &pending.always_allows {
            Some(grant) => ("ApprovedAlways", format!("Allowed {what}; from now on: {grant}")),
            None => ("ApprovedAlways", format!("Allowed {what}")),
        },
        ApprovalDecision::Deny => match message.map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => ("Denied", format!("Denied {what}: “{m}”")),
            None => ("Denied", format!("Denied {what}")),
        },
    };
    json!({ "reason": reason, "message": text })
}

/// What a call works on, short enough for one line on a phone: a file's name, a command's
/// start, the summary's start.
fn short_target(view: &ToolView) -> String {
    let file_name = |path: &str| path.rsplit('/').next().unwrap_or(path).to_owned();
    let short = |text: &str| {
        let (mut s, cut_off) = cut(text.lines().next().unwrap_or_default(), 60);
        if cut_off {
            s.push('…');
        }
        s
    };
    match &view.detail {
        ToolDetail::Diff { path, .. } | ToolDetail::Content { path, .. } => file_name(path),
        ToolDetail::Command { command, .. } => short(command),
        _ => short(&view.summary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_told_with_the_tool_and_a_denys_words() {
        let mut pending = PendingApproval::on_screen("Bash".into());
        pending.view = Some(cockpit_api::tool_view::tool_view("Bash", &json!({"command": "rm -rf build"})));
        assert_eq!(
            answer_note(&pending, ApprovalDecision::Allow, None),
            json!({"reason": "Approved", "message": "Allowed Bash (rm -rf build)"})
        );
        assert_eq!(
            answer_note(&pending, ApprovalDecision::Deny, Some(" use cargo clean ")),
            json!({"reason": "Denied", "message": "Denied Bash (rm -rf build): “use cargo clean”"})
        );
        pending.always_allows = Some("Bash(rm -rf build)".into());
        assert_eq!(
            answer_note(&pending, ApprovalDecision::AllowAlways, None)["message"],
            "Allowed Bash (rm -rf build); from now on: Bash(rm -rf build)"
        );
        pending.view = Some(cockpit_api::tool_view::tool_view(
            "Edit",
            &json!({"file_path": "/tmp/x/worktrees/demo/s/src/lib.rs", "old_string": "a", "new_string": "b"}),
        ));
        assert_eq!(answer_note(&pending, ApprovalDecision::Deny, None)["message"], "Denied Bash (lib.rs)");
        pending.view = None;
        pending.always_allows = None;
        assert_eq!(answer_note(&pending, ApprovalDecision::AllowAlways, None)["message"], "Allowed Bash");
    }

    fn row(kind: &str, data: serde_json::Value) -> EventRow {
        EventRow { id: 7, session_id: "s".into(), at: DateTime::UNIX_EPOCH, kind: kind.into(), data }
    }

    #[test]
    fn events_become_notes_and_other_kinds_do_not() {
        let until = "2026-12-02T03:03:00+00:00";
        let e = note_entry(&row(
            "event",
            json!({"reason": "RateLimited", "message": "every account is limited", "until": until}),
        ))
        .expect("a note");
        assert_eq!(e.key, "e7");
        assert_eq!(
            e.item,
            ConversationItem::Note {
                reason: "RateLimited".into(),
                message: "every account is limited".into(),
                until: DateTime::parse_from_rfc3339(until).ok().map(|t| t.with_timezone(&Utc)),
            }
        );
        assert!(note_entry(&row("state", json!({"phase": "Running"}))).is_none());
        let bare = note_entry(&row("event", json!(null))).expect("a note");
        assert!(matches!(bare.item, ConversationItem::Note { ref reason, .. } if reason == "Event"));
    }
}
