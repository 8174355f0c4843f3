//! A throw-away PostgreSQL server for tests: [`start`] creates a cluster in a temporary
//! directory with `initdb`, runs `postgres` on a free 127.0.0.1 port and hands back a
//! [`PgServer`] with its connection URL; dropping it stops the server and removes the directory.
//!
//! Needs the server binaries of Debian's `postgresql` package (found under
//! `/usr/lib/postgresql/*/bin`, or `COCKPIT_PG_BIN`, or `PATH`). When the tests run as root the
//! cluster belongs to, and runs as, the `postgres` OS user (initdb refuses to run as root).

use std::ffi::CString;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

/// How long the server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stop may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A running throw-away PostgreSQL server. Stops and deletes itself on drop.
pub struct PgServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    url: String,
}

impl PgServer {
    /// `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, no password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The TCP port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates another (empty) database and returns its URL.
    pub async fn create_database(&self, name: &str) -> String {
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "plain database names only: {name:?}");
        let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect to the test server");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        conn.close().await.ok();
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the server ("fast": clients are disconnected), as an outage would.
    pub fn stop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: plain syscall on our own child's pid.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        let _ = self.child.wait();
    }

    /// Starts the stopped server again on the same cluster and port.
    pub async fn start_again(&mut self) {
        let log_path = self.dir.path().join("postgres.log");
        let child = spawn_postgres(&find_bin_dir(), cluster_owner(), self.dir.path(), self.port, &log_path);
        match wait_ready(child, &self.url, &log_path).await {
            Ok(child) => self.child = child,
            Err(log) => panic!("PostgreSQL did not start again; its log:\n{log}"),
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // SIGINT: "fast" shutdown (disconnect clients, no waiting for them).
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: plain syscall on our own child's pid.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        // `dir` (a TempDir) removes the cluster when it drops.
    }
}

/// Starts a fresh PostgreSQL cluster. Panics with a clear message (naming the Debian package
/// `postgresql`) when the server binaries are missing, or with the server's log when it does
/// not come up.
pub async fn start() -> PgServer {
    let bin = find_bin_dir();
    let owner = cluster_owner();
    // As root, under /tmp: the `postgres` user must reach it, which $TMPDIR may not allow.
    let parent = if owner.is_some() { PathBuf::from("/tmp") } else { std::env::temp_dir() };
    let dir = tempfile::Builder::new()
        .prefix("cockpit-pg-")
        .tempdir_in(&parent)
        .unwrap_or_else(|e| panic!("create a temp dir for PostgreSQL in {}: {e}", parent.display()));
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the cluster dir to postgres");
    }
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod the cluster dir");
    let data = dir.path().join("data");

    // initdb -D DIR/data -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync
    let initdb = command(&bin.join("initdb"), owner, dir.path())
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.join("initdb").display()));
    assert!(
        initdb.status.success(),
        "initdb failed ({}):\n{}\n{}",
        initdb.status,
        String::from_utf8_lossy(&initdb.stdout),
        String::from_utf8_lossy(&initdb.stderr)
    );

    // A port that was free a moment ago may be taken by the time the server binds it: retry.
    let mut last_log = String::new();
    for _ in 0..5 {
        let port = free_port();
        let log_path = dir.path().join("postgres.log");
        let child = spawn_postgres(&bin, owner, dir.path(), port, &log_path);
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        match wait_ready(child, &url, &log_path).await {
            Ok(child) => return PgServer { child, port, dir, url },
            Err(log) => {
                let port_taken = log.contains("could not bind") || log.contains("already in use");
                last_log = log;
                if !port_taken {
                    break;
                }
            }
        }
    }
    panic!("PostgreSQL did not start; its log:\n{last_log}");
}

/// Runs `postgres` on the cluster under `dir` (`dir/data`), logging to `log_path`.
fn spawn_postgres(bin: &Path, owner: Option<(u32, u32)>, dir: &Path, port: u16, log_path: &Path) -> Child {
    let log = fs::OpenOptions::new().create(true).append(true).open(log_path).expect("open the server log");
    // postgres -D DIR/data -k DIR -p PORT -c listen_addresses=127.0.0.1 -c fsync=off …
    command(&bin.join("postgres"), owner, dir)
        .arg("-D")
        .arg(dir.join("data"))
        .arg("-k")
        .arg(dir)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
        .args(["-c", "shared_buffers=16MB", "-c", "max_connections=100", "-c", "huge_pages=off"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone the log handle"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.join("postgres").display()))
}

/// Waits until the server accepts a connection on `url`. On failure (it exited, or timed out)
/// stops it and returns its log.
async fn wait_ready(mut child: Child, url: &str, log_path: &Path) -> Result<Child, String> {
    let log = || fs::read_to_string(log_path).unwrap_or_default();
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("postgres exited with {status}\n{}", log()));
        }
        if let Ok(conn) = sqlx::PgConnection::connect(url).await {
            conn.close().await.ok();
            return Ok(child);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("postgres did not accept connections within {READY_TIMEOUT:?}\n{}", log()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A command running as the cluster's owner (when the tests run as root) in `cwd`.
fn command(program: &Path, owner: Option<(u32, u32)>, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd).env("LC_ALL", "C");
    if let Some((uid, gid)) = owner {
        // std drops the supplementary groups when root switches uid.
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// `Some((uid, gid))` of the `postgres` OS user when running as root (initdb and postgres refuse
/// to run as root); `None` otherwise (the cluster then belongs to the current user).
fn cluster_owner() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = CString::new("postgres").expect("no NUL in a literal");
    // SAFETY: getpwnam gets a valid C string; the returned record is read at once, before any
    // other call could overwrite it (tests only look up this one user).
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !pw.is_null(),
        "running as root but there is no `postgres` OS user to run the test PostgreSQL server as: \
         install the Debian package `postgresql` (apt-get install -y postgresql)"
    );
    // SAFETY: checked non-null above.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Some((uid, gid))
}

/// The directory holding `initdb` and `postgres`: `$COCKPIT_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin` (Debian's layout), else the directory of `initdb` on `PATH`.
fn find_bin_dir() -> PathBuf {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("COCKPIT_PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(
            has_both(&dir),
            "COCKPIT_PG_BIN={} has no initdb and postgres (from the Debian package `postgresql`)",
            dir.display()
        );
        return dir;
    }
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return bin;
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("initdb"))
        .find(|p| p.is_file())
        .and_then(|p| fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|d| has_both(d));
    on_path.unwrap_or_else(|| {
        panic!(
            "the PostgreSQL server binaries (initdb, postgres) are missing: install the Debian package \
             `postgresql` (apt-get install -y postgresql), or point COCKPIT_PG_BIN at their directory"
        )
    })
}

/// A TCP port on 127.0.0.1 that is free right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}
