//! The child process in a pseudo-terminal (portable-pty): spawn, read, write, resize, signal.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
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
    /// Output: see [`read_until_end`].
    pub reader: PtyReader,
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
    let reader = PtyReader::of(&*pair.master).context("reading the pseudo-terminal")?;
    let writer = pair.master.take_writer().context("writing the pseudo-terminal")?;
    let pid = child.process_id();
    Ok(PtyProcess { master: pair.master, child, reader, writer, pid })
}

/// The PTY master's output side (its own descriptor, a duplicate of the master's).
///
/// The master is non-blocking (a flag the duplicate shares with the master and its writer,
/// which waits for room itself: see [`write_all_waiting`]), so a read that finds nothing
/// says so at once, without a `poll` before every read.
pub struct PtyReader {
    file: std::fs::File,
}

/// A batch read stops taking more once less than this room is left.
const BATCH_ROOM: usize = 4096;

impl PtyReader {
    /// A reader of `master`'s output; makes the master non-blocking.
    pub fn of(master: &dyn MasterPty) -> std::io::Result<PtyReader> {
        let owned = duplicate(master)?;
        set_nonblocking(&owned)?;
        Ok(PtyReader { file: std::fs::File::from(owned) })
    }

    /// Waits for output, then takes what is there and whatever more is ready at once, up to
    /// `buf`'s size: a flood comes off the terminal 1-4 KiB a read, and each piece handed on
    /// costs a wake-up of every task downstream. Trickling output is handed on as it comes (no
    /// read waits for more). `Ok(0)` at the end (the child side closed).
    pub fn read_batch(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.waiting(|| self.read_batch_drained(buf)).map(|(n, _)| n)
    }

    /// Runs `read` again each time output comes while it finds nothing (`WouldBlock`).
    fn waiting<T>(&self, mut read: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
        loop {
            match read() {
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => wait_for(&self.file, libc::POLLIN)?,
                other => return other,
            }
        }
    }

    /// Takes what is there and whatever more is ready at once (see [`read_batch`](Self::read_batch))
    /// without waiting: `WouldBlock` when nothing is there. Also says whether the batch ended
    /// because nothing more was ready (rather than for room or at the end): the terminal's
    /// readiness is spent then.
    fn read_batch_drained(&self, buf: &mut [u8]) -> std::io::Result<(usize, bool)> {
        let mut n = self.read_some(buf)?;
        while n > 0 && buf.len() - n >= BATCH_ROOM {
            match self.read_some(&mut buf[n..]) {
                Ok(more) if more > 0 => n += more,
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return Ok((n, true)),
                // The end (or an error): the next read reports it.
                Ok(_) | Err(_) => break,
            }
        }
        Ok((n, false))
    }

    /// One read: `WouldBlock` when nothing is there, `Ok(0)` at the end.
    fn read_some(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match (&self.file).read(buf) {
                // EIO is how Linux reports that the child side closed.
                Err(err) if err.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

impl AsRawFd for PtyReader {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// A plain read: what one read of the master returns (waiting for it), `Ok(0)` at the end.
impl Read for PtyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.waiting(|| self.read_some(buf))
    }
}

/// A descriptor of `master`'s own (the same open file description, so the same flags).
pub fn duplicate(master: &dyn MasterPty) -> std::io::Result<std::os::fd::OwnedFd> {
    let fd = master.as_raw_fd().ok_or_else(|| std::io::Error::other("the pseudo-terminal has no descriptor"))?;
    // SAFETY: `master` owns `fd` and is alive for this call; the duplicate is ours.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()
}

/// Sets `O_NONBLOCK` on `fd`'s open file description.
fn set_nonblocking(fd: &impl AsRawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor we hold, with integer arguments.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Waits until `fd` has one of `events` (or hangs up / fails: the next call reports it).
fn wait_for(fd: &impl AsRawFd, events: libc::c_short) -> std::io::Result<()> {
    let mut poll = libc::pollfd { fd: fd.as_raw_fd(), events, revents: 0 };
    loop {
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut poll, 1, -1) } >= 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Writes all of `bytes` to the non-blocking master through `writer`, waiting on `room` (a
/// descriptor of the same master) whenever the terminal's input queue is full.
pub fn write_all_waiting(writer: &mut dyn Write, room: &impl AsRawFd, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match writer.write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => wait_for(room, libc::POLLOUT)?,
            Err(err) => return Err(err),
        }
    }
    writer.flush()
}

/// Reads the PTY until end of file on the async runtime, handing each batch to `sink`,
/// trickling output in batches unless someone types (see [`crate::pacing`]).
///
/// The read runs on the thread that sends the output on: a thread of its own costs one more
/// wake-up and one more hop per batch (a keystroke's echo took 196 µs at the median that way,
/// 162 µs this way: `cargo bench -p cockpit-worker --bench relay`). The descriptor stays
/// non-blocking: a read that finds nothing says so (no `poll` before each read), and a flood
/// yields to the other tasks after every batch.
///
/// During a pause the runtime does not watch the terminal: a terminal signals every write
/// anew, so a session printing a line every 5 ms woke the thread two to three times per
/// batch for nothing. After the pause whatever came is read at once.
pub async fn read_until_end(reader: PtyReader, input: &InputClock, mut sink: impl FnMut(Bytes)) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pacer = Pacer::default();
    let started = std::time::Instant::now();
    let mut asked = started;
    let mut state = Watch::Off(reader);
    loop {
        let batch = match &state {
            Watch::On(watched) => next_batch(watched, &mut buf).await,
            // Back from a pause (or a yield): what came meanwhile is read at once.
            Watch::Off(reader) => reader.read_batch_drained(&mut buf).map(|(n, _)| n),
        };
        let n = match batch {
            // Nothing there: the runtime waits for output.
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => match state.on() {
                Ok(watched) => {
                    state = watched;
                    continue;
                }
                Err(err) => {
                    tracing::error!(err = %err, "cannot watch the pseudo-terminal");
                    return;
                }
            },
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let read_at = std::time::Instant::now();
        sink(Bytes::copy_from_slice(&buf[..n]));
        match pacer.after_read(read_at - started, n, read_at - asked, input.since(read_at)) {
            Some(pause) => {
                // Off the runtime while paused: each line that trickles in meanwhile would wake
                // the thread for nothing (a terminal signals every write anew).
                state = state.off();
                tokio::time::sleep(pause).await;
                asked = std::time::Instant::now();
            }
            None => {
                // The clients' tasks send this batch before the next one is read.
                tokio::task::yield_now().await;
                asked = read_at;
            }
        }
    }
}

/// Whether the runtime watches the reader for output.
enum Watch {
    /// Registered: a write to the terminal wakes the runtime.
    On(tokio::io::unix::AsyncFd<PtyReader>),
    /// Not registered: nothing wakes the runtime for it.
    Off(PtyReader),
}

impl Watch {
    /// Starts watching (no-op when watched).
    fn on(self) -> std::io::Result<Watch> {
        match self {
            Watch::Off(reader) => {
                // SAFETY: the reader owns its descriptor (a duplicate of the master's) and never
                // replaces it, so it stays open and the same for the life of the registration.
                let watched =
                    unsafe { tokio::io::unix::AsyncFd::register_with_interest(reader, tokio::io::Interest::READABLE) };
                Ok(Watch::On(watched.map_err(|err| err.into_parts().1)?))
            }
            on @ Watch::On(_) => Ok(on),
        }
    }

    /// Stops watching (no-op when not watched).
    fn off(self) -> Watch {
        match self {
            Watch::On(watched) => Watch::Off(watched.into_inner()),
            off @ Watch::Off(_) => off,
        }
    }
}

/// Waits until the terminal is readable, then reads a batch (see [`PtyReader::read_batch`]).
async fn next_batch(reader: &tokio::io::unix::AsyncFd<PtyReader>, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        let mut guard = reader.readable().await?;
        match guard.get_inner().read_batch_drained(buf) {
            // Readiness is a hint (edge-triggered, and it may be stale).
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => guard.clear_ready(),
            Err(err) => return Err(err),
            Ok((n, drained)) => {
                if drained {
                    // The batch's last read found nothing: no need to try again at the next call.
                    guard.clear_ready();
                }
                return Ok(n);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn_sh(script: &str) -> PtyProcess {
        let env: BTreeMap<String, String> = [("PATH".to_owned(), std::env::var("PATH").unwrap_or_default())].into();
        spawn("sh", &["-c".to_owned(), script.to_owned()], Path::new("/"), &env, 80, 24).expect("spawning sh")
    }

    #[test]
    fn a_batch_read_hands_on_what_came_without_waiting_for_more() {
        let mut proc = spawn_sh("printf ready; sleep 5");
        let mut buf = vec![0u8; 64 * 1024];
        let started = std::time::Instant::now();
        let n = proc.reader.read_batch(&mut buf).expect("reading");
        assert_eq!(&buf[..n], b"ready");
        assert!(started.elapsed() < std::time::Duration::from_secs(4), "it waited for the sleep");
        let _ = proc.child.kill();
    }

    #[tokio::test]
    async fn the_async_reader_hands_on_everything_then_ends() {
        let proc = spawn_sh("printf first; sleep 0.2; head -c 300000 /dev/zero | tr '\\0' y; printf last");
        let clock = InputClock::default();
        let mut got = Vec::new();
        let mut batches = 0;
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            read_until_end(proc.reader, &clock, |data| {
                got.extend_from_slice(&data);
                batches += 1;
            }),
        )
        .await
        .expect("the reader ends when the child closes the terminal");
        assert!(got.starts_with(b"first"), "{:?}", String::from_utf8_lossy(&got[..got.len().min(20)]));
        assert!(got.ends_with(b"last"));
        assert_eq!(got.len(), 5 + 300_000 + 4, "every byte once");
        assert!(batches >= 2, "the first line came on its own ({batches} batches)");
    }

    #[tokio::test]
    async fn the_async_reader_leaves_the_runtime_to_other_tasks_during_a_flood() {
        let proc = spawn_sh("head -c 4000000 /dev/zero");
        let clock = InputClock::default();
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let ticker = {
            let ticks = ticks.clone();
            tokio::spawn(async move {
                loop {
                    ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        };
        let mut during = Vec::new();
        read_until_end(proc.reader, &clock, |data| {
            during.push((data.len(), ticks.load(std::sync::atomic::Ordering::Relaxed)));
        })
        .await;
        ticker.abort();
        let total: usize = during.iter().map(|(n, _)| n).sum();
        assert_eq!(total, 4_000_000);
        // Between two batches the other task ran: the ticks grow from batch to batch.
        let stalls = during.windows(2).filter(|w| w[1].1 == w[0].1).count();
        assert_eq!(stalls, 0, "another task ran between every two batches ({} batches)", during.len());
    }

    /// Times this thread went to sleep (voluntary context switches) so far.
    fn sleeps_of_this_thread() -> i64 {
        // SAFETY: an all-zero rusage is valid, and getrusage fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to a rusage.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
        assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
        usage.ru_nvcsw
    }

    #[tokio::test]
    async fn trickling_output_wakes_the_runtime_once_per_pause_not_once_per_line() {
        // 300 lines, one every 2 ms: paced reads take them a pace (16 ms) at a time.
        let proc = spawn_sh("i=0; while [ $i -lt 300 ]; do echo line; sleep 0.002; i=$((i+1)); done");
        let clock = InputClock::default();
        let (mut lines, mut batches) = (0, 0);
        let before = sleeps_of_this_thread();
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            read_until_end(proc.reader, &clock, |data| {
                lines += data.windows(4).filter(|w| w == b"line").count();
                batches += 1;
            }),
        )
        .await
        .expect("the reader ends when the child closes the terminal");
        let sleeps = sleeps_of_this_thread() - before;
        assert_eq!(lines, 300, "every line once");
        assert!(batches < 250, "lines were read in batches ({batches} batches)");
        // Watched during the pauses, the thread wakes for every line (300 and more).
        assert!(sleeps < batches + 60, "{sleeps} wake-ups for {batches} batches of 300 lines");
    }

    #[test]
    fn a_batch_read_takes_a_flood_whole_and_ends_at_the_end() {
        let mut proc = spawn_sh("head -c 200000 /dev/zero | tr '\\0' x");
        let mut buf = vec![0u8; 64 * 1024];
        let (mut total, mut reads) = (0, 0);
        loop {
            let n = proc.reader.read_batch(&mut buf).expect("reading");
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|&b| b == b'x'));
            total += n;
            reads += 1;
        }
        assert_eq!(total, 200_000, "every byte, then the end ({reads} batches)");
        let _ = proc.child.wait();
    }
}
