//! What a session changed in its repo: the files its worktree differs in from the commit its
//! branch started at (`GET /api/sessions/{id}/changes`), read-only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::tool_view::DiffHunk;

/// A session's changes against the commit its branch started from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ChangesView {
    /// The session's branch (`cockpit/<session>`); absent when the session works in a plain
    /// directory (no git worktree), which has no changes to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub branch: Option<String>,
    /// The commit the branch started from (abbreviated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub base: Option<String>,
    /// The changed files, by path (at most [`MAX_CHANGED_FILES`]).
    pub files: Vec<FileChange>,
    /// True when more files changed than are listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// Most files listed in a [`ChangesView`].
pub const MAX_CHANGED_FILES: usize = 300;

/// One changed file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct FileChange {
    /// Its path in the repo.
    pub path: String,
    /// Added, modified or deleted.
    pub status: FileStatus,
    /// Lines added.
    pub added: u32,
    /// Lines removed.
    pub removed: u32,
    /// The diff (empty for a binary file).
    pub hunks: Vec<DiffHunk>,
    /// True for a binary file (no line diff).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub binary: bool,
    /// True when the file was too large to diff whole (the diff covers its start).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// What happened to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// New (untracked or added).
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}
