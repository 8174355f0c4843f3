//! The audit trail of a session terminal: every approval one entry, and what a client typed
//! (text, keys, resizes) summed per connection into an entry every few seconds and at the end,
//! so the log shows who drove a CLI and when without an entry per keystroke. Only counts are
//! kept, never the text: what was typed may be a secret.

use chrono::Utc;
use cockpit_api::frames::ClientFrame;
use cockpit_api::ids::SessionId;
use serde_json::json;

use crate::store::Store;

/// How often a connection's typing is written to the audit log while it goes on.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What one client sent to a session's CLI since the last entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Typed {
    /// `input` frames and raw binary frames.
    pub inputs: u64,
    /// Bytes of text typed (UTF-8).
    pub bytes: u64,
    /// Named keys (`key` frames).
    pub keys: u64,
    /// Terminal size changes.
    pub resizes: u64,
}

impl Typed {
    /// Counts a frame that reached the worker; an approval is returned as its own audit detail.
    pub fn count(&mut self, frame: &ClientFrame) -> Option<serde_json::Value> {
        match frame {
            ClientFrame::Input { data } => {
                self.inputs += 1;
                self.bytes += data.len() as u64;
            }
            ClientFrame::Key { .. } => self.keys += 1,
            ClientFrame::Resize { .. } => self.resizes += 1,
            ClientFrame::Approve { id, decision, message } => {
                return Some(json!({ "id": id, "decision": decision, "reason": message.is_some(), "via": "terminal" }));
            }
        }
        None
    }

    /// Counts raw bytes (a binary frame) that reached the worker.
    pub fn count_raw(&mut self, len: usize) {
        self.inputs += 1;
        self.bytes += len as u64;
    }

    /// The entry's detail for what was counted, and a fresh tally; `None` when nothing was.
    pub fn take(&mut self) -> Option<serde_json::Value> {
        if *self == Typed::default() {
            return None;
        }
        let typed = std::mem::take(self);
        Some(json!({
            "inputs": typed.inputs,
            "bytes": typed.bytes,
            "keys": typed.keys,
            "resizes": typed.resizes,
            "via": "terminal",
        }))
    }
}

/// Who is on the other end of one terminal connection, for its audit entries.
#[derive(Clone, Debug)]
pub struct Auditor {
    /// The database.
    pub store: Store,
    /// `Tailscale-User-Login`, when the tailnet said.
    pub actor: Option<String>,
    /// The session driven.
    pub session_id: SessionId,
}

impl Auditor {
    /// Writes an entry without holding up the terminal (a failure is logged).
    pub fn record(&self, action: &'static str, detail: serde_json::Value) {
        let auditor = self.clone();
        tokio::spawn(async move { auditor.write(action, detail).await });
    }

    /// Writes an entry (a failure is logged).
    pub async fn write(&self, action: &str, detail: serde_json::Value) {
        let at = Utc::now();
        if let Err(err) = self.store.audit(at, self.actor.as_deref(), action, Some(&self.session_id), &detail).await {
            tracing::warn!(%err, session = %self.session_id, "writing the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use cockpit_api::frames::Key;

    use super::*;

    #[test]
    fn typing_is_summed_and_approvals_stand_alone() {
        let mut typed = Typed::default();
        assert_eq!(typed.take(), None, "nothing typed, no entry");
        assert_eq!(typed.count(&ClientFrame::Input { data: "héllo".into() }), None);
        assert_eq!(typed.count(&ClientFrame::Key { key: Key::Enter }), None);
        assert_eq!(typed.count(&ClientFrame::Resize { cols: 80, rows: 24 }), None);
        typed.count_raw(3);
        let approval = typed.count(&ClientFrame::Approve {
            id: "toolu_1".into(),
            decision: cockpit_api::ApprovalDecision::Deny,
            message: Some("secret reason".into()),
        });
        let approval = approval.expect("an approval is an entry of its own");
        assert_eq!(approval["id"], "toolu_1");
        assert_eq!(approval["reason"], true);
        assert!(!approval.to_string().contains("secret reason"), "what was typed is not kept");
        let entry = typed.take().expect("an entry");
        assert_eq!(entry, json!({"inputs": 2, "bytes": 9, "keys": 1, "resizes": 1, "via": "terminal"}));
        assert!(!entry.to_string().contains("héllo"));
        assert_eq!(typed.take(), None, "taken");
    }
}
