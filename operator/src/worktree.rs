//! A git worktree per session, so parallel sessions on one repo do not trample each other.
//!
//! [`prepare`] gives a session its working directory: for a git repository with at least one
//! commit, a worktree at `<data_dir>/worktrees/<repo-dir-name>/<session>` on the branch
//! `cockpit/<session>` (created from the repo's current `HEAD`, or reused when it exists from
//! an earlier run of the same session); for any other directory, the directory itself.
//! [`remove`] takes the worktree away again but keeps the branch, committing any uncommitted
//! work to it first, so nothing a session did is lost.
//!
//! Everything goes through the `git` CLI; its stderr is part of every git error.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::sync::Mutex;

/// Directory under the data dir that holds the worktrees.
pub const WORKTREES_DIR: &str = "worktrees";
/// Prefix of the branch a session's worktree is on: `cockpit/<session>`.
pub const BRANCH_PREFIX: &str = "cockpit/";

/// Serializes worktree changes made by this process (git locks are not meant for contention).
static LOCK: Mutex<()> = Mutex::const_new(());

/// Environment variables that would point git somewhere else than the directory we give it.
const GIT_LOCATION_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

/// Everything that can go wrong preparing or removing a worktree.
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    /// The session name cannot be used in a path or a branch name.
    #[error("invalid session name {name:?}: it {reason}")]
    BadSessionName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The repo directory cannot be used.
    #[error("repo directory {}: {source}", path.display())]
    Repo {
        /// The repo directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The directory is a git repository but `git` cannot be run.
    #[error("{} is a git repository but `git` cannot be run: {source}", repo.display())]
    GitUnavailable {
        /// The repo directory.
        repo: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A git command failed.
    #[error("`git {args}` in {} failed ({status}): {stderr}", dir.display())]
    Git {
        /// Where it ran.
        dir: PathBuf,
        /// Its arguments.
        args: String,
        /// How it ended.
        status: String,
        /// What git said on stderr (trimmed).
        stderr: String,
    },
    /// A file system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path operated on.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The worktree's place is taken by something that is not a worktree of this repo.
    #[error("{} exists and is not a worktree of {}: move it away", path.display(), repo.display())]
    Occupied {
        /// The place.
        path: PathBuf,
        /// The repo.
        repo: PathBuf,
    },
    /// [`remove`] was given a path that is not a (linked) worktree of the repo.
    #[error("{} is not a worktree of {}", path.display(), repo.display())]
    NotAWorktree {
        /// The path given.
        path: PathBuf,
        /// The repo.
        repo: PathBuf,
    },
}

/// Checks a session name before it goes into a path or a branch name: 1 to 63 characters of
/// `[a-z0-9-]`, not starting with `-` (see [`crate::config::validate_name`]).
pub fn validate_session_name(name: &str) -> Result<(), WorktreeError> {
    crate::config::validate_name(name).map_err(|reason| WorktreeError::BadSessionName { name: name.to_owned(), reason })
}

/// The branch a session's worktree is on: `cockpit/<session>`.
pub fn branch_name(session_name: &str) -> String {
    format!("{BRANCH_PREFIX}{session_name}")
}

/// Where [`prepare`] puts the worktree of session `session_name` on the repository whose top
/// directory is `repo`: `<data_dir>/worktrees/<repo-dir-name>/<session>`, absolute.
pub fn worktree_dir(repo: &Path, data_dir: &Path, session_name: &str) -> Result<PathBuf, WorktreeError> {
    let repo_dir_name = repo.file_name().map(OsStr::to_os_string).unwrap_or_else(|| OsString::from("repo"));
    let data_dir = std::path::absolute(data_dir).map_err(|source| io_error(data_dir, source))?;
    Ok(data_dir.join(WORKTREES_DIR).join(repo_dir_name).join(session_name))
}

/// The working directory for session `session_name` on the repo at `repo_path`.
///
/// When `repo_path` is the top directory of a git repository with at least one commit: a
/// worktree at `<data_dir>/worktrees/<repo-dir-name>/<session>` (absolute) on the branch
/// `cockpit/<session>`, created from the repo's current `HEAD` (or checking out that branch
/// when it survives from an earlier run), or reused as it is when it already exists. Otherwise
/// (not a git repository, a subdirectory of one, no commits yet): `repo_path` itself.
///
/// The session name is validated first ([`validate_session_name`]).
pub async fn prepare(repo_path: &Path, data_dir: &Path, session_name: &str) -> Result<PathBuf, WorktreeError> {
    validate_session_name(session_name)?;
    let Some(repo) = git_repo(repo_path).await? else {
        return Ok(repo_path.to_path_buf());
    };
    let dest = worktree_dir(&repo, data_dir, session_name)?;
    let branch = branch_name(session_name);

    let _guard = LOCK.lock().await;
    if dest.exists() {
        if is_linked_worktree(&repo, &dest).await? {
            tracing::debug!(worktree = %dest.display(), "reusing the session's worktree");
            return Ok(dest);
        }
        let empty = std::fs::read_dir(&dest).map_err(|source| io_error(&dest, source))?.next().is_none();
        if !empty {
            return Err(WorktreeError::Occupied { path: dest, repo });
        }
        std::fs::remove_dir(&dest).map_err(|source| io_error(&dest, source))?;
    }
    // A worktree deleted by hand stays registered (and keeps its branch checked out) until
    // pruned.
    git_ok(&repo, ["worktree", "prune"]).await?;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
    }
    let branch_ref = format!("refs/heads/{branch}");
    let branch_exists = git(&repo, ["rev-parse", "--verify", "--quiet", branch_ref.as_str()]).await?.status.success();
    let dest_arg = dest.as_os_str();
    if branch_exists {
        git_ok(&repo, [OsStr::new("worktree"), OsStr::new("add"), dest_arg, OsStr::new(&branch)]).await?;
    } else {
        git_ok(
            &repo,
            [
                OsStr::new("worktree"),
                OsStr::new("add"),
                OsStr::new("-b"),
                OsStr::new(&branch),
                dest_arg,
                OsStr::new("HEAD"),
            ],
        )
        .await?;
    }
    tracing::info!(worktree = %dest.display(), %branch, reused_branch = branch_exists, "prepared the session's worktree");
    Ok(dest)
}

/// Removes the worktree at `worktree_path` that [`prepare`] made for a session of the repo at
/// `repo_path`, keeping its branch. Uncommitted changes (including untracked files, but not
/// ignored ones) are first committed to the worktree's branch, and a detached `HEAD` gets a
/// branch `cockpit/<session>-detached-<time>`, so nothing is lost.
///
/// A no-op when `worktree_path` is the repo itself (what [`prepare`] returns for a directory
/// that is not a git repository) or no longer exists.
pub async fn remove(repo_path: &Path, worktree_path: &Path) -> Result<(), WorktreeError> {
    if same_path(repo_path, worktree_path) {
        return Ok(());
    }
    let Some(repo) = git_repo(repo_path).await? else {
        return Err(WorktreeError::NotAWorktree { path: worktree_path.to_path_buf(), repo: repo_path.to_path_buf() });
    };
    let _guard = LOCK.lock().await;
    if !worktree_path.exists() {
        git_ok(&repo, ["worktree", "prune"]).await?;
        return Ok(());
    }
    if !is_linked_worktree(&repo, worktree_path).await? {
        return Err(WorktreeError::NotAWorktree { path: worktree_path.to_path_buf(), repo });
    }

    let status = git_ok(worktree_path, ["status", "--porcelain", "--untracked-files=all"]).await?;
    if !status.trim().is_empty() {
        save_work(worktree_path).await?;
    }
    keep_detached_head(worktree_path).await?;
    git_ok(&repo, [OsStr::new("worktree"), OsStr::new("remove"), OsStr::new("--force"), worktree_path.as_os_str()])
        .await?;
    // Tidy `worktrees/<repo>` when this was its last worktree.
    if let Some(parent) = worktree_path.parent() {
        let _ = std::fs::remove_dir(parent);
    }
    tracing::info!(worktree = %worktree_path.display(), "removed the session's worktree");
    Ok(())
}

/// Commits everything uncommitted in a worktree to its current branch.
async fn save_work(worktree: &Path) -> Result<(), WorktreeError> {
    git_ok(worktree, ["add", "--all"]).await?;
    let session = worktree.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let message = format!("cockpit: uncommitted work of session {session}, saved when its worktree was removed");
    let mut args: Vec<&str> = vec!["-c", "commit.gpgsign=false"];
    // Commit as the user when git knows who they are, else as Claude Cockpit.
    let has_identity = git(worktree, ["config", "user.email"]).await?.status.success()
        && git(worktree, ["config", "user.name"]).await?.status.success();
    if !has_identity {
        args.extend(["-c", "user.name=Claude Cockpit", "-c", "user.email=cockpit@localhost"]);
    }
    args.extend(["commit", "--quiet", "--no-verify", "-m", message.as_str()]);
    git_ok(worktree, args).await?;
    tracing::info!(worktree = %worktree.display(), "committed the session's uncommitted work before removing its worktree");
    Ok(())
}

/// When the worktree's `HEAD` is detached (the session checked out a commit), points a new
/// branch `cockpit/<session>-detached-<time>` at it, so its commits stay reachable.
async fn keep_detached_head(worktree: &Path) -> Result<(), WorktreeError> {
    if git(worktree, ["symbolic-ref", "--quiet", "HEAD"]).await?.status.success() {
        return Ok(());
    }
    let session = worktree.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let branch = format!("{}-detached-{}", branch_name(&session), chrono::Utc::now().format("%Y%m%d%H%M%S"));
    git_ok(worktree, ["branch", "--force", branch.as_str(), "HEAD"]).await?;
    tracing::info!(worktree = %worktree.display(), %branch, "kept the detached HEAD on a branch");
    Ok(())
}

/// The repo's top directory (canonical) when `path` is the top of a git work tree with at
/// least one commit; `None` for other directories.
pub(crate) async fn git_repo(path: &Path) -> Result<Option<PathBuf>, WorktreeError> {
    let meta = std::fs::metadata(path).map_err(|source| WorktreeError::Repo { path: path.to_path_buf(), source })?;
    if !meta.is_dir() {
        return Err(WorktreeError::Repo {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    let has_dot_git = path.join(".git").exists();
    let output = match command(path, ["rev-parse", "--show-toplevel"]).output().await {
        Ok(output) => output,
        Err(source) if has_dot_git => return Err(WorktreeError::GitUnavailable { repo: path.to_path_buf(), source }),
        Err(_) => return Ok(None),
    };
    if !output.status.success() {
        // A `.git` git refuses to read (e.g. "dubious ownership") is an error, not "no repo".
        if has_dot_git {
            return Err(git_failure(path, &["rev-parse", "--show-toplevel"], &output));
        }
        return Ok(None);
    }
    let top = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim_end_matches(['\n', '\r']));
    let canonical = |p: &Path| std::fs::canonicalize(p).map_err(|source| io_error(p, source));
    let repo = canonical(path)?;
    if canonical(&top)? != repo {
        // A subdirectory of a repository: use it as it is.
        return Ok(None);
    }
    if !git(&repo, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).await?.status.success() {
        return Ok(None);
    }
    Ok(Some(repo))
}

/// Whether `path` is one of the repo's linked worktrees (not its main one).
async fn is_linked_worktree(repo: &Path, path: &Path) -> Result<bool, WorktreeError> {
    let list = git_ok(repo, ["worktree", "list", "--porcelain"]).await?;
    let Ok(wanted) = std::fs::canonicalize(path) else {
        return Ok(false);
    };
    Ok(list
        .lines()
        .filter_map(|line| line.strip_prefix("worktree "))
        .skip(1)
        .any(|listed| std::fs::canonicalize(listed).is_ok_and(|p| p == wanted)))
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

fn command<I, S>(dir: &Path, args: I) -> tokio::process::Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    for var in GIT_LOCATION_VARS {
        cmd.env_remove(var);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Runs git in `dir`, whatever its exit status.
pub(crate) async fn git<I, S>(dir: &Path, args: I) -> Result<std::process::Output, WorktreeError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    command(dir, args)
        .output()
        .await
        .map_err(|source| WorktreeError::GitUnavailable { repo: dir.to_path_buf(), source })
}

/// Runs git in `dir`; its stdout when it succeeds, an error with its stderr when not.
pub(crate) async fn git_ok<I, S>(dir: &Path, args: I) -> Result<String, WorktreeError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_os_string()).collect();
    let output = git(dir, &args).await?;
    if !output.status.success() {
        let shown: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        return Err(git_failure(dir, &shown, &output));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn git_failure(dir: &Path, args: &[impl AsRef<str>], output: &std::process::Output) -> WorktreeError {
    WorktreeError::Git {
        dir: dir.to_path_buf(),
        args: args.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" "),
        status: output.status.to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    }
}

fn io_error(path: &Path, source: std::io::Error) -> WorktreeError {
    WorktreeError::Io { path: path.to_path_buf(), source }
}
