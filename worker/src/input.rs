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
        std::thread::Builder::new()
            .name("pty-writer".into())
            .spawn(move || {
                while let Some(bytes) = rx.blocking_recv() {
                    if writer.write_all(&bytes).and_then(|()| writer.flush()).is_err() {
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
