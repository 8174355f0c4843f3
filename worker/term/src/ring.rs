//! The output ring: the last N bytes of terminal output, each at its absolute stream offset.

use std::collections::VecDeque;

/// A bounded buffer of the most recent output bytes. Offsets are absolute: the first byte the
/// CLI ever printed is offset 0, and offsets never repeat.
pub struct OutputRing {
    bytes: VecDeque<u8>,
    capacity: usize,
    /// Offset of `bytes[0]`.
    start: u64,
}

impl OutputRing {
    /// An empty ring holding at most `capacity` bytes (at least 1).
    pub fn new(capacity: usize) -> OutputRing {
        let capacity = capacity.max(1);
        OutputRing { bytes: VecDeque::with_capacity(capacity.min(1 << 20)), capacity, start: 0 }
    }

    /// An empty ring whose next byte gets offset `start` (a mirror that joins a stream late).
    pub fn starting_at(capacity: usize, start: u64) -> OutputRing {
        let mut ring = OutputRing::new(capacity);
        ring.start = start;
        ring
    }

    /// The oldest offset still held.
    pub fn start_offset(&self) -> u64 {
        self.start
    }

    /// The offset the next byte will get.
    pub fn end_offset(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    /// Appends bytes and returns the offset of the first of them; the oldest bytes fall out
    /// when the ring is full.
    pub fn push(&mut self, data: &[u8]) -> u64 {
        let offset = self.end_offset();
        if data.len() >= self.capacity {
            self.bytes.clear();
            self.bytes.extend(&data[data.len() - self.capacity..]);
            self.start = offset + (data.len() - self.capacity) as u64;
            return offset;
        }
        let overflow = (self.bytes.len() + data.len()).saturating_sub(self.capacity);
        if overflow > 0 {
            self.bytes.drain(..overflow);
            self.start += overflow as u64;
        }
        self.bytes.extend(data);
        offset
    }

    /// The bytes from `from` to the end, or `None` when `from` is older than the ring holds
    /// or later than the end.
    pub fn since(&self, from: u64) -> Option<Vec<u8>> {
        self.range(from, usize::MAX)
    }

    /// At most `max` bytes from `from` on; `None` as for [`Self::since`].
    pub fn range(&self, from: u64, max: usize) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        self.range_into(from, max, &mut out)?;
        Some(out)
    }

    /// Appends at most `max` bytes from `from` on to `out` (e.g. after a frame header) and
    /// returns how many; `None` as for [`Self::since`].
    pub fn range_into(&self, from: u64, max: usize, out: &mut Vec<u8>) -> Option<usize> {
        if from < self.start || from > self.end_offset() {
            return None;
        }
        let skip = (from - self.start) as usize;
        let take = (self.bytes.len() - skip).min(max);
        let (a, b) = self.bytes.as_slices();
        out.reserve(take);
        if skip < a.len() {
            let from_a = (a.len() - skip).min(take);
            out.extend_from_slice(&a[skip..skip + from_a]);
            out.extend_from_slice(&b[..take - from_a]);
        } else {
            out.extend_from_slice(&b[skip - a.len()..skip - a.len() + take]);
        }
        Some(take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_absolute_and_old_bytes_fall_out() {
        let mut ring = OutputRing::new(8);
        assert_eq!(ring.push(b"abcde"), 0);
        assert_eq!(ring.push(b"fghij"), 5);
        assert_eq!((ring.start_offset(), ring.end_offset()), (2, 10));
        assert_eq!(ring.since(2).as_deref(), Some(&b"cdefghij"[..]));
        assert_eq!(ring.since(7).as_deref(), Some(&b"hij"[..]));
        assert_eq!(ring.since(10).as_deref(), Some(&b""[..]));
        assert_eq!(ring.since(1), None, "fell out");
        assert_eq!(ring.since(11), None, "not produced yet");
    }

    #[test]
    fn a_push_larger_than_the_ring_keeps_its_tail() {
        let mut ring = OutputRing::new(4);
        ring.push(b"xy");
        assert_eq!(ring.push(b"0123456789"), 2);
        assert_eq!((ring.start_offset(), ring.end_offset()), (8, 12));
        assert_eq!(ring.since(8).as_deref(), Some(&b"6789"[..]));
    }

    #[test]
    fn ranges_are_capped() {
        let mut ring = OutputRing::new(6);
        for chunk in [&b"abcd"[..], b"ef", b"gh"] {
            ring.push(chunk);
        }
        assert_eq!(ring.range(2, 3).as_deref(), Some(&b"cde"[..]));
        assert_eq!(ring.range(3, 100).as_deref(), Some(&b"defgh"[..]));
        assert_eq!(ring.range(6, 1).as_deref(), Some(&b"g"[..]));
        assert_eq!(ring.range(1, 1), None);
    }

    #[test]
    fn wrapped_storage_reads_back_in_order() {
        let mut ring = OutputRing::new(6);
        for chunk in [&b"abcd"[..], b"ef", b"gh", b"ij"] {
            ring.push(chunk);
        }
        assert_eq!(ring.since(4).as_deref(), Some(&b"efghij"[..]));
        assert_eq!(ring.since(6).as_deref(), Some(&b"ghij"[..]));
    }
}
