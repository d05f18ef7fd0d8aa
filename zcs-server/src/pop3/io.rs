//! The connection's byte streams for POP3: a bounded line reader that drops the rest
//! of an over-long line instead of buffering it, and the dot-stuffed rendering of
//! multi-line responses (RFC 1939 §3).

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Socket read size.
const CHUNK: usize = 8 * 1024;

/// Why no line could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The peer closed the connection (possibly mid-line).
    #[error("connection closed")]
    Closed,
    /// The line exceeded the cap; its bytes were dropped up to and including the line
    /// end, so the next read starts on the next line.
    #[error("line too long")]
    TooLong,
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Buffered reader of lines with a hard cap on what it keeps in memory.
pub struct LineReader<R> {
    inner: R,
    buf: BytesMut,
    /// Bytes of `buf` already searched for a line end.
    scanned: usize,
    /// Inside an over-long line whose remainder is being dropped.
    discarding: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// Wraps a byte stream.
    pub fn new(inner: R) -> Self {
        LineReader {
            inner,
            buf: BytesMut::with_capacity(CHUNK),
            scanned: 0,
            discarding: false,
        }
    }

    /// Gives back the stream and whether input was buffered but not consumed (a client
    /// that pipelined past STLS).
    pub fn into_parts(self) -> (R, bool) {
        (self.inner, !self.buf.is_empty())
    }

    /// Whether a complete line is already buffered (a pipelining client sent more
    /// commands), so replies need not be flushed yet.
    pub fn has_line(&self) -> bool {
        !self.discarding && self.buf.contains(&b'\n')
    }

    /// Reads one line without its line end (CRLF, or a bare LF, tolerated). A line of
    /// more than `max` bytes is dropped as it arrives and reported as
    /// [`ReadError::TooLong`] once its end is seen. Cancel-safe: the state lives in
    /// `self`, so a dropped future loses nothing.
    pub async fn read_line(&mut self, max: usize) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(i) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + i;
                self.scanned = 0;
                if self.discarding || end > max + 1 {
                    self.buf.advance(end + 1);
                    self.discarding = false;
                    return Err(ReadError::TooLong);
                }
                let mut line = self.buf.split_to(end + 1).to_vec();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.discarding || self.buf.len() > max + 1 {
                self.discarding = true;
                self.buf.clear();
            }
            self.scanned = self.buf.len();
            self.buf.reserve(CHUNK);
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                return Err(ReadError::Closed);
            }
        }
    }
}

/// Renders `raw` as the body of a multi-line response (RFC 1939 §3), piece by piece so
/// a large message is never copied whole: every line that starts with `.` gets one
/// more `.`, a missing final line end is added, and the terminating `.` line follows.
/// Bytes are otherwise sent as stored. With a body line limit (TOP), only the header,
/// the blank line and that many body lines are sent.
///
/// A line starts after every LF, bare LFs included, so no client can mistake a
/// stored line for the terminator.
pub struct DotStuffer<'a> {
    rest: &'a [u8],
    body_lines: Option<u32>,
    in_body: bool,
    body_sent: u32,
    wrote_any: bool,
    last_was_lf: bool,
    done: bool,
}

impl<'a> DotStuffer<'a> {
    /// Starts rendering `raw`; `body_lines` is TOP's line count, `None` for RETR.
    pub fn new(raw: &'a [u8], body_lines: Option<u32>) -> Self {
        DotStuffer {
            rest: raw,
            body_lines,
            in_body: false,
            body_sent: 0,
            wrote_any: false,
            last_was_lf: false,
            done: false,
        }
    }

    /// Appends the next piece, of roughly `budget` bytes (whole lines, so a single
    /// long line may exceed it), to `out`. Returns false once everything, the
    /// terminator included, has been produced.
    pub fn next_chunk(&mut self, out: &mut Vec<u8>, budget: usize) -> bool {
        if self.done {
            return false;
        }
        let start = out.len();
        while !self.rest.is_empty() && out.len() - start < budget {
            if self.in_body && self.body_lines.is_some_and(|limit| self.body_sent >= limit) {
                self.rest = &[];
                break;
            }
            let (line, next) = match self.rest.iter().position(|&b| b == b'\n') {
                Some(i) => self.rest.split_at(i + 1),
                None => (self.rest, &self.rest[self.rest.len()..]),
            };
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
            self.wrote_any = true;
            self.last_was_lf = line.ends_with(b"\n");
            if self.in_body {
                self.body_sent = self.body_sent.saturating_add(1);
            } else if line == b"\r\n" || line == b"\n" {
                // RFC 5322 §2.1: the first empty line ends the header.
                self.in_body = true;
            }
            self.rest = next;
        }
        if self.rest.is_empty() {
            if self.wrote_any && !self.last_was_lf {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b".\r\n");
            self.done = true;
        }
        true
    }
}

/// The whole multi-line rendering of `raw` at once (see [`DotStuffer`]).
#[cfg(test)]
pub fn dot_stuffed(raw: &[u8], body_lines: Option<u32>) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 64 + 8);
    let mut stuffer = DotStuffer::new(raw, body_lines);
    while stuffer.next_chunk(&mut out, usize::MAX) {}
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[tokio::test]
    async fn reads_lines_and_drops_long_ones() {
        let mut input = b"one\r\ntwo\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100_000));
        input.extend_from_slice(b"\r\nthree\r\npart");
        let mut r = LineReader::new(&input[..]);
        assert_eq!(r.read_line(100).await.unwrap(), b"one");
        assert!(r.has_line());
        assert_eq!(r.read_line(100).await.unwrap(), b"two");
        assert!(matches!(r.read_line(100).await, Err(ReadError::TooLong)));
        assert!(r.buf.capacity() < 100 + 4 * CHUNK);
        assert_eq!(r.read_line(100).await.unwrap(), b"three");
        assert!(!r.has_line());
        assert!(matches!(r.read_line(100).await, Err(ReadError::Closed)));
        let mut r = LineReader::new(&b"xxxx\r\n"[..]);
        assert_eq!(r.read_line(4).await.unwrap(), b"xxxx");
    }

    #[test]
    fn stuffs_dots_and_terminates() {
        assert_eq!(dot_stuffed(b"", None), b".\r\n");
        assert_eq!(
            dot_stuffed(b"A: b\r\n\r\n.hidden\r\n..two\r\nend", None),
            b"A: b\r\n\r\n..hidden\r\n...two\r\nend\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(b".\n.\r\n", None), b"..\n..\r\n.\r\n");
    }

    #[test]
    fn top_cuts_after_the_body_lines() {
        let msg = b"A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";
        assert_eq!(dot_stuffed(msg, Some(0)), b"A: 1\r\nB: 2\r\n\r\n.\r\n");
        assert_eq!(
            dot_stuffed(msg, Some(2)),
            b"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(msg, Some(99)), dot_stuffed(msg, None));
        // No blank line: the whole message is header.
        assert_eq!(
            dot_stuffed(b"A: 1\r\nB: 2", Some(0)),
            b"A: 1\r\nB: 2\r\n.\r\n"
        );
    }

    /// Undoes dot-stuffing the way a client does.
    fn unstuff(wire: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for line in wire.split_inclusive(|&b| b == b'\n') {
            if line == b".\r\n" {
                return Some(out);
            }
            out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        }
        None
    }

    proptest! {
        #[test]
        fn round_trips_crlf_messages(lines in proptest::collection::vec("[.a-z ]{0,8}", 0..20)) {
            let raw: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect();
            let wire = dot_stuffed(&raw, None);
            prop_assert_eq!(unstuff(&wire), Some(raw));
        }

        #[test]
        fn chunks_add_up_to_the_whole(
            raw in proptest::collection::vec(any::<u8>(), 0..300),
            budget in 1usize..50,
            n in proptest::option::of(0u32..5),
        ) {
            let mut out = Vec::new();
            let mut stuffer = DotStuffer::new(&raw, n);
            while stuffer.next_chunk(&mut out, budget) {}
            prop_assert_eq!(out, dot_stuffed(&raw, n));
        }

        #[test]
        fn never_ends_early(raw in proptest::collection::vec(any::<u8>(), 0..200), n in 0u32..5) {
            let wire = dot_stuffed(&raw, Some(n));
            prop_assert!(wire.ends_with(b".\r\n"));
            let terminators = wire
                .split_inclusive(|&b| b == b'\n')
                .filter(|l| *l == b".\r\n" || *l == b".\n")
                .count();
            prop_assert_eq!(terminators, 1);
        }
    }
}
