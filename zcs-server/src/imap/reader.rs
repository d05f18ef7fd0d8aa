//! Framing of client input: lines with a hard length cap, literals of announced size,
//! and the assembly of one complete command (RFC 3501 §2.2 and §7.5, RFC 7888).
//!
//! Memory is bounded: a line is never buffered beyond the configured cap, and a
//! literal above its cap is refused as soon as it is announced, never read or stored
//! (the session closes the connection after refusing a non-synchronising one). Reading a line is
//! cancel-safe, so IDLE can wait for `DONE` inside a
//! `select!`.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Chunk size for socket reads and for draining input before a close.
const CHUNK: usize = 16 * 1024;

/// Why no line could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The peer closed the connection (possibly mid-line).
    #[error("connection closed")]
    Closed,
    /// A line exceeded the cap without a line end.
    #[error("line too long")]
    LineTooLong,
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Buffered, bounded reader of lines and literal bytes.
pub struct LineReader<R> {
    inner: R,
    buf: BytesMut,
    /// Bytes of `buf` already searched for a line end.
    scanned: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// Wraps a byte stream.
    pub fn new(inner: R) -> Self {
        LineReader {
            inner,
            buf: BytesMut::with_capacity(CHUNK),
            scanned: 0,
        }
    }

    async fn fill(&mut self) -> Result<(), ReadError> {
        self.buf.reserve(CHUNK);
        let n = self.inner.read_buf(&mut self.buf).await?;
        if n == 0 {
            return Err(ReadError::Closed);
        }
        Ok(())
    }

    /// Reads one line and returns it without its line end (CRLF, or a bare LF, which
    /// is tolerated). Fails with [`ReadError::LineTooLong`] once `max` bytes arrived
    /// without a line end. Cancel-safe: dropping the future loses no data.
    pub async fn read_line(&mut self, max: usize) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(i) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + i;
                self.scanned = 0;
                if end > max + 1 {
                    return Err(ReadError::LineTooLong);
                }
                let mut line = self.buf.split_to(end + 1).to_vec();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            self.scanned = self.buf.len();
            if self.buf.len() > max + 1 {
                return Err(ReadError::LineTooLong);
            }
            self.fill().await?;
        }
    }

    /// Gives back the stream and the bytes read from it but not consumed yet (a client
    /// that pipelined past a STARTTLS or COMPRESS command).
    pub fn into_parts(self) -> (R, BytesMut) {
        (self.inner, self.buf)
    }

    /// Reads exactly `n` literal bytes.
    pub async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        let mut out = Vec::with_capacity(n.min(1 << 20));
        while out.len() < n {
            if self.buf.is_empty() {
                self.fill().await?;
            }
            let take = (n - out.len()).min(self.buf.len());
            out.extend_from_slice(&self.buf[..take]);
            self.buf.advance(take);
        }
        self.scanned = 0;
        Ok(out)
    }

    /// Reads and drops `n` bytes without storing them.
    pub async fn discard(&mut self, mut n: u64) -> Result<(), ReadError> {
        while n > 0 {
            if self.buf.is_empty() {
                self.fill().await?;
            }
            let take = usize::try_from(n).unwrap_or(usize::MAX).min(self.buf.len());
            self.buf.advance(take);
            n -= take as u64;
        }
        self.scanned = 0;
        Ok(())
    }
}

/// A literal announced at the end of a line: `{n}` or `{n+}` (RFC 7888).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiteralMarker {
    pub len: u64,
    /// `{n+}`: the client sends the bytes without waiting for `+`.
    pub non_sync: bool,
}

/// Finds a literal marker at the very end of a line.
pub fn literal_at_end(line: &[u8]) -> Option<LiteralMarker> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let mut digits = &inner[open + 1..];
    let non_sync = digits.last() == Some(&b'+');
    if non_sync {
        digits = &digits[..digits.len() - 1];
    }
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let len = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(LiteralMarker { len, non_sync })
}

/// The tag and command name (upper-cased) of a first command line, if readable; used
/// before the command is complete to answer literal refusals.
pub fn peek_tag_and_name(line: &[u8]) -> (Option<String>, String) {
    let mut words = line.split(|&b| b == b' ');
    let tag = words
        .next()
        .filter(|t| !t.is_empty() && t.iter().all(|&b| super::parser::is_astring_char(b)))
        .map(|t| String::from_utf8_lossy(t).into_owned());
    let mut name = words.next().unwrap_or_default().to_ascii_uppercase();
    if name == b"UID" {
        name = words.next().unwrap_or_default().to_ascii_uppercase();
    }
    (tag, String::from_utf8_lossy(&name).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_literal_markers() {
        assert_eq!(
            literal_at_end(b"a LOGIN {5}"),
            Some(LiteralMarker {
                len: 5,
                non_sync: false
            })
        );
        assert_eq!(
            literal_at_end(b"x {12+}"),
            Some(LiteralMarker {
                len: 12,
                non_sync: true
            })
        );
        assert_eq!(literal_at_end(b"x {}"), None);
        assert_eq!(literal_at_end(b"x {a}"), None);
        assert_eq!(literal_at_end(b"x {99999999999999999999}"), None);
        assert_eq!(literal_at_end(b"x"), None);
        assert_eq!(
            peek_tag_and_name(b"a1 uid fetch 1"),
            (Some("a1".into()), "FETCH".into())
        );
        assert_eq!(peek_tag_and_name(b"(x APPEND").0, None);
    }

    #[tokio::test]
    async fn reads_lines_and_literals() {
        let input: &[u8] = b"one\r\ntwo\nlit{3}\r\nabcrest\r\n";
        let mut r = LineReader::new(input);
        assert_eq!(r.read_line(100).await.unwrap(), b"one");
        assert_eq!(r.read_line(100).await.unwrap(), b"two");
        assert_eq!(r.read_line(100).await.unwrap(), b"lit{3}");
        assert_eq!(r.read_exact(3).await.unwrap(), b"abc");
        assert_eq!(r.read_line(100).await.unwrap(), b"rest");
        assert!(matches!(r.read_line(100).await, Err(ReadError::Closed)));
    }

    #[tokio::test]
    async fn caps_line_length() {
        let long = vec![b'x'; 100_000];
        let mut r = LineReader::new(&long[..]);
        assert!(matches!(
            r.read_line(1000).await,
            Err(ReadError::LineTooLong)
        ));
        assert!(r.buf.len() < 1000 + 2 * CHUNK);
        let exact = b"xxxx\r\n";
        let mut r = LineReader::new(&exact[..]);
        assert_eq!(r.read_line(4).await.unwrap(), b"xxxx");
    }

    proptest! {
        #[test]
        fn literal_marker_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = literal_at_end(&bytes);
            let _ = peek_tag_and_name(&bytes);
        }
    }
}
