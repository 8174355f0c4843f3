//! Who is on the other end of a connection: the peer's process, as the kernel says
//! (`SO_PEERCRED` of a Unix socket; for a loopback TCP connection, the socket's inode in
//! `/proc/net/tcp` and the process holding it), and whether it belongs to this worker's own CLI.
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

/// One row of `/proc/net/tcp`: a socket's local and remote address and its inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpRow {
    /// The socket's own address.
    pub local: std::net::SocketAddrV4,
    /// The address it is connected to.
    pub remote: std::net::SocketAddrV4,
    /// Its inode (`socket:[INODE]` in `/proc/<pid>/fd`).
    pub inode: u64,
}

/// `0100007F:1F90` (little-endian IPv4, big-endian port, in hex) → `127.0.0.1:8080`.
fn parse_hex_addr(text: &str) -> Option<std::net::SocketAddrV4> {
    let (ip, port) = text.split_once(':')?;
    let ip = u32::from_str_radix(ip, 16).ok()?;
    let port = u16::from_str_radix(port, 16).ok()?;
    Some(std::net::SocketAddrV4::new(std::net::Ipv4Addr::from(u32::from_be(ip)), port))
}

/// The rows of a `/proc/net/tcp` text (the header line and unreadable rows left out).
pub fn parse_proc_net_tcp(text: &str) -> Vec<TcpRow> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some(TcpRow {
                local: parse_hex_addr(fields.get(1)?)?,
                remote: parse_hex_addr(fields.get(2)?)?,
                inode: fields.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

/// The process on the other end of a loopback TCP connection this process accepted (`peer` is
/// its address, `local` ours), among the processes `candidate` admits (checked before their
/// file descriptors are read). `None` when no admitted process holds the socket.
pub fn tcp_peer_pid(
    peer: std::net::SocketAddrV4,
    local: std::net::SocketAddrV4,
    candidate: impl Fn(u32) -> bool,
) -> Option<u32> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let inode = parse_proc_net_tcp(&table).into_iter().find(|r| r.local == peer && r.remote == local)?.inode;
    if inode == 0 {
        return None;
    }
    let wanted = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if !candidate(pid) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == wanted.as_str()) {
                return Some(pid);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp_rows_are_read() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 67890 1 0000000000000000 20 4 30 10 -1\n\
 garbage\n";
        let rows = parse_proc_net_tcp(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].local, "127.0.0.1:50000".parse().expect("addr"));
        assert_eq!(rows[1].remote, "127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(rows[1].inode, 67890);
    }

    #[test]
    fn the_process_on_the_other_end_of_a_loopback_connection_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let local = match listener.local_addr().expect("addr") {
            std::net::SocketAddr::V4(a) => a,
            other => panic!("{other}"),
        };
        let _client = std::net::TcpStream::connect(local).expect("connect");
        let (_server, peer) = listener.accept().expect("accept");
        let std::net::SocketAddr::V4(peer) = peer else { panic!("v4") };
        let me = std::process::id();
        assert_eq!(tcp_peer_pid(peer, local, |pid| pid == me), Some(me), "this process holds the client side");
        assert_eq!(tcp_peer_pid(peer, local, |pid| pid != me), None, "no other process does");
    }

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
