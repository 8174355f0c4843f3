//! What a session changed: its worktree (or, once the worktree is gone, its branch) against
//! the commit the branch started from, file by file, as line diffs. Read-only: only git's
//! read commands run (`merge-base`, `diff --name-status`, `ls-files`, `show`).

use std::path::Path;

use cockpit_api::changes::{ChangesView, FileChange, FileStatus, MAX_CHANGED_FILES};
use cockpit_api::tool_view::{cut, diff_hunks};

use crate::worktree::{WorktreeError, branch_name, git, git_ok, git_repo, worktree_dir};

/// Bytes of a file diffed at most (the diff covers its start).
const MAX_DIFF_BYTES: usize = 256 * 1024;

/// The changes of session `session_name` on the repo at `repo_path` (whose worktrees live
/// under `data_dir`). A repo that is no git repository, or a session without a branch, has
/// none to show (`branch` absent).
pub async fn session_changes(
    repo_path: &Path,
    data_dir: &Path,
    session_name: &str,
) -> Result<ChangesView, WorktreeError> {
    let none = ChangesView { branch: None, base: None, files: Vec::new(), truncated: false };
    let Some(repo) = git_repo(repo_path).await? else { return Ok(none) };
    let branch = branch_name(session_name);
    let branch_ref = format!("refs/heads/{branch}");
    if !git(&repo, ["rev-parse", "--verify", "--quiet", branch_ref.as_str()]).await?.status.success() {
        return Ok(none);
    }
    // The branch started from the repo's HEAD of then: where the two meet.
    let base = git_ok(&repo, ["merge-base", branch_ref.as_str(), "HEAD"]).await?.trim().to_owned();
    let dir = worktree_dir(&repo, data_dir, session_name)?;
    let live = dir.join(".git").exists();
    let listing = if live {
        let mut listing = git_ok(&dir, ["diff", "--name-status", "--no-renames", "-z", base.as_str()]).await?;
        for path in git_ok(&dir, ["ls-files", "--others", "--exclude-standard", "-z"]).await?.split('\0') {
            if !path.is_empty() {
                listing.push_str(&format!("A\0{path}\0"));
            }
        }
        listing
    } else {
        git_ok(&repo, ["diff", "--name-status", "--no-renames", "-z", base.as_str(), branch_ref.as_str()]).await?
    };
    let entries = parse_name_status(&listing);
    let truncated = entries.len() > MAX_CHANGED_FILES;
    let mut files = Vec::new();
    for (status, path) in entries.into_iter().take(MAX_CHANGED_FILES) {
        let old = match status {
            FileStatus::Added => Vec::new(),
            _ => blob(&repo, &format!("{base}:{path}")).await?,
        };
        let new = match status {
            FileStatus::Deleted => Vec::new(),
            _ if live => std::fs::read(dir.join(&path)).unwrap_or_default(),
            _ => blob(&repo, &format!("{branch_ref}:{path}")).await?,
        };
        files.push(file_change(path, status, &old, &new));
    }
    let short = base.chars().take(12).collect();
    Ok(ChangesView { branch: Some(branch), base: Some(short), files, truncated })
}

/// A file's contents at `spec` (`<commit>:<path>`); empty when it has none there.
async fn blob(repo: &Path, spec: &str) -> Result<Vec<u8>, WorktreeError> {
    let out = git(repo, ["show", spec]).await?;
    Ok(if out.status.success() { out.stdout } else { Vec::new() })
}

/// `git diff --name-status -z` output: status letter, NUL, path, NUL, … (renames are off).
fn parse_name_status(listing: &str) -> Vec<(FileStatus, String)> {
    let mut parts = listing.split('\0');
    let mut out: Vec<(FileStatus, String)> = Vec::new();
    while let (Some(code), Some(path)) = (parts.next(), parts.next()) {
        let status = match code.chars().next() {
            Some('A') => FileStatus::Added,
            Some('D') => FileStatus::Deleted,
            Some(_) => FileStatus::Modified,
            None => continue,
        };
        out.push((status, path.to_owned()));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out.dedup_by(|a, b| a.1 == b.1);
    out
}

/// One file's change from `old` to `new` bytes: a line diff, or `binary` when either side
/// holds a NUL byte.
pub fn file_change(path: String, status: FileStatus, old: &[u8], new: &[u8]) -> FileChange {
    let binary = |bytes: &[u8]| bytes.iter().take(8192).any(|b| *b == 0);
    if binary(old) || binary(new) {
        return FileChange { path, status, added: 0, removed: 0, hunks: Vec::new(), binary: true, truncated: false };
    }
    let text = |bytes: &[u8]| {
        let whole = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_DIFF_BYTES)]).into_owned();
        (cut(&whole, MAX_DIFF_BYTES).0, bytes.len() > MAX_DIFF_BYTES)
    };
    let ((old, cut_old), (new, cut_new)) = (text(old), text(new));
    let (hunks, added, removed) = diff_hunks(&old, &new);
    FileChange { path, status, added, removed, hunks, binary: false, truncated: cut_old || cut_new }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_status_listings_are_read_sorted_and_once_per_path() {
        let listing = "M\0src/lib.rs\0A\0new.txt\0D\0gone.md\0A\0new.txt\0";
        assert_eq!(
            parse_name_status(listing),
            [
                (FileStatus::Deleted, "gone.md".to_owned()),
                (FileStatus::Added, "new.txt".to_owned()),
                (FileStatus::Modified, "src/lib.rs".to_owned()),
            ]
        );
        assert!(parse_name_status("").is_empty());
    }

    #[test]
    fn binary_files_have_no_line_diff() {
        let change = file_change("a.png".into(), FileStatus::Modified, b"\x89PNG\0\x01", b"\x89PNG\0\x02");
        assert!(change.binary && change.hunks.is_empty());
        let text = file_change("a.txt".into(), FileStatus::Added, b"", b"one\ntwo\n");
        assert_eq!((text.added, text.removed, text.binary), (2, 0, false));
    }
}
