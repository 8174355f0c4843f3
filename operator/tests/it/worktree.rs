//! A worktree per session, with real git repositories in temp dirs.

use std::path::{Path, PathBuf};
use std::process::Command;

use cockpit_operator::worktree::{self, WorktreeError};

/// Runs git in `dir` with a fixed identity and no outside config; panics when it fails.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = git_cmd(dir, args).output().expect("run git");
    assert!(output.status.success(), "git {args:?} in {}: {}", dir.display(), String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn git_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    for var in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid");
    cmd
}

struct Fixture {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    data: PathBuf,
}

/// A temp dir with a git repo `myrepo` (one commit with README.md) and an empty data dir.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("myrepo");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&repo).expect("mkdir repo");
    std::fs::create_dir_all(&data).expect("mkdir data");
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "hello\n").expect("write");
    git(&repo, &["add", "README.md"]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    Fixture { _tmp: tmp, repo, data }
}

fn current_branch(dir: &Path) -> String {
    git(dir, &["rev-parse", "--abbrev-ref", "HEAD"])
}

fn linked_worktrees(repo: &Path) -> Vec<PathBuf> {
    git(repo, &["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .skip(1)
        .map(PathBuf::from)
        .collect()
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).expect("canonicalize")
}

/// Makes the directory `dir` holding one file, `name` with `text` in it (someone else's).
fn dir_holding(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join(name), text).expect("write");
}

#[tokio::test]
async fn two_sessions_get_two_worktrees_on_two_branches_that_do_not_share_files() {
    let f = fixture();
    let a = worktree::prepare(&f.repo, &f.data, "alpha").await.expect("prepare alpha");
    let b = worktree::prepare(&f.repo, &f.data, "beta").await.expect("prepare beta");

    assert_eq!(a, f.data.join("worktrees/myrepo/alpha"));
    assert_eq!(b, f.data.join("worktrees/myrepo/beta"));
    assert_ne!(a, b);
    assert_eq!(current_branch(&a), "cockpit/alpha");
    assert_eq!(current_branch(&b), "cockpit/beta");
    assert_eq!(current_branch(&f.repo), "main", "the repo's own checkout is untouched");
    assert_eq!(std::fs::read_to_string(a.join("README.md")).expect("README in a"), "hello\n");
    assert_eq!(std::fs::read_to_string(b.join("README.md")).expect("README in b"), "hello\n");

    std::fs::write(a.join("only-in-a.txt"), "a's work").expect("write");
    assert!(!b.join("only-in-a.txt").exists());
    assert!(!f.repo.join("only-in-a.txt").exists());

    let listed: Vec<PathBuf> = linked_worktrees(&f.repo).iter().map(|p| canonical(p)).collect();
    assert_eq!(listed, [canonical(&a), canonical(&b)]);
}

#[tokio::test]
async fn the_branch_starts_at_the_repos_current_head() {
    let f = fixture();
    git(&f.repo, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(f.repo.join("feature.txt"), "f\n").expect("write");
    git(&f.repo, &["add", "feature.txt"]);
    git(&f.repo, &["commit", "-q", "-m", "feature"]);
    let head = git(&f.repo, &["rev-parse", "HEAD"]);

    let wt = worktree::prepare(&f.repo, &f.data, "s1").await.expect("prepare");
    assert_eq!(git(&wt, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&f.repo, &["rev-parse", "cockpit/s1"]), head);
    assert!(wt.join("feature.txt").exists());
}

#[tokio::test]
async fn prepare_again_reuses_the_same_worktree() {
    let f = fixture();
    let first = worktree::prepare(&f.repo, &f.data, "again").await.expect("prepare");
    std::fs::write(first.join("wip.txt"), "in progress").expect("write");
    git(&first, &["checkout", "-q", "-b", "side-branch"]);

    let second = worktree::prepare(&f.repo, &f.data, "again").await.expect("prepare again");
    assert_eq!(first, second);
    assert_eq!(std::fs::read_to_string(second.join("wip.txt")).expect("wip kept"), "in progress");
    assert_eq!(current_branch(&second), "side-branch", "left as the session left it");
    assert_eq!(linked_worktrees(&f.repo).len(), 1);

    // A relative data dir gives the same absolute place.
    let relative = pathdiff(&f.data);
    let third = worktree::prepare(&f.repo, &relative, "again").await.expect("prepare via relative data dir");
    assert!(third.is_absolute());
    assert_eq!(canonical(&third), canonical(&first));
}

/// `target` relative to the current directory (through `..` as needed).
fn pathdiff(target: &Path) -> PathBuf {
    let cwd = canonical(&std::env::current_dir().expect("cwd"));
    let target = canonical(target);
    let common = cwd.components().zip(target.components()).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..cwd.components().count() {
        out.push("..");
    }
    for part in target.components().skip(common) {
        out.push(part);
    }
    out
}

#[tokio::test]
async fn directories_that_are_not_git_repos_with_commits_are_used_as_they_are() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");

    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).expect("mkdir");
    assert_eq!(worktree::prepare(&plain, &data, "s").await.expect("plain dir"), plain);

    let empty_repo = tmp.path().join("empty-repo");
    std::fs::create_dir(&empty_repo).expect("mkdir");
    git(&empty_repo, &["init", "-q"]);
    assert_eq!(worktree::prepare(&empty_repo, &data, "s").await.expect("repo without commits"), empty_repo);

    let f = fixture();
    let sub = f.repo.join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    assert_eq!(worktree::prepare(&sub, &f.data, "s").await.expect("subdirectory of a repo"), sub);

    assert!(!data.join("worktrees").exists(), "nothing made for non-repos");
    assert!(!f.data.join("worktrees").exists());
    // Removing "the worktree" of a plain directory leaves the directory alone.
    worktree::remove(&plain, &plain).await.expect("no-op");
    assert!(plain.is_dir());
}

#[tokio::test]
async fn a_missing_repo_dir_is_an_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let missing = tmp.path().join("missing");
    let err = worktree::prepare(&missing, tmp.path(), "s").await.expect_err("missing repo");
    assert!(matches!(err, WorktreeError::Repo { .. }), "{err:?}");
    assert!(err.to_string().contains(&missing.display().to_string()), "{err}");
}

#[tokio::test]
async fn remove_takes_the_worktree_away_and_keeps_the_branch_with_the_uncommitted_work() {
    let f = fixture();
    let wt = worktree::prepare(&f.repo, &f.data, "keeper").await.expect("prepare");
    std::fs::write(wt.join("README.md"), "changed\n").expect("modify tracked");
    std::fs::write(wt.join("new.txt"), "untracked work\n").expect("write untracked");
    let other = worktree::prepare(&f.repo, &f.data, "other").await.expect("prepare other");

    worktree::remove(&f.repo, &wt).await.expect("remove");
    assert!(!wt.exists());
    assert_eq!(linked_worktrees(&f.repo).iter().map(|p| canonical(p)).collect::<Vec<_>>(), [canonical(&other)]);
    assert!(other.join("README.md").exists(), "the other session is untouched");

    // The branch survives and holds the work.
    assert_eq!(
        git(&f.repo, &["branch", "--list", "cockpit/keeper"]).trim_start_matches(['*', '+', ' ']),
        "cockpit/keeper"
    );
    assert_eq!(git(&f.repo, &["show", "cockpit/keeper:new.txt"]), "untracked work");
    assert_eq!(git(&f.repo, &["show", "cockpit/keeper:README.md"]), "changed");
    assert!(git(&f.repo, &["log", "-1", "--format=%s", "cockpit/keeper"]).contains("session keeper"));
    assert_eq!(std::fs::read_to_string(f.repo.join("README.md")).expect("repo README"), "hello\n");

    // Removing again is a no-op; preparing again continues on the kept branch.
    worktree::remove(&f.repo, &wt).await.expect("remove again");
    let back = worktree::prepare(&f.repo, &f.data, "keeper").await.expect("prepare after remove");
    assert_eq!(back, wt);
    assert_eq!(current_branch(&back), "cockpit/keeper");
    assert_eq!(std::fs::read_to_string(back.join("new.txt")).expect("work is back"), "untracked work\n");
}

#[tokio::test]
async fn remove_of_a_clean_worktree_adds_no_commit() {
    let f = fixture();
    let head = git(&f.repo, &["rev-parse", "HEAD"]);
    let wt = worktree::prepare(&f.repo, &f.data, "clean").await.expect("prepare");
    worktree::remove(&f.repo, &wt).await.expect("remove");
    assert_eq!(git(&f.repo, &["rev-parse", "cockpit/clean"]), head);
    assert!(!f.data.join("worktrees/myrepo").exists(), "empty parent tidied");
}

#[tokio::test]
async fn remove_refuses_paths_that_are_not_worktrees_of_the_repo() {
    let f = fixture();
    let stranger = f.data.join("stranger");
    dir_holding(&stranger, "keep.txt", "mine");
    let err = worktree::remove(&f.repo, &stranger).await.expect_err("not a worktree");
    assert!(matches!(err, WorktreeError::NotAWorktree { .. }), "{err:?}");
    assert!(stranger.join("keep.txt").exists());
}

#[tokio::test]
async fn a_worktree_deleted_by_hand_is_recreated() {
    let f = fixture();
    let wt = worktree::prepare(&f.repo, &f.data, "gone").await.expect("prepare");
    std::fs::remove_dir_all(&wt).expect("rm -rf");
    let again = worktree::prepare(&f.repo, &f.data, "gone").await.expect("prepare after rm -rf");
    assert_eq!(again, wt);
    assert_eq!(current_branch(&again), "cockpit/gone");
    assert!(again.join("README.md").exists());
}

#[tokio::test]
async fn a_place_taken_by_something_else_is_not_overwritten() {
    let f = fixture();
    let place = f.data.join("worktrees/myrepo/taken");
    dir_holding(&place, "precious.txt", "do not delete");
    let err = worktree::prepare(&f.repo, &f.data, "taken").await.expect_err("occupied");
    assert!(matches!(err, WorktreeError::Occupied { .. }), "{err:?}");
    assert!(place.join("precious.txt").exists());

    // An empty directory there is fine.
    let empty = f.data.join("worktrees/myrepo/empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    assert_eq!(worktree::prepare(&f.repo, &f.data, "empty").await.expect("empty place"), empty);
}

#[tokio::test]
async fn git_errors_carry_gits_stderr() {
    let f = fixture();
    // The session's branch is checked out in the repo itself: git refuses a second checkout.
    git(&f.repo, &["checkout", "-q", "-b", "cockpit/busy"]);
    let err = worktree::prepare(&f.repo, &f.data, "busy").await.expect_err("branch in use");
    match &err {
        WorktreeError::Git { args, stderr, .. } => {
            assert!(args.starts_with("worktree add"), "{err}");
            assert!(stderr.contains("cockpit/busy"), "{err}");
        }
        other => panic!("expected a git error, got {other:?}"),
    }
    assert!(err.to_string().contains("cockpit/busy"), "{err}");
}

#[tokio::test]
async fn bad_session_names_are_refused_before_touching_anything() {
    let f = fixture();
    let long = "a".repeat(64);
    for name in ["", "Alpha", "../escape", "a/b", "a b", "-rf", ".", "..", "a_b", "é", long.as_str()] {
        let err = worktree::prepare(&f.repo, &f.data, name).await.expect_err(name);
        assert!(matches!(err, WorktreeError::BadSessionName { .. }), "{name:?}: {err:?}");
        assert!(err.to_string().starts_with("invalid session name"), "{err}");
        assert!(worktree::validate_session_name(name).is_err(), "{name:?}");
    }
    assert!(!f.data.join("worktrees").exists());
    assert!(git(&f.repo, &["branch", "--list", "cockpit/*"]).is_empty());
    assert_eq!(worktree::branch_name("ok-1"), "cockpit/ok-1");
    worktree::validate_session_name(&"a".repeat(63)).expect("63 is fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_prepares_on_one_repo_all_succeed() {
    let f = fixture();
    let names = ["p0", "p1", "p2", "p3", "p4"];
    let tasks: Vec<_> = names
        .iter()
        .map(|name| {
            let (repo, data, name) = (f.repo.clone(), f.data.clone(), (*name).to_owned());
            tokio::spawn(async move { worktree::prepare(&repo, &data, &name).await })
        })
        .collect();
    let mut paths = Vec::new();
    for task in tasks {
        paths.push(task.await.expect("join").expect("prepare"));
    }
    for (path, name) in paths.iter().zip(names) {
        assert_eq!(current_branch(path), format!("cockpit/{name}"));
    }
    assert_eq!(linked_worktrees(&f.repo).len(), names.len());
}

#[tokio::test]
async fn remove_keeps_a_detached_head_on_a_branch() {
    let f = fixture();
    let wt = worktree::prepare(&f.repo, &f.data, "detach").await.expect("prepare");
    git(&wt, &["checkout", "-q", "--detach"]);
    std::fs::write(wt.join("lost.txt"), "would be lost\n").expect("write");
    worktree::remove(&f.repo, &wt).await.expect("remove");
    let branches = git(&f.repo, &["branch", "--list", "cockpit/detach-detached-*", "--format=%(refname:short)"]);
    assert_eq!(branches.lines().count(), 1, "{branches}");
    assert_eq!(git(&f.repo, &["show", &format!("{branches}:lost.txt")]), "would be lost");
}
