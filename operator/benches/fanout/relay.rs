//! The relay through the control plane: one session floods, one client counts what arrives,
//! once straight on the worker (the control plane's credential) and once through the gateway
//! (`/ws/sessions/{id}`), interleaved run by run so a burst of load from elsewhere hits both.
//!
//! The session's program is this bench in generator mode with a `relay` file in its directory
//! (see [`flood`]): it prints its start line, waits for Enter, then writes the flood (64-byte
//! lines in 64 KiB blocks) and a marker. The client attaches with `from=0`, sees the start
//! line, sends Enter, and counts output payload from the first byte after Enter to the marker.
//! A client the stream had to repaint (it fell behind) is counted with the bytes it got and
//! reported with its repaints.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use cockpit_api::frames::{BinaryKind, decode_binary};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// The end of a flood.
const MARKER: &[u8] = b"FLOOD-DONE";
/// One line of the flood, newline included.
const LINE: &[u8; 64] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";
/// No flood may take longer than this to arrive.
const FLOOD_TIMEOUT: Duration = Duration::from_secs(60);
/// The file whose presence (holding the byte count) puts the generator in relay mode.
pub const RELAY_FILE: &str = "relay";

/// Generator side, relay mode: waits for a line on stdin, writes `bytes` of 64-byte lines and
/// the marker, then lingers a second so the last bytes are read before the session ends.
pub fn flood(out: &mut impl Write, bytes: u64) -> std::process::ExitCode {
    let mut enter = String::new();
    if std::io::stdin().read_line(&mut enter).is_err() {
        return std::process::ExitCode::FAILURE;
    }
    let block = LINE.repeat(1024);
    let mut left = bytes;
    while left > 0 {
        let n = (block.len() as u64).min(left) as usize;
        if out.write_all(&block[..n]).is_err() {
            return std::process::ExitCode::SUCCESS;
        }
        left -= n as u64;
    }
    let _ = out.write_all(b"\nFLOOD-DONE\n");
    std::thread::sleep(Duration::from_secs(1));
    std::process::ExitCode::SUCCESS
}

/// One flood as one client saw it.
pub struct RelayRun {
    /// Output payload bytes received from the first byte after Enter to the marker.
    pub bytes: u64,
    /// Seconds from that first byte to the marker.
    pub seconds: f64,
    /// Repaints (snapshots) the client got instead of bytes it fell behind on.
    pub repaints: u64,
}

impl RelayRun {
    /// MB/s (10^6 bytes) of payload.
    pub fn mbps(&self) -> f64 {
        if self.seconds > 0.0 { self.bytes as f64 / self.seconds / 1e6 } else { 0.0 }
    }
}

/// One round of the relay phase: a flood straight on the worker and one through the gateway,
/// seconds apart (`None`: that flood failed).
#[derive(Default)]
pub struct Round {
    /// The flood a client read straight from the worker.
    pub direct: Option<RelayRun>,
    /// The flood a client read through the gateway.
    pub gateway: Option<RelayRun>,
}

impl Round {
    /// Gateway MB/s over straight MB/s, when both floods arrived.
    pub fn ratio(&self) -> Option<f64> {
        let (direct, gateway) = (self.direct.as_ref()?.mbps(), self.gateway.as_ref()?.mbps());
        (direct > 0.0).then(|| gateway / direct)
    }
}

/// The median of some values (the upper one of an even count), `None` for none.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// Attaches to `url` (with `bearer` when given), starts the flood and counts it. The client's
/// WebSocket uses tungstenite's default buffers: a phone's browser reads as fast as it can.
pub async fn measure(url: &str, bearer: Option<&str>) -> Result<RelayRun, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().map_err(|e| format!("{url}: {e}"))?;
    if let Some(bearer) = bearer {
        request.headers_mut().insert("authorization", bearer.parse().map_err(|_| "a bearer header".to_owned())?);
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| format!("connecting {url}: {e}"))?;
    tokio::time::timeout(FLOOD_TIMEOUT, async {
        // The start line: the program waits for Enter.
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    let frame = decode_binary(&bytes).map_err(|e| format!("a binary frame: {e}"))?;
                    if frame.payload.contains(&b'!') {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                other => return Err(format!("the connection ended before the start line: {other:?}")),
            }
        }
        let enter = serde_json::json!({"type": "input", "data": "\r"}).to_string();
        ws.send(Message::Text(enter.into())).await.map_err(|e| format!("sending Enter: {e}"))?;
        let (mut bytes, mut repaints, mut first, mut tail) = (0u64, 0u64, None::<Instant>, Vec::<u8>::new());
        loop {
            let payload = match ws.next().await {
                Some(Ok(Message::Binary(data))) => data,
                Some(Ok(_)) => continue,
                other => return Err(format!("the connection ended before the marker: {other:?}")),
            };
            let frame = decode_binary(&payload).map_err(|e| format!("a binary frame: {e}"))?;
            first.get_or_insert_with(Instant::now);
            match frame.kind {
                BinaryKind::Snapshot => {
                    repaints += 1;
                    tail.clear();
                }
                BinaryKind::Output => bytes += frame.payload.len() as u64,
            }
            // The marker may straddle two frames: look in the end of the last one and this one.
            tail.extend_from_slice(frame.payload);
            if tail.windows(MARKER.len()).any(|w| w == MARKER) {
                break;
            }
            tail.drain(..tail.len().saturating_sub(MARKER.len()));
        }
        let seconds = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let _ = ws.close(None).await;
        Ok(RelayRun { bytes, seconds, repaints })
    })
    .await
    .map_err(|_| format!("the flood did not arrive within {} s", FLOOD_TIMEOUT.as_secs()))?
}

/// Puts the generator in relay mode for sessions started from now on (`bytes` per flood).
pub fn arm(dir: &Path, bytes: u64) -> std::io::Result<()> {
    std::fs::write(dir.join(RELAY_FILE), bytes.to_string())
}

/// The flood size the generator was armed with, if it was.
pub fn armed(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join(RELAY_FILE)).ok()?.trim().parse().ok()
}
