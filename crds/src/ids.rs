//! Ids that are easy to mix up, as types of their own.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A Claude Code conversation id: the UUID the CLI calls its "session id" (`--session-id`,
/// `--resume`, the name of the transcript file). It is not a Cockpit session's id (the
/// `ClaudeSession` or its row), which names the session that runs the conversation; a session
/// moves its conversation from account to account and can continue another one.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, TS)]
#[serde(transparent)]
pub struct ConversationId(String);

impl ConversationId {
    /// The id as the CLI wrote or will take it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a UUID: what the CLI writes and takes (`--session-id`, `--resume`), and the
    /// only kind that may name a file. `None` for anything else.
    pub fn uuid(&self) -> Option<uuid::Uuid> {
        uuid::Uuid::parse_str(&self.0).ok()
    }
}

/// A Cockpit session's id: the id of the session Cockpit runs (its row in the store, a UUID in
/// the local runtime; the `ClaudeSession`'s `metadata.uid` in Kubernetes mode). It never changes
/// for the session's life, and the session's output stream, history and worker are keyed by it.
///
/// It is not a [`ConversationId`], Claude's own id of the conversation the session runs (which
/// the CLI calls its "session id"): a session can move its conversation between accounts or
/// continue another one, so the two differ. Nor is it the session's *name*, the unique,
/// person-chosen `[a-z0-9-]` word (the `ClaudeSession`'s `metadata.name`) that also finds a
/// session in a URL.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, TS)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// The id as the store, the URLs and the labels spell it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What every id type here has: it reads as the `str` it wraps (`Deref`, `Display`, equality
/// with a `&str`; its `Debug` is the string's, `"5d1f…"`, so messages and logs read as they did
/// when ids were plain strings) and is made from a `String`, a `&str` or a UUID.
macro_rules! string_id {
    ($name:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> $name {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> $name {
                $name(id.to_owned())
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> $name {
                $name(id.to_string())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

string_id!(ConversationId);
string_id!(SessionId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_id_is_a_plain_string_on_the_wire() {
        let id = ConversationId::from("0b7c7a52-4a8e-4a55-9f3c-4f1a2d1e9e10");
        assert_eq!(serde_json::to_string(&id).expect("json"), "\"0b7c7a52-4a8e-4a55-9f3c-4f1a2d1e9e10\"");
        assert_eq!(serde_json::from_str::<ConversationId>("\"abc\"").expect("json"), "abc");
        assert_eq!(id.uuid().map(|u| u.to_string()).as_deref(), Some("0b7c7a52-4a8e-4a55-9f3c-4f1a2d1e9e10"));
        assert_eq!(ConversationId::from("../etc/passwd").uuid(), None);
        assert_eq!(format!("{:?}", ConversationId::from("abc")), "\"abc\"");
        let schema = schemars::schema_for!(ConversationId);
        assert_eq!(schema.as_value()["type"], "string");
    }

    #[test]
    fn a_session_id_is_a_plain_string_on_the_wire() {
        let uuid = uuid::Uuid::parse_str("5d1f6a0e-2b7c-4f8e-9a3d-1c2b3a4d5e6f").expect("uuid");
        let id = SessionId::from(uuid);
        assert_eq!(id, "5d1f6a0e-2b7c-4f8e-9a3d-1c2b3a4d5e6f");
        assert_eq!(serde_json::to_string(&id).expect("json"), "\"5d1f6a0e-2b7c-4f8e-9a3d-1c2b3a4d5e6f\"");
        assert_eq!(serde_json::from_str::<SessionId>("\"abc\"").expect("json"), "abc");
        assert_eq!(SessionId::from(String::from("abc")).as_str(), "abc");
        assert_eq!(&*SessionId::from("abc"), "abc");
        assert_eq!(SessionId::from("abc").to_string(), "abc");
        assert_eq!(format!("{:?}", SessionId::from("abc")), "\"abc\"");
        let schema = schemars::schema_for!(SessionId);
        assert_eq!(schema.as_value()["type"], "string");
        assert_eq!(SessionId::decl(&ts_rs::Config::new()), "type SessionId = string;");
    }
}
