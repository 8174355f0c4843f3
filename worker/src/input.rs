//! The input side of the PTY: a writer thread fed through a channel, and resizing.

use std::io::Write;
use std::sync::{Arc, Mutex};

use portable_pty::{MasterPty, PtySize};
use tokio::sync::mpsc;

use crate::pacing::InputClock;

/// Writes to and resizes the PTY. Cheap to share.
pub struct PtyInput {
    tx: mpsc::Sender<Vec<u8>>,
    master: Mutex<Box<dyn MasterPty + Send>>,
}

/// Why input could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The writer thread is gone (the process exited).
    #[error("the terminal is closed")]
    Closed,
    /// The kernel refused the new size.
    #[error("resizing the terminal: {0}")]
    Resize(String),
}

impl PtyInput {
    /// Starts the writer thread for `writer`; it marks `clock` whenever input reached the
    /// terminal.
    pub fn start(
        mut writer: Box<dyn Write + Send>,
        master: Box<dyn MasterPty + Send>,
        clock: Arc<InputClock>,
    ) -> PtyInput {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(1024);
        // The master is non-blocking (see `pty::PtyReader`): a full input queue is waited out
        // on a descriptor of the master's own, which outlives the master's owner if need be.
        let room = crate::pty::duplicate(&*master);
        std::thread::Builder::new()
            .name("pty-writer".into())
            .spawn(move || {
                let room = match room {
                    Ok(room) => room,
                    Err(err) => return tracing::error!(%err, "cannot watch the terminal's input queue"),
                };
                while let Some(bytes) = rx.blocking_recv() {
                    if crate::pty::write_all_waiting(&mut *writer, &room, &bytes).is_err() {
                        break;
                    }
                    clock.mark();
                }
            })
            .map(drop)
            .unwrap_or_else(|err| tracing::error!(%err, "cannot start the PTY writer thread"));
        PtyInput { tx, master: Mutex::new(master) }
    }

    /// Queues bytes for the terminal, in order.
    pub async fn write(&self, bytes: Vec<u8>) -> Result<(), InputError> {
        self.tx.send(bytes).await.map_err(|_| InputError::Closed)
    }

    /// Queues bytes from a thread that must not block.
    pub fn try_write(&self, bytes: Vec<u8>) -> Result<(), InputError> {
        self.tx.try_send(bytes).map_err(|_| InputError::Closed)
    }

    /// Resizes the PTY (the child gets SIGWINCH).
    pub fn resize(&self, cols: u16, rows: u16) -> Result<(), InputError> {
        let master = self.master.lock().unwrap_or_else(|p| p.into_inner());
        master
            .resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .map_err(|err| InputError::Resize(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn input_larger_than_the_terminal_queue_arrives_whole_and_in_order() {
        let env: BTreeMap<String, String> = [("PATH".to_owned(), std::env::var("PATH").unwrap_or_default())].into();
        let script = "stty -echo; printf ready; cksum".to_owned();
        let proc =
            crate::pty::spawn("sh", &["-c".to_owned(), script], Path::new("/"), &env, 80, 24).expect("spawning sh");
        let output = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let output = output.clone();
            tokio::spawn(async move {
                let clock = InputClock::default();
                crate::pty::read_until_end(proc.reader, &clock, |data| {
                    output.lock().expect("output").extend_from_slice(&data)
                })
                .await;
            })
        };
        let got = |what: &[u8]| output.lock().expect("output").windows(what.len()).any(|w| w == what);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !got(b"ready") {
            assert!(tokio::time::Instant::now() < deadline, "the child never got ready");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // 200 lines of 1 000 bytes: 50 times what the terminal's input queue holds, so the
        // non-blocking master refuses most writes at first and the writer waits for room.
        let mut sent = Vec::new();
        for i in 0..200 {
            let line = format!("{i:04}{}\n", "z".repeat(995));
            sent.extend_from_slice(line.as_bytes());
        }
        let input = PtyInput::start(proc.writer, proc.master, Arc::new(InputClock::default()));
        for piece in sent.chunks(7_000) {
            input.write(piece.to_vec()).await.expect("queued");
        }
        input.write(b"\x04".to_vec()).await.expect("queued");
        tokio::time::timeout(Duration::from_secs(30), reader).await.expect("the child ends").expect("reader task");
        // The same checksum as the bytes sent: every byte arrived, once, in order.
        let expected = {
            let mut child = std::process::Command::new("cksum")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("cksum");
            std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &sent).expect("writing to cksum");
            String::from_utf8(child.wait_with_output().expect("cksum output").stdout).expect("utf-8")
        };
        let expected = expected.trim();
        assert!(
            got(expected.as_bytes()),
            "expected {expected:?} in {:?}",
            String::from_utf8_lossy(&output.lock().expect("output"))
        );
    }
}
