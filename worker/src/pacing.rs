//! Output pacing: output that trickles in is read in batches, so a session printing line by
//! line (or a TUI redrawing a few cells at a time) costs one chunk — one frame per client, one
//! wake-up per task, one send per socket, all the way to the phone — per [`TRICKLE_PACE`]
//! instead of one per write; while someone types, every echo is read at once, and a program
//! that writes continuously is read as fast as it writes.
//!
//! Measured with 50 sessions × 10 clients at 200 lines/s each (`cargo bench -p
//! cockpit-operator --bench fanout`, one 2-core machine running the workers, the gateway and
//! the 500 clients): frames sent over 10 s 620-960 k → 483-490 k, machine CPU 179-189 % →
//! 130-166 % of 200 %, p99 frame delay 16-109 ms → 7-13 ms. Keystroke echo is unchanged
//! (`cargo bench -p cockpit-worker --bench relay`: p99 ~160 µs), and so is a flood's
//! throughput.
//!
//! The pace is one frame of a 60 Hz display (16 ms, first 10 ms): a phone paints no more
//! often than that, so reading faster shows nothing sooner, and every frame costs the phone
//! a radio and CPU wake-up. Same bench, three interleaved runs each, 10 → 16 ms: machine CPU
//! 141-164 % → 108-124 %; p99 frame delay (a frame's newest line) 16.8-20.0 → 8.0-8.6 ms,
//! 2-6 ms → 1.7-2.3 ms over the same run's clients straight on the workers; and every line's
//! own delay, write to phone, p50 6.9-7.4 → 8.8-9.1 ms (the wait for the batch) but p99
//! 22.4-33.8 → 18.2-19.3 ms (less queueing everywhere).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A read shorter than this is a trickle (a flood fills the terminal's 4 KiB line buffer:
/// its reads are 1-4 KiB).
pub const TRICKLE_BELOW: usize = 1024;
/// A read that waited at least this long for its bytes found output trickling in.
pub const TRICKLE_GAP: Duration = Duration::from_millis(1);
/// Output is flowing (never paced: that would cap a program that writes continuously, which
/// now and then waits a moment for the CPU) while this much was read in the current and the
/// previous [`RATE_WINDOW`].
pub const FLOWING_BYTES: usize = 64 * 1024;
/// See [`FLOWING_BYTES`].
pub const RATE_WINDOW: Duration = Duration::from_millis(50);
/// After a trickle read the next read waits this long (what arrives meanwhile is read at once
/// then): one frame of a 60 Hz display. A read after a pause is not delayed: the wait has
/// passed by then.
pub const TRICKLE_PACE: Duration = Duration::from_millis(16);
/// Input this recent means someone types: no wait, every echo goes out at once.
pub const TYPING_WINDOW: Duration = Duration::from_millis(250);

/// Decides, read by read, whether the reader waits before its next read.
#[derive(Debug, Default)]
pub struct Pacer {
    /// The reader waited before the read just made.
    paused: bool,
    /// Start of the current rate window (time since the reader started).
    window_start: Duration,
    /// Bytes read in the current window.
    window_bytes: usize,
    /// Bytes read in the window before it (0 when that was not the one just before).
    previous_window_bytes: usize,
}

impl Pacer {
    /// After a read of `read` bytes at `now` (time since the reader started) that waited
    /// `waited` for them, when input last reached the terminal `since_input` ago (`None`:
    /// never): how long to wait before the next read. Paced: a small read that found output
    /// trickling in (it waited, or it is the read after a pause and little came meanwhile),
    /// unless output is flowing or someone types.
    pub fn after_read(
        &mut self,
        now: Duration,
        read: usize,
        waited: Duration,
        since_input: Option<Duration>,
    ) -> Option<Duration> {
        if now >= self.window_start + RATE_WINDOW {
            let adjacent = now < self.window_start + 2 * RATE_WINDOW;
            self.previous_window_bytes = if adjacent { self.window_bytes } else { 0 };
            self.window_start = now;
            self.window_bytes = 0;
        }
        self.window_bytes = self.window_bytes.saturating_add(read);
        let flowing = self.window_bytes + self.previous_window_bytes >= FLOWING_BYTES;
        let typing = since_input.is_some_and(|d| d <= TYPING_WINDOW);
        let trickle = read < TRICKLE_BELOW && (waited >= TRICKLE_GAP || self.paused);
        self.paused = trickle && !flowing && !typing;
        self.paused.then_some(TRICKLE_PACE)
    }
}

/// When input last reached the terminal: the writer marks it, the reader asks.
#[derive(Debug)]
pub struct InputClock {
    epoch: Instant,
    /// Milliseconds after `epoch` of the last input, plus one (0: none yet).
    last: AtomicU64,
}

impl Default for InputClock {
    fn default() -> Self {
        InputClock { epoch: Instant::now(), last: AtomicU64::new(0) }
    }
}

impl InputClock {
    /// Notes that input reached the terminal now.
    pub fn mark(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last.store(now + 1, Ordering::Relaxed);
    }

    /// How long before `now` input last reached the terminal.
    pub fn since(&self, now: Instant) -> Option<Duration> {
        let last = self.last.load(Ordering::Relaxed).checked_sub(1)?;
        let now = u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX);
        Some(Duration::from_millis(now.saturating_sub(last)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_millis(5);
    const SHORT: Duration = Duration::from_micros(50);

    /// Feeds `reads` (bytes, waited) one after another, each `every` apart.
    fn run(pacer: &mut Pacer, start: Duration, every: Duration, reads: &[(usize, Duration)]) -> Vec<bool> {
        reads
            .iter()
            .enumerate()
            .map(|(i, (read, waited))| pacer.after_read(start + every * i as u32, *read, *waited, None).is_some())
            .collect()
    }

    #[test]
    fn trickling_output_is_paced_unless_someone_types() {
        let mut pacer = Pacer::default();
        let ms = Duration::from_millis;
        assert_eq!(pacer.after_read(ms(0), 200, LONG, None), Some(TRICKLE_PACE), "a line after a wait");
        assert_eq!(pacer.after_read(ms(10), 400, SHORT, None), Some(TRICKLE_PACE), "little came in the pause");
        assert_eq!(pacer.after_read(ms(25), 200, LONG, Some(ms(5000))), Some(TRICKLE_PACE));
        assert_eq!(pacer.after_read(ms(40), 1, LONG, Some(ms(40))), None, "an echo");
        assert_eq!(pacer.after_read(ms(41), 1, SHORT, Some(ms(40))), None, "the next echo");
        assert_eq!(pacer.after_read(ms(60), 200, LONG, Some(TYPING_WINDOW)), None);
        assert_eq!(pacer.after_read(ms(70), 200, LONG, Some(TYPING_WINDOW + ms(1))), Some(TRICKLE_PACE));
    }

    #[test]
    fn a_steady_trickle_stays_paced() {
        // 200 lines/s of 200 B: a line waited for, then two lines gathered in each pause.
        let mut pacer = Pacer::default();
        let reads: Vec<(usize, Duration)> =
            (0..100).map(|i| if i % 2 == 0 { (200, LONG) } else { (400, SHORT) }).collect();
        assert!(run(&mut pacer, Duration::ZERO, Duration::from_millis(8), &reads).iter().all(|p| *p));
    }

    #[test]
    fn a_flood_is_never_paced() {
        let mut pacer = Pacer::default();
        // 4 KiB reads every 50 µs (80 MB/s), with now and then a small read that waited for the
        // writer (it lost the CPU for a few milliseconds).
        let reads: Vec<(usize, Duration)> =
            (0..4000).map(|i| if i % 97 == 96 { (300, LONG) } else { (4095, SHORT) }).collect();
        let paced = run(&mut pacer, Duration::ZERO, Duration::from_micros(50), &reads);
        assert_eq!(paced.iter().filter(|p| **p).count(), 0, "never paced");

        // A small read right after a flood's last full read is not paced either.
        assert_eq!(pacer.after_read(Duration::from_millis(201), 300, LONG, None), None);
        // Once the flood is over for two windows, the trickle is paced again.
        assert_eq!(pacer.after_read(Duration::from_millis(400), 200, LONG, None), Some(TRICKLE_PACE));
        assert_eq!(pacer.after_read(Duration::from_millis(410), 3000, SHORT, None), None, "much came: not a trickle");
    }

    #[test]
    fn the_clock_knows_when_input_came() {
        let clock = InputClock::default();
        assert_eq!(clock.since(Instant::now()), None);
        clock.mark();
        assert!(clock.since(Instant::now()).is_some_and(|d| d < Duration::from_secs(1)));
        let later = Instant::now() + Duration::from_secs(5);
        assert!(clock.since(later).is_some_and(|d| d >= Duration::from_secs(4)));
    }
}
