//! The worker's private directory: the hook socket and the settings file live there, not in
//! the Claude home that every session shares. Only this user can enter it; it is removed when
//! the worker ends, and a worker that was killed (SIGKILL, a crash: no destructor runs) leaves
//! one that the next worker to start removes.
//!
//! Liveness is a lock, not a guess from a pid: each worker holds an `flock` on its directory
//! for its whole life, and the kernel drops the lock when the process dies, however it dies.
//! A directory whose lock can be taken belongs to no running worker.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Names of private directories: this prefix, then 32 hex digits.
const PREFIX: &str = "cockpit-run-";
/// A directory younger than this is never swept: its worker may not have locked it yet.
const YOUNGEST_SWEPT: Duration = Duration::from_secs(10);

/// Why the private directory could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PrivateDirError {
    /// Creating, opening or locking the directory failed.
    #[error("the worker's private dir {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A directory only this user can enter, locked while this value lives, removed when it is
/// dropped.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
    /// The open directory holding the lock; closing it releases the lock.
    _lock: File,
}

impl PrivateDir {
    /// Creates and locks a new private directory under `parent` (the system's temp dir in the
    /// worker), after removing the ones killed workers left there.
    pub fn create_in(parent: &Path) -> Result<PrivateDir, PrivateDirError> {
        use std::os::unix::fs::DirBuilderExt;
        let removed = sweep(parent);
        if removed > 0 {
            tracing::info!(removed, "removed private dirs left by workers that were killed");
        }
        let path = parent.join(format!("{PREFIX}{}", uuid::Uuid::new_v4().simple()));
        let io = |source| PrivateDirError::Io { path: path.clone(), source };
        std::fs::DirBuilder::new().mode(0o700).create(&path).map_err(io)?;
        let lock = File::open(&path).map_err(io)?;
        if !try_lock(&lock) {
            let _ = std::fs::remove_dir_all(&path);
            return Err(io(std::io::Error::other("the new directory is locked by someone else")));
        }
        Ok(PrivateDir { path, _lock: lock })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Takes the exclusive lock of `dir` without waiting; true when it was free.
fn try_lock(dir: &File) -> bool {
    // SAFETY: flock(2) on a descriptor this File owns.
    unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Whether `name` is the name of a private directory.
fn is_private_dir_name(name: &str) -> bool {
    name.strip_prefix(PREFIX).is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Removes the private directories under `parent` that no running worker holds; returns how
/// many. Directories of other users, or ones it cannot read, are left alone.
pub fn sweep(parent: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry.file_name().to_str().is_some_and(is_private_dir_name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let young = meta.modified().ok().and_then(|m| m.elapsed().ok()).is_none_or(|age| age < YOUNGEST_SWEPT);
        if !meta.is_dir() || young {
            continue;
        }
        let path = entry.path();
        let Ok(dir) = File::open(&path) else { continue };
        // Held until the removal is done: a worker that starts meanwhile cannot take it.
        if try_lock(&dir) && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Makes `path` look older than the sweep's minimum age.
    fn age(path: &Path) {
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        File::open(path).and_then(|f| f.set_modified(old)).expect("setting the mtime");
    }

    #[test]
    fn the_directory_is_private_locked_and_removed_when_dropped() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().expect("temp dir");
        let dir = PrivateDir::create_in(parent.path()).expect("created");
        let path = dir.path().to_owned();
        assert!(is_private_dir_name(path.file_name().and_then(|n| n.to_str()).unwrap_or_default()));
        let mode = std::fs::metadata(&path).expect("exists").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        // Another descriptor (as another worker would open it) cannot take the lock.
        assert!(!try_lock(&File::open(&path).expect("open")));
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn a_killed_workers_directory_is_swept_and_a_live_ones_is_not() {
        let parent = tempfile::tempdir().expect("temp dir");
        let live = PrivateDir::create_in(parent.path()).expect("live");
        age(live.path());
        // A worker that gets killed: another process holds the lock of its directory (flock(1)
        // opens and locks it, then becomes `sleep`), then dies by SIGKILL: no destructor runs.
        let dead = parent.path().join(format!("{PREFIX}{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dead).expect("created");
        std::fs::write(dead.join("settings.json"), b"{}").expect("a file inside");
        let mut holder = std::process::Command::new("flock")
            .arg("--no-fork")
            .arg(&dead)
            .args(["sleep", "60"])
            .spawn()
            .expect("flock(1) from util-linux");
        let probe = File::open(&dead).expect("open");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while try_lock(&probe) {
            // Not taken yet: let go and look again.
            // SAFETY: flock(2) on a descriptor this File owns.
            unsafe { libc::flock(probe.as_raw_fd(), libc::LOCK_UN) };
            assert!(std::time::Instant::now() < deadline, "flock never took the lock");
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(probe);
        age(&dead);
        assert_eq!(sweep(parent.path()), 0, "a held directory is not swept, old as it is");
        assert!(dead.exists());
        holder.kill().expect("SIGKILL");
        holder.wait().expect("reaped");
        let other = parent.path().join("cockpit-worker-12345");
        std::fs::create_dir(&other).expect("an unrelated dir");
        age(&other);

        let next = PrivateDir::create_in(parent.path()).expect("next");
        assert!(!dead.exists(), "the killed worker's directory is gone");
        assert!(live.path().exists(), "the running worker's directory stays");
        assert!(other.exists(), "a directory with another name is not touched");
        assert!(next.path().exists());
    }

    #[test]
    fn a_young_unlocked_directory_is_left_for_its_worker_to_lock() {
        let parent = tempfile::tempdir().expect("temp dir");
        let young = parent.path().join(format!("{PREFIX}{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&young).expect("created, not yet locked");
        assert_eq!(sweep(parent.path()), 0);
        assert!(young.exists());
    }

    #[test]
    fn names_are_recognised_exactly() {
        assert!(is_private_dir_name("cockpit-run-0123456789abcdef0123456789abcdef"));
        assert!(!is_private_dir_name("cockpit-run-0123456789abcdef0123456789abcde"));
        assert!(!is_private_dir_name("cockpit-run-0123456789abcdef0123456789abcdeg"));
        assert!(!is_private_dir_name("cockpit-worker-0123456789abcdef0123456789abcdef"));
    }
}
