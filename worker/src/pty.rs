//! The child process in a pseudo-terminal (portable-pty): spawn, read, write, resize, signal.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use bytes::Bytes;
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

use crate::pacing::{InputClock, Pacer};

/// A spawned child in a PTY.
pub struct PtyProcess {
    /// The master side, for resizing.
    pub master: Box<dyn MasterPty + Send>,
    /// The child, for waiting.
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    /// Output: read it on a dedicated thread.
    pub reader: Box<dyn Read + Send>,
    /// Input.
    pub writer: Box<dyn Write + Send>,
    /// The child's process id.
    pub pid: Option<u32>,
}

/// Spawns `program args` in a new PTY of `cols` × `rows`, in `cwd`, with exactly `env`.
pub fn spawn(
    program: &str,
    args: &[String],
    cwd: &Path,
    env: &BTreeMap<String, String>,
    cols: u16,
    rows: u16,
) -> Result<PtyProcess> {
    let pair = native_pty_system()
        .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
        .context("opening a pseudo-terminal")?;
    let mut cmd = CommandBuilder::new(program);
    cmd.args(args);
    cmd.cwd(cwd);
    cmd.env_clear();
    for (key, value) in env {
        cmd.env(key, value);
    }
    let child = pair.slave.spawn_command(cmd).with_context(|| format!("starting {program:?} in {}", cwd.display()))?;
    drop(pair.slave);
    let reader = pair.master.try_clone_reader().context("reading the pseudo-terminal")?;
    let writer = pair.master.take_writer().context("writing the pseudo-terminal")?;
    let pid = child.process_id();
    Ok(PtyProcess { master: pair.master, child, reader, writer, pid })
}

/// Reads the PTY until end of file, handing each chunk to `sink`, trickling output in
/// batches unless someone types (see [`crate::pacing`]). Runs on its own thread.
pub fn read_loop(mut reader: Box<dyn Read + Send>, input: &InputClock, mut sink: impl FnMut(Bytes)) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pacer = Pacer::default();
    let started = std::time::Instant::now();
    let mut asked = started;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let read_at = std::time::Instant::now();
                sink(Bytes::copy_from_slice(&buf[..n]));
                let pause = pacer.after_read(read_at - started, n, read_at - asked, input.since(read_at));
                if let Some(pause) = pause {
                    std::thread::sleep(pause);
                    asked = std::time::Instant::now();
                } else {
                    asked = read_at;
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            // EIO is how Linux reports that the child side closed.
            Err(_) => break,
        }
    }
}

/// Sends `signal` to process `pid`.
pub fn signal(pid: u32, signal: i32) -> std::io::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| std::io::Error::other("process id out of range"))?;
    // SAFETY: kill(2) has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// The exit code a portable-pty status stands for: the code, or 128 + signal number.
pub fn exit_code(status: &portable_pty::ExitStatus) -> i32 {
    match status.signal() {
        Some(name) => 128 + signal_number(name),
        None => i32::try_from(status.exit_code()).unwrap_or(i32::MAX),
    }
}

fn signal_number(name: &str) -> i32 {
    let name = name.to_ascii_uppercase();
    let name = name.trim_start_matches("SIG");
    match name {
        "HUP" | "HANGUP" => libc::SIGHUP,
        "INT" | "INTERRUPT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "KILL" | "KILLED" => libc::SIGKILL,
        "SEGV" | "SEGMENTATION FAULT" => libc::SIGSEGV,
        "PIPE" | "BROKEN PIPE" => libc::SIGPIPE,
        "TERM" | "TERMINATED" => libc::SIGTERM,
        "ABRT" | "ABORTED" => libc::SIGABRT,
        _ => 0,
    }
}
