//! Is the process behind a recorded pid still the worker that was recorded? After a crash and a
//! reboot, pids are reused: a live pid proves nothing, and signalling it could stop a stranger.
//! A process is taken for the worker only when it started when the worker did (its start time
//! from `/proc`, within a few seconds of the record) and its command line is a worker's
//! (`run … --credential-stdin`, which only the control plane starts workers with).

use chrono::{DateTime, Duration, Utc};

/// What `/proc` says of a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessFacts {
    /// When it started.
    pub started: DateTime<Utc>,
    /// Its argv, NUL-separated as in `/proc/<pid>/cmdline`.
    pub cmdline: Vec<u8>,
}

/// How much earlier than the record the worker process may have started (the record is
/// written once the worker serves, which takes a moment).
const STARTED_BEFORE_RECORD: Duration = Duration::seconds(60);
/// How much later (clock granularity).
const STARTED_AFTER_RECORD: Duration = Duration::seconds(2);

/// True when `facts` describe the worker recorded as started at `recorded`.
pub fn is_recorded_worker(recorded: DateTime<Utc>, facts: &ProcessFacts) -> bool {
    let in_time = facts.started >= recorded - STARTED_BEFORE_RECORD && facts.started <= recorded + STARTED_AFTER_RECORD;
    let args: Vec<&[u8]> = facts.cmdline.split(|b| *b == 0).collect();
    let is_worker = args.contains(&&b"run"[..]) && args.contains(&&b"--credential-stdin"[..]);
    in_time && is_worker
}

/// Reads a process's start time and command line; `None` when it is gone or unreadable.
pub fn read_facts(pid: u32) -> Option<ProcessFacts> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22: starttime, in clock ticks after boot (fields counted from 3).
    let ticks: u64 = cockpit_worker::peer::stat_fields(&stat)?.nth(22 - 3)?.parse().ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let btime: i64 = boot.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|h| *h > 0)?;
    let millis = i64::try_from(ticks.checked_mul(1000)? / hz).ok()?;
    let started = DateTime::from_timestamp(btime, 0)? + Duration::milliseconds(millis);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(ProcessFacts { started, cmdline })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker_argv() -> Vec<u8> {
        b"/usr/bin/cockpit\0worker\0run\0--listen\x00127.0.0.1:0\0--credential-stdin\0--cwd\0/w\0".to_vec()
    }

    #[test]
    fn only_a_worker_that_started_when_recorded_is_the_worker() {
        let recorded = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let at = |secs: i64| recorded + Duration::seconds(secs);
        assert!(is_recorded_worker(recorded, &ProcessFacts { started: at(-1), cmdline: worker_argv() }));
        assert!(is_recorded_worker(recorded, &ProcessFacts { started: at(1), cmdline: worker_argv() }));
        // A pid reused after a reboot: started later.
        assert!(!is_recorded_worker(recorded, &ProcessFacts { started: at(40), cmdline: worker_argv() }));
        assert!(!is_recorded_worker(recorded, &ProcessFacts { started: at(-3600), cmdline: worker_argv() }));
        // The right time, but not a worker.
        let sleep = b"sleep\x00300\x00".to_vec();
        assert!(!is_recorded_worker(recorded, &ProcessFacts { started: at(0), cmdline: sleep }));
        let lookalike = b"bash\0-c\0echo run --credential-stdin\0".to_vec();
        assert!(!is_recorded_worker(recorded, &ProcessFacts { started: at(0), cmdline: lookalike }));
    }

    #[test]
    fn this_process_has_readable_facts() {
        let facts = read_facts(std::process::id()).expect("our own /proc");
        let age = Utc::now() - facts.started;
        assert!(age >= Duration::zero() && age < Duration::hours(1), "started {:?} ago", age);
        assert!(!facts.cmdline.is_empty());
    }
}
