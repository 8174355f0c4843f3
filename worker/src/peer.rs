//! Who is on the other end of a hook connection: the peer's process, as the kernel says
//! (`SO_PEERCRED` of the Unix socket), and whether it belongs to this worker's own CLI.
//!
//! A hook post is believed only when its sender is the CLI this worker started or one of its
//! descendants (the CLI runs command hooks through a shell). Another session's shell runs under
//! another worker's CLI: it can reach this worker's socket (same user), but not become a
//! descendant of this CLI, so what it posts is refused, whatever it read on disk.

/// The deepest process tree walked up from a peer before giving up.
const MAX_DEPTH: usize = 64;

/// The parent of `pid` (field 4 of `/proc/<pid>/stat`), if the process exists.
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_ppid(&stat)
}

/// The fields of a `/proc/<pid>/stat` line from field 3 (the state) on. The command name
/// (field 2) is in parentheses and may itself hold spaces and parentheses: the fields after it
/// start after the last `)`.
pub fn stat_fields(stat: &str) -> Option<std::str::SplitWhitespace<'_>> {
    Some(stat[stat.rfind(')')? + 1..].split_whitespace())
}

/// Field 4 of a `/proc/<pid>/stat` line.
fn parse_ppid(stat: &str) -> Option<u32> {
    stat_fields(stat)?.nth(1)?.parse().ok()
}

/// True when `pid` is `root` or one of its descendants.
pub fn descends_from(pid: u32, root: u32) -> bool {
    descends_from_with(pid, root, parent_of)
}

fn descends_from_with(mut pid: u32, root: u32, parent: impl Fn(u32) -> Option<u32>) -> bool {
    for _ in 0..MAX_DEPTH {
        if pid == root {
            return true;
        }
        match parent(pid) {
            Some(next) if next != 0 && next != pid => pid = next,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_after_a_command_name_with_parentheses() {
        assert_eq!(parse_ppid("4242 (we ird) (name)) S 17 4242 4242 0 -1"), Some(17));
        assert_eq!(parse_ppid("garbage"), None);
    }

    #[test]
    fn descendants_are_found_by_walking_up_and_strangers_are_not() {
        let tree = |pid: u32| match pid {
            30 => Some(20),
            20 => Some(10),
            10 => Some(1),
            40 => Some(1),
            _ => None,
        };
        assert!(descends_from_with(30, 10, tree));
        assert!(descends_from_with(10, 10, tree));
        assert!(!descends_from_with(40, 10, tree));
        assert!(!descends_from_with(99, 10, tree));
        // A loop in a torn read never hangs.
        assert!(!descends_from_with(5, 10, |p| Some(if p == 5 { 6 } else { 5 })));
    }

    #[test]
    fn a_real_child_descends_from_this_process_and_this_process_not_from_it() {
        let mut child = std::process::Command::new("sleep").arg("5").spawn().expect("sleep starts");
        let me = std::process::id();
        assert!(descends_from(child.id(), me));
        assert!(!descends_from(me, child.id()));
        let _ = child.kill();
        let _ = child.wait();
    }
}
