//! When the emulator thread catches up with the output and reads the screen: within
//! [`SETTLE`] of output pausing, and at most every [`WHILE_FLOWING`] while it flows.
//!
//! The screen is read to classify it (a dialog, a rate limit, the idle prompt); a screen that
//! keeps changing is read for the display only, and a dialog waits for an answer, so its
//! screen pauses. The emulator itself catches up at every wake-up (a repaint is taken at the
//! offset it reached, followed by the bytes after it, so it need not be current), and the hub
//! has it skip most of a flood (see `hub::EMULATOR_MAX_LAG`).
//!
//! Wake-ups coalesce: a session printing line by line costs one emulator wake-up per
//! [`BATCH`] instead of one per line.

use std::time::{Duration, Instant};

/// The screen is read this soon after output pauses.
pub const SETTLE: Duration = Duration::from_millis(100);
/// While output flows the screen is read at most this often.
pub const WHILE_FLOWING: Duration = Duration::from_millis(250);
/// While output flows the thread wakes at most this often.
pub const BATCH: Duration = Duration::from_millis(50);

/// Why the emulator thread woke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woke {
    /// The reader pushed output.
    Output,
    /// Nothing came for [`SETTLE`].
    Quiet,
    /// The reader is gone: the PTY closed.
    Closed,
}

/// What the emulator thread does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Catch the emulator up (no read of the screen), sleep this long (wake-ups coalesce
    /// meanwhile), then wait again.
    Emulate(Duration),
    /// Nothing to do: wait again.
    Wait,
    /// Catch the emulator up and read the screen.
    Read,
    /// Catch the emulator up, read the screen if output came since the last read, and stop.
    Finish {
        /// Output came since the last read.
        pending: bool,
    },
}

/// The emulator thread's schedule (pure: the thread passes the time).
#[derive(Debug)]
pub struct Schedule {
    /// Output came since the screen was last read.
    pending: bool,
    /// When the screen was last read (or the thread started).
    last_read: Instant,
}

impl Schedule {
    /// A schedule starting at `now`.
    pub fn new(now: Instant) -> Schedule {
        Schedule { pending: false, last_read: now }
    }

    /// After waking for `woke` at `now`: what to do. `watching` asks for a read at every quiet
    /// wake-up even without output (a dialog the thread answered and watches close).
    pub fn next(&mut self, woke: Woke, now: Instant, watching: bool) -> Step {
        let step = match woke {
            Woke::Output if now.saturating_duration_since(self.last_read) < WHILE_FLOWING => {
                self.pending = true;
                Step::Emulate(BATCH)
            }
            Woke::Output => Step::Read,
            Woke::Quiet if self.pending || watching => Step::Read,
            Woke::Quiet => Step::Wait,
            Woke::Closed => Step::Finish { pending: self.pending },
        };
        if matches!(step, Step::Read | Step::Finish { .. }) {
            self.pending = false;
            self.last_read = now;
        }
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_that_keeps_flowing_is_read_once_per_interval() {
        let start = Instant::now();
        let mut schedule = Schedule::new(start);
        let mut reads = Vec::new();
        // A wake-up every BATCH for two seconds, as a flood makes them.
        let mut now = start;
        while now < start + Duration::from_secs(2) {
            now += BATCH;
            if schedule.next(Woke::Output, now, false) == Step::Read {
                reads.push(now - start);
            }
        }
        assert_eq!(reads.len(), 8, "{reads:?}");
        assert!(reads.windows(2).all(|w| w[1] - w[0] >= WHILE_FLOWING), "{reads:?}");
    }

    #[test]
    fn output_that_pauses_is_read_when_quiet_and_only_once() {
        let start = Instant::now();
        let mut schedule = Schedule::new(start);
        assert_eq!(schedule.next(Woke::Output, start + BATCH, false), Step::Emulate(BATCH));
        assert_eq!(schedule.next(Woke::Quiet, start + BATCH + SETTLE, false), Step::Read);
        assert_eq!(schedule.next(Woke::Quiet, start + BATCH + 2 * SETTLE, false), Step::Wait);
    }

    #[test]
    fn output_after_a_quiet_spell_is_read_at_once() {
        let start = Instant::now();
        let mut schedule = Schedule::new(start);
        assert_eq!(schedule.next(Woke::Quiet, start + SETTLE, false), Step::Wait);
        assert_eq!(schedule.next(Woke::Output, start + WHILE_FLOWING, false), Step::Read);
    }

    #[test]
    fn a_watched_dialog_is_read_at_every_quiet_wake_up() {
        let start = Instant::now();
        let mut schedule = Schedule::new(start);
        assert_eq!(schedule.next(Woke::Quiet, start + SETTLE, true), Step::Read);
        assert_eq!(schedule.next(Woke::Quiet, start + 2 * SETTLE, true), Step::Read);
    }

    #[test]
    fn the_end_reads_what_came_since_the_last_read() {
        let start = Instant::now();
        let mut schedule = Schedule::new(start);
        assert_eq!(schedule.next(Woke::Output, start + BATCH, false), Step::Emulate(BATCH));
        assert_eq!(schedule.next(Woke::Closed, start + 2 * BATCH, false), Step::Finish { pending: true });
        let mut idle = Schedule::new(start);
        assert_eq!(idle.next(Woke::Closed, start + BATCH, false), Step::Finish { pending: false });
    }
}
