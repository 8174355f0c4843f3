//! Reading a growing JSONL file by byte offset: the whole lines written since the last read,
//! never a half-written one, never the file again from its start.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// A line longer than this is skipped (reported as a line of `None`): nothing a phone shows
/// comes from a line that size, and reading it whole would cost memory.
pub const MAX_LINE_BYTES: u64 = 8 * 1024 * 1024;

/// Whole lines read from a file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Lines {
    /// Each line's start offset and its text (`None` for a line over [`MAX_LINE_BYTES`] or
    /// not UTF-8); empty lines are left out.
    pub lines: Vec<(u64, Option<String>)>,
    /// The offset after the last whole line read: where the next read starts.
    pub next: u64,
    /// True when `from` was not a line start of this file (the file was replaced, or the
    /// offset belongs to another file): the lines were read from the start instead.
    pub restarted: bool,
}

/// Reads the whole lines of `path` from byte `from` on, up to about `budget` bytes (at least
/// one line when there is one). A file that does not exist yet has no lines.
pub fn read_lines(path: &Path, from: u64, budget: u64) -> std::io::Result<Lines> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lines { next: from, ..Lines::default() }),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut start = from;
    let mut restarted = false;
    if from > len || (from > 0 && !ends_line(&mut file, from)?) {
        start = 0;
        restarted = true;
    }
    if start == len {
        return Ok(Lines { lines: Vec::new(), next: start, restarted });
    }
    file.seek(SeekFrom::Start(start))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut lines = Vec::new();
    let mut at = start;
    let mut buf = Vec::new();
    while at - start < budget || lines.is_empty() {
        buf.clear();
        let n = (&mut reader).take(MAX_LINE_BYTES + 1).read_until(b'\n', &mut buf)? as u64;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            if n > MAX_LINE_BYTES {
                // Too long: skip to its end, if it has one yet.
                let mut skipped = n;
                loop {
                    buf.clear();
                    let m = (&mut reader).take(MAX_LINE_BYTES).read_until(b'\n', &mut buf)? as u64;
                    skipped += m;
                    if m == 0 {
                        return Ok(Lines { lines, next: at, restarted });
                    }
                    if buf.last() == Some(&b'\n') {
                        break;
                    }
                }
                lines.push((at, None));
                at += skipped;
                continue;
            }
            break; // a line still being written: read it once it is whole
        }
        let text = &buf[..buf.len() - 1];
        if !text.iter().all(u8::is_ascii_whitespace) {
            lines.push((at, String::from_utf8(text.to_vec()).ok()));
        }
        at += n;
    }
    Ok(Lines { lines, next: at, restarted })
}

/// True when the byte before `offset` is a newline (so `offset` starts a line).
fn ends_line(file: &mut File, offset: u64) -> std::io::Result<bool> {
    file.seek(SeekFrom::Start(offset - 1))?;
    let mut byte = [0u8; 1];
    file.read_exact(&mut byte)?;
    Ok(byte[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn reads_whole_lines_from_an_offset_and_leaves_a_torn_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.jsonl");
        assert_eq!(read_lines(&path, 0, 1024).expect("missing"), Lines::default());
        let mut f = File::create(&path).expect("create");
        f.write_all(b"{\"a\":1}\n\n{\"b\":2}\n{\"c\"").expect("write");
        let first = read_lines(&path, 0, 1024).expect("read");
        assert_eq!(first.lines, [(0, Some("{\"a\":1}".to_owned())), (9, Some("{\"b\":2}".to_owned()))]);
        assert_eq!((first.next, first.restarted), (17, false));
        f.write_all(b":3}\n").expect("finish the line");
        let second = read_lines(&path, first.next, 1024).expect("read on");
        assert_eq!(second.lines, [(17, Some("{\"c\":3}".to_owned()))]);
        assert_eq!(read_lines(&path, second.next, 1024).expect("at the end").lines, []);
    }

    #[test]
    fn a_budget_bounds_a_read_but_never_below_one_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "aaaa\nbbbb\ncccc\n").expect("write");
        let one = read_lines(&path, 0, 1).expect("read");
        assert_eq!((one.lines.len(), one.next), (1, 5));
        let two = read_lines(&path, 0, 6).expect("read");
        assert_eq!((two.lines.len(), two.next), (2, 10));
    }

    #[test]
    fn an_offset_that_is_no_line_start_reads_from_the_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "aaaa\nbbbb\n").expect("write");
        for from in [2, 99] {
            let lines = read_lines(&path, from, 1024).expect("read");
            assert!(lines.restarted, "{from}");
            assert_eq!((lines.lines.len(), lines.next), (2, 10));
        }
    }

    #[test]
    fn an_overlong_line_is_skipped_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.jsonl");
        let long = "x".repeat(MAX_LINE_BYTES as usize + 10);
        std::fs::write(&path, format!("{long}\nok\n")).expect("write");
        let lines = read_lines(&path, 0, 1024).expect("read");
        assert_eq!((lines.lines, lines.next), (vec![(0, None)], long.len() as u64 + 1));
        let rest = read_lines(&path, lines.next, 1024).expect("read on");
        assert_eq!(rest.lines, [(long.len() as u64 + 1, Some("ok".to_owned()))]);
        assert_eq!(rest.next, long.len() as u64 + 4);
    }
}
